//! `daftar simulate`: one HTTP process on 127.0.0.1 that plays every agency of the connector
//! catalog, the SMS centre and the payment gateway, from a seed of people and records, with
//! configurable faults. The HTTP contract is in `docs/simulator.md`.
//!
//! Start it in-process with [`serve`] on any listener; [`Simulator`] holds its state.

mod agencies;
pub mod config;
pub mod followup;
mod gateways;
mod inquiry;
mod journal;
pub mod seed;
mod server;
mod toolkit;

use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context as _;
use daftar_definitions::catalog::Catalog;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::de::DeserializeOwned;

pub use config::{Config, Faults, FaultsPatch, PaymentOutcome};
pub use seed::Seed;

use journal::Journal;

/// The connector catalog the simulator plays, built in from `examples/connectors.yaml`.
pub const CATALOG: &str = include_str!("../../examples/connectors.yaml");

/// The simulator's state; cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct Simulator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    catalog: Catalog,
    seed: Seed,
    initial: Config,
    config: Mutex<Config>,
    rng: Mutex<StdRng>,
    journal: Mutex<Journal>,
    base_url: Mutex<String>,
    callback_token: Mutex<Option<String>>,
    http: reqwest::Client,
}

impl Simulator {
    /// A simulator of the built-in catalog over `seed`, with `config`.
    pub fn new(seed: Seed, config: Config) -> anyhow::Result<Self> {
        Self::with_catalog(CATALOG, seed, config)
    }

    /// A simulator of the catalog in `catalog_yaml`.
    pub fn with_catalog(catalog_yaml: &str, seed: Seed, config: Config) -> anyhow::Result<Self> {
        let catalog = daftar_definitions::load_catalog("connectors.yaml", catalog_yaml)
            .map_err(|d| anyhow::anyhow!("the connector catalog is invalid: {:?}", d.first()))?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .context("building the callback client")?;
        Ok(Self {
            inner: Arc::new(Inner {
                catalog,
                seed,
                rng: Mutex::new(StdRng::seed_from_u64(config.rng_seed)),
                initial: config.clone(),
                config: Mutex::new(config),
                journal: Mutex::new(Journal::default()),
                base_url: Mutex::new("http://127.0.0.1".into()),
                callback_token: Mutex::new(None),
                http,
            }),
        })
    }

    /// Reads the seed and configuration files.
    pub fn from_files(seed: &std::path::Path, config: &std::path::Path) -> anyhow::Result<Self> {
        let seed_text = std::fs::read_to_string(seed)
            .with_context(|| format!("reading the seed {}", seed.display()))?;
        let config_text = std::fs::read_to_string(config)
            .with_context(|| format!("reading the configuration {}", config.display()))?;
        let seed = Seed::from_yaml(&seed_text).with_context(|| seed.display().to_string())?;
        let config =
            Config::from_yaml(&config_text).with_context(|| config.display().to_string())?;
        Self::new(seed, config)
    }

    /// The seed it plays.
    pub fn seed(&self) -> &Seed {
        &self.inner.seed
    }

    /// The configuration in force.
    pub fn config(&self) -> Config {
        lock(&self.inner.config).clone()
    }

    /// The secret sent with every callback, as `Authorization: Bearer <token>` (daftar
    /// refuses callbacks without their connector's secret).
    pub fn set_callback_token(&self, token: Option<String>) {
        *lock(&self.inner.callback_token) = token;
    }

    pub(crate) fn callback_token(&self) -> Option<String> {
        lock(&self.inner.callback_token).clone()
    }

    /// Replaces the configuration; a changed `rng_seed` restarts the random sequence.
    pub fn set_config(&self, config: Config) {
        let mut current = lock(&self.inner.config);
        if current.rng_seed != config.rng_seed {
            *lock(&self.inner.rng) = StdRng::seed_from_u64(config.rng_seed);
        }
        *current = config;
    }

    /// Forgets every request, effect, SMS and payment and restores the start configuration.
    pub fn reset(&self) {
        *lock(&self.inner.journal) = Journal::default();
        *lock(&self.inner.config) = self.inner.initial.clone();
        *lock(&self.inner.rng) = StdRng::seed_from_u64(self.inner.initial.rng_seed);
    }

    fn journal(&self) -> MutexGuard<'_, Journal> {
        lock(&self.inner.journal)
    }

    fn base_url(&self) -> String {
        lock(&self.inner.base_url).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Serves the simulator on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, sim: Simulator) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        *lock(&sim.inner.base_url) = format!("http://{addr}");
    }
    axum::serve(listener, server::router(sim)).await
}

/// Reads YAML through the project's loader into `T`.
pub(crate) fn from_yaml<T: DeserializeOwned>(text: &str) -> anyhow::Result<T> {
    let limits = daftar_definitions::source::Limits {
        max_bytes: 16 << 20,
        ..Default::default()
    };
    let (doc, problems) = daftar_definitions::source::load(text, limits);
    if let Some(p) = problems.first() {
        anyhow::bail!("{}:{}: {}", p.location.line, p.location.column, p.message);
    }
    let doc = doc.context("empty YAML document")?;
    Ok(serde_json::from_value(doc.value)?)
}
