//! File and wait (`Prefer: wait=N`, RFC 7240): a smart service answers the citizen in the
//! same call with its ending; a request that comes to rest at a person answers as soon as it
//! does, not when the wait runs out; without the preference nothing waits.

use daftar_testkit::router as support;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::StatusCode;
use daftar_api::auth::Role;
use serde_json::{Value, json};
use support::{Harness, Options};

/// One officer's task as the first step: the request rests at a person at once.
const DESK_REVIEW: &str = include_str!("fixtures/desk-review.yaml");

async fn file(
    h: &Harness,
    body: Value,
    prefer: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let citizen = h.token("judiciary", &[Role::Citizen], &[]);
    let mut req = Harness::post_builder("/api/v1/requests", &citizen);
    if let Some(p) = prefer {
        req = req.header("prefer", p);
    }
    let req = req.body(Body::from(body.to_string())).unwrap();
    let res = tower::ServiceExt::oneshot(h.app.clone(), req)
        .await
        .unwrap();
    let status = res.status();
    let applied = daftar_testkit::router::header(&res, "preference-applied");
    (
        status,
        applied,
        daftar_testkit::router::json_body(res).await,
    )
}

/// A harness with only the desk review deployed, and a request of it.
async fn desk_review() -> (Harness, Value) {
    let h = Harness::with(Options {
        examples: vec![],
        sources: vec![DESK_REVIEW.to_owned()],
        answers: json!({}),
        ..Options::default()
    })
    .await;
    let body = json!({"service": "desk-review", "input": {
        "national_id": "0499370899", "mobile": "09121234567"}});
    (h, body)
}

fn clean_record() -> Value {
    json!({"service": "clean-record-certificate", "input": {
        "national_id": "0499370899", "mobile": "09121234567",
        "birth_date": "1990-01-01", "purpose": "employment"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_smart_service_answers_with_its_ending_in_the_same_call() {
    let h = Harness::new().await;
    let (status, applied, body) = file(&h, clean_record(), Some("wait=10")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(applied.as_deref(), Some("wait=10"));
    assert_eq!(body["state"], "issued", "{body}");
    assert_eq!(body["status"], "issued", "{body}");
    // A wait longer than the most the server grants is cut to it.
    let (_, applied, _) = file(&h, clean_record(), Some("respond-async, wait=600")).await;
    assert_eq!(applied.as_deref(), Some("wait=30"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_at_rest_at_a_person_answers_at_once_and_without_the_preference_nothing_waits() {
    let (h, body) = desk_review().await;
    let began = Instant::now();
    let (status, applied, view) = file(&h, body.clone(), Some("wait=20")).await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    assert_eq!(applied.as_deref(), Some("wait=20"));
    assert_eq!(view["state"], "running", "{view}");
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "a task is rest: the answer did not wait out the 20 s"
    );
    let (status, applied, _) = file(&h, body, None).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(applied, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officers_completion_answers_with_where_the_request_comes_to_rest() {
    let (h, body) = desk_review().await;
    let (_, _, filed) = file(&h, body, Some("wait=5")).await;
    let id = filed["id"].as_str().unwrap();
    let task = filed["tasks"][0]["id"].as_str().expect("a task").to_owned();
    let officer = h.token("judiciary", &[Role::Officer], &["clerk"]);
    let uri = format!("/api/v1/requests/{id}/tasks/{task}/complete");
    let req = Harness::post_builder(&uri, &officer)
        .header("prefer", "wait=10")
        .body(Body::from(
            json!({"outcome": "approve", "form": {}}).to_string(),
        ))
        .unwrap();
    let res = tower::ServiceExt::oneshot(h.app.clone(), req)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["preference-applied"], "wait=10");
    let view = daftar_testkit::router::json_body(res).await;
    assert_eq!(view["state"], "approved", "{view}");
}
