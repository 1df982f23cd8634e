//! The embedded store: one SQLite file, no server.
//!
//! - WAL and `synchronous=FULL`: readers never wait for the writer, and a commit is on disk
//!   when it returns.
//! - Writes go through ONE connection (the engine has a single writer), reads through a small
//!   pool of `query_only` connections.
//! - A batch is one `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so the
//!   stream versions read inside it cannot change before the appends (a deferred transaction
//!   would only find out at its first write, with `SQLITE_BUSY` and no way to wait).
//! - Each commit of a batch runs inside a `SAVEPOINT`, so a conflicting commit is rolled back
//!   alone and the others still go in. What a commit writes is the same code as PostgreSQL's
//!   (`rows::write_path!`); this file holds the connection setup, the clock and the reads.
//! - The clock is SQLite's (`'now'`, millisecond resolution); times are stored as fixed-width
//!   text (see `rows::ts`) so that SQL compares them and they read back exactly.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

use super::rows::{self, EventRow, db, parse_ts, ts, u32_col};
use super::{
    Catalog, Commit, Committed, DueTimer, EventLog, InstanceQuery, InstanceRow, Job, JobKind,
    Ledger, ReadModels, StoreError, StoredDefinition, TaskRow, Work, WorkItem,
};
use crate::events::{RecordedEvent, StoredEvent, StreamId};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The database clock, in the stored time format.
macro_rules! now {
    () => {
        "(strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')"
    };
}

macro_rules! event_columns {
    () => {
        "agency, instance, version, position, recorded_at, workflow, workflow_version, \
         definition_hash, actor, command_id, type, payload, prev_hash, hash"
    };
}

/// The SQLite store.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    reads: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
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
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|e| StoreError::Database(e.to_string()))?;
        let reads = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.pragma("query_only", "ON"))
            .await
            .map_err(db)?;
        Ok(SqliteStore { reads, writer })
    }
}

rows::write_path!(conn: sqlx::SqliteConnection, time: crate::store::rows::ts, json: "");
super::ledger::ledger_path!(conn: sqlx::SqliteConnection);

fn event_row(r: &SqliteRow) -> Result<EventRow, StoreError> {
    let at: String = r.try_get("recorded_at").map_err(db)?;
    Ok(EventRow {
        agency: r.try_get("agency").map_err(db)?,
        instance: r.try_get("instance").map_err(db)?,
        version: r.try_get("version").map_err(db)?,
        position: r.try_get("position").map_err(db)?,
        recorded_at: parse_ts(&at)?,
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

/// An event row in a page read as one JSON array, its columns in `event_columns!` order.
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

fn json(s: &str, what: &str) -> Result<Value, StoreError> {
    serde_json::from_str(s)
        .map_err(|e| StoreError::Database(format!("stored {what} is unreadable: {e}")))
}

#[async_trait]
impl EventLog for SqliteStore {
    async fn commit(
        &self,
        batch: &[Commit],
    ) -> Result<Vec<Result<Committed, StoreError>>, StoreError> {
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db)?;
        let now: String = sqlx::query_scalar(concat!("SELECT ", now!()))
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let at = parse_ts(&now)?;
        let results = write::write_batch(&mut tx, batch, at).await?;
        tx.commit().await.map_err(db)?;
        Ok(results)
    }

    async fn load(&self, stream: &StreamId) -> Result<Vec<RecordedEvent>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE agency = ? AND instance = ? ORDER BY version"
        ))
        .bind(&stream.agency)
        .bind(&stream.instance)
        .fetch_all(&self.reads)
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
            " FROM events WHERE position > ? ORDER BY position LIMIT ?"
        ))
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.reads)
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
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .bind(i64::try_from(until).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_one(&self.reads)
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

    async fn last_position(&self) -> Result<u64, StoreError> {
        let last: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events")
            .fetch_one(&self.reads)
            .await
            .map_err(db)?;
        Ok(last.unwrap_or(0) as u64)
    }

    async fn ledger(&self, agency: Option<&str>) -> Result<Ledger, StoreError> {
        // One read transaction: one snapshot of the write-ahead log.
        let mut tx = self.reads.begin().await.map_err(db)?;
        let ledger = ledger::read(&mut tx, agency).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(ledger)
    }

    async fn streams(&self) -> Result<Vec<StreamId>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT agency, instance FROM events ORDER BY agency, instance",
        )
        .fetch_all(&self.reads)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(agency, instance)| StreamId { agency, instance })
            .collect())
    }
}

#[async_trait]
impl Work for SqliteStore {
    async fn lease_jobs(
        &self,
        worker: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(concat!(
            "UPDATE jobs SET lease_owner = ?, leases = leases + 1, \
             lease_until = strftime('%Y-%m-%dT%H:%M:%f', 'now', ?) || '000Z' \
             WHERE id IN (SELECT id FROM jobs WHERE lease_until IS NULL OR lease_until <= ",
            now!(),
            " ORDER BY created_at, rowid LIMIT ?) \
             RETURNING id, agency, instance, kind, payload, leases, lease_until, created_at, rowid"
        ))
        .bind(worker)
        .bind(format!(
            "+{}.{:06} seconds",
            lease.as_secs(),
            lease.subsec_micros()
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await
        .map_err(db)?;
        let mut jobs = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("id").map_err(db)?;
            let kind: String = r.try_get("kind").map_err(db)?;
            let order: (String, i64) = (
                r.try_get("created_at").map_err(db)?,
                r.try_get("rowid").map_err(db)?,
            );
            let job = Job {
                stream: StreamId {
                    agency: r.try_get("agency").map_err(db)?,
                    instance: r.try_get("instance").map_err(db)?,
                },
                kind: JobKind::parse(&kind).ok_or_else(|| {
                    StoreError::Database(format!("job {id} has an unknown kind {kind:?}"))
                })?,
                payload: json(
                    &r.try_get::<String, _>("payload").map_err(db)?,
                    "job payload",
                )?,
                leases: u32_col(r.try_get("leases").map_err(db)?, "lease count")?,
                lease_until: parse_ts(&r.try_get::<String, _>("lease_until").map_err(db)?)?,
                id,
            };
            jobs.push((order, job));
        }
        jobs.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(jobs.into_iter().map(|(_, j)| j).collect())
    }

    async fn due_timers(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueTimer>, StoreError> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT agency, instance, id, due_at FROM timers WHERE due_at <= ? \
             ORDER BY due_at, agency, instance, id LIMIT ?",
        )
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&self.reads)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|(agency, instance, id, due)| {
                Ok(DueTimer {
                    stream: StreamId { agency, instance },
                    id,
                    due_at: parse_ts(&due)?,
                })
            })
            .collect()
    }

    async fn now(&self) -> Result<DateTime<Utc>, StoreError> {
        let now: String = sqlx::query_scalar(concat!("SELECT ", now!()))
            .fetch_one(&self.reads)
            .await
            .map_err(db)?;
        parse_ts(&now)
    }

    async fn claim_occurrence(
        &self,
        agency: &str,
        workflow: &str,
        schedule: &str,
        occurrence: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(concat!(
            "INSERT INTO schedule_runs (agency, workflow, schedule, occurrence, claimed_at) \
             VALUES (?, ?, ?, ?, ",
            now!(),
            ") ON CONFLICT DO NOTHING"
        ))
        .bind(agency)
        .bind(workflow)
        .bind(schedule)
        .bind(ts(occurrence))
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl Catalog for SqliteStore {
    async fn deploy(&self, d: &StoredDefinition) -> Result<(), StoreError> {
        let done = sqlx::query(concat!(
            "INSERT INTO definitions (agency, workflow, version, hash, in_force_from, source, deployed_at) \
             VALUES (?, ?, ?, ?, ?, ?, ",
            now!(),
            ") ON CONFLICT DO NOTHING"
        ))
        .bind(&d.agency)
        .bind(&d.workflow)
        .bind(i64::from(d.version))
        .bind(&d.hash)
        .bind(d.in_force_from.format("%Y-%m-%d").to_string())
        .bind(&d.source)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let hash: String = sqlx::query_scalar(
            "SELECT hash FROM definitions WHERE agency = ? AND workflow = ? AND version = ?",
        )
        .bind(&d.agency)
        .bind(&d.workflow)
        .bind(i64::from(d.version))
        .fetch_one(&self.writer)
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
        let rows: Vec<(String, String, i64, String, String, String)> = sqlx::query_as(
            "SELECT agency, workflow, version, hash, in_force_from, source FROM definitions \
             WHERE ?1 IS NULL OR agency = ?1 ORDER BY agency, workflow, version",
        )
        .bind(agency)
        .fetch_all(&self.reads)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|(agency, workflow, version, hash, from, source)| {
                Ok(StoredDefinition {
                    in_force_from: NaiveDate::parse_from_str(&from, "%Y-%m-%d").map_err(|e| {
                        StoreError::Database(format!("stored date {from:?} is unreadable: {e}"))
                    })?,
                    version: u32_col(version, "definition version")?,
                    agency,
                    workflow,
                    hash,
                    source,
                })
            })
            .collect()
    }
}

#[async_trait]
impl ReadModels for SqliteStore {
    async fn instance(&self, stream: &StreamId) -> Result<Option<InstanceRow>, StoreError> {
        type Row = (
            String,
            i64,
            String,
            Option<String>,
            String,
            i64,
            bool,
            String,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT workflow, workflow_version, tracking_code, status, state, incidents, \
             sla_breached, started_at FROM instances WHERE agency = ? AND instance = ?",
        )
        .bind(&stream.agency)
        .bind(&stream.instance)
        .fetch_optional(&self.reads)
        .await
        .map_err(db)?;
        row.map(
            |(workflow, wv, tracking_code, status, state, incidents, sla_breached, started)| {
                Ok(InstanceRow {
                    workflow,
                    workflow_version: u32_col(wv, "workflow version")?,
                    tracking_code,
                    status,
                    state,
                    incidents: u32_col(incidents, "incident count")?,
                    sla_breached,
                    started_at: parse_ts(&started)?,
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
            String,
        );
        let mut sql = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
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
            sql.push(" AND started_at >= ")
                .push_bind(super::rows::ts(t));
        }
        if let Some(t) = query.to {
            sql.push(" AND started_at < ").push_bind(super::rows::ts(t));
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
            .fetch_all(&self.reads)
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
                            started_at: parse_ts(&started)?,
                        },
                    ))
                },
            )
            .collect()
    }

    async fn find_tracking_code(&self, code: &str) -> Result<Option<StreamId>, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT agency, instance FROM instances WHERE tracking_code = ? ORDER BY agency, instance LIMIT 1",
        )
        .bind(code)
        .fetch_optional(&self.reads)
        .await
        .map_err(db)?;
        Ok(row.map(|(agency, instance)| StreamId { agency, instance }))
    }

    async fn open_incidents(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT agency, workflow, CAST(SUM(incidents) AS BIGINT) FROM instances \
             WHERE incidents > 0 GROUP BY agency, workflow ORDER BY agency, workflow",
        )
        .fetch_all(&self.reads)
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
            String,
            bool,
            String,
            String,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT t.instance, t.id, t.step, t.role, t.officer, t.due_at, t.open, \
             i.workflow, i.tracking_code \
             FROM tasks t JOIN instances i ON i.agency = t.agency AND i.instance = t.instance \
             WHERE t.agency = ?1 AND (?2 IS NULL OR t.role = ?2) AND (?3 = 0 OR t.open = 1) \
             ORDER BY t.due_at, t.instance, t.id",
        )
        .bind(agency)
        .bind(role)
        .bind(open_only)
        .fetch_all(&self.reads)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(
                |(instance, id, step, role, officer, due, open, workflow, tracking_code)| {
                    Ok(WorkItem {
                        stream: StreamId {
                            agency: agency.to_owned(),
                            instance,
                        },
                        task: TaskRow {
                            id,
                            step,
                            role,
                            officer,
                            due_at: parse_ts(&due)?,
                            open,
                        },
                        workflow,
                        tracking_code,
                    })
                },
            )
            .collect()
    }

    async fn keep_unmatched_message(
        &self,
        agency: &str,
        name: &str,
        correlation: &str,
        message_id: &str,
        payload: &Value,
    ) -> Result<(), StoreError> {
        sqlx::query(concat!(
            "INSERT INTO unmatched_messages (agency, name, correlation, message_id, payload, received_at) \
             VALUES (?, ?, ?, ?, ?, ",
            now!(),
            ") ON CONFLICT DO NOTHING"
        ))
        .bind(agency)
        .bind(name)
        .bind(correlation)
        .bind(message_id)
        .bind(payload.to_string())
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn unmatched_messages(
        &self,
        agency: &str,
        limit: u32,
    ) -> Result<Vec<super::UnmatchedMessage>, StoreError> {
        let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
            "SELECT name, correlation, message_id, payload, received_at FROM unmatched_messages \
             WHERE agency = ? ORDER BY received_at DESC, message_id LIMIT ?",
        )
        .bind(agency)
        .bind(i64::from(limit))
        .fetch_all(&self.reads)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|(name, correlation, message_id, payload, received_at)| {
                Ok(super::UnmatchedMessage {
                    name,
                    correlation,
                    message_id,
                    payload: serde_json::from_str(&payload)
                        .map_err(|e| StoreError::Database(e.to_string()))?,
                    received_at: parse_ts(&received_at)?,
                })
            })
            .collect()
    }
}
