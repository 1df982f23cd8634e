//! Erasing an applicant over the API: only the agency's administrator, only with an authority,
//! only once every request of the applicant has ended, and never another agency's; afterwards
//! the request's view answers 410 while its audit history still shows where it went.

use std::sync::Arc;

use daftar_testkit::router as support;

use axum::http::StatusCode;
use daftar_api::auth::Role;
use daftar_engine::privacy::Keyring;
use serde_json::json;
use support::Harness;

const NATIONAL_ID: &str = "0499370899";

async fn with_keyring(dir: &std::path::Path) -> Harness {
    let h = Harness::new().await;
    let keyring = Keyring::open(&dir.join("keys.db")).await.unwrap();
    h.engine.use_keyring(Arc::new(keyring));
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administrator_erases_an_applicant_and_their_request_is_gone_but_its_history_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let h = with_keyring(dir.path()).await;
    let zahra = h.token_for("zahra", "judiciary", &[Role::Citizen], &[]);
    let filed = h.filed_clean_record_as(&zahra).await;
    let id = filed["id"].as_str().unwrap().to_owned();
    let admin = h.token("judiciary", &[Role::Admin], &[]);
    let erasure = format!("/api/v1/requests/{id}/erasure");
    let order = json!({"authority": "court order 1405/77, Tehran"});

    // Who may not, and what is refused.
    let officer = h.token("judiciary", &[Role::Officer], &["clerk"]);
    let (status, body) = h.post(&erasure, &officer, order.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let stranger = h.token("registry", &[Role::Admin], &[]);
    let (status, body) = h.post(&erasure, &stranger, order.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = h.post(&erasure, &admin, json!({"authority": " "})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "bad-body");

    let issued = h
        .wait_for("judiciary", &id, |v| v["state"] == "issued")
        .await;
    let document = issued["document_id"].as_str().unwrap().to_owned();
    // The harness runs no SMS gateway: the SMS waits for one, and so does the erasure.
    let (status, body) = h.post(&erasure, &admin, order.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "not-allowed", "{body}");
    let stream = daftar_engine::events::StreamId {
        agency: "judiciary".into(),
        instance: id.clone(),
    };
    daftar_testkit::harness::settle_sms(&h.engine, &stream).await;
    let (status, body) = h.post(&erasure, &admin, order.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["requests"], json!([id]));
    assert_eq!(body["now"], true);

    let (status, body) = h.get(&format!("/api/v1/requests/{id}"), &admin).await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    assert_eq!(body["code"], "erased");
    let (status, body) = h.get(&format!("/api/v1/requests/{id}"), &zahra).await;
    assert_ne!(status, StatusCode::OK, "{body}");

    let auditor = h.token("judiciary", &[Role::Auditor], &[]);
    let (status, history) = h
        .get(&format!("/api/v1/requests/{id}/history"), &auditor)
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let text = history.to_string();
    assert!(!text.contains(NATIONAL_ID), "{text}");
    assert!(text.contains("ApplicantErased"), "{text}");
    assert!(text.contains("court order 1405/77, Tehran"), "{text}");

    // The certificate it issued still verifies, with no holder left to show.
    let uri = format!("/api/v1/documents/{document}");
    let (status, document) = h.call(axum::http::Method::GET, &uri, None, None).await;
    assert_eq!(status, StatusCode::OK, "{document}");
    assert_eq!(document["status"], "valid", "{document}");
    assert_eq!(
        document["service"], "clean-record-certificate",
        "{document}"
    );
    assert_eq!(document["holder"], "", "{document}");

    // Asked again: the same erasure, not a new one.
    let (status, body) = h.post(&erasure, &admin, order).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["now"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_a_keyring_refuses_an_erasure() {
    let h = Harness::new().await;
    let zahra = h.token_for("zahra", "judiciary", &[Role::Citizen], &[]);
    let filed = h.filed_clean_record_as(&zahra).await;
    let id = filed["id"].as_str().unwrap().to_owned();
    h.wait_for("judiciary", &id, |v| v["state"] == "issued")
        .await;
    let admin = h.token("judiciary", &[Role::Admin], &[]);
    let (status, body) = h
        .post(
            &format!("/api/v1/requests/{id}/erasure"),
            &admin,
            json!({"authority": "court order"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "no-keyring");
}
