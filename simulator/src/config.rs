//! The simulator's run-time configuration: per-agency faults (latency, 503s, hangs, garbled
//! answers), callback delays, the payment gateway's default outcome and the RNG seed.
//!
//! Read from YAML at start (`examples/simulator/config.yaml`), read and replaced as JSON at
//! `GET/PUT /__sim/config`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The faults and delays of one agency (a connector of the catalog, `sms_gateway` or
/// `payment_gateway`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every answer, in milliseconds.
    pub latency_ms: u64,
    /// A random extra delay of up to this many milliseconds.
    pub jitter_ms: u64,
    /// The fraction of requests answered `503` without being processed.
    pub error_rate: f64,
    /// The fraction of requests processed but answered only after `timeout_ms`.
    pub timeout_rate: f64,
    /// How long a "timed out" request hangs before it is answered.
    pub timeout_ms: u64,
    /// The fraction of requests processed but answered `200` with invalid JSON.
    pub malformed_rate: f64,
    /// How long a callback operation, a payment or an SMS delivery report waits before it is
    /// posted to the caller's `X-Callback-Url`.
    pub callback_delay_ms: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            jitter_ms: 0,
            error_rate: 0.0,
            timeout_rate: 0.0,
            timeout_ms: 60_000,
            malformed_rate: 0.0,
            callback_delay_ms: 500,
        }
    }
}

/// Per-agency changes to the defaults; a field left out keeps the default's value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultsPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub malformed_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_delay_ms: Option<u64>,
}

/// What the payment gateway reports for a payment the seed says nothing about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentOutcome {
    /// The payer pays the full amount.
    #[default]
    Paid,
    /// The bank declines the payment.
    Failed,
    /// The payer never pays: no callback is ever posted.
    Never,
}

/// The whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The seed of the random draws (faults, jitter), so a run can be reproduced. Changing it
    /// through `PUT /__sim/config` restarts the sequence.
    pub rng_seed: u64,
    /// The faults of every agency not named under `agencies`.
    pub defaults: Faults,
    /// Per-agency changes, keyed by connector name (`civil_registry`, `sms_gateway`, …).
    pub agencies: BTreeMap<String, FaultsPatch>,
    /// The payment outcome when neither the payer nor the amount is named in the seed.
    pub payment_default: PaymentOutcome,
}

impl Config {
    /// The faults in force for `agency`.
    pub fn faults(&self, agency: &str) -> Faults {
        let mut f = self.defaults.clone();
        if let Some(p) = self.agencies.get(agency) {
            f.latency_ms = p.latency_ms.unwrap_or(f.latency_ms);
            f.jitter_ms = p.jitter_ms.unwrap_or(f.jitter_ms);
            f.error_rate = p.error_rate.unwrap_or(f.error_rate);
            f.timeout_rate = p.timeout_rate.unwrap_or(f.timeout_rate);
            f.timeout_ms = p.timeout_ms.unwrap_or(f.timeout_ms);
            f.malformed_rate = p.malformed_rate.unwrap_or(f.malformed_rate);
            f.callback_delay_ms = p.callback_delay_ms.unwrap_or(f.callback_delay_ms);
        }
        f
    }

    /// Reads a configuration from YAML.
    pub fn from_yaml(text: &str) -> anyhow::Result<Self> {
        crate::from_yaml(text)
    }
}
