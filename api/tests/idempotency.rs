//! Router tests of `Idempotency-Key`: a key is the caller's own (another citizen sending the
//! same key files their own request and never sees the first applicant's) and is bound to the
//! request it was first sent with (the same key with another body is refused with 422), for
//! filings, task commands and cancellations alike.

use daftar_testkit::router as support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use daftar_api::auth::Role;
use serde_json::{Value, json};
use support::{Harness, Options};

const AGENCY: &str = "test-agency";

async fn harness() -> Harness {
    let source = support::fixture("desk-review-sms.yaml");
    Harness::with(Options {
        examples: vec![],
        sources: vec![source],
        answers: json!({}),
        workers: false,
        ..Options::default()
    })
    .await
}

fn token(h: &Harness, subject: &str, roles: &[Role], task_roles: &[&str]) -> String {
    h.token_for(subject, AGENCY, roles, task_roles)
}

async fn post(h: &Harness, uri: &str, token: &str, key: &str, body: Value) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(Body::from(body.to_string()))
        .unwrap();
    h.send(req).await
}

fn filing(national_id: &str, mobile: &str) -> Value {
    json!({"service": "desk-review-sms", "input": {"national_id": national_id, "mobile": mobile}})
}

#[tokio::test]
async fn a_filing_key_is_the_callers_own_and_bound_to_the_body() {
    let h = harness().await;
    let first = token(&h, "citizen-a", &[Role::Citizen], &[]);
    let second = token(&h, "citizen-b", &[Role::Citizen], &[]);
    let a = filing("0499370899", "09121234567");
    let b = filing("0790419904", "09351234567");
    let (status, mine) = post(&h, "/api/v1/requests", &first, "portal-1", a.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");

    // Another citizen, the same key, another body: their own request, nothing of the first.
    let (status, theirs) = post(&h, "/api/v1/requests", &second, "portal-1", b.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{theirs}");
    assert_ne!(theirs["id"], mine["id"]);
    assert_ne!(theirs["tracking_code"], mine["tracking_code"]);
    assert_ne!(theirs["duplicate"], true);
    let officer = token(&h, "clerk-1", &[Role::Officer], &["clerk"]);
    let (_, seen) = h
        .get(
            &format!("/api/v1/requests/{}", theirs["id"].as_str().unwrap()),
            &officer,
        )
        .await;
    assert_eq!(seen["input"]["national_id"], "0790419904");

    // The first citizen's retry is the first request; the same key with another body is not.
    let (status, again) = post(&h, "/api/v1/requests", &first, "portal-1", a).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        (&again["id"], &again["duplicate"]),
        (&mine["id"], &json!(true))
    );
    let (status, reused) = post(&h, "/api/v1/requests", &first, "portal-1", b).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reused}");
    assert_eq!(reused["code"], "idempotency-key-reused");
    assert!(!reused.to_string().contains(mine["id"].as_str().unwrap()));
}

#[tokio::test]
async fn task_and_cancel_keys_are_the_callers_own_and_bound_to_the_command() {
    let h = harness().await;
    let citizen = token(&h, "citizen-a", &[Role::Citizen], &[]);
    let alice = token(&h, "alice", &[Role::Officer], &["clerk"]);
    let bob = token(&h, "bob", &[Role::Officer], &["clerk"]);
    let (_, filed) = post(
        &h,
        "/api/v1/requests",
        &citizen,
        "f-1",
        filing("0499370899", "09121234567"),
    )
    .await;
    let id = filed["id"].as_str().unwrap();
    let task = filed["tasks"][0]["id"].as_str().unwrap();
    let complete = format!("/api/v1/requests/{id}/tasks/{task}/complete");
    let approve = json!({"outcome": "approve", "form": {"documents_ok": true}});
    let reject = json!({"outcome": "reject", "form": {"documents_ok": false}});

    let (status, done) = post(&h, &complete, &alice, "desk-7", approve.clone()).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (status, again) = post(&h, &complete, &alice, "desk-7", approve.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["version"], done["version"]);
    // The same key with another completion is refused, not answered as if it had been done.
    let (status, reused) = post(&h, &complete, &alice, "desk-7", reject).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reused}");
    assert_eq!(reused["code"], "idempotency-key-reused");
    // Another officer's same key is their own command: the task is closed.
    let (status, other) = post(&h, &complete, &bob, "desk-7", approve).await;
    assert_eq!(status, StatusCode::CONFLICT, "{other}");

    // Cancellation: a second request, cancelled under a key; another reason under it is refused.
    let (_, second) = post(
        &h,
        "/api/v1/requests",
        &citizen,
        "f-2",
        filing("0499370899", "09121234567"),
    )
    .await;
    let cancel = format!("/api/v1/requests/{}/cancel", second["id"].as_str().unwrap());
    let admin = token(&h, "admin-1", &[Role::Admin], &[]);
    let (status, body) = post(&h, &cancel, &admin, "c-1", json!({"reason": "filed twice"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = post(&h, &cancel, &admin, "c-1", json!({"reason": "filed twice"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = post(&h, &cancel, &admin, "c-1", json!({"reason": "fraud"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "idempotency-key-reused");
}
