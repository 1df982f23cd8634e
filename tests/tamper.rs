//! Tampering behind the store's back, on a real SQLite file and a real PostgreSQL schema: each
//! edit an auditor must catch (a payload's whitespace, its key order, a field appended, two
//! events swapped, the last event deleted, a whole stream deleted with its row left, the `type`
//! column edited, `instances.state` edited) is made to a store `daftar run` filled, and both
//! `daftar verify` and `GET /api/v1/audit/verify` (served over HTTP on the same store) must
//! fail naming the stream. PostgreSQL is skipped, loudly, when the server cannot be reached
//! (unless `DAFTAR_REQUIRE_POSTGRES=1`).

use daftar_testkit::process::run_clean_record;
use std::time::Duration;

use daftar_api::auth::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, Keys, Role};
use daftar_api::state::{AppState, Config};
use daftar_engine::connectors::Connectors;
use daftar_engine::runtime::Engine;
use daftar_testkit::process::daftar;
use serde_json::Value;
use sqlx::{AssertSqlSafe, Connection};

use daftar_testkit::pg;

const AGENCY: &str = "judiciary";
const SECRET: &[u8] = b"tamper-tests-secret-of-at-least-32-bytes";

/// A `--db` value as a URL: a plain path is an SQLite file.
fn store_url(db: &str) -> String {
    if db.contains("://") {
        db.to_owned()
    } else {
        format!("sqlite://{db}")
    }
}

/// One way to alter a store, as SQL run directly on the database.
#[derive(Clone, Copy, Debug)]
enum Edit {
    /// Spaces after the commas of a payload: the same event once decoded.
    Whitespace,
    /// A payload's `type` moved to the front: the same object, its keys reordered.
    KeyOrder,
    /// A field appended to a payload.
    AppendedField,
    /// Two events' positions swapped: the store says the later happened first.
    SwappedPositions,
    /// Two events' versions swapped.
    SwappedVersions,
    /// The stream's last event deleted.
    DeletedLastEvent,
    /// The stream's events deleted, every other row left.
    DeletedStream,
    /// The stream's events and every row naming it deleted but its `instances` row.
    DeletedStreamButInstance,
    /// An event's `type` column edited.
    TypeColumn,
    /// The request's `instances.state` edited.
    InstanceState,
}

const EDITS: [Edit; 10] = [
    Edit::Whitespace,
    Edit::KeyOrder,
    Edit::AppendedField,
    Edit::SwappedPositions,
    Edit::SwappedVersions,
    Edit::DeletedLastEvent,
    Edit::DeletedStream,
    Edit::DeletedStreamButInstance,
    Edit::TypeColumn,
    Edit::InstanceState,
];

/// A database connection of either backend, for SQL behind the store's back.
enum Db {
    Sqlite(sqlx::SqliteConnection),
    Pg(sqlx::PgConnection),
}

impl Db {
    async fn open(url: &str) -> Db {
        if !url.starts_with("postgres") {
            Db::Sqlite(
                sqlx::SqliteConnection::connect(&store_url(url))
                    .await
                    .unwrap(),
            )
        } else {
            Db::Pg(sqlx::PgConnection::connect(url).await.unwrap())
        }
    }

    async fn exec(&mut self, sql: &str) -> u64 {
        let sql = AssertSqlSafe(sql.to_owned());
        match self {
            Db::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.unwrap().rows_affected(),
            Db::Pg(c) => sqlx::raw_sql(sql).execute(c).await.unwrap().rows_affected(),
        }
    }

    /// The column `column` of the event at `version`, as text.
    async fn column(&mut self, column: &str, version: u32) -> String {
        let sql = |cast: String| format!("SELECT {cast} FROM events WHERE version = {version}");
        match self {
            Db::Sqlite(c) => {
                sqlx::query_scalar(AssertSqlSafe(sql(format!("CAST({column} AS TEXT)"))))
                    .fetch_one(c)
                    .await
                    .unwrap()
            }
            Db::Pg(c) => sqlx::query_scalar(AssertSqlSafe(sql(format!("{column}::text"))))
                .fetch_one(c)
                .await
                .unwrap(),
        }
    }

    /// The payload of the event at `version`, as stored.
    async fn payload(&mut self, version: u32) -> String {
        self.column("payload", version).await
    }

    /// The position of the event at `version`.
    async fn position(&mut self, version: u32) -> i64 {
        self.column("position", version).await.parse().unwrap()
    }

    /// Runs `sql`, which must change exactly one row.
    async fn exec_one(&mut self, sql: &str) {
        assert_eq!(self.exec(sql).await, 1, "{sql}");
    }

    async fn set_payload(&mut self, version: u32, payload: &str) {
        let quoted = payload.replace('\'', "''");
        self.exec_one(&format!(
            "UPDATE events SET payload = '{quoted}' WHERE version = {version}"
        ))
        .await;
    }

    async fn close(self) {
        match self {
            Db::Sqlite(c) => c.close().await.unwrap(),
            Db::Pg(c) => c.close().await.unwrap(),
        }
    }
}

/// Makes `edit` to the one stream of the store at `url`.
async fn tamper(url: &str, edit: Edit) {
    let mut db = Db::open(url).await;
    let pg = matches!(db, Db::Pg(_));
    match edit {
        Edit::Whitespace => {
            let p = db.payload(2).await;
            db.set_payload(2, &p.replace(",\"", ", \"")).await;
        }
        Edit::KeyOrder => {
            let p = db.payload(1).await;
            let moved = p.replace(",\"type\":\"InstanceStarted\"", "");
            assert_ne!(moved, p, "{p}");
            db.set_payload(1, &moved.replacen('{', "{\"type\":\"InstanceStarted\",", 1))
                .await;
        }
        Edit::AppendedField => {
            let p = db.payload(3).await;
            db.set_payload(3, &format!("{},\"approved\":true}}", &p[..p.len() - 1]))
                .await;
        }
        Edit::SwappedPositions => {
            if pg {
                db.exec("ALTER TABLE events ALTER COLUMN position SET GENERATED BY DEFAULT")
                    .await;
            }
            let (p3, p4) = (db.position(3).await, db.position(4).await);
            db.exec(&format!(
                "UPDATE events SET position = -1 WHERE version = 3; \
                 UPDATE events SET position = {p3} WHERE version = 4; \
                 UPDATE events SET position = {p4} WHERE version = 3"
            ))
            .await;
        }
        Edit::SwappedVersions => {
            db.exec(
                "UPDATE events SET version = 1000000 WHERE version = 3; \
                 UPDATE events SET version = 3 WHERE version = 4; \
                 UPDATE events SET version = 4 WHERE version = 1000000",
            )
            .await;
        }
        Edit::DeletedLastEvent => {
            db.exec_one("DELETE FROM events WHERE version = (SELECT max(version) FROM events)")
                .await;
        }
        Edit::DeletedStream => {
            assert!(db.exec("DELETE FROM events").await > 5);
        }
        Edit::DeletedStreamButInstance => {
            db.exec(
                "DELETE FROM events; DELETE FROM commands; DELETE FROM jobs; \
                 DELETE FROM timers; DELETE FROM tasks",
            )
            .await;
        }
        Edit::TypeColumn => {
            db.exec_one("UPDATE events SET type = 'InstanceCancelled' WHERE version = 2")
                .await;
        }
        Edit::InstanceState => {
            db.exec_one("UPDATE instances SET state = 'rejected'").await;
        }
    }
    db.close().await;
}

/// Fills the store at `url` with one issued request, as `daftar run` does.
fn dry_run(url: &str, dir: &std::path::Path) {
    let out = run_clean_record(dir, url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

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
