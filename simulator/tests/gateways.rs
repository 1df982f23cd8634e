//! The SMS centre and the payment gateway: deduplication by reference, status, callbacks.

use daftar_testkit::simulator as common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn sms_is_accepted_once_per_client_reference() {
    let base = start(quick_config()).await;
    let url = format!("{base}/sms/send");
    let sms = json!({ "mobile": "09121234567", "text": "درخواست شما ثبت شد", "client_reference": "ref-1" });
    let (s1, a1) = post(&url, "x", sms.clone()).await;
    let (s2, a2) = post(&url, "y", sms).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(a1["status"], "accepted");
    assert_eq!(a1["message_id"], a2["message_id"]);
    let other = json!({ "mobile": "09121234567", "text": "دوم", "client_reference": "ref-2" });
    post(&url, "z", other).await;

    let log = get(&format!("{base}/__sim/sms")).await;
    let log = log.as_array().expect("array");
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["client_reference"], "ref-1");
    assert_eq!(log[0]["text"], "درخواست شما ثبت شد");

    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let status = get(&format!("{base}/sms/status/ref-1")).await;
    assert_eq!(
        status,
        json!({ "message_id": a1["message_id"], "status": "delivered" })
    );
    let missing = client()
        .get(format!("{base}/sms/status/nope"))
        .send()
        .await
        .expect("send");
    assert_eq!(missing.status().as_u16(), 404);
    let (bad, _) = post(
        &url,
        "w",
        json!({ "mobile": "12", "text": "t", "client_reference": "r" }),
    )
    .await;
    assert_eq!(bad, 400);
}

#[tokio::test]
async fn sms_delivery_report_goes_to_the_callback_url() {
    let (base, cb, mut rx) = with_callbacks().await;
    let r = client()
        .post(format!("{base}/sms/send"))
        .header("X-Callback-Url", cb)
        .json(&json!({ "mobile": "09121234567", "text": "t", "client_reference": "dr-1" }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    let (_, report) = next(&mut rx).await;
    assert_eq!(report["client_reference"], "dr-1");
    assert_eq!(report["status"], "delivered");
}

async fn pay(base: &str, cb: &str, amount: u64, reference: &str) -> serde_json::Value {
    let r = client()
        .post(format!("{base}/payments"))
        .header("X-Callback-Url", cb)
        .json(&json!({ "amount": amount, "reference": reference, "description": "fee" }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    r.json().await.expect("json")
}

#[tokio::test]
async fn payment_is_paid_by_callback_once_per_reference() {
    let (base, cb, mut rx) = with_callbacks().await;
    let first = pay(&base, &cb, 12_000_000, "pay-1").await;
    assert!(first["url"].as_str().expect("url").contains("/pay/"));
    let again = pay(&base, &cb, 12_000_000, "pay-1").await;
    assert_eq!(first, again);
    let (key, result) = next(&mut rx).await;
    assert_eq!(key.as_deref(), Some("pay-1"));
    assert_eq!(result["payment_id"], first["payment_id"]);
    assert_eq!(result["reference"], "pay-1");
    assert_eq!(result["status"], "paid");
    assert_eq!(result["paid_amount"], 12_000_000);
    assert!(result["trace_number"].is_string() && result["paid_at"].is_string());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(rx.try_recv().is_err(), "one callback per reference");
    let status = get(&format!("{base}/payments/pay-1")).await;
    assert_eq!(status["status"], "paid");
}

#[tokio::test]
async fn payment_outcomes_from_the_seed() {
    let (base, cb, mut rx) = with_callbacks().await;
    pay(&base, &cb, 13_130_000, "declined").await;
    let (_, result) = next(&mut rx).await;
    assert_eq!(result["status"], "failed");
    pay(&base, &cb, 9_990_000, "never").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        rx.try_recv().is_err(),
        "a payer who never pays is never called back"
    );
    let status = get(&format!("{base}/payments/never")).await;
    assert_eq!(status["status"], "pending");
}
