//! Status changes pushed to the national follow-up system (played by the simulator over real
//! HTTP): every status change of a request arrives as a signed CloudEvent, in order, once after
//! dropping repeats by id, even when the receiver fails in between; a receiver's failure never
//! holds the request back; a replay sends them again; a revoked document is pushed with its
//! reason; only admins subscribe, each to their own agency.

use std::time::Duration;

use daftar_testkit::router::{Harness, answered};
use daftar_testkit::simulator;

use axum::http::StatusCode;
use daftar_api::auth::Role;
use serde_json::{Value, json};

/// The simulator, the API, and a token of the judiciary's admin.
async fn started() -> (String, Harness, String) {
    let sim = simulator::start(simulator::quick_config()).await;
    let h = Harness::new().await;
    let admin = h.token("judiciary", &[Role::Admin], &[]);
    (sim, h, admin)
}

/// Subscribes the simulator's follow-up system with `filter` (types, services).
async fn subscribe(h: &Harness, admin: &str, sim: &str, mut filter: Value) -> Value {
    filter["url"] = json!(format!("{sim}/followup/events"));
    answered(
        h.post("/api/v1/subscriptions", admin, filter).await,
        StatusCode::CREATED,
    )
}

/// Waits until the follow-up system holds `n` distinct events.
async fn received(sim: &str, n: usize) -> Value {
    for _ in 0..300 {
        let seen = simulator::get(&format!("{sim}/__sim/followup")).await;
        if seen["events"].as_array().is_some_and(|e| e.len() >= n) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "fewer than {n} events arrived: {}",
        simulator::get(&format!("{sim}/__sim/followup")).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_status_change_reaches_the_follow_up_system_once_in_order_through_failures() {
    let (sim, h, admin) = started().await;
    let made = subscribe(
        &h,
        &admin,
        &sim,
        json!({"services": ["clean-record-certificate"]}),
    )
    .await;
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    // The receiver checks every signature, and refuses the first three deliveries.
    let (status, _) = simulator::put_json(
        &format!("{sim}/__sim/followup"),
        json!({"secret": secret, "fail_next": 3}),
    )
    .await;
    assert_eq!(status, 200);

    // The request goes on while its receiver fails: the certificate is issued at once.
    let citizen = h.token("judiciary", &[Role::Citizen], &[]);
    let filed = h.issued_clean_record(&citizen).await;
    let request = filed["id"].as_str().unwrap();

    // filed, checking, issued (status), completed.
    let seen = received(&sim, 4).await;
    let events = seen["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ir.daftar.request.filed",
            "ir.daftar.request.status_changed",
            "ir.daftar.request.status_changed",
            "ir.daftar.request.completed"
        ],
        "{seen}"
    );
    for e in events {
        assert_eq!(e["specversion"], "1.0");
        assert_eq!(e["subject"], request);
        assert_eq!(e["data"]["tracking_code"], filed["tracking_code"]);
        // No personal data leaves.
        assert!(!e.to_string().contains("0499370899"), "{e}");
    }
    assert_eq!(events[1]["data"]["status"]["id"], "checking");
    assert_eq!(events[2]["data"]["status"]["fa"], "صادر شد");
    assert_eq!(events[3]["data"]["outcome"], "issued");
    assert_eq!(events[3]["data"]["document_id"], filed["document_id"]);
    let positions: Vec<u64> = events
        .iter()
        .map(|e| e["data"]["position"].as_u64().unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    // Three refusals were retried; nothing was accepted twice.
    let refused = simulator::followup_refusals(&seen);
    assert_eq!(refused, 3, "{seen}");

    // The log shows the attempts, refusals included.
    let log = answered(
        h.get(&format!("/api/v1/subscriptions/{id}/deliveries"), &admin)
            .await,
        StatusCode::OK,
    );
    let log = log.as_array().unwrap();
    assert!(
        log.iter().filter(|a| a["status"] == 503).count() == 3,
        "{log:?}"
    );
    assert!(
        log.iter().filter(|a| a["status"] == 204).count() >= 4,
        "{log:?}"
    );

    // A replay from the start sends them again, with the same ids.
    let before = seen["received"].as_array().unwrap().len();
    answered(
        h.post(
            &format!("/api/v1/subscriptions/{id}/replay"),
            &admin,
            json!({"after": 0}),
        )
        .await,
        StatusCode::OK,
    );
    for _ in 0..200 {
        let again = simulator::get(&format!("{sim}/__sim/followup")).await;
        if again["received"].as_array().unwrap().len() >= before + 4 {
            assert_eq!(again["events"].as_array().unwrap().len(), 4, "{again}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_document_reaches_the_follow_up_system_with_its_reason() {
    let (sim, h, admin) = started().await;
    let types = ["ir.daftar.request.completed", "ir.daftar.document.revoked"];
    let made = subscribe(&h, &admin, &sim, json!({"types": types})).await;
    let (status, _) = simulator::put_json(
        &format!("{sim}/__sim/followup"),
        json!({"secret": made["secret"]}),
    )
    .await;
    assert_eq!(status, 200);
    let citizen = h.token("judiciary", &[Role::Citizen], &[]);
    let filed = h.issued_clean_record(&citizen).await;
    let document = filed["document_id"].as_str().unwrap().to_owned();
    let officer = h.token("judiciary", &[Role::Officer], &[]);
    let reason = "issued on a forged national card";
    answered(
        h.post(
            &format!("/api/v1/documents/{document}/revoke"),
            &officer,
            json!({"reason": reason}),
        )
        .await,
        StatusCode::OK,
    );

    let seen = received(&sim, 2).await;
    let events = seen["events"].as_array().unwrap();
    assert_eq!(events[0]["type"], "ir.daftar.request.completed", "{seen}");
    let revoked = &events[1];
    assert_eq!(revoked["type"], "ir.daftar.document.revoked", "{seen}");
    assert_eq!(revoked["subject"], filed["id"]);
    assert_eq!(revoked["data"]["document_id"], document.as_str());
    assert_eq!(revoked["data"]["reason"], reason);
    assert!(revoked["data"]["revoked_at"].is_string(), "{revoked}");
    assert!(!revoked.to_string().contains("0499370899"), "{revoked}");
}

#[tokio::test]
async fn only_admins_subscribe_and_bad_subscriptions_are_refused() {
    let h = Harness::new().await;
    let admin = h.token("judiciary", &[Role::Admin], &[]);
    for (body, why) in [
        (json!({"url": "ftp://example.org/x"}), "http"),
        (json!({"url": "not a url"}), "URL"),
        (
            json!({"url": "http://127.0.0.1:9/x", "types": ["ir.daftar.nope"]}),
            "not a type",
        ),
        (
            json!({"url": "http://127.0.0.1:9/x", "secret": "whsec_***"}),
            "base64",
        ),
    ] {
        let (status, problem) = h.post("/api/v1/subscriptions", &admin, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(why),
            "{problem}"
        );
    }
    let officer = h.token("judiciary", &[Role::Officer], &["clerk"]);
    let (status, _) = h
        .post(
            "/api/v1/subscriptions",
            &officer,
            json!({"url": "http://127.0.0.1:9/x"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let made = answered(
        h.post(
            "/api/v1/subscriptions",
            &admin,
            json!({"url": "http://127.0.0.1:9/x"}),
        )
        .await,
        StatusCode::CREATED,
    );
    let id = made["id"].as_str().unwrap();
    // The list never shows the secret; another agency's admin sees none of it.
    let list = answered(h.get("/api/v1/subscriptions", &admin).await, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("secret").is_none(), "{list}");
    let stranger = h.token("municipality", &[Role::Admin], &[]);
    let theirs = answered(
        h.get("/api/v1/subscriptions", &stranger).await,
        StatusCode::OK,
    );
    assert_eq!(theirs, json!([]));
    let (status, _) = h
        .get(&format!("/api/v1/subscriptions/{id}/deliveries"), &stranger)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let uri = format!("/api/v1/subscriptions/{id}");
    for (token, expected) in [
        (&stranger, StatusCode::NOT_FOUND),
        (&admin, StatusCode::NO_CONTENT),
    ] {
        let (status, _) = h
            .call(axum::http::Method::DELETE, &uri, Some(token), None)
            .await;
        assert_eq!(status, expected);
    }
}
