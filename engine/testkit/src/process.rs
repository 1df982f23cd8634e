//! Shared by the process-level tests (`crash`, `crash_sms`, `two_nodes`): the workflow they run, a
//! `daftar work` child process that reports the starts it acknowledged, and the consistency
//! check of a store and the side-effect log after the processes are gone.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use daftar_engine::events::{Event, verify_chain};
use daftar_engine::store::Store;

/// A linear workflow: a status with SMS and an inquiry, a one-second timer, a decision, a
/// second status with SMS, and an end.
pub const WORKFLOW: &str = crate::certificate_workflow!(
    "crash_certificate",
    "  - id: pause\n    wait: { duration: 1s }\n"
);

/// The steps every instance enters, once each.
pub const PATH: [&str; 4] = ["record", "pause", "decide", "issue"];

pub const ANSWERS: &str = r#"{"judiciary_records.criminal_record": {"has_record": false}}"#;

pub const INPUT: &str = r#"{"national_id": "0499370899", "mobile": "09121234567"}"#;

/// The `daftar` binary cargo built for the root package's tests, beside their own binaries
/// (`target/debug/daftar` for `target/debug/deps/crash-1a2b..`).
pub fn daftar_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().and_then(Path::parent).unwrap();
    debug.join(format!("daftar{}", std::env::consts::EXE_SUFFIX))
}

/// The files a run of `daftar work` reads and writes.
#[derive(Debug)]
pub struct Files {
    pub dir: PathBuf,
    pub workflow: PathBuf,
    pub answers: PathBuf,
    pub log: PathBuf,
}

impl Files {
    pub fn new(dir: &Path) -> Files {
        let workflow = dir.join("workflow.yaml");
        let answers = dir.join("answers.json");
        std::fs::write(&workflow, WORKFLOW).unwrap();
        std::fs::write(&answers, ANSWERS).unwrap();
        Files {
            dir: dir.to_path_buf(),
            workflow,
            answers,
            log: dir.join("effects.log"),
        }
    }
}

/// A running `daftar work` process.
#[derive(Debug)]
pub struct Node {
    child: Child,
    reader: Option<JoinHandle<()>>,
    started: Arc<Mutex<Vec<String>>>,
    pub stderr: PathBuf,
}

impl Node {
    /// Starts `daftar work` filing `start` requests; its stderr goes to `name.err`.
    pub fn spawn(
        files: &Files,
        db: &str,
        start: usize,
        start_every_ms: u64,
        lease_ms: u64,
        effect_delay_ms: u64,
        name: &str,
    ) -> Node {
        let stderr = files.dir.join(format!("{name}.err"));
        let mut command = Command::new(daftar_bin());
        command
            .arg("work")
            .arg("--db")
            .arg(db)
            .arg("--workflow")
            .arg(&files.workflow)
            .arg("--answers")
            .arg(&files.answers)
            .arg("--input")
            .arg(INPUT)
            .arg("--start")
            .arg(start.to_string())
            .arg("--start-every-ms")
            .arg(start_every_ms.to_string())
            .arg("--log")
            .arg(&files.log)
            .arg("--lease-ms")
            .arg(lease_ms.to_string())
            .arg("--effect-delay-ms")
            .arg(effect_delay_ms.to_string());
        Node::from_command(command, stderr)
    }

    /// Starts a `daftar work` command built by the caller (its arguments and environment);
    /// its stderr goes to `stderr`, and its stdout is read for the starts it acknowledges.
    pub fn from_command(mut command: Command, stderr: PathBuf) -> Node {
        let mut child = command
            .env_remove("DAFTAR_DB")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("spawn daftar work");
        let stdout = child.stdout.take().unwrap();
        let started = Arc::new(Mutex::new(Vec::new()));
        let seen = started.clone();
        let reader = std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = Vec::new();
            loop {
                line.clear();
                match r.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                // A line cut by the kill is no acknowledgment.
                let Some(whole) = line.strip_suffix(b"\n") else {
                    break;
                };
                let text = String::from_utf8_lossy(whole);
                if let Some(stream) = text.strip_prefix("started ") {
                    seen.lock().unwrap().push(stream.to_owned());
                }
            }
        });
        Node {
            child,
            reader: Some(reader),
            started,
            stderr,
        }
    }

    /// The starts acknowledged so far.
    pub fn acknowledged(&self) -> usize {
        self.started.lock().unwrap().len()
    }

    /// Whether the process has exited on its own (it never should).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Waits until the node has acknowledged `count` starts; panics, naming the node `what`,
    /// if it exits first or takes longer than `patience`.
    pub async fn until_acknowledged(&mut self, count: usize, patience: Duration, what: &str) {
        let deadline = Instant::now() + patience;
        while self.acknowledged() < count {
            assert!(Instant::now() < deadline, "{what} did not start all");
            if let Some(status) = self.exited() {
                panic!(
                    "{what} exited ({status}): {}",
                    std::fs::read_to_string(&self.stderr).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The final, uninterrupted run after the crashes: waits for its `count`
    /// acknowledgments (within `patience`), then for every instance in the store `db` to end
    /// (within `settle`); answers the store.
    pub async fn finish(
        &mut self,
        count: usize,
        patience: Duration,
        db: &str,
        settle: Duration,
    ) -> std::sync::Arc<dyn Store> {
        self.until_acknowledged(count, patience, "the final run")
            .await;
        let store = daftar_engine::store::open(db).await.unwrap();
        wait_settled(store.as_ref(), settle, "after the crashes").await;
        store
    }

    /// SIGKILLs the process and returns every start it acknowledged.
    pub fn kill(mut self) -> Vec<String> {
        self.stop();
        std::mem::take(&mut *self.started.lock().unwrap())
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A small xorshift generator: random delays without a dependency.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `$DAFTAR_CRASH_SEED`, else the clock; the seed is printed so that a failing
    /// run can be repeated.
    pub fn seeded(test: &str) -> Rng {
        let seed = std::env::var("DAFTAR_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("{test} seed: {seed} (DAFTAR_CRASH_SEED to repeat)");
        Rng(seed)
    }

    #[allow(
        clippy::should_implement_trait,
        reason = "an endless generator, never iterated; the crash tests call it by this name"
    )]
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// A runtime of two worker threads, for a property test that drives a store from its cases.
pub fn two_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A runtime on the test's own thread, for the async steps of a test that is not async
/// itself (one that runs child processes, or the CLI).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `kills` nodes one after another, each SIGKILLed after a random `min_ms` to
/// `min_ms + spread_ms`, each asked to file what the ones before did not acknowledge of
/// `total`; returns every start they acknowledged.
pub fn kill_at_random(
    kills: usize,
    total: usize,
    (min_ms, spread_ms): (u64, u64),
    rng: &mut Rng,
    mut spawn: impl FnMut(usize, &str) -> Node,
) -> Vec<String> {
    let mut acknowledged: Vec<String> = Vec::new();
    for round in 0..kills {
        let remaining = total.saturating_sub(acknowledged.len());
        let mut node = spawn(remaining, &format!("run{round}"));
        std::thread::sleep(Duration::from_millis(min_ms + rng.next() % (spread_ms + 1)));
        if let Some(status) = node.exited() {
            panic!(
                "run {round} exited by itself ({status}): {}",
                std::fs::read_to_string(&node.stderr).unwrap_or_default()
            );
        }
        let acked = node.kill();
        eprintln!("run {round}: {} acknowledged", acked.len());
        acknowledged.extend(acked);
    }
    acknowledged
}

/// Whether every instance in the store has ended and every SMS it asked for has an outcome.
pub async fn settled(store: &dyn Store) -> bool {
    let Ok(streams) = store.streams().await else {
        return false;
    };
    for s in &streams {
        let Ok(events) = store.load(s).await else {
            return false;
        };
        let mut ended = false;
        let mut pending = BTreeSet::new();
        for e in &events {
            match &e.event {
                Event::InstanceCompleted { .. } => ended = true,
                Event::NotificationRequested { reference, .. } => {
                    pending.insert(reference.clone());
                }
                Event::NotificationSent { reference, .. }
                | Event::NotificationFailed { reference, .. } => {
                    pending.remove(reference);
                }
                _ => {}
            }
        }
        if !ended || !pending.is_empty() {
            return false;
        }
    }
    true
}

/// Polls until [`settled`], or panics after `timeout`.
pub async fn wait_settled(store: &dyn Store, timeout: Duration, what: &str) {
    let deadline = Instant::now() + timeout;
    while !settled(store).await {
        if Instant::now() > deadline {
            panic!("{what}: not every instance ended within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the check found.
#[derive(Debug, Default)]
pub struct Report {
    pub streams: usize,
    pub events: usize,
    pub sms: usize,
    pub timers: usize,
    /// Inquiry attempts performed (log lines).
    pub inquiries_performed: usize,
    /// Inquiry attempts performed more than once (allowed after a crash, not across nodes).
    pub inquiries_repeated: usize,
}

/// Checks every stream of the store against the side-effect log: each instance (acknowledged
/// or not) ended exactly once, entered each step of its path once, has a gapless verified
/// chain, fired each timer once and sent each SMS exactly once (in its events and in the
/// log). With `unique_inquiries`, no inquiry attempt was performed twice.
pub async fn check(
    store: &dyn Store,
    log: &Path,
    acknowledged: &[String],
    unique_inquiries: bool,
) -> Report {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut sent_lines: BTreeMap<String, usize> = BTreeMap::new();
    let mut inquiry_lines: BTreeMap<String, usize> = BTreeMap::new();
    for line in text.lines() {
        if let Some(r) = line.strip_prefix("sent ") {
            *sent_lines.entry(r.to_owned()).or_default() += 1;
        } else if let Some(k) = line.strip_prefix("inquiry ") {
            *inquiry_lines.entry(k.to_owned()).or_default() += 1;
        } else {
            panic!("a malformed line in the log: {line:?}");
        }
    }

    let streams = store.streams().await.unwrap();
    let names: BTreeSet<String> = streams.iter().map(ToString::to_string).collect();
    for a in acknowledged {
        assert!(names.contains(a), "acknowledged {a} is not in the store");
    }
    let unique_acks: BTreeSet<&String> = acknowledged.iter().collect();
    assert_eq!(
        unique_acks.len(),
        acknowledged.len(),
        "a start was acknowledged twice"
    );

    let mut report = Report {
        streams: streams.len(),
        ..Report::default()
    };
    let mut requested_refs = BTreeSet::new();
    for s in &streams {
        let history = store.load(s).await.unwrap();
        report.events += history.len();
        for (i, e) in history.iter().enumerate() {
            assert_eq!(e.version, i as u64 + 1, "{s}: versions have a gap");
        }
        if let Err(e) = verify_chain(&history) {
            panic!("{s}: hash chain broken: {e:?}");
        }
        let mut completed = 0;
        let mut entered: BTreeMap<&str, usize> = BTreeMap::new();
        let mut requested = BTreeSet::new();
        let mut sent: BTreeMap<&str, usize> = BTreeMap::new();
        let mut failed = 0;
        let mut scheduled = BTreeSet::new();
        let mut cancelled = BTreeSet::new();
        let mut fired: BTreeMap<&str, usize> = BTreeMap::new();
        let mut inquiries = Vec::new();
        for e in &history {
            match &e.event {
                Event::InstanceCompleted { step, .. } => {
                    completed += 1;
                    assert_eq!(step, "issue", "{s} ended at an unexpected step");
                }
                Event::StepEntered { step, .. } => *entered.entry(step).or_default() += 1,
                Event::NotificationRequested { reference, .. } => {
                    assert!(
                        requested.insert(reference.as_str()),
                        "{s}: SMS {reference} requested twice"
                    );
                }
                Event::NotificationSent { reference, .. } => {
                    *sent.entry(reference).or_default() += 1;
                }
                Event::NotificationFailed { reference, reason } => {
                    failed += 1;
                    eprintln!("{s}: SMS {reference} failed: {reason}");
                }
                Event::TimerScheduled { timer, .. } => {
                    assert!(scheduled.insert(timer.as_str()), "{s}: timer {timer} twice");
                }
                Event::TimerCancelled { timer } => {
                    cancelled.insert(timer.as_str());
                }
                Event::TimerFired { timer } => *fired.entry(timer).or_default() += 1,
                Event::InquiryRequested {
                    idempotency_key,
                    attempt,
                    ..
                } => inquiries.push(format!("{idempotency_key} {attempt}")),
                _ => {}
            }
        }
        assert_eq!(completed, 1, "{s}: InstanceCompleted {completed} times");
        let expected: BTreeMap<&str, usize> = PATH.iter().map(|p| (*p, 1)).collect();
        assert_eq!(entered, expected, "{s}: steps entered");
        assert_eq!(failed, 0, "{s}: an SMS failed");
        assert_eq!(requested.len(), 2, "{s}: expected two SMS");
        for r in &requested {
            assert_eq!(sent.get(r), Some(&1), "{s}: NotificationSent for {r}");
            assert_eq!(
                sent_lines.get(*r),
                Some(&1),
                "{s}: SMS {r} sent {} times by the gateway",
                sent_lines.get(*r).unwrap_or(&0)
            );
            requested_refs.insert(r.to_string());
        }
        for r in sent.keys() {
            assert!(requested.contains(r), "{s}: {r} sent but never requested");
        }
        report.sms += requested.len();
        for t in &scheduled {
            let n = fired.get(t).copied().unwrap_or(0);
            if cancelled.contains(t) {
                assert_eq!(n, 0, "{s}: cancelled timer {t} fired");
            } else {
                assert_eq!(n, 1, "{s}: timer {t} fired {n} times");
            }
        }
        for t in fired.keys() {
            assert!(
                scheduled.contains(t),
                "{s}: timer {t} fired, never scheduled"
            );
        }
        report.timers += scheduled.len();
        assert!(!inquiries.is_empty(), "{s}: no inquiry");
        for q in &inquiries {
            let n = inquiry_lines.get(q).copied().unwrap_or(0);
            assert!(n >= 1, "{s}: inquiry {q} answered but never performed");
            if unique_inquiries {
                assert_eq!(n, 1, "{s}: inquiry {q} performed {n} times");
            }
        }
    }
    for r in sent_lines.keys() {
        assert!(
            requested_refs.contains(r),
            "the gateway sent {r}, which no instance requested"
        );
    }
    report.inquiries_performed = inquiry_lines.values().sum();
    report.inquiries_repeated = inquiry_lines.values().filter(|n| **n > 1).count();
    report
}

/// The clean-record example that the CLI tests file, with an applicant it issues a
/// certificate to and the agencies' answers that do.
pub const CLEAN_RECORD: &str = "examples/workflows/clean-record-certificate.yaml";
pub const CLEAN_RECORD_INPUT: &str = r#"{"national_id": "0499370899", "mobile": "09121234567", "birth_date": "1990-01-01", "purpose": "employment"}"#;
pub const CLEAN_RECORD_ANSWERS: &str = r#"{
  "civil_registry.identity_match": {"matched": true, "is_alive": true, "first_name": "Sara", "last_name": "Ahmadi"},
  "judiciary_records.criminal_record": {"has_record": false, "inquiry_id": "JR-1"}
}"#;

/// `daftar serve --demo` on free ports (it prints where it serves), with a checkpoint soon
/// after each request for its receipt; the caller adds `--db` and the environment.
pub const SERVE_DEMO: [&str; 8] = [
    "serve",
    "--demo",
    "--addr",
    "127.0.0.1:0",
    "--demo-port",
    "0",
    "--checkpoint-interval",
    "1s",
];

/// Runs `daftar` with `args` in the workspace's root folder and waits for it.
pub fn daftar(args: &[&str]) -> std::process::Output {
    Command::new(daftar_bin())
        .args(args)
        .current_dir(crate::root())
        .output()
        .expect("the binary runs")
}

/// `daftar run` of the clean-record example on the store `db`, with the answers that issue
/// the certificate written into `dir`.
pub fn run_clean_record(dir: &Path, db: &str) -> std::process::Output {
    let answers = dir.join("answers.json");
    std::fs::write(&answers, CLEAN_RECORD_ANSWERS).unwrap();
    run(CLEAN_RECORD, CLEAN_RECORD_INPUT, &answers, db)
}

/// `daftar run` of `workflow` with `input`, the scripted `answers` and the store `db`.
pub fn run(workflow: &str, input: &str, answers: &Path, db: &str) -> std::process::Output {
    let answers = answers.to_str().unwrap();
    daftar(&[
        "run",
        workflow,
        "--input",
        input,
        "--answers",
        answers,
        "--db",
        db,
    ])
}

/// `daftar bench --json` with `args` for two seconds after a one-second warm-up, drained for
/// at most five, its SQLite stores in `dir`; checks that it succeeds and answers its report.
pub fn bench_report(args: &[&str], dir: &Path) -> serde_json::Value {
    let out = Command::new(daftar_bin())
        .args(["bench", "--json"])
        .args(args)
        .args(["--duration", "2s", "--warmup", "1s", "--drain", "5s"])
        .arg("--sqlite-dir")
        .arg(dir)
        .current_dir(crate::root())
        .output()
        .expect("daftar runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).expect("one JSON object")
}

/// Checks that a bench run's latency percentiles (`p50`, `p99`, `p99_9`) are positive and in
/// order.
pub fn latencies_in_order(latency: &serde_json::Value) {
    let number =
        |v: &serde_json::Value| v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"));
    let (p50, p99, p999) = (
        number(&latency["p50"]),
        number(&latency["p99"]),
        number(&latency["p99_9"]),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= p999, "{latency:#}");
}
