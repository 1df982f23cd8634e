//! The HTTP inquiry connector against the agency simulator over real HTTP on 127.0.0.1:
//! answers with evidence, refusals, timeouts as unknown outcomes, 5xx and malformed answers as
//! transient, callbacks acknowledged, and a circuit breaker that opens and lets a trial through.

use std::time::Duration;

use daftar_definitions::catalog::{Catalog, CircuitBreaker};
use daftar_engine::connectors::http::{BreakerState, HttpInquiries};
use daftar_engine::connectors::{Inquiries, InquiryCall};
use daftar_engine::core::InquiryResult;
use daftar_engine::events::StreamId;
use daftar_testkit::simulator::{
    example as simulator, example_catalog, hang, journal, set_faults as faults,
};
use serde_json::{Value, json};

/// The example catalog, pointed at the simulator, with short timeouts and a breaker.
fn catalog(base: &str) -> Catalog {
    let mut catalog = example_catalog();
    for (name, c) in &mut catalog.connectors {
        c.base_url = Some(format!("{base}/agencies/{name}"));
        c.timeout = Some("400ms".parse().unwrap());
        c.circuit_breaker = Some(CircuitBreaker {
            failures: 3,
            open_for: "300ms".parse().unwrap(),
        });
    }
    catalog
}

fn call(connector: &str, operation: &str, request: Value, key: &str) -> InquiryCall {
    InquiryCall {
        stream: StreamId {
            agency: "judiciary".into(),
            instance: "i-1".into(),
        },
        connector: connector.into(),
        operation: operation.into(),
        request,
        idempotency_key: key.into(),
        attempt: 1,
    }
}

/// Asks `connector`'s `operation` about the example applicant's national ID under the key
/// `key`.
async fn ask(http: &HttpInquiries, connector: &str, operation: &str, key: &str) -> InquiryResult {
    let request = json!({"national_id": "0499370899"});
    http.inquire(&call(connector, operation, request, key))
        .await
}

async fn requests_to(base: &str, connector: &str) -> usize {
    journal(base, "requests")
        .await
        .iter()
        .filter(|r| r.to_string().contains(connector))
        .count()
}

#[tokio::test]
async fn an_answer_keeps_its_evidence() {
    let base = simulator().await;
    let http = HttpInquiries::new(&catalog(&base), None).unwrap();
    let request = json!({"national_id": "0499370899", "birth_date": "1990-01-01"});
    match http
        .inquire(&call("civil_registry", "identity_match", request, "k-1"))
        .await
    {
        InquiryResult::Answered { evidence } => {
            assert_eq!(evidence.response["matched"], true, "{}", evidence.response);
            assert_eq!(evidence.sha256.len(), 64);
            assert!(evidence.agency_time.is_some(), "the agency's own timestamp");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_bad_request_is_refused_and_an_unknown_connector_too() {
    let base = simulator().await;
    let http = HttpInquiries::new(&catalog(&base), None).unwrap();
    let missing = http
        .inquire(&call(
            "civil_registry",
            "identity_match",
            json!({"national_id": "0499370899"}),
            "k-2",
        ))
        .await;
    assert!(
        matches!(missing, InquiryResult::Refused { .. }),
        "{missing:?}"
    );
    let unknown = http.inquire(&call("nowhere", "x", json!({}), "k-3")).await;
    assert!(matches!(unknown, InquiryResult::Refused { .. }));
}

#[tokio::test]
async fn a_timeout_is_an_unknown_outcome_and_5xx_and_garbage_are_transient() {
    let base = simulator().await;
    let http = HttpInquiries::new(&catalog(&base), None).unwrap();

    hang(&base, "judiciary_records").await;
    let slow = ask(&http, "judiciary_records", "criminal_record", "k-4").await;
    assert_eq!(slow, InquiryResult::Unknown);

    faults(&base, "judiciary_records", json!({"error_rate": 1.0})).await;
    let down = ask(&http, "judiciary_records", "criminal_record", "k-5").await;
    assert!(
        matches!(down, InquiryResult::Transient { ref reason } if reason.contains("503")),
        "{down:?}"
    );

    faults(&base, "military_service", json!({"malformed_rate": 1.0})).await;
    let garbage = ask(&http, "military_service", "service_status", "k-6").await;
    assert!(
        matches!(garbage, InquiryResult::Transient { .. }),
        "{garbage:?}"
    );
}

#[tokio::test]
async fn the_circuit_opens_after_repeated_failures_and_lets_a_trial_through_later() {
    let base = simulator().await;
    let http = HttpInquiries::new(&catalog(&base), None).unwrap();
    faults(&base, "tax", json!({"error_rate": 1.0})).await;
    let ask = |k: &str| {
        call(
            "tax",
            "tax_clearance",
            json!({"national_id": "0499370899"}),
            k,
        )
    };
    for i in 0..3 {
        assert!(matches!(
            http.inquire(&ask(&format!("t-{i}"))).await,
            InquiryResult::Transient { .. }
        ));
    }
    assert_eq!(http.breakers()["tax"], BreakerState::Open);
    let sent = requests_to(&base, "tax").await;
    let refused = http.inquire(&ask("t-open")).await;
    assert!(
        matches!(refused, InquiryResult::Transient { ref reason } if reason.contains("circuit")),
        "{refused:?}"
    );
    assert_eq!(
        requests_to(&base, "tax").await,
        sent,
        "an open circuit sends nothing"
    );

    // The agency recovers; after the open time one trial goes through and closes the circuit.
    faults(&base, "tax", json!({"error_rate": 0.0})).await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(http.breakers()["tax"], BreakerState::HalfOpen);
    assert!(matches!(
        http.inquire(&ask("t-trial")).await,
        InquiryResult::Answered { .. }
    ));
    assert_eq!(http.breakers()["tax"], BreakerState::Closed);
}

#[tokio::test]
async fn callback_operations_are_acknowledged() {
    let base = simulator().await;
    let http =
        HttpInquiries::new(&catalog(&base), Some("http://127.0.0.1:9/callbacks".into())).unwrap();
    let ack = http
        .inquire(&call(
            "vehicle_registry",
            "register_vehicle_seizure",
            json!({"national_id": "0499370899", "order_number": "O-1"}),
            "k-7",
        ))
        .await;
    assert_eq!(ack, InquiryResult::Acknowledged);
}
