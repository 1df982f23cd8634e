//! Two `daftar work` processes at once on one PostgreSQL database, each filing requests: every
//! job is performed by one node only (no inquiry attempt twice, no SMS twice), every instance
//! ends once and every hash chain holds.
//!
//! PostgreSQL: `DAFTAR_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! a fresh schema per run, dropped at the end. Without a server the test passes with a loud
//! `PostgreSQL tests SKIPPED` on stderr, unless `DAFTAR_REQUIRE_POSTGRES=1`.

use daftar_testkit::pg;
use daftar_testkit::process as support;

use std::time::{Duration, Instant};

use support::{Files, Node, check, wait_settled};

/// Requests each node files.
const EACH: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_database_perform_each_job_once() {
    let began = Instant::now();
    let Some((url, _schema)) = pg::schema().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // One log for both nodes: each line is one O_APPEND write, and each node's SMS lookup
    // sees what the other sent.
    let files = Files::new(dir.path());
    // Long leases: both nodes stay up, so a job is never taken over while it is performed.
    let mut a = Node::spawn(&files, &url, EACH, 0, 30_000, 5, "a");
    let mut b = Node::spawn(&files, &url, EACH, 0, 30_000, 5, "b");

    let deadline = Instant::now() + Duration::from_secs(60);
    while a.acknowledged() < EACH || b.acknowledged() < EACH {
        for (name, node) in [("a", &mut a), ("b", &mut b)] {
            if let Some(status) = node.exited() {
                panic!(
                    "node {name} exited ({status}): {}",
                    std::fs::read_to_string(&node.stderr).unwrap_or_default()
                );
            }
        }
        assert!(Instant::now() < deadline, "the nodes did not start all");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let store = daftar_engine::store::open(&url).await.unwrap();
    wait_settled(store.as_ref(), Duration::from_secs(60), "two nodes").await;
    let mut acknowledged = a.kill();
    acknowledged.extend(b.kill());
    assert_eq!(acknowledged.len(), 2 * EACH);

    let report = check(store.as_ref(), &files.log, &acknowledged, true).await;
    assert_eq!(report.streams, 2 * EACH, "instances nobody acknowledged");
    assert_eq!(report.inquiries_performed, 2 * EACH);
    eprintln!("two nodes: {report:?}, {:?}", began.elapsed());
}
