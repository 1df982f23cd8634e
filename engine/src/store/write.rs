//! What a batch of commits writes, the same on both backends, so that they cannot drift apart
//! on what a commit, a duplicate or a conflict writes.
//!
//! A batch in which every commit goes in (the usual case) is written by the fast path of
//! `bulk.rs`, a few multi-row statements for the whole batch; otherwise each commit gets a
//! `SAVEPOINT`, and one that fails (a conflict, or a statement the database refused) is rolled
//! back to it alone, so the others still go in. Commits are applied stream by stream in a fixed
//! order (stable, so one stream's commits keep theirs; results come back in the caller's
//! order): two PostgreSQL nodes' batches then lock rows in the same order.

use chrono::{DateTime, Utc};

use super::dialect::{Json, Ts, shared};
use super::rows::{self, Fail, conflict, db, is_race};
use super::sql::SqlStore;
use super::{Commit, Committed, StoreError};
use crate::events::StreamId;

shared! {
impl SqlStore {
    /// Writes a batch inside the caller's transaction, recorded at `at`.
    pub(super) async fn write_batch(
        conn: &mut D::Connection,
        batch: &[Commit],
        at: DateTime<Utc>,
    ) -> Result<Vec<Result<Committed, StoreError>>, StoreError> {
        let mut order: Vec<usize> = (0..batch.len()).collect();
        order.sort_by(|&a, &b| batch[a].stream.cmp(&batch[b].stream));
        sqlx::query("SAVEPOINT whole_batch")
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        let fast = Self::bulk(conn, batch, &order, at).await;
        if !matches!(fast, Ok(Some(_))) {
            sqlx::query("ROLLBACK TO SAVEPOINT whole_batch")
                .execute(&mut *conn)
                .await
                .map_err(db)?;
        }
        sqlx::query("RELEASE SAVEPOINT whole_batch")
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        if let Ok(Some(results)) = fast {
            return Ok(results);
        }
        let mut results: Vec<Option<Result<Committed, StoreError>>> = vec![None; batch.len()];
        for i in order {
            let c = &batch[i];
            sqlx::query("SAVEPOINT one_commit")
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            let outcome = Self::apply(conn, c, at).await;
            if outcome.is_err() {
                sqlx::query("ROLLBACK TO SAVEPOINT one_commit")
                    .execute(&mut *conn)
                    .await
                    .map_err(db)?;
            }
            sqlx::query("RELEASE SAVEPOINT one_commit")
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            results[i] = Some(match outcome {
                Ok(done) => Ok(done),
                Err(Fail::Refused(e)) => Err(e),
                Err(Fail::Sql(e)) if is_race(&e) => Self::lost_race(conn, c).await.map_err(db)?,
                Err(Fail::Sql(e)) => Err(db(e)),
            });
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every commit has a result"))
            .collect())
    }

    /// The stream's version and last hash (0 and "" when it has no events).
    async fn head(conn: &mut D::Connection, s: &StreamId) -> Result<(u64, String), sqlx::Error> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT version, hash FROM events WHERE agency = $1 AND instance = $2 \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(&s.agency)
        .bind(&s.instance)
        .fetch_optional(&mut *conn)
        .await?;
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
        for (e, payload, actor) in rows::record(c, at, last_hash) {
            sqlx::query(
                "INSERT INTO events (agency, instance, version, recorded_at, workflow, \
                 workflow_version, definition_hash, actor, command_id, type, payload, \
                 prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&s.agency)
            .bind(&s.instance)
            .bind(e.version as i64)
            .bind(Ts(at))
            .bind(&e.workflow)
            .bind(i64::from(e.workflow_version))
            .bind(&e.definition_hash)
            .bind(Json(&actor))
            .bind(&e.command_id)
            .bind(e.event.kind())
            .bind(Json(&payload))
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .execute(&mut *conn)
            .await?;
        }
        for job in &c.jobs {
            sqlx::query(
                "INSERT INTO jobs (id, agency, instance, kind, payload, created_at, \
                 lease_owner, leases, lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&job.id)
            .bind(&s.agency)
            .bind(&s.instance)
            .bind(job.kind.as_str())
            .bind(Json(&job.payload.to_string()))
            .bind(Ts(at))
            .bind(c.lease.as_ref().map(|l| l.owner.as_str()))
            .bind(i64::from(c.lease.is_some()))
            .bind(c.lease.as_ref().map(|l| Ts(l.until(at))))
            .execute(&mut *conn)
            .await?;
        }
        for t in &c.timers {
            sqlx::query(
                "INSERT INTO timers (agency, instance, id, due_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (agency, instance, id) DO UPDATE SET due_at = excluded.due_at",
            )
            .bind(&s.agency)
            .bind(&s.instance)
            .bind(&t.id)
            .bind(Ts(t.due_at))
            .execute(&mut *conn)
            .await?;
        }
        for id in &c.dropped_timers {
            sqlx::query("DELETE FROM timers WHERE agency = $1 AND instance = $2 AND id = $3")
                .bind(&s.agency)
                .bind(&s.instance)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        let i = &c.instance;
        sqlx::query(
            "INSERT INTO instances (agency, instance, workflow, workflow_version, \
             tracking_code, status, state, incidents, sla_breached, started_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (agency, instance) DO UPDATE SET status = excluded.status, \
             state = excluded.state, incidents = excluded.incidents, \
             sla_breached = excluded.sla_breached, updated_at = excluded.updated_at",
        )
        .bind(&s.agency)
        .bind(&s.instance)
        .bind(&i.workflow)
        .bind(i64::from(i.workflow_version))
        .bind(&i.tracking_code)
        .bind(i.status.as_deref())
        .bind(&i.state)
        .bind(i64::from(i.incidents))
        .bind(i.sla_breached)
        .bind(Ts(i.started_at))
        .bind(Ts(at))
        .execute(&mut *conn)
        .await?;
        for t in &c.tasks {
            sqlx::query(
                "INSERT INTO tasks (agency, instance, id, step, role, officer, due_at, open) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (agency, instance, id) DO UPDATE SET step = excluded.step, \
                 role = excluded.role, officer = excluded.officer, \
                 due_at = excluded.due_at, open = excluded.open",
            )
            .bind(&s.agency)
            .bind(&s.instance)
            .bind(&t.id)
            .bind(&t.step)
            .bind(t.role.as_deref())
            .bind(t.officer.as_deref())
            .bind(Ts(t.due_at))
            .bind(t.open)
            .execute(&mut *conn)
            .await?;
        }
        let after = c.expected_version + c.events.len() as u64;
        sqlx::query(
            "INSERT INTO commands (agency, instance, command_id, version) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&s.agency)
        .bind(&s.instance)
        .bind(&c.command_id)
        .bind(after as i64)
        .execute(&mut *conn)
        .await?;
        Ok(Committed {
            version: after,
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
