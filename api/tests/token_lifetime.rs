//! Token times: a token not valid yet (`nbf` in the future), one issued in the future, one
//! without `iat` and one that lives longer than the maximum lifetime are refused with 401; a
//! token inside every bound passes, and a server configured with a longer lifetime takes it.

use daftar_testkit::router as support;

use axum::http::StatusCode;
use daftar_api::auth::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, Keys};
use serde_json::{Value, json};
use support::{Harness, SECRET};

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Admin claims of `judiciary` as JSON, to add or drop claims the `Claims` type fixes.
fn claims() -> Value {
    serde_json::to_value(support::claims("judiciary")).unwrap()
}

fn sign(claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

async fn answer(h: &Harness, token: &str) -> (StatusCode, Value) {
    h.get("/api/v1/requests", token).await
}

#[tokio::test]
async fn tokens_not_yet_valid_or_living_too_long_are_refused() {
    let h = Harness::new().await;
    let mut not_yet = claims();
    not_yet["nbf"] = json!(now() + 3600);
    let mut future_iat = claims();
    future_iat["iat"] = json!(now() + 3600);
    future_iat["exp"] = json!(now() + 7200);
    let mut no_iat = claims();
    no_iat.as_object_mut().unwrap().remove("iat");
    let mut year = claims();
    year["exp"] = json!(now() + 365 * 24 * 3600);
    for (what, c, says) in [
        ("nbf in an hour", &not_yet, "not valid yet"),
        ("iat in an hour", &future_iat, "issued in the future"),
        ("no iat", &no_iat, "no `iat`"),
        ("a year long", &year, "at most 86400 s"),
    ] {
        let (status, body) = answer(&h, &sign(c)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains(says),
            "{what}: {body}"
        );
    }

    // Within bounds: `nbf` a few seconds ahead (clock drift) and a 24 h lifetime pass.
    let mut drift = claims();
    drift["nbf"] = json!(now() + 5);
    drift["exp"] = json!(drift["iat"].as_u64().unwrap() + 24 * 3600);
    let (status, body) = answer(&h, &sign(&drift)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[test]
fn the_maximum_lifetime_is_configurable() {
    let mut week = claims();
    week["exp"] = json!(now() + 7 * 24 * 3600);
    let token = sign(&week);
    let keys = Keys::hs256(SECRET, DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
    assert!(keys.verify(&token).is_err());
    let keys = keys.with_max_lifetime(8 * 24 * 3600);
    assert_eq!(keys.verify(&token).unwrap().agency, "judiciary");
}
