//! One open-loop measurement: requests arrive at a fixed rate whatever the engine does, and
//! each one's latency runs from the moment it was *due* to arrive, not from when it was sent,
//! so that a slow engine cannot hide its slowness by delaying the arrivals (coordinated
//! omission). Completion is heard from the engine's commit feed ([`Engine::subscribe`]): an
//! instance is complete when the commit holding its `InstanceCompleted` is durable.
//!
//! Timeline: warm-up, then the measured window, then a drain during which arrivals go on (so
//! the window's last requests meet the same load) until every request that arrived in the
//! window has completed, or the drain time runs out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use daftar_engine::core::Command;
use daftar_engine::events::{Actor, Event};
use daftar_engine::runtime::{Appended, Engine};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::sys::{self, Cpu};

/// What to load, how hard and for how long.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The agency and workflow to file requests with.
    pub agency: String,
    /// The workflow.
    pub workflow: String,
    /// The application form of every request.
    pub input: Value,
    /// Arrivals per second.
    pub rate: f64,
    /// How long, and what is read and shown meanwhile.
    pub schedule: Schedule,
}

/// How long a measurement runs, and what it reads and shows meanwhile.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// Shown on the progress bar.
    pub label: String,
    /// Dropped from the figures.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// The most time given, after the window, to the window's requests to complete.
    pub drain: Duration,
    /// When set, every human task is completed this long after it was created.
    pub task_delay: Option<Duration>,
    /// The processes whose CPU is read besides this one.
    pub watched: sys::Watched,
    /// Whether to draw a progress bar.
    pub progress: bool,
}

impl Schedule {
    /// The measured window of a measurement starting at `t0`.
    pub fn window(&self, t0: Instant) -> (Instant, Instant) {
        (t0 + self.warmup, t0 + self.warmup + self.duration)
    }

    /// The progress bar of the warm-up and the window.
    pub fn progress_bar(&self) -> ProgressBar {
        progress_bar(&self.label, self.warmup + self.duration, self.progress)
    }
}

/// Latencies of the requests that arrived in the window, in milliseconds.
#[derive(Clone, Debug, Default)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

/// What one measurement found.
#[derive(Clone, Debug, Default)]
pub struct Measured {
    /// Requests due to arrive in the window.
    pub arrivals: u64,
    /// Of those, requests whose start was acknowledged.
    pub started: u64,
    /// Of those, requests refused at start.
    pub failed_starts: u64,
    /// Of the started ones, how many completed (by the end of the drain).
    pub completed: u64,
    /// Requests of the window not complete when the drain ran out (their latency counts as
    /// the time they had waited by then, a lower bound).
    pub unfinished: u64,
    /// Instances completed during the window, whenever they arrived, per second.
    pub completed_per_s: f64,
    /// Latencies from due arrival to durable completion.
    pub latency: Latency,
    /// Events appended during the window, per second.
    pub events_per_s: f64,
    /// Events appended during the window per instance completed during it.
    pub events_per_instance: f64,
    /// Commits written during the window per instance completed during it.
    pub commits_per_instance: f64,
    /// Transactions written during the window, per second.
    pub transactions_per_s: f64,
    /// Commits per transaction during the window (group commit at work).
    pub commits_per_transaction: f64,
    /// CPU during the window; this process is the engine, its connectors and the load
    /// generator.
    pub cpu: Cpu,
    /// Commit notices the feed dropped because the listener fell behind (should be 0).
    pub lagged: u64,
    /// Task completions the engine refused (should be 0).
    pub task_errors: u64,
    /// The first error of a refused start, if any.
    pub start_error: Option<String>,
    /// Every commit of one instance that arrived in the window, in order: the template of
    /// the store-limit measurement.
    pub template: Vec<Arc<Appended>>,
}

impl Measured {
    /// The figures as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "arrivals": self.arrivals,
            "started": self.started,
            "failed_starts": self.failed_starts,
            "completed": self.completed,
            "unfinished": self.unfinished,
            "completed_per_s": round(self.completed_per_s, 1),
            "latency_ms": self.latency.to_json(),
            "events_per_s": round(self.events_per_s, 0),
            "events_per_instance": round(self.events_per_instance, 2),
            "commits_per_instance": round(self.commits_per_instance, 2),
            "transactions_per_s": round(self.transactions_per_s, 1),
            "commits_per_transaction": round(self.commits_per_transaction, 2),
            "cpu_cores": self.cpu.to_json("engine", None),
            "engine_cpu_ms_per_instance": sys::ms_per_request(self.cpu.this, self.completed_per_s),
            "lagged": self.lagged,
            "task_errors": self.task_errors,
            "start_error": self.start_error,
        })
    }
}

impl Latency {
    /// The quantiles of a histogram of microseconds.
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Latency {
            p50: ms(0.5),
            p99: ms(0.99),
            p999: ms(0.999),
            max: h.max() as f64 / 1000.0,
            mean: h.mean() / 1000.0,
        }
    }

    /// As JSON, in milliseconds.
    pub fn to_json(&self) -> Value {
        json!({
            "p50": round(self.p50, 2),
            "p99": round(self.p99, 2),
            "p99_9": round(self.p999, 2),
            "max": round(self.max, 2),
            "mean": round(self.mean, 2),
        })
    }
}

/// A histogram of latencies: one microsecond to one hour, three significant digits.
pub fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 3_600_000_000, 3)?)
}

/// `x` rounded to `digits` decimals.
pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

#[derive(Debug)]
enum Slot {
    /// Started; due at this time.
    Started(Instant),
    /// Completed at this time, before its start was acknowledged to the generator.
    Completed(Instant),
}

/// What the tasks of a measurement share: its window, and their tally `I` behind one lock.
#[derive(Debug)]
pub struct Tallied<I> {
    window: (Instant, Instant),
    inner: Mutex<I>,
}

impl<I> Tallied<I> {
    pub fn new(window: (Instant, Instant), inner: I) -> Self {
        Tallied {
            window,
            inner: Mutex::new(inner),
        }
    }

    /// The tally; a task that panicked while holding it does not keep it from the others.
    pub fn lock(&self) -> MutexGuard<'_, I> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `t` falls in the measuring window.
    pub fn in_window(&self, t: Instant) -> bool {
        t >= self.window.0 && t < self.window.1
    }
}

/// Pairs each request's due time with its completion.
type Tracker = Tallied<Inner>;

#[derive(Debug)]
struct Inner {
    slots: HashMap<String, Slot>,
    latencies: Histogram<u64>,
    issued_in_window: u64,
    started_in_window: u64,
    failed_in_window: u64,
    completed_of_window: u64,
    completions_in_window: u64,
    started: u64,
    completed: u64,
    start_error: Option<String>,
    capture: Option<String>,
    captured: Vec<Arc<Appended>>,
}

impl Counted for Tracker {
    const WORDS: (&'static str, &'static str) = ("started", "completed");

    fn counts(&self) -> (u64, u64) {
        let inner = self.lock();
        (inner.started, inner.completed)
    }
}

impl Tracker {
    fn empty(window: (Instant, Instant)) -> anyhow::Result<Self> {
        Ok(Tracker::new(
            window,
            Inner {
                slots: HashMap::new(),
                latencies: histogram()?,
                issued_in_window: 0,
                started_in_window: 0,
                failed_in_window: 0,
                completed_of_window: 0,
                completions_in_window: 0,
                started: 0,
                completed: 0,
                start_error: None,
                capture: None,
                captured: Vec::new(),
            },
        ))
    }

    fn issued(&self, due: Instant) {
        if self.in_window(due) {
            self.lock().issued_in_window += 1;
        }
    }

    fn started(&self, instance: String, due: Instant) {
        let in_window = self.in_window(due);
        let mut inner = self.lock();
        inner.started += 1;
        if in_window {
            inner.started_in_window += 1;
        }
        match inner.slots.remove(&instance) {
            Some(Slot::Completed(at)) => self.finish(&mut inner, due, at),
            _ => {
                inner.slots.insert(instance, Slot::Started(due));
            }
        }
    }

    fn failed(&self, due: Instant, error: String) {
        let in_window = self.in_window(due);
        let mut inner = self.lock();
        if in_window {
            inner.failed_in_window += 1;
        }
        inner.start_error.get_or_insert(error);
    }

    fn completed(&self, instance: &str, at: Instant) {
        let mut inner = self.lock();
        inner.completed += 1;
        if self.in_window(at) {
            inner.completions_in_window += 1;
        }
        match inner.slots.remove(instance) {
            Some(Slot::Started(due)) => self.finish(&mut inner, due, at),
            _ => {
                inner.slots.insert(instance.to_owned(), Slot::Completed(at));
            }
        }
    }

    fn finish(&self, inner: &mut Inner, due: Instant, at: Instant) {
        if self.in_window(due) {
            inner.completed_of_window += 1;
            record(&mut inner.latencies, at.saturating_duration_since(due));
        }
    }

    /// Whether every request of the window has been answered and has completed.
    fn settled(&self) -> bool {
        let inner = self.lock();
        inner.issued_in_window == inner.started_in_window + inner.failed_in_window
            && inner.completed_of_window == inner.started_in_window
    }

    fn observe(&self, appended: &Arc<Appended>) {
        let mut inner = self.lock();
        // The first instance to start in the window is the template of the limit.
        if inner.capture.is_none()
            && appended.at >= self.window.0
            && appended.version == appended.events.len() as u64
        {
            inner.capture = Some(appended.stream.instance.clone());
        }
        if inner.capture.as_deref() == Some(appended.stream.instance.as_str()) {
            inner.captured.push(appended.clone());
        }
    }
}

/// Records a latency.
pub fn record(h: &mut Histogram<u64>, d: Duration) {
    let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
    h.saturating_record(micros);
}

/// Counters read at the start and the end of the window.
#[derive(Clone, Copy, Debug)]
struct Snapshot {
    at: Instant,
    cpu: sys::CpuReading,
    events: u64,
    transactions: u64,
    commits: u64,
}

fn snapshot(engine: &Engine, plan: &Plan, events: &AtomicU64) -> Snapshot {
    let (transactions, commits) = engine.writer_stats();
    Snapshot {
        at: Instant::now(),
        cpu: plan.schedule.watched.read(),
        events: events.load(Ordering::Relaxed),
        transactions,
        commits,
    }
}

/// Runs one measurement on an engine whose workers are running.
pub async fn measure(engine: Arc<Engine>, plan: &Plan) -> anyhow::Result<Measured> {
    let t0 = Instant::now() + Duration::from_millis(20);
    let window = plan.schedule.window(t0);
    let tracker = Arc::new(Tracker::empty(window)?);
    let stop = Arc::new(AtomicBool::new(false));
    let events = Arc::new(AtomicU64::new(0));
    let lagged = Arc::new(AtomicU64::new(0));
    let task_errors = Arc::new(AtomicU64::new(0));

    let listener = tokio::spawn(listen(
        engine.clone(),
        tracker.clone(),
        plan.schedule.task_delay,
        events.clone(),
        lagged.clone(),
        task_errors.clone(),
    ));
    let ticker = tokio::spawn(arrivals(
        engine.clone(),
        tracker.clone(),
        plan.clone(),
        t0,
        stop.clone(),
    ));
    let bar = plan.schedule.progress_bar();
    let shown = tokio::spawn(show(bar.clone(), t0, window, tracker.clone()));

    tokio::time::sleep_until(window.0.into()).await;
    let first = snapshot(&engine, plan, &events);
    tokio::time::sleep_until(window.1.into()).await;
    let last = snapshot(&engine, plan, &events);

    bar.set_message("draining: waiting for the window's requests to complete");
    let deadline = window.1 + plan.schedule.drain;
    while !tracker.settled() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let _ = ticker.await;
    let ended = Instant::now();
    shown.abort();
    bar.finish_and_clear();
    listener.abort();

    let mut inner = tracker.lock();
    // Requests of the window that have not completed count with the time they have waited:
    // leaving them out would flatter the tail.
    let mut unfinished = 0;
    let waiting: Vec<Instant> = inner
        .slots
        .values()
        .filter_map(|s| match s {
            Slot::Started(due) if tracker.in_window(*due) => Some(*due),
            _ => None,
        })
        .collect();
    for due in waiting {
        unfinished += 1;
        record(&mut inner.latencies, ended.saturating_duration_since(due));
    }
    let unanswered = inner
        .issued_in_window
        .saturating_sub(inner.started_in_window + inner.failed_in_window);
    for _ in 0..unanswered {
        unfinished += 1;
        record(
            &mut inner.latencies,
            ended.saturating_duration_since(window.1),
        );
    }

    let secs = last.at.duration_since(first.at).as_secs_f64().max(1e-9);
    let completions = inner.completions_in_window as f64;
    let per = |x: u64| {
        if completions > 0.0 {
            x as f64 / completions
        } else {
            0.0
        }
    };
    let transactions = last.transactions - first.transactions;
    let commits = last.commits - first.commits;
    Ok(Measured {
        arrivals: inner.issued_in_window,
        started: inner.started_in_window,
        failed_starts: inner.failed_in_window,
        completed: inner.completed_of_window,
        unfinished,
        completed_per_s: completions / plan.schedule.duration.as_secs_f64(),
        latency: Latency::of(&inner.latencies),
        events_per_s: (last.events - first.events) as f64 / secs,
        events_per_instance: per(last.events - first.events),
        commits_per_instance: per(commits),
        transactions_per_s: transactions as f64 / secs,
        commits_per_transaction: if transactions > 0 {
            commits as f64 / transactions as f64
        } else {
            0.0
        },
        cpu: Cpu::between(&first.cpu, &last.cpu),
        lagged: lagged.load(Ordering::Relaxed),
        task_errors: task_errors.load(Ordering::Relaxed),
        start_error: inner.start_error.clone(),
        template: std::mem::take(&mut inner.captured),
    })
}

/// Files requests at the plan's rate until told to stop. Each start runs in its own task, so
/// a slow one never holds back the next arrival.
async fn arrivals(
    engine: Arc<Engine>,
    tracker: Arc<Tracker>,
    plan: Plan,
    t0: Instant,
    stop: Arc<AtomicBool>,
) {
    tick(plan.rate, t0, &stop, |at| {
        tracker.issued(at);
        let (engine, tracker) = (engine.clone(), tracker.clone());
        let (agency, workflow, input) = (
            plan.agency.clone(),
            plan.workflow.clone(),
            plan.input.clone(),
        );
        tokio::spawn(async move {
            match engine
                .start(&agency, &workflow, input, None, Actor::Citizen)
                .await
            {
                Ok(done) => tracker.started(done.stream.instance, at),
                Err(e) => tracker.failed(at, e.to_string()),
            }
        });
    })
    .await;
}

/// Calls `issue` with the due time of each arrival, `rate` a second from `t0`, until `stop`
/// is set. Everything due by the time the ticker wakes goes out at once: a late tick issues
/// its backlog, so that arrivals never slow down with the system under test.
pub async fn tick(rate: f64, t0: Instant, stop: &AtomicBool, mut issue: impl FnMut(Instant)) {
    let period = 1.0 / rate;
    let due = |i: u64| t0 + Duration::from_secs_f64(i as f64 * period);
    let mut i: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep_until(due(i).into()).await;
        let now = Instant::now();
        while due(i) <= now {
            issue(due(i));
            i += 1;
        }
    }
}

/// Follows the engine's commits: completions, and (officer scenario) tasks to complete.
async fn listen(
    engine: Arc<Engine>,
    tracker: Arc<Tracker>,
    task_delay: Option<Duration>,
    events: Arc<AtomicU64>,
    lagged: Arc<AtomicU64>,
    task_errors: Arc<AtomicU64>,
) {
    let mut feed = engine.subscribe();
    loop {
        let appended = match feed.recv().await {
            Ok(a) => a,
            Err(RecvError::Lagged(n)) => {
                lagged.fetch_add(n, Ordering::Relaxed);
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        events.fetch_add(appended.events.len() as u64, Ordering::Relaxed);
        tracker.observe(&appended);
        for event in &appended.events {
            match event {
                Event::InstanceCompleted { .. } | Event::InstanceCancelled { .. } => {
                    tracker.completed(&appended.stream.instance, appended.at);
                }
                Event::TaskCreated { task, .. } => {
                    if let Some(delay) = task_delay {
                        let (engine, errors) = (engine.clone(), task_errors.clone());
                        let (stream, task) = (appended.stream.clone(), task.clone());
                        tokio::spawn(async move {
                            tokio::time::sleep(delay).await;
                            let officer = "bench-officer".to_owned();
                            let command = Command::CompleteTask {
                                task: task.clone(),
                                officer: officer.clone(),
                                outcome: "approve".to_owned(),
                                form: json!({}),
                            };
                            let id = format!("bench:complete:{task}");
                            if engine
                                .execute(&stream, &command, &id, Actor::Officer(officer), None)
                                .await
                                .is_err()
                            {
                                errors.fetch_add(1, Ordering::Relaxed);
                            }
                        });
                    }
                }
                _ => {}
            }
        }
    }
}

/// A progress bar over `total` (hidden unless `shown`), its position in milliseconds.
fn progress_bar(label: &str, total: Duration, shown: bool) -> ProgressBar {
    let total = total.as_millis() as u64;
    let bar = if shown {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    let style = ProgressStyle::with_template("{prefix:>28} [{bar:30}] {elapsed:>4} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label.to_owned());
    bar
}

/// What a run's progress bar counts.
pub trait Counted: Send + Sync + 'static {
    /// The words for what went out and what came back.
    const WORDS: (&'static str, &'static str);

    /// How many went out and how many came back so far.
    fn counts(&self) -> (u64, u64);
}

/// Keeps the progress bar up to date: where in the run we are, and what is in flight.
/// `counted` says how many requests went out and how many are done, and what to call them.
pub async fn show<C: Counted>(
    bar: ProgressBar,
    t0: Instant,
    window: (Instant, Instant),
    counted: Arc<C>,
) {
    let words = C::WORDS;
    loop {
        let now = Instant::now();
        bar.set_position(now.saturating_duration_since(t0).as_millis() as u64);
        let (out, done) = counted.counts();
        let phase = if now < window.0 {
            "warm-up"
        } else {
            "measuring"
        };
        if now < window.1 {
            bar.set_message(format!(
                "{phase}: {out} {}, {done} {}, {} in flight",
                words.0,
                words.1,
                out.saturating_sub(done)
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
