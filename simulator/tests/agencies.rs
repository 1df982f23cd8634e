//! Inquiry endpoints over HTTP: answers, unknown records, malformed requests, idempotency and
//! callback operations.

use daftar_testkit::simulator as common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn identity_match_answers_output_fields_and_agency_time() {
    let base = start(quick_config()).await;
    let url = format!("{base}/agencies/civil_registry/identity_match");
    let body = json!({ "national_id": "0499370899", "birth_date": "1990-01-01" });
    let (status, answer) = post(&url, "k-1", body).await;
    assert_eq!(status, 200);
    assert_eq!(answer["matched"], true);
    assert_eq!(answer["is_alive"], true);
    assert_eq!(answer["first_name"], "سارا");
    let ts = answer["timestamp"].as_str().expect("timestamp");
    assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");

    let dead = json!({ "national_id": "2276543191", "birth_date": "1948-06-06" });
    let (_, answer) = post(&url, "k-2", dead).await;
    assert_eq!(answer["is_alive"], false);
    let unknown = json!({ "national_id": "0012345679", "birth_date": "2000-01-01" });
    let (status, answer) = post(&url, "k-3", unknown).await;
    assert_eq!((status, answer["matched"].clone()), (200, json!(false)));
}

#[tokio::test]
async fn unknown_records_missing_fields_and_unknown_operations() {
    let base = start(quick_config()).await;
    let body = json!({ "postal_code": "1136713341" });
    let (s, a) = ask(&base, "postal_code/address_lookup", "k-1", body).await;
    assert_eq!((s, a["found"].clone()), (200, json!(false)));
    let body = json!({ "national_id": "1432567896" });
    let (s, a) = ask(&base, "judiciary_records/criminal_record", "k-2", body).await;
    assert_eq!((s, a["status"].clone()), (404, json!(404)));
    let body = json!({ "national_id": "0499370899" });
    let (s, _) = ask(&base, "deeds/deed_authenticity", "k-3", body).await;
    assert_eq!(s, 400);
    let (s, _) = ask(&base, "deeds/nothing", "k-4", json!({})).await;
    assert_eq!(s, 404);
    let r = client()
        .post(format!("{base}/agencies/shahkar/mobile_ownership"))
        .json(&json!({ "national_id": "0499370899", "mobile": "09121234567" }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 400, "no Idempotency-Key");
}

#[tokio::test]
async fn same_key_same_answer_one_effect() {
    let base = start(quick_config()).await;
    let url = format!("{base}/agencies/judiciary_records/criminal_record");
    let body = json!({ "national_id": "0012345679" });
    let (s1, a1) = post(&url, "same", body.clone()).await;
    let (s2, a2) = post(&url, "same", body.clone()).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(a1, a2, "same inquiry_id and timestamp");
    assert_eq!(a1["has_record"], true);
    let (_, a3) = post(&url, "other", body).await;
    assert_ne!(a1["inquiry_id"], a3["inquiry_id"]);

    let effects = get(&format!("{base}/__sim/effects")).await;
    let same: Vec<_> = effects
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| e["idempotency_key"] == "same")
        .collect();
    assert_eq!(same.len(), 1);
    let requests = get(&format!("{base}/__sim/requests")).await;
    let requests = requests.as_array().expect("array");
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[1]["replayed"], true);
    assert_eq!(requests[1]["status"], 200);
}

#[tokio::test]
async fn callback_operation_answers_202_then_posts_the_answer() {
    let (base, cb, mut rx) = with_callbacks().await;
    let send = |key: &'static str| {
        client()
            .post(format!("{base}/agencies/stock_exchange/freeze_securities"))
            .header("Idempotency-Key", key)
            .header("X-Callback-Url", cb.clone())
            .json(&json!({ "national_id": "0790419904", "order_number": "140309870001234" }))
            .send()
    };
    let r = send("freeze-1").await.expect("send");
    assert_eq!(r.status().as_u16(), 202);
    assert_eq!(
        r.json::<serde_json::Value>().await.expect("json"),
        json!({ "accepted": true })
    );
    let (key, body) = next(&mut rx).await;
    assert_eq!(key.as_deref(), Some("freeze-1"));
    assert_eq!(body["frozen_value"], 1_200_000_000u64);
    assert_eq!(body["holdings_count"], 4);
    assert!(body["timestamp"].is_string());

    // A repeat after delivery is accepted but not delivered twice.
    assert_eq!(send("freeze-1").await.expect("send").status().as_u16(), 202);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(rx.try_recv().is_err(), "delivered once");
}

#[tokio::test]
async fn a_silent_registry_never_calls_back() {
    let (base, cb, mut rx) = with_callbacks().await;
    let r = client()
        .post(format!("{base}/agencies/stock_exchange/freeze_securities"))
        .header("Idempotency-Key", "silent")
        .header("X-Callback-Url", cb)
        .json(&json!({ "national_id": "2736451988", "order_number": "1" }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 202);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(rx.try_recv().is_err());
    let effects = get(&format!("{base}/__sim/effects")).await;
    assert_eq!(effects[0]["callback"], "withheld");
}
