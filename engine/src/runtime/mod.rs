//! The runtime: commands in, events out, through the store.
//!
//! [`Engine::execute`] loads an instance (from a cache that is valid for one stream version),
//! decides, derives the commit's effects, and hands the commit to the single [`Writer`], which
//! groups the commits of many instances into one transaction and answers once it is durable.
//! A version conflict (another node, or a concurrent command here) drops the cached state and
//! decides again. Background loops ([`workers`]) lease jobs and perform them through the
//! connectors, fire due timers, and start scheduled instances; everything they do is a
//! command with a stable id, so a repeated job or timer after a crash appends nothing twice.

pub mod messages;
pub mod registry;
pub mod tracking;
mod warnings;
pub mod workers;
pub mod writer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use daftar_definitions::{Options, compile};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, broadcast};

use crate::connectors::Connectors;
use crate::core::{Command, Ctx, InstanceState, decide};
use crate::definition::Definition;
use crate::events::{Actor, Event, ParentRef, StreamId};
use crate::store::{Commit, DefinitionRef, JobLease, Store, StoreError, StoredDefinition, effects};

pub use registry::Registry;
pub use writer::Writer;

/// How often a command is decided again after version conflicts before giving up.
const MAX_CONFLICTS: usize = 16;

/// How many commits a subscriber may fall behind before it misses some (and is told so).
const SUBSCRIBER_BUFFER: usize = 1 << 16;

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

/// What one command appended to an instance, as [`Engine::subscribe`] tells it.
#[derive(Clone, Debug, PartialEq)]
pub struct Appended {
    /// The instance.
    pub stream: StreamId,
    /// Its stream version after the commit.
    pub version: u64,
    /// The events the commit appended, in order.
    pub events: Vec<Event>,
    /// The command's id.
    pub command_id: String,
    /// Who sent the command.
    pub actor: Actor,
    /// When this node learnt that the commit was durable (its monotonic clock).
    pub at: std::time::Instant,
}

/// A running engine node.
#[derive(Debug)]
pub struct Engine {
    store: Arc<dyn Store>,
    registry: Registry,
    writer: Writer,
    cache: Mutex<HashMap<StreamId, InstanceState>>,
    connectors: Connectors,
    /// Woken when a commit creates jobs, so that workers do not wait for their next poll.
    pub(crate) wake: Notify,
    node: String,
    /// The connector catalog definitions are compiled against when deployed, if any.
    catalog: std::sync::RwLock<Option<Arc<daftar_definitions::Catalog>>>,
    /// Every commit of this node that appended events, for subscribers; nothing is built
    /// while nobody listens.
    appended: broadcast::Sender<Arc<Appended>>,
    /// Whose turn it is to decide a command, per instance with commands under way.
    turns: Mutex<HashMap<StreamId, Arc<tokio::sync::Mutex<()>>>>,
    /// How far one request may go (steps, SMS) unless its workflow says otherwise.
    budget: std::sync::RwLock<crate::core::Budget>,
}

/// A command's turn on its instance; the instance's entry goes once nobody waits for it.
struct Turn<'a> {
    engine: &'a Engine,
    stream: StreamId,
    lock: Arc<tokio::sync::Mutex<()>>,
    held: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.held = None;
        let mut turns = self.engine.turns.lock().expect("lock");
        // The map's handle and this one: nobody else waits.
        if Arc::strong_count(&self.lock) == 2 {
            turns.remove(&self.stream);
        }
    }
}

impl Engine {
    /// Opens an engine on a store: loads every deployed definition and starts the writer.
    pub async fn open(
        store: Arc<dyn Store>,
        connectors: Connectors,
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
            cache: Mutex::new(HashMap::new()),
            connectors,
            wake: Notify::new(),
            node,
            catalog: std::sync::RwLock::new(None),
            appended: broadcast::channel(SUBSCRIBER_BUFFER).0,
            turns: Mutex::new(HashMap::new()),
            budget: std::sync::RwLock::new(crate::core::Budget::default()),
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
        self.appended.subscribe()
    }

    /// This node's name, for job leases.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Where this node's job loop takes the jobs leased to it as they are created.
    pub(crate) fn handoff(&self) -> &writer::Handoff {
        self.writer.handoff()
    }

    /// Deploys from now on against `catalog`: connector names are checked, and connectors'
    /// default retry policies fill the inquiry steps that set none.
    pub fn set_catalog(&self, catalog: daftar_definitions::Catalog) {
        *self.catalog.write().expect("lock") = Some(Arc::new(catalog));
    }

    /// Validates and deploys a definition's source for its agency. Each version is deployed
    /// once; deploying the same content again is a no-op.
    pub async fn deploy(&self, name: &str, source: &str) -> Result<StoredDefinition, RuntimeError> {
        Ok(self.deploy_version(name, source).await?.definition)
    }

    /// Validates and deploys a definition's source for its agency, saying whether this very
    /// content was deployed before. A deployed version never changes: the same content again
    /// changes nothing (`already_deployed`), other content under a deployed version is refused
    /// with [`StoreError::VersionTaken`].
    pub async fn deploy_version(
        &self,
        name: &str,
        source: &str,
    ) -> Result<Deployment, RuntimeError> {
        let catalog = self.catalog.read().expect("lock").clone();
        let options = Options {
            catalog: catalog.as_deref(),
            workflows: None,
        };
        let compiled = compile(name, source, options).map_err(|d| {
            let lines: Vec<String> = d.iter().map(ToString::to_string).collect();
            RuntimeError::Definition(lines.join("\n"))
        })?;
        let wf = compiled.workflow();
        let mut stored = StoredDefinition {
            agency: wf.agency.clone(),
            workflow: wf.id.clone(),
            version: wf.version,
            hash: compiled.hash().to_owned(),
            in_force_from: wf.in_force_from,
            source: source.to_owned(),
        };
        let deployed = self
            .store
            .definitions(Some(&stored.agency))
            .await?
            .into_iter()
            .find(|d| d.workflow == stored.workflow && d.version == stored.version);
        let already_deployed = match deployed {
            Some(existing) if existing.hash != stored.hash => {
                return Err(StoreError::VersionTaken {
                    workflow: stored.workflow,
                    version: stored.version,
                }
                .into());
            }
            Some(existing) => {
                stored = existing;
                true
            }
            None => {
                self.store.deploy(&stored).await?;
                false
            }
        };
        self.registry
            .add(&stored)
            .map_err(RuntimeError::Definition)?;
        Ok(Deployment {
            definition: stored,
            already_deployed,
        })
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
        self.start_with(agency, workflow, input, idempotency_key, actor, None)
            .await
    }

    pub(crate) async fn start_with(
        &self,
        agency: &str,
        workflow: &str,
        input: Value,
        idempotency_key: Option<&str>,
        actor: Actor,
        parent: Option<ParentRef>,
    ) -> Result<Executed, RuntimeError> {
        let now = Utc::now();
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
        self.run(
            &stream,
            &command,
            &command_id,
            actor,
            None,
            Some((def, now, fresh)),
        )
        .await
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
        self.run(stream, command, command_id, actor, completes_job, None)
            .await
    }

    async fn run(
        &self,
        stream: &StreamId,
        command: &Command,
        command_id: &str,
        actor: Actor,
        completes_job: Option<&str>,
        new: Option<(Arc<Definition>, DateTime<Utc>, bool)>,
    ) -> Result<Executed, RuntimeError> {
        for attempt in 0..MAX_CONFLICTS {
            // One command of an instance at a time on this node: a second one (the other
            // answer of a parallel step, say) waits for the first to be durable and decides on
            // the state it left, instead of conflicting and reading the stream again.
            let turn = self.turn(stream).await;
            let state = match &new {
                Some((_, _, true)) if attempt == 0 => InstanceState::default(),
                _ => self.state(stream).await?,
            };
            let (def, now) = match &new {
                Some((def, now, _)) if !state.started() => (def.clone(), *now),
                _ => (self.definition_of(&state)?, Utc::now()),
            };
            let ctx = Ctx {
                now,
                actor: actor.clone(),
                budget: self.budget(),
            };
            let decided = decide(&state, &def, command, &ctx);
            if let (Err(crate::Error::AlreadyStarted), Command::Start { .. }) = (&decided, command)
            {
                // A start repeated with its idempotency key: the first one stands.
                return Ok(Executed {
                    stream: stream.clone(),
                    version: state.version,
                    events: Vec::new(),
                    duplicate: true,
                });
            }
            let events = match &decided {
                Ok(events) => events.clone(),
                Err(_) if completes_job.is_some() => Vec::new(),
                Err(e) => {
                    // A command retried under an id that already took effect is the duplicate
                    // it is, not a command refused because the instance has moved on since.
                    if self.committed_before(stream, command_id).await? {
                        return Ok(Executed {
                            stream: stream.clone(),
                            version: state.version,
                            events: Vec::new(),
                            duplicate: true,
                        });
                    }
                    return Err(RuntimeError::Refused(e.clone()));
                }
            };
            let mut after = state.clone();
            for e in &events {
                after.apply(e);
            }
            let mut commit = build_commit(
                stream,
                &state,
                &after,
                &def,
                events.clone(),
                command_id,
                actor.clone(),
                completes_job,
            );
            // This node's job loop, if it runs and has the connectors, takes the jobs as they
            // are created; otherwise any node's loop leases them, woken now rather than at its
            // next poll.
            if !commit.jobs.is_empty()
                && commit.jobs.iter().all(|j| self.connectors.performs(j.kind))
            {
                commit.lease = self.writer.handoff().lease().map(|duration| JobLease {
                    owner: self.node.clone(),
                    duration,
                });
            }
            let wake = !commit.jobs.is_empty() && commit.lease.is_none();
            match self.writer.commit(commit).await {
                Ok(done) => {
                    {
                        let mut cache = self.cache.lock().expect("lock");
                        if done.duplicate {
                            cache.remove(stream);
                        } else {
                            cache.insert(stream.clone(), after.clone());
                        }
                    }
                    if wake {
                        self.wake.notify_waiters();
                    }
                    if !done.duplicate && !events.is_empty() && self.appended.receiver_count() > 0 {
                        let _ = self.appended.send(Arc::new(Appended {
                            stream: stream.clone(),
                            version: done.version,
                            events: events.clone(),
                            command_id: command_id.to_owned(),
                            actor: actor.clone(),
                            at: std::time::Instant::now(),
                        }));
                    }
                    if let Err(e) = decided {
                        return Err(RuntimeError::Refused(e));
                    }
                    drop(turn);
                    if !done.duplicate {
                        crate::metrics::record(&def, &state, &events);
                        warnings::log(&def, stream, &events);
                        self.after_commit(stream, &after, &events).await;
                    }
                    return Ok(Executed {
                        stream: stream.clone(),
                        version: done.version,
                        events: if done.duplicate { Vec::new() } else { events },
                        duplicate: done.duplicate,
                    });
                }
                Err(StoreError::Conflict { .. }) => {
                    self.cache.lock().expect("lock").remove(stream);
                }
                Err(e) => {
                    self.cache.lock().expect("lock").remove(stream);
                    return Err(e.into());
                }
            }
        }
        Err(StoreError::Conflict {
            stream: stream.to_string(),
            expected: 0,
            actual: 0,
        }
        .into())
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

    /// Deletes a job whose work is done without changing its instance (a sub-workflow was
    /// started; the child reports its end later).
    pub async fn discharge(
        &self,
        stream: &StreamId,
        job: &str,
        command_id: &str,
    ) -> Result<(), RuntimeError> {
        for _ in 0..MAX_CONFLICTS {
            let state = self.state(stream).await?;
            let def = self.definition_of(&state)?;
            let commit = build_commit(
                stream,
                &state,
                &state,
                &def,
                Vec::new(),
                command_id,
                Actor::System,
                Some(job),
            );
            match self.writer.commit(commit).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict { .. }) => {
                    self.cache.lock().expect("lock").remove(stream);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(RuntimeError::Store(StoreError::Database(format!(
            "{stream} keeps changing"
        ))))
    }

    /// When a sub-workflow ends, its caller hears of it.
    async fn after_commit(&self, stream: &StreamId, state: &InstanceState, events: &[Event]) {
        let Some(parent) = &state.parent else { return };
        let Some(Event::InstanceCompleted { outcome, .. }) = events
            .iter()
            .find(|e| matches!(e, Event::InstanceCompleted { .. }))
        else {
            return;
        };
        use daftar_definitions::model::Outcome;
        let succeeded = matches!(
            outcome,
            Outcome::Issued | Outcome::Approved | Outcome::Completed
        );
        let parent_stream = StreamId {
            agency: stream.agency.clone(),
            instance: parent.instance.clone(),
        };
        let result = serde_json::to_value(&state.vars).unwrap_or_default();
        let command = Command::CallResult {
            token: parent.token,
            succeeded,
            result,
        };
        let id = format!("call-result:{}", stream.instance);
        if let Err(e) =
            Box::pin(self.execute(&parent_stream, &command, &id, Actor::System, None)).await
        {
            tracing::warn!(error = %e, parent = %parent_stream, "the caller could not be told that its sub-workflow ended");
        }
    }

    /// Waits for this node's turn to decide and commit a command of `stream`.
    async fn turn(&self, stream: &StreamId) -> Turn<'_> {
        let lock = self
            .turns
            .lock()
            .expect("lock")
            .entry(stream.clone())
            .or_default()
            .clone();
        let held = lock.clone().lock_owned().await;
        Turn {
            engine: self,
            stream: stream.clone(),
            lock,
            held: Some(held),
        }
    }

    /// The workflow of an instance whose state this node has cached (for metric labels; no
    /// store read, no copy of the state).
    pub(crate) fn cached_workflow(&self, stream: &StreamId) -> Option<String> {
        self.cache
            .lock()
            .expect("lock")
            .get(stream)
            .map(|s| s.workflow.clone())
    }

    /// Whether a command with this id appended events to the stream before (read only when
    /// the core refuses a command, never on the way of one that goes through).
    async fn committed_before(
        &self,
        stream: &StreamId,
        command_id: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .store
            .load(stream)
            .await?
            .iter()
            .any(|e| e.command_id == command_id))
    }

    /// An instance's state: from the cache, or folded from its stream.
    pub async fn state(&self, stream: &StreamId) -> Result<InstanceState, RuntimeError> {
        let cached = self.cache.lock().expect("lock").get(stream).cloned();
        if let Some(s) = cached {
            return Ok(s);
        }
        let events = self.store.load(stream).await?;
        let state = InstanceState::fold(events.iter().map(|e| &e.event));
        if state.started() {
            self.cache
                .lock()
                .expect("lock")
                .insert(stream.clone(), state.clone());
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

/// The commit of `events`, decided on `state` and leaving the instance in `after`, with what
/// they imply (jobs, timers, read-model rows).
#[allow(clippy::too_many_arguments)]
fn build_commit(
    stream: &StreamId,
    state: &InstanceState,
    after: &InstanceState,
    def: &Definition,
    events: Vec<Event>,
    command_id: &str,
    actor: Actor,
    completes_job: Option<&str>,
) -> Commit {
    let fx = effects(stream, state.version, &events, after);
    let compiled = def.compiled();
    Commit {
        stream: stream.clone(),
        expected_version: state.version,
        command_id: command_id.to_owned(),
        actor,
        definition: DefinitionRef {
            workflow: compiled.id().to_owned(),
            version: compiled.version(),
            hash: compiled.hash().to_owned(),
        },
        events,
        jobs: fx.jobs,
        completes_job: completes_job.map(str::to_owned),
        timers: fx.timers,
        dropped_timers: fx.dropped_timers,
        instance: fx.instance,
        tasks: fx.tasks,
        lease: None,
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
