//! `daftar verify`: walks every stream's hash chain, on every core, and checks the rows kept
//! beside the events against them. With `--offline FILE --key PUB`, checks an export instead,
//! with no database: every chain, and every event against the agency's signed checkpoints.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use daftar_engine::audit::offline::verify_export;
use daftar_engine::audit::signing::{self, Checkpoint};
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

/// Checks an export with the agency's public key and the checkpoints the auditor kept.
pub fn offline(file: &Path, key: &Path, kept: &[std::path::PathBuf]) -> anyhow::Result<ExitCode> {
    let key = signing::read_public_key(key).map_err(|e| anyhow!(e))?;
    let mut trusted = Vec::new();
    for path in kept {
        trusted.extend(read_checkpoints(path)?);
    }
    let input = std::fs::File::open(file)
        .with_context(|| format!("cannot read the export {}", file.display()))?;
    let started = std::time::Instant::now();
    match verify_export(
        std::io::BufReader::with_capacity(1 << 20, input),
        &key,
        &trusted,
    ) {
        Ok(r) => {
            let secs = started.elapsed().as_secs_f64();
            println!(
                "ok: {}: {} events of {} streams, every hash chain intact; {} checkpoints \
                 rebuilt and their signatures valid{}",
                r.agency,
                r.events,
                r.streams,
                r.checked.len(),
                match r.checked.iter().max() {
                    Some(m) => format!(" (the largest of {m} events)"),
                    None => String::new(),
                }
            );
            if !r.outside.is_empty() {
                println!(
                    "note: {} checkpoints fall outside the exported range and were not checked",
                    r.outside.len()
                );
            }
            if r.unsigned > 0 {
                println!(
                    "note: the last {} events come after the last checkpoint: chains checked, not \
                     signed yet",
                    r.unsigned
                );
            }
            eprintln!("{:.0} events/s", r.events as f64 / secs.max(1e-9));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("FAIL {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Checkpoints kept by the auditor: a JSON array (`GET /api/v1/checkpoints`), one checkpoint,
/// or JSON lines (`daftar checkpoint`).
fn read_checkpoints(path: &Path) -> anyhow::Result<Vec<Checkpoint>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the checkpoints {}", path.display()))?;
    if let Ok(all) = serde_json::from_str::<Vec<Checkpoint>>(&text) {
        return Ok(all);
    }
    if let Ok(one) = serde_json::from_str::<Checkpoint>(&text) {
        return Ok(vec![one]);
    }
    if let Ok(mut listed) = serde_json::from_str::<serde_json::Value>(&text)
        && let Ok(all) = serde_json::from_value::<Vec<Checkpoint>>(listed["checkpoints"].take())
    {
        return Ok(all);
    }
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str::<Checkpoint>)
        .collect::<Result<_, _>>()
        .with_context(|| {
            format!(
                "{} holds no checkpoints (a JSON array, one, or JSON lines)",
                path.display()
            )
        })
}
