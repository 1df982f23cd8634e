//! Tampering behind the store's back, on a real SQLite file and a real PostgreSQL schema: each
//! edit an auditor must catch (a payload's whitespace, its key order, a field appended, two
//! events swapped, the last event deleted, a whole stream deleted with its row left, the `type`
//! column edited, `instances.state` edited) is made to a store `daftar run` filled, and both
//! `daftar verify` and `GET /api/v1/audit/verify` (served over HTTP on the same store) must
//! fail naming the stream. PostgreSQL is skipped, loudly, when the server cannot be reached
//! (unless `DAFTAR_REQUIRE_POSTGRES=1`).

use std::time::Duration;

use daftar_api::auth::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, Keys, Role};
use daftar_api::state::{AppState, Config};
use daftar_engine::connectors::Connectors;
use daftar_engine::runtime::Engine;
use daftar_testkit::process::daftar;
use serde_json::Value;

use daftar_testkit::pg;

#[path = "tamper/edits.rs"]
mod edits;
use edits::{EDITS, dry_run, store_url, tamper};

const AGENCY: &str = "judiciary";
const SECRET: &[u8] = b"tamper-tests-secret-of-at-least-32-bytes";

/// What `GET /api/v1/audit/verify` answers a judiciary auditor, served over HTTP on the store
/// at `url`.
async fn api_verify(url: &str) -> Value {
    let store = daftar_engine::store::open_existing(&store_url(url))
        .await
        .unwrap();
    let engine = Engine::open(store, Connectors::default()).await.unwrap();
    let keys = Keys::hs256(SECRET, DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
    let token = keys
        .mint("auditor", AGENCY, vec![Role::Auditor], vec![], 600)
        .unwrap();
    let app = daftar_api::app(AppState::new(Config::new(engine, keys)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let response = reqwest::Client::new()
        .get(format!("http://{addr}/api/v1/audit/verify"))
        .bearer_auth(token)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.json().await.unwrap();
    server.abort();
    body
}

/// Both verifications of the store at `url`: the command's output and exit code, and the
/// API's answer.
async fn verify_both(url: &str) -> (Option<i32>, String, Value) {
    let out = daftar(&["verify", "--db", url]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code(), text, api_verify(url).await)
}

/// Every edit, each on a fresh store that `store()` makes (a URL, and what removes it).
async fn every_edit_is_caught<G>(
    store: impl Fn() -> std::pin::Pin<Box<dyn Future<Output = Option<(String, G)>>>>,
) {
    let mut missed = Vec::new();
    for edit in EDITS {
        let dir = tempfile::tempdir().unwrap();
        let Some((url, _guard)) = store().await else {
            return;
        };
        let url = if url.is_empty() {
            dir.path().join("daftar.db").display().to_string()
        } else {
            url
        };
        dry_run(&url, dir.path());
        let (code, text, api) = verify_both(&url).await;
        assert_eq!(code, Some(0), "{edit:?} before: {text}");
        assert_eq!(api["ok"], true, "{edit:?} before: {api}");

        tamper(&url, edit).await;
        let (code, text, api) = verify_both(&url).await;
        if code != Some(1) || !text.starts_with(&format!("FAIL stream {AGENCY}/")) {
            missed.push(format!("{edit:?}: the command passed it: {text}"));
        }
        let stream = api["failure"]["stream"].as_str().unwrap_or_default();
        if api["ok"] != false || !stream.starts_with(&format!("{AGENCY}/")) {
            missed.push(format!("{edit:?}: the API passed it: {api}"));
        } else if !text.contains(&format!("stream {stream}:")) {
            missed.push(format!(
                "{edit:?}: the command and the API name different streams: {text} / {api}"
            ));
        }
    }
    assert!(missed.is_empty(), "{missed:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_edit_of_an_sqlite_file_fails_verify_and_the_api() {
    // A plain path: the file in the case's own folder.
    every_edit_is_caught(|| Box::pin(async { Some((String::new(), ())) })).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_edit_of_a_postgres_store_fails_verify_and_the_api() {
    every_edit_is_caught(|| Box::pin(pg::schema())).await;
}
