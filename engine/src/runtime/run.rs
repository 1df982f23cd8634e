//! A command's way through the node, each stage in its place:
//!
//! 1. [`Engine::run`] takes the instance's [turn](super::turn), then
//! 2. [`Engine::decide_on`] reads the state (from the cache or the stream) and the definition
//!    and lets the pure core decide;
//! 3. [`Engine::to_commit`] turns the decision into what to append, or into the answer when
//!    there is nothing to append (a repeated start, a duplicate, a refusal);
//! 4. [`prepare`] derives the commit's effects (jobs, timers, rows) and hands its jobs to this
//!    node's job loop when it performs them;
//! 5. the [writer](super::writer) commits it in a group;
//! 6. [`Engine::settle`] updates the cache, wakes the workers and tells the commit feed;
//! 7. after the turn is released, [`Engine::follow_up`] records metrics and warnings and tells
//!    a caller workflow that its sub-workflow ended.
//!
//! A version conflict drops the cached state and goes round again.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::jobs::Report;
use super::{Engine, Executed, MAX_CONFLICTS, RuntimeError, warnings};
use crate::core::{Command, Ctx, InstanceState, decide};
use crate::definition::Definition;
use crate::events::{Actor, Event, StreamId};
use crate::store::{Commit, Committed, DefinitionRef, JobLease, Joined, StoreError, effects};

/// A new instance's start: the definition in force, the time it was filed at, and whether its
/// id was just drawn at random (so that no stream needs reading on the first attempt).
pub(crate) type NewInstance = (Arc<Definition>, DateTime<Utc>, bool);

/// What the core decided, and on what.
struct Decision {
    state: InstanceState,
    def: Arc<Definition>,
    result: Result<Vec<Event>, crate::Error>,
}

/// A command on its way to an instance: which instance, what, under which id (a second
/// commit with the same id appends nothing), from whom, and the job whose result it is (deleted
/// in the same transaction, even when the core refuses the command: a stale result must not be
/// performed again).
pub(crate) struct Order<'a> {
    pub stream: &'a StreamId,
    pub command: &'a Command,
    pub id: &'a str,
    pub actor: Actor,
    pub job: Option<&'a str>,
}

/// What a decision leads to.
enum Next {
    /// Commit these events (none for a refused job result, which still completes its job).
    Commit(Vec<Event>),
    /// Answer now: nothing to append.
    Answer(Result<Executed, RuntimeError>),
}

impl Engine {
    /// Decides an order's command and commits what it appends, deciding again on a version
    /// conflict.
    pub(super) async fn run(
        &self,
        order: Order<'_>,
        new: Option<NewInstance>,
    ) -> Result<Executed, RuntimeError> {
        let Order {
            stream,
            command,
            id: command_id,
            actor,
            job: completes_job,
        } = order;
        for attempt in 0..MAX_CONFLICTS {
            let turn = self.turns.take(stream).await;
            let decision = self
                .decide_on(stream, command, &actor, new.as_ref(), attempt)
                .await?;
            let events = match self
                .to_commit(stream, command, command_id, completes_job, &decision)
                .await?
            {
                Next::Commit(events) => events,
                Next::Answer(answer) => return answer,
            };
            let mut after = decision.state.clone();
            for e in &events {
                after.apply(e);
            }
            let seal = self.seal_key(stream, &after, &events).await?;
            let commit = self.prepare(
                stream,
                &decision,
                &after,
                events.clone(),
                command_id,
                &actor,
                completes_job,
                seal.as_deref(),
            );
            let wake = !commit.jobs.is_empty() && commit.lease.is_none();
            match self.writer.commit(commit).await {
                Ok(done) => {
                    self.settle(
                        stream,
                        &done,
                        after.clone(),
                        wake,
                        &events,
                        command_id,
                        &actor,
                    );
                    if let Err(e) = decision.result {
                        return Err(RuntimeError::Refused(e));
                    }
                    drop(turn);
                    if !done.duplicate {
                        self.follow_up(stream, &decision, &after, &events).await;
                    }
                    return Ok(Executed {
                        stream: stream.clone(),
                        version: done.version,
                        events: if done.duplicate { Vec::new() } else { events },
                        duplicate: done.duplicate,
                    });
                }
                Err(e) => self.lost(stream, e)?,
            }
        }
        Err(kept_changing(stream))
    }

    /// The reports of several jobs of one instance, decided one after the other in one turn,
    /// each on the state the one before left, and committed as one commit (each report's
    /// events under its own id and actor, each job completed). A refused report completes its
    /// job with no events, as on its own. Should the first report's id have been committed
    /// before (its job was performed twice), the others are delivered each on its own.
    pub(crate) async fn report_together(
        &self,
        stream: &StreamId,
        mut reports: Vec<Report>,
    ) -> Result<(), RuntimeError> {
        if reports.len() < 2 {
            if let Some(report) = reports.pop() {
                report.deliver(self).await;
            }
            return Ok(());
        }
        for _ in 0..MAX_CONFLICTS {
            let turn = self.turns.take(stream).await;
            let state = self.decided_state(stream).await?;
            let def = self.definition_of(&state)?;
            let mut after = state.clone();
            let mut events = Vec::new();
            let mut joined = Vec::new();
            for (i, r) in reports.iter().enumerate() {
                let ctx = Ctx {
                    now: self.now(),
                    actor: r.actor.clone(),
                    budget: self.budget(),
                    calendar: self.calendar(&stream.agency),
                    document_code: self.document_code(&stream.agency),
                };
                let decided = decide(&after, &def, &r.command, &ctx).unwrap_or_else(|e| {
                    tracing::debug!(job = %r.job.id, error = %e, "a job's result changed nothing");
                    Vec::new()
                });
                if i > 0 {
                    joined.push(Joined {
                        first: events.len(),
                        command_id: r.command_id(),
                        actor: r.actor.clone(),
                        completes_job: Some(r.job.id.clone()),
                    });
                }
                for e in &decided {
                    after.apply(e);
                }
                events.extend(decided);
            }
            let first = &reports[0];
            let decision = Decision {
                state,
                def,
                result: Ok(events.clone()),
            };
            let seal = self.seal_key(stream, &after, &events).await?;
            let mut commit = self.prepare(
                stream,
                &decision,
                &after,
                events.clone(),
                &first.command_id(),
                &first.actor,
                Some(&first.job.id),
                seal.as_deref(),
            );
            commit.joined = joined;
            let wake = !commit.jobs.is_empty() && commit.lease.is_none();
            match self.writer.commit(commit).await {
                Ok(done) if done.duplicate => {
                    self.cache.forget(stream);
                    drop(turn);
                    for report in reports.into_iter().skip(1) {
                        report.deliver(self).await;
                    }
                    return Ok(());
                }
                Ok(done) => {
                    let (id, actor) = (first.command_id(), first.actor.clone());
                    self.settle(stream, &done, after.clone(), wake, &events, &id, &actor);
                    drop(turn);
                    self.follow_up(stream, &decision, &after, &events).await;
                    return Ok(());
                }
                Err(e) => self.lost(stream, e)?,
            }
        }
        Err(kept_changing(stream))
    }

    /// Reads the instance's state and definition and lets the core decide.
    async fn decide_on(
        &self,
        stream: &StreamId,
        command: &Command,
        actor: &Actor,
        new: Option<&NewInstance>,
        attempt: usize,
    ) -> Result<Decision, RuntimeError> {
        let state = match new {
            Some((_, _, true)) if attempt == 0 => InstanceState::default(),
            _ => self.decided_state(stream).await?,
        };
        let (def, now) = match new {
            Some((def, now, _)) if !state.started() => (def.clone(), *now),
            _ => (self.definition_of(&state)?, self.now()),
        };
        let ctx = Ctx {
            now,
            actor: actor.clone(),
            budget: self.budget(),
            calendar: self.calendar(&stream.agency),
            document_code: self.document_code(&stream.agency),
        };
        let result = decide(&state, &def, command, &ctx);
        Ok(Decision { state, def, result })
    }

    /// What to commit for a decision, or the answer when there is nothing to commit.
    async fn to_commit(
        &self,
        stream: &StreamId,
        command: &Command,
        command_id: &str,
        completes_job: Option<&str>,
        decision: &Decision,
    ) -> Result<Next, RuntimeError> {
        let unchanged = |duplicate| Executed {
            stream: stream.clone(),
            version: decision.state.version,
            events: Vec::new(),
            duplicate,
        };
        Ok(match &decision.result {
            Ok(events) => Next::Commit(events.clone()),
            // A start repeated with its idempotency key: the first one stands.
            Err(crate::Error::AlreadyStarted) if matches!(command, Command::Start { .. }) => {
                Next::Answer(Ok(unchanged(true)))
            }
            // A refused job result still completes its job, in a commit of no events.
            Err(_) if completes_job.is_some() => Next::Commit(Vec::new()),
            // A command retried under an id that already took effect is the duplicate it is,
            // not a command refused because the instance has moved on since.
            Err(_) if self.committed_before(stream, command_id).await? => {
                Next::Answer(Ok(unchanged(true)))
            }
            Err(e) => Next::Answer(Err(RuntimeError::Refused(e.clone()))),
        })
    }

    /// The key the personal events of a commit are sealed with: the applicant's, made now when
    /// this is their first request; `None` when the node keeps no keyring or nothing in the
    /// commit is personal. Made on the caller's task, before the writer's serial section.
    async fn seal_key(
        &self,
        stream: &StreamId,
        after: &InstanceState,
        events: &[Event],
    ) -> Result<Option<String>, RuntimeError> {
        let Some(keyring) = self.keyring() else {
            return Ok(None);
        };
        if !events.iter().any(Event::personal) {
            return Ok(None);
        }
        let applicant = crate::privacy::applicant(stream, after.filed_by.as_deref());
        match keyring.ensure(&stream.agency, &applicant).await {
            Ok(Some(key)) => Ok(Some(key)),
            // Never written in the clear instead.
            Ok(None) => Err(StoreError::Database(format!(
                "the applicant of {stream} has no key to seal with"
            ))
            .into()),
            Err(e) => Err(StoreError::Database(e.to_string()).into()),
        }
    }

    /// The commit of a decision, with the hand-off of its jobs to this node's job loop when
    /// the loop runs and has the connectors they need; otherwise any node's loop leases them,
    /// woken now rather than at its next poll.
    #[allow(clippy::too_many_arguments)]
    fn prepare(
        &self,
        stream: &StreamId,
        decision: &Decision,
        after: &InstanceState,
        events: Vec<Event>,
        command_id: &str,
        actor: &Actor,
        completes_job: Option<&str>,
        seal: Option<&str>,
    ) -> Commit {
        let mut commit = build_commit(
            stream,
            &decision.state,
            after,
            &decision.def,
            events,
            command_id,
            actor.clone(),
            completes_job,
        );
        if let (Some(keyring), Some(key)) = (self.keyring(), seal) {
            for (event, payload) in commit.events.iter().zip(commit.payloads.iter_mut()) {
                if event.personal() {
                    *payload = keyring.seal(key, stream, event, payload);
                }
            }
            // A job carries its event's payload (an inquiry's question, an SMS's text): sealed
            // the same way, so that a deleted job row leaves no clear copy behind on disk.
            for job in &mut commit.jobs {
                let Ok(event) = Event::from_stored(job.payload.clone()) else {
                    continue;
                };
                if event.personal() {
                    let text = serde_json::to_string(&job.payload).expect("JSON serializes");
                    let sealed = keyring.seal(key, stream, &event, &text);
                    job.payload = serde_json::from_str(&sealed).expect("sealed payloads are JSON");
                }
            }
        }
        if !commit.jobs.is_empty() && commit.jobs.iter().all(|j| self.connectors.performs(j.kind)) {
            commit.lease = self.writer.handoff().lease().map(|duration| JobLease {
                owner: self.node.clone(),
                duration,
            });
        }
        commit
    }

    /// Once a commit is durable: the cache holds the new state (or forgets it when the command
    /// was a duplicate), waiting workers wake, and the feed hears of it.
    #[allow(clippy::too_many_arguments)]
    fn settle(
        &self,
        stream: &StreamId,
        done: &Committed,
        after: InstanceState,
        wake: bool,
        events: &[Event],
        command_id: &str,
        actor: &Actor,
    ) {
        // A request that ended leaves the cache (its state is read from the store when asked),
        // so that the cache holds the requests going on, not every one the node ever saw.
        if done.duplicate || after.ended() {
            self.cache.forget(stream);
        } else {
            self.cache.put(stream, after);
        }
        if wake {
            self.wake.notify_waiters();
        }
        if !done.duplicate {
            self.feed
                .publish(stream, done.version, events, command_id, actor);
        }
    }

    /// After the turn: metrics, warnings, and the caller of a sub-workflow that ended.
    async fn follow_up(
        &self,
        stream: &StreamId,
        decision: &Decision,
        after: &InstanceState,
        events: &[Event],
    ) {
        crate::metrics::record(&decision.def, &decision.state, events);
        warnings::log(&decision.def, stream, events);
        self.tell_caller(stream, after, events).await;
    }

    /// When a sub-workflow ends, its caller hears of it.
    async fn tell_caller(&self, stream: &StreamId, state: &InstanceState, events: &[Event]) {
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

    /// Deletes a job whose work is done without changing its instance (a sub-workflow was
    /// started; the child reports its end later).
    pub async fn discharge(
        &self,
        stream: &StreamId,
        job: &str,
        command_id: &str,
    ) -> Result<(), RuntimeError> {
        for _ in 0..MAX_CONFLICTS {
            let state = self.decided_state(stream).await?;
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
                Err(e) => self.lost(stream, e)?,
            }
        }
        Err(kept_changing(stream))
    }

    /// A commit that did not go in: the cached state goes, and a version conflict is decided
    /// again (`Ok`) while any other error is the answer.
    fn lost(&self, stream: &StreamId, error: StoreError) -> Result<(), RuntimeError> {
        self.cache.forget(stream);
        match error {
            StoreError::Conflict { .. } => Ok(()),
            e => Err(e.into()),
        }
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
}

/// A command that met a version conflict every time it was decided again.
fn kept_changing(stream: &StreamId) -> RuntimeError {
    StoreError::Conflict {
        stream: stream.to_string(),
        expected: 0,
        actual: 0,
    }
    .into()
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
    // Written here, on the caller's task, rather than in the writer's serial section.
    let payloads = events
        .iter()
        .map(|e| serde_json::to_string(&e.to_stored()).expect("events serialize"))
        .collect();
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
        joined: Vec::new(),
        payloads,
    }
}
