//! The API answers as its OpenAPI document says, at the edges a generated client or a fuzzer
//! reaches first (schemathesis runs against `serve` in CI; these are the cases it found):
//! every problem is documented as `application/problem+json`; an operation with a body
//! documents what a bad body gets; paging values outside the documented range are refused,
//! not clamped or overflowed; an empty definition is not "validated".

use daftar_testkit::router as support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use daftar_api::auth::Role;
use support::Harness;

const AGENCY: &str = "judiciary";

#[tokio::test]
async fn paging_outside_the_documented_range_is_a_bad_query() {
    let h = Harness::new().await;
    let officer = h.token(AGENCY, &[Role::Officer], &["judge"]);
    let admin = h.token(AGENCY, &[Role::Admin], &[]);
    for query in [
        "/api/v1/requests?limit=0",
        "/api/v1/requests?limit=1001",
        "/api/v1/requests?offset=2147483648",
        // Once an overflow of `offset + limit` that dropped the connection.
        "/api/v1/requests?offset=4294967295",
        "/api/v1/tasks?limit=0",
        "/api/v1/tasks?limit=5000",
        "/api/v1/messages/unmatched?limit=0",
        "/api/v1/messages/unmatched?limit=2147483648",
        "/api/v1/incidents?limit=0",
        "/api/v1/incidents?limit=1001",
    ] {
        let token = if query.contains("messages") || query.contains("incidents") {
            &admin
        } else {
            &officer
        };
        let (status, body) = h.get(query, token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["code"], "bad-query", "{query}: {body}");
        assert!(body["detail"].as_str().unwrap().contains("range"), "{body}");
    }
    // The largest documented values are taken.
    for query in [
        "/api/v1/requests?limit=1000&offset=2147483647",
        "/api/v1/tasks?limit=1000",
    ] {
        let (status, body) = h.get(query, &officer).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
    }
}

#[tokio::test]
async fn an_empty_definition_is_a_bad_body_not_a_validation() {
    let h = Harness::new().await;
    let designer = h.token(AGENCY, &[Role::Designer], &[]);
    for uri in ["/api/v1/definitions/validate", "/api/v1/definitions"] {
        let req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header("authorization", format!("Bearer {designer}"))
            .body(Body::empty())
            .unwrap();
        let (status, body) = h.send(req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(body["code"], "bad-body");
    }
}

#[test]
fn every_problem_is_documented_as_problem_json_and_bodies_document_their_refusals() {
    let doc = serde_json::to_value(daftar_api::openapi::document()).unwrap();
    let operations = daftar_testkit::router::operations(&doc);
    for o in &operations {
        let (method, path, responses) = (o.method, o.path, o.responses);
        for (status, content) in o.contents() {
            let problem = content
                .values()
                .any(|c| c["schema"]["$ref"] == "#/components/schemas/Problem");
            if problem {
                assert!(
                    content.contains_key("application/problem+json")
                        && !content.contains_key("application/json"),
                    "{method} {path} {status}: {content:?}"
                );
            }
        }
        if o.op.get("requestBody").is_some() {
            for status in ["400", "413", "415", "422"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} takes a body and does not document {status}"
                );
            }
        }
        assert!(
            responses.contains_key("503"),
            "{method} {path} does not document 503"
        );
    }
    let operations = operations.len();
    assert!(operations > 20, "{operations}");
}
