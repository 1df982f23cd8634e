//! The runtime: commands in, events out, through the store.
//!
//! [`Engine::execute`] (its stages in `run.rs`) loads an instance (from a cache that is valid for one stream version),
//! decides, derives the commit's effects, and hands the commit to the single [`Writer`], which
//! groups the commits of many instances into one transaction and answers once it is durable.
//! A version conflict (another node, or a concurrent command here) drops the cached state and
//! decides again. Background loops ([`workers`]) lease jobs and perform them through the
//! connectors, fire due timers, and start scheduled instances; everything they do is a
//! command with a stable id, so a repeated job or timer after a crash appends nothing twice.

mod cache;
pub mod clock;
mod deploy;
pub mod erase;
mod feed;
pub mod followup;
mod jobs;
pub mod messages;
pub mod registry;
mod run;
pub mod tracking;
mod turn;
mod warnings;
pub mod workers;
pub mod writer;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use daftar_definitions::calendar::Calendar;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, broadcast};

use crate::connectors::Connectors;
use crate::core::{Command, InstanceState};
use crate::definition::Definition;
use crate::events::{Actor, Event, ParentRef, StreamId};
use crate::store::{Store, StoreError, StoredDefinition};
use run::Order;

/// A request to file: see [`Engine::start`]; `parent` names the caller of a sub-workflow.
pub(crate) struct Filing<'a> {
    pub agency: &'a str,
    pub workflow: &'a str,
    pub input: Value,
    pub key: Option<&'a str>,
    pub actor: Actor,
    pub parent: Option<ParentRef>,
}

pub use clock::{Clock, SystemClock, TestClock};
pub use feed::{Appended, Listener};
pub use registry::Registry;
pub use writer::Writer;

/// How often a command is decided again after version conflicts before giving up.
const MAX_CONFLICTS: usize = 16;

/// Why the runtime refused or failed a command.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The core refused the command; nothing changed.
    #[error(transparent)]
    Refused(#[from] crate::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No such instance.
    #[error("no instance {0}")]
    NoInstance(String),
    /// No such workflow in force.
    #[error("no version of workflow `{workflow}` is in force for agency `{agency}`")]
    NoWorkflow { agency: String, workflow: String },
    /// A definition that does not compile or was not deployed.
    #[error("definition: {0}")]
    Definition(String),
}

/// What a deploy did.
#[derive(Clone, Debug, PartialEq)]
pub struct Deployment {
    /// The version as the store keeps it.
    pub definition: StoredDefinition,
    /// Whether this very content was deployed before (then nothing changed).
    pub already_deployed: bool,
}

/// The outcome of a command.
#[derive(Clone, Debug, PartialEq)]
pub struct Executed {
    /// The instance.
    pub stream: StreamId,
    /// Its stream version after the command; for a repeated command id, after its first run
    /// (or, for a repeated keyed start, the current version).
    pub version: u64,
    /// The events the command appended (empty when it was a repeat).
    pub events: Vec<Event>,
    /// Whether the command id had been seen before (then nothing was appended now).
    pub duplicate: bool,
}

/// A running engine node.
#[derive(Debug)]
pub struct Engine {
    store: Arc<dyn Store>,
    registry: Registry,
    writer: Writer,
    cache: cache::StateCache,
    connectors: Connectors,
    /// Woken when a commit creates jobs, so that workers do not wait for their next poll.
    pub(crate) wake: Notify,
    node: String,
    /// The connector catalog definitions are compiled against when deployed, if any.
    catalog: std::sync::RwLock<Option<Arc<daftar_definitions::Catalog>>>,
    /// Every commit of this node that appended events, for subscribers.
    feed: feed::Feed,
    /// Whose turn it is to decide a command, per instance with commands under way.
    turns: turn::Turns,
    /// Business time: what commands are decided at and timers fall due by.
    clock: Arc<dyn Clock>,
    /// How far one request may go (steps, SMS) unless its workflow says otherwise.
    budget: std::sync::RwLock<crate::core::Budget>,
    /// The business calendars working time is counted by.
    calendars: std::sync::RwLock<Calendars>,
    /// The applicants' keys personal events are sealed with, when the node keeps them.
    keyring: std::sync::OnceLock<Arc<crate::privacy::Keyring>>,
    /// Each agency's registered code, which its national document IDs start with.
    document_codes: std::sync::RwLock<std::collections::HashMap<String, String>>,
}

/// The business calendar of each agency: its own where one was given, the node's default
/// (the calendar daftar ships, unless the operator names another) for the rest.
#[derive(Debug)]
struct Calendars {
    default: Arc<Calendar>,
    agencies: std::collections::HashMap<String, Arc<Calendar>>,
}

impl Engine {
    /// Opens an engine on a store, on the machine's clock: loads every deployed definition and
    /// starts the writer.
    pub async fn open(
        store: Arc<dyn Store>,
        connectors: Connectors,
    ) -> Result<Arc<Engine>, RuntimeError> {
        Self::open_with_clock(store, connectors, Arc::new(SystemClock)).await
    }

    /// Opens an engine on a store that reads the time from `clock` (a [`TestClock`] in tests
    /// of timers and deadlines).
    pub async fn open_with_clock(
        store: Arc<dyn Store>,
        connectors: Connectors,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Engine>, RuntimeError> {
        let registry = Registry::default();
        for stored in store.definitions(None).await? {
            registry.add(&stored).map_err(RuntimeError::Definition)?;
        }
        let node = format!("node-{}", tracking::new_code());
        Ok(Arc::new(Engine {
            writer: Writer::spawn(store.clone()),
            store,
            registry,
            cache: cache::StateCache::default(),
            connectors,
            wake: Notify::new(),
            node,
            catalog: std::sync::RwLock::new(None),
            feed: feed::Feed::default(),
            turns: turn::Turns::default(),
            clock,
            budget: std::sync::RwLock::new(crate::core::Budget::default()),
            calendars: std::sync::RwLock::new(Calendars {
                default: Calendar::shipped(),
                agencies: std::collections::HashMap::new(),
            }),
            keyring: std::sync::OnceLock::new(),
            document_codes: Default::default(),
        }))
    }

    /// Sets how far one request may go before it is stopped with an incident (steps entered,
    /// SMS asked for), for workflows whose `limits` say nothing.
    pub fn set_budget(&self, budget: crate::core::Budget) {
        *self.budget.write().unwrap_or_else(|e| e.into_inner()) = budget;
    }

    /// The budget of one request.
    pub fn budget(&self) -> crate::core::Budget {
        *self.budget.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the business calendar of one agency, or with `None` the default of every agency
    /// that has none of its own. Deadlines already set keep the instant they were given.
    pub fn set_calendar(&self, agency: Option<&str>, calendar: Arc<Calendar>) {
        let mut calendars = self.calendars.write().unwrap_or_else(|e| e.into_inner());
        match agency {
            Some(agency) => {
                calendars.agencies.insert(agency.to_owned(), calendar);
            }
            None => calendars.default = calendar,
        }
    }

    /// The business calendar an agency's working time is counted by.
    pub fn calendar(&self, agency: &str) -> Arc<Calendar> {
        let calendars = self.calendars.read().unwrap_or_else(|e| e.into_inner());
        calendars
            .agencies
            .get(agency)
            .unwrap_or(&calendars.default)
            .clone()
    }

    /// Seals the personal data of every event appended from now on with its applicant's key
    /// from `keyring`, and opens it when read (see [`crate::privacy`]). Set once, before the
    /// node takes commands; a second keyring is ignored.
    pub fn use_keyring(&self, keyring: Arc<crate::privacy::Keyring>) {
        if self.keyring.set(keyring.clone()).is_ok() {
            self.store.use_keyring(keyring);
        }
    }

    /// The keyring, when the node keeps one.
    pub fn keyring(&self) -> Option<&Arc<crate::privacy::Keyring>> {
        self.keyring.get()
    }

    /// Registers an agency's code for its national document IDs (`daftar serve
    /// --document-code`). Refused when the code is not four characters of Crockford's base 32
    /// starting with a letter other than `Z`, or is another agency's: two agencies never share
    /// one, which is what keeps their IDs apart.
    pub fn set_document_code(&self, agency: &str, code: &str) -> Result<(), String> {
        let code = code.trim().to_ascii_uppercase();
        if !crate::document::is_code(&code) {
            return Err(format!(
                "`{code}` is not a document code: four characters of 0-9 and A-Z less I, L, O \
                 and U, the first a letter other than Z"
            ));
        }
        let mut codes = self
            .document_codes
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((other, _)) = codes.iter().find(|(a, c)| **c == code && *a != agency) {
            return Err(format!("the document code {code} is already {other}'s"));
        }
        codes.insert(agency.to_owned(), code);
        Ok(())
    }

    /// The code an agency's national document IDs start with: its registered one, else one
    /// made up from its name (`Z…`, see [`crate::document::unregistered_code`]).
    pub fn document_code(&self, agency: &str) -> String {
        let codes = self
            .document_codes
            .read()
            .unwrap_or_else(|e| e.into_inner());
        codes
            .get(agency)
            .cloned()
            .unwrap_or_else(|| crate::document::unregistered_code(agency))
    }

    /// Now, by the engine's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The definitions this node knows.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The connectors.
    pub fn connectors(&self) -> &Connectors {
        &self.connectors
    }

    /// How many transactions the writer has written, holding how many commits.
    pub fn writer_stats(&self) -> (u64, u64) {
        self.writer.stats()
    }

    /// Every commit this node makes from now on that appends events, as soon as it is
    /// durable (load generators, live views). A subscriber that falls more than 65,536
    /// commits behind misses the oldest and is told how many ([`broadcast::error::RecvError`]).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Appended>> {
        self.feed.subscribe()
    }

    /// Listens to one instance's durable commits from now on, woken by none of the others':
    /// for a caller waiting on that instance alone. Listen first, then read the state, and no
    /// commit in between is missed.
    pub fn listen(&self, stream: &StreamId) -> Listener {
        self.feed.listen(stream)
    }

    /// This node's name, for job leases.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Where this node's job loop takes the jobs leased to it as they are created.
    pub(crate) fn handoff(&self) -> &writer::Handoff {
        self.writer.handoff()
    }

    /// Files a new request with the version of `workflow` in force now. With an idempotency
    /// key, filing the same request again returns the first instance and starts nothing.
    pub async fn start(
        &self,
        agency: &str,
        workflow: &str,
        input: Value,
        idempotency_key: Option<&str>,
        actor: Actor,
    ) -> Result<Executed, RuntimeError> {
        self.file(Filing {
            agency,
            workflow,
            input,
            key: idempotency_key,
            actor,
            parent: None,
        })
        .await
    }

    /// Files a request: a citizen's or officer's ([`Engine::start`]), or a sub-workflow its
    /// caller starts.
    pub(crate) async fn file(&self, filing: Filing<'_>) -> Result<Executed, RuntimeError> {
        let Filing {
            agency,
            workflow,
            input,
            key: idempotency_key,
            actor,
            parent,
        } = filing;
        let now = self.now();
        let def = self
            .registry
            .in_force(agency, workflow, now)
            .ok_or_else(|| RuntimeError::NoWorkflow {
                agency: agency.to_owned(),
                workflow: workflow.to_owned(),
            })?;
        // With a key, the instance id comes from it, so a repeat lands on the same stream and
        // the store's command ids make it a no-op.
        let instance = match idempotency_key {
            Some(key) => keyed_instance(agency, workflow, key),
            None => format!("i-{}", hex(&rand::random::<[u8; 12]>())),
        };
        let stream = StreamId {
            agency: agency.to_owned(),
            instance,
        };
        let command = Command::Start {
            instance: stream.instance.clone(),
            tracking_code: tracking::new_code(),
            input,
            parent,
        };
        let command_id = format!("start:{}", idempotency_key.unwrap_or(&stream.instance));
        // An id just drawn at random names no stream yet: nothing to read (were it taken, the
        // commit would conflict and the stream be read then).
        let fresh = idempotency_key.is_none();
        let order = Order {
            stream: &stream,
            command: &command,
            id: &command_id,
            actor,
            job: None,
        };
        self.run(order, Some((def, now, fresh))).await
    }

    /// Executes a command on an instance. `command_id` makes it idempotent; `completes_job`
    /// deletes the job whose result this is, in the same transaction, even when the core
    /// refuses the command (a stale result must not be performed again).
    pub async fn execute(
        &self,
        stream: &StreamId,
        command: &Command,
        command_id: &str,
        actor: Actor,
        completes_job: Option<&str>,
    ) -> Result<Executed, RuntimeError> {
        let order = Order {
            stream,
            command,
            id: command_id,
            actor,
            job: completes_job,
        };
        self.run(order, None).await
    }

    /// Delivers a named message to an instance. A message that no step of the instance is
    /// waiting for is kept in the store (and reported), never dropped; so is one refused because
    /// it came through another connector than the step called (its id prefixed `refused:`);
    /// the same message id delivered twice has one effect.
    pub async fn deliver(
        &self,
        stream: &StreamId,
        name: &str,
        correlation: &str,
        message_id: &str,
        payload: Value,
        actor: Actor,
    ) -> Result<Executed, RuntimeError> {
        let command = Command::DeliverMessage {
            name: name.to_owned(),
            correlation: correlation.to_owned(),
            message_id: message_id.to_owned(),
            payload: payload.clone(),
        };
        let result = self
            .execute(
                stream,
                &command,
                &format!("message:{message_id}"),
                actor,
                None,
            )
            .await;
        match &result {
            Err(RuntimeError::Refused(crate::Error::NoReceiver { .. } | crate::Error::Ended)) => {
                self.store
                    .keep_unmatched_message(&stream.agency, name, correlation, message_id, &payload)
                    .await?;
            }
            // Kept apart for review, so that a refused one never takes the id of the real one.
            Err(RuntimeError::Refused(crate::Error::WrongConnector { .. })) => {
                self.store
                    .keep_unmatched_message(
                        &stream.agency,
                        name,
                        correlation,
                        &format!("refused:{message_id}"),
                        &payload,
                    )
                    .await?;
            }
            _ => {}
        }
        result
    }

    /// The workflow of an instance whose state this node has cached (for metric labels; no
    /// store read, no copy of the state).
    pub(crate) fn cached_workflow(&self, stream: &StreamId) -> Option<String> {
        self.cache.workflow(stream)
    }

    /// Whether this node holds the instance's state in its cache: then the instance exists,
    /// and reading it needs no store query (on a store several nodes share, one for its head).
    /// An instance that ended is not held: the cache holds what is going on, not every
    /// request the node ever saw.
    pub fn holds(&self, stream: &StreamId) -> bool {
        self.cache.contains(stream)
    }

    /// An instance's state: from the cache, or folded from its stream.
    pub async fn state(&self, stream: &StreamId) -> Result<InstanceState, RuntimeError> {
        if let Some(s) = self.cache.get(stream) {
            // Another node may have moved a shared store's stream on: the cached state stands
            // only while it is the stream's head.
            if !self.store.shared() || self.store.head(stream).await? == s.version {
                return Ok(s);
            }
            self.cache.forget(stream);
        }
        self.loaded(stream).await
    }

    /// The state a command is decided on: the cached one as it is, since the commit's version
    /// fence refuses a decision on a state another node has moved past (and the cache entry is
    /// dropped then); else folded from the stream.
    pub(crate) async fn decided_state(
        &self,
        stream: &StreamId,
    ) -> Result<InstanceState, RuntimeError> {
        match self.cache.get(stream) {
            Some(s) => Ok(s),
            None => self.loaded(stream).await,
        }
    }

    /// An instance's state folded from its stream, and cached while it goes on.
    async fn loaded(&self, stream: &StreamId) -> Result<InstanceState, RuntimeError> {
        let events = self.store.load(stream).await?;
        let state = InstanceState::fold(events.iter().map(|e| &e.event));
        if state.started() && !state.ended() {
            self.cache.put(stream, state.clone());
        }
        Ok(state)
    }

    /// The definition an instance started with.
    pub fn definition_of(&self, state: &InstanceState) -> Result<Arc<Definition>, RuntimeError> {
        if !state.started() {
            return Err(RuntimeError::NoInstance(state.instance.clone()));
        }
        self.registry.by_hash(&state.hash).ok_or_else(|| {
            RuntimeError::Definition(format!(
                "definition {} is not deployed on this node",
                state.hash
            ))
        })
    }
}

/// The instance a start with an idempotency key files: the same agency, service and key name
/// the same instance, so that a repeat finds the first.
pub fn keyed_instance(agency: &str, workflow: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("{agency}\u{0}{workflow}\u{0}{key}").as_bytes());
    format!("i-{}", hex(&digest[..12]))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
