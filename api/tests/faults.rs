//! Faults: twenty clean-record requests at once while the agencies answer 30% of calls with
//! 5xx and let 10% time out. Every request still ends as its definition says, no step is tried
//! more often than its retry policy allows, and no SMS reaches the gateway twice.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use daftar_engine::connectors::Connectors;
use daftar_engine::connectors::http::HttpInquiries;
use daftar_engine::connectors::sms::HttpSms;
use daftar_engine::core::{Delivery, InstanceState};
use daftar_engine::events::{Actor, Event, StreamId};
use daftar_engine::runtime::Engine;
use daftar_engine::runtime::workers::{self, Pace};
use daftar_testkit::root;
use daftar_testkit::simulator::{self, set_faults};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faults_every_request_ends_as_designed_and_no_sms_goes_twice() {
    let (engine, sim, _dir, _loops) = node_with_simulator().await;
    let client = reqwest::Client::new();
    for agency in ["civil_registry", "judiciary_records", "sms_gateway"] {
        let faults = json!({"latency_ms": 5, "jitter_ms": 5, "error_rate": 0.3, "timeout_rate": 0.1, "timeout_ms": 1500});
        set_faults(&sim, agency, faults).await;
    }
    let deployed = engine
        .registry()
        .in_force("judiciary", "clean-record-certificate", chrono_now())
        .unwrap();
    let definition = deployed.compiled();
    let max_attempts: BTreeMap<String, u32> = definition
        .steps()
        .filter_map(|s| {
            let own = s.inquiry.as_ref()?.retry.as_ref().map(|r| r.max_attempts);
            let default = definition
                .workflow()
                .defaults
                .retry
                .as_ref()
                .map(|r| r.max_attempts);
            Some((s.id.clone(), own.or(default).unwrap_or(3)))
        })
        .collect();

    let mut streams = Vec::new();
    for _ in 0..20 {
        streams.push(file(&engine).await);
    }

    // Wait until every request has ended (or stopped for an operator) and every SMS is settled.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let mut settled = true;
        for s in &streams {
            let state = engine.state(s).await.unwrap();
            let stopped = state.ended() || !state.incidents.is_empty();
            if !stopped
                || state
                    .notifications
                    .values()
                    .any(|d| *d == Delivery::Pending)
            {
                settled = false;
            }
        }
        if settled {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "requests did not settle in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut references = Vec::new();
    for s in &streams {
        let history = engine.store().load(s).await.unwrap();
        daftar_engine::events::verify_chain(&history).unwrap();
        let state = engine.state(s).await.unwrap();
        let ending = match &state.ending {
            Some(daftar_engine::core::Ending::Completed { outcome, .. }) => format!("{outcome:?}"),
            Some(other) => format!("{other:?}"),
            None => {
                let reasons: Vec<String> = history
                    .iter()
                    .filter_map(|e| match &e.event {
                        Event::IncidentRaised { step, reason, .. } => {
                            Some(format!("{step}: {reason}"))
                        }
                        _ => None,
                    })
                    .collect();
                format!("incident {reasons:?}")
            }
        };
        *outcomes.entry(ending).or_default() += 1;
        // Attempts per step visit never exceed the step's policy.
        let mut attempts: BTreeMap<(String, String), u32> = BTreeMap::new();
        for e in &history {
            if let Event::InquiryRequested {
                step,
                idempotency_key,
                ..
            } = &e.event
            {
                *attempts
                    .entry((step.clone(), idempotency_key.clone()))
                    .or_default() += 1;
            }
        }
        for ((step, _), n) in attempts {
            assert!(n <= max_attempts[&step], "{s}: {n} attempts at {step}");
        }
        for e in &history {
            if let Event::NotificationRequested { reference, .. } = &e.event {
                references.push(reference.clone());
            }
        }
    }
    // The applicant has a clean record: with retries, nearly every request is issued.
    assert!(
        outcomes.get("Issued").copied().unwrap_or(0) >= 15,
        "{outcomes:?}"
    );
    // The designed endings: issued, or an incident once every attempt of a step's policy
    // failed. Never a rejection: an eligible applicant is not refused for an agency's faults.
    assert!(
        outcomes.keys().all(|o| o == "Issued"
            || (o.starts_with("incident")
                && (o.contains("identity: the agency could not be reached: 5 attempts failed")
                    || o.contains(
                        "criminal_record: the agency could not be reached: 8 attempts failed"
                    )))),
        "only the designed endings: {outcomes:?}"
    );
    let sent = daftar_testkit::json_of(client.get(format!("{sim}/__sim/sms"))).await;
    let sent: Vec<String> = sent
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["client_reference"].as_str().unwrap().to_owned())
        .collect();
    let mut unique = sent.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), sent.len(), "no SMS reached the gateway twice");
    references.sort();
    assert_eq!(
        unique, references,
        "every SMS asked for was delivered, once"
    );
    eprintln!("outcomes under faults: {outcomes:?}; {} SMS", sent.len());
}

/// A node on a fresh store with the HTTP connectors of the example catalog pointed at a new
/// simulator (short timeouts, retries in milliseconds), with the clean-record service deployed.
async fn node_with_simulator() -> (Arc<Engine>, String, tempfile::TempDir, workers::Background) {
    let sim = simulator::example().await;
    let mut catalog = simulator::example_catalog();
    for (name, c) in &mut catalog.connectors {
        c.base_url = Some(
            if c.kind == daftar_definitions::catalog::ConnectorKind::Inquiry {
                format!("{sim}/agencies/{name}")
            } else {
                sim.clone()
            },
        );
        c.timeout = Some("300ms".parse().unwrap());
        c.circuit_breaker = None;
    }
    let source =
        std::fs::read_to_string(root().join("examples/workflows/clean-record-certificate.yaml"))
            .unwrap()
            .replace("initial_interval: 2s", "initial_interval: 20ms")
            .replace("initial_interval: 10s", "initial_interval: 20ms")
            .replace("max_interval: 1m", "max_interval: 100ms")
            .replace("max_interval: 10m", "max_interval: 100ms");
    let dir = tempfile::tempdir().unwrap();
    let store = daftar_testkit::sqlite_store(dir.path()).await;
    let connectors = Connectors {
        inquiries: Some(Arc::new(HttpInquiries::new(&catalog, None).unwrap())),
        notifier: Some(Arc::new(HttpSms::new(&catalog, None).unwrap())),
        payments: None,
    };
    let engine = Engine::open(store, connectors).await.unwrap();
    engine.deploy("clean-record.yaml", &source).await.unwrap();
    let loops = workers::spawn(
        engine.clone(),
        Pace {
            poll: Duration::from_millis(10),
            lease: Duration::from_secs(2),
            batch: 64,
        },
    );
    (engine, sim, dir, loops)
}

async fn until(
    engine: &Engine,
    stream: &daftar_engine::events::StreamId,
    done: impl Fn(&daftar_engine::core::InstanceState) -> bool,
) -> daftar_engine::core::InstanceState {
    for _ in 0..600 {
        let state = engine.state(stream).await.unwrap();
        if done(&state) {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "{stream} did not get there: {:?}",
        engine.state(stream).await.unwrap().tokens
    );
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Files the example applicant's clean-record certificate.
async fn file(engine: &Engine) -> StreamId {
    let started = engine.start(
        "judiciary",
        "clean-record-certificate",
        applicant(),
        None,
        Actor::Citizen,
    );
    started.await.unwrap().stream
}

/// An operator retries the one incident of a request stopped at `state`, under the command
/// id `id`.
async fn operator_retries(engine: &Engine, stream: &StreamId, state: &InstanceState, id: &str) {
    let incident = state.incidents.keys().next().unwrap().clone();
    let retry = daftar_engine::core::Command::RetryIncident { incident };
    let operator = Actor::Operator("ops".into());
    engine
        .execute(stream, &retry, id, operator, None)
        .await
        .unwrap();
}

fn applicant() -> Value {
    json!({"national_id": "0499370899", "mobile": "09121234567", "birth_date": "1990-01-01", "purpose": "employment"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agency_that_is_down_never_refuses_the_citizen_but_stops_on_an_incident_an_operator_retries()
 {
    let (engine, sim, _dir, _loops) = node_with_simulator().await;

    // The civil registry is down: identity retries run out. The registry has not said no, so
    // the eligible applicant is not refused: the request stops on an incident, and once the
    // registry is back an operator retries and the certificate is issued.
    set_faults(&sim, "civil_registry", json!({"error_rate": 1.0})).await;
    let first = file(&engine).await;
    let state = until(&engine, &first, |s| s.ended() || !s.incidents.is_empty()).await;
    assert!(
        !state.ended(),
        "an outage is not a refusal: {:?} ({:?})",
        state.ending,
        state.status
    );
    assert_ne!(state.status.as_deref(), Some("rejected"));
    let history = engine.store().load(&first).await.unwrap();
    let attempts = history
        .iter()
        .filter(|e| matches!(&e.event, Event::InquiryRequested { step, .. } if step == "identity"))
        .count();
    assert_eq!(attempts, 5, "every attempt of the policy, no more");
    set_faults(&sim, "civil_registry", json!({})).await;
    operator_retries(&engine, &first, &state, "operator-retry-0").await;
    let done = until(&engine, &first, |s| s.ended()).await;
    assert_eq!(done.status.as_deref(), Some("issued"));

    // The judiciary is down: its step has no `on_unreachable` either, so
    // the request stops on an incident while others go on; after the judiciary recovers, an
    // operator retries and the certificate is issued.
    set_faults(&sim, "judiciary_records", json!({"error_rate": 1.0})).await;
    let second = file(&engine).await;
    let stopped = until(&engine, &second, |s| !s.incidents.is_empty()).await;
    assert!(!stopped.ended());
    set_faults(&sim, "judiciary_records", json!({})).await;
    operator_retries(&engine, &second, &stopped, "operator-retry-1").await;
    let done = until(&engine, &second, |s| s.ended()).await;
    assert_eq!(done.status.as_deref(), Some("issued"));
}
