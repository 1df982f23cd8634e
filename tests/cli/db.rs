//! `--db`: every command takes a plain path, `sqlite://FILE` and `postgres://…` alike, and the
//! commands that only read (`verify`, `history`, `replay`, `incidents`, `retry`, `report`) never create
//! the store they were pointed at: a mistyped name fails (exit 2) and leaves nothing behind.

use daftar_testkit::process::{
    CLEAN_RECORD as WORKFLOW, CLEAN_RECORD_ANSWERS as ANSWERS, CLEAN_RECORD_INPUT as INPUT,
};
use std::path::Path;

use super::{code, daftar, text};

/// The commands that only read a store, with `--db` to be appended.
const READERS: [&[&str]; 6] = [
    &["verify"],
    &["report", "--agency", "judiciary"],
    &["history", "ABCD-EFGH"],
    &["replay", "i-1", "--at", "1"],
    &["incidents"],
    &["retry", "i-1", "inc-1"],
];

fn with_db<'a>(args: &[&'a str], db: &'a str) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(["--db", db]);
    all
}

/// Runs the example request into the store `db`; answers its tracking code.
fn dry_run(db: &str, dir: &Path) -> String {
    let answers = dir.join("answers.json");
    std::fs::write(&answers, ANSWERS).unwrap();
    let out = daftar(&with_db(
        &[
            "run",
            WORKFLOW,
            "--input",
            INPUT,
            "--answers",
            answers.to_str().unwrap(),
        ],
        db,
    ));
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 0, "run --db {db}: {stderr}");
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("tracking code:"))
        .map(|c| c.trim().to_owned())
        .expect("a tracking code")
}

/// `verify`, `history` and `incidents` all read the store `db` filled.
fn reads_back(db: &str, tracking_code: &str) {
    let verify = daftar(&["verify", "--db", db]);
    assert_eq!(
        code(&verify),
        0,
        "verify --db {db}: {}",
        text(&verify.stderr)
    );
    assert!(text(&verify.stdout).starts_with("ok: 1 streams"));
    let history = daftar(&["history", tracking_code, "--db", db]);
    assert_eq!(
        code(&history),
        0,
        "history --db {db}: {}",
        text(&history.stderr)
    );
    assert!(text(&history.stdout).lines().count() > 5);
    let replay = daftar(&["replay", tracking_code, "--at", "1", "--db", db]);
    assert_eq!(
        code(&replay),
        0,
        "replay --db {db}: {}",
        text(&replay.stderr)
    );
    // The example request was decided by rules alone: one smart request of one.
    let report = daftar(&["report", "--agency", "judiciary", "--json", "--db", db]);
    assert_eq!(
        code(&report),
        0,
        "report --db {db}: {}",
        text(&report.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("JSON");
    assert_eq!(report["total"]["filed"], 1, "{report}");
    assert_eq!(report["total"]["smart"], 1, "{report}");
    assert_eq!(report["services"][0]["share"], 1.0, "{report}");
    let incidents = daftar(&["incidents", "--db", db]);
    assert_eq!(
        code(&incidents),
        0,
        "incidents --db {db}: {}",
        text(&incidents.stderr)
    );
}

#[test]
fn read_commands_never_create_the_sqlite_file_they_are_pointed_at() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("mistyped.db");
    let plain = missing.display().to_string();
    let url = format!("sqlite://{plain}");
    for args in READERS {
        for db in [&plain, &url] {
            let out = daftar(&with_db(args, db));
            let stderr = text(&out.stderr);
            assert_eq!(
                code(&out),
                2,
                "{args:?} --db {db}: {}{stderr}",
                text(&out.stdout)
            );
            assert!(
                stderr.contains("no SQLite file") && stderr.contains("--db"),
                "{args:?} --db {db}: {stderr}"
            );
            assert!(!missing.exists(), "{args:?} --db {db} created {plain}");
        }
    }
    // A file that is not a store is left as it was.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let out = daftar(&["verify", "--db", empty.to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("holds no daftar store"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
}

#[test]
fn every_command_takes_a_plain_path_or_an_sqlite_url() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("daftar.db").display().to_string();
    let code_ = dry_run(&plain, dir.path());
    reads_back(&plain, &code_);
    reads_back(&format!("sqlite://{plain}"), &code_);

    let other = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", other.path().join("daftar.db").display());
    let code_ = dry_run(&url, other.path());
    reads_back(&url, &code_);
    reads_back(other.path().join("daftar.db").to_str().unwrap(), &code_);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_without_a_store_is_an_error_and_with_one_reads_like_sqlite() {
    let Some((url, schema)) = super::pg::schema().await else {
        return;
    };
    for args in READERS {
        let out = daftar(&with_db(args, &url));
        let stderr = text(&out.stderr);
        assert_eq!(code(&out), 2, "{args:?}: {}{stderr}", text(&out.stdout));
        assert!(
            stderr.contains("holds no daftar store"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(schema.tables().await, 0, "nothing was created");

    let dir = tempfile::tempdir().unwrap();
    let code_ = dry_run(&url, dir.path());
    reads_back(&url, &code_);
}
