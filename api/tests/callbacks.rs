//! End to end over real HTTP: the judicial asset freeze example fans out to four registries
//! through the simulator, two of which answer later by calling back into daftar's callback
//! routes; the instance collects every answer and ends.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use daftar_engine::connectors::Connectors;
use daftar_engine::connectors::http::HttpInquiries;
use daftar_engine::core::InstanceState;
use daftar_engine::events::{Actor, Event};
use daftar_engine::runtime::Engine;
use daftar_engine::runtime::workers::{self, Pace};
use serde_json::{Value, json};

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

async fn listen() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_complete_an_asset_freeze_over_http() {
    let (sim_listener, sim) = listen().await;
    let simulator = daftar_simulator::Simulator::from_files(
        &root().join("examples/simulator/seed.yaml"),
        &root().join("examples/simulator/config.yaml"),
    )
    .unwrap();
    tokio::spawn(daftar_simulator::serve(sim_listener, simulator));

    let text = std::fs::read_to_string(root().join("examples/connectors.yaml")).unwrap();
    let mut catalog = daftar_definitions::load_catalog("connectors.yaml", &text).unwrap();
    for (name, c) in &mut catalog.connectors {
        c.base_url = Some(format!("{sim}/agencies/{name}"));
    }
    let (api_listener, api) = listen().await;
    let inquiries =
        HttpInquiries::new(&catalog, Some(format!("{api}/callbacks/inquiries"))).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("daftar.db").display());
    let store = daftar_engine::store::open(&db).await.unwrap();
    let connectors = Connectors {
        inquiries: Some(Arc::new(inquiries)),
        ..Connectors::default()
    };
    let engine = Engine::open(store, connectors).await.unwrap();
    let router = daftar_api::callbacks::router(engine.clone());
    tokio::spawn(async move { axum::serve(api_listener, router).await });

    let source =
        std::fs::read_to_string(root().join("examples/workflows/judicial-asset-freeze.yaml"))
            .unwrap();
    engine
        .deploy("judicial-asset-freeze.yaml", &source)
        .await
        .unwrap();
    let _loops = workers::spawn(
        engine.clone(),
        Pace {
            poll: Duration::from_millis(20),
            ..Pace::default()
        },
    );
    let input = json!({
        "case_number": "1403682910000417",
        "order_number": "140309870001234",
        "debtor_national_id": "0790419904",
        "amount": 8_500_000_000_i64,
        "judge_national_id": "0499370899",
        "judge_mobile": "09121234567"
    });
    let started = engine
        .start(
            "judiciary",
            "judicial-asset-freeze",
            input,
            None,
            Actor::Officer("judge".into()),
        )
        .await
        .unwrap();

    let mut state = InstanceState::default();
    for _ in 0..400 {
        state = engine.state(&started.stream).await.unwrap();
        if state.ended() || !state.incidents.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let history = engine.store().load(&started.stream).await.unwrap();
    let incidents: Vec<&Event> = history
        .iter()
        .map(|e| &e.event)
        .filter(|e| e.kind() == "IncidentRaised")
        .collect();
    assert!(incidents.is_empty(), "{incidents:?}");
    assert!(state.ended(), "the freeze did not end: {:?}", state.tokens);
    let callbacks: Vec<&Value> = history
        .iter()
        .filter_map(|e| match &e.event {
            Event::MessageReceived { name, payload, .. } if name == "callback" => Some(payload),
            _ => None,
        })
        .collect();
    assert_eq!(
        callbacks.len(),
        2,
        "the stock exchange and the vehicle registry called back"
    );
    let acknowledged = history
        .iter()
        .filter(|e| e.event.kind() == "InquiryAcknowledged")
        .count();
    assert_eq!(acknowledged, 2);
    daftar_engine::events::verify_chain(&history).unwrap();

    // The same callback again: no second effect.
    let key = history
        .iter()
        .find_map(|e| match &e.event {
            Event::InquiryRequested {
                connector,
                idempotency_key,
                ..
            } if connector == "vehicle_registry" => Some(idempotency_key.clone()),
            _ => None,
        })
        .unwrap();
    let again = reqwest::Client::new()
        .post(format!(
            "{api}/callbacks/inquiries/judiciary/vehicle_registry"
        ))
        .header("Idempotency-Key", &key)
        .json(&json!({"vehicles_count": 9}))
        .send()
        .await
        .unwrap();
    assert!(again.status().is_success(), "{}", again.status());
    assert_eq!(
        engine.store().load(&started.stream).await.unwrap().len(),
        history.len()
    );
    let no_key = reqwest::Client::new()
        .post(format!(
            "{api}/callbacks/inquiries/judiciary/vehicle_registry"
        ))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 400);
    assert_eq!(no_key.headers()["content-type"], "application/problem+json");
}
