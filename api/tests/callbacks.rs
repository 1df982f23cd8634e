//! End to end over real HTTP: the judicial asset freeze example fans out to four registries
//! through the simulator, two of which answer later by calling back into daftar's callback
//! routes; the instance collects every answer and ends.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use daftar_engine::connectors::Connectors;
use daftar_engine::connectors::callback::Kind;
use daftar_engine::connectors::http::HttpInquiries;
use daftar_engine::core::InstanceState;
use daftar_engine::events::{Actor, Event};
use daftar_engine::runtime::Engine;
use daftar_engine::runtime::workers::{self, Pace};
use serde_json::{Value, json};

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

const SECRET: &str = "callbacks-test-secret";

/// Every connector's callback secret: the one shared with the simulator.
fn secrets(catalog: &daftar_definitions::catalog::Catalog) -> BTreeMap<String, String> {
    daftar_api::callback_secrets(catalog, Some(SECRET)).unwrap()
}

/// daftar's routes, with every connector's callback secret shared with the simulator.
fn callbacks_app(
    engine: &Arc<Engine>,
    catalog: &daftar_definitions::catalog::Catalog,
    simulator: &daftar_simulator::Simulator,
) -> axum::Router {
    simulator.set_callback_token(Some(SECRET.to_owned()));
    let keys = daftar_api::auth::Keys::hs256(&[7; 32], "daftar", "daftar-api").unwrap();
    let mut config = daftar_api::Config::new(engine.clone(), keys);
    config.callback_secrets = secrets(catalog);
    daftar_api::app(daftar_api::AppState::new(config))
}

/// The callback token daftar sends connector `connector` with inquiry `key`.
fn token(secret: &str, connector: &str, key: &str) -> String {
    daftar_engine::connectors::callback::token(secret, Kind::Inquiry, connector, key)
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
    tokio::spawn(daftar_simulator::serve(sim_listener, simulator.clone()));

    let text = std::fs::read_to_string(root().join("examples/connectors.yaml")).unwrap();
    let mut catalog = daftar_definitions::load_catalog("connectors.yaml", &text).unwrap();
    for (name, c) in &mut catalog.connectors {
        c.base_url = Some(format!("{sim}/agencies/{name}"));
    }
    let (api_listener, api) = listen().await;
    let inquiries = HttpInquiries::new(&catalog, Some(format!("{api}/callbacks/inquiries")))
        .unwrap()
        .with_callback_secrets(secrets(&catalog));

    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("daftar.db").display());
    let store = daftar_engine::store::open(&db).await.unwrap();
    let connectors = Connectors {
        inquiries: Some(Arc::new(inquiries)),
        ..Connectors::default()
    };
    let engine = Engine::open(store, connectors).await.unwrap();
    let router = callbacks_app(&engine, &catalog, &simulator);
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
        .header("X-Callback-Token", token(SECRET, "vehicle_registry", &key))
        .bearer_auth(SECRET)
        .json(&json!({"vehicles_count": 9}))
        .send()
        .await
        .unwrap();
    assert!(again.status().is_success(), "{}", again.status());
    // Without the connector's secret, or with another, nothing is received.
    for secret in [None, Some("guess")] {
        let mut forged = reqwest::Client::new()
            .post(format!(
                "{api}/callbacks/inquiries/judiciary/vehicle_registry"
            ))
            .header("Idempotency-Key", &key)
            .json(&json!({"vehicles_count": 0}));
        if let Some(s) = secret {
            forged = forged.bearer_auth(s);
        }
        let forged = forged.send().await.unwrap();
        assert_eq!(forged.status(), 401, "{secret:?}");
        assert_eq!(forged.headers()["content-type"], "application/problem+json");
    }
    assert_eq!(
        engine.store().load(&started.stream).await.unwrap().len(),
        history.len()
    );
    let no_key = reqwest::Client::new()
        .post(format!(
            "{api}/callbacks/inquiries/judiciary/vehicle_registry"
        ))
        .bearer_auth(SECRET)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 400);
    assert_eq!(no_key.headers()["content-type"], "application/problem+json");
}

const FEE: &str = concat!(
    daftar_testkit::workflow_meta!("fee", "پرداخت", "Fee", "municipality", "1d"),
    daftar_testkit::applicant_form!(),
    "statuses:\n  awaiting_payment: { fa: در انتظار پرداخت, en: Awaiting payment, sms: true }\n",
    "  paid: { fa: پرداخت شد, en: Paid, sms: true }\n",
    daftar_testkit::status_sms_template!(),
    r#"steps:
  - id: pay
    status: awaiting_payment
    payment:
      connector: payment_gateway
      amount: 1200000
      timeout: 1m
      output: { receipt: response.trace_number }
  - id: done
    status: paid
    end: { outcome: approved }
"#
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_opens_and_its_result_arrives_by_callback_and_each_sms_goes_out_once() {
    let (sim_listener, sim) = listen().await;
    let simulator = daftar_simulator::Simulator::from_files(
        &root().join("examples/simulator/seed.yaml"),
        &root().join("examples/simulator/config.yaml"),
    )
    .unwrap();
    tokio::spawn(daftar_simulator::serve(sim_listener, simulator.clone()));
    let text = std::fs::read_to_string(root().join("examples/connectors.yaml")).unwrap();
    let mut catalog = daftar_definitions::load_catalog("connectors.yaml", &text).unwrap();
    for c in catalog.connectors.values_mut() {
        c.base_url = Some(sim.clone());
    }
    let (api_listener, api) = listen().await;
    let payments = daftar_engine::connectors::payments::HttpPayments::new(
        &catalog,
        Some(format!("{api}/callbacks/payments")),
    )
    .unwrap()
    .with_callback_secrets(secrets(&catalog));
    let sms = daftar_engine::connectors::sms::HttpSms::new(
        &catalog,
        Some(format!("{api}/callbacks/sms")),
    )
    .unwrap()
    .with_callback_secrets(secrets(&catalog));
    let dir = tempfile::tempdir().unwrap();
    let store = daftar_testkit::sqlite_store(dir.path()).await;
    let connectors = Connectors {
        payments: Some(Arc::new(payments)),
        notifier: Some(Arc::new(sms)),
        ..Connectors::default()
    };
    let engine = Engine::open(store, connectors).await.unwrap();
    let router = callbacks_app(&engine, &catalog, &simulator);
    tokio::spawn(async move { axum::serve(api_listener, router).await });
    engine.deploy("fee.yaml", FEE).await.unwrap();
    let _loops = workers::spawn(
        engine.clone(),
        Pace {
            poll: Duration::from_millis(20),
            ..Pace::default()
        },
    );
    let started = engine
        .start(
            "municipality",
            "fee",
            json!({"national_id": "0499370899", "mobile": "09121234567"}),
            None,
            Actor::Citizen,
        )
        .await
        .unwrap();
    let mut state = InstanceState::default();
    for _ in 0..400 {
        state = engine.state(&started.stream).await.unwrap();
        let sms_done = state
            .notifications
            .values()
            .all(|d| *d != daftar_engine::core::Delivery::Pending);
        if (state.ended() && sms_done) || !state.incidents.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(state.ended(), "{:?}", state.tokens);
    assert!(state.vars["receipt"].is_string(), "{:?}", state.vars);
    let sent: Value = reqwest::get(format!("{sim}/__sim/sms"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent = sent
        .as_array()
        .cloned()
        .or_else(|| sent["sms"].as_array().cloned())
        .unwrap_or_default();
    assert_eq!(sent.len(), 2, "one SMS per status change: {sent:?}");
    assert_eq!(state.notifications.len(), 2);

    // The SMS centre's delivery reports come back by callback and are recorded, once each.
    for _ in 0..200 {
        let state = engine.state(&started.stream).await.unwrap();
        if state
            .notifications
            .values()
            .all(|d| *d == daftar_engine::core::Delivery::Delivered)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let history = engine.store().load(&started.stream).await.unwrap();
    let reports = history
        .iter()
        .filter(|e| e.event.kind() == "NotificationDelivered")
        .count();
    assert_eq!(reports, 2, "a delivery report per SMS");
}

#[tokio::test]
async fn a_callback_no_step_waits_for_is_kept_and_listed_for_admins() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        daftar_engine::store::open(&format!("sqlite://{}", dir.path().join("d.db").display()))
            .await
            .unwrap();
    let engine = Engine::open(store, Connectors::default()).await.unwrap();
    engine
        .deploy(
            "clean-record-certificate.yaml",
            &std::fs::read_to_string(
                root().join("examples/workflows/clean-record-certificate.yaml"),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let started = engine
        .start(
            "judiciary",
            "clean-record-certificate",
            json!({"national_id": "0499370899", "mobile": "09121234567", "birth_date": "1990-01-01", "purpose": "employment"}),
            None,
            Actor::Citizen,
        )
        .await
        .unwrap();
    let keys = daftar_api::auth::Keys::hs256(&[7; 32], "daftar", "daftar-api").unwrap();
    let mut config = daftar_api::Config::new(engine.clone(), keys.clone());
    config.callback_secrets = [("judiciary_records".to_owned(), "s3".to_owned())].into();
    let app = daftar_api::app(daftar_api::AppState::new(config));
    let (listener, api) = listen().await;
    tokio::spawn(async move { axum::serve(listener, app).await });

    // A late answer for a step this request never asked (a key of its stream, another step).
    let key = format!("{}:criminal_record:999", started.stream.instance);
    let client = reqwest::Client::new();
    let res = client
        .post(format!(
            "{api}/callbacks/inquiries/judiciary/judiciary_records"
        ))
        .header("Idempotency-Key", &key)
        .header("X-Callback-Token", token("s3", "judiciary_records", &key))
        .bearer_auth("s3")
        .json(&json!({"has_record": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);

    let list = |token: String| {
        let client = client.clone();
        let api = api.clone();
        async move {
            client
                .get(format!("{api}/api/v1/messages/unmatched"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    let admin = keys
        .mint(
            "ops",
            "judiciary",
            vec![daftar_api::auth::Role::Admin],
            vec![],
            600,
        )
        .unwrap();
    let res = list(admin).await;
    assert_eq!(res.status(), 200);
    let kept: Value = res.json().await.unwrap();
    assert_eq!(kept.as_array().unwrap().len(), 1, "{kept}");
    assert_eq!(kept[0]["correlation"], key);
    assert_eq!(kept[0]["payload"], json!({"has_record": false}));
    let auditor = keys
        .mint(
            "a",
            "judiciary",
            vec![daftar_api::auth::Role::Auditor],
            vec![],
            600,
        )
        .unwrap();
    assert_eq!(list(auditor).await.status(), 403);
    let other = keys
        .mint(
            "o",
            "municipality",
            vec![daftar_api::auth::Role::Admin],
            vec![],
            600,
        )
        .unwrap();
    let theirs: Value = list(other).await.json().await.unwrap();
    assert_eq!(theirs, json!([]));
}

/// With a secret per connector, the SMS gateway answers the stock exchange's pending inquiry
/// (the forged `frozen_value` of the attack) and an agency guesses a key without its token:
/// both are refused, kept for review, and change nothing; the stock exchange's own answer, with
/// its token, is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_through_another_connector_or_without_its_token_is_refused_and_kept() {
    let (sim_listener, sim) = listen().await;
    let simulator = daftar_simulator::Simulator::from_files(
        &root().join("examples/simulator/seed.yaml"),
        &root().join("examples/simulator/config.yaml"),
    )
    .unwrap();
    simulator.set_callback_token(Some(SECRET.to_owned()));
    tokio::spawn(daftar_simulator::serve(sim_listener, simulator.clone()));
    let text = std::fs::read_to_string(root().join("examples/connectors.yaml")).unwrap();
    let mut catalog = daftar_definitions::load_catalog("connectors.yaml", &text).unwrap();
    for (name, c) in &mut catalog.connectors {
        c.base_url = Some(format!("{sim}/agencies/{name}"));
    }
    let mut per_connector = secrets(&catalog);
    per_connector.insert("stock_exchange".into(), "stock-exchange-secret".into());
    per_connector.insert("sms_gateway".into(), "sms-gateway-secret".into());
    let (api_listener, api) = listen().await;
    let inquiries = HttpInquiries::new(&catalog, Some(format!("{api}/callbacks/inquiries")))
        .unwrap()
        .with_callback_secrets(per_connector.clone());
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("daftar.db").display());
    let store = daftar_engine::store::open(&db).await.unwrap();
    let connectors = Connectors {
        inquiries: Some(Arc::new(inquiries)),
        ..Connectors::default()
    };
    let engine = Engine::open(store, connectors).await.unwrap();
    let keys = daftar_api::auth::Keys::hs256(&[7; 32], "daftar", "daftar-api").unwrap();
    let mut config = daftar_api::Config::new(engine.clone(), keys.clone());
    config.callback_secrets = per_connector;
    let router = daftar_api::app(daftar_api::AppState::new(config));
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
    // This debtor's depository never calls back: its inquiry stays pending.
    let input = json!({
        "case_number": "1403682910000417", "order_number": "140309870001234",
        "debtor_national_id": "2736451988", "amount": 8_500_000_000_i64,
        "judge_national_id": "0499370899", "judge_mobile": "09121234567"
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
    let mut key = None;
    for _ in 0..400 {
        let history = engine.store().load(&started.stream).await.unwrap();
        let acknowledged = history.iter().any(|e| {
            matches!(&e.event, Event::InquiryAcknowledged { step, .. } if step == "freeze_securities")
        });
        key = history.iter().find_map(|e| match &e.event {
            Event::InquiryRequested {
                connector,
                idempotency_key,
                ..
            } if connector == "stock_exchange" => Some(idempotency_key.clone()),
            _ => None,
        });
        if acknowledged && key.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let key = key.expect("the stock exchange was asked");
    let before = engine.store().load(&started.stream).await.unwrap().len();

    let client = reqwest::Client::new();
    let post = |connector: &str, secret: &str, token: Option<String>, value: i64| {
        let mut req = client
            .post(format!("{api}/callbacks/inquiries/judiciary/{connector}"))
            .header("Idempotency-Key", &key)
            .bearer_auth(secret)
            .json(&json!({"frozen_value": value, "holdings_count": 1}));
        if let Some(t) = token {
            req = req.header("X-Callback-Token", t);
        }
        req.send()
    };
    // The SMS gateway, with its own secret and a token it can make for itself.
    let sms_token = token("sms-gateway-secret", "sms_gateway", &key);
    let res = post(
        "sms_gateway",
        "sms-gateway-secret",
        Some(sms_token),
        999_999_999,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "wrong-connector", "{body}");
    // The SMS gateway with the guessed key and no token.
    let res = post("sms_gateway", "sms-gateway-secret", None, 999_999_999)
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "bad-callback-token", "{body}");
    // Even the right connector must bring back the token it was sent, not one it made up.
    let res = post(
        "stock_exchange",
        "stock-exchange-secret",
        Some(token("stock-exchange-secret", "stock_exchange", "i-x:y:1")),
        999_999_999,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 403);
    let after = engine.store().load(&started.stream).await.unwrap();
    assert_eq!(after.len(), before, "a refused callback changes nothing");
    assert!(
        !after
            .iter()
            .any(|e| matches!(&e.event, Event::MessageReceived { .. }))
    );

    // Kept for review: the admins see each refused callback, marked as refused.
    let admin = keys
        .mint(
            "ops",
            "judiciary",
            vec![daftar_api::auth::Role::Admin],
            vec![],
            600,
        )
        .unwrap();
    let kept = daftar_testkit::json_of(
        client
            .get(format!("{api}/api/v1/messages/unmatched"))
            .bearer_auth(admin),
    )
    .await;
    let refused: Vec<&Value> = kept
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["message_id"].as_str().unwrap().starts_with("refused:"))
        .collect();
    assert_eq!(refused.len(), 2, "{kept}");
    assert!(refused.iter().all(|m| m["correlation"] == key.as_str()));
    assert!(
        refused
            .iter()
            .all(|m| m["payload"]["frozen_value"] == 999_999_999)
    );

    // The stock exchange's own answer, with the token daftar sent it, is taken.
    let real = token("stock-exchange-secret", "stock_exchange", &key);
    let res = post(
        "stock_exchange",
        "stock-exchange-secret",
        Some(real),
        300_000_000,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let state = engine.state(&started.stream).await.unwrap();
    assert_eq!(state.vars["securities_frozen_value"], json!(300_000_000));
}
