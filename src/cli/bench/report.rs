//! What `daftar bench` found, as one JSON object or as tables.

use serde_json::{Value, json};

use super::api;

/// Everything measured.
#[derive(Debug, Default)]
pub struct Report {
    /// The machine.
    pub machine: Value,
    /// The command's settings.
    pub settings: Value,
    /// The in-process runs.
    pub runs: Vec<Value>,
    /// The runs through the API.
    pub api: Vec<Value>,
    /// The store's limits.
    pub limits: Vec<Value>,
    /// Replay speeds.
    pub replay: Vec<Value>,
    /// Checkpoints, receipts and offline verify (`--audit`).
    pub audit: Vec<Value>,
    /// The desk's pages (`--scenario desk`).
    pub desk: Vec<Value>,
    /// Stores that could not be reached.
    pub skipped: Vec<Value>,
}

impl Report {
    /// As one JSON object.
    pub fn to_json(&self) -> Value {
        json!({
            "machine": self.machine,
            "settings": self.settings,
            "runs": self.runs,
            "api": self.api,
            "limits": self.limits,
            "replay": self.replay,
            "audit": self.audit,
            "desk": self.desk,
            "skipped": self.skipped,
        })
    }

    /// As tables.
    pub fn print(&self) {
        println!(
            "machine: {} cores, {}",
            self.machine["cores"],
            self.machine["cpu"].as_str().unwrap_or("unknown CPU")
        );
        if !self.runs.is_empty() {
            println!();
            print_runs(&self.runs);
        }
        for d in &self.desk {
            println!();
            println!(
                "the desk on {} with {} requests ({} waiting for an officer), server time per page:",
                d["store"].as_str().unwrap_or(""),
                d["requests"],
                d["waiting_for_an_officer"]
            );
            if let Some(e) = d["error"].as_str() {
                println!("  failed: {e}");
            }
            for p in d["pages"].as_array().into_iter().flatten() {
                println!(
                    "  {:<20} min {:>7} ms  p50 {:>7} ms  p99 {:>7} ms",
                    p["page"].as_str().unwrap_or(""),
                    p["min_ms"],
                    p["p50_ms"],
                    p["p99_ms"]
                );
            }
        }
        if !self.api.is_empty() {
            println!();
            println!("through the API (daftar serve over HTTP, JWT, file and wait):");
            api::print(&self.api);
        }
        if !self.limits.is_empty() {
            println!();
            println!("store limit (the same commits, batches of 512, no engine):");
            for l in &self.limits {
                println!(
                    "  {:<8} {:<8} {:>10.0} events/s {:>9.0} commits/s {:>8.0} instances/s",
                    l["scenario"].as_str().unwrap_or_default(),
                    l["store"].as_str().unwrap_or_default(),
                    l["events_per_s"].as_f64().unwrap_or_default(),
                    l["commits_per_s"].as_f64().unwrap_or_default(),
                    l["instances_per_s"].as_f64().unwrap_or_default(),
                );
            }
        }
        if !self.replay.is_empty() {
            println!();
            println!("replay (events per second):");
            for r in &self.replay {
                if let Some(e) = r["error"].as_str() {
                    println!("  {:<8} {e}", r["store"].as_str().unwrap_or_default());
                    continue;
                }
                let per_s = |figure: &str| r[figure].as_f64().unwrap_or_default();
                println!(
                    "  {:<8} {} events in {} streams: read {:.0}/s, verify {:.0}/s ({:.0}/s on {} threads), fold {:.0}/s, daftar verify {:.0}/s ({:.0}/s reading one range at a time)",
                    r["store"].as_str().unwrap_or_default(),
                    r["events"],
                    r["streams"],
                    per_s("load_events_per_s"),
                    per_s("verify_events_per_s"),
                    per_s("verify_parallel_events_per_s"),
                    r["verify_parallel_threads"],
                    per_s("fold_events_per_s"),
                    per_s("store_verify_events_per_s"),
                    per_s("store_verify_one_thread_events_per_s"),
                );
            }
        }
        if !self.audit.is_empty() {
            println!();
            super::audit::print(&self.audit);
        }
        for s in &self.skipped {
            println!();
            println!(
                "{} skipped: {}",
                s["store"].as_str().unwrap_or_default(),
                s["reason"].as_str().unwrap_or_default()
            );
        }
    }
}

/// Prints the in-process runs as a table.
fn print_runs(runs: &[Value]) {
    let cores = |v: &Value| match v.as_f64() {
        Some(c) => format!("{c:.2}"),
        None => "-".to_owned(),
    };
    println!(
        "{:<8} {:<8} {:>7} {:>11} {:>8} {:>8} {:>9} {:>7} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8}",
        "scenario",
        "store",
        "rate/s",
        "completed/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "ev/inst",
        "com/inst",
        "com/tx",
        "engine",
        "sim",
        "db",
        "machine",
        "of limit"
    );
    for r in runs {
        if let Some(e) = r["error"].as_str() {
            println!(
                "{:<8} {:<8} {:>7} failed: {e}",
                r["scenario"].as_str().unwrap_or_default(),
                r["store"].as_str().unwrap_or_default(),
                r["rate"],
            );
            continue;
        }
        let lat = &r["latency_ms"];
        let cpu = &r["cpu_cores"];
        println!(
            "{:<8} {:<8} {:>7} {:>11.1} {:>8.2} {:>8.2} {:>9.2} {:>7.1} {:>8.2} {:>7.1} {:>7} {:>7} {:>7} {:>7} {:>8}",
            r["scenario"].as_str().unwrap_or_default(),
            r["store"].as_str().unwrap_or_default(),
            r["rate"],
            r["completed_per_s"].as_f64().unwrap_or_default(),
            lat["p50"].as_f64().unwrap_or_default(),
            lat["p99"].as_f64().unwrap_or_default(),
            lat["p99_9"].as_f64().unwrap_or_default(),
            r["events_per_instance"].as_f64().unwrap_or_default(),
            r["commits_per_instance"].as_f64().unwrap_or_default(),
            r["commits_per_transaction"].as_f64().unwrap_or_default(),
            cores(&cpu["engine"]),
            cores(&cpu["simulator"]),
            cores(&cpu["database"]),
            cores(&cpu["machine"]),
            match r["ratio_to_limit"].as_f64() {
                Some(x) => format!("{:.1}%", 100.0 * x),
                None => "-".to_owned(),
            },
        );
        let unfinished = r["unfinished"].as_u64().unwrap_or_default();
        if unfinished > 0 {
            println!(
                "         {unfinished} requests of the window had not completed when the drain ran out"
            );
        }
        if let Some(e) = r["start_error"].as_str() {
            println!("         starts were refused: {e}");
        }
    }
    println!(
        "(CPU in cores: engine = this process, sim = the simulator, db = PostgreSQL, machine = everything)"
    );
}
