//! The audit commands on a real SQLite file: `run` a definition with scripted answers, read
//! its `history`, `replay` it at a version, `verify` the chains, and catch an altered, a
//! deleted and a swapped event.

use daftar_testkit::process::run_clean_record;
use std::path::{Path, PathBuf};

use daftar_testkit::process::daftar;
use serde_json::Value;

struct Run {
    _dir: tempfile::TempDir,
    file: PathBuf,
    db: String,
    tracking_code: String,
    events: Vec<Value>,
}

fn dry_run() -> Run {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("daftar.db");
    let db = format!("sqlite://{}", file.display());
    let out = run_clean_record(dir.path(), &db);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.lines().any(|l| l == "outcome:       issued"),
        "{stderr}"
    );
    let tracking_code = stderr
        .lines()
        .find_map(|l| l.strip_prefix("tracking code:"))
        .map(|c| c.trim().to_owned())
        .expect("a tracking code");
    let events = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Run {
        _dir: dir,
        file,
        db,
        tracking_code,
        events,
    }
}

/// Copies an SQLite database with its write-ahead log, which holds the latest commits until
/// a checkpoint moves them into the main file.
fn copy_db(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", from.display()));
        if side.exists() {
            std::fs::copy(&side, format!("{}{suffix}", to.display())).unwrap();
        }
    }
}

fn sql(file: &Path, statements: &[&str]) {
    let rt = daftar_testkit::process::runtime();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        for s in statements {
            sqlx::raw_sql(sqlx::AssertSqlSafe(*s))
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    });
}

#[test]
fn run_history_and_replay_tell_the_same_story() {
    let run = dry_run();
    let history = daftar(&["history", &run.tracking_code, "--db", &run.db]);
    assert!(history.status.success());
    let lines: Vec<Value> = String::from_utf8(history.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), run.events.len());
    for (i, e) in lines.iter().enumerate() {
        assert_eq!(e["version"], i as u64 + 1, "gapless versions");
        assert_eq!(e["event"], run.events[i]["event"]);
        assert_eq!(e["workflow"], "clean-record-certificate");
        assert!(
            e["definition_hash"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
        assert!(e["hash"].as_str().unwrap().len() == 64);
    }
    let decision = lines
        .iter()
        .find(|e| e["event"]["type"] == "DecisionTaken")
        .expect("a decision");
    assert!(
        decision["event"]["evidence"]["cases"].is_array(),
        "why the decision was taken"
    );

    let replay = daftar(&["replay", &run.tracking_code, "--at", "1", "--db", &run.db]);
    assert!(replay.status.success());
    let at_start: Value = serde_json::from_slice(&replay.stdout).unwrap();
    assert_eq!(at_start["version"], 1);
    assert_eq!(at_start["state"]["status"], Value::Null);
    assert_eq!(at_start["state"]["tracking_code"], run.tracking_code);

    let end = daftar(&["replay", &run.tracking_code, "--db", &run.db]);
    let at_end: Value = serde_json::from_slice(&end.stdout).unwrap();
    assert_eq!(at_end["state"]["status"], "issued");
    let time = lines[2]["recorded_at"].as_str().unwrap();
    let by_time = daftar(&["replay", &run.tracking_code, "--at", time, "--db", &run.db]);
    let at_time: Value = serde_json::from_slice(&by_time.stdout).unwrap();
    assert!(
        at_time["version"].as_u64().unwrap() >= 3,
        "every event recorded by then"
    );

    let bad = daftar(&[
        "replay",
        &run.tracking_code,
        "--at",
        "9999",
        "--db",
        &run.db,
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn verify_passes_an_intact_store_and_names_the_first_tampered_event() {
    let run = dry_run();
    let ok = daftar(&["verify", "--db", &run.db]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("ok: 1 streams"));

    // A changed byte in a payload.
    let changed = tempfile::tempdir().unwrap();
    let copy = changed.path().join("copy.db");
    copy_db(&run.file, &copy);
    sql(
        &copy,
        &[
            "UPDATE events SET payload = replace(payload, 'Sara', 'Zara') WHERE version = (SELECT min(version) FROM events WHERE payload LIKE '%Sara%')",
        ],
    );
    let out = daftar(&["verify", "--db", &format!("sqlite://{}", copy.display())]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("FAIL stream judiciary/") && text.contains("altered"),
        "{text}"
    );

    // A deleted event.
    let deleted = changed.path().join("deleted.db");
    copy_db(&run.file, &deleted);
    sql(&deleted, &["DELETE FROM events WHERE version = 5"]);
    let out = daftar(&["verify", "--db", &format!("sqlite://{}", deleted.display())]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("event 5"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Two events swapped.
    let swapped = changed.path().join("swapped.db");
    copy_db(&run.file, &swapped);
    sql(
        &swapped,
        &[
            "UPDATE events SET version = 1000000 WHERE version = 3",
            "UPDATE events SET version = 3 WHERE version = 4",
            "UPDATE events SET version = 4 WHERE version = 1000000",
        ],
    );
    let out = daftar(&["verify", "--db", &format!("sqlite://{}", swapped.display())]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // The original is untouched and still verifies.
    assert!(daftar(&["verify", "--db", &run.db]).status.success());
}

#[test]
fn operators_list_incidents_and_retry_the_stopped_step() {
    let dir = tempfile::tempdir().unwrap();
    let answers = dir.path().join("none.json");
    std::fs::write(&answers, "{}").unwrap();
    let db = format!("sqlite://{}", dir.path().join("daftar.db").display());
    let workflow = "examples/workflows/passport-renewal.yaml";
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(workflow)).unwrap();
    let input = example_input(&text);
    // No agency answers: both parallel inquiries are refused, and neither has a failure path.
    let out = daftar_testkit::process::run(workflow, &input, &answers, &db);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let listed = daftar(&["incidents", "--db", &db]);
    assert!(listed.status.success());
    let rows: Vec<Vec<String>> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r[4].contains("refused")), "{rows:?}");
    let (tracking_code, incident) = (rows[0][1].clone(), rows[0][2].clone());

    let retried = daftar(&["retry", &tracking_code, &incident, "--db", &db]);
    assert!(
        retried.status.success(),
        "{}",
        String::from_utf8_lossy(&retried.stderr)
    );
    let after = daftar(&["incidents", "--db", &db]);
    assert_eq!(
        String::from_utf8(after.stdout).unwrap().lines().count(),
        1,
        "one incident left"
    );
    let history =
        String::from_utf8(daftar(&["history", &tracking_code, "--db", &db]).stdout).unwrap();
    let last: Vec<Value> = history
        .lines()
        .rev()
        .take(3)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = last
        .iter()
        .rev()
        .map(|e| e["event"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["IncidentResolved", "StepEntered", "InquiryRequested"]
    );
    assert_eq!(last[2]["actor"]["kind"], "operator");

    let unknown = daftar(&["retry", &tracking_code, &incident, "--db", &db]);
    assert_eq!(
        unknown.status.code(),
        Some(2),
        "a resolved incident cannot be retried again"
    );
}

/// The first `input.examples` entry of a workflow, as JSON, read with the project's loader.
fn example_input(text: &str) -> String {
    let (doc, _) =
        daftar_definitions::source::load(text, daftar_definitions::source::Limits::default());
    doc.unwrap().value["input"]["examples"][0].to_string()
}
