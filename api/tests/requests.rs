//! Router tests of `/api/v1/requests` and of authentication: tokens missing, expired, for
//! another audience, unsigned (`alg: none`) or of the wrong role get nothing; another agency's
//! request answers 404; personal data is masked for auditors.

use daftar_testkit::router as support;

use axum::http::{Method, StatusCode};
use daftar_api::auth::{Claims, Role};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use support::{Harness, Options, SECRET};

const AGENCY: &str = "judiciary";

fn form() -> Value {
    json!({"national_id": "0499370899", "mobile": "09121234567", "birth_date": "1990-01-01", "purpose": "employment"})
}

fn start_body() -> Value {
    json!({"service": "clean-record-certificate", "input": form()})
}

fn sign(claims: &Claims) -> String {
    support::sign(claims, SECRET)
}

#[tokio::test]
async fn a_citizen_files_an_officer_reads_and_a_retry_files_once() {
    let h = Harness::new().await;
    let citizen = h.token(AGENCY, &[Role::Citizen], &[]);
    let (status, first) = h.post("/api/v1/requests", &citizen, start_body()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let id = first["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("i-"));
    assert_eq!(first["service"], "clean-record-certificate");
    assert_eq!(first["state"], "running");
    // The applicant who filed it sees their own data whole (issue 16: a portal needs no
    // second token); tests/own_requests.rs shows another citizen sees nothing.
    assert_eq!(first["input"]["mobile"], "09121234567");

    // The scripted registries answer; the certificate is issued.
    let done = h.wait_for(AGENCY, &id, |v| v["state"] == "issued").await;
    assert_eq!(done["status"], "issued");
    assert_eq!(done["status_label"]["en"], "Issued");

    // Officers see the personal data; auditors see it masked, wherever it appears.
    let officer = h.token(AGENCY, &[Role::Officer], &["clerk"]);
    let (status, seen) = h.get(&format!("/api/v1/requests/{id}"), &officer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["input"]["national_id"], "0499370899");
    let auditor = h.token(AGENCY, &[Role::Auditor], &[]);
    let (_, masked) = h.get(&format!("/api/v1/requests/{id}"), &auditor).await;
    assert_eq!(masked["input"]["national_id"], "********99");
    assert!(!masked.to_string().contains("0499370899"), "{masked}");
    // By tracking code too.
    let code = seen["tracking_code"].as_str().unwrap();
    let (status, by_code) = h.get(&format!("/api/v1/requests/{code}"), &officer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_code["id"], id);

    // The same Idempotency-Key files one request.
    let keyed = |key: &str| {
        axum::http::Request::builder()
            .method(Method::POST)
            .uri("/api/v1/requests")
            .header("authorization", format!("Bearer {citizen}"))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(axum::body::Body::from(start_body().to_string()))
            .unwrap()
    };
    let (s1, a) = h.send(keyed("portal-42")).await;
    let (s2, b) = h.send(keyed("portal-42")).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::OK));
    assert_eq!(a["id"], b["id"]);
    assert_eq!(b["duplicate"], true);
    let (_, c) = h.send(keyed("portal-43")).await;
    assert_ne!(a["id"], c["id"]);
}

#[tokio::test]
async fn listings_filter_and_stay_in_the_agency() {
    let h = Harness::new().await;
    let citizen = h.token(AGENCY, &[Role::Citizen], &[]);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, body) = h.post("/api/v1/requests", &citizen, start_body()).await;
        assert_eq!(status, StatusCode::CREATED);
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        h.wait_for(AGENCY, id, |v| v["state"] == "issued").await;
    }
    let officer = h.token(AGENCY, &[Role::Officer], &[]);
    let (status, page) = h
        .get(
            "/api/v1/requests?service=clean-record-certificate&state=issued&limit=2",
            &officer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["next_offset"], 2);
    let (_, rest) = h
        .get("/api/v1/requests?state=issued&offset=2", &officer)
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_offset"], Value::Null);
    // By cursor: the page after the first, then back before the second.
    let next = page["next"]
        .as_str()
        .expect("a full page has a next cursor");
    let (status, second) = h
        .get(
            &format!("/api/v1/requests?state=issued&limit=2&after={next}"),
            &officer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["items"][0]["id"], rest["items"][0]["id"]);
    assert_eq!(second["next"], Value::Null, "nothing after the last");
    let previous = second["previous"].as_str().expect("a previous cursor");
    let (_, again) = h
        .get(
            &format!("/api/v1/requests?state=issued&limit=2&before={previous}"),
            &officer,
        )
        .await;
    assert_eq!(again["items"], page["items"], "the first page again");
    for bad in [
        "after=nonsense".to_owned(),
        format!("after={next}&before={next}"),
        format!("after={next}&offset=2"),
    ] {
        let (status, body) = h.get(&format!("/api/v1/requests?{bad}"), &officer).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["code"], "bad-query", "{body}");
    }
    let (_, none) = h.get("/api/v1/requests?sla_breached=true", &officer).await;
    assert!(none["items"].as_array().unwrap().is_empty());
    let (status, bad) = h.get("/api/v1/requests?from=yesterday", &officer).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");

    // Another agency's officer lists nothing and reads nothing of this agency.
    let other = h.token("municipality", &[Role::Officer, Role::Admin], &[]);
    let (_, theirs) = h.get("/api/v1/requests", &other).await;
    assert!(theirs["items"].as_array().unwrap().is_empty());
    for id in &ids {
        let (status, body) = h.get(&format!("/api/v1/requests/{id}"), &other).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, _) = h.cancel(id, &other, "x").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn bad_tokens_and_wrong_roles_get_nothing() {
    let h = Harness::new().await;
    let uri = "/api/v1/requests";
    let (status, body) = h.call(Method::GET, uri, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthorized");

    let mut expired = support::claims(AGENCY);
    expired.exp -= 3600;
    let mut wrong_audience = support::claims(AGENCY);
    wrong_audience.aud = "another-api".into();
    let mut wrong_issuer = support::claims(AGENCY);
    wrong_issuer.iss = "someone".into();
    let wrong_key = jsonwebtoken::encode(
        &Header::default(),
        &support::claims(AGENCY),
        &EncodingKey::from_secret(b"another-secret-of-32-bytes-or-more!!"),
    )
    .unwrap();
    // `alg: none`: a header and claims with an empty signature.
    let unsigned = support::unsigned(&support::claims(AGENCY));
    for (what, token) in [
        ("expired", sign(&expired)),
        ("audience", sign(&wrong_audience)),
        ("issuer", sign(&wrong_issuer)),
        ("key", wrong_key),
        ("alg none", unsigned),
        ("garbage", "not-a-token".to_owned()),
    ] {
        let (status, body) = h.get(uri, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
    }
    let (status, _) = h.get(uri, &sign(&support::claims(AGENCY))).await;
    assert_eq!(status, StatusCode::OK, "a good token passes");

    // Wrong roles.
    let designer = h.token(AGENCY, &[Role::Designer], &[]);
    let (status, body) = h.get(uri, &designer).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = h.post(uri, &designer, start_body()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A citizen lists only the requests they filed (tests/my_requests.rs): none here.
    let citizen = h.token(AGENCY, &[Role::Citizen], &[]);
    let (status, body) = h.get(uri, &citizen).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"], serde_json::json!([]), "{body}");
}

#[tokio::test]
async fn bad_requests_are_refused_with_reasons() {
    let h = Harness::new().await;
    let citizen = h.token(AGENCY, &[Role::Citizen], &[]);
    let uri = "/api/v1/requests";
    let (status, body) = h
        .post(
            uri,
            &citizen,
            json!({"service": "no-such-service", "input": form()}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let mut bad = form();
    bad["national_id"] = json!("0499370898"); // wrong check digit
    let (status, body) = h
        .post(
            uri,
            &citizen,
            json!({"service": "clean-record-certificate", "input": bad}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid-input");
    let (status, body) = h.post(uri, &citizen, json!({"input": form()})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("service"),
        "{body}"
    );
    // A body over the limit.
    let big =
        json!({"service": "clean-record-certificate", "input": {"x": "a".repeat(2 * 1024 * 1024)}});
    let (status, _) = h.post(uri, &citizen, big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // An unknown endpoint.
    let (status, _) = h.get("/api/v1/nothing", &citizen).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cancelling_needs_an_admin_and_a_running_request() {
    let h = Harness::with(Options {
        // No workers: the request stays at its first inquiry.
        workers: false,
        ..Options::default()
    })
    .await;
    let citizen = h.token(AGENCY, &[Role::Citizen], &[]);
    let (_, body) = h.post("/api/v1/requests", &citizen, start_body()).await;
    let id = body["id"].as_str().unwrap().to_owned();
    let officer = h.token(AGENCY, &[Role::Officer], &[]);
    let (status, _) = h.cancel(&id, &officer, "duplicate filing").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin = h.token(AGENCY, &[Role::Admin], &[]);
    let (status, body) = h.cancel(&id, &admin, " ").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = h.cancel(&id, &admin, "duplicate filing").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "cancelled");
    let (status, body) = h.cancel(&id, &admin, "again").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "ended");
}
