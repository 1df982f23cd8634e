//! The connectors of each scenario: the agency simulator as a child process answering over
//! HTTP on 127.0.0.1 (smart, officer), or in-process answers given at once (core), so that
//! the engine's own cost can be told apart from HTTP and the simulator.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use async_trait::async_trait;
use daftar_engine::connectors::http::HttpInquiries;
use daftar_engine::connectors::sms::HttpSms;
use daftar_engine::connectors::{Connectors, Inquiries, InquiryCall, Notifier, SendOutcome, Sms};
use daftar_engine::core::InquiryResult;
use daftar_engine::events::InquiryEvidence;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The simulator's configuration for benchmarks: no latency, no faults.
const SIMULATOR_CONFIG: &str = include_str!("../../../examples/bench/simulator-config.yaml");
/// The simulator's seed: the people the bench workflows ask about.
const SIMULATOR_SEED: &str = include_str!("../../../examples/simulator/seed.yaml");
/// How the catalog names the simulator's address; replaced by the child's own.
const AGENCIES_URL: &str = "${DAFTAR_AGENCIES_URL:-http://127.0.0.1:8484}";

/// `daftar simulate --port 0` as a child process, killed when dropped.
#[derive(Debug)]
pub struct SimulatorProcess {
    child: Child,
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    _stdout: BufReader<ChildStdout>,
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
        let exe = std::env::current_exe().context("cannot find the daftar executable")?;
        let mut child = Command::new(exe)
            .arg("simulate")
            .args(["--port", "0", "--config"])
            .arg(&config)
            .arg("--seed")
            .arg(&seed)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start `daftar simulate`")?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            bail!("`daftar simulate` has no standard output");
        };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let url = match (read, line.split_whitespace().last()) {
            (Ok(n), Some(url)) if n > 0 && url.starts_with("http://") => url.to_owned(),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("`daftar simulate` did not print its address (it said {line:?})");
            }
        };
        Ok(SimulatorProcess {
            child,
            url,
            _stdout: stdout,
            _files: files,
        })
    }

    /// Its process id, to read its CPU time.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The HTTP connectors of the example catalog, every agency at this simulator.
    pub fn connectors(&self) -> anyhow::Result<Connectors> {
        let text = daftar_simulator::CATALOG.replace(AGENCIES_URL, &self.url);
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

impl Drop for SimulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
