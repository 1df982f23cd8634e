//! A request's receipt in the desk, through its router: the applicant who filed it and the
//! agency's auditors get the printable page, checked against the signed checkpoint with the
//! agency's key, and the file `daftar verify-receipt` checks; an officer, another citizen and
//! another agency's auditor do not; the page shows no personal data, the file does.

mod common;

use axum::Router;
use axum::http::{StatusCode, header};
use daftar_api::auth::Role;
use daftar_engine::audit::checkpoint;
use daftar_engine::audit::receipt::{Receipt, verify_receipt};
use daftar_testkit::router::{Harness, checkpoint_key};

const NATIONAL_ID: &str = "0499370899";

/// A page as the holder of `token` (the desk's session cookie is the token itself): its
/// status, its `Content-Disposition` and its body.
async fn get(app: &Router, path: &str, token: &str) -> (StatusCode, Option<String>, String) {
    let req = common::get(path, &format!("daftar_session={token}"));
    let (status, headers, body) = common::send(app, req).await;
    let disposition = headers
        .get(header::CONTENT_DISPOSITION)
        .map(|v| v.to_str().unwrap().to_owned());
    (status, disposition, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_applicant_and_auditors_get_a_receipt_checked_against_the_signed_checkpoint() {
    let h = Harness::new().await;
    let app = common::desk(&h, None);
    let citizen = h.token("judiciary", &[Role::Citizen], &[]);
    let filed = h.issued_clean_record(&citizen).await;
    let id = filed["id"].as_str().unwrap().to_owned();
    let page_path = format!("/requests/{id}/receipt");

    // Before any checkpoint: the page says so, and checks nothing.
    let (status, _, page) = get(&app, &page_path, &citizen).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"no-checkpoint\""), "{page}");
    assert!(!page.contains("id=\"checked\""), "{page}");

    let store = h.engine.store();
    let until = store.settled_position().await.unwrap();
    let taken = checkpoint::take(store, &checkpoint_key(), "judiciary", until)
        .await
        .unwrap()
        .expect("a checkpoint of the request's events");

    for (who, token) in [
        ("the applicant", citizen.clone()),
        ("an auditor", h.token("judiciary", &[Role::Auditor], &[])),
    ] {
        let (status, _, page) = get(&app, &page_path, &token).await;
        assert_eq!(status, StatusCode::OK, "{who}: {page}");
        assert!(page.contains("class=\"ok\""), "{who}: checked: {page}");
        assert!(page.contains(&taken.root), "{who}: the signed root");
        assert!(page.contains("InstanceCompleted"), "{who}: {page}");
        assert!(
            !page.contains(NATIONAL_ID),
            "{who}: no personal data on the page"
        );

        let (status, disposition, file) = get(&app, &format!("{page_path}.json"), &token).await;
        assert_eq!(status, StatusCode::OK, "{who}: {file}");
        assert!(
            disposition.is_some_and(|d| d.starts_with("attachment;")),
            "{who}: a file to keep"
        );
        let receipt: Receipt = serde_json::from_str(&file).unwrap();
        let report = verify_receipt(&receipt, &checkpoint_key().verifying_key()).unwrap();
        assert_eq!(report.covered, report.events, "{who}: every event signed");
        assert!(
            file.contains(NATIONAL_ID),
            "the file holds what the hashes cover"
        );
    }

    // Neither an officer, nor another citizen, nor another agency's auditor.
    for (who, token, expected) in [
        (
            "an officer",
            h.token("judiciary", &[Role::Officer], &["clerk"]),
            StatusCode::FORBIDDEN,
        ),
        (
            "another citizen",
            h.token_for("someone-else", "judiciary", &[Role::Citizen], &[]),
            StatusCode::NOT_FOUND,
        ),
        (
            "another agency's auditor",
            h.token("municipality", &[Role::Auditor], &[]),
            StatusCode::NOT_FOUND,
        ),
    ] {
        for path in [page_path.clone(), format!("{page_path}.json")] {
            let (status, _, body) = get(&app, &path, &token).await;
            assert_eq!(status, expected, "{who}: {path}: {body}");
            assert!(!body.contains(NATIONAL_ID), "{who}");
        }
    }
}
