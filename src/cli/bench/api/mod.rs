//! The API scenarios: the bench services driven through `daftar serve` over HTTP with JWT,
//! as a portal would drive them (see [`client`]), on a fresh store each time, with the
//! simulator answering for the agencies. After each measurement, nothing may be lost: every
//! request accepted is in the store and has ended, each got its one SMS, and `daftar verify`
//! finds every hash chain intact and every row in agreement.

mod client;
mod server;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use daftar_engine::audit::verify_store;
use daftar_engine::core::sms_reference_instance;
use daftar_engine::store::{InstanceQuery, MAX_LISTING, Store};
use serde_json::{Value, json};

pub use client::Load;
use client::{Measured, Plan};
use server::{AGENCY, Server};

use super::connectors::SimulatorProcess;
use super::load::round;
use super::stores::{self, Backend};
use super::sys;
use super::{Args, Scenario};

/// The most time given to the requests of a run to end once the load is over.
const SETTLE_MOST: Duration = Duration::from_secs(300);

/// What the store and the SMS centre say once the load is over.
#[derive(Clone, Debug, Default)]
struct Checked {
    /// Requests in the store.
    instances: u64,
    /// Requests the API accepted that the store does not have.
    accepted_not_stored: u64,
    /// Requests in the store that had not ended.
    running: u64,
    /// SMS the SMS centre accepted.
    sms: u64,
    /// Requests without an SMS.
    sms_missing: u64,
    /// Requests with more than one SMS.
    sms_repeated: u64,
    /// SMS for no request of the store.
    sms_unknown: u64,
    /// Events in the store.
    events: u64,
    /// What `verify_store` found wrong, if anything.
    verify_failure: Option<String>,
    /// Whether serve stopped by itself when asked to.
    stopped_cleanly: bool,
}

impl Checked {
    /// Requests or SMS lost, repeated or unaccounted for, and a failed verify: 0 when all is
    /// well.
    fn losses(&self) -> u64 {
        self.accepted_not_stored
            + self.running
            + self.sms_missing
            + self.sms_repeated
            + self.sms_unknown
            + u64::from(self.verify_failure.is_some())
    }
}

/// Measures one API scenario at one load on a fresh store; the run as JSON.
pub fn measure(
    scenario: Scenario,
    backend: Backend,
    load: Load,
    args: &Args,
    dir: &Path,
    progress: bool,
) -> anyhow::Result<Value> {
    let simulator = SimulatorProcess::start()?;
    let rt = super::super::runtime()?;
    let shown = match load {
        Load::Closed(n) => format!("{n} in flight"),
        Load::Open(rate) => format!("{rate}/s"),
    };
    let label = format!("{} on {} at {shown}", scenario.name(), backend.name());
    let name = match load {
        Load::Closed(n) => format!("{}-{}-closed-{n}", scenario.name(), backend.name()),
        Load::Open(rate) => format!("{}-{}-open-{rate}", scenario.name(), backend.name()),
    };
    let fresh = rt.block_on(stores::fresh(backend, &name, dir, &args.db))?;
    let result = (|| {
        let mut server = Server::start(&fresh.url, scenario.source(), &simulator.catalog())?;
        let plan = Plan {
            api: server.url.clone(),
            citizen: server.citizen.clone(),
            officer: server.officer.clone(),
            service: scenario.service().to_owned(),
            input: super::input(),
            load,
            schedule: super::schedule(
                label,
                args,
                scenario,
                sys::Watched {
                    server: Some(server.pid()),
                    simulator: Some(simulator.pid()),
                    database: backend == Backend::Postgres,
                },
                progress,
            ),
        };
        let measured = rt.block_on(client::measure(plan));
        let measured = measured.map_err(|e| e.context(server.log_tail()))?;
        let settle = args.drain.max(Duration::from_secs(30));
        rt.block_on(settle_down(&fresh.store, &simulator.url, settle));
        let stopped_cleanly = server.stop();
        let mut checked = rt.block_on(check(&fresh.store, &simulator.url, &measured))?;
        checked.stopped_cleanly = stopped_cleanly;
        anyhow::Ok(to_json(scenario, backend, load, &measured, &checked))
    })();
    rt.shutdown_timeout(Duration::from_secs(1));
    drop(simulator);
    super::remove(fresh);
    result
}

/// Waits until no request of the store is running and the SMS centre has as many SMS as the
/// store has requests (the SMS goes out after the end), for as long as requests keep ending:
/// past saturation the backlog of a run takes a while. Gives up after `patience` without
/// progress (the drain, at least 30 s), or after `SETTLE_MOST` in all.
async fn settle_down(store: &std::sync::Arc<dyn Store>, sim: &str, patience: Duration) {
    let most = Instant::now() + SETTLE_MOST;
    let mut deadline = Instant::now() + patience;
    let mut last = (u64::MAX, 0);
    while Instant::now() < deadline.min(most) {
        let running = running(store, u64::MAX).await.unwrap_or(u64::MAX);
        let instances = store.streams().await.map_or(u64::MAX, |s| s.len() as u64);
        let sms = sms_log(sim).await.map_or(0, |l| l.len() as u64);
        if running == 0 && sms >= instances {
            return;
        }
        if running < last.0 || sms > last.1 {
            deadline = Instant::now() + patience;
        }
        last = (running, sms);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// How many requests of the bench agency are running, counting up to `most`.
async fn running(store: &std::sync::Arc<dyn Store>, most: u64) -> anyhow::Result<u64> {
    let mut count = 0;
    loop {
        let page = store
            .instances(
                AGENCY,
                &InstanceQuery {
                    state: Some("running".to_owned()),
                    limit: MAX_LISTING,
                    offset: u32::try_from(count).unwrap_or(u32::MAX),
                    ..InstanceQuery::default()
                },
            )
            .await?;
        count += page.len() as u64;
        if page.len() < MAX_LISTING as usize || count >= most {
            return Ok(count);
        }
    }
}

/// The SMS centre's log.
async fn sms_log(sim: &str) -> anyhow::Result<Vec<Value>> {
    let log: Value = reqwest::get(format!("{sim}/__sim/sms"))
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(log.as_array().cloned().unwrap_or_default())
}

/// What the store and the SMS centre say once serve has stopped.
async fn check(
    store: &std::sync::Arc<dyn Store>,
    sim: &str,
    measured: &Measured,
) -> anyhow::Result<Checked> {
    let ranges = 2 * std::thread::available_parallelism().map_or(1, |n| n.get());
    let verified = verify_store(store.clone(), ranges, None).await?;
    let streams: BTreeSet<String> = store
        .streams()
        .await?
        .into_iter()
        .map(|s| s.instance)
        .collect();
    let mut sms: BTreeMap<String, u64> = BTreeMap::new();
    let log = sms_log(sim).await?;
    let mut unknown = 0;
    for entry in &log {
        match entry["client_reference"]
            .as_str()
            .and_then(sms_reference_instance)
            .filter(|i| streams.contains(*i))
        {
            Some(instance) => *sms.entry(instance.to_owned()).or_default() += 1,
            None => unknown += 1,
        }
    }
    Ok(Checked {
        instances: streams.len() as u64,
        accepted_not_stored: measured
            .accepted
            .iter()
            .filter(|id| !streams.contains(*id))
            .count() as u64,
        running: running(store, u64::MAX).await?,
        sms: log.len() as u64,
        sms_missing: streams.iter().filter(|i| !sms.contains_key(*i)).count() as u64,
        sms_repeated: sms.values().filter(|n| **n > 1).count() as u64,
        sms_unknown: unknown,
        events: verified.events,
        verify_failure: verified.failure.map(|f| f.to_string()),
        stopped_cleanly: false,
    })
}

fn to_json(scenario: Scenario, backend: Backend, load: Load, m: &Measured, c: &Checked) -> Value {
    let (closed, open) = match load {
        Load::Closed(n) => (Some(n), None),
        Load::Open(rate) => (None, Some(rate)),
    };
    json!({
        "scenario": scenario.name(),
        "store": backend.name(),
        "loop": if closed.is_some() { "closed" } else { "open" },
        "in_flight": closed,
        "rate": open,
        "requests": m.requests,
        "ended": m.ended,
        "not_ended": m.not_ended,
        "failed": m.failed,
        "unfinished": m.unfinished,
        "completed_per_s": round(m.completed_per_s, 1),
        "latency_ms": m.latency.to_json(),
        "cpu_cores": m.cpu.to_json("client", Some("serve")),
        "serve_cpu_ms_per_request": sys::ms_per_request(m.cpu.server, m.completed_per_s),
        "load_average": m.load_average,
        "first_error": m.first_error,
        "first_not_ended": m.first_not_ended,
        "checks": {
            "instances": c.instances,
            "accepted": m.accepted.len(),
            "accepted_not_stored": c.accepted_not_stored,
            "running": c.running,
            "sms": c.sms,
            "sms_missing": c.sms_missing,
            "sms_repeated": c.sms_repeated,
            "sms_unknown": c.sms_unknown,
            "events": c.events,
            "events_per_request": (c.instances > 0)
                .then(|| round(c.events as f64 / c.instances as f64, 2)),
            "verify": c.verify_failure.as_deref().unwrap_or("intact"),
            "serve_stopped_cleanly": c.stopped_cleanly,
            "losses": c.losses(),
        },
    })
}

/// Prints the API runs as a table.
pub fn print(runs: &[Value]) {
    let cores = |v: &Value| match v.as_f64() {
        Some(c) => format!("{c:.2}"),
        None => "-".to_owned(),
    };
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    println!(
        "{:<12} {:<8} {:>13} {:>11} {:>8} {:>8} {:>9} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>8} {:>6}",
        "scenario",
        "store",
        "load",
        "completed/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "ev/req",
        "serve",
        "client",
        "sim",
        "db",
        "machine",
        "load avg",
        "losses"
    );
    for r in runs {
        let load = load_of(r);
        if let Some(e) = r["error"].as_str() {
            println!(
                "{:<12} {:<8} {load:>13} failed: {e}",
                text(&r["scenario"]),
                text(&r["store"])
            );
            continue;
        }
        let lat = &r["latency_ms"];
        let cpu = &r["cpu_cores"];
        let checks = &r["checks"];
        let number = |v: &Value| v.as_f64().unwrap_or_default();
        println!(
            "{:<12} {:<8} {load:>13} {:>11.1} {:>8.2} {:>8.2} {:>9.2} {:>6.1} {:>6} {:>6} {:>6} {:>6} {:>7} {:>8.2} {:>6}",
            text(&r["scenario"]),
            text(&r["store"]),
            number(&r["completed_per_s"]),
            number(&lat["p50"]),
            number(&lat["p99"]),
            number(&lat["p99_9"]),
            number(&checks["events_per_request"]),
            cores(&cpu["serve"]),
            cores(&cpu["client"]),
            cores(&cpu["simulator"]),
            cores(&cpu["database"]),
            cores(&cpu["machine"]),
            number(&r["load_average"][0]),
            checks["losses"],
        );
        for (field, what) in [
            (
                "unfinished",
                "requests of the window had no answer when the drain ran out",
            ),
            (
                "not_ended",
                "requests of the window were answered before they ended",
            ),
            ("failed", "calls of the window failed"),
        ] {
            if r[field].as_u64().unwrap_or_default() > 0 {
                println!("             {} {what}", r[field]);
            }
        }
        for field in ["first_error", "first_not_ended"] {
            if let Some(e) = r[field].as_str() {
                println!("             {field}: {e}");
            }
        }
        if checks["losses"].as_u64() != Some(0) {
            println!("             checks: {checks}");
        }
    }
    println!(
        "(CPU in cores: serve = daftar serve, client = the load generator, sim = the simulator, db = PostgreSQL, machine = everything; load avg over 1 minute)"
    );
}

/// One line on a run, shown as it ends.
pub fn line(run: &Value) -> String {
    let load = load_of(run);
    let head = format!(
        "{} on {} at {load}",
        run["scenario"].as_str().unwrap_or_default(),
        run["store"].as_str().unwrap_or_default()
    );
    if let Some(e) = run["error"].as_str() {
        return format!("{head}: failed: {e}");
    }
    let lat = &run["latency_ms"];
    format!(
        "{head}: {} completed/s, p50 {} ms, p99 {} ms, p99.9 {} ms, {} losses",
        run["completed_per_s"], lat["p50"], lat["p99"], lat["p99_9"], run["checks"]["losses"]
    )
}

/// The load of a run: `8 in flight` or `1000/s`.
fn load_of(run: &Value) -> String {
    match (run["in_flight"].as_u64(), run["rate"].as_f64()) {
        (Some(n), _) => format!("{n} in flight"),
        (None, Some(rate)) => format!("{rate}/s"),
        _ => "-".to_owned(),
    }
}
