//! Inquiries over HTTP, as the connector catalog describes each agency's service.
//!
//! One attempt is one request: `POST {base_url}{path}` (or `GET` with the request as query)
//! with the step's input mapping as the JSON body and the step visit's `Idempotency-Key`, under
//! the connector's timeout and concurrency limit. The answer is read up to [`MAX_BODY`] bytes
//! and must be a JSON object; the outcome event keeps it with its SHA-256, the agency's own
//! `timestamp` when it sends one, and the latency. A timeout is an *unknown* outcome (the agency
//! may have acted), never a failure; 5xx, connection errors and malformed answers are transient;
//! 4xx is a refusal. Each connector has a circuit breaker whose state is visible.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use daftar_definitions::catalog::{Auth, Catalog, Connector, HttpMethod};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::callback::{Kind, Signer};
use super::{Inquiries, InquiryCall};
use crate::core::InquiryResult;

/// The largest answer read; a longer one is refused as malformed.
pub const MAX_BODY: usize = 1024 * 1024;

/// A new HTTP client, built the one way every HTTP connector builds it.
pub(crate) fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// A connector's timeout when the catalog gives none.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// The state of a circuit breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls fail at once until the given time has passed.
    Open,
    /// One trial call is let through.
    HalfOpen,
}

#[derive(Debug)]
pub(crate) struct Breaker {
    pub(crate) threshold: u32,
    pub(crate) open_for: Duration,
    pub(crate) inner: Mutex<BreakerInner>,
}

#[derive(Debug, Default)]
pub(crate) struct BreakerInner {
    failures: u32,
    open_until: Option<Instant>,
    trial: bool,
}

impl Breaker {
    pub(crate) fn state(&self) -> BreakerState {
        let inner = self.inner.lock().expect("lock");
        match inner.open_until {
            Some(until) if Instant::now() < until => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
            None => BreakerState::Closed,
        }
    }

    /// Whether a call may go through now.
    pub(crate) fn admit(&self) -> bool {
        let mut inner = self.inner.lock().expect("lock");
        match inner.open_until {
            None => true,
            Some(until) if Instant::now() < until => false,
            // Half open: one trial at a time.
            Some(_) if inner.trial => false,
            Some(_) => {
                inner.trial = true;
                true
            }
        }
    }

    pub(crate) fn success(&self) {
        *self.inner.lock().expect("lock") = BreakerInner::default();
    }

    pub(crate) fn failure(&self) {
        let mut inner = self.inner.lock().expect("lock");
        inner.failures += 1;
        inner.trial = false;
        if inner.failures >= self.threshold {
            inner.open_until = Some(Instant::now() + self.open_for);
        }
    }
}

#[derive(Debug)]
struct Service {
    connector: Connector,
    base_url: String,
    limit: Semaphore,
    breaker: Option<Breaker>,
}

/// Inquiries over HTTP to every connector of a catalog that has a `base_url`.
#[derive(Debug)]
pub struct HttpInquiries {
    client: reqwest::Client,
    services: BTreeMap<String, Arc<Service>>,
    callbacks: Signer,
}

impl HttpInquiries {
    /// Prepares the services of a catalog. `callback_base` is daftar's own URL that agencies
    /// answering later call back (`{callback_base}/{agency}/{connector}`, with the inquiry's
    /// `Idempotency-Key` and the `X-Callback-Token` of [`HttpInquiries::with_callback_secrets`]);
    /// without it, callback operations cannot be asked.
    pub fn new(catalog: &Catalog, callback_base: Option<String>) -> Result<Self, String> {
        let client = client()?;
        let mut services = BTreeMap::new();
        for (name, c) in &catalog.connectors {
            let Some(raw) = &c.base_url else { continue };
            let base_url = shellexpand::env(raw)
                .map_err(|e| format!("connector {name}: base_url: {e}"))?
                .trim_end_matches('/')
                .to_owned();
            let breaker = c.circuit_breaker.as_ref().map(|b| Breaker {
                threshold: b.failures,
                open_for: b.open_for.get(),
                inner: Mutex::new(BreakerInner::default()),
            });
            services.insert(
                name.clone(),
                Arc::new(Service {
                    connector: c.clone(),
                    base_url,
                    limit: Semaphore::new(c.max_concurrency.unwrap_or(64) as usize),
                    breaker,
                }),
            );
        }
        Ok(HttpInquiries {
            client,
            services,
            callbacks: Signer::new(callback_base),
        })
    }

    /// Signs the callback requests with each connector's callback secret (by connector name):
    /// the agency must bring the token back ([`super::callback`]).
    pub fn with_callback_secrets(mut self, secrets: BTreeMap<String, String>) -> Self {
        self.callbacks = self.callbacks.with_secrets(secrets);
        self
    }

    /// Every connector's circuit state, for operators and metrics.
    pub fn breakers(&self) -> BTreeMap<String, BreakerState> {
        self.services
            .iter()
            .filter_map(|(name, s)| s.breaker.as_ref().map(|b| (name.clone(), b.state())))
            .collect()
    }
}

#[async_trait]
impl Inquiries for HttpInquiries {
    fn breakers(&self) -> BTreeMap<String, BreakerState> {
        HttpInquiries::breakers(self)
    }

    async fn inquire(&self, call: &InquiryCall) -> InquiryResult {
        let Some(service) = self.services.get(&call.connector) else {
            return InquiryResult::Refused {
                reason: format!(
                    "connector `{}` has no base_url in the catalog",
                    call.connector
                ),
            };
        };
        let Some(op) = service.connector.operations.get(&call.operation) else {
            return InquiryResult::Refused {
                reason: format!(
                    "connector `{}` has no operation `{}`",
                    call.connector, call.operation
                ),
            };
        };
        if let Some(b) = &service.breaker
            && !b.admit()
        {
            return InquiryResult::Transient {
                reason: format!(
                    "the circuit of `{}` is open after repeated failures",
                    call.connector
                ),
            };
        }
        let Ok(_permit) = service.limit.acquire().await else {
            return InquiryResult::Transient {
                reason: "the connector is shutting down".to_owned(),
            };
        };
        let path = op
            .path
            .clone()
            .unwrap_or_else(|| format!("/{}", call.operation));
        let url = format!("{}{path}", service.base_url);
        let timeout = service
            .connector
            .timeout
            .map_or(DEFAULT_TIMEOUT, |d| d.get());
        let mut request = match op.method.unwrap_or(HttpMethod::Post) {
            HttpMethod::Post => self.client.post(&url).json(&call.request),
            HttpMethod::Get => match reqwest::Url::parse_with_params(&url, query(&call.request)) {
                Ok(url) => self.client.get(url),
                Err(e) => {
                    return InquiryResult::Refused {
                        reason: format!("`{url}` is not a URL: {e}"),
                    };
                }
            },
        }
        .timeout(timeout)
        .header("Idempotency-Key", &call.idempotency_key);
        if op.callback {
            request = self.callbacks.headers(
                request,
                Kind::Inquiry,
                &call.stream.agency,
                &call.connector,
                &call.idempotency_key,
            );
        }
        request = match authenticate(request, service.connector.auth.as_ref()) {
            Ok(r) => r,
            Err(reason) => return InquiryResult::Refused { reason },
        };
        let started = Instant::now();
        let result = send(request, started).await;
        if let Some(b) = &service.breaker {
            match &result {
                InquiryResult::Transient { .. } | InquiryResult::Unknown => b.failure(),
                _ => b.success(),
            }
        }
        result
    }
}

async fn send(request: reqwest::RequestBuilder, started: Instant) -> InquiryResult {
    let (status, body) = match exchange(request).await {
        Ok(answer) => answer,
        Err(Unread::TimedOut) => return InquiryResult::Unknown,
        Err(unread) => {
            return InquiryResult::Transient {
                reason: unread.reason("the agency"),
            };
        }
    };
    if status.is_server_error() {
        return InquiryResult::Transient {
            reason: format!("the agency answered {status}"),
        };
    }
    if status.is_client_error() {
        let text = String::from_utf8_lossy(&body);
        let snippet: String = text.chars().take(200).collect();
        return InquiryResult::Refused {
            reason: format!("the agency answered {status}: {snippet}"),
        };
    }
    if status == reqwest::StatusCode::ACCEPTED {
        return InquiryResult::Acknowledged;
    }
    let response: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return InquiryResult::Transient {
                reason: "the answer is not a JSON object".to_owned(),
            };
        }
    };
    let agency_time = response
        .get("timestamp")
        .and_then(Value::as_str)
        .map(str::to_owned);
    super::answered(
        response,
        &body,
        agency_time,
        started.elapsed().as_millis() as u64,
    )
}

/// Why an answer could not be had whole.
#[derive(Debug)]
pub(crate) enum Unread {
    /// No answer in time: the other side may have acted.
    TimedOut,
    /// The other side could not be reached.
    Unreachable(reqwest::Error),
    /// The answer was larger than [`MAX_BODY`].
    TooLarge,
    /// The answer broke off.
    BrokenOff(reqwest::Error),
}

impl Unread {
    /// The reason to record, `whom` naming the other side.
    pub(crate) fn reason(&self, whom: &str) -> String {
        match self {
            Unread::TimedOut => format!("{whom} did not answer in time"),
            Unread::Unreachable(e) => format!("{whom} could not be reached: {e}"),
            Unread::TooLarge => format!("the answer is larger than {MAX_BODY} bytes"),
            Unread::BrokenOff(e) => format!("the answer broke off: {e}"),
        }
    }
}

/// Sends `request` and reads its answer whole, up to [`MAX_BODY`] bytes.
pub(crate) async fn exchange(
    request: reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, Vec<u8>), Unread> {
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Err(Unread::TimedOut),
        Err(e) => return Err(Unread::Unreachable(e)),
    };
    let status = response.status();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(Unread::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok((status, body)),
            Err(e) if e.is_timeout() => return Err(Unread::TimedOut),
            Err(e) => return Err(Unread::BrokenOff(e)),
        }
    }
}

/// The request's fields as a URL query (scalars as text).
fn query(request: &Value) -> Vec<(String, String)> {
    request
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn authenticate(
    request: reqwest::RequestBuilder,
    auth: Option<&Auth>,
) -> Result<reqwest::RequestBuilder, String> {
    let var = |name: &str| {
        std::env::var(name)
            .map_err(|_| format!("the secret `{name}` is not set in the environment"))
    };
    Ok(match auth {
        None => request,
        Some(Auth::Bearer { token_env }) => request.bearer_auth(var(token_env)?),
        Some(Auth::Basic {
            user_env,
            password_env,
        }) => request.basic_auth(var(user_env)?, Some(var(password_env)?)),
        Some(Auth::ApiKey { header, value_env }) => {
            request.header(header.as_str(), var(value_env)?)
        }
    })
}
