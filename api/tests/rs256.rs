//! Tokens of an identity provider, checked with its RS256 public key
//! (`fixtures/rs256-test-*.pem`, a key pair made for this test only): a token it signed
//! passes; a token signed with HS256 using the public key as the secret (the classic
//! algorithm-confusion forgery) is refused.

use axum::http::StatusCode;
use daftar_api::auth::{Claims, Keys, Role};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

const PRIVATE: &[u8] = include_bytes!("fixtures/rs256-test-private.pem");
const PUBLIC: &[u8] = include_bytes!("fixtures/rs256-test-public.pem");

fn claims() -> Claims {
    let now = jsonwebtoken::get_current_timestamp();
    Claims {
        sub: "officer-9".into(),
        agency: "judiciary".into(),
        roles: vec![Role::Auditor],
        task_roles: vec![],
        iss: "https://idp.example".into(),
        aud: "daftar-api".into(),
        exp: now + 600,
        iat: now,
    }
}

#[tokio::test]
async fn an_identity_providers_tokens_are_checked_with_its_public_key() {
    let keys = Keys::rs256(PUBLIC, "https://idp.example", "daftar-api").unwrap();
    let good = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims(),
        &EncodingKey::from_rsa_pem(PRIVATE).unwrap(),
    )
    .unwrap();
    let principal = keys.verify(&good).unwrap();
    assert_eq!(principal.agency, "judiciary");
    assert_eq!(principal.roles, vec![Role::Auditor]);

    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(PUBLIC),
    )
    .unwrap();
    let refused = keys.verify(&confused).unwrap_err();
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{refused}");
    assert!(
        keys.mint("x", "judiciary", vec![], vec![], 60).is_err(),
        "no private key, no minting"
    );

    // Through the router too: a server with this key accepts the token.
    let dir = tempfile::tempdir().unwrap();
    let store =
        daftar_engine::store::open(&format!("sqlite://{}", dir.path().join("d.db").display()))
            .await
            .unwrap();
    let engine = daftar_engine::runtime::Engine::open(store, Default::default())
        .await
        .unwrap();
    let app = daftar_api::app(daftar_api::AppState::new(daftar_api::Config::new(
        engine, keys,
    )));
    for (token, expected) in [(good, StatusCode::OK), (confused, StatusCode::UNAUTHORIZED)] {
        let res = daftar_testkit::router::get_from(app.clone(), "/api/v1/requests", &token).await;
        assert_eq!(res.status(), expected);
    }
}

#[test]
fn a_public_key_that_is_not_pem_is_a_clear_error() {
    let e = Keys::rs256(b"not a key", "i", "a").unwrap_err();
    assert!(e.contains("PEM"), "{e}");
}
