//! The validator's guards for citizens, on the shipped examples: a loop must be bounded
//! (DEF036), and an agency that cannot be reached must not lead only to a refusal (DEF037).

use std::path::Path;

use daftar_definitions::{Catalog, Code, load_catalog, validate_all};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn catalog() -> Catalog {
    let text = std::fs::read_to_string(root().join("examples/connectors.yaml")).unwrap();
    load_catalog("connectors.yaml", &text).unwrap()
}

fn example(name: &str) -> String {
    std::fs::read_to_string(root().join("examples/workflows").join(name)).unwrap()
}

/// The codes of every diagnostic of `files`, validated together.
fn codes(files: &[(&str, String)]) -> Vec<Code> {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(n, s)| ((*n).to_owned(), s.clone()))
        .collect();
    validate_all(&files, Some(&catalog()))
        .iter()
        .flat_map(|v| v.diagnostics.iter().map(|d| d.code))
        .collect()
}

#[test]
fn the_greenhouse_payment_loop_is_refused_without_its_attempt_limit() {
    let shipped = example("greenhouse-permit.yaml");
    let verification = (
        "applicant-verification.yaml",
        example("applicant-verification.yaml"),
    );
    assert_eq!(
        codes(&[
            ("greenhouse-permit.yaml", shipped.clone()),
            verification.clone()
        ]),
        []
    );
    let unbounded = shipped
        .replace("    max_visits: 3\n", "")
        .replace("    on_max_visits: payment_failed\n", "");
    assert_ne!(unbounded, shipped);
    assert_eq!(
        codes(&[("greenhouse-permit.yaml", unbounded), verification]),
        [Code::UnboundedLoop, Code::Unreachable]
    );
}

#[test]
fn a_loop_is_bounded_by_a_person_a_message_or_an_hour_and_not_by_a_minute() {
    let yaml = |pause: &str| {
        format!(
            r#"daftar: 1
id: poll
version: 1
title: {{ fa: آزمون, en: Test }}
agency: test
in_force_from: 2026-03-21
sla: 30d
input:
  schema:
    type: object
    required: [national_id, mobile, postal_code]
    properties:
      national_id: {{ type: string, format: ir-national-id }}
      mobile: {{ type: string, format: ir-mobile }}
      postal_code: {{ type: string, format: ir-postal-code }}
steps:
  - id: ask
    inquiry:
      connector: postal_code
      operation: address_lookup
      input: {{ postal_code: input.postal_code }}
      output: {{ found: response.found }}
  - id: ready
    decision:
      cases:
        - {{ when: found, next: approve }}
      default: pause
  - id: pause
{pause}
    next: ask
  - id: approve
    end: {{ outcome: approved }}
"#
        )
    };
    let bounded = [
        "    wait: { duration: 1h }",
        "    wait: { cron: \"0 9 * * Sat\" }",
        "    wait: { message: ready, correlation: input.postal_code }",
        "    task: { role: clerk, due: 1d, outcomes: { again: ask } }",
    ];
    for pause in bounded {
        let pause = pause.replace("\n    next: ask", "");
        let mut text = yaml(&pause);
        if pause.contains("task") {
            text = text.replace("    next: ask\n", "");
        }
        assert_eq!(codes(&[("poll.yaml", text)]), [], "{pause}");
    }
    for pause in [
        "    wait: { duration: 59m }",
        "    wait: { cron: \"*/30 * * * *\" }",
    ] {
        assert_eq!(
            codes(&[("poll.yaml", yaml(pause))]),
            [Code::UnboundedLoop],
            "{pause}"
        );
    }
    let limited = yaml("    wait: { duration: 1m }")
        .replace("  - id: ask\n", "  - id: ask\n    max_visits: 20\n");
    assert_eq!(codes(&[("poll.yaml", limited)]), []);
}

/// Checks that the shipped clean-record example validates cleanly, and that with `from`
/// replaced by `to` it gives exactly the diagnostic `expected`.
fn clean_record_edited(from: &str, to: &str, expected: Code) {
    let shipped = example("clean-record-certificate.yaml");
    assert_eq!(codes(&[("clean-record.yaml", shipped.clone())]), []);
    let edited = shipped.replace(from, to);
    assert_ne!(edited, shipped);
    assert_eq!(codes(&[("clean-record.yaml", edited)]), [expected]);
}

#[test]
fn sending_an_unreachable_registry_to_a_refusal_is_warned_about() {
    clean_record_edited(
        "      on_failure: identity_not_verified\n",
        "      on_failure: identity_not_verified\n      on_unreachable: identity_not_verified\n",
        Code::OutageRefused,
    );
}

#[test]
fn a_template_with_a_filter_the_engine_does_not_have_is_refused() {
    let shipped = example("licence-renewal-reminders.yaml");
    assert_eq!(codes(&[("reminders.yaml", shipped.clone())]), []);
    let with = |filter: &str| {
        shipped.replace(
            "{{ expires_on_jalali }}. You",
            &format!("{{{{ expires_on_jalali | {filter} }}}}. You"),
        )
    };
    assert_ne!(with("upper"), shipped);
    for known in ["jalali", "fa_digits", "upper", "default('')"] {
        assert_eq!(codes(&[("reminders.yaml", with(known))]), [], "{known}");
    }
    let files = [("reminders.yaml".to_owned(), with("shamsi"))];
    let diagnostics: Vec<_> = validate_all(&files, Some(&catalog()))
        .into_iter()
        .flat_map(|v| v.diagnostics)
        .collect();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0].code, Code::TemplateSyntax);
    assert!(
        diagnostics[0].message.contains("the filter `shamsi`"),
        "{}",
        diagnostics[0].message
    );
    assert_eq!(diagnostics[0].pointer, "/templates/renewal_reminder/en");
}

#[test]
fn joining_names_an_unknown_applicant_leaves_null_is_warned_about() {
    clean_record_edited(
        "\"response.matched ? response.first_name + ' ' + response.last_name : ''\"",
        "response.first_name + ' ' + response.last_name",
        Code::UnguardedNull,
    );
}
