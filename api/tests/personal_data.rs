//! Personal data is what the service's schemas declare personal, not only the applicant's own:
//! in a judicial asset freeze the judge files (the applicant) against a debtor, and an auditor
//! sees the debtor's national ID masked in the request, its state and every event of its
//! history, while an admin sees it whole. And a whole number beyond what daftar keeps exactly
//! is refused, not rounded.

use daftar_testkit::router as support;

use axum::http::{Method, StatusCode};
use daftar_api::auth::Role;
use serde_json::{Value, json};
use support::{Harness, Options};

const DEBTOR: &str = "0790419904";
const JUDGE: &str = "0499370899";

fn order() -> Value {
    json!({
        "case_number": "1403682910000417", "order_number": "140309870001234",
        "debtor_national_id": DEBTOR, "amount": 8500000000u64,
        "judge_national_id": JUDGE, "judge_mobile": "09121234567"
    })
}

async fn freeze() -> Harness {
    Harness::with(Options {
        examples: vec!["judicial-asset-freeze.yaml"],
        answers: json!({}),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn auditors_see_a_debtors_national_id_masked_everywhere() {
    let h = freeze().await;
    let officer = h.token("judiciary", &[Role::Officer], &[]);
    let (status, filed) = h
        .post(
            "/api/v1/requests",
            &officer,
            json!({"service": "judicial-asset-freeze", "input": order()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    let id = filed["id"].as_str().unwrap().to_owned();
    // Let the inquiries about the debtor be asked (and refused: no agency answers here).
    let admin = h.token("judiciary", &[Role::Admin], &[]);
    h.wait_for("judiciary", &id, |v| {
        !v["incidents"].as_array().unwrap().is_empty() || v["state"] != "running"
    })
    .await;
    let (_, history) = h
        .get(&format!("/api/v1/requests/{id}/history"), &admin)
        .await;
    let whole = history.to_string();
    assert!(
        whole.matches(DEBTOR).count() >= 2,
        "the admin sees it: {whole}"
    );

    let auditor = h.token("judiciary", &[Role::Auditor], &[]);
    for uri in [
        format!("/api/v1/requests/{id}"),
        format!("/api/v1/requests/{id}/history"),
        format!("/api/v1/requests/{id}/state"),
    ] {
        let (status, body) = h.get(&uri, &auditor).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        let text = body.to_string();
        assert!(
            !text.contains(DEBTOR),
            "{uri} shows the debtor's ID: {text}"
        );
        assert!(!text.contains(JUDGE), "{uri} shows the judge's ID: {text}");
        assert!(text.contains("********04"), "{uri}: {text}");
    }
}

#[tokio::test]
async fn a_whole_number_beyond_exact_range_is_refused_not_rounded() {
    let h = freeze().await;
    let officer = h.token("judiciary", &[Role::Officer], &[]);
    let input = order()
        .to_string()
        .replace("8500000000", "85000000000000000000000");
    let body = format!(r#"{{"service": "judicial-asset-freeze", "input": {input}}}"#);
    let (status, problem) = h
        .call_text(
            Method::POST,
            "/api/v1/requests",
            Some(&officer),
            "application/json",
            body,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("/amount"),
        "{problem}"
    );
    // The largest exact whole numbers pass.
    let mut input = order();
    input["amount"] = json!(9_007_199_254_740_992u64);
    let (status, body) = h
        .post(
            "/api/v1/requests",
            &officer,
            json!({"service": "judicial-asset-freeze", "input": input}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
