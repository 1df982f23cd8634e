//! Every operation of the OpenAPI document that needs a bearer token, called without one, with
//! an expired one, one for another audience, one unsigned (`alg: none`) and one signed with
//! another key: each answers 401 with a problem body, before it reads anything. And every
//! operation on a request, called with a good token of another agency, answers 404.

use daftar_testkit::router as support;

use axum::http::{Method, StatusCode};
use daftar_api::auth::{Claims, Role};
use serde_json::{Value, json};
use support::{Harness, SECRET};

fn claims() -> Claims {
    support::claims("judiciary")
}

fn bad_tokens() -> Vec<(&'static str, Option<String>)> {
    let sign = support::sign;
    let mut expired = claims();
    expired.exp -= 7200;
    let mut audience = claims();
    audience.aud = "someone-else".into();
    vec![
        ("missing", None),
        ("expired", Some(sign(&expired, SECRET))),
        ("wrong audience", Some(sign(&audience, SECRET))),
        ("alg none", Some(support::unsigned(&claims()))),
        (
            "another key",
            Some(sign(&claims(), b"not-the-server-secret-0123456789abcdef")),
        ),
    ]
}

/// Every (method, path template) of the document that names the bearer scheme.
fn protected() -> Vec<(Method, String)> {
    let doc = serde_json::to_value(daftar_api::openapi::document()).unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let bearer = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            if bearer {
                ops.push((method.to_uppercase().parse().unwrap(), path.clone()));
            }
        }
    }
    ops
}

fn fill(template: &str, id: &str) -> String {
    template
        .replace("{id}", id)
        .replace("{task}", "t-1")
        .replace("{version}", "1")
        .replace("{tracking_code}", "ABCDEFGHJK")
}

#[tokio::test]
async fn every_protected_operation_refuses_bad_tokens() {
    let h = Harness::new().await;
    let ops = protected();
    assert!(
        ops.len() >= 15,
        "only {} protected operations: {ops:?}",
        ops.len()
    );
    for (method, template) in &ops {
        let uri = fill(template, "i-000000000000000000000000");
        let body = (method == Method::POST).then(|| json!({}));
        for (what, token) in bad_tokens() {
            let (status, problem) = h
                .call(method.clone(), &uri, token.as_deref(), body.clone())
                .await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {template} with a {what} token: {problem}"
            );
        }
    }
}

#[tokio::test]
async fn another_agencys_requests_are_not_found() {
    let h = Harness::new().await;
    let citizen = h.token("judiciary", &[Role::Citizen], &[]);
    let (status, filed) = h.file_clean_record(&citizen).await;
    assert_eq!(status, StatusCode::CREATED);
    let ids = [
        filed["id"].as_str().unwrap().to_owned(),
        filed["tracking_code"].as_str().unwrap().to_owned(),
    ];
    // An admin of another agency holds every role there.
    let other = h.token(
        "municipality",
        &[Role::Admin, Role::Officer, Role::Auditor],
        &["clerk"],
    );
    let mut checked = 0;
    for (method, template) in protected() {
        if !template.contains("{id}") {
            continue;
        }
        for id in &ids {
            let uri = fill(&template, id);
            // A body each operation takes, so that only the request's agency can refuse it.
            let body: Option<Value> = (method == Method::POST).then(|| {
                if template.ends_with("/erasure") {
                    json!({"authority": "court order 1405/77"})
                } else {
                    json!({"reason": "x", "outcome": "approve", "form": {}, "role": "clerk"})
                }
            });
            let (status, problem) = h.call(method.clone(), &uri, Some(&other), body).await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{method} {template} for another agency's request: {problem}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} calls checked");
}
