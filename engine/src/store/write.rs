//! What a batch of commits writes, the same on both backends, so that they cannot drift apart
//! on what a commit, a duplicate or a conflict writes.
//!
//! A batch in which every commit goes in (the usual case) is written by the fast path of
//! `bulk.rs`, a few multi-row statements for the whole batch; otherwise each commit gets a
//! `SAVEPOINT`, and one that fails (a conflict, or a statement the database refused) is rolled
//! back to it alone, so the others still go in. Either way a commit's rows are gathered and
//! written by the same code (`bulk::Rows`, `write_rows`). Commits are applied stream by stream in a fixed
//! order (stable, so one stream's commits keep theirs; results come back in the caller's
//! order): two PostgreSQL nodes' batches then lock rows in the same order.

use chrono::{DateTime, Utc};

use super::bulk::Rows;
use super::dialect::shared;
use super::rows::{Fail, conflict, db, is_race};
use super::sql::SqlStore;
use super::{Commit, Committed, StoreError};
use crate::events::StreamId;

shared! {
impl SqlStore {
    /// Writes a batch inside the caller's transaction, recorded at `at`: by the fast path
    /// first when `fast`. `None` when the fast path failed part-way, having written some of
    /// its rows: the caller rolls the transaction back and calls again without it. (A
    /// savepoint around the fast path would spare that, at two statements a batch, every
    /// batch, for a race between nodes that is rare.)
    pub(super) async fn write_batch(
        conn: &mut D::Connection,
        batch: &[Commit],
        at: DateTime<Utc>,
        fast: bool,
    ) -> Result<Option<Vec<Result<Committed, StoreError>>>, StoreError> {
        let mut order: Vec<usize> = (0..batch.len()).collect();
        order.sort_by(|&a, &b| batch[a].stream.cmp(&batch[b].stream));
        if fast {
            match Self::bulk(conn, batch, &order, at).await {
                Ok(Some(results)) => return Ok(Some(results)),
                // Nothing written: each commit on its own, in this transaction.
                Ok(None) => {}
                Err(_) => return Ok(None),
            }
        }
        let mut results: Vec<Option<Result<Committed, StoreError>>> = vec![None; batch.len()];
        for i in order {
            let c = &batch[i];
            Self::run(conn, "SAVEPOINT one_commit").await?;
            let outcome = Self::apply(conn, c, at).await;
            if outcome.is_err() {
                Self::run(conn, "ROLLBACK TO SAVEPOINT one_commit").await?;
            }
            Self::run(conn, "RELEASE SAVEPOINT one_commit").await?;
            results[i] = Some(match outcome {
                Ok(done) => Ok(done),
                Err(Fail::Refused(e)) => Err(e),
                Err(Fail::Sql(e)) if is_race(&e) => Self::lost_race(conn, c).await.map_err(db)?,
                Err(Fail::Sql(e)) => Err(db(e)),
            });
        }
        Ok(Some(
            results
                .into_iter()
                .map(|r| r.expect("every commit has a result"))
                .collect(),
        ))
    }

    /// Runs a statement that binds nothing.
    async fn run(conn: &mut D::Connection, sql: &'static str) -> Result<(), StoreError> {
        sqlx::query(sql).execute(&mut *conn).await.map_err(db)?;
        Ok(())
    }

    /// The stream's version and last hash (0 and "" when it has no events).
    async fn head(conn: &mut D::Connection, s: &StreamId) -> Result<(u64, String), sqlx::Error> {
        let sql = "SELECT version, hash FROM events WHERE agency = $1 AND instance = $2 \
             ORDER BY version DESC LIMIT 1";
        let row: Option<(i64, String)> = Self::of_stream(sql, s).fetch_optional(&mut *conn).await?;
        Ok(row.map(|(v, h)| (v as u64, h)).unwrap_or_default())
    }

    /// The version a command id left its stream at, if the stream has seen it.
    async fn seen(conn: &mut D::Connection, c: &Commit) -> Result<Option<u64>, sqlx::Error> {
        let v: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM commands WHERE agency = $1 AND instance = $2 AND command_id = $3",
        )
        .bind(&c.stream.agency)
        .bind(&c.stream.instance)
        .bind(&c.command_id)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(v.map(|v| v as u64))
    }

    async fn complete_job(conn: &mut D::Connection, c: &Commit) -> Result<(), sqlx::Error> {
        if let Some(job) = &c.completes_job {
            sqlx::query("DELETE FROM jobs WHERE id = $1")
                .bind(job)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// One commit: a duplicate only completes its job; a stale version writes nothing.
    async fn apply(
        conn: &mut D::Connection,
        c: &Commit,
        at: DateTime<Utc>,
    ) -> Result<Committed, Fail> {
        let s = &c.stream;
        Self::complete_job(conn, c).await?;
        if let Some(version) = Self::seen(conn, c).await? {
            return Ok(Committed {
                version,
                duplicate: true,
            });
        }
        let (version, last_hash) = Self::head(conn, s).await?;
        if version != c.expected_version {
            return Err(Fail::Refused(conflict(c, version)));
        }
        let mut rows = Rows::default();
        let mut head = (version, last_hash);
        rows.add(c, at, &mut head);
        Self::write_rows(conn, rows, at).await?;
        Ok(Committed {
            version: head.0,
            duplicate: false,
        })
    }

    /// After a commit lost a race and was rolled back: its command's earlier result (the
    /// other writer committed the same command), or the conflict.
    async fn lost_race(
        conn: &mut D::Connection,
        c: &Commit,
    ) -> Result<Result<Committed, StoreError>, sqlx::Error> {
        if let Some(version) = Self::seen(conn, c).await? {
            Self::complete_job(conn, c).await?;
            return Ok(Ok(Committed {
                version,
                duplicate: true,
            }));
        }
        Ok(Err(conflict(c, Self::head(conn, &c.stream).await?.0)))
    }
}
}
