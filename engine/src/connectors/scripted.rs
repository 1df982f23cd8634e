//! Scripted connectors: answers written down in advance, for a designer trying a definition
//! with `daftar run --answers FILE` and for the engine's own tests. Nothing leaves the
//! process; the HTTP connectors are the real ones.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

use super::{Inquiries, InquiryCall, PaymentCall, Payments};
use crate::core::{InquiryResult, PaymentRequestResult};

/// Answers by `connector.operation` (inquiries) or `connector` (payments).
#[derive(Clone, Debug, Default)]
pub struct Scripted {
    answers: BTreeMap<String, Value>,
}

impl Scripted {
    /// Answers from a JSON object: `{"civil_registry.identity_match": {"alive": true}, ...}`.
    pub fn new(answers: BTreeMap<String, Value>) -> Self {
        Scripted { answers }
    }

    /// The payment result to deliver for a gateway: its scripted answer, or `paid`.
    pub fn payment_result(&self, connector: &str) -> Value {
        self.answers
            .get(connector)
            .cloned()
            .unwrap_or_else(|| serde_json::json!({"status": "paid"}))
    }
}

#[async_trait]
impl Inquiries for Scripted {
    async fn inquire(&self, call: &InquiryCall) -> InquiryResult {
        let key = format!("{}.{}", call.connector, call.operation);
        match self.answers.get(&key) {
            Some(response) => {
                let body = serde_json::to_vec(response).unwrap_or_default();
                super::answered(response.clone(), &body, None, 0)
            }
            None => InquiryResult::Refused {
                reason: format!("no scripted answer for {key}"),
            },
        }
    }
}

#[async_trait]
impl Payments for Scripted {
    async fn request(&self, call: &PaymentCall) -> PaymentRequestResult {
        PaymentRequestResult::Opened {
            reference: format!("pay-{}", call.idempotency_key.replace(':', "-")),
            url: None,
        }
    }
}
