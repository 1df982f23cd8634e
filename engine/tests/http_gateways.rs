//! The HTTP SMS and payment gateway connectors against the agency simulator over real HTTP on
//! 127.0.0.1: an SMS is sent once however often it is asked, a lookup reconciles an unknown
//! outcome, a gateway that is down leaves the outcome unknown until it recovers; a payment opens,
//! its result is called back under the reference the engine waits on, and a repeated request
//! opens the same payment.

use std::time::Duration;

use daftar_definitions::catalog::Catalog;
use daftar_engine::connectors::payments::HttpPayments;
use daftar_engine::connectors::sms::HttpSms;
use daftar_engine::connectors::{Notifier, PaymentCall, Payments, SendOutcome, Sms};
use daftar_engine::core::PaymentRequestResult;
use daftar_engine::events::StreamId;
use daftar_testkit::simulator::{
    example as simulator, example_catalog, hang, journal, set_faults as faults,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// The example catalog with the gateways pointed at the simulator and a short timeout.
fn catalog(base: &str) -> Catalog {
    let mut catalog = example_catalog();
    for name in ["sms_gateway", "payment_gateway"] {
        let c = catalog.connectors.get_mut(name).unwrap();
        // The gateway paths (`/sms/...`, `/payments`) are appended to the base URL.
        c.base_url = Some(base.to_owned());
        c.timeout = Some("400ms".parse().unwrap());
    }
    catalog
}

/// The SMS the simulator accepted under a reference.
async fn sms_with(base: &str, reference: &str) -> Vec<Value> {
    journal(base, "sms")
        .await
        .into_iter()
        .filter(|s| s["client_reference"] == reference)
        .collect()
}

fn sms(reference: &str) -> Sms {
    Sms {
        stream: daftar_engine::events::StreamId {
            agency: "judiciary".into(),
            instance: "i-1".into(),
        },
        reference: reference.into(),
        recipient: "09121234567".into(),
        text: "درخواست شما ثبت شد".into(),
    }
}

fn payment(key: &str, amount: i64) -> PaymentCall {
    PaymentCall {
        stream: StreamId {
            agency: "municipality".into(),
            instance: "i-1".into(),
        },
        connector: "payment_gateway".into(),
        amount,
        idempotency_key: key.into(),
        attempt: 1,
    }
}

/// One request that reached the callback listener.
#[derive(Debug)]
struct Posted {
    path: String,
    idempotency_key: Option<String>,
    body: Value,
}

/// A tiny HTTP listener that answers every request `200` and hands it over.
async fn callback_listener() -> (String, mpsc::UnboundedReceiver<Posted>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_len, length) = loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                };
                while buf.len() < head_len + length {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_len]).into_owned();
                let path = head
                    .lines()
                    .next()
                    .and_then(|l| l.split_whitespace().nth(1))
                    .unwrap_or_default()
                    .to_owned();
                let idempotency_key = head.lines().find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("idempotency-key")
                        .then(|| value.trim().to_owned())
                });
                let body = serde_json::from_slice(&buf[head_len..head_len + length])
                    .unwrap_or(Value::Null);
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
                let _ = tx.send(Posted {
                    path,
                    idempotency_key,
                    body,
                });
            });
        }
    });
    (format!("http://{addr}/callbacks"), rx)
}

/// The gateway's id of a sent SMS; panics on any other outcome.
fn gateway_id(outcome: &SendOutcome) -> String {
    match outcome {
        SendOutcome::Sent {
            gateway_id: Some(id),
        } => id.clone(),
        other => panic!("{other:?}"),
    }
}

/// The one SMS the simulator recorded under `reference`, which has the gateway id `id`.
async fn the_one_sms(base: &str, reference: &str, id: &str) -> Value {
    let recorded = sms_with(base, reference).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["message_id"], id);
    recorded[0].clone()
}

#[tokio::test]
async fn an_sms_is_sent_once_however_often_it_is_asked() {
    let base = simulator().await;
    let notifier = HttpSms::new(&catalog(&base), None).unwrap();
    assert_eq!(notifier.connector(), "sms_gateway");

    let first = notifier.send(&sms("n-1")).await;
    let recorded = the_one_sms(&base, "n-1", &gateway_id(&first)).await;
    assert_eq!(recorded["mobile"], "09121234567");
    assert_eq!(recorded["text"], "درخواست شما ثبت شد");

    // The same reference again: the same message, no second SMS.
    assert_eq!(notifier.send(&sms("n-1")).await, first);
    assert_eq!(sms_with(&base, "n-1").await.len(), 1);
    assert_eq!(journal(&base, "sms").await.len(), 1);
}

#[tokio::test]
async fn a_lookup_finds_a_sent_reference_and_not_an_unknown_one() {
    let base = simulator().await;
    let notifier = HttpSms::new(&catalog(&base), None).unwrap();
    let sent = notifier.send(&sms("n-2")).await;
    assert!(matches!(sent, SendOutcome::Sent { .. }), "{sent:?}");
    assert_eq!(notifier.lookup("n-2").await, sent);
    assert_eq!(notifier.lookup("never-sent").await, SendOutcome::Unknown);

    // A bad mobile is refused, and nothing is recorded.
    let mut bad = sms("n-3");
    bad.recipient = "12345".into();
    let refused = notifier.send(&bad).await;
    assert!(
        matches!(refused, SendOutcome::Refused { .. }),
        "{refused:?}"
    );
    assert!(sms_with(&base, "n-3").await.is_empty());
}

#[tokio::test]
async fn a_gateway_that_is_down_leaves_the_outcome_unknown_until_it_recovers() {
    let base = simulator().await;
    let notifier = HttpSms::new(&catalog(&base), None).unwrap();

    faults(&base, "sms_gateway", json!({"error_rate": 1.0})).await;
    assert_eq!(notifier.send(&sms("n-4")).await, SendOutcome::Unknown);
    // The 503 took nothing: the lookup says never seen, so the runtime sends again.
    assert_eq!(notifier.lookup("n-4").await, SendOutcome::Unknown);

    faults(&base, "sms_gateway", json!({"error_rate": 0.0})).await;
    let sent = notifier.send(&sms("n-4")).await;
    assert!(matches!(sent, SendOutcome::Sent { .. }), "{sent:?}");
    assert_eq!(sms_with(&base, "n-4").await.len(), 1);
}

#[tokio::test]
async fn a_timeout_is_unknown_and_the_lookup_finds_what_the_gateway_took() {
    let base = simulator().await;
    let notifier = HttpSms::new(&catalog(&base), None).unwrap();

    hang(&base, "sms_gateway").await;
    assert_eq!(notifier.send(&sms("n-5")).await, SendOutcome::Unknown);
    // The gateway took it before hanging: the lookup reconciles, no resend is needed.
    let found = notifier.lookup("n-5").await;
    the_one_sms(&base, "n-5", &gateway_id(&found)).await;
}

/// A simulator whose `connector` calls back after 50 ms, and a listener for its callbacks:
/// answers the simulator's base URL, the callback base and what is posted to it.
async fn calling_back(connector: &str) -> (String, String, mpsc::UnboundedReceiver<Posted>) {
    let base = simulator().await;
    let (callbacks, posted) = callback_listener().await;
    faults(&base, connector, json!({"callback_delay_ms": 50})).await;
    (base, callbacks, posted)
}

#[tokio::test]
async fn delivery_reports_go_to_the_callback_base() {
    let (base, callbacks, mut posted) = calling_back("sms_gateway").await;
    let notifier = HttpSms::new(&catalog(&base), Some(callbacks)).unwrap();
    let id = gateway_id(&notifier.send(&sms("n-6")).await);
    let report = tokio::time::timeout(Duration::from_secs(5), posted.recv())
        .await
        .expect("a delivery report")
        .unwrap();
    assert_eq!(report.path, "/callbacks/judiciary/sms_gateway");
    assert_eq!(report.body["client_reference"], "n-6");
    assert_eq!(report.body["message_id"], id.as_str());
    assert_eq!(report.body["status"], "delivered");
}

#[tokio::test]
async fn a_payment_opens_and_its_result_is_called_back_under_the_same_reference() {
    let (base, callbacks, mut posted) = calling_back("payment_gateway").await;
    let payments = HttpPayments::new(&catalog(&base), Some(callbacks)).unwrap();

    let opened = payments.request(&payment("pay-1", 12_000_000)).await;
    let PaymentRequestResult::Opened {
        reference,
        url: Some(url),
    } = &opened
    else {
        panic!("{opened:?}");
    };
    assert!(url.contains("/pay/"), "{url}");

    let result = tokio::time::timeout(Duration::from_secs(5), posted.recv())
        .await
        .expect("a payment result")
        .unwrap();
    assert_eq!(result.path, "/callbacks/municipality/payment_gateway");
    // What the engine correlates the `payment` message by.
    assert_eq!(result.body["reference"], reference.as_str(), "{result:?}");
    assert_eq!(
        result.idempotency_key.as_deref(),
        Some(reference.as_str()),
        "{result:?}"
    );
    assert_eq!(result.body["status"], "paid");
    assert_eq!(result.body["paid_amount"], 12_000_000);

    // A repeated request with the same key: the same payment, no second one.
    assert_eq!(
        payments.request(&payment("pay-1", 12_000_000)).await,
        opened
    );
    let recorded = journal(&base, "payments").await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["reference"], "pay-1");
    assert_eq!(recorded[0]["description"], "municipality i-1");
    // And no second result.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(posted.try_recv().is_err());
}

#[tokio::test]
async fn a_gateway_that_is_down_or_slow_is_transient_and_the_retry_opens_the_same_payment() {
    let base = simulator().await;
    let (callbacks, _posted) = callback_listener().await;
    let payments = HttpPayments::new(&catalog(&base), Some(callbacks)).unwrap();

    faults(&base, "payment_gateway", json!({"error_rate": 1.0})).await;
    let down = payments.request(&payment("pay-2", 5_000_000)).await;
    assert!(
        matches!(down, PaymentRequestResult::Transient { ref reason } if reason.contains("503")),
        "{down:?}"
    );
    assert!(journal(&base, "payments").await.is_empty());

    // Hung after opening: transient, and the retry gets the payment the gateway opened.
    hang(&base, "payment_gateway").await;
    let slow = payments.request(&payment("pay-2", 5_000_000)).await;
    assert!(
        matches!(slow, PaymentRequestResult::Transient { .. }),
        "{slow:?}"
    );
    let recorded = journal(&base, "payments").await;
    assert_eq!(recorded.len(), 1);
    let payment_id = recorded[0]["payment_id"].as_str().unwrap().to_owned();

    faults(&base, "payment_gateway", json!({"timeout_rate": 0.0})).await;
    let opened = payments.request(&payment("pay-2", 5_000_000)).await;
    match &opened {
        PaymentRequestResult::Opened {
            reference,
            url: Some(url),
        } => {
            assert_eq!(reference, "pay-2");
            assert!(url.ends_with(&format!("/pay/{payment_id}")), "{url}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(journal(&base, "payments").await.len(), 1);
}

#[tokio::test]
async fn a_payment_the_gateway_cannot_take_is_refused() {
    let base = simulator().await;
    // Without a callback URL the simulator's gateway refuses (400).
    let payments = HttpPayments::new(&catalog(&base), None).unwrap();
    let refused = payments.request(&payment("pay-3", 1_000)).await;
    assert!(
        matches!(refused, PaymentRequestResult::Refused { ref reason } if reason.contains("400")),
        "{refused:?}"
    );
    let unknown = HttpPayments::new(&catalog(&base), None)
        .unwrap()
        .request(&PaymentCall {
            connector: "nowhere".into(),
            ..payment("pay-4", 1_000)
        })
        .await;
    assert!(matches!(unknown, PaymentRequestResult::Refused { .. }));
    assert!(journal(&base, "payments").await.is_empty());
}
