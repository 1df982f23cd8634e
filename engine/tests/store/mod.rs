//! The contract suite's harness: a fresh store of either backend per test, raw SQL access for
//! the tests that look behind the trait (tampering, row counts), and commit builders.
//!
//! - SQLite: a new file in a temporary directory, removed at the end.
//! - PostgreSQL (`DAFTAR_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`):
//!   a uniquely named schema, chosen with `search_path` in the URL and dropped at the end (even
//!   when the test panics). When the server cannot be reached the test passes with a loud
//!   `PostgreSQL tests SKIPPED` on stderr, unless `DAFTAR_REQUIRE_POSTGRES=1`.

#![allow(dead_code)]

pub mod ahead;
pub mod audit;
pub mod listing;
pub mod pages;
pub mod rows;
pub mod streams;
pub mod subscriptions;
pub mod worklist;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use daftar_engine::events::{Actor, Event, StreamId};
use daftar_engine::store::{
    self, Commit, Committed, DefinitionRef, InstanceRow, Store, StoreError,
};
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection};

/// Which store a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What a test gets: the store, and its URL (to open a second store on the same database, as
/// a second node would, or to run SQL directly).
#[derive(Clone, Debug)]
pub struct Ctx {
    pub backend: Backend,
    pub store: Arc<dyn Store>,
    pub url: String,
}

/// Removes what a test created, when the test ends.
#[derive(Debug)]
pub enum Guard {
    Sqlite(tempfile::TempDir),
    Postgres(daftar_testkit::pg::Schema),
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A unique suffix for names in this test run.
pub fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{}_{}_{nanos}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh store, or `None` when PostgreSQL is unreachable and not required.
pub async fn setup(backend: Backend) -> Option<(Ctx, Guard)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("daftar.db").display());
            let store = store::open(&url).await.expect("open SQLite store");
            Some((
                Ctx {
                    backend,
                    store,
                    url,
                },
                Guard::Sqlite(dir),
            ))
        }
        Backend::Postgres => {
            let (url, schema) = daftar_testkit::pg::schema().await?;
            let guard = Guard::Postgres(schema);
            let store = store::open(&url).await.expect("open PostgreSQL store");
            Some((
                Ctx {
                    backend,
                    store,
                    url,
                },
                guard,
            ))
        }
    }
}

/// Runs one contract case against a fresh store of `backend`.
pub async fn run<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    if let Some((ctx, _guard)) = setup(backend).await {
        case(ctx).await;
    }
}

/// `$body` with `$c` a new connection to the case's database, of either backend (the same
/// code for both connection types).
macro_rules! connected {
    ($ctx:expr, |$c:ident| $body:expr) => {
        match $ctx.backend {
            Backend::Sqlite => {
                let mut $c = sqlx::SqliteConnection::connect(&$ctx.url).await.unwrap();
                $body
            }
            Backend::Postgres => {
                let mut $c = sqlx::PgConnection::connect(&$ctx.url).await.unwrap();
                $body
            }
        }
    };
}

impl Ctx {
    /// Runs SQL directly on the database, behind the store's back.
    pub async fn exec(&self, sql: &str) -> u64 {
        let sql = AssertSqlSafe(sql.to_owned());
        connected!(self, |c| sqlx::query(sql)
            .execute(&mut c)
            .await
            .unwrap()
            .rows_affected())
    }

    /// A query's single integer, read directly from the database.
    pub async fn scalar(&self, sql: &str) -> i64 {
        let sql = AssertSqlSafe(sql.to_owned());
        connected!(self, |c| sqlx::query_scalar(sql)
            .fetch_one(&mut c)
            .await
            .unwrap())
    }

    /// How many rows a table has.
    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM {table}")).await
    }

    /// Commits one commit alone; the batch itself must succeed.
    pub async fn commit(&self, c: Commit) -> Result<Committed, StoreError> {
        let mut results = self.store.commit(&[c]).await.expect("the batch commits");
        assert_eq!(results.len(), 1);
        results.remove(0)
    }
}

pub fn stream(agency: &str, instance: &str) -> StreamId {
    StreamId {
        agency: agency.to_owned(),
        instance: instance.to_owned(),
    }
}

/// A fixed time with microseconds (what both databases keep).
pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A commit of `events` with no side effects and a running instance row.
pub fn commit(s: &StreamId, expected: u64, command: &str, events: Vec<Event>) -> Commit {
    Commit {
        stream: s.clone(),
        expected_version: expected,
        command_id: command.to_owned(),
        actor: Actor::Officer("officer-7".to_owned()),
        definition: DefinitionRef {
            workflow: "permit".to_owned(),
            version: 3,
            hash: "sha256:d3f1".to_owned(),
        },
        events,
        jobs: Vec::new(),
        completes_job: None,
        timers: Vec::new(),
        dropped_timers: Vec::new(),
        instance: InstanceRow {
            workflow: "permit".to_owned(),
            workflow_version: 3,
            tracking_code: format!("TRK-{}-{}", s.agency, s.instance),
            status: None,
            state: "running".to_owned(),
            incidents: 0,
            sla_breached: false,
            started_at: t("2026-03-01T08:00:00.123456Z"),
            filed_by: None,
            document_id: None,
        },
        tasks: Vec::new(),
        lease: None,
        joined: Vec::new(),
        payloads: Vec::new(),
    }
}

pub fn step(name: &str) -> Event {
    Event::StepEntered {
        token: 0,
        step: name.to_owned(),
    }
}

pub fn data(step: &str, key: &str, value: serde_json::Value) -> Event {
    Event::DataSet {
        step: step.to_owned(),
        values: [(key.to_owned(), value)].into_iter().collect(),
    }
}

/// An event with awkward JSON: nesting, floats, unicode, escapes.
pub fn started(s: &StreamId) -> Event {
    Event::InstanceStarted {
        instance: s.instance.clone(),
        workflow: "permit".to_owned(),
        version: 3,
        hash: "sha256:d3f1".to_owned(),
        agency: s.agency.clone(),
        tracking_code: format!("TRK-{}-{}", s.agency, s.instance),
        input: json!({
            "name": "زهرا \"Zahra\" Ahmadi\n",
            "area_m2": 120.75,
            "ratio": 0.1,
            "tiny": 1e-12,
            "big": 18446744073709551615u64,
            "neg": -42,
            "list": [1, 2.5, null, true, {"z": 1, "a": 2}],
        }),
        filed_at: t("2026-03-01T08:00:00.123456Z"),
        parent: None,
        filed_by: None,
    }
}
