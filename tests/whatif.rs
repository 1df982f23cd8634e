//! `daftar what-if`, the real binary on a real SQLite store: a request recorded by `daftar run`
//! (the national permits portal's applicant verification, rejected because the mobile is not
//! the applicant's in Shahkar) run through a version without that condition is named, with
//! its old and new outcome and why; the same definition finds nothing; a definition with
//! errors exits 1 and a limit out of range 2.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

const VERIFICATION: &str = include_str!("../examples/workflows/applicant-verification.yaml");

fn daftar(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_daftar"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("DAFTAR_CONNECTORS")
        .env_remove("DAFTAR_DB")
        .output()
        .expect("the daftar binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

#[test]
fn what_if_names_the_request_a_removed_condition_would_have_verified() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("daftar.db").display().to_string();
    let answers = write(
        dir.path(),
        "answers.json",
        &json!({
            "civil_registry.identity_match":
                {"matched": true, "is_alive": true, "first_name": "Sara", "last_name": "Ahmadi"},
            "shahkar.mobile_ownership": {"matched": false},
        })
        .to_string(),
    );
    let filed = daftar(&[
        "run",
        "examples/workflows/applicant-verification.yaml",
        "--db",
        &db,
        "--input",
        r#"{"national_id": "0790419904", "mobile": "09131234567", "birth_date": "1985-07-14"}"#,
        "--answers",
        &answers,
    ]);
    assert!(filed.status.success(), "{}", text(&filed.stderr));
    assert!(
        text(&filed.stderr).contains("rejected"),
        "{}",
        text(&filed.stderr)
    );

    let v2 = VERIFICATION.replacen("version: 1", "version: 2", 1).replacen(
        "        - when: \"!mobile_owned\"\n          next: not_verified\n          reason: The mobile number is not registered to this national ID in Shahkar.\n",
        "",
        1,
    );
    let v2 = write(dir.path(), "v2.yaml", &v2);
    let catalog = format!("{}/examples/connectors.yaml", env!("CARGO_MANIFEST_DIR"));
    let out = daftar(&[
        "what-if",
        "--db",
        &db,
        &v2,
        "--json",
        "--connectors",
        &catalog,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["examined"], 1, "{report}");
    assert_eq!(report["differs"], 1, "{report}");
    let f = &report["findings"][0];
    assert_eq!(f["old_outcome"], "rejected");
    assert_eq!(f["new_outcome"], "approved");
    assert_eq!(f["parted"]["after"], "decide");
    assert_eq!(
        f["parted"]["decision"]["old"]["read"][1]["mobile_owned"],
        false
    );

    // As text: one line per request that differs, then the count.
    let out = daftar(&["what-if", "--db", &db, &v2, "--connectors", &catalog]);
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("DIFFERS "), "{stdout}");
    assert!(
        stdout.contains("The outcome changes: rejected → approved"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 recorded requests run through version 2: 0 the same, 1 differ"),
        "{stdout}"
    );

    // The deployed definition itself: the same.
    let out = daftar(&[
        "what-if",
        "--db",
        &db,
        "examples/workflows/applicant-verification.yaml",
        "--json",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["same"].clone(), report["differs"].clone()),
        (json!(1), json!(0))
    );

    // A definition with errors exits 1, a limit out of range 2.
    let broken = write(
        dir.path(),
        "broken.yaml",
        "daftar: 1\nid: applicant-verification\n",
    );
    assert_eq!(
        daftar(&["what-if", "--db", &db, &broken]).status.code(),
        Some(1)
    );
    let limit = daftar(&["what-if", "--db", &db, &v2, "--limit", "0"]);
    assert_eq!(limit.status.code(), Some(2), "{}", text(&limit.stderr));
}
