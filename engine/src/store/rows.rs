//! What both SQL backends share: the write path of a commit ([`write_path!`], written once so
//! that the two backends cannot drift apart on what a commit, a duplicate or a conflict
//! writes), building the [`RecordedEvent`]s a commit appends (so the hash chain is computed the
//! same way whichever database stores it), turning stored rows back into events, the SQLite
//! timestamp text format, and sorting database errors into [`StoreError`]s.
//!
//! Database error text only ever goes into [`StoreError::Database`]; the other variants carry
//! our own words, because they can reach clients.

use chrono::{DateTime, SecondsFormat, Utc};

use super::{Commit, StoreError};
use crate::events::{Actor, RecordedEvent, StoredEvent, StreamId};

/// The events a commit appends to a stream whose head is `prev_hash`, recorded at `at`, each
/// with its version and hash, and with the JSON text stored for its payload and actor (each
/// event is serialized once, for both). `at` must be exactly what the database stores and
/// gives back, since the hash covers it.
pub(crate) fn record(
    commit: &Commit,
    at: DateTime<Utc>,
    prev_hash: String,
) -> Vec<(RecordedEvent, String, String)> {
    let actor = serde_json::to_string(&commit.actor).expect("actors serialize");
    let mut prev = prev_hash;
    let mut out = Vec::with_capacity(commit.events.len());
    for (i, event) in commit.events.iter().enumerate() {
        let mut e = RecordedEvent {
            stream: commit.stream.clone(),
            version: commit.expected_version + i as u64 + 1,
            position: 0,
            recorded_at: at,
            workflow: commit.definition.workflow.clone(),
            workflow_version: commit.definition.version,
            definition_hash: commit.definition.hash.clone(),
            actor: commit.actor.clone(),
            command_id: commit.command_id.clone(),
            prev_hash: prev,
            hash: String::new(),
            event: event.clone(),
        };
        let payload = serde_json::to_string(&e.event.to_stored()).expect("events serialize");
        e.hash = e.compute_hash_with_payload(&payload);
        prev = e.hash.clone();
        out.push((e, payload, actor.clone()));
    }
    out
}

/// An event row as read, before its JSON columns are parsed.
#[derive(Debug)]
pub(crate) struct EventRow {
    pub agency: String,
    pub instance: String,
    pub version: i64,
    pub position: i64,
    pub recorded_at: DateTime<Utc>,
    pub workflow: String,
    pub workflow_version: i64,
    pub definition_hash: String,
    pub actor: String,
    pub command_id: String,
    pub kind: String,
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
}

impl EventRow {
    /// The recorded event; an unreadable actor or payload is [`StoreError::Corrupt`].
    pub(crate) fn into_recorded(self) -> Result<RecordedEvent, StoreError> {
        let stored = self.into_stored()?;
        match stored.event() {
            Ok(event) => Ok(stored.with_event(event)),
            Err(reason) => Err(StoreError::Corrupt {
                stream: stored.stream.to_string(),
                version: stored.version,
                reason,
            }),
        }
    }
}

impl EventRow {
    /// The stored event, its payload left as stored; an unreadable actor is
    /// [`StoreError::Corrupt`] (a payload is not read at all).
    pub(crate) fn into_stored(self) -> Result<StoredEvent, StoreError> {
        let stream = StreamId {
            agency: self.agency,
            instance: self.instance,
        };
        let version = self.version as u64;
        let corrupt = |reason: String| StoreError::Corrupt {
            stream: stream.to_string(),
            version,
            reason,
        };
        let actor: Actor = serde_json::from_str(&self.actor)
            .map_err(|e| corrupt(format!("unreadable actor: {e}")))?;
        let workflow_version = u32::try_from(self.workflow_version)
            .map_err(|_| corrupt(format!("bad workflow version {}", self.workflow_version)))?;
        Ok(StoredEvent {
            stream,
            version,
            position: self.position as u64,
            recorded_at: self.recorded_at,
            workflow: self.workflow,
            workflow_version,
            definition_hash: self.definition_hash,
            actor,
            command_id: self.command_id,
            kind: self.kind,
            payload: self.payload,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// How SQLite stores a time: RFC 3339 UTC with exactly six fractional digits
/// (`2026-01-02T03:04:05.123456Z`). Every stored time has the same width, so text order is
/// time order and `<=` in SQL compares times.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads a time stored by [`ts`].
pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Database(format!("stored time {s:?} is unreadable: {e}")))
}

/// Any database failure.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

/// Whether an error means another writer got to the stream (or the command) first: a unique
/// violation on the event versions or the command ids, or (PostgreSQL) a deadlock or
/// serialization failure between two nodes' transactions.
pub(crate) fn is_race(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(d) = e else {
        return false;
    };
    if matches!(d.code().as_deref(), Some("40P01" | "40001")) {
        return true;
    }
    if d.kind() != sqlx::error::ErrorKind::UniqueViolation {
        return false;
    }
    match d.constraint() {
        Some(c) => c == "events_stream_version" || c == "commands_pkey",
        // SQLite names the columns instead of the constraint.
        None => {
            let m = d.message();
            m.contains("events.agency") || m.contains("commands.agency")
        }
    }
}

/// The conflict of a commit that found its stream at `actual`.
pub(crate) fn conflict(commit: &Commit, actual: u64) -> StoreError {
    StoreError::Conflict {
        stream: commit.stream.to_string(),
        expected: commit.expected_version,
        actual,
    }
}

/// A `u32` column, read from its wider SQL integer.
pub(crate) fn u32_col(v: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError::Database(format!("stored {what} {v} is out of range")))
}

/// Why one commit of a batch failed.
#[derive(Debug)]
pub(crate) enum Fail {
    /// It cannot be applied; report this and go on with the batch.
    Refused(StoreError),
    /// The database refused a statement.
    Sql(sqlx::Error),
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        Fail::Sql(e)
    }
}

/// The write path of a batch, for one backend: `conn` is its connection type, `time` turns a
/// time into what it binds for a time column, `json` is the cast its JSON parameters need.
/// Statements use `$n` parameters, which both SQLite and PostgreSQL accept.
///
/// Expands to `write_batch(conn, batch, at)`, which runs inside the caller's transaction. A
/// batch in which every commit goes in (the usual case) is written by the fast path of
/// `bulk.rs`, a few multi-row statements for the whole batch; otherwise each commit gets a
/// `SAVEPOINT`, and one that fails (a conflict, or a statement the database refused) is rolled
/// back to it alone, so the others still go in. Commits are applied stream by stream in a fixed
/// order (stable, so one stream's commits keep theirs; results come back in the caller's
/// order): two PostgreSQL nodes' batches then lock rows in the same order.
macro_rules! write_path {
    (conn: $conn:ty, time: $time:path, json: $json:literal) => {
        mod write {
            use chrono::{DateTime, Utc};

            use $crate::events::StreamId;
            use $crate::store::rows::{self, Fail, conflict, db, is_race};
            use $crate::store::{Commit, Committed, StoreError};

            $crate::store::bulk::bulk_path!(conn: $conn, time: $time, json: $json);

            /// The stream's version and last hash (0 and "" when it has no events).
            async fn head(conn: &mut $conn, s: &StreamId) -> Result<(u64, String), sqlx::Error> {
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
            async fn seen(conn: &mut $conn, c: &Commit) -> Result<Option<u64>, sqlx::Error> {
                let v: Option<i64> = sqlx::query_scalar(
                    "SELECT version FROM commands \
                     WHERE agency = $1 AND instance = $2 AND command_id = $3",
                )
                .bind(&c.stream.agency)
                .bind(&c.stream.instance)
                .bind(&c.command_id)
                .fetch_optional(&mut *conn)
                .await?;
                Ok(v.map(|v| v as u64))
            }

            async fn complete_job(conn: &mut $conn, c: &Commit) -> Result<(), sqlx::Error> {
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
                conn: &mut $conn,
                c: &Commit,
                at: DateTime<Utc>,
            ) -> Result<Committed, Fail> {
                let s = &c.stream;
                complete_job(conn, c).await?;
                if let Some(version) = seen(conn, c).await? {
                    return Ok(Committed { version, duplicate: true });
                }
                let (version, last_hash) = head(conn, s).await?;
                if version != c.expected_version {
                    return Err(Fail::Refused(conflict(c, version)));
                }
                for (e, payload, actor) in rows::record(c, at, last_hash) {
                    sqlx::query(concat!(
                        "INSERT INTO events (agency, instance, version, recorded_at, workflow, \
                         workflow_version, definition_hash, actor, command_id, type, payload, \
                         prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8", $json,
                        ", $9, $10, $11", $json, ", $12, $13)"
                    ))
                    .bind(&s.agency).bind(&s.instance).bind(e.version as i64).bind($time(at))
                    .bind(&e.workflow).bind(i64::from(e.workflow_version)).bind(&e.definition_hash)
                    .bind(actor).bind(&e.command_id).bind(e.event.kind()).bind(payload)
                    .bind(&e.prev_hash).bind(&e.hash)
                    .execute(&mut *conn)
                    .await?;
                }
                for job in &c.jobs {
                    sqlx::query(concat!(
                        "INSERT INTO jobs (id, agency, instance, kind, payload, created_at, \
                         lease_owner, leases, lease_until) \
                         VALUES ($1, $2, $3, $4, $5", $json, ", $6, $7, $8, $9)"
                    ))
                    .bind(&job.id).bind(&s.agency).bind(&s.instance).bind(job.kind.as_str())
                    .bind(job.payload.to_string()).bind($time(at))
                    .bind(c.lease.as_ref().map(|l| l.owner.as_str()))
                    .bind(i64::from(c.lease.is_some()))
                    .bind(c.lease.as_ref().map(|l| $time(l.until(at))))
                    .execute(&mut *conn)
                    .await?;
                }
                for t in &c.timers {
                    sqlx::query(
                        "INSERT INTO timers (agency, instance, id, due_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (agency, instance, id) \
                         DO UPDATE SET due_at = excluded.due_at",
                    )
                    .bind(&s.agency).bind(&s.instance).bind(&t.id).bind($time(t.due_at))
                    .execute(&mut *conn)
                    .await?;
                }
                for id in &c.dropped_timers {
                    sqlx::query(
                        "DELETE FROM timers WHERE agency = $1 AND instance = $2 AND id = $3",
                    )
                        .bind(&s.agency).bind(&s.instance).bind(id)
                        .execute(&mut *conn)
                        .await?;
                }
                let i = &c.instance;
                sqlx::query(
                    "INSERT INTO instances (agency, instance, workflow, workflow_version, \
                     tracking_code, status, state, incidents, sla_breached, started_at, \
                     updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                     ON CONFLICT (agency, instance) DO UPDATE SET status = excluded.status, \
                     state = excluded.state, incidents = excluded.incidents, \
                     sla_breached = excluded.sla_breached, updated_at = excluded.updated_at",
                )
                .bind(&s.agency).bind(&s.instance).bind(&i.workflow)
                .bind(i64::from(i.workflow_version)).bind(&i.tracking_code).bind(&i.status)
                .bind(&i.state).bind(i64::from(i.incidents)).bind(i.sla_breached)
                .bind($time(i.started_at)).bind($time(at))
                .execute(&mut *conn)
                .await?;
                for t in &c.tasks {
                    sqlx::query(
                        "INSERT INTO tasks \
                         (agency, instance, id, step, role, officer, due_at, open) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                         ON CONFLICT (agency, instance, id) DO UPDATE SET step = excluded.step, \
                         role = excluded.role, officer = excluded.officer, \
                         due_at = excluded.due_at, open = excluded.open",
                    )
                    .bind(&s.agency).bind(&s.instance).bind(&t.id).bind(&t.step).bind(&t.role)
                    .bind(&t.officer).bind($time(t.due_at)).bind(t.open)
                    .execute(&mut *conn)
                    .await?;
                }
                let after = c.expected_version + c.events.len() as u64;
                sqlx::query(
                    "INSERT INTO commands (agency, instance, command_id, version) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(&s.agency).bind(&s.instance).bind(&c.command_id).bind(after as i64)
                .execute(&mut *conn)
                .await?;
                Ok(Committed { version: after, duplicate: false })
            }

            /// After a commit lost a race and was rolled back: its command's earlier result (the
            /// other writer committed the same command), or the conflict.
            async fn lost_race(
                conn: &mut $conn,
                c: &Commit,
            ) -> Result<Result<Committed, StoreError>, sqlx::Error> {
                if let Some(version) = seen(conn, c).await? {
                    complete_job(conn, c).await?;
                    return Ok(Ok(Committed { version, duplicate: true }));
                }
                Ok(Err(conflict(c, head(conn, &c.stream).await?.0)))
            }

            /// Writes a batch inside the caller's transaction, recorded at `at`.
            pub(super) async fn write_batch(
                conn: &mut $conn,
                batch: &[Commit],
                at: DateTime<Utc>,
            ) -> Result<Vec<Result<Committed, StoreError>>, StoreError> {
                let mut order: Vec<usize> = (0..batch.len()).collect();
                order.sort_by(|&a, &b| batch[a].stream.cmp(&batch[b].stream));
                sqlx::query("SAVEPOINT whole_batch").execute(&mut *conn).await.map_err(db)?;
                let fast = bulk(conn, batch, &order, at).await;
                if !matches!(fast, Ok(Some(_))) {
                    sqlx::query("ROLLBACK TO SAVEPOINT whole_batch")
                        .execute(&mut *conn)
                        .await
                        .map_err(db)?;
                }
                sqlx::query("RELEASE SAVEPOINT whole_batch").execute(&mut *conn).await.map_err(db)?;
                if let Ok(Some(results)) = fast {
                    return Ok(results);
                }
                let mut results: Vec<Option<Result<Committed, StoreError>>> =
                    vec![None; batch.len()];
                for i in order {
                    let c = &batch[i];
                    sqlx::query("SAVEPOINT one_commit")
                        .execute(&mut *conn)
                        .await
                        .map_err(db)?;
                    let outcome = apply(conn, c, at).await;
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
                        Err(Fail::Sql(e)) if is_race(&e) => lost_race(conn, c).await.map_err(db)?,
                        Err(Fail::Sql(e)) => Err(db(e)),
                    });
                }
                Ok(results.into_iter().map(|r| r.expect("every commit has a result")).collect())
            }
        }
    };
}
pub(crate) use write_path;
