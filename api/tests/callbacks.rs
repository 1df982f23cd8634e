//! End to end over real HTTP: the judicial asset freeze example fans out to four registries
//! through the simulator, two of which answer later by calling back into daftar's callback
//! routes; the instance collects every answer and ends.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use daftar_api::auth::Role;
use daftar_engine::connectors::Connectors;
use daftar_engine::connectors::callback::Kind;
use daftar_engine::connectors::http::HttpInquiries;
use daftar_engine::core::{Delivery, InstanceState};
use daftar_engine::events::{Actor, Event, RecordedEvent, StreamId};
use daftar_engine::runtime::Engine;
use daftar_engine::runtime::workers::{self, Pace};
use daftar_testkit::e2e::inquiry_key;
use serde_json::{Value, json};

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

const SECRET: &str = "callbacks-test-secret";

/// Every connector's callback secret: the one shared with the simulator.
fn secrets(catalog: &daftar_definitions::catalog::Catalog) -> BTreeMap<String, String> {
    daftar_api::callback_secrets(catalog, Some(SECRET)).unwrap()
}

/// Serves daftar's routes on `listener`, with the callback secrets `secrets`; answers the keys
/// its tokens are signed with.
fn serve(
    listener: tokio::net::TcpListener,
    engine: &Arc<Engine>,
    secrets: BTreeMap<String, String>,
) -> daftar_api::auth::Keys {
    let keys = daftar_api::auth::Keys::hs256(&[7; 32], "daftar", "daftar-api").unwrap();
    let mut config = daftar_api::Config::new(engine.clone(), keys.clone());
    config.callback_secrets = secrets;
    let app = daftar_api::app(daftar_api::AppState::new(config));
    tokio::spawn(async move { axum::serve(listener, app).await });
    keys
}

/// The callback token daftar sends connector `connector` with inquiry `key`.
fn token(secret: &str, connector: &str, key: &str) -> String {
    daftar_engine::connectors::callback::token(secret, Kind::Inquiry, connector, key)
}

/// Posts `body` to daftar's inquiry callback route of `connector` at `api`, with the bearer
/// `secret`, the `Idempotency-Key` `key` and the `X-Callback-Token` `token`, each when given.
async fn post_callback(
    api: &str,
    connector: &str,
    secret: Option<&str>,
    key: Option<&str>,
    token: Option<String>,
    body: Value,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{api}/callbacks/inquiries/judiciary/{connector}"))
        .json(&body);
    if let Some(s) = secret {
        req = req.bearer_auth(s);
    }
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    if let Some(t) = token {
        req = req.header("X-Callback-Token", t);
    }
    req.send().await.unwrap()
}

/// Waits until `done` holds for the instance (at most ten seconds); answers its last state.
async fn until(
    engine: &Engine,
    stream: &StreamId,
    done: impl Fn(&InstanceState) -> bool,
) -> InstanceState {
    let mut state = InstanceState::default();
    for _ in 0..400 {
        state = engine.state(stream).await.unwrap();
        if done(&state) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    state
}

/// The events of the instance's stream.
async fn history(engine: &Engine, stream: &StreamId) -> Vec<RecordedEvent> {
    engine.store().load(stream).await.unwrap()
}

async fn listen() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// The simulator of the example seed and configuration, served, with the callback token of
/// these tests; answers it and its base URL.
async fn simulator() -> (daftar_simulator::Simulator, String) {
    let (listener, sim) = listen().await;
    let simulator = daftar_simulator::Simulator::from_files(
        &root().join("examples/simulator/seed.yaml"),
        &root().join("examples/simulator/config.yaml"),
    )
    .unwrap();
    simulator.set_callback_token(Some(SECRET.to_owned()));
    tokio::spawn(daftar_simulator::serve(listener, simulator.clone()));
    (simulator, sim)
}

/// The example catalog with every connector pointed at the simulator `sim`: inquiries at their
/// agency's path under it when `per_agency`, or all at its root.
fn catalog(sim: &str, per_agency: bool) -> daftar_definitions::catalog::Catalog {
    let text = std::fs::read_to_string(root().join("examples/connectors.yaml")).unwrap();
    let mut catalog = daftar_definitions::load_catalog("connectors.yaml", &text).unwrap();
    for (name, c) in &mut catalog.connectors {
        c.base_url = Some(if per_agency {
            format!("{sim}/agencies/{name}")
        } else {
            sim.to_owned()
        });
    }
    catalog
}

/// An engine on a fresh SQLite store in `dir` with `connectors`, its workers running; deploys
/// `workflow` (its file name and text).
async fn engine(
    dir: &Path,
    connectors: Connectors,
    (name, source): (&str, &str),
) -> (Arc<Engine>, workers::Background) {
    let store = daftar_testkit::sqlite_store(dir).await;
    let engine = Engine::open(store, connectors).await.unwrap();
    engine.deploy(name, source).await.unwrap();
    let loops = workers::spawn(
        engine.clone(),
        Pace {
            poll: Duration::from_millis(20),
            ..Pace::default()
        },
    );
    (engine, loops)
}

/// An engine whose inquiries reach the connectors of `catalog` and are told to call back to
/// `api` with `secrets`, with the judicial asset freeze deployed and its workers running;
/// answers it, its workers and the folder of its store.
async fn freeze_engine(
    api: &str,
    secrets: BTreeMap<String, String>,
    catalog: &daftar_definitions::catalog::Catalog,
) -> (Arc<Engine>, workers::Background, tempfile::TempDir) {
    let inquiries = HttpInquiries::new(catalog, Some(format!("{api}/callbacks/inquiries")))
        .unwrap()
        .with_callback_secrets(secrets);
    let connectors = Connectors {
        inquiries: Some(Arc::new(inquiries)),
        ..Connectors::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = root().join("examples/workflows/judicial-asset-freeze.yaml");
    let source = std::fs::read_to_string(path).unwrap();
    let (engine, loops) = engine(
        dir.path(),
        connectors,
        ("judicial-asset-freeze.yaml", &source),
    )
    .await;
    (engine, loops, dir)
}

/// A judge files the freeze order of `debtor`.
async fn freeze(engine: &Engine, debtor: &str) -> StreamId {
    let input = json!({
        "case_number": "1403682910000417", "order_number": "140309870001234",
        "debtor_national_id": debtor, "amount": 8_500_000_000_i64,
        "judge_national_id": "0499370899", "judge_mobile": "09121234567"
    });
    let judge = Actor::Officer("judge".into());
    let started = engine.start("judiciary", "judicial-asset-freeze", input, None, judge);
    started.await.unwrap().stream
}

/// A token of `subject` at `agency` with one role.
fn mint(keys: &daftar_api::auth::Keys, subject: &str, agency: &str, role: Role) -> String {
    keys.mint(subject, agency, vec![role], vec![], 600).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_complete_an_asset_freeze_over_http() {
    let (_simulator, sim) = simulator().await;
    let catalog = catalog(&sim, true);
    let (api_listener, api) = listen().await;
    let (engine, _loops, _dir) = freeze_engine(&api, secrets(&catalog), &catalog).await;
    serve(api_listener, &engine, secrets(&catalog));
    let stream = freeze(&engine, "0790419904").await;

    let state = until(&engine, &stream, |s| s.ended() || !s.incidents.is_empty()).await;
    let history = history(&engine, &stream).await;
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
    let key = inquiry_key(history.iter().map(|e| &e.event), "vehicle_registry").unwrap();
    let vehicles = |secret, key, token, body| {
        post_callback(&api, "vehicle_registry", secret, key, token, body)
    };
    let valid = token(SECRET, "vehicle_registry", &key);
    let again = vehicles(
        Some(SECRET),
        Some(&key),
        Some(valid),
        json!({"vehicles_count": 9}),
    )
    .await;
    assert!(again.status().is_success(), "{}", again.status());
    // Without the connector's secret, or with another, nothing is received.
    for secret in [None, Some("guess")] {
        let forged = vehicles(secret, Some(&key), None, json!({"vehicles_count": 0})).await;
        assert_eq!(forged.status(), 401, "{secret:?}");
        assert_eq!(forged.headers()["content-type"], "application/problem+json");
    }
    assert_eq!(
        engine.store().load(&stream).await.unwrap().len(),
        history.len()
    );
    let no_key = vehicles(Some(SECRET), None, None, json!({})).await;
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
    let (_simulator, sim) = simulator().await;
    let catalog = catalog(&sim, false);
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
    let connectors = Connectors {
        payments: Some(Arc::new(payments)),
        notifier: Some(Arc::new(sms)),
        ..Connectors::default()
    };
    let (engine, _loops) = engine(dir.path(), connectors, ("fee.yaml", FEE)).await;
    serve(api_listener, &engine, secrets(&catalog));
    let applicant = json!({"national_id": "0499370899", "mobile": "09121234567"});
    let started = engine.start("municipality", "fee", applicant, None, Actor::Citizen);
    let stream = started.await.unwrap().stream;
    let state = until(&engine, &stream, |s| {
        let sms_done = s.notifications.values().all(|d| *d != Delivery::Pending);
        (s.ended() && sms_done) || !s.incidents.is_empty()
    })
    .await;
    assert!(state.ended(), "{:?}", state.tokens);
    assert!(state.vars["receipt"].is_string(), "{:?}", state.vars);
    let sent = daftar_testkit::simulator::journal(&sim, "sms").await;
    assert_eq!(sent.len(), 2, "one SMS per status change: {sent:?}");
    assert_eq!(state.notifications.len(), 2);

    // The SMS centre's delivery reports come back by callback and are recorded, once each.
    until(&engine, &stream, |s| {
        s.notifications.values().all(|d| *d == Delivery::Delivered)
    })
    .await;
    let reports = history(&engine, &stream)
        .await
        .iter()
        .filter(|e| e.event.kind() == "NotificationDelivered")
        .count();
    assert_eq!(reports, 2, "a delivery report per SMS");
}

#[tokio::test]
async fn a_callback_no_step_waits_for_is_kept_and_listed_for_admins() {
    let dir = tempfile::tempdir().unwrap();
    let store = daftar_testkit::sqlite_store(dir.path()).await;
    let engine = Engine::open(store, Connectors::default()).await.unwrap();
    let name = "clean-record-certificate.yaml";
    let source = std::fs::read_to_string(root().join("examples/workflows").join(name)).unwrap();
    engine.deploy(name, &source).await.unwrap();
    let applicant = json!({"national_id": "0499370899", "mobile": "09121234567", "birth_date": "1990-01-01", "purpose": "employment"});
    let started = engine.start(
        "judiciary",
        "clean-record-certificate",
        applicant,
        None,
        Actor::Citizen,
    );
    let stream = started.await.unwrap().stream;
    let (listener, api) = listen().await;
    let secrets = [("judiciary_records".to_owned(), "s3".to_owned())].into();
    let keys = serve(listener, &engine, secrets);

    // A late answer for a step this request never asked (a key of its stream, another step).
    let key = format!("{}:criminal_record:999", stream.instance);
    let valid = token("s3", "judiciary_records", &key);
    let answer = json!({"has_record": false});
    let res = post_callback(
        &api,
        "judiciary_records",
        Some("s3"),
        Some(&key),
        Some(valid),
        answer,
    )
    .await;
    assert_eq!(res.status(), 202);

    let list = |token: String| {
        let api = api.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{api}/api/v1/messages/unmatched"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    let res = list(mint(&keys, "ops", "judiciary", Role::Admin)).await;
    assert_eq!(res.status(), 200);
    let kept: Value = res.json().await.unwrap();
    assert_eq!(kept.as_array().unwrap().len(), 1, "{kept}");
    assert_eq!(kept[0]["correlation"], key);
    assert_eq!(kept[0]["payload"], json!({"has_record": false}));
    let auditor = mint(&keys, "a", "judiciary", Role::Auditor);
    assert_eq!(list(auditor).await.status(), 403);
    let other = mint(&keys, "o", "municipality", Role::Admin);
    let theirs: Value = list(other).await.json().await.unwrap();
    assert_eq!(theirs, json!([]));
}

/// With a secret per connector, the SMS gateway answers the stock exchange's pending inquiry
/// (the forged `frozen_value` of the attack) and an agency guesses a key without its token:
/// both are refused, kept for review, and change nothing; the stock exchange's own answer, with
/// its token, is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_through_another_connector_or_without_its_token_is_refused_and_kept() {
    let (_simulator, sim) = simulator().await;
    let catalog = catalog(&sim, true);
    let mut per_connector = secrets(&catalog);
    per_connector.insert("stock_exchange".into(), "stock-exchange-secret".into());
    per_connector.insert("sms_gateway".into(), "sms-gateway-secret".into());
    let (api_listener, api) = listen().await;
    let (engine, _loops, _dir) = freeze_engine(&api, per_connector.clone(), &catalog).await;
    let keys = serve(api_listener, &engine, per_connector);
    // This debtor's depository never calls back: its inquiry stays pending.
    let stream = freeze(&engine, "2736451988").await;
    let mut key = None;
    for _ in 0..400 {
        let history = history(&engine, &stream).await;
        let acknowledged = history.iter().any(|e| {
            matches!(&e.event, Event::InquiryAcknowledged { step, .. } if step == "freeze_securities")
        });
        key = inquiry_key(history.iter().map(|e| &e.event), "stock_exchange");
        if acknowledged && key.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let key = key.expect("the stock exchange was asked");
    let before = history(&engine, &stream).await.len();

    let post =
        |connector: &'static str, secret: &'static str, token: Option<String>, value: i64| {
            let body = json!({"frozen_value": value, "holdings_count": 1});
            post_callback(&api, connector, Some(secret), Some(&key), token, body)
        };
    let from_sms_gateway = |token, value| post("sms_gateway", "sms-gateway-secret", token, value);
    let from_stock_exchange =
        |token, value| post("stock_exchange", "stock-exchange-secret", token, value);
    // The SMS gateway, with its own secret and a token it can make for itself.
    let sms_token = token("sms-gateway-secret", "sms_gateway", &key);
    let res = from_sms_gateway(Some(sms_token), 999_999_999).await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "wrong-connector", "{body}");
    // The SMS gateway with the guessed key and no token.
    let res = from_sms_gateway(None, 999_999_999).await;
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "bad-callback-token", "{body}");
    // Even the right connector must bring back the token it was sent, not one it made up.
    let res = from_stock_exchange(
        Some(token("stock-exchange-secret", "stock_exchange", "i-x:y:1")),
        999_999_999,
    )
    .await;
    assert_eq!(res.status(), 403);
    let after = history(&engine, &stream).await;
    assert_eq!(after.len(), before, "a refused callback changes nothing");
    assert!(
        !after
            .iter()
            .any(|e| matches!(&e.event, Event::MessageReceived { .. }))
    );

    // Kept for review: the admins see each refused callback, marked as refused.
    let admin = mint(&keys, "ops", "judiciary", Role::Admin);
    let kept = daftar_testkit::json_of(
        reqwest::Client::new()
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
    let res = from_stock_exchange(Some(real), 300_000_000).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let state = engine.state(&stream).await.unwrap();
    assert_eq!(state.vars["securities_frozen_value"], json!(300_000_000));
}
