//! The command line's contract: `daftar validate` exits 0 when every file is valid, 1 when any
//! has an error, and 2 on a usage error; `--format json` is a document tools can read; and
//! `daftar schema` prints the language's JSON Schema.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use daftar_definitions::source::{Limits, load};
use daftar_definitions::{Options, load_catalog, validate};
use serde_json::Value;

#[path = "cli/db.rs"]
mod db;
use daftar_testkit::pg;

/// A valid clean-record certificate, the base of the mistakes the tests make.
const VALID: &str = include_str!("fixtures/cli/valid.yaml");

/// The valid workflow with three mistakes: an unknown field, an unknown status and an unknown
/// step.
fn invalid() -> String {
    VALID
        .replace("          next: reject", "          nxt: reject")
        .replace("    status: issued\n", "    status: isued\n")
        .replace("      on_failure: reject", "      on_failure: rejct")
}

/// A workflow whose only diagnostic is a warning: a template nothing sends.
fn warning_only() -> String {
    VALID.replace(
        "templates:\n",
        "templates:\n  unused:\n    fa: \"یادآوری\"\n    en: \"Reminder\"\n",
    )
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn catalog_path() -> PathBuf {
    root().join("examples/connectors.yaml")
}

fn daftar(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_daftar"))
        .args(args)
        .env_remove("DAFTAR_CONNECTORS")
        .output()
        .expect("the daftar binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("output is UTF-8")
}

/// Writes files into a fresh directory (with no connectors.yaml above it that could be found).
fn files(named: &[(&str, &str)]) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let paths = named
        .iter()
        .map(|(name, content)| {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            path.display().to_string()
        })
        .collect();
    (dir, paths)
}

/// Validates `content`, written alone to a file `name`, with the example catalog; answers the
/// folder, the file's path (alone in a list) and what the CLI did.
fn validated_alone(name: &str, content: &str) -> (tempfile::TempDir, Vec<String>, Output) {
    let (dir, paths) = files(&[(name, content)]);
    let catalog = catalog_path().display().to_string();
    let out = daftar(&["validate", &paths[0], "--connectors", &catalog]);
    (dir, paths, out)
}

/// What the library finds in `text` (of the file `file`) with the example catalog.
fn library_validation(file: &str, text: &str) -> daftar_definitions::Validation {
    let catalog =
        load_catalog("c", &std::fs::read_to_string(catalog_path()).unwrap()).expect("valid");
    let options = Options {
        catalog: Some(&catalog),
        workflows: None,
    };
    validate(file, text, options)
}

/// Checks that the CLI exited with `expected`, showing what it printed when not.
fn assert_exits(out: &Output, expected: i32, what: &str) {
    assert_eq!(
        code(out),
        expected,
        "{what}: stdout {} stderr {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally, not by a signal")
}

/// `file:line:column: CODE message`, with `warning: ` before the message of warnings.
fn parse_line(line: &str) -> Option<(String, usize, usize, String, String)> {
    let (rest, message) = line.split_once(": DEF")?;
    let (code, message) = message.split_once(' ')?;
    let mut parts = rest.rsplitn(3, ':');
    let column = parts.next()?.parse().ok()?;
    let line_no = parts.next()?.parse().ok()?;
    let file = parts.next()?.to_owned();
    (code.len() == 3 && code.chars().all(|c| c.is_ascii_digit())).then(|| {
        (
            file,
            line_no,
            column,
            format!("DEF{code}"),
            message.to_owned(),
        )
    })
}

#[test]
fn a_valid_file_exits_0_and_prints_no_diagnostic() {
    let (_dir, _, out) = validated_alone("valid.yaml", VALID);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    assert!(
        text(&out.stderr).contains("1 valid"),
        "a summary on stderr: {}",
        text(&out.stderr)
    );
}

#[test]
fn an_invalid_file_exits_1_with_one_line_per_diagnostic() {
    let bad = invalid();
    let (_dir, paths, out) = validated_alone("invalid.yaml", &bad);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let parsed: Vec<_> = stdout.lines().map(|l| (l, parse_line(l))).collect();
    for (line, p) in &parsed {
        assert!(p.is_some(), "not `file:line:column: CODE message`: {line}");
    }
    // The same diagnostics as the library finds.
    let expected = library_validation(&paths[0], &bad);
    let printed: Vec<(usize, usize, String)> = parsed
        .iter()
        .map(|(_, p)| {
            let (file, l, c, code, _) = p.clone().unwrap();
            assert_eq!(file, paths[0]);
            (l, c, code)
        })
        .collect();
    let wanted: Vec<(usize, usize, String)> = expected
        .diagnostics
        .iter()
        .map(|d| (d.location.line, d.location.column, d.code.to_string()))
        .collect();
    assert_eq!(printed, wanted);
    for code in ["DEF002", "DEF004", "DEF021", "DEF022"] {
        assert!(
            printed.iter().any(|(_, _, c)| c == code),
            "{code} in\n{stdout}"
        );
    }
    assert!(stdout.contains("did you mean `next`?"), "{stdout}");
}

#[test]
fn warnings_exit_0_unless_denied() {
    let warn = warning_only();
    let (_dir, paths, out) = validated_alone("warn.yaml", &warn);
    let catalog = catalog_path().display().to_string();
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains(": DEF029 warning: "), "{stdout}");

    let out = daftar(&[
        "validate",
        &paths[0],
        "--connectors",
        &catalog,
        "--deny-warnings",
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out.stdout));

    // Without a catalog, the missing catalog is itself a warning.
    let (_dir, paths) = files(&[("valid.yaml", VALID)]);
    let out = daftar(&["validate", &paths[0]]);
    assert_eq!(code(&out), 0);
    assert!(text(&out.stdout).contains(": DEF080 warning: "));
}

#[test]
fn one_invalid_file_among_valid_ones_exits_1() {
    let bad = invalid();
    let (_dir, paths) = files(&[("a.yaml", VALID), ("b.yaml", &bad), ("c.yaml", VALID)]);
    let catalog = catalog_path().display().to_string();
    let out = daftar(&[
        "validate",
        &paths[0],
        &paths[1],
        &paths[2],
        "--connectors",
        &catalog,
    ]);
    assert_eq!(code(&out), 1);
    let stdout = text(&out.stdout);
    assert!(stdout.lines().all(|l| l.starts_with(&paths[1])), "{stdout}");
}

#[test]
fn usage_errors_exit_2() {
    let (_dir, paths) = files(&[("valid.yaml", VALID)]);
    let missing = Path::new(&paths[0])
        .with_file_name("missing.yaml")
        .display()
        .to_string();
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("no files", vec!["validate"]),
        (
            "an unknown flag",
            vec!["validate", "--frobnicate", &paths[0]],
        ),
        ("a file that does not exist", vec!["validate", &missing]),
        (
            "a file that does not exist among ones that do",
            vec!["validate", &paths[0], &missing],
        ),
        (
            "an unknown output format",
            vec!["validate", "--format", "xml", &paths[0]],
        ),
        (
            "a catalog that does not exist",
            vec!["validate", &paths[0], "--connectors", &missing],
        ),
        ("an unknown command", vec!["vaildate", &paths[0]]),
        ("no command", vec![]),
    ];
    for (what, args) in cases {
        let out = daftar(&args);
        assert_exits(&out, 2, what);
        assert!(!text(&out.stderr).is_empty(), "{what}: says why on stderr");
    }
}

#[test]
fn an_invalid_catalog_is_a_usage_error_that_names_its_problems() {
    let (_dir, paths) = files(&[
        ("valid.yaml", VALID),
        (
            "connectors.yaml",
            "connectors:\n  civil_registry:\n    agency: sabt\n    kind: inquiry\n    operation: {}\n",
        ),
    ]);
    // Named explicitly, and found beside the definition.
    for args in [
        vec!["validate", &paths[0], "--connectors", &paths[1]],
        vec!["validate", &paths[0]],
    ] {
        let out = daftar(&args);
        assert_eq!(code(&out), 2, "{}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(stderr.contains(":5:5: DEF081 "), "{stderr}");
        assert!(stderr.contains("did you mean `operations`?"), "{stderr}");
    }
}

#[test]
fn the_catalog_is_found_beside_the_definitions_and_in_the_environment() {
    let catalog = std::fs::read_to_string(catalog_path()).unwrap();
    let (dir, paths) = files(&[("connectors.yaml", &catalog)]);
    let sub = dir.path().join("workflows");
    std::fs::create_dir(&sub).unwrap();
    let file = sub.join("valid.yaml");
    std::fs::write(&file, VALID).unwrap();
    let file = file.display().to_string();
    let out = daftar(&["validate", &file]);
    assert_eq!(code(&out), 0);
    assert_eq!(text(&out.stdout), "", "no DEF080: the catalog was found");

    let (_other, lone) = files(&[("valid.yaml", VALID)]);
    let out = Command::new(env!("CARGO_BIN_EXE_daftar"))
        .args(["validate", &lone[0]])
        .env("DAFTAR_CONNECTORS", &paths[0])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(text(&out.stdout), "", "no DEF080: the catalog was named");
}

#[test]
fn json_output_parses_and_carries_every_diagnostic() {
    let bad = invalid();
    let (_dir, paths) = files(&[("good.yaml", VALID), ("bad.yaml", &bad)]);
    let catalog = catalog_path().display().to_string();
    let out = daftar(&[
        "validate",
        &paths[0],
        &paths[1],
        "--format",
        "json",
        "--connectors",
        &catalog,
    ]);
    assert_eq!(code(&out), 1);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    let listed = doc["files"].as_array().expect("a list of files");
    assert_eq!(listed.len(), 2);

    let good = &listed[0];
    assert_eq!(good["file"], paths[0].as_str());
    assert_eq!(good["valid"], true);
    assert!(good["hash"].is_string(), "a valid file has a hash: {good}");
    assert_eq!(good["diagnostics"], Value::Array(Vec::new()));

    let bad_json = &listed[1];
    assert_eq!(bad_json["file"], paths[1].as_str());
    assert_eq!(bad_json["valid"], false);
    assert!(bad_json["hash"].is_null());
    let diagnostics = bad_json["diagnostics"].as_array().unwrap();
    let expected = library_validation(&paths[1], &bad);
    assert_eq!(diagnostics.len(), expected.diagnostics.len());
    for (json, d) in diagnostics.iter().zip(&expected.diagnostics) {
        assert_eq!(json["code"], d.code.as_str(), "{json}");
        assert_eq!(json["line"], d.location.line, "{json}");
        assert_eq!(json["column"], d.location.column, "{json}");
        assert_eq!(json["message"], d.message.as_str(), "{json}");
        let severity = match d.severity {
            daftar_definitions::Severity::Error => "error",
            daftar_definitions::Severity::Warning => "warning",
        };
        assert_eq!(json["severity"], severity, "{json}");
        assert_eq!(json["pointer"], d.pointer.as_str(), "{json}");
        assert_eq!(json["file"], paths[1].as_str(), "{json}");
        assert!(json["line"].as_u64().unwrap() >= 1);
        assert!(json["column"].as_u64().unwrap() >= 1);
    }
    let unknown_field = diagnostics
        .iter()
        .find(|d| d["code"] == "DEF002")
        .expect("DEF002");
    assert_eq!(
        unknown_field["message"],
        "unknown field `nxt`; did you mean `next`?"
    );

    // Warnings say so.
    let (_dir, paths) = files(&[("warn.yaml", &warning_only())]);
    let out = daftar(&["validate", &paths[0], "--format", "json"]);
    assert_eq!(code(&out), 0);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let severities: Vec<&Value> = doc["files"][0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["severity"])
        .collect();
    assert!(!severities.is_empty());
    assert!(severities.iter().all(|s| *s == "warning"), "{doc}");
}

#[test]
fn json_output_reports_unreadable_files_too() {
    let (_dir, paths) = files(&[("latin1.yaml", "daftar: 1\n")]);
    std::fs::write(&paths[0], b"daftar: 1\nid: caf\xe9\n").unwrap();
    let out = daftar(&["validate", &paths[0], "--format", "json"]);
    assert_eq!(code(&out), 1);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &doc["files"][0]["diagnostics"][0];
    assert_eq!(d["code"], "DEF001");
    assert_eq!(d["line"], 2);
}

#[test]
fn schema_prints_the_language_schema_as_a_valid_json_schema() {
    let out = daftar(&["schema"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).expect("the schema is JSON");
    assert_eq!(&printed, daftar_definitions::schema::language_schema());
    assert_eq!(
        printed["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(printed["$id"], daftar_definitions::schema::SCHEMA_ID);
    assert_eq!(printed["type"], "object");
    assert_eq!(printed["additionalProperties"], false);
    let required: Vec<&str> = printed["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for field in ["daftar", "id", "version", "title", "steps"] {
        assert!(required.contains(&field), "{field} is required");
    }

    // It compiles as a draft 2020-12 schema (the builder checks it against the meta-schema),
    // accepts a valid definition and refuses a broken one.
    let validator = daftar_definitions::formats::options()
        .build(&printed)
        .expect("the printed schema is a valid JSON Schema");
    let as_json = |text: &str| {
        let (doc, problems) = load(text, Limits::default());
        assert!(problems.is_empty(), "{problems:?}");
        doc.unwrap().value
    };
    assert!(validator.is_valid(&as_json(VALID)));
    assert!(!validator.is_valid(&as_json(&invalid())));
    assert!(!validator.is_valid(&serde_json::json!({ "daftar": 1 })));
}

#[test]
fn the_example_workflows_are_valid() {
    let dir = root().join("examples/workflows");
    let mut paths: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    if paths.is_empty() {
        eprintln!("no example workflows yet under {}", dir.display());
        return;
    }
    let mut args = vec!["validate"];
    args.extend(paths.iter().map(String::as_str));
    let out = daftar(&args);
    assert_exits(&out, 0, "the examples");
    assert_eq!(
        text(&out.stdout),
        "",
        "the examples have no warnings either (their catalog, examples/connectors.yaml, is \
         found beside them)"
    );
    // The same in JSON: every file valid and hashed.
    args.extend(["--format", "json"]);
    let out = daftar(&args);
    assert_eq!(code(&out), 0);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    for file in doc["files"].as_array().unwrap() {
        assert_eq!(file["valid"], true, "{file}");
        assert!(file["hash"].is_string(), "{file}");
    }
}
