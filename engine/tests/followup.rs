//! Two nodes on one store push status changes to the national follow-up system (the
//! simulator, over real HTTP): one node at a time delivers a subscription, so the receiver
//! takes every event once, not once per node. On a SQLite file and on PostgreSQL.
//!
//! PostgreSQL: `DAFTAR_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! a fresh schema, dropped at the end. Without a server the PostgreSQL case passes with a loud
//! `PostgreSQL tests SKIPPED` on stderr, unless `DAFTAR_REQUIRE_POSTGRES=1`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use daftar_engine::connectors::Connectors;
use daftar_engine::connectors::scripted::Scripted;
use daftar_engine::core::InstanceState;
use daftar_engine::events::Actor;
use daftar_engine::runtime::Engine;
use daftar_engine::runtime::followup;
use daftar_engine::runtime::workers::{self, Pace};
use daftar_testkit::simulator;
use serde_json::{Value, json};

const WORKFLOW: &str = daftar_testkit::certificate_workflow!("certificate", "");
/// Requests filed.
const REQUESTS: usize = 6;

fn connectors() -> Connectors {
    let mut answers = BTreeMap::new();
    answers.insert(
        "judiciary_records.criminal_record".to_owned(),
        json!({"has_record": false}),
    );
    Connectors {
        inquiries: Some(Arc::new(Scripted::new(answers))),
        notifier: None,
        payments: None,
    }
}

/// A node on the store at `url`, its loops looking for work every 10 ms.
async fn node(url: &str) -> (Arc<Engine>, workers::Background) {
    let store = daftar_engine::store::open(url).await.unwrap();
    let engine = Engine::open(store, connectors()).await.unwrap();
    engine.deploy("certificate.yaml", WORKFLOW).await.unwrap();
    let pace = Pace {
        poll: Duration::from_millis(10),
        lease: Duration::from_secs(30),
        batch: 64,
    };
    let loops = workers::spawn(engine.clone(), pace);
    (engine, loops)
}

async fn two_nodes_deliver_each_event_once(url: &str) {
    let sim = simulator::start(simulator::quick_config()).await;
    let (a, _a_loops) = node(url).await;
    let (_b, _b_loops) = node(url).await;

    let mut streams = Vec::new();
    for _ in 0..REQUESTS {
        let input = json!({"national_id": "0499370899", "mobile": "09121234567"});
        let filed = a
            .start("judiciary", "certificate", input, None, Actor::Citizen)
            .await
            .unwrap();
        streams.push(filed.stream);
    }
    // What the receiver must hold: every filing, status change and end, once.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut expected = 0;
    for s in &streams {
        loop {
            // As the store holds it: the other node may have performed some of its jobs.
            let history = a.store().load(s).await.unwrap();
            let state = InstanceState::fold(history.iter().map(|e| &e.event));
            if state.ended() {
                break;
            }
            assert!(Instant::now() < deadline, "{s} did not end: {state:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let history = a.store().load(s).await.unwrap();
        expected += history
            .iter()
            .filter(|e| followup::kind(&e.event).is_some())
            .count();
    }
    // Subscribed once every request has ended, so that both nodes find the whole log there
    // to deliver at once. (While several nodes write, a PostgreSQL reader by position may
    // pass over an event whose transaction commits after a later position's: see the note
    // in docs/operations.md.)
    let subscription = simulator::followup_subscription(&sim);
    let secret = subscription.secret.clone();
    let (status, _) =
        simulator::put_json(&format!("{sim}/__sim/followup"), json!({"secret": secret})).await;
    assert_eq!(status, 200);
    a.store().add_subscription(&subscription).await.unwrap();
    loop {
        let seen = simulator::get(&format!("{sim}/__sim/followup")).await;
        if seen["events"]
            .as_array()
            .is_some_and(|e| e.len() >= expected)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {expected} events arrived: {seen}",
            seen["events"].as_array().map_or(0, Vec::len)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Both nodes look for new events every 10 ms meanwhile; give a second sender time to show.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = simulator::get(&format!("{sim}/__sim/followup")).await;
    let taken = |v: &Value| {
        v["received"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"].as_u64().is_some_and(|s| s < 300))
            .count()
    };
    assert_eq!(seen["events"].as_array().unwrap().len(), expected, "{seen}");
    assert_eq!(
        taken(&seen),
        expected,
        "events delivered more than once: {seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_two_nodes_deliver_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("daftar.db").display());
    two_nodes_deliver_each_event_once(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_two_nodes_deliver_each_event_once() {
    let Some((url, _schema)) = daftar_testkit::pg::schema().await else {
        return;
    };
    two_nodes_deliver_each_event_once(&url).await;
}
