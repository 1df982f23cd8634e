//! What a node holds in memory of the requests going on: on a store several nodes share
//! (PostgreSQL), a request another node moved on is read as the store holds it, not as this
//! node last decided it; and a request that ended is no longer held, on either store.
//!
//! PostgreSQL: `DAFTAR_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! a fresh schema, dropped at the end. Without a server the PostgreSQL case passes with a loud
//! `PostgreSQL tests SKIPPED` on stderr, unless `DAFTAR_REQUIRE_POSTGRES=1`.

use std::sync::Arc;

use daftar_engine::connectors::Connectors;
use daftar_engine::core::Command;
use daftar_engine::events::{Actor, StreamId};
use daftar_engine::runtime::Engine;

const WORKFLOW: &str = daftar_testkit::certificate_workflow!("certificate", "");

/// A node on the store at `url`, with no connectors and no loops: nothing moves by itself.
async fn node(url: &str) -> Arc<Engine> {
    let store = daftar_engine::store::open(url).await.unwrap();
    let connectors = Connectors {
        inquiries: None,
        notifier: None,
        payments: None,
    };
    let engine = Engine::open(store, connectors).await.unwrap();
    engine.deploy("certificate.yaml", WORKFLOW).await.unwrap();
    engine
}

async fn filed(engine: &Engine) -> StreamId {
    let input = serde_json::json!({"national_id": "0499370899", "mobile": "09121234567"});
    engine
        .start("judiciary", "certificate", input, None, Actor::Citizen)
        .await
        .unwrap()
        .stream
}

/// An officer of `engine`'s node cancels the request.
async fn cancelled(engine: &Engine, stream: &StreamId) {
    let cancel = Command::Cancel {
        reason: "withdrawn by the applicant".to_owned(),
    };
    let officer = Actor::Officer("o-1".into());
    engine
        .execute(stream, &cancel, "cancel-1", officer, None)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_request_another_node_moved_on_is_read_as_the_store_holds_it() {
    let Some((url, _schema)) = daftar_testkit::pg::schema().await else {
        return;
    };
    let a = node(&url).await;
    let b = node(&url).await;
    let stream = filed(&a).await;
    let before = a.state(&stream).await.unwrap();
    assert!(a.holds(&stream) && !before.ended());
    // The other node cancels it: this node's memory is behind the stream now.
    cancelled(&b, &stream).await;
    let after = a.state(&stream).await.unwrap();
    assert!(
        after.ended(),
        "read as this node last decided it: {after:?}"
    );
    assert!(after.version > before.version);
    assert!(!a.holds(&stream), "an ended request stays in memory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_ended_is_no_longer_held() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("daftar.db").display());
    let a = node(&url).await;
    let stream = filed(&a).await;
    assert!(a.holds(&stream));
    cancelled(&a, &stream).await;
    assert!(!a.holds(&stream));
    // Read again from the store, and not kept.
    assert!(a.state(&stream).await.unwrap().ended());
    assert!(!a.holds(&stream));
}
