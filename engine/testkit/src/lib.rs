//! What daftar's tests share, in one dev-only crate (never a dependency of a shipped crate):
//!
//! - [`harness`]: given / when / then for the pure core, and the record of the (wait, event)
//!   transitions its scenarios exercise ([`harness::coverage`]);
//! - [`router`]: the API's router over a real SQLite store, called without a socket, and the
//!   tokens its tests sign;
//! - [`e2e`]: a node whose HTTP connectors reach an in-process agency simulator, the officer,
//!   operator and clock played by the test, and the audit of its SMS and inquiries;
//! - [`golden`]: the file format of the golden histories under `tests/golden/`;
//! - [`simulator`]: the agency simulator started in-process, and a callback listener;
//! - [`process`]: `daftar work` child processes and the consistency check after them;
//! - [`pg`]: a fresh PostgreSQL schema per test, skipped loudly when there is no server;
//! - [`sms`]: the audit of the SMS a store asked for against the SMS centre's log;
//! - [`yaml`]: pieces of workflow YAML, as macros, that tests assemble their workflows from.

// Test support: its types hold routers, engines and child processes, which print nothing
// useful.
#![allow(missing_debug_implementations)]

pub mod e2e;
pub mod golden;
pub mod harness;
pub mod pg;
pub mod process;
pub mod router;
pub mod simulator;
pub mod sms;
pub mod yaml;

use std::path::PathBuf;

/// The workspace's root folder.
pub fn root() -> PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.join("../..").canonicalize().unwrap()
}

/// The JSON answer of an HTTP request, which must be sent and answered with JSON.
pub async fn json_of(request: reqwest::RequestBuilder) -> serde_json::Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// A fresh SQLite store in `dir` (its file `daftar.db`).
pub async fn sqlite_store(
    dir: &std::path::Path,
) -> std::sync::Arc<dyn daftar_engine::store::Store> {
    let url = format!("sqlite://{}", dir.join("daftar.db").display());
    daftar_engine::store::open(&url).await.unwrap()
}

/// Two tests, `$sqlite` and `$postgres`, that run `$run` with `Backend::Sqlite` and
/// `Backend::Postgres` (the `Backend` of the calling test's scope).
#[macro_export]
macro_rules! on_both_stores {
    ($run:path: $sqlite:ident, $postgres:ident) => {
        #[test]
        fn $sqlite() {
            $run(Backend::Sqlite);
        }

        #[test]
        fn $postgres() {
            $run(Backend::Postgres);
        }
    };
}
