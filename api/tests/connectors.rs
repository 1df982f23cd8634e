//! `GET /api/v1/connectors` and the `daftar_circuit_breaker_state` metric show each
//! connector's circuit breaker: an agency that refuses connections opens its breaker, and the
//! API says so.

use daftar_testkit::router as support;

use std::sync::Arc;

use axum::http::StatusCode;
use daftar_api::auth::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, Keys, Role};
use daftar_api::{AppState, Config};
use daftar_engine::connectors::http::HttpInquiries;
use daftar_engine::connectors::{Connectors, Inquiries, InquiryCall};
use daftar_engine::core::InquiryResult;
use daftar_engine::events::StreamId;
use daftar_engine::runtime::Engine;
use serde_json::{Value, json};

#[tokio::test]
async fn a_failing_agency_opens_its_breaker_and_the_api_shows_it() {
    // Nothing listens on this port: every call is refused at once.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let text = std::fs::read_to_string(support::root().join("examples/connectors.yaml")).unwrap();
    let mut catalog = daftar_definitions::load_catalog("connectors.yaml", &text).unwrap();
    for (name, c) in &mut catalog.connectors {
        c.base_url = Some(format!("http://127.0.0.1:{port}/agencies/{name}"));
    }
    let inquiries = Arc::new(HttpInquiries::new(&catalog, None).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store =
        daftar_engine::store::open(&format!("sqlite://{}", dir.path().join("d.db").display()))
            .await
            .unwrap();
    let engine = Engine::open(
        store,
        Connectors {
            inquiries: Some(inquiries.clone()),
            ..Connectors::default()
        },
    )
    .await
    .unwrap();
    let keys = Keys::hs256(support::SECRET, DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
    let mut config = Config::new(engine, keys.clone());
    config.catalog = Some(catalog.clone());
    let app = daftar_api::app(AppState::new(config));
    let admin = keys
        .mint("ops", "judiciary", vec![Role::Admin], vec![], 600)
        .unwrap();

    let breakers = |app: axum::Router| {
        let admin = admin.clone();
        async move {
            let res = daftar_testkit::router::get_from(app, "/api/v1/connectors", &admin).await;
            assert_eq!(res.status(), StatusCode::OK);
            let body: Value = serde_json::from_slice(
                &axum::body::to_bytes(res.into_body(), 1 << 20)
                    .await
                    .unwrap(),
            )
            .unwrap();
            support::conformance::check("GET", "/api/v1/connectors", 200, &body);
            body.as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == "civil_registry")
                .cloned()
                .unwrap()
        }
    };
    let before = breakers(app.clone()).await;
    assert_eq!(before["breaker"], "closed", "{before}");
    assert_eq!(before["kind"], "inquiry");

    let failures = catalog.connectors["civil_registry"]
        .circuit_breaker
        .as_ref()
        .expect("the example gives the civil registry a breaker")
        .failures;
    for i in 0..failures {
        let result = inquiries
            .inquire(&InquiryCall {
                stream: StreamId {
                    agency: "judiciary".into(),
                    instance: "i-x".into(),
                },
                connector: "civil_registry".into(),
                operation: "identity_match".into(),
                request: json!({"national_id": "0499370899", "birth_date": "1990-01-01"}),
                idempotency_key: format!("k-{i}"),
                attempt: 1,
            })
            .await;
        assert!(
            matches!(result, InquiryResult::Transient { .. }),
            "{result:?}"
        );
    }
    let after = breakers(app.clone()).await;
    assert_eq!(after["breaker"], "open", "{after}");

    // A citizen may not look.
    let citizen = keys
        .mint("c", "judiciary", vec![Role::Citizen], vec![], 600)
        .unwrap();
    let res = daftar_testkit::router::get_from(app, "/api/v1/connectors", &citizen).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
