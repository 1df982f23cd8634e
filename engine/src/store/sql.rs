//! The store both backends share: every query written once, generic over the [`Dialect`]. What
//! a commit writes is in `write.rs` and `bulk.rs`; how each backend connects is in `sqlite.rs`
//! and `postgres.rs`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::Pool;
use sqlx::query::QueryAs;

use super::dialect::{Dialect, Json, JsonText, Ts, shared};
use super::rows::{EventRow, db, u32_col};
use super::{
    Catalog, Commit, Committed, Decided, DueTimer, EventLog, InstanceQuery, InstanceRow, Job,
    JobKind, Ledger, Prepared, ReadModels, Seek, StoreError, StoredDefinition, UnmatchedMessage,
    Work, WorkItem, Written,
};
use crate::events::{RecordedEvent, StoredEvent, StreamId};
use crate::privacy::Keyring;

/// A store on an SQL database: [`super::sqlite::SqliteStore`] or [`super::postgres::PgStore`].
#[derive(Debug)]
pub struct SqlStore<D: Dialect> {
    /// Where reads go (SQLite: a pool of `query_only` connections).
    pub(super) reads: Pool<D>,
    /// Where writes go (SQLite: the one writer connection).
    pub(super) writer: Pool<D>,
    /// What opens sealed payloads, once the node has a keyring.
    pub(super) keyring: Arc<OnceLock<Arc<Keyring>>>,
    /// What the batches prepared ahead and not yet written leave behind (`ahead.rs`).
    pub(super) ahead: Arc<super::ahead::Ahead>,
}

impl<D: Dialect> Clone for SqlStore<D> {
    fn clone(&self) -> Self {
        SqlStore {
            reads: self.reads.clone(),
            writer: self.writer.clone(),
            keyring: self.keyring.clone(),
            ahead: self.ahead.clone(),
        }
    }
}

/// The columns of an event, in [`EventRow`]'s order.
macro_rules! event_columns {
    () => {
        "SELECT agency, instance, version, position, recorded_at, workflow, workflow_version, \
         definition_hash, actor, command_id, type, payload, prev_hash, hash FROM events "
    };
}

/// The columns of an instance row, its instance id first.
macro_rules! instance_columns {
    () => {
        "instance, workflow, workflow_version, tracking_code, status, state, incidents, sla_breached, \
         started_at, filed_by, document_id FROM instances "
    };
}

/// An event as read.
type EventTuple = (
    String,
    String,
    i64,
    i64,
    Ts,
    String,
    i64,
    String,
    JsonText,
    String,
    String,
    JsonText,
    String,
    String,
);

/// An instance row as read: workflow, version, tracking code, status, state, incidents, SLA
/// breached, started.
type InstanceTuple = (
    String,
    String,
    i64,
    String,
    Option<String>,
    String,
    i64,
    bool,
    Ts,
    Option<String>,
    Option<String>,
);

impl From<EventTuple> for EventRow {
    fn from(r: EventTuple) -> Self {
        EventRow {
            agency: r.0,
            instance: r.1,
            version: r.2,
            position: r.3,
            recorded_at: r.4.0,
            workflow: r.5,
            workflow_version: r.6,
            definition_hash: r.7,
            actor: r.8.0,
            command_id: r.9,
            kind: r.10,
            payload: r.11.0,
            prev_hash: r.12,
            hash: r.13,
        }
    }
}

fn instance_row(r: InstanceTuple) -> Result<InstanceRow, StoreError> {
    let (
        _,
        workflow,
        version,
        tracking_code,
        status,
        state,
        incidents,
        sla_breached,
        started,
        filed_by,
        document_id,
    ) = r;
    Ok(InstanceRow {
        workflow,
        workflow_version: u32_col(version, "workflow version")?,
        tracking_code,
        status,
        state,
        incidents: u32_col(incidents, "incident count")?,
        sla_breached,
        started_at: started.0,
        filed_by,
        document_id,
    })
}

fn position(p: u64) -> i64 {
    i64::try_from(p).unwrap_or(i64::MAX)
}

/// At most `limit` events with positions in `(after, until]`.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    /// The position before the page.
    pub after: u64,
    /// The last position the page may hold.
    pub until: u64,
    /// How many events at most.
    pub limit: u32,
}

shared! {
impl SqlStore {
    /// The events of a page, in position order.
    pub(super) async fn events_in(pool: &Pool<D>, page: Page) -> Result<Vec<EventRow>, StoreError> {
        let rows: Vec<EventTuple> = sqlx::query_as(concat!(
            event_columns!(),
            "WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3"
        ))
        .bind(position(page.after))
        .bind(position(page.until))
        .bind(i64::from(page.limit))
        .fetch_all(pool)
        .await
        .map_err(db)?;
        Ok(rows.into_iter().map(EventRow::from).collect())
    }

    /// A stream's events, in version order.
    pub(super) async fn stream_rows(
        pool: &Pool<D>,
        stream: &StreamId,
    ) -> Result<Vec<EventRow>, StoreError> {
        let sql = concat!(event_columns!(), "WHERE agency = $1 AND instance = $2 ORDER BY version");
        let rows: Vec<EventTuple> = Self::of_stream(sql, stream)
            .fetch_all(pool)
            .await
            .map_err(db)?;
        Ok(rows.into_iter().map(EventRow::from).collect())
    }

    /// A query of one stream's rows: `$1` is its agency, `$2` its instance.
    pub(super) fn of_stream<'q, R>(
        sql: &'static str,
        stream: &'q StreamId,
    ) -> QueryAs<'q, D, R, D::Arguments>
    where
        R: for<'r> sqlx::FromRow<'r, D::Row>,
    {
        sqlx::query_as(sql).bind(&stream.agency).bind(&stream.instance)
    }

    /// The rows of a query that binds nothing.
    async fn all<R>(pool: &Pool<D>, sql: &'static str) -> Result<Vec<R>, StoreError>
    where
        R: for<'r> sqlx::FromRow<'r, D::Row> + Send + Unpin,
    {
        sqlx::query_as(sql).fetch_all(pool).await.map_err(db)
    }
}
}

shared! {
#[async_trait]
impl EventLog for SqlStore {
    async fn commit(
        &self,
        batch: &[Commit],
    ) -> Result<Vec<Result<Committed, StoreError>>, StoreError> {
        let mut fast = true;
        loop {
            let mut tx = self.writer.begin_with(D::BEGIN_WRITE).await.map_err(db)?;
            let at = match D::recorded_now() {
                Some(at) => at,
                None => {
                    let at: Ts = sqlx::query_scalar(D::SQL.now)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db)?;
                    at.0
                }
            };
            match Self::write_batch(&mut tx, batch, at, fast).await? {
                Some(results) => {
                    tx.commit().await.map_err(db)?;
                    return Ok(results);
                }
                // The fast path failed part-way (a race with another node): again, each
                // commit on its own.
                None => {
                    tx.rollback().await.map_err(db)?;
                    fast = false;
                }
            }
        }
    }

    async fn prepare(&self, batch: Vec<Commit>) -> Prepared {
        self.prepare_ahead(batch).await
    }

    async fn write(&self, prepared: Prepared) -> Written {
        self.write_ahead(prepared).await
    }

    async fn load(&self, stream: &StreamId) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = Self::stream_rows(&self.reads, stream).await?;
        let keyring = self.keyring.get().map(Arc::as_ref);
        rows.into_iter().map(|r| r.into_recorded(keyring)).collect()
    }

    async fn head(&self, stream: &StreamId) -> Result<u64, StoreError> {
        let mut conn = self.reads.acquire().await.map_err(db)?;
        let heads = Self::read_heads(&mut conn, &[stream]).await.map_err(db)?;
        Ok(heads.get(stream).map_or(0, |(version, _)| *version))
    }

    fn shared(&self) -> bool {
        D::SHARED
    }

    async fn read_all(&self, after: u64, limit: u32) -> Result<Vec<RecordedEvent>, StoreError> {
        let page = Page {
            after,
            until: u64::MAX,
            limit,
        };
        let rows = Self::events_in(&self.reads, page).await?;
        let keyring = self.keyring.get().map(Arc::as_ref);
        rows.into_iter().map(|r| r.into_recorded(keyring)).collect()
    }

    async fn read_stored(
        &self,
        after: u64,
        until: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let page = Page {
            after,
            until,
            limit,
        };
        D::read_stored(&self.reads, page).await
    }

    async fn last_position(&self) -> Result<u64, StoreError> {
        let last: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events")
            .fetch_one(&self.reads)
            .await
            .map_err(db)?;
        Ok(last.unwrap_or(0) as u64)
    }

    async fn ledger(&self, agency: Option<&str>) -> Result<Ledger, StoreError> {
        // Every query sees the same snapshot, whatever commits meanwhile.
        let mut tx = self.reads.begin_with(D::BEGIN_SNAPSHOT).await.map_err(db)?;
        let ledger = Self::read_ledger(&mut tx, agency).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(ledger)
    }

    async fn streams(&self) -> Result<Vec<StreamId>, StoreError> {
        let sql = "SELECT DISTINCT agency, instance FROM events ORDER BY agency, instance";
        let rows: Vec<(String, String)> = Self::all(&self.reads, sql).await?;
        Ok(rows
            .into_iter()
            .map(|(agency, instance)| StreamId { agency, instance })
            .collect())
    }

    fn use_keyring(&self, keyring: Arc<Keyring>) {
        // A node has one keyring for its life; a second one is refused by being ignored,
        // which the caller that opens the keyring once never meets.
        let _ = self.keyring.set(keyring);
    }
}
}

shared! {
#[async_trait]
impl Work for SqlStore {
    async fn lease_jobs(
        &self,
        worker: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Job>, StoreError> {
        type Row = (String, String, String, String, JsonText, i64, Ts, Ts, i64);
        let mut rows: Vec<Row> = sqlx::query_as(D::SQL.lease_jobs)
            .bind(i64::from(limit))
            .bind(worker)
            .bind(i64::try_from(lease.as_micros()).unwrap_or(i64::MAX))
            .fetch_all(&self.writer)
            .await
            .map_err(db)?;
        rows.sort_by_key(|r| (r.7, r.8));
        rows.into_iter()
            .map(|(id, agency, instance, kind, payload, leases, lease_until, _, _)| {
                Ok(Job {
                    kind: JobKind::parse(&kind).ok_or_else(|| {
                        StoreError::Database(format!("job {id} has an unknown kind {kind:?}"))
                    })?,
                    payload: serde_json::from_str(&payload.0).map_err(|e| {
                        StoreError::Database(format!("stored job payload is unreadable: {e}"))
                    })?,
                    id,
                    stream: StreamId { agency, instance },
                    leases: u32_col(leases, "lease count")?,
                    lease_until: lease_until.0,
                })
            })
            .collect()
    }

    async fn due_timers(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueTimer>, StoreError> {
        let rows: Vec<(String, String, String, Ts)> = sqlx::query_as(
            "SELECT agency, instance, id, due_at FROM timers WHERE due_at <= $1 \
             ORDER BY due_at, agency, instance, id LIMIT $2",
        )
        .bind(Ts(now))
        .bind(i64::from(limit))
        .fetch_all(&self.reads)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(agency, instance, id, due_at)| DueTimer {
                stream: StreamId { agency, instance },
                id,
                due_at: due_at.0,
            })
            .collect())
    }

    async fn now(&self) -> Result<DateTime<Utc>, StoreError> {
        let now: Ts = sqlx::query_scalar(D::SQL.now)
            .fetch_one(&self.reads)
            .await
            .map_err(db)?;
        Ok(now.0)
    }

    async fn claim_occurrence(
        &self,
        agency: &str,
        workflow: &str,
        schedule: &str,
        occurrence: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let claimed: Option<bool> = sqlx::query_scalar(D::SQL.claim_occurrence)
            .bind(agency)
            .bind(workflow)
            .bind(schedule)
            .bind(Ts(occurrence))
            .fetch_optional(&self.writer)
            .await
            .map_err(db)?;
        Ok(claimed.is_some())
    }
}
}

shared! {
#[async_trait]
impl Catalog for SqlStore {
    async fn deploy(&self, d: &StoredDefinition) -> Result<(), StoreError> {
        let deployed: Option<bool> = sqlx::query_scalar(D::SQL.deploy)
            .bind(&d.agency)
            .bind(&d.workflow)
            .bind(i64::from(d.version))
            .bind(&d.hash)
            .bind(d.in_force_from)
            .bind(&d.source)
            .fetch_optional(&self.writer)
            .await
            .map_err(db)?;
        if deployed.is_some() {
            return Ok(());
        }
        let hash: String = sqlx::query_scalar(
            "SELECT hash FROM definitions WHERE agency = $1 AND workflow = $2 AND version = $3",
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
        let rows: Vec<(String, String, i64, String, NaiveDate, String)> = sqlx::query_as(
            "SELECT agency, workflow, version, hash, in_force_from, source FROM definitions \
             WHERE agency = coalesce($1, agency) ORDER BY agency, workflow, version",
        )
        .bind(agency)
        .fetch_all(&self.reads)
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
}

shared! {
#[async_trait]
impl ReadModels for SqlStore {
    async fn instance(&self, stream: &StreamId) -> Result<Option<InstanceRow>, StoreError> {
        let sql = concat!("SELECT ", instance_columns!(), "WHERE agency = $1 AND instance = $2");
        let row: Option<InstanceTuple> = Self::of_stream(sql, stream)
            .fetch_optional(&self.reads)
            .await
            .map_err(db)?;
        row.map(instance_row).transpose()
    }

    async fn decisions(
        &self,
        agency: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<Decided>, StoreError> {
        let mut sql = sqlx::QueryBuilder::<D>::new(
            "SELECT workflow, state, started_at, ended_at, sla_breached, incidents, \
             EXISTS (SELECT 1 FROM tasks t WHERE t.agency = i.agency AND t.instance = i.instance) \
             FROM instances i WHERE agency = ",
        );
        sql.push_bind(agency);
        if let Some(t) = from {
            sql.push(" AND started_at >= ").push_bind(Ts(t));
        }
        if let Some(t) = to {
            sql.push(" AND started_at < ").push_bind(Ts(t));
        }
        type Row = (String, String, Ts, Option<Ts>, bool, i64, bool);
        let rows: Vec<Row> = sql
            .build_query_as()
            .fetch_all(&self.reads)
            .await
            .map_err(db)?;
        rows.into_iter()
            .map(|(workflow, state, started, ended, sla_breached, incidents, human)| {
                Ok(Decided {
                    workflow,
                    state,
                    started_at: started.0,
                    ended_at: ended.map(|t| t.0),
                    sla_breached,
                    incidents: u32_col(incidents, "incident count")?,
                    human,
                })
            })
            .collect()
    }

    async fn instances(
        &self,
        agency: &str,
        query: &InstanceQuery,
    ) -> Result<Vec<(StreamId, InstanceRow)>, StoreError> {
        let mut sql = sqlx::QueryBuilder::<D>::new(concat!(
            "SELECT ",
            instance_columns!(),
            "WHERE agency = "
        ));
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
            sql.push(" AND started_at >= ").push_bind(Ts(t));
        }
        if let Some(t) = query.to {
            sql.push(" AND started_at < ").push_bind(Ts(t));
        }
        if let Some(b) = query.sla_breached {
            sql.push(" AND sla_breached = ").push_bind(b);
        }
        if let Some(f) = &query.filed_by {
            sql.push(" AND filed_by = ").push_bind(f);
        }
        if query.with_incidents {
            // Written as the partial index's own condition, so that the index answers it.
            sql.push(" AND incidents > 0");
        }
        // Newest first; a page before a key reads the other way from it, then turns round.
        let backwards = matches!(query.seek, Some(Seek::Before(_)));
        if let Some(Seek::After(k) | Seek::Before(k)) = &query.seek {
            let cmp = if backwards { ">" } else { "<" };
            sql.push(format!(" AND (started_at, instance) {cmp} ("))
                .push_bind(Ts(k.started_at))
                .push(", ")
                .push_bind(&k.instance)
                .push(")");
        }
        let order = if backwards { "ASC" } else { "DESC" };
        sql.push(format!(" ORDER BY started_at {order}, instance {order} LIMIT "))
            .push_bind(i64::from(query.limit.min(super::MAX_LISTING + 1)))
            .push(" OFFSET ")
            .push_bind(i64::from(query.offset));
        let rows: Vec<InstanceTuple> = sql
            .build_query_as()
            .fetch_all(&self.reads)
            .await
            .map_err(db)?;
        let mut rows = rows;
        if backwards {
            rows.reverse();
        }
        rows.into_iter()
            .map(|tuple| {
                let instance = tuple.0.clone();
                let row = instance_row(tuple)?;
                Ok((
                    StreamId {
                        agency: agency.to_owned(),
                        instance,
                    },
                    row,
                ))
            })
            .collect()
    }

    async fn find_tracking_code(&self, code: &str) -> Result<Option<StreamId>, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT agency, instance FROM instances WHERE tracking_code = $1 \
             ORDER BY agency, instance LIMIT 1",
        )
        .bind(code)
        .fetch_optional(&self.reads)
        .await
        .map_err(db)?;
        Ok(row.map(|(agency, instance)| StreamId { agency, instance }))
    }

    async fn find_document(&self, document_id: &str) -> Result<Option<StreamId>, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT agency, instance FROM instances WHERE document_id = $1",
        )
        .bind(document_id)
        .fetch_optional(&self.reads)
        .await
        .map_err(db)?;
        Ok(row.map(|(agency, instance)| StreamId { agency, instance }))
    }

    async fn open_incidents(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        let sql = "SELECT agency, workflow, CAST(SUM(incidents) AS BIGINT) FROM instances \
             WHERE incidents > 0 GROUP BY agency, workflow ORDER BY agency, workflow";
        let rows: Vec<(String, String, i64)> = Self::all(&self.reads, sql).await?;
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
        let rows: Vec<super::pages::WorkRow> = sqlx::query_as(D::SQL.worklist)
            .bind(agency)
            .bind(role)
            .bind(open_only)
            .fetch_all(&self.reads)
            .await
            .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|row| super::pages::work_item(agency, row))
            .collect())
    }

    async fn worklist_page(
        &self,
        agency: &str,
        query: &super::WorkQuery,
    ) -> Result<Vec<WorkItem>, StoreError> {
        self.read_worklist_page(agency, query).await
    }

    async fn service_counts(
        &self,
        agency: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<super::ServiceCount>, StoreError> {
        self.count_services(agency, from, to).await
    }

    async fn officers_load(&self, agency: &str, now: DateTime<Utc>) -> Result<Vec<super::Load>, StoreError> {
        self.count_load(agency, now).await
    }

    async fn keep_unmatched_message(
        &self,
        agency: &str,
        name: &str,
        correlation: &str,
        message_id: &str,
        payload: &Value,
    ) -> Result<(), StoreError> {
        sqlx::query(D::SQL.keep_message)
            .bind(agency)
            .bind(name)
            .bind(correlation)
            .bind(message_id)
            .bind(Json(&payload.to_string()))
            .execute(&self.writer)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn unmatched_messages(
        &self,
        agency: &str,
        limit: u32,
    ) -> Result<Vec<UnmatchedMessage>, StoreError> {
        let rows: Vec<(String, String, String, JsonText, Ts)> = sqlx::query_as(
            "SELECT name, correlation, message_id, payload, received_at FROM unmatched_messages \
             WHERE agency = $1 ORDER BY received_at DESC, message_id LIMIT $2",
        )
        .bind(agency)
        .bind(i64::from(limit))
        .fetch_all(&self.reads)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|(name, correlation, message_id, payload, received_at)| {
                Ok(UnmatchedMessage {
                    name,
                    correlation,
                    message_id,
                    payload: serde_json::from_str(&payload.0)
                        .map_err(|e| StoreError::Database(e.to_string()))?,
                    received_at: received_at.0,
                })
            })
            .collect()
    }
}
}
