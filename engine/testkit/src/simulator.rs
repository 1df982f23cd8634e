//! Shared test helpers: start the simulator in-process on an ephemeral port over the example
//! seed, and a tiny callback listener that collects what is posted to it.

use std::time::Duration;

use axum::Json;
use axum::http::HeaderMap;
use daftar_simulator::{Config, Seed, Simulator};
use serde_json::Value;
use tokio::sync::mpsc;

/// The example seed.
pub fn seed() -> Seed {
    let text = include_str!("../../../examples/simulator/seed.yaml");
    Seed::from_yaml(text).expect("the example seed loads")
}

/// A configuration without latency and with short callback delays.
pub fn quick_config() -> Config {
    let mut c = Config::default();
    c.defaults.callback_delay_ms = 50;
    c
}

/// Starts a simulator; returns its base URL.
pub async fn start(config: Config) -> String {
    let sim = Simulator::new(seed(), config).expect("simulator");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(daftar_simulator::serve(listener, sim));
    url
}

/// A client with a generous timeout.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Posts `body` with an idempotency key and returns the status and JSON answer.
pub async fn post(url: &str, key: &str, body: Value) -> (u16, Value) {
    let r = client()
        .post(url)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// PUTs JSON and returns the status and JSON answer.
pub async fn put_json(url: &str, body: Value) -> (u16, Value) {
    let r = client().put(url).json(&body).send().await.expect("send");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// GETs JSON.
pub async fn get(url: &str) -> Value {
    client()
        .get(url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

/// A callback received: its Idempotency-Key header and body.
pub type Received = (Option<String>, Value);

/// Starts a listener that accepts every POST to `/cb`; returns its URL and the receiver.
pub async fn callback_listener() -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |headers: HeaderMap, Json(body): Json<Value>| {
            let tx = tx.clone();
            async move {
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let _ = tx.send((key, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/cb", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

/// Waits up to five seconds for the next callback.
pub async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a callback within 5 s")
        .expect("listener alive")
}

/// Starts a simulator over the example seed and configuration (`examples/simulator/`);
/// returns its base URL.
pub async fn example() -> String {
    let root = crate::root();
    let sim = Simulator::from_files(
        &root.join("examples/simulator/seed.yaml"),
        &root.join("examples/simulator/config.yaml"),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(daftar_simulator::serve(listener, sim));
    format!("http://{addr}")
}

/// The example connector catalog (`examples/connectors.yaml`), as it is.
pub fn example_catalog() -> daftar_definitions::catalog::Catalog {
    let text = std::fs::read_to_string(crate::root().join("examples/connectors.yaml")).unwrap();
    daftar_definitions::load_catalog("connectors.yaml", &text).unwrap()
}

/// Asks the simulator's agency operation `target` (`connector/operation`) with the
/// idempotency key `key`; answers the status and the JSON answer.
pub async fn ask(base: &str, target: &str, key: &str, body: Value) -> (u16, Value) {
    post(&format!("{base}/agencies/{target}"), key, body).await
}

/// A simulator with the quick configuration and a listener for its callbacks: answers the
/// simulator's base URL, the listener's URL and what it receives.
pub async fn with_callbacks() -> (String, String, mpsc::UnboundedReceiver<Received>) {
    let base = start(quick_config()).await;
    let (callbacks, received) = callback_listener().await;
    (base, callbacks, received)
}

/// Has `agency` take every request and hang for five seconds, past any client's timeout.
pub async fn hang(base: &str, agency: &str) {
    let faults = serde_json::json!({"timeout_rate": 1.0, "timeout_ms": 5000});
    set_faults(base, agency, faults).await;
}

/// Replaces an agency's faults through `PUT /__sim/config`.
pub async fn set_faults(base: &str, agency: &str, faults: Value) {
    let client = reqwest::Client::new();
    let mut config = crate::json_of(client.get(format!("{base}/__sim/config"))).await;
    config["agencies"][agency] = faults;
    let put = client
        .put(format!("{base}/__sim/config"))
        .json(&config)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.text().await.unwrap());
}

/// One of the simulator's logs (`/__sim/sms`, `/__sim/requests`, ...), as a list.
pub async fn journal(base: &str, what: &str) -> Vec<Value> {
    let all = crate::json_of(reqwest::Client::new().get(format!("{base}/__sim/{what}"))).await;
    all.as_array().cloned().unwrap()
}

/// How many deliveries the follow-up system's log (`/__sim/followup`) shows it refused (503).
pub fn followup_refusals(seen: &Value) -> usize {
    seen["received"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == 503)
        .count()
}

/// A subscription of the judiciary's requests for the follow-up system of the simulator at
/// `sim`, signed with a new secret, from the start of the log.
pub fn followup_subscription(sim: &str) -> daftar_engine::store::Subscription {
    use daftar_engine::runtime::followup;
    daftar_engine::store::Subscription {
        agency: "judiciary".to_owned(),
        id: followup::new_id(),
        url: format!("{sim}/followup/events"),
        types: Vec::new(),
        services: Vec::new(),
        secret: followup::new_secret(),
        position: 0,
        created_at: chrono::Utc::now(),
    }
}
