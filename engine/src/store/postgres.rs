//! The shared store: PostgreSQL, for many stateless engine nodes on one database.
//!
//! - A batch is one ordinary (read committed) transaction. Appends are fenced by the unique
//!   (agency, instance, version) constraint: when two nodes append the same version, the second
//!   insert waits for the first transaction and then fails; that failure is a
//!   [`StoreError::Conflict`], like a stale expected version.
//! - Each commit runs inside a `SAVEPOINT`, so a conflict (even one raised by PostgreSQL,
//!   which aborts the transaction until rolled back to the savepoint) costs only that commit.
//! - A batch's commits are applied stream by stream in a fixed order (results are still
//!   reported in the caller's order), so two nodes' batches lock rows in the same order and do
//!   not deadlock. What a commit writes, and every query, is the same code as SQLite's
//!   (`sql.rs`, `write.rs`); this file holds the connection setup.
//! - Jobs are leased with `FOR UPDATE SKIP LOCKED`: two nodes never lease the same job.
//! - Every time comes from the database clock (`now()`); `timestamptz` keeps microseconds,
//!   which is what event hashes cover.

use sqlx::Postgres;
use sqlx::postgres::PgPoolOptions;

use super::StoreError;
use super::rows::db;
use super::sql::SqlStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The PostgreSQL store.
pub type PgStore = SqlStore<Postgres>;

impl SqlStore<Postgres> {
    /// Connects to `url` and migrates the database only if it already holds a daftar store (an
    /// `events` table on its search path); a database or schema without one is left untouched.
    pub async fn open_existing(url: &str) -> Result<Self, StoreError> {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(url).await.map_err(db)?;
        let found: bool = sqlx::query_scalar("SELECT to_regclass('events') IS NOT NULL")
            .fetch_one(&mut conn)
            .await
            .map_err(db)?;
        conn.close().await.map_err(db)?;
        if !found {
            return Err(super::no_store(
                "the PostgreSQL database (on its search path) holds no daftar store",
            ));
        }
        Self::open(url).await
    }

    /// Connects to `url` (`postgres://user@host/db`) and migrates the database.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await
            .map_err(db)?;
        MIGRATOR.run(&pool).await.map_err(db)?;
        Ok(SqlStore {
            reads: pool.clone(),
            writer: pool,
            keyring: Default::default(),
            ahead: Default::default(),
        })
    }
}
