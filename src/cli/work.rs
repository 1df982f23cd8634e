//! `daftar work` (hidden): a long-running node for crash and multi-node tests, and for
//! operators who want a worker without the API.
//!
//! It deploys a workflow, runs the background loops with scripted connectors, files
//! `--start N` requests one by one, printing `started AGENCY/INSTANCE` only once each start
//! is durable, and then works until it is killed. Performed side effects are appended to the
//! `--log` file (`inquiry KEY ATTEMPT`, `sent REFERENCE`), one write and one fsync per line, so
//! that several processes can share it and a restarted process can reconcile an SMS it may
//! have sent before dying instead of sending it again.
//!
//! With `--connectors FILE` instead of `--answers`, the catalog's agencies, SMS centre and
//! payment gateway are called over HTTP (`${VAR}` in a `base_url` read from the environment,
//! such as `$DAFTAR_AGENCIES_URL` for `daftar simulate`), and the callback routes listen on a
//! free port of 127.0.0.1 (printed on stderr) with the secret `$DAFTAR_CALLBACK_TOKEN` (by
//! default the one `daftar simulate` sends). The record of performed side effects is then the
//! agencies' own; `--log` is not written, and `--effect-delay-ms` holds back each agency's
//! answer after it arrived (so that a kill lands between the effect and its record).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use async_trait::async_trait;
use daftar_definitions::Catalog;
use daftar_engine::connectors::http::HttpInquiries;
use daftar_engine::connectors::payments::HttpPayments;
use daftar_engine::connectors::scripted::Scripted;
use daftar_engine::connectors::sms::HttpSms;
use daftar_engine::connectors::{
    Connectors, Inquiries, InquiryCall, Notifier, PaymentCall, Payments, SendOutcome, Sms,
};
use daftar_engine::core::{InquiryResult, PaymentRequestResult};
use daftar_engine::events::Actor;
use daftar_engine::runtime::Engine;
use daftar_engine::runtime::workers::{self, Pace};
use serde_json::Value;

/// The arguments of `daftar work`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The store.
    #[arg(long, env = "DAFTAR_DB")]
    pub db: String,
    /// The YAML file, deployed if it is not yet.
    #[arg(long)]
    pub workflow: PathBuf,
    /// Scripted agency answers, as for `run`.
    #[arg(long, required_unless_present = "connectors")]
    pub answers: Option<PathBuf>,
    /// Instead of `--answers`: the connector catalog, whose agencies and gateways are
    /// called over HTTP (callback routes on a free port, secret `$DAFTAR_CALLBACK_TOKEN`).
    #[arg(long, conflicts_with = "answers")]
    pub connectors: Option<PathBuf>,
    /// The application form of the requests it files, as JSON.
    #[arg(long, default_value = "{}")]
    pub input: String,
    /// How many requests to file.
    #[arg(long, default_value_t = 0)]
    pub start: u32,
    /// The pause between two starts, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub start_every_ms: u64,
    /// Where performed side effects are appended (`inquiry KEY ATTEMPT`, `sent REF`).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// How long a leased job is this node's, in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    pub lease_ms: u64,
    /// How long an inquiry answer or an SMS acknowledgment takes to come back after the
    /// side effect is logged, in milliseconds (widens the window a crash can hit).
    #[arg(long, default_value_t = 0)]
    pub effect_delay_ms: u64,
    /// The agencies' calendars and document codes: the same as the nodes serving the API, or
    /// this node computes other deadlines and issues document IDs under another code.
    #[command(flatten)]
    pub agencies: super::agencies::Agencies,
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

/// The HTTP connectors of a catalog, each answer held back `delay` after it arrived.
#[derive(Debug)]
struct Slow<T> {
    inner: T,
    delay: Duration,
}

impl<T> Slow<T> {
    /// What `answer` comes to, once it came and `delay` passed after it.
    async fn held<R>(&self, answer: impl Future<Output = R>) -> R {
        let answer = answer.await;
        tokio::time::sleep(self.delay).await;
        answer
    }
}

#[async_trait]
impl Inquiries for Slow<HttpInquiries> {
    async fn inquire(&self, call: &InquiryCall) -> InquiryResult {
        self.held(self.inner.inquire(call)).await
    }
}

#[async_trait]
impl Notifier for Slow<HttpSms> {
    async fn send(&self, sms: &Sms) -> SendOutcome {
        self.held(self.inner.send(sms)).await
    }

    async fn lookup(&self, reference: &str) -> SendOutcome {
        self.inner.lookup(reference).await
    }
}

/// Scripted connectors logging what they perform.
fn scripted(path: &Path, log: Option<&Path>, delay: Duration) -> anyhow::Result<Connectors> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let answers: BTreeMap<String, Value> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JSON object of answers", path.display()))?;
    let log = Arc::new(Log::open(log)?);
    let logged = Arc::new(Logged {
        scripted: Scripted::new(answers),
        log: log.clone(),
        delay,
    });
    Ok(Connectors {
        inquiries: Some(logged.clone()),
        notifier: Some(Arc::new(LogGateway { log, delay })),
        payments: Some(logged),
    })
}

/// The HTTP connectors of a catalog, with their callback routes bound (not yet served) on a
/// free port of 127.0.0.1.
async fn http(
    catalog: &Catalog,
    delay: Duration,
) -> anyhow::Result<(Connectors, tokio::net::TcpListener)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/callbacks", listener.local_addr()?);
    eprintln!("callbacks on {base}");
    let e = |e: String| anyhow::anyhow!("the connector catalog: {e}");
    let secrets = callback_secrets(catalog)?;
    let connectors = Connectors {
        inquiries: Some(Arc::new(Slow {
            inner: HttpInquiries::new(catalog, Some(format!("{base}/inquiries")))
                .map_err(e)?
                .with_callback_secrets(secrets.clone()),
            delay,
        })),
        notifier: Some(Arc::new(Slow {
            inner: HttpSms::new(catalog, Some(format!("{base}/sms")))
                .map_err(e)?
                .with_callback_secrets(secrets.clone()),
            delay,
        })),
        payments: Some(Arc::new(
            HttpPayments::new(catalog, Some(format!("{base}/payments")))
                .map_err(e)?
                .with_callback_secrets(secrets),
        )),
    };
    Ok((connectors, listener))
}

/// Each connector's callback secret: what signs the callback tokens daftar sends and checks
/// the callbacks that come back.
fn callback_secrets(catalog: &Catalog) -> anyhow::Result<BTreeMap<String, String>> {
    let token = std::env::var("DAFTAR_CALLBACK_TOKEN")
        .unwrap_or_else(|_| super::LOCAL_CALLBACK_TOKEN.to_owned());
    daftar_api::callback_secrets(catalog, Some(&token))
        .map_err(|e| anyhow::anyhow!("the connector catalog: {e}"))
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let source = std::fs::read_to_string(&args.workflow)
        .with_context(|| format!("cannot read {}", args.workflow.display()))?;
    let input: Value = serde_json::from_str(&args.input).context("--input is not JSON")?;
    let delay = Duration::from_millis(args.effect_delay_ms);
    let (connectors, http) = match (&args.answers, &args.connectors) {
        (Some(answers), _) => (scripted(answers, args.log.as_deref(), delay)?, None),
        (None, Some(path)) => {
            let catalog = super::files::load_catalog(path)?;
            let (connectors, listener) = http(&catalog, delay).await?;
            (connectors, Some((catalog, listener)))
        }
        (None, None) => bail!("give --answers FILE or --connectors FILE"),
    };
    let store = super::db::open(&args.db).await?;
    let engine = Engine::open(store, connectors).await?;
    args.agencies.load()?.apply(&engine, &[])?;
    if let Some(keyring) = super::db::keyring(None).await? {
        engine.use_keyring(keyring);
    }
    if let Some((catalog, listener)) = http {
        engine.set_catalog(catalog.clone());
        super::run::serve_callbacks(&engine, callback_secrets(&catalog)?, listener)?;
    }
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
