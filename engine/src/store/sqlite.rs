//! The embedded store: one SQLite file, no server.
//!
//! - WAL and `synchronous=FULL`: readers never wait for the writer, and a commit is on disk
//!   when it returns.
//! - Writes go through ONE connection (the engine has a single writer), reads through a small
//!   pool of `query_only` connections.
//! - A batch is one `BEGIN IMMEDIATE` transaction; each commit of a batch runs inside a
//!   `SAVEPOINT`, so a conflicting commit is rolled back alone and the others still go in. What
//!   a commit writes, and every query, is the same code as PostgreSQL's (`sql.rs`, `write.rs`);
//!   this file holds the connection setup and the one read SQLite does its own way.
//! - The clock is SQLite's (`'now'`, millisecond resolution); times are stored as fixed-width
//!   text (see `rows::ts`) so that SQL compares them and they read back exactly.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::StoreError;
use super::rows::{EventRow, db, parse_ts};
use super::sql::{Page, SqlStore};
use crate::events::StoredEvent;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The SQLite store.
pub type SqliteStore = SqlStore<Sqlite>;

impl SqlStore<Sqlite> {
    /// Opens and migrates the store at `url` only if the file exists and holds a daftar store;
    /// a missing file is not created, and a file that is not a store is left untouched.
    pub async fn open_existing(url: &str) -> Result<Self, StoreError> {
        use sqlx::ConnectOptions as _;
        let probe = SqliteConnectOptions::from_str(url)
            .map_err(db)?
            .create_if_missing(false);
        let path = probe.get_filename().to_owned();
        if !path.is_file() {
            return Err(super::no_store(format_args!(
                "there is no SQLite file at {}",
                path.display()
            )));
        }
        let mut conn = probe.connect().await.map_err(db)?;
        let tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'events'",
        )
        .fetch_one(&mut conn)
        .await
        .map_err(|_| {
            super::no_store(format_args!("{} is not an SQLite database", path.display()))
        })?;
        sqlx::Connection::close(conn).await.map_err(db)?;
        if tables == 0 {
            return Err(super::no_store(format_args!(
                "{} holds no daftar store",
                path.display()
            )));
        }
        Self::open(url).await
    }

    /// Opens (creating it if missing) and migrates the database at `url`
    /// (`sqlite://path/to/file.db`). The store must be a file.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(StoreError::Database(
                "the SQLite store must be a file, not an in-memory database".to_owned(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(db)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Savepoints journal the pages they change; in memory, not in a temporary file.
            .pragma("temp_store", "memory")
            // 64 MiB of pages per connection rather than 2 MiB: with the default, the writer
            // read index pages back from the file on every batch (docs/benchmarks.md).
            .pragma("cache_size", "-65536");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(db)?;
        MIGRATOR.run(&writer).await.map_err(db)?;
        let reads = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.pragma("query_only", "ON"))
            .await
            .map_err(db)?;
        Ok(SqlStore {
            reads,
            writer,
            keyring: Default::default(),
            ahead: Default::default(),
        })
    }
}

/// An event row in a page read as one JSON array, its columns in `EventRow` order.
#[derive(serde::Deserialize)]
struct PagedRow(
    String,
    String,
    i64,
    i64,
    String,
    String,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

/// The events of a page, their payloads as stored, read as one JSON array.
pub(super) async fn read_stored(
    pool: &SqlitePool,
    page: Page,
) -> Result<Vec<StoredEvent>, StoreError> {
    // The page comes back as one JSON array, one row in all: sqlx hands SQLite's rows over
    // from its connection thread one at a time, which cost more than reading and hashing
    // them (docs/benchmarks.md). The texts (payloads included) go through JSON string
    // escaping, which gives back exactly the same text.
    let page: Option<String> = sqlx::query_scalar(
        "SELECT json_group_array(json_array(agency, instance, version, position, \
         recorded_at, workflow, workflow_version, definition_hash, actor, command_id, \
         type, payload, prev_hash, hash) ORDER BY position) \
         FROM (SELECT * FROM events WHERE position > ? AND position <= ? \
         ORDER BY position LIMIT ?)",
    )
    .bind(i64::try_from(page.after).unwrap_or(i64::MAX))
    .bind(i64::try_from(page.until).unwrap_or(i64::MAX))
    .bind(i64::from(page.limit))
    .fetch_one(pool)
    .await
    .map_err(db)?;
    let Some(page) = page else {
        return Ok(Vec::new());
    };
    let rows: Vec<PagedRow> = serde_json::from_str(&page)
        .map_err(|e| StoreError::Database(format!("a page of events is unreadable: {e}")))?;
    rows.into_iter()
        .map(|r| {
            EventRow {
                agency: r.0,
                instance: r.1,
                version: r.2,
                position: r.3,
                recorded_at: parse_ts(&r.4)?,
                workflow: r.5,
                workflow_version: r.6,
                definition_hash: r.7,
                actor: r.8,
                command_id: r.9,
                kind: r.10,
                payload: r.11,
                prev_hash: r.12,
                hash: r.13,
            }
            .into_stored()
        })
        .collect()
}
