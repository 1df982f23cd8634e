//! `daftar bench` in miniature: a two-second open-loop run of the core scenario on SQLite, with
//! a small replay, must report figures that make sense together; and the bench workflows must
//! pass `daftar validate --deny-warnings` (CI validates examples/workflows/ only). The real
//! measurements, and how to take them, are in docs/benchmarks.md.

use std::path::Path;
use std::process::Command;

use daftar_testkit::process::{bench_report, latencies_in_order};
use serde_json::Value;

fn daftar() -> Command {
    Command::new(env!("CARGO_BIN_EXE_daftar"))
}

#[test]
fn the_bench_workflows_are_valid_without_warnings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = daftar()
        .arg("validate")
        .arg("--deny-warnings")
        .arg("--connectors")
        .arg(root.join("examples/connectors.yaml"))
        .arg(root.join("examples/bench/smart.yaml"))
        .arg(root.join("examples/bench/officer.yaml"))
        .output()
        .expect("daftar runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_short_core_run_reports_consistent_figures() {
    let dir = tempfile::tempdir().unwrap();
    let core = ["--scenario", "core", "--store", "sqlite", "--rate", "20"];
    let limit_and_replay = [
        "--limit-duration",
        "500ms",
        "--replay-events",
        "2000",
        "--audit",
    ];
    let report = bench_report(&[&core[..], &limit_and_replay].concat(), dir.path());

    let runs = report["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["scenario"], "core");
    assert_eq!(run["store"], "sqlite");
    let number = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"));
    let completed = number(&run["completed"]);
    let started = number(&run["started"]);
    assert!(completed > 0.0, "{run:#}");
    assert!(completed <= started, "{run:#}");
    assert!(number(&run["completed_per_s"]) > 0.0, "{run:#}");
    latencies_in_order(&run["latency_ms"]);
    // None may be lost: every request that arrived in the window ended within the drain.
    assert_eq!(run["unfinished"], 0, "{run:#}");
    assert_eq!(completed, number(&run["arrivals"]), "{run:#}");
    // The smart service appends 28 events over 3 commits. Events and commits are counted inside
    // the window and divided by the requests that ended inside it, so an engine that falls
    // behind (a debug build on a slow machine: CI once wrote 11 transactions a second and
    // counted 2.94 commits and 31.4 events a request) moves the ratios; they stay in a band.
    let events = number(&run["events_per_instance"]);
    assert!((10.0..=60.0).contains(&events), "{run:#}");
    let commits = number(&run["commits_per_instance"]);
    assert!((2.0..=6.0).contains(&commits), "{run:#}");
    assert!(number(&run["commits_per_transaction"]) >= 1.0, "{run:#}");
    assert_eq!(run["lagged"], 0);
    assert!(number(&run["ratio_to_limit"]) > 0.0, "{run:#}");

    let limit = &report["limits"][0];
    assert!(number(&limit["events_per_s"]) > 0.0, "{limit:#}");

    let replay = &report["replay"][0];
    assert!(number(&replay["events"]) >= 2000.0, "{replay:#}");
    for figure in [
        "verify_events_per_s",
        "fold_events_per_s",
        "load_events_per_s",
        "store_verify_events_per_s",
        "store_verify_one_thread_events_per_s",
    ] {
        assert!(number(&replay[figure]) > 0.0, "{replay:#}");
    }

    // The checkpoints cover the replay's history, then 1,000 more events; the export of both
    // verifies offline.
    let audit = &report["audit"][0];
    assert_eq!(audit["events"], replay["events"], "{audit:#}");
    assert!(number(&audit["added_events"]) >= 1000.0, "{audit:#}");
    for figure in [
        "checkpoint_full_s",
        "checkpoint_incremental_s",
        "export_events_per_s",
        "offline_verify_events_per_s",
    ] {
        assert!(number(&audit[figure]) > 0.0, "{audit:#}");
    }
    assert!(number(&audit["receipt_ms"]["p50"]) > 0.0, "{audit:#}");

    assert!(report["machine"]["cores"].as_u64().is_some_and(|c| c >= 1));
    // The SQLite files are removed afterwards.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}
