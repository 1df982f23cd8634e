//! A workflow that says `triggers.request: false` (a scheduled batch) cannot be filed: the API
//! refuses it with a problem, and nothing starts (no SMS goes to anyone).

use daftar_testkit::router as support;

use axum::http::StatusCode;
use daftar_api::auth::Role;
use serde_json::json;
use support::{Harness, Options};

#[tokio::test]
async fn a_workflow_that_takes_no_requests_cannot_be_filed() {
    let h = Harness::with(Options {
        examples: vec!["licence-renewal-reminders.yaml"],
        ..Options::default()
    })
    .await;
    let body = json!({
        "service": "licence-renewal-reminders",
        "input": { "licence_type": "home_business", "expiring_within_days": 30, "max_reminders": 2 }
    });
    for roles in [[Role::Citizen], [Role::Officer]] {
        let token = h.token("mcls", &roles, &[]);
        let (status, problem) = h.post("/api/v1/requests", &token, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
        assert_eq!(problem["code"], "not-requestable", "{problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("triggers.request: false"), "{detail}");
    }
    let streams = h.engine.store().streams().await.unwrap();
    assert!(streams.is_empty(), "nothing started: {streams:?}");
}

/// Not a trigger, but the other refusal at filing: a form with several mistakes is answered
/// with every one of them, each with its place, so the citizen mends it once.
#[tokio::test]
async fn an_invalid_application_is_answered_with_every_error_and_its_place() {
    let h = Harness::new().await;
    let citizen = h.token("judiciary", &[Role::Citizen], &[]);
    let body = json!({
        "service": "clean-record-certificate",
        "input": { "national_id": "0499370898", "mobile": "9121234567", "birth_date": "1990-01-01" }
    });
    let (status, problem) = h.post("/api/v1/requests", &citizen, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["code"], "invalid-input");
    let mut pointers: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{problem}"))
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    pointers.sort_unstable();
    assert_eq!(pointers, ["", "/mobile", "/national_id"], "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("/national_id") && detail.contains("/mobile") && detail.contains("purpose"),
        "{detail}"
    );
    // Each also in Persian, for the citizen.
    let persian = |pointer: &str| {
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["pointer"] == pointer)
            .and_then(|e| e["detail_fa"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        persian("/national_id").contains("کد ملی درست نیست"),
        "{problem}"
    );
    assert!(persian("/mobile").contains("شمارهٔ همراه"), "{problem}");
    assert!(persian("").contains("«purpose»"), "{problem}");
}
