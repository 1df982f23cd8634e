//! `daftar run FILE... --input JSON`: deploys definitions (a service and the workflows it
//! calls, given as files or folders), files one request and drives it until it ends or waits
//! for something the dry run cannot give (an officer, a timer, a message), printing its
//! events, then its tracking code, status and ending as a person reads them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use async_trait::async_trait;
use daftar_engine::connectors::http::HttpInquiries;
use daftar_engine::connectors::payments::HttpPayments;
use daftar_engine::connectors::scripted::Scripted;
use daftar_engine::connectors::sms::HttpSms;
use daftar_engine::connectors::{Connectors, Notifier, SendOutcome, Sms};
use daftar_engine::core::{Command, Delivery, Ending, PAYMENT, Wait};
use daftar_engine::events::Actor;
use daftar_engine::runtime::Engine;
use daftar_engine::runtime::workers::{self, Pace};
use daftar_engine::store::StoredDefinition;
use serde_json::Value;

/// Prints SMS instead of sending them: a dry run reaches no gateway.
#[derive(Debug)]
struct Console;

#[async_trait]
impl Notifier for Console {
    async fn send(&self, sms: &Sms) -> SendOutcome {
        eprintln!("SMS to {}: {}", sms.recipient, sms.text);
        SendOutcome::Sent {
            gateway_id: Some("console".to_owned()),
        }
    }

    async fn lookup(&self, _reference: &str) -> SendOutcome {
        SendOutcome::Unknown
    }
}

/// The arguments of `daftar run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The YAML files, or folders of them, to deploy: the service to file and the
    /// workflows it calls. The first file is the service filed unless `--service` names
    /// another.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The id of the workflow to file, when the first path is a folder or not the service.
    #[arg(long)]
    pub service: Option<String>,
    /// The application form, as JSON.
    #[arg(long)]
    pub input: String,
    /// Scripted agency answers, a JSON object keyed by `connector.operation` (and by the
    /// payment gateway's connector for payment results): a dry run that reaches no one.
    /// Without it, the catalog's connectors are called over HTTP (start `daftar simulate`
    /// first to play the agencies).
    #[arg(long)]
    pub answers: Option<PathBuf>,
    /// The connector catalog, when `--answers` is not given; by default
    /// `$DAFTAR_CONNECTORS`, else the nearest `connectors.yaml` above the file.
    #[arg(long, env = "DAFTAR_CONNECTORS")]
    pub connectors: Option<PathBuf>,
    /// The store.
    #[arg(long, default_value = super::db::DEFAULT_DB, env = "DAFTAR_DB")]
    pub db: String,
    /// The secret agencies send with their callbacks, for connectors that name no
    /// `callback_secret_env` (local use: `daftar simulate` sends the same default).
    #[arg(long, env = "DAFTAR_CALLBACK_TOKEN", default_value = super::LOCAL_CALLBACK_TOKEN, hide_default_value = true)]
    pub callback_token: String,
    /// The agencies' calendars and document codes, as for `serve`.
    #[command(flatten)]
    pub agencies: super::agencies::Agencies,
}

pub async fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let Args {
        files: paths,
        service,
        input,
        answers,
        connectors: catalog,
        db,
        callback_token,
        agencies,
    } = args;
    let (service, answers, catalog) = (service.as_deref(), answers.as_deref(), catalog.as_deref());
    let agencies = agencies.load()?;
    let sources = read_sources(paths)?;
    let file = paths[0].as_path();
    let input: Value = serde_json::from_str(input).context("--input is not JSON")?;
    let answers: Option<BTreeMap<String, Value>> =
        match answers {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                Some(serde_json::from_str(&text).with_context(|| {
                    format!("{} is not a JSON object of answers", path.display())
                })?)
            }
            None => None,
        };
    let store = super::db::open(db).await?;
    // With answers: a dry run that reaches no one. Without: the connectors of the catalog, over
    // HTTP, with the callback routes listening on a free port of 127.0.0.1 for agencies that
    // answer later and for payment results.
    let (connectors, scripted, callbacks) = match answers {
        Some(answers) => {
            let scripted = Arc::new(Scripted::new(answers));
            let connectors = Connectors {
                inquiries: Some(scripted.clone()),
                notifier: Some(Arc::new(Console)),
                payments: Some(scripted.clone()),
            };
            (connectors, Some(scripted), None)
        }
        None => {
            let Some(path) = super::files::find_catalog(catalog, file) else {
                bail!(
                    "no connector catalog: give --answers FILE for a dry run, or --connectors FILE"
                );
            };
            let catalog = super::files::load_catalog(&path)?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let base = format!("http://{}/callbacks", listener.local_addr()?);
            let http = |e: String| anyhow::anyhow!("{}: {e}", path.display());
            let secrets = daftar_api::callback_secrets(&catalog, Some(callback_token))
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let connectors = Connectors {
                inquiries: Some(Arc::new(
                    HttpInquiries::new(&catalog, Some(format!("{base}/inquiries")))
                        .map_err(http)?
                        .with_callback_secrets(secrets.clone()),
                )),
                notifier: Some(Arc::new(HttpSms::new(&catalog, None).map_err(http)?)),
                payments: Some(Arc::new(
                    HttpPayments::new(&catalog, Some(format!("{base}/payments")))
                        .map_err(http)?
                        .with_callback_secrets(secrets.clone()),
                )),
            };
            (connectors, None, Some((listener, secrets)))
        }
    };
    let engine = Engine::open(store, connectors).await?;
    agencies.apply(&engine, &[])?;
    if let Some(keyring) = super::db::keyring(None).await? {
        engine.use_keyring(keyring);
    }
    if let Some((listener, secrets)) = callbacks {
        serve_callbacks(&engine, secrets, listener)?;
    }
    let mut deployed = Vec::new();
    for (name, source) in &sources {
        match engine.deploy(name, source).await {
            Ok(d) => deployed.push((name.clone(), d)),
            Err(e) => bail!("{e}"),
        }
    }
    let deployed = chosen(&deployed, service, paths)?;
    let started = engine
        .start(
            &deployed.agency,
            &deployed.workflow,
            input,
            None,
            Actor::Citizen,
        )
        .await?;
    let stream = started.stream.clone();
    let _loops = workers::spawn(
        engine.clone(),
        Pace {
            poll: Duration::from_millis(20),
            ..Pace::default()
        },
    );

    // Drive until the instance ends, or waits for nothing but a person, a timer or a message
    // and nothing has changed for a while. At most two minutes, however busy it stays.
    let mut last = 0;
    let mut quiet = 0;
    for _ in 0..6000 {
        if quiet >= 25 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let state = engine.state(&stream).await?;
        let sms_pending = state
            .notifications
            .values()
            .any(|d| *d == Delivery::Pending);
        if state.ended() && !sms_pending {
            break;
        }
        // Waits the network will end by itself: answers, callbacks, payments, backoff timers.
        let automated = state.tokens.values().any(|t| {
            t.wait.moves_by_itself()
                || matches!(t.wait, Wait::Callback { .. } | Wait::PaymentOpen { .. })
        });
        for (token, t) in &state.tokens {
            let Some(scripted) = &scripted else { break };
            if let Wait::PaymentOpen { reference } = &t.wait {
                let step = engine
                    .definition_of(&state)?
                    .compiled()
                    .step(&t.step)
                    .cloned();
                let connector = step
                    .and_then(|s| s.payment.map(|p| p.connector))
                    .unwrap_or_default();
                let command = Command::DeliverMessage {
                    name: PAYMENT.to_owned(),
                    correlation: reference.clone(),
                    message_id: format!("dry-run-{reference}"),
                    payload: scripted.payment_result(&connector),
                };
                let _ = engine
                    .execute(
                        &stream,
                        &command,
                        &format!("dry-run:{token}:{reference}"),
                        Actor::Connector(connector),
                        None,
                    )
                    .await;
            }
        }
        if state.version == last && !sms_pending && (!automated || scripted.is_some()) {
            quiet += 1;
        } else {
            quiet = 0;
            last = state.version;
        }
    }

    let state = engine.state(&stream).await?;
    let history = engine.store().load(&stream).await?;
    for e in &history {
        println!(
            "{}",
            serde_json::to_string(&serde_json::json!({"version": e.version, "event": e.event}))?
        );
    }
    eprintln!("instance:      {stream}");
    eprintln!("tracking code: {}", state.tracking_code);
    let definition = engine.definition_of(&state)?;
    let status = state.status.as_deref().unwrap_or("-");
    match definition.compiled().workflow().statuses.get(status) {
        Some(s) => eprintln!("status:        {status} ({} / {})", s.fa, s.en),
        None => eprintln!("status:        {status}"),
    }
    match &state.ending {
        Some(Ending::Completed {
            outcome,
            document_id,
        }) => {
            let outcome = serde_json::to_value(outcome)?;
            let outcome = outcome.as_str().unwrap_or_default();
            eprintln!("outcome:       {outcome}");
            if let Some(id) = document_id {
                eprintln!("document:      {id}");
            }
        }
        Some(Ending::Cancelled { reason }) => {
            eprintln!("outcome:       cancelled");
            eprintln!("reason:        {reason}");
        }
        None => {
            eprintln!("outcome:       none yet");
            for t in state.tokens.values() {
                eprintln!("waiting:       at `{}`: {}", t.step, waiting(&t.wait));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What a token waits for, in words.
fn waiting(wait: &Wait) -> String {
    match wait {
        Wait::Task { task } => format!("an officer's task ({task})"),
        Wait::Timer => "a timer".to_owned(),
        Wait::Message { name, correlation } => {
            format!("the message `{name}` (correlation `{correlation}`)")
        }
        Wait::Incident { incident } => {
            format!("an operator: incident {incident} (`daftar incidents`, `daftar retry`)")
        }
        Wait::PaymentOpen { reference } => format!("the applicant's payment ({reference})"),
        Wait::Join { .. } => "its parallel branches".to_owned(),
        Wait::Call => "the workflow it called".to_owned(),
        other => format!("{other:?}"),
    }
}

/// Every YAML file of the paths (a folder stands for its `*.yaml` files, in name order), as
/// (file name, source).
fn read_sources(paths: &[PathBuf]) -> anyhow::Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            files.extend(super::files::yaml_files(path, "the folder")?);
        } else {
            files.push(path.clone());
        }
    }
    super::files::read_all(files)
}

/// The definition to file: `--service`, else the first path's when it is a file.
fn chosen<'a>(
    deployed: &'a [(String, StoredDefinition)],
    service: Option<&str>,
    paths: &[PathBuf],
) -> anyhow::Result<&'a StoredDefinition> {
    let ids = || {
        deployed
            .iter()
            .map(|(_, d)| d.workflow.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match service {
        Some(id) => deployed
            .iter()
            .map(|(_, d)| d)
            .find(|d| d.workflow == id)
            .with_context(|| format!("--service {id} is none of the workflows given: {}", ids())),
        None if paths[0].is_file() => Ok(&deployed[0].1),
        None => bail!(
            "{} is a folder: name the workflow to file with --service (one of {})",
            paths[0].display(),
            ids()
        ),
    }
}

/// Serves the callback routes of `engine` on `listener`, checked with `secrets`.
pub(super) fn serve_callbacks(
    engine: &Arc<Engine>,
    secrets: BTreeMap<String, String>,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<()> {
    // Only the callback routes are of use here; the API's tokens get a throwaway key.
    let key: [u8; 32] = rand::random();
    let keys = daftar_api::auth::Keys::hs256(&key, "daftar", "daftar-api")
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut config = daftar_api::Config::new(engine.clone(), keys);
    config.callback_secrets = secrets;
    let router = daftar_api::app(daftar_api::AppState::new(config));
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(())
}
