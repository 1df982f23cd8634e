//! The designer's what-if in the desk, through its router: the applicant verification with its
//! Shahkar condition removed, run against a recorded request that the condition refused, names
//! that request and why it would now go another way; the deployed definition itself changes
//! nothing; a service never deployed has nothing to run; an officer cannot ask.

mod common;

use axum::Router;
use axum::http::StatusCode;
use daftar_api::auth::Role;
use daftar_testkit::router::{
    PORTAL, portal_with_a_refusal, verification, verification_without_shahkar,
};

/// Posts the editor's form with `source` to the what-if, as the holder of `token`.
async fn what_if(app: &Router, token: &str, source: &str) -> (StatusCode, String) {
    let jar = common::signed_in(app, token).await;
    let (_, _, page) = common::send(app, common::get("/designer/edit", &jar)).await;
    let body = format!(
        "csrf={}&source={}",
        common::csrf_of(&page),
        url_encode(source)
    );
    let (status, _, page) = common::send(app, common::form("/designer/what-if", &jar, body)).await;
    (status, page)
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_designer_sees_which_recorded_request_a_new_version_would_send_another_way() {
    let (h, filed) = portal_with_a_refusal().await;
    let app = common::desk(&h, None);
    let code = filed["tracking_code"].as_str().unwrap();

    let designer = h.token(PORTAL, &[Role::Designer], &[]);
    let (status, page) = what_if(&app, &designer, &verification()).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"what-if-summary\""), "{page}");
    assert!(
        !page.contains("id=\"what-if-findings\""),
        "nothing differs: {page}"
    );

    let v2 = verification_without_shahkar();
    let (status, page) = what_if(&app, &designer, &v2).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"what-if-findings\""), "{page}");
    assert!(
        page.contains(code),
        "the request that would go another way: {page}"
    );

    // A service never deployed has nothing to run.
    let new = verification().replacen(
        "id: applicant-verification",
        "id: applicant-verification-two",
        1,
    );
    let (status, page) = what_if(&app, &designer, &new).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"what-if-none\""), "{page}");

    // An officer may not ask.
    let officer = h.token(PORTAL, &[Role::Officer], &[]);
    let (status, _) = what_if(&app, &officer, &v2).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
