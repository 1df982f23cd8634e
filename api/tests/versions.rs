//! Router tests of drawing a deployed version as an SVG picture and comparing two versions:
//! a removed condition is called out; another agency's designer sees neither.

use daftar_testkit::router as support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use daftar_api::auth::Role;
use support::{Harness, answered, root};
use tower::ServiceExt as _;

const AGENCY: &str = "judiciary";
const SERVICE: &str = "/api/v1/definitions/clean-record-certificate";

/// Version 2 of the example: the identity condition is gone.
fn version_two() -> String {
    let text =
        std::fs::read_to_string(root().join("examples/workflows/clean-record-certificate.yaml"))
            .unwrap()
            .replacen("\nversion: 1\n", "\nversion: 2\n", 1)
            .replacen(
                "        - when: \"!identity_ok\"",
                "        - when: \"false\"",
                1,
            );
    assert!(text.contains("when: \"false\""));
    text
}

async fn with_two_versions() -> (Harness, String) {
    let h = Harness::new().await;
    let designer = h.token(AGENCY, &[Role::Designer], &[]);
    let (status, body) = h
        .call_text(
            Method::POST,
            "/api/v1/definitions",
            Some(&designer),
            "application/yaml",
            version_two(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (h, designer)
}

#[tokio::test]
async fn a_version_is_drawn_as_a_picture() {
    let (h, designer) = with_two_versions().await;
    let req = Request::builder()
        .uri(format!("{SERVICE}/versions/2/graph?format=svg"))
        .header("authorization", format!("Bearer {designer}"))
        .body(Body::empty())
        .unwrap();
    let res = h.app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    let svg = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("id=\"step-s_criminal_record\""),
        "{svg}"
    );

    let (status, body) = h
        .get(&format!("{SERVICE}/versions/2/graph?format=png"), &designer)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn two_versions_are_compared_with_the_removed_condition_called_out() {
    let (h, designer) = with_two_versions().await;
    let diff = answered(
        h.get(&format!("{SERVICE}/diff?from=1&to=2"), &designer)
            .await,
        StatusCode::OK,
    );
    let removed = diff["conditions"]["removed"].as_array().unwrap();
    assert_eq!(removed.len(), 1, "{diff}");
    assert_eq!(removed[0]["step"], "check_identity");
    assert_eq!(removed[0]["when"], "!identity_ok");
    assert_eq!(diff["conditions"]["added"][0]["when"], "false");
    assert_eq!(diff["steps"]["changed"][0], "check_identity");
    assert!(
        diff["source"].as_array().is_some_and(|h| !h.is_empty()),
        "{diff}"
    );

    let (status, _) = h
        .get(&format!("{SERVICE}/diff?from=1&to=9"), &designer)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = h.get(&format!("{SERVICE}/diff?from=x"), &designer).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // By default, the newest version against the one before it.
    let newest = answered(
        h.get(&format!("{SERVICE}/diff"), &designer).await,
        StatusCode::OK,
    );
    assert_eq!(newest, diff);

    // Another agency's designer finds no such service.
    let stranger = h.token("registry", &[Role::Designer], &[]);
    let (status, _) = h
        .get(&format!("{SERVICE}/diff?from=1&to=2"), &stranger)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A citizen may not read definitions.
    let citizen = h.token(AGENCY, &[Role::Citizen], &[]);
    let (status, _) = h
        .get(&format!("{SERVICE}/diff?from=1&to=2"), &citizen)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
