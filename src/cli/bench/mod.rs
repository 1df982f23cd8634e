//! `daftar bench`: open-loop load at fixed arrival rates, for three scenarios on two stores,
//! with the store's own limit and replay speed measured in the same run. The method and the
//! results are in docs/benchmarks.md.
//!
//! - `smart`: the service of examples/bench/smart.yaml (two inquiries in parallel, a
//!   decision, an SMS, the end), every agency and the SMS centre played by `daftar simulate`
//!   in a child process over HTTP on 127.0.0.1;
//! - `officer`: examples/bench/officer.yaml, the same with an officer's review that the load
//!   generator completes after `--task-delay`;
//! - `core`: the smart service with in-process connectors that answer at once, to isolate
//!   the engine's own cost;
//! - `api` and `api-officer`: the smart and officer services through `daftar serve` over HTTP
//!   with JWT, as a portal files them (file and wait), in closed and open loops (see [`api`]).

mod api;
mod audit;
mod child;
mod connectors;
mod desk;
mod limit;
mod load;
mod report;
mod stores;
mod sys;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use daftar_engine::runtime::Engine;
use daftar_engine::runtime::workers::{self, Pace};
use daftar_engine::store::DefinitionRef;
use serde_json::{Value, json};

use connectors::{InProcess, SimulatorProcess};
use limit::{Limit, Replay, Template};
use load::{Measured, Plan, round};
use report::Report;
use stores::Backend;

/// The smart service.
const SMART: &str = include_str!("../../../examples/bench/smart.yaml");
/// The smart service with an officer's review.
const OFFICER: &str = include_str!("../../../examples/bench/officer.yaml");

/// A scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Smart service, agencies over HTTP (the simulator in a child process).
    Smart,
    /// Smart service with an officer's review completed after `--task-delay`.
    Officer,
    /// Smart service with in-process connectors: the engine's own cost.
    Core,
    /// Smart service through `daftar serve` over HTTP, filed with `Prefer: wait`.
    Api,
    /// Officer service through `daftar serve`, the review completed over HTTP too.
    ApiOfficer,
    /// The desk's pages, timed on the server with `--desk-requests` requests in the store.
    Desk,
    /// Every in-process scenario (smart, officer, core).
    All,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Smart => "smart",
            Scenario::Officer => "officer",
            Scenario::Core => "core",
            Scenario::Api => "api",
            Scenario::ApiOfficer => "api-officer",
            Scenario::Desk => "desk",
            Scenario::All => "all",
        }
    }

    fn source(self) -> (&'static str, &'static str) {
        match self {
            Scenario::Officer | Scenario::ApiOfficer => ("examples/bench/officer.yaml", OFFICER),
            _ => ("examples/bench/smart.yaml", SMART),
        }
    }

    /// The service's id, as a portal names it.
    fn service(self) -> &'static str {
        match self {
            Scenario::Officer | Scenario::ApiOfficer => "bench-officer",
            _ => "bench-smart",
        }
    }

    /// Whether it goes through `daftar serve`.
    fn through_api(self) -> bool {
        matches!(self, Scenario::Api | Scenario::ApiOfficer)
    }
}

/// The application form of every request: the seed's applicant, whom both agencies clear.
fn input() -> Value {
    json!({
        "national_id": "0499370899",
        "mobile": "09121234567",
        "birth_date": "1990-01-01",
    })
}

/// Which store to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreChoice {
    /// SQLite (WAL, synchronous=FULL).
    Sqlite,
    /// PostgreSQL (synchronous_commit=on).
    Postgres,
    /// Both.
    All,
}

/// The arguments of `daftar bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario.
    #[arg(long, value_enum, default_value = "all")]
    pub scenario: Scenario,
    /// The store.
    #[arg(long, value_enum, default_value = "all")]
    pub store: StoreChoice,
    /// Arrivals per second; a comma-separated list measures each rate in turn (the API
    /// scenarios: in an open loop, after the closed loops).
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    pub rate: Vec<f64>,
    /// The API scenarios' closed loops: requests kept in flight; a comma-separated list
    /// measures each in turn.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32,128")]
    pub in_flight: Vec<usize>,
    /// The measured window.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Load before the window, left out of the figures.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// The most time, after the window, for the window's requests to complete (arrivals go
    /// on meanwhile).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub drain: Duration,
    /// How long the officer takes to complete each review (officer scenario).
    #[arg(long, default_value = "100ms", value_parser = humantime::parse_duration)]
    pub task_delay: Duration,
    /// How long the store's own limit is measured.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub limit_duration: Duration,
    /// Events in the history whose replay (verify and fold) is timed; 0 leaves it out.
    #[arg(long, default_value_t = 1_000_000)]
    pub replay_events: u64,
    /// On the replay's history, also time a signed checkpoint built from nothing and one
    /// built incrementally after 1,000 more events, receipts, and an export checked offline.
    #[arg(long)]
    pub audit: bool,
    /// The PostgreSQL server; each measurement gets a schema of its own, dropped afterwards.
    #[arg(
        long,
        env = "DAFTAR_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pub db: String,
    /// Where the SQLite files go (default: a temporary folder, removed afterwards).
    #[arg(long)]
    pub sqlite_dir: Option<PathBuf>,
    /// Keep the replay's store (in `--sqlite-dir`, or the PostgreSQL schema) instead of
    /// removing it, so that commands (`daftar receipt`, `serve`) can be timed on it after.
    #[arg(long)]
    pub keep: bool,
    /// The desk scenario: how many requests fill the store (one in ten waits for an officer).
    #[arg(long, default_value_t = 100_000)]
    pub desk_requests: u64,
    /// The desk scenario: how many times each page is asked for.
    #[arg(long, default_value_t = 200)]
    pub desk_rounds: usize,
    /// Print the figures as one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Runs `daftar bench`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.rate.is_empty() || args.rate.iter().any(|r| !(r.is_finite() && *r > 0.0)) {
        bail!("--rate must be one or more positive numbers of arrivals per second");
    }
    if args.in_flight.contains(&0) {
        bail!("--in-flight must be one or more positive numbers of requests");
    }
    if args.duration.is_zero() {
        bail!("--duration must be longer than zero");
    }
    let scenarios = match args.scenario {
        Scenario::All => vec![Scenario::Smart, Scenario::Officer, Scenario::Core],
        one => vec![one],
    };
    let backends = match args.store {
        StoreChoice::All => vec![Backend::Sqlite, Backend::Postgres],
        StoreChoice::Sqlite => vec![Backend::Sqlite],
        StoreChoice::Postgres => vec![Backend::Postgres],
    };
    let temp;
    let dir = match &args.sqlite_dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot make {}", d.display()))?;
            d.clone()
        }
        None => {
            temp = tempfile::tempdir().context("cannot make a temporary folder")?;
            temp.path().to_owned()
        }
    };
    let progress = !args.json || std::io::IsTerminal::is_terminal(&std::io::stderr());

    let mut report = Report {
        machine: sys::machine(&dir),
        ..Report::default()
    };
    for backend in backends {
        if backend == Backend::Postgres {
            let rt = super::runtime()?;
            if let Err(reason) = rt.block_on(stores::postgres_reachable(&args.db)) {
                eprintln!("PostgreSQL skipped: {reason}");
                report
                    .skipped
                    .push(json!({"store": backend.name(), "reason": reason}));
                continue;
            }
        }
        let mut template: Option<(Scenario, Template)> = None;
        if args.scenario == Scenario::Desk {
            let v = desk::measure(backend, &args, &dir).unwrap_or_else(|e| {
                eprintln!("desk on {} failed: {e:#}", backend.name());
                json!({"store": backend.name(), "error": format!("{e:#}")})
            });
            report.desk.push(v);
            continue;
        }
        for &scenario in &scenarios {
            if scenario.through_api() {
                report
                    .api
                    .extend(api_runs(scenario, backend, &args, &dir, progress));
                continue;
            }
            let mut limit: Option<Limit> = None;
            for &rate in &args.rate {
                let label = format!("{} on {} at {rate}/s", scenario.name(), backend.name());
                let run = match measure(
                    scenario,
                    backend,
                    rate,
                    &args,
                    &dir,
                    limit.is_none(),
                    progress,
                ) {
                    Ok(run) => run,
                    // One failed measurement is reported; the others still run.
                    Err(e) => {
                        eprintln!("{label} failed: {e:#}");
                        report.runs.push(json!({
                            "scenario": scenario.name(),
                            "store": backend.name(),
                            "rate": rate,
                            "error": format!("{e:#}"),
                        }));
                        continue;
                    }
                };
                if limit.is_none() {
                    limit = run.limit.clone();
                }
                // Replay takes the history of the smart service when it ran, else any.
                if let Some(t) = &run.template
                    && template
                        .as_ref()
                        .is_none_or(|(s, _)| *s == Scenario::Officer)
                {
                    template = Some((scenario, t.clone()));
                }
                if !args.json {
                    eprintln!("{}", run.line(limit.as_ref()));
                }
                report.runs.push(run.to_json(limit.as_ref()));
            }
            if let Some(l) = &limit {
                let mut v = l.to_json();
                v["scenario"] = json!(scenario.name());
                v["store"] = json!(backend.name());
                report.limits.push(v);
            }
        }
        if args.replay_events > 0 && scenarios.iter().any(|s| !s.through_api()) {
            let Some((_, template)) = &template else {
                let reason = "no instance completed: there is no history to replay";
                eprintln!("replay on {} skipped: {reason}", backend.name());
                report
                    .replay
                    .push(json!({"store": backend.name(), "error": reason}));
                continue;
            };
            match replay(backend, template, &args, &dir) {
                Ok((replay, audit)) => {
                    let mut v = replay.to_json();
                    v["store"] = json!(backend.name());
                    report.replay.push(v);
                    if let Some(audit) = audit {
                        let mut v = match audit {
                            Ok(a) => a.to_json(),
                            Err(e) => {
                                eprintln!("audit on {} failed: {e:#}", backend.name());
                                json!({"error": format!("{e:#}")})
                            }
                        };
                        v["store"] = json!(backend.name());
                        report.audit.push(v);
                    }
                }
                Err(e) => {
                    eprintln!("replay on {} failed: {e:#}", backend.name());
                    report
                        .replay
                        .push(json!({"store": backend.name(), "error": format!("{e:#}")}));
                }
            }
        }
    }
    report.settings = json!({
        "rates": args.rate,
        "in_flight": args.in_flight,
        "warmup_s": args.warmup.as_secs_f64(),
        "duration_s": args.duration.as_secs_f64(),
        "drain_s": args.drain.as_secs_f64(),
        "task_delay_ms": args.task_delay.as_millis() as u64,
        "limit_duration_s": args.limit_duration.as_secs_f64(),
        "replay_events": args.replay_events,
        "audit": args.audit,
        "desk_requests": args.desk_requests,
        "desk_rounds": args.desk_rounds,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        report.print();
    }
    Ok(ExitCode::SUCCESS)
}

/// The schedule of a measurement from the arguments: the officer's delay for the services
/// with a review.
fn schedule(
    label: String,
    args: &Args,
    scenario: Scenario,
    watched: sys::Watched,
    progress: bool,
) -> load::Schedule {
    let review = matches!(scenario, Scenario::Officer | Scenario::ApiOfficer);
    load::Schedule {
        label,
        warmup: args.warmup,
        duration: args.duration,
        drain: args.drain,
        task_delay: review.then_some(args.task_delay),
        watched,
        progress,
    }
}

/// Every measurement of an API scenario on one store: the closed loops, then the open ones;
/// each run as JSON (a failed one with its error: the others still run).
fn api_runs(
    scenario: Scenario,
    backend: Backend,
    args: &Args,
    dir: &std::path::Path,
    progress: bool,
) -> Vec<Value> {
    let loads = args
        .in_flight
        .iter()
        .map(|n| api::Load::Closed(*n))
        .chain(args.rate.iter().map(|r| api::Load::Open(*r)));
    let mut runs = Vec::new();
    for load in loads {
        let run = api::measure(scenario, backend, load, args, dir, progress).unwrap_or_else(|e| {
            let (in_flight, rate) = match load {
                api::Load::Closed(n) => (Some(n), None),
                api::Load::Open(r) => (None, Some(r)),
            };
            eprintln!("{} on {} failed: {e:#}", scenario.name(), backend.name());
            json!({
                "scenario": scenario.name(),
                "store": backend.name(),
                "in_flight": in_flight,
                "rate": rate,
                "error": format!("{e:#}"),
            })
        });
        if !args.json {
            eprintln!("{}", api::line(&run));
        }
        runs.push(run);
    }
    runs
}

/// One scenario on one store at one rate.
#[derive(Debug)]
struct Run {
    scenario: Scenario,
    backend: Backend,
    rate: f64,
    measured: Measured,
    limit: Option<Limit>,
    template: Option<Template>,
}

impl Run {
    fn to_json(&self, limit: Option<&Limit>) -> Value {
        let mut v = self.measured.to_json();
        v["scenario"] = json!(self.scenario.name());
        v["store"] = json!(self.backend.name());
        v["rate"] = json!(self.rate);
        v["limit_events_per_s"] = json!(limit.map(|l| round(l.events_per_s, 0)));
        v["ratio_to_limit"] =
            json!(limit.map(|l| round(self.measured.events_per_s / l.events_per_s, 3)));
        v
    }

    fn line(&self, limit: Option<&Limit>) -> String {
        let m = &self.measured;
        format!(
            "{} on {} at {}/s: {:.0} completed/s, p50 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms{}",
            self.scenario.name(),
            self.backend.name(),
            self.rate,
            m.completed_per_s,
            m.latency.p50,
            m.latency.p99,
            m.latency.p999,
            limit.map_or(String::new(), |l| format!(
                ", {:.0} events/s = {:.1}% of the store's limit",
                m.events_per_s,
                100.0 * m.events_per_s / l.events_per_s
            ))
        )
    }
}

/// Measures one scenario on a fresh store: the engine under load, then (when asked) the
/// store's own limit with the commits of one of its instances.
#[allow(clippy::too_many_arguments)]
fn measure(
    scenario: Scenario,
    backend: Backend,
    rate: f64,
    args: &Args,
    dir: &std::path::Path,
    with_limit: bool,
    progress: bool,
) -> anyhow::Result<Run> {
    let simulator = match scenario {
        Scenario::Core => None,
        _ => Some(SimulatorProcess::start()?),
    };
    let connectors = match &simulator {
        Some(sim) => sim.connectors()?,
        None => InProcess::connectors(),
    };
    let rt = super::runtime()?;
    let name = format!("{}-{}-{rate}", scenario.name(), backend.name());
    let (measured, limit, template, fresh) = rt.block_on(async {
        let fresh = stores::fresh(backend, &name, dir, &args.db).await?;
        let engine = Engine::open(fresh.store.clone(), connectors).await?;
        let (file, source) = scenario.source();
        let deployed = engine.deploy(file, source).await?;
        let background = workers::spawn(engine.clone(), Pace::default());
        let plan = Plan {
            agency: deployed.agency.clone(),
            workflow: deployed.workflow.clone(),
            input: input(),
            rate,
            schedule: schedule(
                format!("{} on {} at {rate}/s", scenario.name(), backend.name()),
                args,
                scenario,
                sys::Watched {
                    server: None,
                    simulator: simulator.as_ref().map(SimulatorProcess::pid),
                    database: backend == Backend::Postgres,
                },
                progress,
            ),
        };
        let measured = load::measure(engine.clone(), &plan).await?;
        drop(background);
        let definition = DefinitionRef {
            workflow: deployed.workflow.clone(),
            version: deployed.version,
            hash: deployed.hash.clone(),
        };
        let template = Template::new(&measured.template, &definition);
        let limit = match (&template, with_limit) {
            (Some(t), true) => Some(limit::limit(engine.store(), t, args.limit_duration).await?),
            _ => None,
        };
        drop(engine);
        anyhow::Ok((measured, limit, template, fresh))
    })?;
    // Every task of the run (requests in flight, officers' completions) ends with its runtime,
    // so that nothing still uses the store while it is removed.
    rt.shutdown_timeout(Duration::from_secs(1));
    drop(simulator);
    remove(fresh);
    Ok(Run {
        scenario,
        backend,
        rate,
        measured,
        limit,
        template,
    })
}

/// Replay speed on a fresh store of `backend`.
fn replay(
    backend: Backend,
    template: &Template,
    args: &Args,
    dir: &std::path::Path,
) -> anyhow::Result<(Replay, Option<anyhow::Result<audit::Audit>>)> {
    if !args.json {
        eprintln!(
            "replay on {}: writing a history of {} events…",
            backend.name(),
            args.replay_events
        );
    }
    let rt = super::runtime()?;
    let (replay, fresh) = rt.block_on(async {
        let fresh = stores::fresh(
            backend,
            &format!("replay-{}", backend.name()),
            dir,
            &args.db,
        )
        .await?;
        let replay = limit::replay(&fresh.store, template, args.replay_events).await?;
        let audit = match args.audit {
            true => Some(audit::measure(&fresh.store, template, dir).await),
            false => None,
        };
        anyhow::Ok(((replay, audit), fresh))
    })?;
    rt.shutdown_timeout(Duration::from_secs(1));
    if args.keep {
        eprintln!("kept the replay's store: {}", fresh.url);
    } else {
        remove(fresh);
    }
    Ok(replay)
}

/// Removes a measurement's store; a store that cannot be removed is reported, not fatal.
fn remove(fresh: stores::Fresh) {
    let removed = super::runtime().and_then(|rt| rt.block_on(fresh.remove()));
    if let Err(e) = removed {
        eprintln!("warning: {e:#}");
    }
}
