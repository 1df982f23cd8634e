//! `daftar verify`: walks every stream's hash chain.

use std::process::ExitCode;

use daftar_engine::events::verify_chain;

pub async fn run(db: &str) -> anyhow::Result<ExitCode> {
    let store = super::db::open(db).await?;
    let streams = store.streams().await?;
    let mut events = 0usize;
    for stream in &streams {
        let history = match store.load(stream).await {
            Ok(h) => h,
            Err(e) => {
                println!("FAIL {stream}: {e}");
                return Ok(ExitCode::from(1));
            }
        };
        events += history.len();
        if let Err(e) = verify_chain(&history) {
            println!("FAIL {e}");
            return Ok(ExitCode::from(1));
        }
    }
    println!(
        "ok: {} streams, {events} events, every hash chain intact",
        streams.len()
    );
    Ok(ExitCode::SUCCESS)
}
