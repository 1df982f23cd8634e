//! `daftar serve` as a child process on a free port of 127.0.0.1, configured as an operator
//! would: the bench service deployed from a folder, the connector catalog pointed at the
//! simulator, an HS256 secret of its own, and the tokens a portal and an officer would hold.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use daftar_api::auth::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, Keys, Role};

use super::super::child::ChildProcess;

/// The agency of the bench services.
pub const AGENCY: &str = "bench";

/// How long the tokens live: longer than any measurement, within serve's default limit.
const TOKEN_LIFETIME: u64 = 6 * 3600;

/// A running `daftar serve`, killed when dropped.
#[derive(Debug)]
pub struct Server {
    process: ChildProcess,
    /// Its base URL.
    pub url: String,
    /// A portal's token: a citizen of the bench agency, as the portal files for applicants.
    pub citizen: String,
    /// An officer holding the review's task role, who also reads listings.
    pub officer: String,
    log: PathBuf,
    _files: tempfile::TempDir,
}

impl Server {
    /// Starts `daftar serve` on the store at `store_url` with the definition `(file, source)`
    /// and the connector catalog `catalog`, and waits until it listens.
    pub fn start(store_url: &str, definition: (&str, &str), catalog: &str) -> anyhow::Result<Self> {
        let files = tempfile::tempdir().context("cannot make a folder for daftar serve")?;
        let definitions = files.path().join("definitions");
        std::fs::create_dir(&definitions)
            .with_context(|| format!("cannot make {}", definitions.display()))?;
        let (file, source) = definition;
        let name = file.rsplit('/').next().unwrap_or(file);
        let catalog_file = files.path().join("connectors.yaml");
        for (path, text) in [
            (definitions.join(name), source),
            (catalog_file.clone(), catalog),
        ] {
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        let secret: String = rand::random::<[u8; 32]>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        // Filings are limited per agency and per filer to stop SMS floods; the portal files
        // for every applicant with one token, so the limits are lifted as far as they go.
        let unlimited = u32::MAX.to_string();
        let log = files.path().join("serve.log");
        let process = ChildProcess::start(
            &[
                "serve".as_ref(),
                "--addr".as_ref(),
                "127.0.0.1:0".as_ref(),
                "--db".as_ref(),
                store_url.as_ref(),
                "--definitions".as_ref(),
                definitions.as_os_str(),
                "--connectors".as_ref(),
                catalog_file.as_os_str(),
                "--jwt-secret".as_ref(),
                secret.as_ref(),
                // What `daftar simulate` sends with its callbacks (SMS delivery reports).
                "--callback-token".as_ref(),
                super::super::super::LOCAL_CALLBACK_TOKEN.as_ref(),
                "--rate-per-agency".as_ref(),
                unlimited.as_ref(),
                "--rate-per-filer".as_ref(),
                unlimited.as_ref(),
            ],
            Some(&log),
        )?;
        let keys = Keys::hs256(secret.as_bytes(), DEFAULT_ISSUER, DEFAULT_AUDIENCE)
            .map_err(|e| anyhow::anyhow!(e))?;
        let mint = |subject: &str, role: Role, task_roles: &[&str]| {
            keys.mint(
                subject,
                AGENCY,
                vec![role],
                task_roles.iter().map(|r| (*r).to_owned()).collect(),
                TOKEN_LIFETIME,
            )
            .map_err(|e| anyhow::anyhow!(e))
        };
        Ok(Server {
            url: process.url.clone(),
            citizen: mint("bench-portal", Role::Citizen, &[])?,
            officer: mint("bench-officer", Role::Officer, &["officer"])?,
            process,
            log,
            _files: files,
        })
    }

    /// Its process id, to read its CPU time.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Stops it as an operator would (SIGTERM: it finishes the requests in flight), killing
    /// it after 10 seconds; whether it stopped by itself.
    pub fn stop(&mut self) -> bool {
        self.process.terminate(Duration::from_secs(10))
    }

    /// The last lines of its log, to explain a failure.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }
}
