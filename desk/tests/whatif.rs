//! The designer's what-if in the desk, through its router: the applicant verification with its
//! Shahkar condition removed, run against a recorded request that the condition refused, names
//! that request and why it would now go another way; the deployed definition itself changes
//! nothing; a service never deployed has nothing to run; an officer cannot ask.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use daftar_api::auth::Role;
use daftar_testkit::router::{Harness, Options, root};
use serde_json::json;
use tower::ServiceExt;

const PORTAL: &str = "national-permits-portal";

fn verification() -> String {
    std::fs::read_to_string(root().join("examples/workflows/applicant-verification.yaml")).unwrap()
}

async fn call(app: &Router, req: Request<Body>) -> (StatusCode, Vec<String>, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let body = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, cookies, String::from_utf8_lossy(&body).into_owned())
}

/// Posts the editor's form with `source` to the what-if, as the holder of `token`.
async fn what_if(app: &Router, token: &str, source: &str) -> (StatusCode, String) {
    let (_, cookies, _) = call(app, Request::get("/").body(Body::empty()).unwrap()).await;
    let jar = format!("{}; daftar_session={token}", cookies[0]);
    let (_, _, page) = call(
        app,
        Request::get("/designer/edit")
            .header(header::COOKIE, &jar)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let at = page.find("name=\"csrf\" value=\"").expect("a form") + 19;
    let csrf = &page[at..at + page[at..].find('"').unwrap()];
    let body = format!("csrf={csrf}&source={}", url_encode(source));
    let (status, _, page) = call(
        app,
        Request::post("/designer/what-if")
            .header(header::COOKIE, &jar)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
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
    let h = Harness::with(Options {
        examples: vec!["applicant-verification.yaml"],
        answers: json!({
            "civil_registry.identity_match":
                {"matched": true, "is_alive": true, "first_name": "Sara", "last_name": "Ahmadi"},
            "shahkar.mobile_ownership": {"matched": false},
        }),
        ..Options::default()
    })
    .await;
    let app = common::desk(&h, None);
    let citizen = h.token(PORTAL, &[Role::Citizen], &[]);
    let (status, filed) = h
        .post(
            "/api/v1/requests",
            &citizen,
            json!({"service": "applicant-verification", "input":
                {"national_id": "0790419904", "mobile": "09131234567", "birth_date": "1985-07-14"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    let id = filed["id"].as_str().unwrap().to_owned();
    h.wait_for(PORTAL, &id, |v| v["state"] == "rejected").await;
    let code = filed["tracking_code"].as_str().unwrap();

    let designer = h.token(PORTAL, &[Role::Designer], &[]);
    let (status, page) = what_if(&app, &designer, &verification()).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"what-if-summary\""), "{page}");
    assert!(
        !page.contains("id=\"what-if-findings\""),
        "nothing differs: {page}"
    );

    let v1 = verification();
    let v2 = v1.replacen("version: 1", "version: 2", 1).replacen(
        "        - when: \"!mobile_owned\"\n          next: not_verified\n          reason: The mobile number is not registered to this national ID in Shahkar.\n",
        "",
        1,
    );
    assert_ne!(v1, v2, "the edit applies");
    let (status, page) = what_if(&app, &designer, &v2).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"what-if-findings\""), "{page}");
    assert!(
        page.contains(code),
        "the request that would go another way: {page}"
    );

    // A service never deployed has nothing to run.
    let new = v1.replacen(
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
