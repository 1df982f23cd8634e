//! SMS over HTTP, through the catalog's `kind: sms` connector (the government SMS centre).
//!
//! `send` is `POST {base_url}/sms/send {"mobile", "text", "client_reference"}`; the gateway drops
//! a repeated `client_reference`, so a resend after an unknown outcome cannot send twice.
//! `lookup` is `GET {base_url}/sms/status/{client_reference}`, which the runtime asks before
//! sending again on a repeated lease. A timeout, a 5xx or a connection error is an *unknown*
//! outcome (the gateway may have taken the SMS): the runtime keeps the job and reconciles by
//! lookup. A 4xx is a refusal. The connector's timeout, concurrency limit, circuit breaker and
//! authentication come from the catalog, as for inquiries.
//!
//! [`Gateway`] is the plumbing shared with the payment gateway connector.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use daftar_definitions::catalog::{Auth, Catalog, Connector, ConnectorKind};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::callback::{Kind, Signer};
use super::http::{
    Breaker, BreakerInner, BreakerState, DEFAULT_TIMEOUT, Unread, authenticate, exchange,
};
use super::{Notifier, SendOutcome, Sms};

/// One gateway service of the catalog: its URL, limits, breaker and authentication.
#[derive(Debug)]
pub(crate) struct Gateway {
    /// The connector's name.
    pub(crate) name: String,
    client: reqwest::Client,
    /// `base_url` with the environment read and no trailing `/`.
    pub(crate) base_url: String,
    auth: Option<Auth>,
    timeout: Duration,
    limit: Semaphore,
    breaker: Option<Breaker>,
}

/// What came of one call to a gateway.
#[derive(Debug)]
pub(crate) enum Reply {
    /// An answer, read whole.
    Answer { status: StatusCode, body: Vec<u8> },
    /// No answer in time: the gateway may have acted.
    TimedOut,
    /// Not reached, or the answer broke off or was too large.
    Broken(String),
    /// The circuit is open: nothing was sent.
    CircuitOpen,
    /// Daftar cannot make the call (a secret is missing, the URL is bad): nothing was sent.
    Misconfigured(String),
}

impl Gateway {
    pub(crate) fn new(
        client: reqwest::Client,
        name: &str,
        connector: &Connector,
    ) -> Result<Self, String> {
        let raw = connector
            .base_url
            .as_ref()
            .ok_or_else(|| format!("connector {name} has no base_url in the catalog"))?;
        let base_url = shellexpand::env(raw)
            .map_err(|e| format!("connector {name}: base_url: {e}"))?
            .trim_end_matches('/')
            .to_owned();
        Ok(Gateway {
            name: name.to_owned(),
            client,
            base_url,
            auth: connector.auth.clone(),
            timeout: connector.timeout.map_or(DEFAULT_TIMEOUT, |d| d.get()),
            limit: Semaphore::new(connector.max_concurrency.unwrap_or(64) as usize),
            breaker: connector.circuit_breaker.as_ref().map(|b| Breaker {
                threshold: b.failures,
                open_for: b.open_for.get(),
                inner: Mutex::new(BreakerInner::default()),
            }),
        })
    }

    /// The circuit's state, when the connector has a breaker.
    pub(crate) fn breaker(&self) -> Option<BreakerState> {
        self.breaker.as_ref().map(Breaker::state)
    }

    /// `{base_url}` + the given path segments, each escaped.
    pub(crate) fn url(&self, segments: &[&str]) -> Result<reqwest::Url, String> {
        let mut url = reqwest::Url::parse(&self.base_url)
            .map_err(|e| format!("`{}` is not a URL: {e}", self.base_url))?;
        url.path_segments_mut()
            .map_err(|()| format!("`{}` cannot take a path", self.base_url))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// A `POST` of `body` as JSON to the path `segments`, under the `Idempotency-Key` `key`.
    pub(crate) fn post(
        &self,
        segments: &[&str],
        key: &str,
        body: &Value,
    ) -> Result<reqwest::RequestBuilder, String> {
        Ok(self
            .client
            .post(self.url(segments)?)
            .header("Idempotency-Key", key)
            .json(body))
    }

    /// Makes one call under the connector's authentication, breaker, limit and timeout.
    pub(crate) async fn call(&self, request: reqwest::RequestBuilder) -> Reply {
        // A missing secret sends nothing and says nothing about the gateway: before the breaker.
        let request = match authenticate(request.timeout(self.timeout), self.auth.as_ref()) {
            Ok(r) => r,
            Err(reason) => return Reply::Misconfigured(reason),
        };
        if let Some(b) = &self.breaker
            && !b.admit()
        {
            return Reply::CircuitOpen;
        }
        let reply = self.call_admitted(request).await;
        if let Some(b) = &self.breaker {
            match &reply {
                Reply::Answer { status, .. } if !status.is_server_error() => b.success(),
                _ => b.failure(),
            }
        }
        reply
    }

    async fn call_admitted(&self, request: reqwest::RequestBuilder) -> Reply {
        let Ok(_permit) = self.limit.acquire().await else {
            return Reply::Broken("the connector is shutting down".to_owned());
        };
        match exchange(request).await {
            Ok((status, body)) => Reply::Answer { status, body },
            Err(Unread::TimedOut) => Reply::TimedOut,
            Err(unread) => Reply::Broken(unread.reason(&format!("`{}`", self.name))),
        }
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// The start of a problem answer, for a refusal's reason.
pub(crate) fn snippet(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text: String = text.chars().take(200).collect();
    format!("the gateway answered {status}: {text}")
}

/// Statuses in the 4xx range that say "not now" rather than "never".
pub(crate) fn retryable(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT || status == StatusCode::TOO_MANY_REQUESTS
}

/// SMS through the catalog's SMS gateway.
#[derive(Debug)]
pub struct HttpSms {
    gateway: Gateway,
    callbacks: Signer,
}

impl HttpSms {
    /// Prepares the catalog's `kind: sms` connector (the first by name that has a `base_url`).
    /// With `callback_base`, the gateway is asked to POST delivery reports to
    /// `{callback_base}/{agency}/{connector}`.
    pub fn new(catalog: &Catalog, callback_base: Option<String>) -> Result<Self, String> {
        let (name, _) = catalog
            .connectors
            .iter()
            .find(|(_, c)| c.kind == ConnectorKind::Sms && c.base_url.is_some())
            .ok_or_else(|| "the catalog has no `kind: sms` connector with a base_url".to_owned())?;
        Self::for_connector(catalog, name, callback_base)
    }

    /// Prepares a named SMS connector of the catalog.
    pub fn for_connector(
        catalog: &Catalog,
        name: &str,
        callback_base: Option<String>,
    ) -> Result<Self, String> {
        let connector = catalog
            .connectors
            .get(name)
            .ok_or_else(|| format!("the catalog has no connector `{name}`"))?;
        if connector.kind != ConnectorKind::Sms {
            return Err(format!("connector `{name}` is not `kind: sms`"));
        }
        let client = super::http::client()?;
        Ok(HttpSms {
            gateway: Gateway::new(client, name, connector)?,
            callbacks: Signer::new(callback_base),
        })
    }

    /// Signs the delivery report requests with the connector's callback secret (by connector
    /// name): the gateway must bring the token back with its report ([`super::callback`]).
    pub fn with_callback_secrets(
        mut self,
        secrets: std::collections::BTreeMap<String, String>,
    ) -> Self {
        self.callbacks = self.callbacks.with_secrets(secrets);
        self
    }

    /// The connector's name.
    pub fn connector(&self) -> &str {
        &self.gateway.name
    }

    /// The circuit's state, when the connector has a breaker.
    pub fn breaker(&self) -> Option<BreakerState> {
        self.gateway.breaker()
    }
}

/// The gateway's id of the message, from an answer.
fn message_id(body: &[u8]) -> Option<String> {
    let answer: Value = serde_json::from_slice(body).ok()?;
    match answer.get("message_id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[async_trait]
impl Notifier for HttpSms {
    fn breakers(&self) -> std::collections::BTreeMap<String, BreakerState> {
        self.breaker()
            .map(|s| (self.connector().to_owned(), s))
            .into_iter()
            .collect()
    }

    async fn send(&self, sms: &Sms) -> SendOutcome {
        let body = json!({
            "mobile": sms.recipient,
            "text": sms.text,
            "client_reference": sms.reference,
        });
        let mut request = match self.gateway.post(&["sms", "send"], &sms.reference, &body) {
            Ok(request) => request,
            Err(reason) => return SendOutcome::Refused { reason },
        };
        request = self.callbacks.headers(
            request,
            Kind::Delivery,
            &sms.stream.agency,
            &self.gateway.name,
            &sms.reference,
        );
        match self.gateway.call(request).await {
            Reply::Answer { status, body } if status.is_success() => SendOutcome::Sent {
                gateway_id: message_id(&body),
            },
            Reply::Answer { status, body } if status.is_client_error() && !retryable(status) => {
                SendOutcome::Refused {
                    reason: snippet(status, &body),
                }
            }
            // Nothing was sent, but a missing secret is not the SMS's fault: keep the job.
            Reply::Misconfigured(reason) => {
                tracing::warn!(connector = %self.gateway.name, %reason, "SMS not sent");
                SendOutcome::Unknown
            }
            // A 5xx may or may not have been taken; a timeout too. Reconciled by lookup.
            _ => SendOutcome::Unknown,
        }
    }

    async fn lookup(&self, reference: &str) -> SendOutcome {
        let Ok(url) = self.gateway.url(&["sms", "status", reference]) else {
            return SendOutcome::Unknown;
        };
        let request = self.gateway.client().get(url);
        match self.gateway.call(request).await {
            Reply::Answer { status, body } if status.is_success() => {
                let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                match answer.get("status").and_then(Value::as_str) {
                    Some(s @ ("failed" | "rejected" | "undeliverable")) => SendOutcome::Refused {
                        reason: format!("the gateway reports the SMS {s}"),
                    },
                    _ => SendOutcome::Sent {
                        gateway_id: message_id(&body),
                    },
                }
            }
            // 404: never seen, so the runtime sends it. Anything else: still unknown.
            _ => SendOutcome::Unknown,
        }
    }
}
