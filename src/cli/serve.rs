//! `daftar serve`: the HTTP API, the callback routes and the background workers of one node,
//! on the embedded SQLite store by default. With `--demo`, the agency simulator runs in the
//! same process and the example connectors point at it, so that a newcomer can file a request
//! and watch it go through inquiries, SMS and approval.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use daftar_api::auth::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, Keys};

use super::demo;
use daftar_definitions::Catalog;
use daftar_definitions::catalog::ConnectorKind;
use daftar_engine::connectors::Connectors;
use daftar_engine::connectors::http::HttpInquiries;
use daftar_engine::connectors::payments::HttpPayments;
use daftar_engine::connectors::sms::HttpSms;
use daftar_engine::runtime::Engine;
use daftar_engine::runtime::workers::{self, Pace};

/// The arguments of `daftar serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "DAFTAR_ADDR")]
    pub addr: SocketAddr,
    /// The store: an SQLite file (a path or `sqlite://FILE`) or a `postgres://` URL.
    #[arg(long, default_value = "daftar.db", env = "DAFTAR_DB")]
    pub db: String,
    /// A folder of workflow definitions (`*.yaml`) deployed at start; versions already
    /// deployed are left as they are. By default `examples/workflows`; with `--demo`, the
    /// example services built into the binary.
    #[arg(long, env = "DAFTAR_DEFINITIONS")]
    pub definitions: Option<PathBuf>,
    /// The connector catalog; by default the nearest `connectors.yaml` above the definitions.
    #[arg(long, env = "DAFTAR_CONNECTORS")]
    pub connectors: Option<PathBuf>,
    /// The agencies' calendars and document codes.
    #[command(flatten)]
    pub agencies: super::agencies::Agencies,
    /// Run the agency simulator in this process and point every connector at it.
    #[arg(long)]
    pub demo: bool,
    /// The HS256 secret tokens are signed with (at least 32 bytes). With `--demo` and no
    /// secret, a random one is made and tokens are printed at start.
    #[arg(long, env = "DAFTAR_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// An RS256 public key (PEM file) of an identity provider, instead of a secret.
    #[arg(long, env = "DAFTAR_JWT_PUBLIC_KEY", conflicts_with = "jwt_secret")]
    pub jwt_public_key: Option<PathBuf>,
    /// The issuer tokens must name.
    #[arg(long, default_value = DEFAULT_ISSUER, env = "DAFTAR_JWT_ISSUER")]
    pub jwt_issuer: String,
    /// The audience tokens must name.
    #[arg(long, default_value = DEFAULT_AUDIENCE, env = "DAFTAR_JWT_AUDIENCE")]
    pub jwt_audience: String,
    /// The longest a token may live (`exp - iat`); longer tokens are refused.
    #[arg(long, default_value = "24h", value_parser = humantime::parse_duration, env = "DAFTAR_JWT_MAX_LIFETIME")]
    pub jwt_max_lifetime: std::time::Duration,
    /// The secret agencies send with callbacks, for connectors that name no
    /// `callback_secret_env`. With `--demo` and none, a random one is shared with the
    /// simulator.
    #[arg(long, env = "DAFTAR_CALLBACK_TOKEN", hide_env_values = true)]
    pub callback_token: Option<String>,
    /// The URL agencies reach this server at, for their callbacks; by default
    /// `http://ADDR`.
    #[arg(long, env = "DAFTAR_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The port of the demo's simulator (0 picks a free one).
    #[arg(long, default_value_t = 8484)]
    pub demo_port: u16,
    /// Requests that send SMS an agency may file per minute.
    #[arg(long, default_value_t = 60_000)]
    pub rate_per_agency: u32,
    /// Requests that send SMS one citizen (a token's `sub`) may file per hour; officers' and
    /// admins' commands and repeats under an `Idempotency-Key` are not counted.
    #[arg(long, alias = "rate-per-recipient", default_value_t = 20)]
    pub rate_per_filer: u32,
    /// The agency's Ed25519 key that signs checkpoints of the log and the answers of document
    /// verification: a PKCS#8 PEM file
    /// (`openssl genpkey -algorithm ed25519 -out agency.pem`) or a 32-byte seed. With `--demo`
    /// and none, `demo-signing-key.pem` in the current folder (made if missing). Without one,
    /// no checkpoints are taken.
    #[arg(long, env = "DAFTAR_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
    /// The applicants' keyring: an SQLite file, kept apart from the store and its backups, of
    /// the keys each applicant's personal data is sealed with, so that erasing an applicant
    /// (`POST /api/v1/requests/{id}/erasure`) deletes their key. Without one, events are
    /// written in the clear and cannot be erased (docs/audit.md).
    #[arg(long, env = "DAFTAR_KEYRING")]
    pub keyring: Option<PathBuf>,
    /// The secret the desk's forms are protected with (their CSRF tokens): the same on every
    /// node behind one address, so that a form one node drew is taken by another and after a
    /// restart. At least 32 characters; without it, each process draws its own.
    #[arg(long, env = "DAFTAR_DESK_SECRET", hide_env_values = true, value_parser = desk_secret)]
    pub desk_secret: Option<String>,
    /// How often a checkpoint of every agency's new events is signed.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration, env = "DAFTAR_CHECKPOINT_INTERVAL")]
    pub checkpoint_interval: std::time::Duration,
}

/// The demo's signing key, made in the current folder if missing.
const DEMO_SIGNING_KEY: &str = "demo-signing-key.pem";

/// The key checkpoints are signed with, if any.
fn signing_key(args: &Args) -> anyhow::Result<Option<daftar_engine::audit::signing::SigningKey>> {
    use daftar_engine::audit::signing;
    let path = match (&args.signing_key, args.demo) {
        (Some(p), _) => p.clone(),
        (None, true) => {
            let p = PathBuf::from(DEMO_SIGNING_KEY);
            if !p.exists() {
                let (_, pem) = signing::new_signing_key_pem().map_err(|e| anyhow::anyhow!(e))?;
                std::fs::write(&p, pem).with_context(|| format!("cannot write {}", p.display()))?;
            }
            p
        }
        (None, false) => return Ok(None),
    };
    Ok(Some(
        signing::read_signing_key(&path).map_err(|e| anyhow::anyhow!(e))?,
    ))
}

/// Signs a checkpoint of every agency's new events every `every`, the first at once.
fn spawn_checkpoints(
    engine: Arc<Engine>,
    key: daftar_engine::audit::signing::SigningKey,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every.max(std::time::Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match daftar_engine::audit::checkpoint::take_all(engine.store(), &key).await {
                Ok(taken) => {
                    for c in taken {
                        tracing::info!(agency = %c.agency, size = c.size, root = %c.root, "checkpoint signed");
                    }
                }
                // Another node took it first, or the database is away: the next tick retries.
                Err(e) => tracing::warn!(error = %e, "no checkpoint this time"),
            }
        }
    })
}

/// Runs `daftar serve` until interrupted.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logging();
    super::runtime()?.block_on(serve(args))
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn desk_secret(s: &str) -> Result<String, String> {
    if s.len() < 32 {
        return Err("give at least 32 characters (for example `openssl rand -hex 32`)".to_owned());
    }
    Ok(s.to_owned())
}

/// A plain path is an SQLite file.
fn store_url(db: &str) -> String {
    if db.contains("://") || db.starts_with("sqlite:") {
        db.to_owned()
    } else {
        format!("sqlite://{db}")
    }
}

async fn serve(args: Args) -> anyhow::Result<ExitCode> {
    // Bind first: a taken port is the commonest reason not to start.
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
                "{} is taken: another daftar (or another program) listens there; stop it or pass --addr",
                args.addr
            ),
            _ => anyhow::anyhow!("cannot listen on {}: {e}", args.addr),
        })?;
    let addr = listener.local_addr()?;
    let public = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let public = public.trim_end_matches('/').to_owned();

    let agencies = args.agencies.load()?;
    let url = store_url(&args.db);
    let store = super::db::open(&url)
        .await
        .with_context(|| "is the database running and reachable? (--db, $DAFTAR_DB)")?;

    // The definitions: a folder, or with --demo and none named, the built-in examples.
    let definitions = match (&args.definitions, args.demo) {
        (Some(dir), _) => Definitions::Folder(dir.clone()),
        (None, true) => Definitions::BuiltIn,
        (None, false) => Definitions::Folder(PathBuf::from("examples/workflows")),
    };
    // The catalog, pointed at the in-process simulator with --demo.
    let catalog_path = match &definitions {
        Definitions::Folder(dir) => find_catalog(args.connectors.as_deref(), dir),
        Definitions::BuiltIn => args.connectors.clone(),
    };
    let mut catalog = match &catalog_path {
        Some(p) => Some(super::files::load_catalog(p)?),
        None => None,
    };
    let mut simulator = None;
    let mut callback_token = args.callback_token.clone();
    if args.demo {
        let sim = daftar_simulator::Simulator::new(
            daftar_simulator::Seed::from_yaml(demo::SEED).context("the demo's seed")?,
            daftar_simulator::Config::from_yaml(demo::CONFIG)
                .context("the demo's configuration")?,
        )?;
        let sim_listener = tokio::net::TcpListener::bind(("127.0.0.1", args.demo_port))
            .await
            .with_context(|| format!("the demo's simulator cannot listen on 127.0.0.1:{} (pass --demo-port 0 for a free port)", args.demo_port))?;
        let sim_url = format!("http://{}", sim_listener.local_addr()?);
        let token = callback_token
            .get_or_insert_with(|| hex(&rand::random::<[u8; 24]>()))
            .clone();
        sim.set_callback_token(Some(token));
        let catalog = catalog.get_or_insert_with(|| {
            daftar_definitions::load_catalog("connectors.yaml", daftar_simulator::CATALOG)
                .expect("the simulator's built-in catalog is valid")
        });
        point_at(catalog, &sim_url);
        tokio::spawn(daftar_simulator::serve(sim_listener, sim));
        simulator = Some(sim_url);
    }

    // The same secrets sign what daftar asks for (the agencies' callback tokens) and check
    // the callbacks.
    let callback_secrets = match &catalog {
        Some(c) => daftar_api::callback_secrets(c, callback_token.as_deref())
            .map_err(|e| anyhow::anyhow!("the connector catalog: {e}"))?,
        None => BTreeMap::new(),
    };
    let connectors = match &catalog {
        Some(catalog) => {
            let http = |e: String| anyhow::anyhow!("the connector catalog: {e}");
            Connectors {
                inquiries: Some(Arc::new(
                    HttpInquiries::new(catalog, Some(format!("{public}/callbacks/inquiries")))
                        .map_err(http)?
                        .with_callback_secrets(callback_secrets.clone()),
                )),
                notifier: Some(Arc::new(
                    HttpSms::new(catalog, Some(format!("{public}/callbacks/sms")))
                        .map_err(http)?
                        .with_callback_secrets(callback_secrets.clone()),
                )),
                payments: Some(Arc::new(
                    HttpPayments::new(catalog, Some(format!("{public}/callbacks/payments")))
                        .map_err(http)?
                        .with_callback_secrets(callback_secrets.clone()),
                )),
            }
        }
        None => {
            tracing::warn!(
                "no connector catalog: inquiries, SMS and payments wait until a node with one runs"
            );
            Connectors::default()
        }
    };
    let engine = Engine::open(store, connectors).await?;
    if let Some(keyring) = super::db::keyring(args.keyring.as_deref()).await? {
        engine.use_keyring(keyring);
    }
    let demo_codes = if args.demo { demo::DOCUMENT_CODES } else { &[] };
    agencies.apply(&engine, demo_codes)?;
    if let Some(c) = &catalog {
        engine.set_catalog(c.clone());
    }
    let sources = match &definitions {
        Definitions::Folder(dir) => read_folder(dir)?,
        Definitions::BuiltIn => demo::WORKFLOWS
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect(),
    };
    deploy_all(&engine, &sources).await?;

    let (keys, minted) = keys(&args)?;
    let keys = keys.with_max_lifetime(args.jwt_max_lifetime.as_secs());
    if callback_secrets.is_empty() && catalog.is_some() {
        tracing::warn!(
            "no callback secrets (set DAFTAR_CALLBACK_TOKEN or callback_secret_env): agencies' callbacks will be refused"
        );
    }
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    daftar_engine::metrics::describe();
    let limits = daftar_api::RateLimits {
        per_agency_per_minute: std::num::NonZeroU32::new(args.rate_per_agency)
            .context("--rate-per-agency must be at least 1")?,
        per_filer_per_hour: std::num::NonZeroU32::new(args.rate_per_filer)
            .context("--rate-per-filer must be at least 1")?,
    };
    let signing = signing_key(&args)?;
    let mut state = daftar_api::AppState::new(daftar_api::Config {
        engine: engine.clone(),
        keys: keys.clone(),
        catalog,
        callback_secrets,
        metrics: Some(metrics),
        limits,
    });
    let _loops = workers::spawn(engine.clone(), Pace::default());
    let _checkpoints = match signing {
        Some(key) => {
            state = state
                .with_checkpoint_key(key.verifying_key())
                .with_document_key(key.clone());
            Some(spawn_checkpoints(
                engine.clone(),
                key,
                args.checkpoint_interval,
            ))
        }
        None => {
            tracing::warn!(
                "no --signing-key: no checkpoints of the log and no document verifications are signed"
            );
            None
        }
    };

    println!("daftar serving on http://{addr}");
    eprintln!("  store:       {url}");
    match &definitions {
        Definitions::Folder(dir) => eprintln!("  definitions: {}", dir.display()),
        Definitions::BuiltIn => eprintln!("  definitions: the example services built in"),
    }
    eprintln!("  OpenAPI:     http://{addr}/openapi.json");
    if let Some(sim) = &simulator {
        println!("simulator on {sim} (its SMS log: {sim}/__sim/sms)");
    }
    if let Some(secret) = &minted {
        println!(
            "# the demo's token secret, for `daftar token`:\nexport DAFTAR_JWT_SECRET={secret}"
        );
    }
    let roles = demo::task_roles(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())));
    if args.demo && args.jwt_public_key.is_none() {
        let block = demo::tokens_block(&keys, &roles).map_err(|e| anyhow::anyhow!(e))?;
        println!("{block}");
    }
    // The desk signs demo visitors in with one click only where tokens can be minted.
    let desk = daftar_desk::router(daftar_desk::Config {
        api: state.clone(),
        demo: (args.demo && args.jwt_public_key.is_none()).then(|| daftar_desk::Demo {
            agency: demo::AGENCY.to_owned(),
            task_roles: roles,
        }),
        secure_cookies: public.starts_with("https://"),
        public_url: Some(public.clone()),
        form_secret: args.desk_secret.clone(),
    });
    eprintln!("  desk:        http://{addr}/");

    axum::serve(listener, daftar_api::app(state).merge(desk))
        .with_graceful_shutdown(shutdown())
        .await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Points every connector of the catalog at the simulator.
fn point_at(catalog: &mut Catalog, sim: &str) {
    for (name, c) in &mut catalog.connectors {
        c.base_url = Some(match c.kind {
            ConnectorKind::Inquiry => format!("{sim}/agencies/{name}"),
            ConnectorKind::Payment | ConnectorKind::Sms => sim.to_owned(),
        });
    }
}

fn find_catalog(explicit: Option<&Path>, definitions: &Path) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_owned());
    }
    let dir = std::fs::canonicalize(definitions).ok()?;
    dir.ancestors()
        .map(|d| d.join("connectors.yaml"))
        .find(|p| p.is_file())
}

/// Where the definitions deployed at start come from.
enum Definitions {
    Folder(PathBuf),
    BuiltIn,
}

/// Every `*.yaml` of a folder, as (file name, source), in name order.
fn read_folder(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    super::files::read_all(super::files::yaml_files(dir, "the definitions folder")?)
}

/// Deploys every definition, callees and callers alike; a version already deployed with the
/// same content is a no-op, with other content an error the operator must resolve.
async fn deploy_all(engine: &Engine, sources: &[(String, String)]) -> anyhow::Result<()> {
    for (name, source) in sources {
        let deployed = engine
            .deploy(name, source)
            .await
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        tracing::info!(
            workflow = %deployed.workflow,
            version = deployed.version,
            agency = %deployed.agency,
            "deployed"
        );
    }
    Ok(())
}

/// The token keys, and the secret made up for the demo (then it and tokens are printed).
fn keys(args: &Args) -> anyhow::Result<(Keys, Option<String>)> {
    let (issuer, audience) = (&args.jwt_issuer, &args.jwt_audience);
    if let Some(path) = &args.jwt_public_key {
        let pem = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        return Ok((
            Keys::rs256(&pem, issuer, audience).map_err(|e| anyhow::anyhow!(e))?,
            None,
        ));
    }
    match &args.jwt_secret {
        Some(secret) => Ok((
            Keys::hs256(secret.as_bytes(), issuer, audience).map_err(|e| anyhow::anyhow!(e))?,
            None,
        )),
        None if args.demo => {
            let secret = hex(&rand::random::<[u8; 32]>());
            Ok((
                Keys::hs256(secret.as_bytes(), issuer, audience).map_err(|e| anyhow::anyhow!(e))?,
                Some(secret),
            ))
        }
        None => bail!(
            "no token key: set DAFTAR_JWT_SECRET (32 bytes or more; `daftar token` signs with it) \
             or --jwt-public-key, or pass --demo"
        ),
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
