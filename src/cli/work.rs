//! `daftar work` (hidden): a long-running node for crash and multi-node tests, and for
//! operators who want a worker without the API.
//!
//! It deploys a workflow, runs the background loops with scripted connectors, files
//! `--start N` requests one by one, printing `started AGENCY/INSTANCE` only once each start
//! is durable, and then works until it is killed. Performed side effects are appended to the
//! `--log` file (`inquiry KEY ATTEMPT`, `sent REFERENCE`), one write and one fsync per line, so
//! that several processes can share it and a restarted process can reconcile an SMS it may
//! have sent before dying instead of sending it again.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use async_trait::async_trait;
use daftar_engine::connectors::scripted::Scripted;
use daftar_engine::connectors::{
    Connectors, Inquiries, InquiryCall, Notifier, PaymentCall, Payments, SendOutcome, Sms,
};
use daftar_engine::core::{InquiryResult, PaymentRequestResult};
use daftar_engine::events::Actor;
use daftar_engine::runtime::Engine;
use daftar_engine::runtime::workers::{self, Pace};
use serde_json::Value;

/// What `daftar work` was asked to do.
#[derive(Debug)]
pub struct Args {
    pub db: String,
    pub workflow: PathBuf,
    pub answers: PathBuf,
    pub input: String,
    pub start: u32,
    pub start_every_ms: u64,
    pub log: Option<PathBuf>,
    pub lease_ms: u64,
    pub effect_delay_ms: u64,
}

/// An append-only log of performed side effects, shared by every process given the same file.
#[derive(Debug)]
struct Log {
    path: Option<PathBuf>,
    file: Mutex<Option<File>>,
}

impl Log {
    fn open(path: Option<&Path>) -> anyhow::Result<Self> {
        let file = match path {
            Some(p) => Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .with_context(|| format!("cannot open the log {}", p.display()))?,
            ),
            None => None,
        };
        Ok(Log {
            path: path.map(Path::to_path_buf),
            file: Mutex::new(file),
        })
    }

    /// Appends one line with a single write (O_APPEND keeps lines of several processes
    /// whole) and makes it durable before returning.
    fn append(&self, line: &str) -> std::io::Result<()> {
        let mut guard = self.file.lock().expect("log lock");
        if let Some(file) = guard.as_mut() {
            file.write_all(format!("{line}\n").as_bytes())?;
            file.flush()?;
            file.sync_data()?;
        }
        Ok(())
    }

    /// Whether a whole line equal to `line` is in the log.
    fn contains(&self, line: &str) -> std::io::Result<bool> {
        let Some(path) = &self.path else {
            return Ok(false);
        };
        let reader = BufReader::new(File::open(path)?);
        for l in reader.lines() {
            if l? == line {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Scripted answers that log each attempt they perform.
#[derive(Debug)]
struct Logged {
    scripted: Scripted,
    log: Arc<Log>,
    delay: Duration,
}

#[async_trait]
impl Inquiries for Logged {
    async fn inquire(&self, call: &InquiryCall) -> InquiryResult {
        let line = format!("inquiry {} {}", call.idempotency_key, call.attempt);
        if self.log.append(&line).is_err() {
            // Not performed, as if the agency had not answered.
            return InquiryResult::Unknown;
        }
        // The answer takes a while to come back: a crash now loses it.
        tokio::time::sleep(self.delay).await;
        self.scripted.inquire(call).await
    }
}

#[async_trait]
impl Payments for Logged {
    async fn request(&self, call: &PaymentCall) -> PaymentRequestResult {
        self.scripted.request(call).await
    }
}

/// An SMS gateway whose "sent" record is the log file.
#[derive(Debug)]
struct LogGateway {
    log: Arc<Log>,
    delay: Duration,
}

#[async_trait]
impl Notifier for LogGateway {
    async fn send(&self, sms: &Sms) -> SendOutcome {
        match self.log.append(&format!("sent {}", sms.reference)) {
            Ok(()) => {
                // Sent, but the gateway's answer takes a while: a crash now loses it.
                tokio::time::sleep(self.delay).await;
                SendOutcome::Sent {
                    gateway_id: Some(format!("log-{}", sms.reference)),
                }
            }
            Err(_) => SendOutcome::Unknown,
        }
    }

    async fn lookup(&self, reference: &str) -> SendOutcome {
        match self.log.contains(&format!("sent {reference}")) {
            Ok(true) => SendOutcome::Sent { gateway_id: None },
            _ => SendOutcome::Unknown,
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let source = std::fs::read_to_string(&args.workflow)
        .with_context(|| format!("cannot read {}", args.workflow.display()))?;
    let text = std::fs::read_to_string(&args.answers)
        .with_context(|| format!("cannot read {}", args.answers.display()))?;
    let answers: BTreeMap<String, Value> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JSON object of answers", args.answers.display()))?;
    let input: Value = serde_json::from_str(&args.input).context("--input is not JSON")?;
    let log = Arc::new(Log::open(args.log.as_deref())?);
    let delay = Duration::from_millis(args.effect_delay_ms);
    let logged = Arc::new(Logged {
        scripted: Scripted::new(answers),
        log: log.clone(),
        delay,
    });
    let connectors = Connectors {
        inquiries: Some(logged.clone()),
        notifier: Some(Arc::new(LogGateway { log, delay })),
        payments: Some(logged),
    };
    let store = super::db::open(&args.db).await?;
    let engine = Engine::open(store, connectors).await?;
    let deployed = match engine
        .deploy(&args.workflow.display().to_string(), &source)
        .await
    {
        Ok(d) => d,
        Err(e) => bail!("{e}"),
    };
    let _loops = workers::spawn(
        engine.clone(),
        Pace {
            poll: Duration::from_millis(15),
            lease: Duration::from_millis(args.lease_ms),
            ..Pace::default()
        },
    );
    for i in 0..args.start {
        if i > 0 && args.start_every_ms > 0 {
            tokio::time::sleep(Duration::from_millis(args.start_every_ms)).await;
        }
        let started = engine
            .start(
                &deployed.agency,
                &deployed.workflow,
                input.clone(),
                None,
                Actor::Citizen,
            )
            .await?;
        // Only now, with the start durable, is it acknowledged.
        let mut out = std::io::stdout().lock();
        writeln!(out, "started {}", started.stream)?;
        out.flush()?;
    }
    // Work until killed.
    std::future::pending::<()>().await;
    Ok(ExitCode::SUCCESS)
}
