//! Fault injection and run-time configuration: 503s, hangs, garbled answers, `/__sim/config`
//! and `/__sim/reset`.

use daftar_testkit::simulator as common;

use std::time::Duration;

use common::*;
use daftar_simulator::FaultsPatch;
use serde_json::json;

fn with(agency: &str, patch: FaultsPatch) -> daftar_simulator::Config {
    let mut c = quick_config();
    c.agencies.insert(agency.into(), patch);
    c
}

const SHAHKAR: &str = "/agencies/shahkar/mobile_ownership";

fn ownership() -> serde_json::Value {
    json!({ "national_id": "1122334451", "mobile": "09191112233" })
}

/// A simulator whose Shahkar meets every request with the fault that `fault` sets.
async fn shahkar_always(fault: impl FnOnce(&mut FaultsPatch)) -> String {
    let mut patch = FaultsPatch::default();
    fault(&mut patch);
    start(with("shahkar", patch)).await
}

/// Shahkar asked about [`ownership`] under the idempotency key `key`, not yet sent.
fn ask_shahkar(client: &reqwest::Client, base: &str, key: &str) -> reqwest::RequestBuilder {
    client
        .post(format!("{base}{SHAHKAR}"))
        .header("Idempotency-Key", key)
        .json(&ownership())
}

#[tokio::test]
async fn error_rate_one_answers_503_and_records_no_effect() {
    let base = shahkar_always(|p| p.error_rate = Some(1.0)).await;
    let (status, body) = post(&format!("{base}{SHAHKAR}"), "k", ownership()).await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], 503);
    assert_eq!(get(&format!("{base}/__sim/effects")).await, json!([]));
    // Other agencies are unaffected.
    let body = json!({ "postal_code": "1417613151" });
    let (status, _) = ask(&base, "postal_code/address_lookup", "k", body).await;
    assert_eq!(status, 200);
    let requests = get(&format!("{base}/__sim/requests")).await;
    assert_eq!(requests[0]["fault"], "error");
    assert_eq!(requests[0]["status"], 503);
}

#[tokio::test]
async fn timeout_hangs_past_a_short_client_timeout_and_the_retry_replays() {
    let patch = FaultsPatch {
        timeout_rate: Some(1.0),
        timeout_ms: Some(3_000),
        ..Default::default()
    };
    let base = start(with("shahkar", patch)).await;
    let short = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let err = ask_shahkar(&short, &base, "hang")
        .send()
        .await
        .expect_err("times out");
    assert!(err.is_timeout(), "{err}");
    // The agency processed it: one effect, whose answer a retry gets once the fault is gone.
    let effects = get(&format!("{base}/__sim/effects")).await;
    assert_eq!(effects.as_array().map(Vec::len), Some(1));
    client()
        .put(format!("{base}/__sim/config"))
        .json(&quick_config())
        .send()
        .await
        .expect("put");
    let (status, answer) = post(&format!("{base}{SHAHKAR}"), "hang", ownership()).await;
    assert_eq!((status, answer["matched"].clone()), (200, json!(false)));
    assert_eq!(answer, effects[0]["answer"]);
}

#[tokio::test]
async fn malformed_rate_one_answers_invalid_json() {
    let base = shahkar_always(|p| p.malformed_rate = Some(1.0)).await;
    let r = ask_shahkar(&client(), &base, "m")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.expect("text");
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
}

#[tokio::test]
async fn put_config_takes_an_agency_down_and_reset_restores_it() {
    let base = start(quick_config()).await;
    let url = format!("{base}{SHAHKAR}");
    assert_eq!(post(&url, "a", ownership()).await.0, 200);
    let mut config = get(&format!("{base}/__sim/config")).await;
    config["agencies"]["shahkar"] = json!({ "error_rate": 1.0 });
    let r = client()
        .put(format!("{base}/__sim/config"))
        .json(&config)
        .send()
        .await
        .expect("put");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        get(&format!("{base}/__sim/config")).await["agencies"]["shahkar"]["error_rate"],
        1.0
    );
    assert_eq!(post(&url, "b", ownership()).await.0, 503);
    let bad = client()
        .put(format!("{base}/__sim/config"))
        .json(&json!({ "defaults": { "error_rat": 1 } }))
        .send()
        .await
        .expect("put");
    assert_eq!(bad.status().as_u16(), 400);

    client()
        .post(format!("{base}/__sim/reset"))
        .send()
        .await
        .expect("reset");
    assert_eq!(get(&format!("{base}/__sim/requests")).await, json!([]));
    assert_eq!(post(&url, "c", ownership()).await.0, 200);
}

#[tokio::test]
async fn seeded_faults_are_reproducible() {
    let run = || async {
        let patch = FaultsPatch {
            error_rate: Some(0.5),
            ..Default::default()
        };
        let base = start(with("tax", patch)).await;
        let mut statuses = Vec::new();
        for i in 0..12 {
            let key = format!("k{i}");
            let body = json!({ "national_id": "0499370899" });
            statuses.push(ask(&base, "tax/tax_clearance", &key, body).await.0);
        }
        statuses
    };
    let first = run().await;
    assert_eq!(first, run().await);
    assert!(first.contains(&503) && first.contains(&200), "{first:?}");
}
