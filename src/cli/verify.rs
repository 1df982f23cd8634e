//! `daftar verify`: walks every stream's hash chain, on every core.

use std::process::ExitCode;

use daftar_engine::audit::verify_store;
use daftar_engine::store::StoreError;

pub async fn run(db: &str) -> anyhow::Result<ExitCode> {
    let store = super::db::open(db).await?;
    // Two ranges read at once per core keep the database and the hashing busy.
    let ranges = 2 * std::thread::available_parallelism().map_or(1, |n| n.get());
    match verify_store(store, ranges).await {
        Ok(Ok(v)) => {
            println!(
                "ok: {} streams, {} events, every hash chain intact",
                v.streams, v.events
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(Err(broken)) => {
            println!("FAIL {broken}");
            Ok(ExitCode::from(1))
        }
        // An event whose envelope cannot be read at all was altered too.
        Err(e @ StoreError::Corrupt { .. }) => {
            println!("FAIL {e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}
