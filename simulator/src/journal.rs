//! What the simulator has seen and done: every request received, every effect (an answer
//! recorded under its idempotency key), every callback delivery, SMS and payment.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

/// One request received.
#[derive(Clone, Debug, Serialize)]
pub struct RequestRecord {
    pub seq: u64,
    pub at: String,
    pub method: String,
    pub path: String,
    pub connector: Option<String>,
    pub operation: Option<String>,
    pub idempotency_key: Option<String>,
    pub body: Value,
    /// The status returned; `null` while the answer is still pending (a hang).
    pub status: Option<u16>,
    /// The fault injected, if any: `error`, `timeout`, `malformed`.
    pub fault: Option<&'static str>,
    /// Whether the answer was replayed from an earlier request with the same key.
    pub replayed: bool,
}

/// An answer recorded once under its idempotency key.
#[derive(Clone, Debug, Serialize)]
pub struct Effect {
    pub connector: String,
    pub operation: String,
    pub idempotency_key: String,
    pub status: u16,
    pub answer: Value,
    /// For callback operations: `pending`, `delivered`, `failed` or `withheld`.
    pub callback: Option<String>,
}

/// One attempt series to post a callback.
#[derive(Clone, Debug, Serialize)]
pub struct CallbackRecord {
    pub url: String,
    pub idempotency_key: String,
    pub body: Value,
    pub attempts: u32,
    pub delivered: bool,
}

/// An SMS accepted by the gateway.
#[derive(Clone, Debug, Serialize)]
pub struct Sms {
    pub message_id: String,
    pub client_reference: String,
    pub mobile: String,
    pub text: String,
    pub accepted_at: String,
    #[serde(skip)]
    pub delivered_at: std::time::Instant,
}

/// A payment requested at the gateway.
#[derive(Clone, Debug, Serialize)]
pub struct Payment {
    pub payment_id: String,
    pub reference: String,
    pub amount: u64,
    pub description: Option<String>,
    pub callback_url: String,
    /// `pending`, then `paid` or `failed` once the callback is posted; stays `pending` for a
    /// payer who never pays.
    pub status: String,
    pub result: Option<Value>,
}

/// The journal.
#[derive(Debug, Default)]
pub struct Journal {
    pub requests: Vec<RequestRecord>,
    pub effects: Vec<Effect>,
    pub effect_index: HashMap<(String, String, String), usize>,
    pub callbacks: Vec<CallbackRecord>,
    pub sms: Vec<Sms>,
    pub sms_index: HashMap<String, usize>,
    pub payments: Vec<Payment>,
    pub payment_index: HashMap<String, usize>,
    /// Licence numbers already reminded.
    pub reminded: HashSet<String>,
    /// Greenhouse files opened: file number → application.
    pub files: HashMap<String, Value>,
    /// The national follow-up system's settings and what it received.
    pub followup: crate::followup::Followup,
    counter: u64,
}

impl Journal {
    /// The next number of a sequence shared by every generated identifier.
    pub fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// Records a request and returns its index.
    pub fn record(&mut self, mut r: RequestRecord) -> usize {
        r.seq = self.requests.len() as u64 + 1;
        self.requests.push(r);
        self.requests.len() - 1
    }

    /// Sets what a recorded request was answered.
    pub fn answered(
        &mut self,
        at: usize,
        status: u16,
        fault: Option<&'static str>,
        replayed: bool,
    ) {
        if let Some(r) = self.requests.get_mut(at) {
            r.status = Some(status);
            r.fault = fault;
            r.replayed = replayed;
        }
    }
}
