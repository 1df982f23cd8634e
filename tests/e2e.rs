//! The example services against the agency simulator over real HTTP: the real `daftar run`
//! binary calls the agencies, sends SMS through the SMS centre, pays through the payment
//! gateway and hears callbacks, exactly as it would with real agencies.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

struct Sim {
    url: String,
    _runtime: tokio::runtime::Runtime,
}

/// A simulator in this process, on a free port, with the example seed and config.
fn simulator() -> Sim {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sim = daftar_simulator::Simulator::from_files(
        &root.join("examples/simulator/seed.yaml"),
        &root.join("examples/simulator/config.yaml"),
    )
    .unwrap();
    // What `daftar run` expects by default (DAFTAR_CALLBACK_TOKEN unset).
    sim.set_callback_token(Some("daftar-local-callbacks".to_owned()));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(daftar_simulator::serve(listener, sim));
    Sim {
        url,
        _runtime: runtime,
    }
}

struct Outcome {
    /// The outcome printed, when it ended.
    ended: Option<String>,
    status: String,
    events: Vec<Value>,
}

fn run(sim: &Sim, workflow: &str, input: Value) -> Outcome {
    run_with(sim, &[workflow], input)
}

/// `daftar run` with these arguments before `--input` (files, folders, `--service`).
fn run_with(sim: &Sim, args: &[&str], input: Value) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("daftar.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_daftar"))
        .arg("run")
        .args(args)
        .args(["--input", &input.to_string(), "--db", &db])
        .env("DAFTAR_AGENCIES_URL", &sim.url)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let field = |name: &str| {
        stderr
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
    };
    Outcome {
        ended: field("outcome:"),
        // `issued (صادر شد / Issued)`: the id, then its labels.
        status: field("status:")
            .and_then(|s| s.split_whitespace().next().map(str::to_owned))
            .unwrap_or_default(),
        events: String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    }
}

fn sms(sim: &Sim) -> Vec<Value> {
    let v: Value = reqwest_get(&format!("{}/__sim/sms", sim.url));
    v.as_array().cloned().unwrap_or_default()
}

fn reqwest_get(url: &str) -> Value {
    let rt = daftar_testkit::process::runtime();
    rt.block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() })
}

fn outcome(o: &Outcome) -> &str {
    o.ended.as_deref().unwrap_or("still running")
}

fn count(o: &Outcome, kind: &str) -> usize {
    o.events
        .iter()
        .filter(|e| e["event"]["type"] == kind)
        .count()
}

#[test]
fn clean_record_certificates_are_issued_or_refused_by_the_agencies_answers() {
    let sim = simulator();
    let workflow = "examples/workflows/clean-record-certificate.yaml";
    let issued = run(
        &sim,
        workflow,
        json!({"national_id": "0499370899", "mobile": "09121234567", "birth_date": "1990-01-01", "purpose": "employment"}),
    );
    assert_eq!(outcome(&issued), "issued");
    assert_eq!(issued.status, "issued");
    let refused = run(
        &sim,
        workflow,
        json!({"national_id": "0012345679", "mobile": "09121234567", "birth_date": "1990-01-01", "purpose": "employment"}),
    );
    assert_ne!(
        outcome(&refused),
        "issued",
        "a criminal record refuses the certificate"
    );

    // Every status change that asks for an SMS sent exactly one, and none twice.
    let sent = sms(&sim);
    // Written for Iranian citizens: the filing date in the Jalali calendar (year 14xx) and
    // the document ID in Persian digits.
    let texts: Vec<&str> = sent.iter().filter_map(|s| s["text"].as_str()).collect();
    assert!(
        texts.iter().any(|t| t.contains("مورخ ۱۴")),
        "a Jalali date in Persian digits: {texts:?}"
    );
    assert!(
        texts
            .iter()
            .filter_map(|t| t.split("شناسه سند ").nth(1))
            .any(|id| !id.is_empty() && !id.chars().any(|c| c.is_ascii_digit())),
        "the issue SMS in Persian digits: {texts:?}"
    );
    let requested =
        count(&issued, "NotificationRequested") + count(&refused, "NotificationRequested");
    assert_eq!(sent.len(), requested, "{sent:?}");
    let mut references: Vec<&str> = sent
        .iter()
        .map(|s| s["client_reference"].as_str().unwrap())
        .collect();
    references.sort_unstable();
    references.dedup();
    assert_eq!(references.len(), sent.len(), "no SMS twice");
}

/// Runs the passport renewal example against the simulator for the applicant of
/// `national_id`, born on `birth_date`, whose passport is `passport_number`.
fn renew_passport(
    sim: &Sim,
    national_id: &str,
    birth_date: &str,
    passport_number: &str,
) -> Outcome {
    let applicant = json!({"national_id": national_id, "mobile": "09121234567", "birth_date": birth_date, "passport_number": passport_number, "delivery_postal_code": "1966713411"});
    run(sim, "examples/workflows/passport-renewal.yaml", applicant)
}

#[test]
fn a_passport_is_renewed_after_parallel_inquiries_and_a_payment_by_callback() {
    let sim = simulator();
    let renewed = renew_passport(&sim, "0499370899", "1990-01-01", "Z12345678");
    assert_eq!(
        outcome(&renewed),
        "issued",
        "{:?}",
        renewed
            .events
            .iter()
            .map(|e| e["event"]["type"].clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(count(&renewed, "BranchesJoined"), 1);
    assert_eq!(count(&renewed, "PaymentSucceeded"), 1);
    let payments = reqwest_get(&format!("{}/__sim/payments", sim.url));
    assert_eq!(payments.as_array().map(Vec::len), Some(1), "{payments}");
}

#[test]
fn a_military_service_holdout_is_refused_a_passport() {
    let sim = simulator();
    let refused = renew_passport(&sim, "1287654312", "1992-02-14", "Z22334455");
    assert_eq!(outcome(&refused), "rejected");
    assert_eq!(
        count(&refused, "PaymentRequested"),
        0,
        "nobody pays for a refused renewal"
    );
}

/// A service that calls a sub-workflow runs when `run` is given both, as files or as a folder:
/// the applicant is verified by the called workflow instead of being refused for a missing one.
#[test]
fn a_service_and_the_workflow_it_calls_run_together_from_files_or_a_folder() {
    let sim = simulator();
    let input = json!({
        "national_id": "5123498761", "mobile": "09131112222", "birth_date": "1983-12-12",
        "registration_plate": "210/7", "area": 5000, "greenhouse_type": "glass",
        "latitude": 32.61, "longitude": 51.52, "water_right_id": "W-10-4471"});
    let called = |o: &Outcome| {
        o.events
            .iter()
            .find(|e| e["event"]["type"] == "CallCompleted")
            .map(|e| e["event"].clone())
    };
    let files = run_with(
        &sim,
        &[
            "examples/workflows/greenhouse-permit.yaml",
            "examples/workflows/applicant-verification.yaml",
        ],
        input.clone(),
    );
    assert_ne!(outcome(&files), "rejected", "{:?}", files.events);
    let call = called(&files).expect("the verification was called and completed");
    assert_eq!(call["succeeded"], true, "{call}");
    assert_ne!(files.status, "checking", "it went past the verification");

    let folder = run_with(
        &sim,
        &["examples/workflows", "--service", "greenhouse-permit"],
        input,
    );
    assert_ne!(outcome(&folder), "rejected");
    assert!(called(&folder).is_some(), "{:?}", folder.events);
}

/// A folder without `--service` is a usage error naming the workflows to choose from.
#[test]
fn a_folder_without_a_service_is_refused_with_the_choices() {
    let out = Command::new(env!("CARGO_BIN_EXE_daftar"))
        .args([
            "run",
            "examples/workflows",
            "--input",
            "{}",
            "--answers",
            "examples/answers/clean-record-certificate.json",
        ])
        .args([
            "--db",
            &format!(
                "sqlite://{}",
                tempfile::tempdir().unwrap().keep().join("d.db").display()
            ),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--service") && stderr.contains("greenhouse-permit"),
        "{stderr}"
    );
}

/// `daftar run --document-code` issues the document under the agency's registered code, as
/// `serve` does, so a dry run shows the ID a citizen would get; a malformed code is refused.
#[test]
fn run_issues_the_document_under_the_agencys_registered_code() {
    let run = |code: &str| {
        let dir = tempfile::tempdir().unwrap();
        Command::new(env!("CARGO_BIN_EXE_daftar"))
            .args([
                "run",
                "examples/workflows/clean-record-certificate.yaml",
                "--answers",
                "examples/answers/clean-record-certificate.json",
                "--document-code",
                code,
                "--input",
                r#"{"national_id": "0499370899", "mobile": "09121234567", "birth_date": "1990-01-01", "purpose": "employment"}"#,
                "--db",
                &format!("sqlite://{}", dir.path().join("d.db").display()),
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap()
    };
    let out = run("judiciary=JDCR");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let completed: Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["event"]["type"] == "InstanceCompleted")
        .expect("the request completed");
    let id = completed["event"]["document_id"].as_str().unwrap();
    assert!(id.starts_with("JDCR"), "{id}");

    let out = run("judiciary=ZZ");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--document-code judiciary=ZZ"), "{stderr}");
}
