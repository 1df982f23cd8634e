//! The service report over HTTP: requests decided with no person count as smart, a request an
//! officer decided does not, and the share is smart over completed; only admins and auditors
//! read it, each of their own agency.

use daftar_testkit::router as support;

use axum::body::Body;
use axum::http::StatusCode;
use daftar_api::auth::Role;
use serde_json::{Value, json};
use support::{Harness, Options, answered};

const DESK_REVIEW: &str = include_str!("fixtures/desk-review.yaml");

/// Files `service` with `input` and waits for it to come to rest.
async fn file(h: &Harness, service: &str, input: Value) -> Value {
    let citizen = h.token("judiciary", &[Role::Citizen], &[]);
    let req = Harness::post_builder("/api/v1/requests", &citizen)
        .header("prefer", "wait=10")
        .body(Body::from(
            json!({"service": service, "input": input}).to_string(),
        ))
        .unwrap();
    answered(h.send(req).await, StatusCode::CREATED)
}

fn service<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == id)
        .unwrap_or_else(|| panic!("{id} is not in {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_share_counts_requests_decided_with_no_person() {
    let h = Harness::with(Options {
        sources: vec![DESK_REVIEW.to_owned()],
        ..Options::default()
    })
    .await;
    let clean = json!({"national_id": "0499370899", "mobile": "09121234567",
        "birth_date": "1990-01-01", "purpose": "employment"});
    for _ in 0..2 {
        assert_eq!(
            file(&h, "clean-record-certificate", clean.clone()).await["state"],
            "issued"
        );
    }
    let desk = json!({"national_id": "0499370899", "mobile": "09121234567"});
    let decided = file(&h, "desk-review", desk.clone()).await;
    let waiting = file(&h, "desk-review", desk).await;
    assert_eq!(waiting["state"], "running");
    // An officer approves one of the desk reviews.
    let id = decided["id"].as_str().unwrap();
    let task = decided["tasks"][0]["id"].as_str().unwrap();
    let officer = h.token("judiciary", &[Role::Officer], &["clerk"]);
    let done = answered(
        h.post(
            &format!("/api/v1/requests/{id}/tasks/{task}/complete"),
            &officer,
            json!({"outcome": "approve", "form": {}}),
        )
        .await,
        StatusCode::OK,
    );
    h.wait_for("judiciary", done["id"].as_str().unwrap(), |v| {
        v["state"] == "approved"
    })
    .await;

    let auditor = h.token("judiciary", &[Role::Auditor], &[]);
    let report = answered(
        h.get("/api/v1/reports/services", &auditor).await,
        StatusCode::OK,
    );
    assert_eq!(report["agency"], "judiciary");
    let clean = service(&report, "clean-record-certificate");
    assert_eq!(clean["filed"], 2, "{report}");
    assert_eq!(clean["completed"], 2);
    assert_eq!(clean["smart"], 2);
    assert_eq!(clean["share"], 1.0);
    assert!(
        clean["decision_p50_seconds"]
            .as_f64()
            .is_some_and(|s| (0.0..10.0).contains(&s))
    );
    let desk = service(&report, "desk-review");
    assert_eq!(
        (desk["filed"].as_u64(), desk["completed"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(desk["running"], 1);
    assert_eq!(desk["smart"], 0, "{report}");
    assert_eq!(desk["share"], 0.0);
    assert_eq!(report["total"]["service"], "*");
    assert_eq!(report["total"]["filed"], 4);
    assert_eq!(report["total"]["smart"], 2);
    assert!((report["total"]["share"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);

    // A period before anything was filed is empty.
    let empty = answered(
        h.get("/api/v1/reports/services?to=2020-01-01T00:00:00Z", &auditor)
            .await,
        StatusCode::OK,
    );
    assert_eq!(empty["total"]["filed"], 0);
    assert_eq!(empty["total"]["share"], Value::Null);
    let (status, _) = h
        .get(
            "/api/v1/reports/services?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            &auditor,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Another agency's auditor sees none of it; an officer may not read the report.
    let stranger = h.token("municipality", &[Role::Auditor], &[]);
    let theirs = answered(
        h.get("/api/v1/reports/services", &stranger).await,
        StatusCode::OK,
    );
    assert_eq!(theirs["total"]["filed"], 0, "{theirs}");
    let (status, _) = h.get("/api/v1/reports/services", &officer).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
