//! The connector contracts: how the runtime reaches other agencies, the SMS gateway and the
//! payment gateway. The HTTP implementations come with the connectors issue; the runtime only
//! knows these traits, and the engine's own tests use in-process implementations.

pub mod callback;
pub mod http;
pub mod payments;
pub mod scripted;
pub mod sms;

use std::collections::BTreeMap;

use async_trait::async_trait;

pub use http::BreakerState;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::core::{InquiryResult, PaymentRequestResult};
use crate::events::{InquiryEvidence, StreamId};

/// One inquiry attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct InquiryCall {
    /// The instance asking.
    pub stream: StreamId,
    /// The connector, by name.
    pub connector: String,
    /// The operation.
    pub operation: String,
    /// The request body.
    pub request: Value,
    /// Stable across the retries of one step visit; the agency drops duplicates by it.
    pub idempotency_key: String,
    /// The attempt, from 1.
    pub attempt: u32,
}

/// An agency's answer as an inquiry's outcome keeps it: the answer with the SHA-256 of its
/// bytes as they came (`body`), the agency's own time when it gave one, and the latency.
pub fn answered(
    response: Value,
    body: &[u8],
    agency_time: Option<String>,
    latency_ms: u64,
) -> InquiryResult {
    let sha256 = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    InquiryResult::Answered {
        evidence: InquiryEvidence {
            agency_time,
            response,
            sha256,
            latency_ms,
        },
    }
}

/// Asks other agencies.
#[async_trait]
pub trait Inquiries: Send + Sync + std::fmt::Debug {
    /// Performs one attempt. A timeout is [`InquiryResult::Unknown`], never a failure.
    async fn inquire(&self, call: &InquiryCall) -> InquiryResult;

    /// The state of each connector's circuit breaker (none for connectors without one).
    fn breakers(&self) -> BTreeMap<String, BreakerState> {
        BTreeMap::new()
    }
}

/// One SMS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sms {
    /// The instance it is about (its agency routes the delivery report back).
    pub stream: StreamId,
    /// The reference the gateway uses to drop duplicates.
    pub reference: String,
    /// The mobile number.
    pub recipient: String,
    /// The text.
    pub text: String,
}

/// What came of sending an SMS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// The gateway accepted it.
    Sent { gateway_id: Option<String> },
    /// The gateway refused it.
    Refused { reason: String },
    /// No answer: it may or may not have been accepted.
    Unknown,
}

/// Sends SMS.
#[async_trait]
pub trait Notifier: Send + Sync + std::fmt::Debug {
    /// Sends one SMS with its reference.
    async fn send(&self, sms: &Sms) -> SendOutcome;
    /// Asks the gateway what became of a reference, to reconcile an unknown outcome.
    async fn lookup(&self, reference: &str) -> SendOutcome;

    /// The state of the gateway's circuit breaker, by connector.
    fn breakers(&self) -> BTreeMap<String, BreakerState> {
        BTreeMap::new()
    }
}

/// One payment request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentCall {
    /// The instance.
    pub stream: StreamId,
    /// The gateway connector.
    pub connector: String,
    /// Rials.
    pub amount: i64,
    /// Stable across retries.
    pub idempotency_key: String,
    /// The attempt.
    pub attempt: u32,
}

/// Requests payments.
#[async_trait]
pub trait Payments: Send + Sync + std::fmt::Debug {
    /// Opens a payment for the applicant.
    async fn request(&self, call: &PaymentCall) -> PaymentRequestResult;

    /// The state of each gateway's circuit breaker.
    fn breakers(&self) -> BTreeMap<String, BreakerState> {
        BTreeMap::new()
    }
}

impl Connectors {
    /// Whether this node can perform a job of `kind` (it has the connector for it).
    pub fn performs(&self, kind: crate::store::JobKind) -> bool {
        use crate::store::JobKind;
        match kind {
            JobKind::Inquiry => self.inquiries.is_some(),
            JobKind::Payment => self.payments.is_some(),
            JobKind::Notification => self.notifier.is_some(),
            JobKind::Call => true,
        }
    }

    /// The state of every circuit breaker of this node's connectors, by connector name.
    pub fn breakers(&self) -> BTreeMap<String, BreakerState> {
        let mut all = BTreeMap::new();
        if let Some(i) = &self.inquiries {
            all.extend(i.breakers());
        }
        if let Some(n) = &self.notifier {
            all.extend(n.breakers());
        }
        if let Some(p) = &self.payments {
            all.extend(p.breakers());
        }
        all
    }
}

/// The connectors a node runs with; a missing one leaves its jobs for another node.
#[derive(Clone, Debug, Default)]
pub struct Connectors {
    /// Inquiries.
    pub inquiries: Option<std::sync::Arc<dyn Inquiries>>,
    /// SMS.
    pub notifier: Option<std::sync::Arc<dyn Notifier>>,
    /// Payments.
    pub payments: Option<std::sync::Arc<dyn Payments>>,
}
