//! `daftar verify`: walks every stream's hash chain, on every core, and checks the rows kept
//! beside the events against them.

use std::process::ExitCode;

use daftar_engine::audit::verify_store;

pub async fn run(db: &str) -> anyhow::Result<ExitCode> {
    let store = super::db::open_existing(db).await?;
    // Two ranges read at once per core keep the database and the hashing busy.
    let ranges = 2 * std::thread::available_parallelism().map_or(1, |n| n.get());
    let report = verify_store(store, ranges, None).await?;
    match report.failure {
        None => {
            println!(
                "ok: {} streams, {} events, every hash chain intact and every row in agreement",
                report.streams, report.events
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(broken) => {
            println!("FAIL {broken}");
            Ok(ExitCode::from(1))
        }
    }
}
