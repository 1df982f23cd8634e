//! Two `daftar work` processes at once on one PostgreSQL database, each filing requests: every
//! job is performed by one node only (no inquiry attempt twice, no SMS twice), every instance
//! ends once and every hash chain holds.
//!
//! PostgreSQL: `DAFTAR_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! a fresh schema per run, dropped at the end. Without a server the test passes with a loud
//! `PostgreSQL tests SKIPPED` on stderr, unless `DAFTAR_REQUIRE_POSTGRES=1`.

mod support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection};
use support::{Files, Node, check, wait_settled};

/// Requests each node files.
const EACH: usize = 30;

/// Drops the test's schema when the test ends, even when it panics.
struct Schema {
    admin_url: String,
    name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, sql) = (
            self.admin_url.clone(),
            format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        );
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                    let _ = sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await;
                }
            });
        })
        .join();
    }
}

/// A fresh schema and the URL that selects it, or `None` (after a loud notice) when
/// PostgreSQL cannot be reached and is not required.
async fn fresh_schema() -> Option<(Schema, String)> {
    let admin_url = std::env::var("DAFTAR_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!("daftar_two_nodes_{}_{nanos}", std::process::id());
    let created = async {
        let mut conn = tokio::time::timeout(
            Duration::from_secs(5),
            sqlx::PgConnection::connect(&admin_url),
        )
        .await
        .map_err(|_| "timed out connecting".to_owned())?
        .map_err(|e| e.to_string())?;
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(())
    };
    if let Err(reason) = created.await {
        if std::env::var("DAFTAR_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("PostgreSQL is required (DAFTAR_REQUIRE_POSTGRES=1) but: {reason}");
        }
        // Straight to stderr: the test harness captures `eprintln!` of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!! PostgreSQL tests SKIPPED: {reason} !!!!!\n"
        );
        return None;
    }
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options=-c%20search_path%3D{name}");
    Some((Schema { admin_url, name }, url))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_database_perform_each_job_once() {
    let began = Instant::now();
    let Some((_schema, url)) = fresh_schema().await else {
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
