//! Which services are smart (Article 107 of the Seventh Plan): a service is smart when some
//! path from its start to an end that issues, approves or completes passes no officer's task
//! and waits for no message; otherwise the validator names the steps where a person acts.

use daftar_definitions::{Options, Smartness, compile};

const HEAD: &str = "daftar: 1
id: t
version: 1
title: { fa: آزمون, en: Test }
agency: test
in_force_from: 2026-01-01
sla: 2d
input:
  schema:
    type: object
    properties:
      amount: { type: integer }
steps:
";

/// A review by a clerk that issues or refuses.
const REVIEW: &str = "  - id: review
    task:
      role: clerk
      due: 1d
      outcomes:
        approve: issue
        reject: refuse
";

const ISSUE: &str = "  - id: issue
    end: { outcome: issued }
";

const ENDS: &str = "  - id: issue
    end: { outcome: issued }
  - id: refuse
    end: { outcome: rejected }
";

fn assess(steps: &str) -> Smartness {
    let text = format!("{HEAD}{steps}");
    compile("t.yaml", &text, Options::default())
        .unwrap_or_else(|d| panic!("{d:?}\n{text}"))
        .smartness()
}

#[test]
fn a_service_smart_or_not_and_why() {
    // (what, steps, smart, the steps named)
    let small_amounts_skip_the_review = format!(
        "  - id: route
    decision:
      cases:
        - when: input.amount < 100
          next: issue
      default: review
{REVIEW}{ENDS}"
    );
    let every_request_reviewed = format!("{REVIEW}{ENDS}");
    let waits_for_revised_plans = format!(
        "  - id: plans
    wait: {{ message: plans_revised, correlation: input.amount, timeout: 30d, on_timeout: refuse }}
{ENDS}"
    );
    let waits_a_day = format!("  - id: cool_off\n    wait: {{ duration: 1d }}\n{ISSUE}");
    let only_refuses = "  - id: refuse\n    end: { outcome: rejected }\n".to_owned();
    let branch = |join: &str| {
        format!(
            "  - id: checks
    parallel:
      join: {join}
      branches:
        - id: by_hand
          steps:
            - id: inspect
              task: {{ role: inspector, due: 1d, outcomes: {{ done: inspected }} }}
            - id: inspected
              set: {{ inspected: 'true' }}
        - id: automatic
          steps:
            - id: note
              set: {{ noted: 'true' }}
{ISSUE}"
        )
    };
    let cases: Vec<(&str, String, bool, Vec<&str>)> = vec![
        (
            "a path around the review",
            small_amounts_skip_the_review,
            true,
            vec![],
        ),
        (
            "every request reviewed",
            every_request_reviewed,
            false,
            vec!["review"],
        ),
        (
            "a wait for a message",
            waits_for_revised_plans,
            false,
            vec!["plans"],
        ),
        ("a timer is nobody's act", waits_a_day, true, vec![]),
        ("no end that delivers", only_refuses, false, vec![]),
        (
            "a task in a branch all must join",
            branch("all"),
            false,
            vec!["inspect"],
        ),
        (
            "a task in a branch when any may join",
            branch("any"),
            true,
            vec![],
        ),
    ];
    for (what, steps, smart, named) in cases {
        let s = assess(&steps);
        assert_eq!(s.smart, smart, "{what}: {s:?}");
        assert_eq!(s.human_steps, named, "{what}: {s:?}");
        let prefix = if smart { "smart: " } else { "not smart: " };
        assert!(s.reason.starts_with(prefix), "{what}: {}", s.reason);
    }
}
