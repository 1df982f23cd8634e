//! The audit figures of `daftar bench --audit`, taken on the replay's store once its history
//! is written: a checkpoint over the whole log built from nothing (every event hashed into the
//! tree), then, after more events, one built incrementally from the stored edge; receipts of
//! requests spread over the log; and an export of the log checked offline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use daftar_engine::audit::{checkpoint, export, offline, receipt, signing};
use daftar_engine::store::Store;
use serde_json::{Value, json};

use super::limit::{Template, Until};

/// Receipts timed.
const RECEIPTS: usize = 200;

/// What was measured.
#[derive(Clone, Debug)]
pub struct Audit {
    events: u64,
    full: Duration,
    added: u64,
    incremental: Duration,
    receipt_ms: Vec<f64>,
    export_per_s: f64,
    verify_per_s: f64,
    verify_threads: usize,
}

impl Audit {
    /// As JSON.
    pub fn to_json(&self) -> Value {
        let mut r = self.receipt_ms.clone();
        r.sort_by(f64::total_cmp);
        let at = |q: f64| {
            r.get(((r.len() as f64 - 1.0) * q).round() as usize)
                .copied()
        };
        json!({
            "events": self.events,
            "checkpoint_full_s": self.full.as_secs_f64(),
            "added_events": self.added,
            "checkpoint_incremental_s": self.incremental.as_secs_f64(),
            "receipts": r.len(),
            "receipt_ms": {"p50": at(0.5), "p99": at(0.99), "max": r.last()},
            "export_events_per_s": self.export_per_s,
            "offline_verify_events_per_s": self.verify_per_s,
            "offline_verify_threads": self.verify_threads,
        })
    }
}

/// Measures on `store`, which holds the replay's history; `dir` takes the export for a moment.
pub async fn measure(
    store: &Arc<dyn Store>,
    template: &Template,
    dir: &std::path::Path,
) -> anyhow::Result<Audit> {
    let key = signing::SigningKey::from_bytes(&[7u8; 32]);
    let t = Instant::now();
    let first = checkpoint::take_all(store, &key).await?;
    let full = t.elapsed();
    let events = first.iter().map(|c| c.size).sum::<u64>();
    ensure!(events > 0, "the first checkpoint covers no event");

    // Instance numbers past those of the replay's history.
    let (added, _, _, _) = template.write(store, 1 << 40, Until::Events(1000)).await?;
    let t = Instant::now();
    let second = checkpoint::take_all(store, &key).await?;
    let incremental = t.elapsed();
    let covered = second.iter().map(|c| c.size).sum::<u64>();
    ensure!(
        covered == events + added,
        "the second checkpoint covers {covered} events"
    );

    let streams = store.streams().await?;
    let step = (streams.len() / RECEIPTS).max(1);
    let mut receipt_ms = Vec::with_capacity(RECEIPTS);
    for stream in streams.iter().step_by(step).take(RECEIPTS) {
        let t = Instant::now();
        let r = receipt::receipt(store, stream).await?;
        receipt_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        ensure!(
            r.events
                .iter()
                .all(|e| !e.proof.is_empty() || r.events.len() == 1),
            "a receipt of {stream} lacks proofs"
        );
    }

    let agency = second.first().context("no checkpoint")?.agency.clone();
    let path = dir.join("audit-export.jsonl");
    let t = Instant::now();
    {
        let file = std::fs::File::create(&path).context("cannot write the export")?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        export::export(store, &agency, 0, None, &mut out).await?;
    }
    let exported = covered as f64 / t.elapsed().as_secs_f64().max(1e-9);
    let key_pub = key.verifying_key();
    let path2 = path.clone();
    let (verified, secs) = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path2)?;
        let t = Instant::now();
        let r = offline::verify_export(
            std::io::BufReader::with_capacity(1 << 20, file),
            &key_pub,
            &[],
        )
        .map_err(|e| anyhow::anyhow!("the export does not verify: {e}"))?;
        anyhow::Ok((r.events, t.elapsed().as_secs_f64()))
    })
    .await??;
    let _ = std::fs::remove_file(&path);
    ensure!(
        verified == covered,
        "verified {verified} of {covered} events"
    );
    Ok(Audit {
        events,
        full,
        added,
        incremental,
        receipt_ms,
        export_per_s: exported,
        verify_per_s: verified as f64 / secs.max(1e-9),
        verify_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    })
}

/// Prints the figures.
pub fn print(audits: &[Value]) {
    println!("audit (signed checkpoints, receipts, offline verify):");
    for a in audits {
        if let Some(e) = a["error"].as_str() {
            println!("  {:<8} {e}", a["store"].as_str().unwrap_or_default());
            continue;
        }
        println!(
            "  {:<8} checkpoint of {} events from nothing {:.2} s; of {} more {:.3} s; receipt p50 {:.2} ms p99 {:.2} ms; export {:.0} events/s; offline verify {:.0} events/s",
            a["store"].as_str().unwrap_or_default(),
            a["events"],
            a["checkpoint_full_s"].as_f64().unwrap_or_default(),
            a["added_events"],
            a["checkpoint_incremental_s"].as_f64().unwrap_or_default(),
            a["receipt_ms"]["p50"].as_f64().unwrap_or_default(),
            a["receipt_ms"]["p99"].as_f64().unwrap_or_default(),
            a["export_events_per_s"].as_f64().unwrap_or_default(),
            a["offline_verify_events_per_s"]
                .as_f64()
                .unwrap_or_default(),
        );
    }
}
