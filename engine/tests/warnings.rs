//! An operator hears of trouble in the log at WARN, once per commit, without personal data:
//! an agency that fails (a 5xx or no connection), the incident it ends in, and an SMS the
//! gateway refuses. Runs on a real SQLite file with a subscriber of its own (this binary
//! holds one test, so the global subscriber is this test's).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use daftar_engine::connectors::{
    Connectors, Inquiries, InquiryCall, Notifier, PaymentCall, Payments, SendOutcome, Sms,
};
use daftar_engine::core::{InquiryResult, PaymentRequestResult, Wait};
use daftar_engine::runtime::Engine;
use daftar_engine::runtime::workers::{self, Pace};

use daftar_testkit::harness;

/// The shared head (statuses with SMS) and one inquiry that may be tried twice.
fn workflow() -> String {
    let steps = concat!(
        "\nsteps:\n",
        daftar_testkit::criminal_record_step!(),
        r#"      retry: { max_attempts: 2, initial_interval: 10ms, max_interval: 10ms }
  - id: issue
    status: done
    end: { outcome: issued }
"#
    );
    format!("{}{steps}", harness::HEAD)
}

/// An agency that is down: every call a 503.
#[derive(Debug)]
struct Down;

#[async_trait]
impl Inquiries for Down {
    async fn inquire(&self, _call: &InquiryCall) -> InquiryResult {
        InquiryResult::Transient {
            reason: "HTTP 503 Service Unavailable".to_owned(),
        }
    }
}

#[async_trait]
impl Payments for Down {
    async fn request(&self, _call: &PaymentCall) -> PaymentRequestResult {
        PaymentRequestResult::Transient {
            reason: "HTTP 503".to_owned(),
        }
    }
}

/// A gateway that refuses every SMS.
#[derive(Debug)]
struct Refusing;

#[async_trait]
impl Notifier for Refusing {
    async fn send(&self, _sms: &Sms) -> SendOutcome {
        SendOutcome::Refused {
            reason: "blocked number".to_owned(),
        }
    }
    async fn lookup(&self, _reference: &str) -> SendOutcome {
        SendOutcome::Unknown
    }
}

/// The log, as written.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agency_failures_incidents_and_refused_sms_are_logged_at_warn_without_personal_data() {
    let log = Log::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("d.db").display());
    let store = daftar_engine::store::open(&db).await.unwrap();
    let connectors = Connectors {
        inquiries: Some(Arc::new(Down)),
        notifier: Some(Arc::new(Refusing)),
        payments: Some(Arc::new(Down)),
    };
    let engine = Engine::open(store, connectors).await.unwrap();
    engine.deploy("test.yaml", &workflow()).await.unwrap();
    let stream = harness::file_applicant(&engine).await;
    let _loops = workers::spawn(
        engine.clone(),
        Pace {
            poll: Duration::from_millis(10),
            lease: Duration::from_millis(300),
            batch: 64,
        },
    );
    let mut stopped = false;
    for _ in 0..500 {
        let state = engine.state(&stream).await.unwrap();
        if state
            .tokens
            .values()
            .any(|t| matches!(t.wait, Wait::Incident { .. }))
        {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(stopped, "the request stops on an incident");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let warns: Vec<&str> = text.lines().filter(|l| l.contains("WARN")).collect();
    let with = |what: &str| warns.iter().filter(|l| l.contains(what)).count();
    assert_eq!(with("inquiry failed"), 2, "one per attempt: {text}");
    assert!(with("HTTP 503") >= 2, "{text}");
    assert!(with("connector=\"judiciary_records\"") >= 2, "{text}");
    assert_eq!(with("incident:"), 1, "{text}");
    assert!(with("SMS failed") >= 1, "{text}");
    assert!(
        !text.contains("0499370899") && !text.contains("09121234567"),
        "no applicant in the log: {text}"
    );
}
