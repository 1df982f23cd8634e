//! Signed checkpoints, receipts and consistency proofs end to end, on a real SQLite file that
//! `daftar run` filled: the commands an agency runs (`checkpoint`, `receipt`, `consistency`,
//! `export`), the checks an outsider runs with no database (`verify-receipt`,
//! `verify-consistency`, `verify --offline`), each shown to fail on what it must catch, and the
//! public endpoints served over HTTP.

use std::path::{Path, PathBuf};
use std::time::Duration;

use daftar_api::auth::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, Keys, Role};
use daftar_api::state::{AppState, Config};
use daftar_engine::audit::receipt::{Receipt, verify_receipt};
use daftar_engine::audit::{offline, signing};
use daftar_engine::connectors::Connectors;
use daftar_engine::runtime::Engine;
use daftar_testkit::process::{daftar, run_clean_record};
use serde_json::Value;

const AGENCY: &str = "judiciary";
const SECRET: &[u8] = b"checkpoint-tests-secret-of-at-least-32-bytes";

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Runs a command expected to fail a check: exit 1 and what it printed.
fn fails(args: &[&str]) -> String {
    let out = daftar(args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {text}");
    assert!(text.starts_with("FAIL "), "{text}");
    text
}

struct Agency {
    dir: tempfile::TempDir,
    db: String,
    key: String,
    public: String,
}

impl Agency {
    fn new() -> Agency {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("daftar.db").display().to_string();
        let key = write(dir.path(), "agency.key", &"42".repeat(32));
        let public = ok(&daftar(&["public-key", "--signing-key", &key]));
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"), "{public}");
        let public = write(dir.path(), "agency.pub.pem", &public);
        Agency {
            dir,
            db,
            key,
            public,
        }
    }

    fn file(&self) {
        let out = run_clean_record(self.dir.path(), &self.db);
        ok(&out);
    }

    fn checkpoint(&self) -> Value {
        let out = ok(&daftar(&[
            "checkpoint",
            "--db",
            &self.db,
            "--signing-key",
            &self.key,
        ]));
        serde_json::from_str(out.trim()).unwrap()
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p: PathBuf = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

async fn first_stream(db: &str) -> String {
    let store = daftar_engine::store::open_existing(&format!("sqlite://{db}"))
        .await
        .unwrap();
    store.streams().await.unwrap()[0].instance.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_and_consistency_proofs_are_checked_with_no_database() {
    let a = Agency::new();
    a.file();
    let first = a.checkpoint();
    let size = first["size"].as_u64().unwrap();
    assert!(size > 4, "{first}");
    // Nothing new: nothing signed.
    let again = daftar(&["checkpoint", "--db", &a.db, "--signing-key", &a.key]);
    assert_eq!(ok(&again), "");

    let id = first_stream(&a.db).await;
    let receipt = ok(&daftar(&["receipt", &id, "--db", &a.db]));
    let file = write(a.dir.path(), "r.json", &receipt);
    let text = ok(&daftar(&["verify-receipt", &file, "--key", &a.public]));
    assert!(
        text.starts_with(&format!("ok: request {AGENCY}/{id}: {size} events")),
        "{text}"
    );

    // Another agency's key.
    let other = write(a.dir.path(), "other.key", &"43".repeat(32));
    let other_pub = ok(&daftar(&["public-key", "--signing-key", &other]));
    let other_pub = write(a.dir.path(), "other.pub.pem", &other_pub);
    let text = fails(&["verify-receipt", &file, "--key", &other_pub]);
    assert!(text.contains("not by the key given"), "{text}");

    // Each alteration of the receipt fails, naming what.
    let r: Value = serde_json::from_str(&receipt).unwrap();
    let altered = |change: &dyn Fn(&mut Value)| {
        let mut r = r.clone();
        change(&mut r);
        let f = write(a.dir.path(), "altered.json", &r.to_string());
        fails(&["verify-receipt", &f, "--key", &a.public])
    };
    let text = altered(&|r| {
        let p = r["events"][1]["payload"]
            .as_str()
            .unwrap()
            .replace(",\"", ", \"");
        r["events"][1]["payload"] = p.into();
    });
    assert!(
        text.contains("event 2: its content does not match its hash"),
        "{text}"
    );
    let text = altered(&|r| {
        r["events"][0]["proof"][0] = "00".repeat(32).into();
    });
    assert!(
        text.contains("event 1 of") && text.contains("inclusion proof"),
        "{text}"
    );
    let text = altered(&|r| {
        r["checkpoint"]["root"] = "00".repeat(32).into();
    });
    assert!(text.contains("signature does not verify"), "{text}");
    let text = altered(&|r| {
        r["events"].as_array_mut().unwrap().remove(2);
    });
    assert!(text.contains("expected version 3, found 4"), "{text}");
    let text = altered(&|r| {
        let last = r["events"].as_array_mut().unwrap().last_mut().unwrap();
        last.as_object_mut().unwrap().remove("leaf");
        last.as_object_mut().unwrap().remove("proof");
    });
    assert!(text.contains("before the checkpoint"), "{text}");

    // The log grows; the later checkpoint extends the earlier one.
    a.file();
    let second = a.checkpoint();
    let bigger = second["size"].as_u64().unwrap();
    assert!(bigger > size, "{second}");
    let proof = ok(&daftar(&[
        "consistency",
        "--db",
        &a.db,
        "--from",
        &size.to_string(),
        "--to",
        &bigger.to_string(),
    ]));
    let proof_file = write(a.dir.path(), "c.json", &proof);
    let text = ok(&daftar(&[
        "verify-consistency",
        &proof_file,
        "--key",
        &a.public,
    ]));
    assert!(
        text.starts_with(&format!("ok: the checkpoint of size {bigger}")),
        "{text}"
    );
    let mut c: Value = serde_json::from_str(&proof).unwrap();
    c["proof"][0] = "11".repeat(32).into();
    let bad = write(a.dir.path(), "c-bad.json", &c.to_string());
    let text = fails(&["verify-consistency", &bad, "--key", &a.public]);
    assert!(text.contains("does not extend"), "{text}");

    // The whole log, then a range starting inside it, check offline against both.
    let log = ok(&daftar(&["export", "--db", &a.db]));
    let log = write(a.dir.path(), "log.jsonl", &log);
    let text = ok(&daftar(&["verify", "--offline", &log, "--key", &a.public]));
    assert!(
        text.starts_with(&format!("ok: {AGENCY}: {bigger} events of 2 streams")),
        "{text}"
    );
    assert!(text.contains("2 checkpoints rebuilt"), "{text}");
    // Read a few events at a time, so that streams and checkpoints fall across the batches
    // checked at once, the answer is the same.
    let key = signing::read_public_key(Path::new(&a.public)).unwrap();
    let whole = |batch| {
        let file = std::io::BufReader::new(std::fs::File::open(&log).unwrap());
        offline::verify_export_batched(file, &key, &[], batch)
    };
    let report = whole(8192).unwrap();
    assert_eq!(report.events, bigger);
    for batch in [1, 2, 3, 5] {
        assert_eq!(whole(batch).as_ref(), Ok(&report), "{batch} at a time");
    }
    let range = ok(&daftar(&[
        "export",
        "--db",
        &a.db,
        "--from",
        "3",
        "--to",
        &bigger.to_string(),
    ]));
    let range = write(a.dir.path(), "range.jsonl", &range);
    let text = ok(&daftar(&[
        "verify",
        "--offline",
        &range,
        "--key",
        &a.public,
    ]));
    assert!(text.contains("2 checkpoints rebuilt"), "{text}");
    // A range's events altered still fail.
    let altered =
        std::fs::read_to_string(&range)
            .unwrap()
            .replacen("\\\"v\\\":1", "\\\"v\\\":2", 1);
    let altered = write(a.dir.path(), "range-bad.jsonl", &altered);
    fails(&["verify", "--offline", &altered, "--key", &a.public]);
    // The first error in the file's order, however the events are batched.
    let first = |batch| {
        let file = std::io::BufReader::new(std::fs::File::open(&altered).unwrap());
        offline::verify_export_batched(file, &key, &[], batch).unwrap_err()
    };
    let error = first(8192);
    for batch in [1, 2, 3, 5] {
        assert_eq!(first(batch), error, "{batch} at a time");
    }
    let _ = a.path("unused");
}

/// The app over HTTP on the store, with the public key, and a token for `roles`.
async fn serve(
    db: &str,
    public: &signing::VerifyingKey,
) -> (String, Keys, tokio::task::JoinHandle<()>) {
    let store = daftar_engine::store::open_existing(&format!("sqlite://{db}"))
        .await
        .unwrap();
    let engine = Engine::open(store, Connectors::default()).await.unwrap();
    let keys = Keys::hs256(SECRET, DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
    let state = AppState::new(Config::new(engine, keys.clone())).with_checkpoint_key(*public);
    let app = daftar_api::app(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), keys, server)
}

async fn get(url: &str, token: Option<String>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(30));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_and_receipts_are_served() {
    let a = Agency::new();
    a.file();
    let first = a.checkpoint();
    a.file();
    let second = a.checkpoint();
    let key = signing::read_signing_key(Path::new(&a.key)).unwrap();
    let (base, keys, server) = serve(&a.db, &key.verifying_key()).await;

    let (s, list) = get(&format!("{base}/api/v1/checkpoints?agency={AGENCY}"), None).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["checkpoints"], serde_json::json!([first, second]));
    let (s, latest) = get(
        &format!("{base}/api/v1/checkpoints/latest?agency={AGENCY}"),
        None,
    )
    .await;
    assert_eq!((s, &latest), (200, &second));
    let (s, none) = get(
        &format!("{base}/api/v1/checkpoints/latest?agency=nobody"),
        None,
    )
    .await;
    assert_eq!(s, 404, "{none}");
    let (s, k) = get(&format!("{base}/api/v1/checkpoints/key"), None).await;
    assert_eq!(s, 200);
    assert_eq!(k["key_id"], first["key_id"]);
    let public = signing::parse_public_key(k["pem"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(public, key.verifying_key());

    let (n1, n2) = (
        first["size"].as_u64().unwrap(),
        second["size"].as_u64().unwrap(),
    );
    let (s, c) = get(
        &format!("{base}/api/v1/checkpoints/consistency?agency={AGENCY}&from={n1}&to={n2}"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{c}");
    let c: daftar_engine::audit::checkpoint::Consistency = serde_json::from_value(c).unwrap();
    daftar_engine::audit::checkpoint::verify_consistency(&c, &public).unwrap();
    let (s, bad) = get(
        &format!("{base}/api/v1/checkpoints/consistency?agency={AGENCY}&from=0&to={n2}"),
        None,
    )
    .await;
    assert_eq!(s, 400, "{bad}");
    assert_eq!(bad["code"], "bad-query", "{bad}");

    let id = first_stream(&a.db).await;
    let token = |roles: Vec<Role>| Some(keys.mint("someone", AGENCY, roles, vec![], 600).unwrap());
    let url = format!("{base}/api/v1/requests/{id}/receipt");
    let (s, r) = get(&url, token(vec![Role::Auditor])).await;
    assert_eq!(s, 200, "{r}");
    let r: Receipt = serde_json::from_value(r).unwrap();
    let report = verify_receipt(&r, &public).unwrap();
    assert_eq!(report.covered, report.events);
    assert_eq!(report.checkpoint.0, n2);
    // A citizen who did not file it is told it does not exist; an officer is refused.
    let (s, _) = get(&url, token(vec![Role::Citizen])).await;
    assert_eq!(s, 404);
    let (s, _) = get(&url, token(vec![Role::Officer])).await;
    assert_eq!(s, 403);
    let (s, _) = get(&url, None).await;
    assert_eq!(s, 401);
    server.abort();
}
