//! Router tests of the SMS rate limits: the one charged is the one who causes the SMS, a
//! citizen filing (by the token's `sub`). Filings that name a victim's mobile number spend the
//! filer's budget, never the victim's: the victim's own filing, the officer's task completion
//! and the admin's cancellation of the victim's case go through; a repeat under the same
//! `Idempotency-Key` is not charged.

use daftar_testkit::router as support;

use std::num::NonZeroU32;

use axum::body::Body;
use axum::http::StatusCode;
use daftar_api::RateLimits;
use daftar_api::auth::Role;
use serde_json::{Value, json};
use support::{Harness, Options};

const AGENCY: &str = "test-agency";
const VICTIM_MOBILE: &str = "09121234567";

async fn harness(per_filer: u32) -> Harness {
    let source = support::fixture("desk-review-sms.yaml");
    Harness::with(Options {
        examples: vec![],
        sources: vec![source],
        answers: json!({}),
        limits: RateLimits {
            per_agency_per_minute: NonZeroU32::new(1000).unwrap(),
            per_filer_per_hour: NonZeroU32::new(per_filer).unwrap(),
        },
        workers: false,
    })
    .await
}

fn token(h: &Harness, subject: &str, roles: &[Role], task_roles: &[&str]) -> String {
    h.token_for(subject, AGENCY, roles, task_roles)
}

fn filing(mobile: &str) -> Value {
    json!({"service": "desk-review-sms", "input": {"national_id": "0499370899", "mobile": mobile}})
}

async fn file(h: &Harness, token: &str, mobile: &str, key: Option<&str>) -> (StatusCode, Value) {
    let mut req = Harness::post_builder("/api/v1/requests", token);
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    h.send(req.body(Body::from(filing(mobile).to_string())).unwrap())
        .await
}

#[tokio::test]
async fn filings_with_a_victims_mobile_spend_the_filers_budget_and_never_lock_the_victims_case() {
    let h = harness(3).await;
    let victim = token(&h, "victim", &[Role::Citizen], &[]);
    let attacker = token(&h, "attacker", &[Role::Citizen], &[]);
    let (status, case) = file(&h, &victim, VICTIM_MOBILE, None).await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    let (status, second) = file(&h, &victim, VICTIM_MOBILE, None).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");

    // The attacker spends their own budget, whatever number they name.
    for _ in 0..3 {
        let (status, body) = file(&h, &attacker, VICTIM_MOBILE, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for mobile in [VICTIM_MOBILE, "09351234567"] {
        let (status, body) = file(&h, &attacker, mobile, None).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(body["code"], "rate-limited");
    }

    // The victim still files, the officer still works the case, the admin still cancels.
    let (status, body) = file(&h, &victim, VICTIM_MOBILE, None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = case["id"].as_str().unwrap();
    let task = case["tasks"][0]["id"].as_str().unwrap();
    let clerk = token(&h, "clerk-1", &[Role::Officer], &["clerk"]);
    let (status, body) = h
        .post(
            &format!("/api/v1/requests/{id}/tasks/{task}/complete"),
            &clerk,
            json!({"outcome": "approve", "form": {"documents_ok": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let admin = token(&h, "admin-1", &[Role::Admin], &[]);
    let (status, body) = h
        .post(
            &format!("/api/v1/requests/{}/cancel", second["id"].as_str().unwrap()),
            &admin,
            json!({"reason": "filed twice"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_repeat_under_the_same_key_is_not_charged() {
    let h = harness(2).await;
    let citizen = token(&h, "portal-user", &[Role::Citizen], &[]);
    let (status, first) = file(&h, &citizen, VICTIM_MOBILE, Some("portal-9")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, _) = file(&h, &citizen, VICTIM_MOBILE, None).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = file(&h, &citizen, VICTIM_MOBILE, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // The budget is spent, but a retry of the first filing sends nothing and is answered.
    let (status, again) = file(&h, &citizen, VICTIM_MOBILE, Some("portal-9")).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["duplicate"], true);
}
