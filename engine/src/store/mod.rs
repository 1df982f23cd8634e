//! Event stores: one narrow contract, two backends (SQLite embedded, PostgreSQL shared).
//!
//! A [`Commit`] is everything one command changed in one instance: its events, and what they
//! imply (jobs for side effects, timers to set or drop, the read-model rows), derived by
//! [`effects`]. [`Store::commit`] writes a *batch* of commits (many instances) in one
//! transaction, which is how the single writer groups commits past the disk's fsync rate. Each
//! commit in a batch is conditional on its stream's expected version and is applied all or
//! nothing; a conflicting commit is reported and the others still go in. A commit whose
//! command id the stream has already seen appends nothing and reports the earlier result.

mod ahead;
mod bulk;
pub mod dialect;
pub mod effects;
mod ledger;
pub mod pages;
pub mod postgres;
mod rows;
pub mod sql;
pub mod sqlite;
pub mod subscriptions;
pub mod trees;
mod write;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::{Actor, Event, RecordedEvent, StoredEvent, StreamId};

pub use effects::{effects, task_rows};
pub use pages::{InstanceKey, Load, Seek, ServiceCount, TaskKey, WorkQuery};
pub use subscriptions::{DeliveryAttempt, Subscription, Subscriptions};
pub use trees::Trees;

/// The definition that decided a commit's events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefinitionRef {
    /// The workflow id.
    pub workflow: String,
    /// Its version.
    pub version: u32,
    /// Its content hash.
    pub hash: String,
}

/// What one command changed in one instance.
#[derive(Clone, Debug, PartialEq)]
pub struct Commit {
    /// The instance.
    pub stream: StreamId,
    /// The stream version the events were decided on (0 for a new instance).
    pub expected_version: u64,
    /// The command's id; a second commit with the same id appends nothing.
    pub command_id: String,
    /// Who sent the command.
    pub actor: Actor,
    /// The definition that decided the events.
    pub definition: DefinitionRef,
    /// The events, in order; may be empty (a command that changed nothing still completes
    /// its job).
    pub events: Vec<Event>,
    /// Jobs to create.
    pub jobs: Vec<NewJob>,
    /// The job this commit completes (a worker's report), deleted in the same transaction.
    pub completes_job: Option<String>,
    /// Timers to create.
    pub timers: Vec<NewTimer>,
    /// Timers to delete (fired or cancelled).
    pub dropped_timers: Vec<String>,
    /// The instance's read-model row after the commit.
    pub instance: InstanceRow,
    /// The instance's tasks after the commit (the worklist rows of this instance).
    pub tasks: Vec<TaskRow>,
    /// Leases the commit's jobs, as they are created, to the node that will perform them
    /// (it hands them to its own workers, with no lease query); `None` leaves them to any
    /// node's job loop.
    pub lease: Option<JobLease>,
    /// Commands decided after the commit's own in the same turn and committed with it (the
    /// reports of a parallel step's jobs performed together): each owns the events from its
    /// `first` on, recorded under its id and actor, and completes its job. Only the commit's
    /// own command id is checked for a repeat.
    pub joined: Vec<Joined>,
    /// Each event's stored payload text (`serde_json::to_string(&event.to_stored())`), written
    /// by the caller so that the writer's serial section does not serialize; empty to let the
    /// store write them.
    pub payloads: Vec<String>,
}

/// A command committed with another: see [`Commit::joined`].
#[derive(Clone, Debug, PartialEq)]
pub struct Joined {
    /// The index in [`Commit::events`] of its first event (its events run to the next joined
    /// command's first, or to the end).
    pub first: usize,
    /// The command's id.
    pub command_id: String,
    /// Who sent the command.
    pub actor: Actor,
    /// The job it completes.
    pub completes_job: Option<String>,
}

/// A lease taken on a commit's jobs as they are created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobLease {
    /// The node that performs them.
    pub owner: String,
    /// How long they are its own (from the commit's time); after that, any node's job loop
    /// may take them over, as it takes over the jobs of a node that died.
    pub duration: std::time::Duration,
}

impl JobLease {
    /// Until when the lease holds, for a commit recorded at `at`.
    pub fn until(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        chrono::Duration::from_std(self.duration)
            .ok()
            .and_then(|d| at.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// What a successful commit appended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    /// The stream version after the commit.
    pub version: u64,
    /// Whether this command id had been committed before (then nothing was appended now).
    pub duplicate: bool,
}

/// A batch of commits made ready to write while the batch before it is being written (see
/// [`EventLog::prepare`]): the commits themselves, and whatever the store worked out for them
/// ahead of the transaction.
pub struct Prepared {
    pub(crate) commits: Vec<Commit>,
    pub(crate) ahead: Option<Box<dyn std::any::Any + Send>>,
}

impl Prepared {
    /// A batch with nothing worked out ahead: [`EventLog::write`] commits it as
    /// [`EventLog::commit`] does.
    pub fn plain(commits: Vec<Commit>) -> Self {
        Prepared {
            commits,
            ahead: None,
        }
    }
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("commits", &self.commits.len())
            .field("ahead", &self.ahead.is_some())
            .finish()
    }
}

/// What [`EventLog::write`] gives back: the batch's commits, and what [`EventLog::commit`]
/// would have answered for them.
pub type Written = (
    Vec<Commit>,
    Result<Vec<Result<Committed, StoreError>>, StoreError>,
);

/// Why a store call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The stream is not at the expected version: another command got there first. Reload
    /// and decide again.
    #[error("conflict on {stream}: expected version {expected}, found {actual}")]
    Conflict {
        /// The stream.
        stream: String,
        /// The version the commit expected.
        expected: u64,
        /// The version the stream is at.
        actual: u64,
    },
    /// A stored event could not be read (an unknown type or version).
    #[error("event {version} of {stream} cannot be read: {reason}")]
    Corrupt {
        /// The stream.
        stream: String,
        /// The event's version.
        version: u64,
        /// Why.
        reason: String,
    },
    /// A definition version is already deployed with different content: a deployed version
    /// never changes; deploy a new version instead.
    #[error("version {version} of {workflow} is already deployed with different content")]
    VersionTaken {
        /// The workflow id.
        workflow: String,
        /// The version.
        version: u32,
    },
    /// The database failed or could not be reached. The text is for logs, never for clients.
    #[error("database: {0}")]
    Database(String),
}

/// Opens the store at `url`, choosing the backend by its scheme (`sqlite:` for a file,
/// `postgres:` or `postgresql:` for a server), and brings its schema up to date.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PgStore::open(url).await?))
    } else {
        let scheme = url.split(':').next().unwrap_or_default();
        Err(StoreError::Database(format!(
            "unsupported store URL scheme {scheme:?}: use sqlite:, postgres: or postgresql:"
        )))
    }
}

/// Opens the store at `url` as [`open`] does, only if it already exists: an SQLite file that
/// is missing or holds no daftar store, or a PostgreSQL database (schema) without one, is an
/// error and is left as it was. What commands that only read use, so that a mistyped name is
/// never answered by a new, empty store.
pub async fn open_existing(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open_existing(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PgStore::open_existing(url).await?))
    } else {
        open(url).await
    }
}

/// Why a store that had to exist could not be opened.
fn no_store(what: impl std::fmt::Display) -> StoreError {
    StoreError::Database(format!(
        "{what}; commands that only read never create a store: check --db or $DAFTAR_DB"
    ))
}

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Ask an agency.
    Inquiry,
    /// Request a payment.
    Payment,
    /// Send an SMS.
    Notification,
    /// Start a sub-workflow.
    Call,
}

impl JobKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Inquiry => "inquiry",
            JobKind::Payment => "payment",
            JobKind::Notification => "notification",
            JobKind::Call => "call",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "inquiry" => JobKind::Inquiry,
            "payment" => JobKind::Payment,
            "notification" => JobKind::Notification,
            "call" => JobKind::Call,
            _ => return None,
        })
    }
}

/// A side effect to perform after the commit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    /// Unique across the store: the stream and the version of the event that asked for it.
    pub id: String,
    /// What it does.
    pub kind: JobKind,
    /// The event that asked for it (its payload as stored).
    pub payload: Value,
}

/// A leased job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Its id.
    pub id: String,
    /// Its instance.
    pub stream: StreamId,
    /// What it does.
    pub kind: JobKind,
    /// The event that asked for it.
    pub payload: Value,
    /// How many times it has been leased, this lease included.
    pub leases: u32,
    /// Until when this lease holds (by the database clock).
    pub lease_until: DateTime<Utc>,
}

/// A timer to set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewTimer {
    /// Its id, unique in its stream.
    pub id: String,
    /// When it is due (UTC).
    pub due_at: DateTime<Utc>,
}

/// A timer that is due.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DueTimer {
    /// Its instance.
    pub stream: StreamId,
    /// Its id.
    pub id: String,
    /// When it was due.
    pub due_at: DateTime<Utc>,
}

/// The read-model row of an instance: what lists, filters and tracking read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceRow {
    /// The workflow id.
    pub workflow: String,
    /// Its version.
    pub workflow_version: u32,
    /// The tracking code.
    pub tracking_code: String,
    /// The public status.
    pub status: Option<String>,
    /// `running`, or how it ended: an outcome (`issued`, `rejected`, …) or `cancelled`.
    pub state: String,
    /// Open incidents.
    pub incidents: u32,
    /// Whether the SLA passed before the end.
    pub sla_breached: bool,
    /// When it was filed.
    pub started_at: DateTime<Utc>,
    /// Who filed it, when an applicant filed with a token of their own (its subject).
    pub filed_by: Option<String>,
    /// The national document ID of the document it issued, if it issued one: indexed, so that
    /// verification finds the request without a scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
}

/// The state of a request that has not ended.
pub const RUNNING: &str = "running";

/// One request as the service report counts it ([`ReadModels::decisions`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Decided {
    /// The workflow id.
    pub workflow: String,
    /// `running`, an outcome, or `cancelled`.
    pub state: String,
    /// When it was filed.
    pub started_at: DateTime<Utc>,
    /// When it ended, once it has.
    pub ended_at: Option<DateTime<Utc>>,
    /// Whether the SLA passed before the end.
    pub sla_breached: bool,
    /// Open incidents.
    pub incidents: u32,
    /// Whether a person was asked to act on it (it had a human task).
    pub human: bool,
}

/// Which instances of an agency a listing shows: every filter left `None` matches all.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceQuery {
    /// Only this workflow.
    pub workflow: Option<String>,
    /// Only this public status.
    pub status: Option<String>,
    /// Only this state: `running`, an outcome, or `cancelled`.
    pub state: Option<String>,
    /// Filed at or after.
    pub from: Option<DateTime<Utc>>,
    /// Filed before.
    pub to: Option<DateTime<Utc>>,
    /// Only those whose SLA passed (true) or did not (false).
    pub sla_breached: Option<bool>,
    /// Only those this applicant filed (a token's subject).
    pub filed_by: Option<String>,
    /// At most this many (the store caps it at 1001: one more than a listing's largest page,
    /// so that a caller can tell whether a full page has another after it).
    pub limit: u32,
    /// Skip this many first.
    pub offset: u32,
    /// A keyset page: the rows after (or before) a row's key, which the listing's index seeks
    /// to; unlike `offset`, a page boundary neither repeats nor skips a row when requests are
    /// filed meanwhile.
    pub seek: Option<Seek<InstanceKey>>,
    /// Only requests with an open incident.
    pub with_incidents: bool,
}

impl InstanceRow {
    /// Its sort key in a listing, for the instance `instance`.
    pub fn key(&self, instance: &str) -> InstanceKey {
        InstanceKey {
            started_at: self.started_at,
            instance: instance.to_owned(),
        }
    }
}

/// The most instances one listing returns.
pub const MAX_LISTING: u32 = 1000;

// The worklist's row is also what the API shows of a request's tasks (`TaskView`).
/// A task of a request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TaskView))]
pub struct TaskRow {
    /// The task id, unique in its instance.
    pub id: String,
    /// The step.
    pub step: String,
    /// The role that may claim it.
    pub role: Option<String>,
    /// The officer who claimed it.
    pub officer: Option<String>,
    /// The deadline.
    pub due_at: DateTime<Utc>,
    /// Whether it is open.
    pub open: bool,
}

/// A row of an agency's worklist: a task with the instance it belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkItem {
    /// The instance.
    pub stream: StreamId,
    /// The task.
    pub task: TaskRow,
    /// The instance's workflow id.
    pub workflow: String,
    /// The instance's tracking code.
    pub tracking_code: String,
}

/// A message no instance was waiting for, kept so that it is reported and not lost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnmatchedMessage {
    /// The message's name (`callback`, `payment`, or a workflow's own).
    pub name: String,
    /// Its correlation key.
    pub correlation: String,
    /// Its id.
    pub message_id: String,
    /// Its payload.
    pub payload: Value,
    /// When it was kept.
    pub received_at: DateTime<Utc>,
}

/// A deployed definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredDefinition {
    /// The agency.
    pub agency: String,
    /// The workflow id.
    pub workflow: String,
    /// Its version.
    pub version: u32,
    /// Its content hash.
    pub hash: String,
    /// The date from which it decides new requests.
    pub in_force_from: chrono::NaiveDate,
    /// The YAML it was compiled from.
    pub source: String,
}

/// What the rows kept beside the events say about each stream, read in one snapshot of the
/// database: what verifying a store checks against the events (streams ordered by agency,
/// then instance).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Each stream that has events: how many, and its highest version.
    pub streams: Vec<(StreamId, u64, u64)>,
    /// Each stream that `commands` rows name, with the highest version they left it at.
    pub commands: Vec<(StreamId, u64)>,
    /// Each stream that has an `instances` row.
    pub instances: Vec<StreamId>,
    /// Each stream that `jobs`, `timers` or `tasks` rows name, with the table's name.
    pub others: Vec<(StreamId, String)>,
}

/// The event log: appending commits and reading the streams back, what the engine's writer,
/// replay and verification need.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Writes a batch of commits in one transaction. The outer error means nothing was
    /// written; otherwise each commit has its own result, in order.
    async fn commit(
        &self,
        batch: &[Commit],
    ) -> Result<Vec<Result<Committed, StoreError>>, StoreError>;

    /// Makes a batch ready for [`EventLog::write`] while the batch before it may still be
    /// being written, so that the single writer's serial section holds only the database's
    /// work. A store that can (SQLite) reads the heads and command ids of the batch's streams,
    /// decides each commit, chains its events and binds its rows here; the default leaves it
    /// all to the write.
    async fn prepare(&self, batch: Vec<Commit>) -> Prepared {
        Prepared::plain(batch)
    }

    /// Writes a prepared batch in one transaction, with the same outcome as
    /// [`EventLog::commit`]. Batches must be written in the order they were prepared.
    async fn write(&self, prepared: Prepared) -> Written {
        let results = self.commit(&prepared.commits).await;
        (prepared.commits, results)
    }

    /// Every event of a stream, in version order.
    async fn load(&self, stream: &StreamId) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The version of a stream's last event (0 when it has none).
    async fn head(&self, stream: &StreamId) -> Result<u64, StoreError>;

    /// Whether several nodes may append to this store's streams (a database server they
    /// share): then a state a node holds in memory may be behind its stream, and is checked
    /// against [`EventLog::head`] before it is read. An SQLite file is served by one node.
    fn shared(&self) -> bool {
        false
    }

    /// Events of all streams after a global position, in position order.
    async fn read_all(&self, after: u64, limit: u32) -> Result<Vec<RecordedEvent>, StoreError>;

    /// At most `limit` events of all streams with positions in `(after, until]`, in position
    /// order, their payloads as stored (not decoded): what verifying hash chains reads.
    async fn read_stored(
        &self,
        after: u64,
        until: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// The position of the last event appended (0 for an empty store).
    async fn last_position(&self) -> Result<u64, StoreError>;

    /// The rows around the events of an agency's streams (every agency's when `None`), read in
    /// one snapshot.
    async fn ledger(&self, agency: Option<&str>) -> Result<Ledger, StoreError>;

    /// Every stream, in order.
    async fn streams(&self) -> Result<Vec<StreamId>, StoreError>;

    /// From now on, opens the sealed payloads it reads with this keyring
    /// ([`crate::privacy`]); without one, a sealed event reads as [`Event::Erased`].
    fn use_keyring(&self, keyring: Arc<crate::privacy::Keyring>);
}

/// Work to perform: leasing jobs, finding due timers, claiming scheduled starts; what the
/// job, timer and schedule loops need.
#[async_trait]
pub trait Work: Send + Sync {
    /// Leases up to `limit` jobs that are not leased (or whose lease expired) for `lease`,
    /// by the database clock. On PostgreSQL two nodes never lease the same job.
    async fn lease_jobs(
        &self,
        worker: &str,
        limit: u32,
        lease: std::time::Duration,
    ) -> Result<Vec<Job>, StoreError>;

    /// Timers due by `now` (the engine's clock), earliest first.
    async fn due_timers(&self, now: DateTime<Utc>, limit: u32)
    -> Result<Vec<DueTimer>, StoreError>;

    /// The database's clock.
    async fn now(&self) -> Result<DateTime<Utc>, StoreError>;

    /// Records that a scheduled start for `occurrence` happened; true for the first caller
    /// only, across restarts and nodes.
    async fn claim_occurrence(
        &self,
        agency: &str,
        workflow: &str,
        schedule: &str,
        occurrence: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// The definitions catalog: the deployed versions of each agency's workflows.
#[async_trait]
pub trait Catalog: Send + Sync {
    /// Deploys a definition version; refuses to overwrite an existing (agency, workflow,
    /// version) with different content, and is a no-op for the same content.
    async fn deploy(&self, definition: &StoredDefinition) -> Result<(), StoreError>;

    /// Every deployed version of every workflow of an agency (all agencies when `None`).
    async fn definitions(&self, agency: Option<&str>) -> Result<Vec<StoredDefinition>, StoreError>;
}

/// The read models kept beside the events: instances, the worklist, incidents and unmatched
/// messages; what listings, tracking and the worklist read.
#[async_trait]
pub trait ReadModels: Send + Sync {
    /// The instance read-model row.
    async fn instance(&self, stream: &StreamId) -> Result<Option<InstanceRow>, StoreError>;

    /// An agency's instances that match `query`, newest first (then by instance id).
    async fn instances(
        &self,
        agency: &str,
        query: &InstanceQuery,
    ) -> Result<Vec<(StreamId, InstanceRow)>, StoreError>;

    /// An agency's requests filed in `[from, to)`, for the service report; a bound left
    /// `None` is open.
    async fn decisions(
        &self,
        agency: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<Decided>, StoreError>;

    /// The stream of a tracking code.
    async fn find_tracking_code(&self, code: &str) -> Result<Option<StreamId>, StoreError>;

    /// The stream of the request that issued a national document (by its ID, exactly as
    /// issued).
    async fn find_document(&self, document_id: &str) -> Result<Option<StreamId>, StoreError>;

    /// Open incidents per agency and workflow, for workflows that have any.
    async fn open_incidents(&self) -> Result<Vec<(String, String, u64)>, StoreError>;

    /// An agency's worklist: its tasks with their instances, by deadline (then stream, then
    /// task id). `role` keeps only the tasks that role may claim now (every role when
    /// `None`); `open_only` leaves out closed tasks. Other agencies' tasks never appear.
    async fn worklist(
        &self,
        agency: &str,
        role: Option<&str>,
        open_only: bool,
    ) -> Result<Vec<WorkItem>, StoreError>;

    /// A page of an agency's worklist, by deadline (then stream, then task id, byte by
    /// byte), read from the tasks' indexes: what the desk's worklist shows. Other agencies'
    /// tasks never appear.
    async fn worklist_page(
        &self,
        agency: &str,
        query: &WorkQuery,
    ) -> Result<Vec<WorkItem>, StoreError>;

    /// An agency's requests filed in `[from, to)` (a bound left `None` is open), counted by
    /// service and state in the database: the manager's figures, without reading the rows.
    async fn service_counts(
        &self,
        agency: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<ServiceCount>, StoreError>;

    /// An agency's open tasks counted by the officer holding them (or none) and their role,
    /// with how many are past their deadline at `now`: the officers' load.
    async fn officers_load(
        &self,
        agency: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Load>, StoreError>;

    /// Keeps a message no instance was waiting for, so that it is reported and not lost.
    async fn keep_unmatched_message(
        &self,
        agency: &str,
        name: &str,
        correlation: &str,
        message_id: &str,
        payload: &Value,
    ) -> Result<(), StoreError>;

    /// An agency's kept messages (callbacks, payment results) that no instance was waiting
    /// for, newest first, at most `limit`.
    async fn unmatched_messages(
        &self,
        agency: &str,
        limit: u32,
    ) -> Result<Vec<UnmatchedMessage>, StoreError>;
}

/// An event store: every capability, for the callers that hold the whole store
/// (`Arc<dyn Store>`). Implemented by every type that has all six.
pub trait Store:
    EventLog + Work + Catalog + ReadModels + Subscriptions + Trees + std::fmt::Debug + 'static
{
}

impl<T: EventLog + Work + Catalog + ReadModels + Subscriptions + Trees + std::fmt::Debug + 'static>
    Store for T
{
}

/// The store traits, for code that calls them on a concrete store rather than `dyn Store`:
/// `use daftar_engine::store::prelude::*;`.
pub mod prelude {
    pub use super::{Catalog, EventLog, ReadModels, Store, Subscriptions, Trees, Work};
}
