//! `daftar export`: an agency's log (or a range of its leaves) with its signed checkpoints, as
//! JSON lines that `daftar verify --offline` checks with no database.

use std::process::ExitCode;

pub async fn run(
    db: &str,
    agency: Option<&str>,
    from: u64,
    to: Option<u64>,
) -> anyhow::Result<ExitCode> {
    let store = super::db::open_existing(db).await?;
    let agency = super::checkpoint::agency(&store, agency).await?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout());
    let n = daftar_engine::audit::export::export(&store, &agency, from, to, &mut out).await?;
    eprintln!("exported {n} events of {agency}");
    Ok(ExitCode::SUCCESS)
}
