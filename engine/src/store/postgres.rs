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
//!   not deadlock. What a commit writes is the same code as SQLite's (`rows::write_path!`).
//! - Jobs are leased with `FOR UPDATE SKIP LOCKED`: two nodes never lease the same job.
//! - Every time comes from the database clock (`now()`); `timestamptz` keeps microseconds,
//!   which is what event hashes cover.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;

use super::rows::{self, EventRow, db, u32_col};
use super::{
    Catalog, Commit, Committed, DueTimer, EventLog, InstanceQuery, InstanceRow, Job, JobKind,
    Ledger, ReadModels, StoreError, StoredDefinition, TaskRow, Work, WorkItem,
};
use crate::events::{RecordedEvent, StoredEvent, StreamId};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

macro_rules! event_columns {
    () => {
        "agency, instance, version, position, recorded_at, workflow, workflow_version, \
         definition_hash, actor::text AS actor, command_id, type, payload::text AS payload, \
         prev_hash, hash"
    };
}

/// The PostgreSQL store.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
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
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(e.to_string()))?;
        Ok(PgStore { pool })
    }
}

/// Event times are bound as they are: `timestamptz` keeps microseconds.
fn same(t: DateTime<Utc>) -> DateTime<Utc> {
    t
}

rows::write_path!(conn: sqlx::PgConnection, time: super::same, json: "::json");
super::ledger::ledger_path!(conn: sqlx::PgConnection);

fn event_row(r: &PgRow) -> Result<EventRow, StoreError> {
    Ok(EventRow {
        agency: r.try_get("agency").map_err(db)?,
        instance: r.try_get("instance").map_err(db)?,
        version: r.try_get("version").map_err(db)?,
        position: r.try_get("position").map_err(db)?,
        recorded_at: r.try_get("recorded_at").map_err(db)?,
        workflow: r.try_get("workflow").map_err(db)?,
        workflow_version: r.try_get("workflow_version").map_err(db)?,
        definition_hash: r.try_get("definition_hash").map_err(db)?,
        actor: r.try_get("actor").map_err(db)?,
        command_id: r.try_get("command_id").map_err(db)?,
        kind: r.try_get("type").map_err(db)?,
        payload: r.try_get("payload").map_err(db)?,
        prev_hash: r.try_get("prev_hash").map_err(db)?,
        hash: r.try_get("hash").map_err(db)?,
    })
}

#[async_trait]
impl EventLog for PgStore {
    async fn commit(
        &self,
        batch: &[Commit],
    ) -> Result<Vec<Result<Committed, StoreError>>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let at: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let results = write::write_batch(&mut tx, batch, at).await?;
        tx.commit().await.map_err(db)?;
        Ok(results)
    }

    async fn load(&self, stream: &StreamId) -> Result<Vec<RecordedEvent>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE agency = $1 AND instance = $2 ORDER BY version"
        ))
        .bind(&stream.agency)
        .bind(&stream.instance)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(|r| event_row(r)?.into_recorded())
        .collect()
    }

    async fn read_all(&self, after: u64, limit: u32) -> Result<Vec<RecordedEvent>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE position > $1 ORDER BY position LIMIT $2"
        ))
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(|r| event_row(r)?.into_recorded())
        .collect()
    }

    async fn read_stored(
        &self,
        after: u64,
        until: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3"
        ))
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .bind(i64::try_from(until).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(|r| event_row(r)?.into_stored())
        .collect()
    }

    async fn last_position(&self) -> Result<u64, StoreError> {
        let last: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(last.unwrap_or(0) as u64)
    }

    async fn ledger(&self, agency: Option<&str>) -> Result<Ledger, StoreError> {
        // Every query sees the same snapshot, whatever commits meanwhile.
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let ledger = ledger::read(&mut tx, agency).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(ledger)
    }

    async fn streams(&self) -> Result<Vec<StreamId>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT agency, instance FROM events ORDER BY agency, instance",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(agency, instance)| StreamId { agency, instance })
            .collect())
    }
}

#[async_trait]
impl Work for PgStore {
    async fn lease_jobs(
        &self,
        worker: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Job>, StoreError> {
        type Row = (
            String,
            String,
            String,
            String,
            Json<Value>,
            i64,
            DateTime<Utc>,
            DateTime<Utc>,
            i64,
        );
        let mut rows: Vec<Row> = sqlx::query_as(
            "WITH picked AS (SELECT id FROM jobs WHERE lease_until IS NULL OR lease_until <= now() \
             ORDER BY created_at, seq LIMIT $1 FOR UPDATE SKIP LOCKED) \
             UPDATE jobs SET lease_owner = $2, leases = jobs.leases + 1, \
             lease_until = now() + $3 * interval '1 microsecond' FROM picked WHERE jobs.id = picked.id \
             RETURNING jobs.id, jobs.agency, jobs.instance, jobs.kind, jobs.payload, jobs.leases, \
             jobs.lease_until, jobs.created_at, jobs.seq",
        )
        .bind(i64::from(limit))
        .bind(worker)
        .bind(i64::try_from(lease.as_micros()).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.sort_by_key(|r| (r.7, r.8));
        rows.into_iter()
            .map(
                |(id, agency, instance, kind, Json(payload), leases, lease_until, _, _)| {
                    Ok(Job {
                        kind: JobKind::parse(&kind).ok_or_else(|| {
                            StoreError::Database(format!("job {id} has an unknown kind {kind:?}"))
                        })?,
                        id,
                        stream: StreamId { agency, instance },
                        payload,
                        leases: u32_col(leases, "lease count")?,
                        lease_until,
                    })
                },
            )
            .collect()
    }

    async fn due_timers(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueTimer>, StoreError> {
        let rows: Vec<(String, String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT agency, instance, id, due_at FROM timers WHERE due_at <= $1 \
             ORDER BY due_at, agency, instance, id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(agency, instance, id, due_at)| DueTimer {
                stream: StreamId { agency, instance },
                id,
                due_at,
            })
            .collect())
    }

    async fn now(&self) -> Result<DateTime<Utc>, StoreError> {
        sqlx::query_scalar("SELECT now()")
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn claim_occurrence(
        &self,
        agency: &str,
        workflow: &str,
        schedule: &str,
        occurrence: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO schedule_runs (agency, workflow, schedule, occurrence) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(agency)
        .bind(workflow)
        .bind(schedule)
        .bind(occurrence)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl Catalog for PgStore {
    async fn deploy(&self, d: &StoredDefinition) -> Result<(), StoreError> {
        let done = sqlx::query(
            "INSERT INTO definitions (agency, workflow, version, hash, in_force_from, source) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&d.agency)
        .bind(&d.workflow)
        .bind(i64::from(d.version))
        .bind(&d.hash)
        .bind(d.in_force_from)
        .bind(&d.source)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let hash: String = sqlx::query_scalar(
            "SELECT hash FROM definitions WHERE agency = $1 AND workflow = $2 AND version = $3",
        )
        .bind(&d.agency)
        .bind(&d.workflow)
        .bind(i64::from(d.version))
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        if hash == d.hash {
            Ok(())
        } else {
            Err(StoreError::VersionTaken {
                workflow: d.workflow.clone(),
                version: d.version,
            })
        }
    }

    async fn definitions(&self, agency: Option<&str>) -> Result<Vec<StoredDefinition>, StoreError> {
        let rows: Vec<(String, String, i64, String, NaiveDate, String)> = sqlx::query_as(
            "SELECT agency, workflow, version, hash, in_force_from, source FROM definitions \
             WHERE $1::text IS NULL OR agency = $1 ORDER BY agency, workflow, version",
        )
        .bind(agency)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|(agency, workflow, version, hash, in_force_from, source)| {
                Ok(StoredDefinition {
                    version: u32_col(version, "definition version")?,
                    agency,
                    workflow,
                    hash,
                    in_force_from,
                    source,
                })
            })
            .collect()
    }
}

#[async_trait]
impl ReadModels for PgStore {
    async fn instance(&self, stream: &StreamId) -> Result<Option<InstanceRow>, StoreError> {
        type Row = (
            String,
            i64,
            String,
            Option<String>,
            String,
            i64,
            bool,
            DateTime<Utc>,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT workflow, workflow_version, tracking_code, status, state, incidents, \
             sla_breached, started_at FROM instances WHERE agency = $1 AND instance = $2",
        )
        .bind(&stream.agency)
        .bind(&stream.instance)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(
            |(workflow, wv, tracking_code, status, state, incidents, sla_breached, started_at)| {
                Ok(InstanceRow {
                    workflow,
                    workflow_version: u32_col(wv, "workflow version")?,
                    tracking_code,
                    status,
                    state,
                    incidents: u32_col(incidents, "incident count")?,
                    sla_breached,
                    started_at,
                })
            },
        )
        .transpose()
    }

    async fn instances(
        &self,
        agency: &str,
        query: &InstanceQuery,
    ) -> Result<Vec<(StreamId, InstanceRow)>, StoreError> {
        type Row = (
            String,
            String,
            i64,
            String,
            Option<String>,
            String,
            i64,
            bool,
            DateTime<Utc>,
        );
        let mut sql = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "SELECT instance, workflow, workflow_version, tracking_code, status, state, incidents, \
             sla_breached, started_at FROM instances WHERE agency = ",
        );
        sql.push_bind(agency);
        if let Some(w) = &query.workflow {
            sql.push(" AND workflow = ").push_bind(w);
        }
        if let Some(s) = &query.status {
            sql.push(" AND status = ").push_bind(s);
        }
        if let Some(s) = &query.state {
            sql.push(" AND state = ").push_bind(s);
        }
        if let Some(t) = query.from {
            sql.push(" AND started_at >= ").push_bind(t);
        }
        if let Some(t) = query.to {
            sql.push(" AND started_at < ").push_bind(t);
        }
        if let Some(b) = query.sla_breached {
            sql.push(" AND sla_breached = ").push_bind(b);
        }
        sql.push(" ORDER BY started_at DESC, instance DESC LIMIT ")
            .push_bind(i64::from(query.limit.min(super::MAX_LISTING)))
            .push(" OFFSET ")
            .push_bind(i64::from(query.offset));
        let rows: Vec<Row> = sql
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.into_iter()
            .map(
                |(
                    instance,
                    workflow,
                    wv,
                    tracking_code,
                    status,
                    state,
                    incidents,
                    sla_breached,
                    started,
                )| {
                    Ok((
                        StreamId {
                            agency: agency.to_owned(),
                            instance,
                        },
                        InstanceRow {
                            workflow,
                            workflow_version: u32_col(wv, "workflow version")?,
                            tracking_code,
                            status,
                            state,
                            incidents: u32_col(incidents, "incident count")?,
                            sla_breached,
                            started_at: started,
                        },
                    ))
                },
            )
            .collect()
    }

    async fn find_tracking_code(&self, code: &str) -> Result<Option<StreamId>, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT agency, instance FROM instances WHERE tracking_code = $1 ORDER BY agency, instance LIMIT 1",
        )
        .bind(code)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(row.map(|(agency, instance)| StreamId { agency, instance }))
    }

    async fn open_incidents(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT agency, workflow, CAST(SUM(incidents) AS BIGINT) FROM instances \
             WHERE incidents > 0 GROUP BY agency, workflow ORDER BY agency, workflow",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(a, w, n)| (a, w, u64::try_from(n).unwrap_or_default()))
            .collect())
    }

    async fn worklist(
        &self,
        agency: &str,
        role: Option<&str>,
        open_only: bool,
    ) -> Result<Vec<WorkItem>, StoreError> {
        type Row = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            DateTime<Utc>,
            bool,
            String,
            String,
        );
        // Streams and task ids are ordered byte by byte, as the engine orders them.
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT t.instance, t.id, t.step, t.role, t.officer, t.due_at, t.open, \
             i.workflow, i.tracking_code \
             FROM tasks t JOIN instances i ON i.agency = t.agency AND i.instance = t.instance \
             WHERE t.agency = $1 AND ($2::text IS NULL OR t.role = $2) \
             AND (NOT $3::boolean OR t.open) \
             ORDER BY t.due_at, t.instance COLLATE \"C\", t.id COLLATE \"C\"",
        )
        .bind(agency)
        .bind(role)
        .bind(open_only)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(
                |(instance, id, step, role, officer, due_at, open, workflow, tracking_code)| {
                    WorkItem {
                        stream: StreamId {
                            agency: agency.to_owned(),
                            instance,
                        },
                        task: TaskRow {
                            id,
                            step,
                            role,
                            officer,
                            due_at,
                            open,
                        },
                        workflow,
                        tracking_code,
                    }
                },
            )
            .collect())
    }

    async fn keep_unmatched_message(
        &self,
        agency: &str,
        name: &str,
        correlation: &str,
        message_id: &str,
        payload: &Value,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO unmatched_messages (agency, name, correlation, message_id, payload) \
             VALUES ($1, $2, $3, $4, $5::json) ON CONFLICT DO NOTHING",
        )
        .bind(agency)
        .bind(name)
        .bind(correlation)
        .bind(message_id)
        .bind(payload.to_string())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn unmatched_messages(
        &self,
        agency: &str,
        limit: u32,
    ) -> Result<Vec<super::UnmatchedMessage>, StoreError> {
        let rows: Vec<(
            String,
            String,
            String,
            sqlx::types::Json<Value>,
            DateTime<Utc>,
        )> = sqlx::query_as(
            "SELECT name, correlation, message_id, payload, received_at FROM unmatched_messages \
             WHERE agency = $1 ORDER BY received_at DESC, message_id LIMIT $2",
        )
        .bind(agency)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|(name, correlation, message_id, payload, received_at)| {
                Ok(super::UnmatchedMessage {
                    name,
                    correlation,
                    message_id,
                    payload: payload.0,
                    received_at,
                })
            })
            .collect()
    }
}
