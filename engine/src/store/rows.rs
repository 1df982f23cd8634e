//! The rows both SQL backends share: building the [`RecordedEvent`]s a commit appends (so the
//! hash chain is computed the same way whichever database stores it), turning stored rows back
//! into events, the SQLite timestamp text format, and sorting database errors into
//! [`StoreError`]s.
//!
//! Database error text only ever goes into [`StoreError::Database`]; the other variants carry
//! our own words, because they can reach clients.

use chrono::{DateTime, SecondsFormat, Utc};

use super::{Commit, StoreError};
use crate::events::{Actor, Event, RecordedEvent, StoredEvent, StoredPayload, StreamId};
use crate::privacy::Keyring;

/// The events a commit appends to a stream whose head is `prev_hash`, recorded at `at`, each
/// with its version and hash, and with the JSON text stored for its payload and actor (each
/// event is serialized once, for both). `at` must be exactly what the database stores and
/// gives back, since the hash covers it.
pub(crate) fn record(
    commit: &Commit,
    at: DateTime<Utc>,
    prev_hash: String,
) -> Vec<(RecordedEvent, String, String)> {
    let author = |actor: &Actor| serde_json::to_string(actor).expect("actors serialize");
    let mut by = (
        &commit.actor,
        commit.command_id.as_str(),
        author(&commit.actor),
    );
    let mut joined = commit.joined.iter().peekable();
    let mut prev = prev_hash;
    let mut out = Vec::with_capacity(commit.events.len());
    for (i, event) in commit.events.iter().enumerate() {
        // The events from a joined command's first on are its own.
        while let Some(j) = joined.next_if(|j| j.first <= i) {
            by = (&j.actor, j.command_id.as_str(), author(&j.actor));
        }
        let mut e = RecordedEvent {
            stream: commit.stream.clone(),
            version: commit.expected_version + i as u64 + 1,
            position: 0,
            recorded_at: at,
            workflow: commit.definition.workflow.clone(),
            workflow_version: commit.definition.version,
            definition_hash: commit.definition.hash.clone(),
            actor: by.0.clone(),
            command_id: by.1.to_owned(),
            prev_hash: prev,
            hash: String::new(),
            event: event.clone(),
        };
        let payload = match commit.payloads.get(i) {
            Some(written) => written.clone(),
            None => serde_json::to_string(&e.event.to_stored()).expect("events serialize"),
        };
        e.hash = e.compute_hash_with_payload(&payload);
        prev = e.hash.clone();
        out.push((e, payload, by.2.clone()));
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
    /// The recorded event; an unreadable actor or payload is [`StoreError::Corrupt`]. A sealed
    /// payload is opened with `keyring`; one whose key is erased (or not held) reads as
    /// [`Event::Erased`].
    pub(crate) fn into_recorded(
        self,
        keyring: Option<&Keyring>,
    ) -> Result<RecordedEvent, StoreError> {
        let mut stored = self.into_stored()?;
        if let Some(kind) = crate::privacy::sealed_kind(&stored.event.payload) {
            let opened = match keyring {
                Some(k) => k
                    .open_payload(&stored.stream, &stored.event.payload)
                    .map_err(|e| StoreError::Corrupt {
                        stream: stored.stream.to_string(),
                        version: stored.version,
                        reason: e.to_string(),
                    })?,
                None => None,
            };
            match opened {
                Some(text) => stored.event.payload = text,
                None => return Ok(stored.map(|_| Event::Erased { kind })),
            }
        }
        match stored.decode() {
            Ok(event) => Ok(stored.map(|_| event)),
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
            prev_hash: self.prev_hash,
            hash: self.hash,
            event: StoredPayload {
                kind: self.kind,
                payload: self.payload,
            },
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

/// Any database failure (a statement, a connection, a migration).
pub(crate) fn db(e: impl std::fmt::Display) -> StoreError {
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
