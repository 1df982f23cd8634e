//! The load generator of the API scenarios: an HTTP client in the bench's own process (one
//! keep-alive connection pool) that files requests as a portal would, with
//! `Prefer: wait=10`, so that the answer comes when the request has ended. For the officer
//! service the filing's answer shows the review's task; the officer completes it after the
//! task delay, again with `Prefer: wait`, and that answer shows the end.
//!
//! Closed loop: N workers, each filing its next request as soon as the last one's answer is
//! in; latency is the time of the calls. Open loop: arrivals at a fixed rate whatever the
//! server does, latency from the moment each request was *due* (no coordinated omission).
//! The warm-up, window and drain are those of the in-process scenarios.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::super::load::{self, Latency, Schedule, record};
use super::super::sys::{self, Cpu};

/// The wait each call asks for, in seconds: a request that has not ended by then is an error.
pub const WAIT_S: u64 = 10;

/// How long requests in hand may take to finish once the drain is over, before they are left.
const FINISH: Duration = Duration::from_secs(WAIT_S + 5);

/// How the load is offered.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Load {
    /// This many requests in flight at all times.
    Closed(usize),
    /// Arrivals per second.
    Open(f64),
}

/// What to load, how hard and for how long.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The server's base URL.
    pub api: String,
    /// The token requests are filed with.
    pub citizen: String,
    /// The token tasks are completed with.
    pub officer: String,
    /// The service.
    pub service: String,
    /// The application form of every request.
    pub input: Value,
    /// How the load is offered.
    pub load: Load,
    /// How long, and what is read and shown meanwhile; `task_delay` is the officer's, after
    /// the filing's answer.
    pub schedule: Schedule,
}

/// What one measurement found, for the requests of the window (sent in it, closed loop; due
/// in it, open loop).
#[derive(Clone, Debug, Default)]
pub struct Measured {
    /// Requests of the window.
    pub requests: u64,
    /// Of those, requests whose answer said they had ended.
    pub ended: u64,
    /// Of those, requests answered while they had not ended (the wait ran out, or they came
    /// to rest elsewhere than the review).
    pub not_ended: u64,
    /// Of those, calls refused or failed.
    pub failed: u64,
    /// Of those, requests without an answer when the drain ran out (their latency counts as
    /// the time they had waited by then, a lower bound).
    pub unfinished: u64,
    /// Answers saying a request had ended that arrived in the window, per second.
    pub completed_per_s: f64,
    /// Latencies of the window's requests.
    pub latency: Latency,
    /// CPU during the window; this process is the load generator.
    pub cpu: Cpu,
    /// The load average at the end of the window.
    pub load_average: Option<[f64; 3]>,
    /// The first failure, and the first answer that had not ended.
    pub first_error: Option<String>,
    /// What the first answer that had not ended said.
    pub first_not_ended: Option<String>,
    /// Every request the server accepted, in the window or not.
    pub accepted: Vec<String>,
}

/// How one request went.
#[derive(Debug)]
enum Answer {
    Ended,
    NotEnded(String),
    Failed(String),
}

/// The requests of a measurement, their answers and latencies.
type Tally = load::Tallied<Inner>;

#[derive(Debug)]
struct Inner {
    latencies: Histogram<u64>,
    sent: u64,
    answered: u64,
    /// Requests of the window without an answer, by number, with the time they were due.
    pending: HashMap<u64, Instant>,
    requests: u64,
    ended: u64,
    not_ended: u64,
    failed: u64,
    completions: u64,
    first_error: Option<String>,
    first_not_ended: Option<String>,
    accepted: Vec<String>,
}

impl load::Counted for Tally {
    const WORDS: (&'static str, &'static str) = ("sent", "answered");

    fn counts(&self) -> (u64, u64) {
        let inner = self.lock();
        (inner.sent, inner.answered)
    }
}

impl Tally {
    /// A request due at `due` goes out; its number.
    fn send(&self, due: Instant) -> u64 {
        let mut inner = self.lock();
        let n = inner.sent;
        inner.sent += 1;
        if self.in_window(due) {
            inner.requests += 1;
            inner.pending.insert(n, due);
        }
        n
    }

    /// The answer to request `n`, with the id of the request when the server accepted it.
    fn answer(&self, n: u64, id: Option<String>, answer: Answer) {
        let at = Instant::now();
        let mut inner = self.lock();
        inner.answered += 1;
        inner.accepted.extend(id);
        let of_window = inner.pending.remove(&n);
        if let Some(due) = of_window {
            record(&mut inner.latencies, at.saturating_duration_since(due));
        }
        let counted = of_window.is_some();
        match answer {
            Answer::Ended => {
                inner.completions += u64::from(self.in_window(at));
                inner.ended += u64::from(counted);
            }
            Answer::NotEnded(said) => {
                inner.not_ended += u64::from(counted);
                inner.first_not_ended.get_or_insert(said);
            }
            Answer::Failed(e) => {
                inner.failed += u64::from(counted);
                inner.first_error.get_or_insert(e);
            }
        }
    }

    /// Whether every request of the window has its answer.
    fn settled(&self) -> bool {
        self.lock().pending.is_empty()
    }

    /// Requests sent and not answered yet.
    fn in_flight(&self) -> u64 {
        let inner = self.lock();
        inner.sent - inner.answered
    }
}

/// The client's side of the measurement: one connection pool shared by every call.
#[derive(Debug)]
struct Client {
    http: reqwest::Client,
    plan: Plan,
}

impl Client {
    /// Files one request and, for the officer service, completes its review: as a portal
    /// and an officer would, each call waiting for the request to come to rest.
    async fn request(&self) -> (Option<String>, Answer) {
        let plan = &self.plan;
        let body = json!({ "service": plan.service, "input": plan.input });
        let url = format!("{}/api/v1/requests", plan.api);
        let filed = match self
            .post(&url, &plan.citizen, &body, StatusCode::CREATED)
            .await
        {
            Ok(v) => v,
            Err(e) => return (None, Answer::Failed(e)),
        };
        let id = filed["id"].as_str().map(str::to_owned);
        if ended(&filed) {
            return (id, Answer::Ended);
        }
        let (Some(delay), Some(request), Some(task)) =
            (plan.schedule.task_delay, id.as_deref(), open_task(&filed))
        else {
            return (id, Answer::NotEnded(describe(&filed)));
        };
        tokio::time::sleep(delay).await;
        let url = format!(
            "{}/api/v1/requests/{request}/tasks/{task}/complete",
            plan.api
        );
        let body = json!({ "outcome": "approve" });
        let answer = match self.post(&url, &plan.officer, &body, StatusCode::OK).await {
            Ok(v) if ended(&v) => Answer::Ended,
            Ok(v) => Answer::NotEnded(describe(&v)),
            Err(e) => Answer::Failed(e),
        };
        (id, answer)
    }

    /// POSTs `body` with `Prefer: wait`; the answer's body when its status is `expected`.
    async fn post(
        &self,
        url: &str,
        token: &str,
        body: &Value,
        expected: StatusCode,
    ) -> Result<Value, String> {
        let sent = self
            .http
            .post(url)
            .bearer_auth(token)
            .header("prefer", format!("wait={WAIT_S}"))
            .json(body)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = sent.status();
        let text = sent.text().await.map_err(|e| format!("POST {url}: {e}"))?;
        if status != expected {
            let excerpt: String = text.chars().take(300).collect();
            return Err(format!("POST {url}: {status}: {excerpt}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("POST {url}: {e}"))
    }
}

/// Whether an answer shows the request ended (`state` is `running` until it has).
fn ended(view: &Value) -> bool {
    view["state"].as_str().is_some_and(|s| s != "running")
}

/// The id of the request's open task, in an answer.
fn open_task(view: &Value) -> Option<&str> {
    view["tasks"]
        .as_array()?
        .iter()
        .find(|t| t["open"] == true)?["id"]
        .as_str()
}

/// Where an answer says the request stands, for the report.
fn describe(view: &Value) -> String {
    format!(
        "request {} answered in state {}, status {}, waiting for {}",
        view["id"], view["state"], view["status"], view["waiting"]
    )
}

/// Runs one measurement against a server that is up.
pub async fn measure(plan: Plan) -> anyhow::Result<Measured> {
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(WAIT_S + 20))
        .build()?;
    let t0 = Instant::now() + Duration::from_millis(20);
    let window = plan.schedule.window(t0);
    let tally = Arc::new(Tally::new(
        window,
        Inner {
            latencies: load::histogram()?,
            sent: 0,
            answered: 0,
            pending: HashMap::new(),
            requests: 0,
            ended: 0,
            not_ended: 0,
            failed: 0,
            completions: 0,
            first_error: None,
            first_not_ended: None,
            accepted: Vec::new(),
        },
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let client = Arc::new(Client {
        http,
        plan: plan.clone(),
    });
    let generator = tokio::spawn(generate(client, tally.clone(), t0, stop.clone()));
    let bar = plan.schedule.progress_bar();
    let shown = tokio::spawn(load::show(bar.clone(), t0, window, tally.clone()));

    tokio::time::sleep_until(window.0.into()).await;
    let first = plan.schedule.watched.read();
    tokio::time::sleep_until(window.1.into()).await;
    let last = plan.schedule.watched.read();
    let load_average = sys::load_average();

    // Requests go on until every request of the window has its answer, so that the last of
    // them meet the same load; then the requests in hand are let finish (an officer's review
    // left open would look like a request lost).
    bar.set_message("draining: waiting for the window's requests to end");
    let deadline = window.1 + plan.schedule.drain;
    while !tally.settled() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ended = Instant::now();
    stop.store(true, Ordering::Relaxed);
    bar.set_message("letting the requests in hand finish");
    let finish = Instant::now() + FINISH;
    while tally.in_flight() > 0 && Instant::now() < finish {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    generator.abort();
    shown.abort();
    bar.finish_and_clear();

    let mut inner = tally.lock();
    // Requests of the window without an answer count with the time they had waited.
    let waiting: Vec<Instant> = inner.pending.values().copied().collect();
    for due in &waiting {
        record(&mut inner.latencies, ended.saturating_duration_since(*due));
    }
    Ok(Measured {
        requests: inner.requests,
        ended: inner.ended,
        not_ended: inner.not_ended,
        failed: inner.failed,
        unfinished: waiting.len() as u64,
        completed_per_s: inner.completions as f64 / plan.schedule.duration.as_secs_f64(),
        latency: Latency::of(&inner.latencies),
        cpu: Cpu::between(&first, &last),
        load_average,
        first_error: inner.first_error.clone(),
        first_not_ended: inner.first_not_ended.clone(),
        accepted: std::mem::take(&mut inner.accepted),
    })
}

/// Offers the plan's load from `t0` until told to stop.
async fn generate(client: Arc<Client>, tally: Arc<Tally>, t0: Instant, stop: Arc<AtomicBool>) {
    match client.plan.load {
        Load::Open(rate) => {
            load::tick(rate, t0, &stop, |due| {
                let n = tally.send(due);
                let (client, tally) = (client.clone(), tally.clone());
                tokio::spawn(async move {
                    let (id, answer) = client.request().await;
                    tally.answer(n, id, answer);
                });
            })
            .await;
        }
        Load::Closed(workers) => {
            tokio::time::sleep_until(t0.into()).await;
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..workers {
                let (client, tally, stop) = (client.clone(), tally.clone(), stop.clone());
                set.spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let n = tally.send(Instant::now());
                        let (id, answer) = client.request().await;
                        let failed = matches!(answer, Answer::Failed(_));
                        tally.answer(n, id, answer);
                        // A server refusing at once must not be flooded by a spinning loop.
                        if failed {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                });
            }
            while set.join_next().await.is_some() {}
        }
    }
}
