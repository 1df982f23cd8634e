//! `daftar serve --demo`, the README's first command, end to end: the real binary, the API
//! over a socket, the in-process simulator answering over HTTP. A clean-record certificate is
//! filed with a citizen's token, followed by its tracking code until it is issued, and the
//! applicant's SMS are found in the simulator's log, and the applicant's receipt is proved by a
//! checkpoint the demo signed. Also: a taken port and an unreachable
//! database stop it with a clear message, and SIGTERM stops it cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use daftar_engine::audit::receipt::{Receipt, verify_receipt};
use daftar_engine::audit::signing;
use serde_json::{Value, json};

const SECRET: &str = "serve-test-secret-0123456789abcdef-0123";
const MOBILE: &str = "09121234567";

fn daftar() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_daftar"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DAFTAR_JWT_SECRET", SECRET)
        .env_remove("DAFTAR_DB")
        .env_remove("DAFTAR_CALLBACK_TOKEN")
        .env_remove("RUST_LOG");
    c
}

struct Server {
    child: Child,
    /// Its log (standard error).
    log: std::path::PathBuf,
    api: String,
    sim: String,
    /// The tokens it printed, by the name of their shell variable.
    tokens: std::collections::BTreeMap<String, String>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `daftar serve --demo` on free ports, in an empty folder (not the clone: the demo
/// is built into the binary) and with no secret, and reads the addresses and the tokens it
/// prints.
fn serve_demo() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("daftar.db");
    let mut child = daftar()
        .current_dir(dir.path())
        .env_remove("DAFTAR_JWT_SECRET")
        .env_remove("DAFTAR_DEFINITIONS")
        .env_remove("DAFTAR_CONNECTORS")
        .args(daftar_testkit::process::SERVE_DEMO)
        .arg("--db")
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("serve.log")).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut api = None;
    let mut sim = None;
    let mut tokens = std::collections::BTreeMap::new();
    let mut in_block = false;
    loop {
        let line = lines
            .next()
            .expect("daftar serve stopped before it printed its addresses and tokens")
            .unwrap();
        if let Some(rest) = line.strip_prefix("daftar serving on ") {
            api = Some(rest.trim().to_owned());
        }
        if let Some(rest) = line.strip_prefix("simulator on ") {
            sim = rest.split_whitespace().next().map(str::to_owned);
        }
        if line.starts_with("# demo tokens") {
            in_block = true;
        }
        if let Some((name, rest)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            let value = rest.split_whitespace().next().unwrap_or_default();
            tokens.insert(name.to_owned(), value.to_owned());
        }
        if in_block && line.trim().is_empty() {
            break;
        }
    }
    // Keep draining its standard output.
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        log: dir.path().join("serve.log"),
        api: api.expect("the API's address"),
        sim: sim.expect("the simulator's address"),
        tokens,
        _dir: dir,
    }
}

fn get(url: &str) -> (u16, Value) {
    http::get(url)
}

mod http {
    //! The few blocking calls the test needs, over the async client on a runtime of its own.
    use serde_json::Value;

    fn rt() -> tokio::runtime::Runtime {
        daftar_testkit::process::runtime()
    }

    async fn answer(res: ::reqwest::Response) -> (u16, Value) {
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub fn get(url: &str) -> (u16, Value) {
        rt().block_on(async { answer(::reqwest::get(url).await.unwrap()).await })
    }

    pub fn get_with(url: &str, token: &str) -> (u16, Value) {
        rt().block_on(async {
            let res = ::reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            answer(res).await
        })
    }

    pub fn post(url: &str, token: &str, body: &Value) -> (u16, Value) {
        rt().block_on(async {
            let res = ::reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(body)
                .send()
                .await
                .unwrap();
            answer(res).await
        })
    }
}

#[test]
fn the_demo_issues_a_certificate_tracked_by_its_code_with_sms() {
    let server = serve_demo();
    let (status, health) = get(&format!("{}/healthz", server.api));
    assert_eq!(status, 200, "{health}");
    let (status, openapi) = get(&format!("{}/openapi.json", server.api));
    assert_eq!(status, 200);
    assert!(
        openapi["paths"]["/api/v1/requests"].is_object(),
        "{openapi}"
    );

    let citizen = server.tokens["CITIZEN_TOKEN"].clone();
    let (status, filed) = http::post(
        &format!("{}/api/v1/requests", server.api),
        &citizen,
        &json!({"service": "clean-record-certificate", "input": {
            "national_id": "0499370899", "mobile": MOBILE, "birth_date": "1990-01-01",
            "purpose": "employment"}}),
    );
    assert_eq!(status, 201, "{filed}");
    let code = filed["tracking_code"].as_str().unwrap().to_owned();

    // Follow the tracking code, as the applicant would, until it is issued.
    let deadline = Instant::now() + Duration::from_secs(60);
    let tracked = loop {
        let (status, body) = get(&format!(
            "{}/api/v1/track/{code}?mobile={MOBILE}",
            server.api
        ));
        assert_eq!(status, 200, "{body}");
        if body["status"]["id"] == "issued" || body["status"] == "issued" {
            break body;
        }
        assert!(Instant::now() < deadline, "not issued in time: {body}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = tracked.to_string();
    assert!(
        !text.contains("0499370899"),
        "no national ID in tracking: {text}"
    );

    // The applicant's SMS are in the simulator's log, each once, the last one the issue.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, log) = get(&format!("{}/__sim/sms", server.sim));
        assert_eq!(status, 200);
        let mine: Vec<&Value> = log
            .as_array()
            .or_else(|| log["messages"].as_array())
            .expect("the SMS log is a list")
            .iter()
            .filter(|m| m["mobile"] == MOBILE)
            .collect();
        let refs: std::collections::BTreeSet<String> = mine
            .iter()
            .map(|m| m["client_reference"].to_string())
            .collect();
        assert_eq!(
            refs.len(),
            mine.len(),
            "an SMS reached the gateway twice: {log}"
        );
        if mine.len() >= 2
            && mine
                .iter()
                .any(|m| m["text"].as_str().unwrap_or_default().contains(&code))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the applicant's SMS never arrived: {log}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The demo signs checkpoints with a key it made; once one covers the request, the
    // applicant's receipt proves every event of it with that key alone.
    let agency = claims(&citizen)["agency"].as_str().unwrap().to_owned();
    let id = filed["id"].as_str().unwrap().to_owned();
    let (status, key) = get(&format!("{}/api/v1/checkpoints/key", server.api));
    assert_eq!(status, 200, "{key}");
    let key = signing::parse_public_key(key["pem"].as_str().unwrap().as_bytes()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = http::get_with(
            &format!("{}/api/v1/requests/{id}/receipt", server.api),
            &citizen,
        );
        assert_eq!(status, 200, "{body}");
        let receipt: Receipt = serde_json::from_value(body).unwrap();
        let report = verify_receipt(&receipt, &key);
        if let Ok(r) = &report
            && r.covered == r.events
            && receipt.events.iter().any(|e| e.kind == "InstanceCompleted")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint covers it: {report:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let (status, latest) = get(&format!(
        "{}/api/v1/checkpoints/latest?agency={agency}",
        server.api
    ));
    assert_eq!(status, 200, "{latest}");

    // The certificate's national document ID starts with the demo's code of the judiciary;
    // its verification, signed with the same key, checks offline with `daftar verify-document`
    // and fails once changed; its printable page's QR names the verification page.
    let document = tracked["document_id"].as_str().unwrap().to_owned();
    assert!(
        document.starts_with("JDCR") && document.len() == 20,
        "{document}"
    );
    let (status, answer) = get(&format!("{}/api/v1/documents/{document}", server.api));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "valid");
    let dir = tempfile::tempdir().unwrap();
    let (file, pem) = (
        dir.path().join("answer.json"),
        dir.path().join("agency.pub"),
    );
    std::fs::write(&file, answer.to_string()).unwrap();
    std::fs::write(&pem, signing::public_pem(&key)).unwrap();
    let check = || {
        daftar()
            .args(["verify-document", file.to_str().unwrap(), "--key"])
            .arg(&pem)
            .output()
            .unwrap()
    };
    let out = check();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && said.starts_with("ok: document"),
        "{said}"
    );
    let mut forged = answer.clone();
    forged["holder"] = json!("********00");
    std::fs::write(&file, forged.to_string()).unwrap();
    let out = check();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.starts_with("FAIL"), "{said}");
    // (The page escapes `/` as `&#x2f;` in attributes and text.)
    let printable = rt_text(&format!("{}/documents/{document}", server.api)).replace("&#x2f;", "/");
    assert!(
        printable.contains(&format!("{}/documents/{document}/verify", server.api)),
        "{printable}"
    );
    assert!(printable.contains("<svg"), "{printable}");

    // The log tells what happened, route by route, and never whom it happened to.
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("/api/v1/track/{tracking_code}"), "{log}");
    assert!(
        !log.contains(MOBILE) && !log.contains("0499370899"),
        "{log}"
    );
}

/// A page's text.
fn rt_text(url: &str) -> String {
    match get(url) {
        (200, Value::String(text)) => text,
        other => panic!("{url}: {other:?}"),
    }
}

/// The claims of a token, read without checking its signature (the server checks it).
fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn the_demo_prints_tokens_for_every_role_and_officers_that_hold_the_examples_task_roles() {
    let server = serve_demo();
    for name in [
        "CITIZEN_TOKEN",
        "OFFICER_TOKEN",
        "DESIGNER_TOKEN",
        "AUDITOR_TOKEN",
        "ADMIN_TOKEN",
        "DAFTAR_JWT_SECRET",
    ] {
        assert!(
            server.tokens.contains_key(name),
            "{name}: {:?}",
            server.tokens.keys()
        );
    }
    // Each officer holds the task roles of its agency's example services.
    let municipality = claims(&server.tokens["MUNICIPALITY_OFFICER_TOKEN"]);
    assert_eq!(municipality["agency"], "municipality");
    let roles = municipality["task_roles"].to_string();
    assert!(
        roles.contains("building_engineer") && roles.contains("commission_secretary"),
        "{roles}"
    );
    let mcls = claims(&server.tokens["MCLS_OFFICER_TOKEN"]);
    assert!(
        mcls["task_roles"].to_string().contains("health_inspector"),
        "{mcls}"
    );
    // The printed tokens are accepted by the server they were printed by.
    let (status, body) = http::get_with(
        &format!("{}/api/v1/tasks", server.api),
        &server.tokens["MUNICIPALITY_OFFICER_TOKEN"],
    );
    assert_eq!(status, 200, "{body}");
    // And the secret printed mints tokens with `daftar token`.
    let minted = daftar()
        .env("DAFTAR_JWT_SECRET", &server.tokens["DAFTAR_JWT_SECRET"])
        .args(["token", "--role", "auditor", "--agency", "judiciary"])
        .output()
        .unwrap();
    let minted = String::from_utf8(minted.stdout).unwrap();
    let (status, body) = http::get_with(
        &format!("{}/api/v1/audit/verify", server.api),
        minted.trim(),
    );
    assert_eq!(status, 200, "{body}");
}

/// Runs `command`, checks that it fails, and answers what it printed on stderr.
fn refused(command: &mut std::process::Command) -> String {
    let out = command.output().unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_taken_port_or_an_unreachable_database_stops_it_clearly() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let stderr = refused(
        daftar()
            .args(["serve", "--addr", &addr, "--db"])
            .arg(dir.path().join("d.db")),
    );
    assert!(stderr.contains("is taken"), "{stderr}");

    let stderr = refused(daftar().args([
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--db",
        "postgres://nobody@127.0.0.1:1/none?connect_timeout=2",
    ]));
    assert!(stderr.contains("cannot open the store"), "{stderr}");
    assert!(stderr.contains("reachable"), "{stderr}");

    // No token key and no --demo: refused, saying what to set.
    let stderr = refused(
        daftar()
            .env_remove("DAFTAR_JWT_SECRET")
            .args(["serve", "--addr", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("d.db")),
    );
    assert!(stderr.contains("DAFTAR_JWT_SECRET"), "{stderr}");
}

#[test]
fn sigterm_stops_it_cleanly() {
    let mut server = serve_demo();
    let (status, _) = get(&format!("{}/readyz", server.api));
    assert_eq!(status, 200);
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}
