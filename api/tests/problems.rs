//! Router tests: every error is an `application/problem+json` problem with a reason, the
//! callbacks' too (bad JSON, a body over the limit, a body that is not JSON, a method a route
//! does not take), and the OpenAPI document says so. `Harness::send` checks each answer
//! against the document and that every error carries a problem body.

use daftar_testkit::router as support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use support::{CALLBACK_SECRET, Harness};
use tower::ServiceExt as _;

const CALLBACK: &str = "/callbacks/inquiries/judiciary/judiciary_records";

fn callback(content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(CALLBACK)
        .header("authorization", format!("Bearer {CALLBACK_SECRET}"))
        .header("idempotency-key", "i-abc:criminal_record:4");
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.body(body.into()).unwrap()
}

#[tokio::test]
async fn callback_errors_are_problems_with_reasons() {
    let h = Harness::new().await;
    let (status, body) = h
        .send(callback(Some("application/json"), "{not json"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "bad-body");
    assert!(body["detail"].as_str().unwrap().len() > 10, "{body}");

    let (status, body) = h.send(callback(None, "{}")).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert_eq!(body["code"], "unsupported-media-type");
    let (status, body) = h.send(callback(Some("text/plain"), "{}")).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");

    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(daftar_api::MAX_BODY + 10));
    let (status, body) = h.send(callback(Some("application/json"), big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], "too-large");
}

#[tokio::test]
async fn unknown_methods_and_paths_are_problems_too() {
    let h = Harness::new().await;
    for (method, uri) in [
        (Method::GET, CALLBACK),
        (Method::DELETE, "/api/v1/requests"),
        (Method::PUT, "/healthz"),
    ] {
        let req = Request::builder()
            .method(method.clone())
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let res = h.app.clone().oneshot(req).await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}"
        );
        assert!(res.headers().contains_key("allow"), "{method} {uri}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let body = daftar_testkit::router::json_body(res).await;
        assert_eq!(body["code"], "method-not-allowed", "{body}");
        assert_eq!(body["status"], 405);
    }
    let (status, body) = h.call(Method::GET, "/nowhere", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn the_document_labels_every_problem_as_problem_json() {
    let doc = serde_json::to_value(daftar_api::openapi::document()).unwrap();
    let mut problems = 0;
    for o in daftar_testkit::router::operations(&doc) {
        let (method, path) = (o.method, o.path);
        for (status, content) in o.contents() {
            for (media, c) in content {
                let is_problem = c["schema"]["$ref"]
                    .as_str()
                    .is_some_and(|r| r.ends_with("/Problem"));
                if is_problem {
                    problems += 1;
                    assert_eq!(
                        media, "application/problem+json",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    assert!(problems > 50, "{problems}");
    for callback in [
        "/callbacks/inquiries/{agency}/{connector}",
        "/callbacks/payments/{agency}/{connector}",
        "/callbacks/sms/{agency}/{connector}",
    ] {
        let responses = &doc["paths"][callback]["post"]["responses"];
        for status in ["400", "401", "403", "413", "415"] {
            assert!(
                responses[status]["content"]["application/problem+json"].is_object(),
                "{callback} {status}: {responses}"
            );
        }
    }
    let start = &doc["paths"]["/api/v1/requests"]["post"]["responses"];
    for status in ["413", "415", "422"] {
        assert!(start[status].is_object(), "POST /api/v1/requests {status}");
    }
}
