//! `daftar message` on a real SQLite file: a request that `run` left waiting for a message is
//! driven to its end by the message, delivered by its correlation key (and, for a second
//! request, by its tracking code); a repeated message id has one effect, and a message no
//! request waits for is kept.

use daftar_testkit::process::daftar;
use std::process::Output;

const WORKFLOW: &str = r#"daftar: 1
id: documents-by-post
version: 1
title: { fa: ارسال مدارک, en: Documents by post }
agency: registry
in_force_from: 2026-01-01
sla: 30d
input:
  schema:
    type: object
    required: [case]
    properties:
      case: { type: string }
steps:
  - id: await_documents
    wait:
      message: documents_received
      correlation: input.case
      timeout: 10d
      on_timeout: lapsed
      output:
        pages: message.pages
    next: done
  - id: done
    end: { outcome: approved }
  - id: lapsed
    end: { outcome: rejected }
"#;

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ended(db: &str, id: &str) -> bool {
    ok(&daftar(&["history", id, "--db", db])).contains("InstanceCompleted")
}

#[test]
fn a_message_delivered_from_the_command_line_ends_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("documents.yaml");
    std::fs::write(&file, WORKFLOW).unwrap();
    let answers = dir.path().join("answers.json");
    std::fs::write(&answers, "{}").unwrap();
    let db = format!("sqlite://{}", dir.path().join("daftar.db").display());
    let mut codes = Vec::new();
    for case in ["C-17", "C-18"] {
        let input = format!(r#"{{"case": "{case}"}}"#);
        let file = file.to_str().unwrap();
        let run = daftar_testkit::process::run(file, &input, &answers, &db);
        let out = ok(&run) + &String::from_utf8_lossy(&run.stderr);
        // The tracking code, from the line `run` prints it on (stderr): `tracking code: …`.
        let code = out
            .lines()
            .find_map(|l| l.strip_prefix("tracking code: "))
            .map(|c| c.trim().to_owned())
            .expect("run prints the tracking code");
        assert_eq!(code.len(), 10, "{code}");
        codes.push(code);
    }

    // By correlation key. The request has ended with it, so a repeat finds no one waiting: it is
    // kept for review, and has no second effect (one `MessageReceived`, checked below).
    let by_key = [
        "message",
        "documents_received",
        "--correlation",
        "C-17",
        "--agency",
        "registry",
        "--payload",
        r#"{"pages": 4}"#,
        "--id",
        "post-1",
        "--db",
        &db,
    ];
    assert!(ok(&daftar(&by_key)).starts_with("delivered"));
    ok(&daftar(&by_key));

    // Nobody waits for this key: kept.
    let stray = ok(&daftar(&[
        "message",
        "documents_received",
        "--correlation",
        "C-99",
        "--agency",
        "registry",
        "--db",
        &db,
    ]));
    assert!(stray.starts_with("kept"), "{stray}");

    // By request, for the second request (by its tracking code).
    let second = codes[1].clone();
    // A message the request does not wait for is refused.
    let wrong = daftar(&["message", "something_else", "--to", &second, "--db", &db]);
    let said = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(wrong.status.code(), Some(1), "{said}");
    assert!(said.contains("does not wait"), "{said}");
    ok(&daftar(&[
        "message",
        "documents_received",
        "--to",
        &second,
        "--payload",
        r#"{"pages": 2}"#,
        "--db",
        &db,
    ]));

    assert!(ended(&db, &codes[0]));
    assert!(ended(&db, &second));
    let history = ok(&daftar(&["history", &codes[0], "--db", &db]));
    assert_eq!(
        history.matches("\"MessageReceived\"").count(),
        1,
        "{history}"
    );
}
