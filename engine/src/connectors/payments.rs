//! Payments over HTTP, through the catalog's `kind: payment` connectors.
//!
//! A request is `POST {base_url}/payments {"amount", "reference", "description"}` with the
//! payment step visit's idempotency key as `reference` (and as the `Idempotency-Key` header), and
//! `X-Callback-Url: {callback_base}/{agency}/{connector}` where the gateway posts the result,
//! with the `X-Callback-Token` it must bring back ([`super::callback`]).
//! The gateway drops a repeated `reference` (the same answer, no second payment), so a timeout or
//! a 5xx is *transient*: the retry opens the same payment. A 4xx is a refusal.
//!
//! The result comes later as the [`crate::core::PAYMENT`] message, correlated by the gateway's
//! reference. The gateway's callback carries `reference` (= our idempotency key) besides its own
//! `payment_id`, so [`PaymentRequestResult::Opened`] names the idempotency key as the reference:
//! that is what the callback handler reads to find the waiting payment.

use std::collections::BTreeMap;

use async_trait::async_trait;
use daftar_definitions::catalog::{Catalog, ConnectorKind};
use serde_json::{Value, json};

use super::callback::{Kind, Signer};
use super::http::BreakerState;
use super::sms::{Gateway, Reply, retryable, snippet};
use super::{PaymentCall, Payments};
use crate::core::PaymentRequestResult;

/// Payments through every `kind: payment` connector of a catalog that has a `base_url`.
#[derive(Debug)]
pub struct HttpPayments {
    gateways: BTreeMap<String, Gateway>,
    callbacks: Signer,
}

impl HttpPayments {
    /// Prepares the payment connectors of a catalog. `callback_base` is daftar's own URL that
    /// the gateway posts results to (`{callback_base}/{agency}/{connector}`); gateways that
    /// require a callback URL refuse payments without it.
    pub fn new(catalog: &Catalog, callback_base: Option<String>) -> Result<Self, String> {
        let client = super::http::client()?;
        let mut gateways = BTreeMap::new();
        for (name, c) in &catalog.connectors {
            if c.kind != ConnectorKind::Payment || c.base_url.is_none() {
                continue;
            }
            gateways.insert(name.clone(), Gateway::new(client.clone(), name, c)?);
        }
        Ok(HttpPayments {
            gateways,
            callbacks: Signer::new(callback_base),
        })
    }

    /// Signs the callback requests with each gateway's callback secret (by connector name):
    /// the gateway must bring the token back with its result ([`super::callback`]).
    pub fn with_callback_secrets(mut self, secrets: BTreeMap<String, String>) -> Self {
        self.callbacks = self.callbacks.with_secrets(secrets);
        self
    }
}

#[async_trait]
impl Payments for HttpPayments {
    /// Every gateway's circuit state, for operators and metrics.
    fn breakers(&self) -> BTreeMap<String, BreakerState> {
        self.gateways
            .iter()
            .filter_map(|(name, g)| g.breaker().map(|s| (name.clone(), s)))
            .collect()
    }

    async fn request(&self, call: &PaymentCall) -> PaymentRequestResult {
        let Some(gateway) = self.gateways.get(&call.connector) else {
            return PaymentRequestResult::Refused {
                reason: format!(
                    "payment connector `{}` has no base_url in the catalog",
                    call.connector
                ),
            };
        };
        if call.amount <= 0 {
            return PaymentRequestResult::Refused {
                reason: format!("the amount {} is not positive", call.amount),
            };
        }
        let body = json!({
            "amount": call.amount,
            "reference": call.idempotency_key,
            "description": format!("{} {}", call.stream.agency, call.stream.instance),
        });
        let mut request = match gateway.post(&["payments"], &call.idempotency_key, &body) {
            Ok(request) => request,
            Err(reason) => return PaymentRequestResult::Refused { reason },
        };
        request = self.callbacks.headers(
            request,
            Kind::Payment,
            &call.stream.agency,
            &call.connector,
            &call.idempotency_key,
        );
        match gateway.call(request).await {
            Reply::Answer { status, body } if status.is_success() => {
                match serde_json::from_slice::<Value>(&body) {
                    Ok(answer @ Value::Object(_)) => PaymentRequestResult::Opened {
                        reference: call.idempotency_key.clone(),
                        url: answer.get("url").and_then(Value::as_str).map(str::to_owned),
                    },
                    // Opened or not, a retry under the same reference gets the same answer.
                    _ => PaymentRequestResult::Transient {
                        reason: "the gateway's answer is not a JSON object".to_owned(),
                    },
                }
            }
            Reply::Answer { status, body } if status.is_client_error() && !retryable(status) => {
                PaymentRequestResult::Refused {
                    reason: snippet(status, &body),
                }
            }
            Reply::Answer { status, .. } => PaymentRequestResult::Transient {
                reason: format!("the gateway answered {status}"),
            },
            Reply::TimedOut => PaymentRequestResult::Transient {
                reason: "the gateway did not answer in time".to_owned(),
            },
            Reply::Broken(reason) => PaymentRequestResult::Transient { reason },
            Reply::CircuitOpen => PaymentRequestResult::Transient {
                reason: format!(
                    "the circuit of `{}` is open after repeated failures",
                    call.connector
                ),
            },
            Reply::Misconfigured(reason) => PaymentRequestResult::Refused { reason },
        }
    }
}
