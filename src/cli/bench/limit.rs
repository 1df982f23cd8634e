//! The store's own limit, measured in the same run: the commits one instance made (the same
//! events, the same payloads, the same read-model row) written again for fresh instances
//! straight through [`Store::commit`], in batches of the writer's largest size, with no
//! engine (no decide, no jobs leased, no connectors). And replay speed: a history of many
//! events read back, its hash chains verified and its instances folded.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use daftar_engine::audit::verify_store;
use daftar_engine::core::InstanceState;
use daftar_engine::events::{Event, verify_chain};
use daftar_engine::runtime::Appended;
use daftar_engine::store::{Commit, DefinitionRef, Store, effects};
use serde_json::{Value, json};

use super::load::round;

/// Commits per transaction: the writer's own largest batch.
const BATCH: usize = 512;

/// The commits of one instance, to be written again under other instance ids.
#[derive(Clone, Debug)]
pub struct Template {
    instance: String,
    commits: Vec<Commit>,
}

impl Template {
    /// The commits of one instance from what the engine appended for it, with the rows a
    /// commit writes besides its events: the instance row (jobs, timers and tasks are left
    /// out: the limit is that of appending the events).
    pub fn new(appended: &[Arc<Appended>], definition: &DefinitionRef) -> Option<Template> {
        let (template, state) = Self::read(appended, definition, false)?;
        state.ended().then_some(template)
    }

    /// The commits of one instance that has not ended, with its worklist rows too (what a
    /// request waiting for an officer leaves): for filling a store the desk reads.
    pub fn waiting(appended: &[Arc<Appended>], definition: &DefinitionRef) -> Option<Template> {
        Self::read(appended, definition, true).map(|(template, _)| template)
    }

    fn read(
        appended: &[Arc<Appended>],
        definition: &DefinitionRef,
        tasks: bool,
    ) -> Option<(Template, InstanceState)> {
        let first = appended.first()?;
        let mut state = InstanceState::default();
        let mut commits = Vec::with_capacity(appended.len());
        for a in appended {
            let from = a.version.checked_sub(a.events.len() as u64)?;
            if from != state.version {
                return None;
            }
            let mut after = state.clone();
            for e in &a.events {
                after.apply(e);
            }
            let fx = effects(&a.stream, from, &a.events, &after);
            commits.push(Commit {
                stream: a.stream.clone(),
                expected_version: from,
                command_id: a.command_id.clone(),
                actor: a.actor.clone(),
                definition: definition.clone(),
                events: a.events.clone(),
                jobs: Vec::new(),
                completes_job: None,
                timers: Vec::new(),
                dropped_timers: Vec::new(),
                instance: fx.instance,
                tasks: if tasks { fx.tasks } else { Vec::new() },
                lease: None,
                joined: Vec::new(),
                payloads: Vec::new(),
            });
            state = after;
        }
        let template = Template {
            instance: first.stream.instance.clone(),
            commits,
        };
        Some((template, state))
    }

    /// Events per instance.
    pub fn events(&self) -> usize {
        self.commits.iter().map(|c| c.events.len()).sum()
    }

    /// Commit `stage` for instance number `n` (an id as long as the engine's, and a tracking
    /// code of its own, which the store keeps unique).
    fn commit(&self, stage: usize, n: u64) -> Commit {
        let id = format!("i-f{n:023x}");
        let mut c = self.commits[stage].clone();
        c.command_id = c.command_id.replace(&self.instance, &id);
        let code = tracking_code(n);
        // The start event names the instance and its tracking code as the row does, or
        // `verify` finds the row disagreeing with the events.
        for e in &mut c.events {
            if let Event::InstanceStarted {
                instance,
                tracking_code,
                ..
            } = e
            {
                instance.clone_from(&id);
                tracking_code.clone_from(&code);
            }
        }
        c.stream.instance = id;
        c.instance.tracking_code = code;
        c
    }

    /// Writes `waves` × [`BATCH`] instances' commits, or as many waves as fit in `time`:
    /// each transaction holds one commit of [`BATCH`] different instances, as the engine's
    /// writer would. Returns (events, commits, transactions, elapsed).
    pub(super) async fn write(
        &self,
        store: &Arc<dyn Store>,
        first: u64,
        until: Until,
    ) -> anyhow::Result<(u64, u64, u64, Duration)> {
        let started = Instant::now();
        let (mut events, mut commits, mut transactions) = (0u64, 0u64, 0u64);
        let mut n = first;
        loop {
            match until {
                Until::Time(t) if started.elapsed() >= t => break,
                Until::Events(e) if events >= e => break,
                _ => {}
            }
            for stage in 0..self.commits.len() {
                let batch: Vec<Commit> = (0..BATCH as u64)
                    .map(|k| self.commit(stage, n + k))
                    .collect();
                let results = store.commit(&batch).await.context("a batch failed")?;
                if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
                    bail!("a commit was refused: {e}");
                }
                events += batch.iter().map(|c| c.events.len() as u64).sum::<u64>();
                commits += batch.len() as u64;
                transactions += 1;
            }
            n += BATCH as u64;
        }
        Ok((events, commits, transactions, started.elapsed()))
    }
}

/// The tracking code of instance number `n` (below 2⁴⁵): its nine characters of Crockford's
/// base 32 and the check character that makes it one the API tracks.
pub(super) fn tracking_code(n: u64) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let body: String = (0..9)
        .rev()
        .map(|i| ALPHABET[((n >> (5 * i)) & 31) as usize] as char)
        .collect();
    ALPHABET
        .iter()
        .map(|c| format!("{body}{}", *c as char))
        .find(|code| daftar_engine::runtime::tracking::is_valid(code))
        .expect("one check character completes every code")
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Until {
    Time(Duration),
    Events(u64),
}

/// What the store alone can append.
#[derive(Clone, Debug)]
pub struct Limit {
    /// Events per second.
    pub events_per_s: f64,
    /// Commits per second.
    pub commits_per_s: f64,
    /// Instances' worth of commits per second.
    pub instances_per_s: f64,
    /// Events per instance of the template.
    pub events_per_instance: usize,
}

impl Limit {
    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "events_per_s": round(self.events_per_s, 0),
            "commits_per_s": round(self.commits_per_s, 0),
            "instances_per_s": round(self.instances_per_s, 1),
            "events_per_instance": self.events_per_instance,
            "batch": BATCH,
        })
    }
}

/// Measures the store's limit for `time` with the template's commits.
pub async fn limit(
    store: &Arc<dyn Store>,
    template: &Template,
    time: Duration,
) -> anyhow::Result<Limit> {
    let (events, commits, _, elapsed) = template.write(store, 1, Until::Time(time)).await?;
    let secs = elapsed.as_secs_f64().max(1e-9);
    Ok(Limit {
        events_per_s: events as f64 / secs,
        commits_per_s: commits as f64 / secs,
        instances_per_s: commits as f64 / template.commits.len().max(1) as f64 / secs,
        events_per_instance: template.events(),
    })
}

/// Replay speed over a history of about `events` events.
#[derive(Clone, Debug, Default)]
pub struct Replay {
    /// Events in the history.
    pub events: u64,
    /// Instances (streams).
    pub streams: u64,
    /// Events per second written to make the history (the limit again, on a growing store).
    pub written_per_s: f64,
    /// Events per second read back and decoded, one stream at a time (as the engine loads an
    /// instance it has not cached).
    pub load_per_s: f64,
    /// Events per second whose hash chain was verified (in memory).
    pub verify_per_s: f64,
    /// Events per second folded into instance states (in memory).
    pub fold_per_s: f64,
    /// Events per second verified with every core, the streams shared between threads (in
    /// memory).
    pub verify_parallel_per_s: f64,
    /// Events per second of `daftar verify` as a whole (`verify_store`: two ranges of
    /// positions per core read at once, payloads left as stored, checked on every core; then
    /// each stream loaded and folded to check its rows).
    pub store_verify_per_s: f64,
    /// The same reading one range at a time (one page read while the last is checked).
    pub store_verify_one_per_s: f64,
    /// The threads of the parallel measurements.
    pub threads: usize,
}

impl Replay {
    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "events": self.events,
            "streams": self.streams,
            "written_events_per_s": round(self.written_per_s, 0),
            "load_events_per_s": round(self.load_per_s, 0),
            "verify_events_per_s": round(self.verify_per_s, 0),
            "fold_events_per_s": round(self.fold_per_s, 0),
            "verify_parallel_events_per_s": round(self.verify_parallel_per_s, 0),
            "store_verify_events_per_s": round(self.store_verify_per_s, 0),
            "store_verify_one_thread_events_per_s": round(self.store_verify_one_per_s, 0),
            "verify_parallel_threads": self.threads,
        })
    }
}

/// Writes a history of at least `events` events into an empty store with the template, then
/// reads every stream back and times verifying its chain and folding it.
pub async fn replay(
    store: &Arc<dyn Store>,
    template: &Template,
    events: u64,
) -> anyhow::Result<Replay> {
    let (written, _, _, elapsed) = template.write(store, 1, Until::Events(events)).await?;
    let streams = store.streams().await.context("cannot list the streams")?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (mut load, mut verify, mut fold) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut parallel = Duration::ZERO;
    let mut read = 0u64;
    // Verified again a chunk at a time, the chunk's streams shared between `threads` threads.
    let mut chunk = Vec::with_capacity(CHUNK);
    for (n, stream) in streams.iter().enumerate() {
        let t = Instant::now();
        let history = store
            .load(stream)
            .await
            .with_context(|| format!("cannot read {stream}"))?;
        let t1 = Instant::now();
        verify_chain(&history).with_context(|| format!("the chain of {stream} is broken"))?;
        let t2 = Instant::now();
        let state = InstanceState::fold(history.iter().map(|e| &e.event));
        black_box(&state);
        let t3 = Instant::now();
        load += t1 - t;
        verify += t2 - t1;
        fold += t3 - t2;
        read += history.len() as u64;
        chunk.push(history);
        if chunk.len() == CHUNK || n + 1 == streams.len() {
            parallel += verify_parallel(&chunk, threads)?;
            chunk.clear();
        }
    }
    let per = |d: Duration| read as f64 / d.as_secs_f64().max(1e-9);
    // `daftar verify` as it runs, on every core and on one.
    let whole = |n: usize| {
        let store = store.clone();
        async move {
            let t = Instant::now();
            let v = verify_store(store, n, None)
                .await
                .context("cannot read the history")?;
            if let Some(e) = v.failure {
                anyhow::bail!("the store does not verify: {e}");
            }
            anyhow::ensure!(v.events == read, "verified {} of {read} events", v.events);
            anyhow::Ok(per(t.elapsed()))
        }
    };
    let store_verify_per_s = whole(2 * threads).await?;
    let store_verify_one_per_s = whole(1).await?;
    Ok(Replay {
        events: read,
        streams: streams.len() as u64,
        written_per_s: written as f64 / elapsed.as_secs_f64().max(1e-9),
        load_per_s: per(load),
        verify_per_s: per(verify),
        fold_per_s: per(fold),
        verify_parallel_per_s: per(parallel),
        store_verify_per_s,
        store_verify_one_per_s,
        threads,
    })
}

/// Streams verified together by [`verify_parallel`].
const CHUNK: usize = 2048;

/// Verifies the histories with `threads` threads, each taking every `threads`-th stream;
/// returns the wall-clock time it took.
fn verify_parallel(
    histories: &[Vec<daftar_engine::events::RecordedEvent>],
    threads: usize,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    histories
                        .iter()
                        .skip(t)
                        .step_by(threads)
                        .find_map(|h| verify_chain(h).err().map(|e| e.to_string()))
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| {
                h.join()
                    .unwrap_or_else(|_| Some("a thread panicked".into()))
            })
            .collect()
    });
    let elapsed = started.elapsed();
    match failures.first() {
        Some(f) => bail!("the chain is broken: {f}"),
        None => Ok(elapsed),
    }
}
