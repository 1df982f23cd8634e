//! `daftar bench --scenario api` in miniature: the smart service through `daftar serve` over
//! HTTP, a closed loop of two requests in flight and an open loop of ten a second, each for
//! two seconds on a fresh SQLite store. The figures must make sense together and nothing may
//! be lost: every request accepted is stored and has ended, each has its one SMS, and the
//! store verifies. The real measurements are in docs/benchmarks.md.

use daftar_testkit::process::{bench_report, latencies_in_order};
use serde_json::Value;

#[test]
fn a_short_api_run_loses_nothing_and_reports_consistent_figures() {
    let dir = tempfile::tempdir().unwrap();
    let api = [
        "--scenario",
        "api",
        "--store",
        "sqlite",
        "--in-flight",
        "2",
        "--rate",
        "10",
    ];
    let report = bench_report(&api, dir.path());
    assert_eq!(
        report["runs"],
        Value::Array(Vec::new()),
        "no in-process run"
    );
    assert_eq!(report["replay"], Value::Array(Vec::new()), "no replay");

    let runs = report["api"].as_array().expect("api runs");
    let loops: Vec<(&str, &Value, &Value)> = runs
        .iter()
        .map(|r| {
            (
                r["loop"].as_str().unwrap_or("?"),
                &r["in_flight"],
                &r["rate"],
            )
        })
        .collect();
    assert_eq!(
        loops,
        [
            ("closed", &Value::from(2), &Value::Null),
            ("open", &Value::Null, &Value::from(10.0)),
        ],
        "{report:#}"
    );
    let number = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"));
    for run in runs {
        assert_eq!(run["scenario"], "api", "{run:#}");
        assert_eq!(run["store"], "sqlite", "{run:#}");
        // Every request of the window was answered, and its answer said it had ended.
        let requests = number(&run["requests"]);
        assert!(requests > 0.0, "{run:#}");
        assert_eq!(number(&run["ended"]), requests, "{run:#}");
        for none in ["not_ended", "failed", "unfinished"] {
            assert_eq!(run[none], 0, "{none}: {run:#}");
        }
        assert!(run["first_error"].is_null(), "{run:#}");
        assert!(number(&run["completed_per_s"]) > 0.0, "{run:#}");
        latencies_in_order(&run["latency_ms"]);
        // The server's and the load generator's CPU are told apart.
        let cpu = &run["cpu_cores"];
        assert!(number(&cpu["serve"]) > 0.0, "{cpu:#}");
        assert!(number(&cpu["client"]) >= 0.0, "{cpu:#}");
        assert!(run["load_average"].as_array().is_some_and(|l| l.len() == 3));

        // Nothing lost: what the API accepted is stored and ended, with its one SMS, and the
        // store verifies.
        let checks = &run["checks"];
        let instances = number(&checks["instances"]);
        assert!(instances >= requests, "{checks:#}");
        assert_eq!(number(&checks["accepted"]), instances, "{checks:#}");
        assert_eq!(number(&checks["sms"]), instances, "{checks:#}");
        for none in [
            "accepted_not_stored",
            "running",
            "sms_missing",
            "sms_repeated",
            "sms_unknown",
            "losses",
        ] {
            assert_eq!(checks[none], 0, "{none}: {checks:#}");
        }
        assert_eq!(checks["verify"], "intact", "{checks:#}");
        assert_eq!(checks["serve_stopped_cleanly"], true, "{checks:#}");
        // The smart service appends about 28 events a request.
        assert!(number(&checks["events_per_request"]) > 10.0, "{checks:#}");
    }

    // The SQLite files are removed afterwards.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}
