//! What every handler shares: the engine, the token keys, the connector catalog (for
//! validation and callback secrets), the metrics recorder and the rate limits.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::FromRef;
use daftar_definitions::catalog::Catalog;
use daftar_engine::runtime::Engine;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::Keys;

/// How many requests that cause SMS may be filed, per agency and per filer. The one charged is
/// the one who causes the SMS: a citizen filing (by the token's `sub`), never the applicant
/// whose mobile number a filing names (anyone could spend that budget and lock the applicant
/// out), never an officer's or admin's command, never a repeat under the same
/// `Idempotency-Key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Per agency, per minute: every filing.
    pub per_agency_per_minute: NonZeroU32,
    /// Per citizen filer (the token's `sub`), per hour.
    pub per_filer_per_hour: NonZeroU32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_agency_per_minute: NonZeroU32::new(60_000).expect("non-zero"),
            per_filer_per_hour: NonZeroU32::new(20).expect("non-zero"),
        }
    }
}

/// The shared state; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Arc<Engine>,
    keys: Arc<Keys>,
    catalog: Option<Catalog>,
    callback_secrets: BTreeMap<String, String>,
    metrics: Option<PrometheusHandle>,
    per_agency: DefaultKeyedRateLimiter<String>,
    per_filer: DefaultKeyedRateLimiter<String>,
    checkpoint_key: Option<daftar_engine::audit::signing::VerifyingKey>,
    document_key: Option<daftar_engine::audit::signing::SigningKey>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("keys", &self.keys)
            .field("callback_secrets", &self.callback_secrets.keys())
            .finish_non_exhaustive()
    }
}

/// How to build an [`AppState`].
#[derive(Debug)]
pub struct Config {
    /// The engine.
    pub engine: Arc<Engine>,
    /// How tokens are checked.
    pub keys: Keys,
    /// The connector catalog definitions are validated against.
    pub catalog: Option<Catalog>,
    /// The secret each connector's callbacks must carry, by connector name.
    pub callback_secrets: BTreeMap<String, String>,
    /// The Prometheus recorder whose metrics `/metrics` renders.
    pub metrics: Option<PrometheusHandle>,
    /// Rate limits of the endpoints that cause SMS.
    pub limits: RateLimits,
}

impl Config {
    /// A configuration with no catalog, no callback secrets, no metrics and the default rate
    /// limits.
    pub fn new(engine: Arc<Engine>, keys: Keys) -> Config {
        Config {
            engine,
            keys,
            catalog: None,
            callback_secrets: BTreeMap::new(),
            metrics: None,
            limits: RateLimits::default(),
        }
    }
}

/// The callback secret of each connector of `catalog`: the value of its
/// `callback_secret_env`, else `default` (`$DAFTAR_CALLBACK_TOKEN`). A connector that names a
/// variable that is not set is an error; one with neither accepts no callbacks.
pub fn callback_secrets(
    catalog: &Catalog,
    default: Option<&str>,
) -> Result<BTreeMap<String, String>, String> {
    let mut secrets = BTreeMap::new();
    for (name, c) in &catalog.connectors {
        let secret = match &c.callback_secret_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                format!("connector `{name}`: its callback secret variable ${var} is not set")
            })?),
            None => default.map(str::to_owned),
        };
        if let Some(secret) = secret.filter(|s| !s.is_empty()) {
            secrets.insert(name.clone(), secret);
        }
    }
    Ok(secrets)
}

/// What the [`crate::auth::Principal`] extractor checks tokens with.
impl FromRef<AppState> for Arc<Keys> {
    fn from_ref(state: &AppState) -> Arc<Keys> {
        state.inner.keys.clone()
    }
}

impl AppState {
    /// The state of a server.
    pub fn new(config: Config) -> AppState {
        let minute = Quota::per_minute(config.limits.per_agency_per_minute);
        let hour = Quota::per_hour(config.limits.per_filer_per_hour);
        AppState {
            inner: Arc::new(Inner {
                engine: config.engine,
                keys: Arc::new(config.keys),
                catalog: config.catalog,
                callback_secrets: config.callback_secrets,
                metrics: config.metrics,
                per_agency: RateLimiter::keyed(minute),
                per_filer: RateLimiter::keyed(hour),
                checkpoint_key: None,
                document_key: None,
            }),
        }
    }

    /// The state with the public key that checkpoints are signed with (published at
    /// `/api/v1/checkpoints/key`). Called before the state is shared.
    pub fn with_checkpoint_key(
        mut self,
        key: daftar_engine::audit::signing::VerifyingKey,
    ) -> AppState {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.checkpoint_key = Some(key),
            None => tracing::error!("the checkpoint key is set after the state was shared"),
        }
        self
    }

    /// The state with the agency's key that signs the answers of document verification.
    /// Called before the state is shared.
    pub fn with_document_key(mut self, key: daftar_engine::audit::signing::SigningKey) -> AppState {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.document_key = Some(key),
            None => tracing::error!("the document key is set after the state was shared"),
        }
        self
    }

    /// The key document verifications are signed with, if the server signs them.
    pub fn document_key(&self) -> Option<&daftar_engine::audit::signing::SigningKey> {
        self.inner.document_key.as_ref()
    }

    /// The public key checkpoints are signed with, if the server signs them.
    pub fn checkpoint_key(&self) -> Option<&daftar_engine::audit::signing::VerifyingKey> {
        self.inner.checkpoint_key.as_ref()
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.inner.engine
    }

    /// The token keys.
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// The connector catalog, if the server has one.
    pub fn catalog(&self) -> Option<&Catalog> {
        self.inner.catalog.as_ref()
    }

    /// The secret a connector's callbacks must carry.
    pub fn callback_secret(&self, connector: &str) -> Option<&str> {
        self.inner
            .callback_secrets
            .get(connector)
            .map(String::as_str)
    }

    /// The Prometheus recorder.
    pub fn metrics(&self) -> Option<&PrometheusHandle> {
        self.inner.metrics.as_ref()
    }

    /// Takes one unit of the agency's SMS budget and, for a citizen's filing, the filer's;
    /// false when either is spent.
    pub fn allow_sms(&self, agency: &str, filer: Option<&str>) -> bool {
        if self.inner.per_agency.check_key(&agency.to_owned()).is_err() {
            return false;
        }
        match filer {
            Some(f) => self
                .inner
                .per_filer
                .check_key(&format!("{agency}\u{0}{f}"))
                .is_ok(),
            None => true,
        }
    }
}
