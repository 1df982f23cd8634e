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
    ended: Option<Value>,
    status: String,
    events: Vec<Value>,
}

fn run(sim: &Sim, workflow: &str, input: Value) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("daftar.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_daftar"))
        .args(["run", workflow, "--input", &input.to_string(), "--db", &db])
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
        ended: field("ended:").map(|e| serde_json::from_str(&e).unwrap()),
        status: field("status:").unwrap_or_default(),
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
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() })
}

fn outcome(o: &Outcome) -> &str {
    o.ended
        .as_ref()
        .and_then(|e| e["Completed"]["outcome"].as_str())
        .unwrap_or("still running")
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

#[test]
fn a_passport_is_renewed_after_parallel_inquiries_and_a_payment_by_callback() {
    let sim = simulator();
    let renewed = run(
        &sim,
        "examples/workflows/passport-renewal.yaml",
        json!({"national_id": "0499370899", "mobile": "09121234567", "birth_date": "1990-01-01", "passport_number": "Z12345678", "delivery_postal_code": "1966713411"}),
    );
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
    let refused = run(
        &sim,
        "examples/workflows/passport-renewal.yaml",
        json!({"national_id": "1287654312", "mobile": "09121234567", "birth_date": "1992-02-14", "passport_number": "Z22334455", "delivery_postal_code": "1966713411"}),
    );
    assert_eq!(outcome(&refused), "rejected");
    assert_eq!(
        count(&refused, "PaymentRequested"),
        0,
        "nobody pays for a refused renewal"
    );
}
