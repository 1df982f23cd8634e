//! The connectors of each scenario: the agency simulator as a child process answering over
//! HTTP on 127.0.0.1 (smart, officer), or in-process answers given at once (core), so that
//! the engine's own cost can be told apart from HTTP and the simulator.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use async_trait::async_trait;
use daftar_engine::connectors::http::HttpInquiries;
use daftar_engine::connectors::sms::HttpSms;
use daftar_engine::connectors::{Connectors, Inquiries, InquiryCall, Notifier, SendOutcome, Sms};
use daftar_engine::core::InquiryResult;
use daftar_engine::events::InquiryEvidence;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::child::ChildProcess;

/// The simulator's configuration for benchmarks: no latency, no faults.
const SIMULATOR_CONFIG: &str = include_str!("../../../examples/bench/simulator-config.yaml");
/// The simulator's seed: the people the bench workflows ask about.
const SIMULATOR_SEED: &str = include_str!("../../../examples/simulator/seed.yaml");
/// How the catalog names the simulator's address; replaced by the child's own.
const AGENCIES_URL: &str = "${DAFTAR_AGENCIES_URL:-http://127.0.0.1:8484}";

/// `daftar simulate --port 0` as a child process, killed when dropped.
#[derive(Debug)]
pub struct SimulatorProcess {
    process: ChildProcess,
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    _files: tempfile::TempDir,
}

impl SimulatorProcess {
    /// Starts the simulator with the bench configuration and waits for its address.
    pub fn start() -> anyhow::Result<Self> {
        let files = tempfile::tempdir().context("cannot make a folder for the simulator")?;
        let config = files.path().join("config.yaml");
        let seed = files.path().join("seed.yaml");
        std::fs::write(&config, SIMULATOR_CONFIG)
            .with_context(|| format!("cannot write {}", config.display()))?;
        std::fs::write(&seed, SIMULATOR_SEED)
            .with_context(|| format!("cannot write {}", seed.display()))?;
        let process = ChildProcess::start(
            &[
                "simulate".as_ref(),
                "--port".as_ref(),
                "0".as_ref(),
                "--config".as_ref(),
                config.as_os_str(),
                "--seed".as_ref(),
                seed.as_os_str(),
            ],
            None,
        )?;
        Ok(SimulatorProcess {
            url: process.url.clone(),
            process,
            _files: files,
        })
    }

    /// Its process id, to read its CPU time.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The example catalog (`connectors.yaml`), every agency at this simulator.
    pub fn catalog(&self) -> String {
        daftar_simulator::CATALOG.replace(AGENCIES_URL, &self.url)
    }

    /// The HTTP connectors of the example catalog, every agency at this simulator.
    pub fn connectors(&self) -> anyhow::Result<Connectors> {
        let text = self.catalog();
        let catalog = daftar_definitions::load_catalog("connectors.yaml", &text).map_err(|d| {
            let lines: Vec<String> = d.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("the connector catalog is not valid:\n{}", lines.join("\n"))
        })?;
        let http = |e: String| anyhow::anyhow!("connectors: {e}");
        Ok(Connectors {
            inquiries: Some(Arc::new(HttpInquiries::new(&catalog, None).map_err(http)?)),
            notifier: Some(Arc::new(HttpSms::new(&catalog, None).map_err(http)?)),
            payments: None,
        })
    }
}

/// Agencies and an SMS centre inside the process that answer at once, with the answers the
/// simulator gives for the bench applicant (the same fields, so the same event sizes).
#[derive(Debug, Default)]
pub struct InProcess {
    sent: AtomicU64,
}

impl InProcess {
    /// Connectors answering in process.
    pub fn connectors() -> Connectors {
        let this = Arc::new(InProcess::default());
        Connectors {
            inquiries: Some(this.clone()),
            notifier: Some(this),
            payments: None,
        }
    }
}

/// The agencies' clock, as the simulator writes it: Tehran time, RFC 3339 with milliseconds.
fn agency_now() -> String {
    let tehran = chrono::FixedOffset::east_opt(12_600).expect("+03:30 is a valid offset");
    chrono::Utc::now()
        .with_timezone(&tehran)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

#[async_trait]
impl Inquiries for InProcess {
    async fn inquire(&self, call: &InquiryCall) -> InquiryResult {
        let now = agency_now();
        let stamp = Value::String(now.clone());
        let response = match (call.connector.as_str(), call.operation.as_str()) {
            ("civil_registry", "identity_match") => json!({
                "matched": true, "first_name": "سارا", "last_name": "احمدی",
                "father_name": "محمد", "gender": "female", "is_alive": true, "timestamp": stamp,
            }),
            ("military_service", "service_status") => json!({
                "status": "not_applicable", "can_leave_country": true,
                "exit_permit_required": false, "timestamp": stamp,
            }),
            (c, o) => {
                return InquiryResult::Refused {
                    reason: format!("the in-process agencies do not answer {c}.{o}"),
                };
            }
        };
        let body = serde_json::to_vec(&response).unwrap_or_default();
        let sha256 = Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        InquiryResult::Answered {
            evidence: InquiryEvidence {
                agency_time: Some(now),
                response,
                sha256,
                latency_ms: 0,
            },
        }
    }
}

#[async_trait]
impl Notifier for InProcess {
    async fn send(&self, _sms: &Sms) -> SendOutcome {
        let n = self.sent.fetch_add(1, Ordering::Relaxed) + 1;
        SendOutcome::Sent {
            gateway_id: Some(format!("SMS-{n:08}")),
        }
    }

    async fn lookup(&self, _reference: &str) -> SendOutcome {
        SendOutcome::Unknown
    }
}
