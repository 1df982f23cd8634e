//! Given / when / then for the guards that keep a request from harming its citizen: an
//! attempt limit on a step, the budget of steps and SMS of one request, and a workflow that
//! may not be filed.

use daftar_testkit::harness;

use daftar_engine::Error;
use daftar_engine::core::{Budget, Command, Ending, PaymentRequestResult, Wait};
use daftar_engine::events::{Actor, Event, Outcome};
use harness::{HEAD, applicant, given};

fn wf(steps: &str) -> String {
    format!("{HEAD}steps:\n{steps}")
}

/// The greenhouse permit's defect, bounded: a declined payment is offered again, at most three
/// times in all.
const DECLINED_AGAIN: &str = r#"
  - id: pay
    max_visits: 3
    on_max_visits: gave_up
    payment:
      connector: payment_gateway
      amount: 10000
      timeout: 3d
      on_timeout: gave_up
      on_failure: declined
  - id: paid
    end: { outcome: issued }
  - id: declined
    notify: { template: status_changed }
    next: pay
  - id: gave_up
    end: { outcome: expired }
"#;

#[test]
fn a_declined_payment_is_offered_again_at_most_max_visits_times() {
    let mut s = given(&wf(DECLINED_AGAIN));
    s.start(applicant());
    for turn in 1..=3 {
        assert!(!s.state.ended(), "turn {turn}");
        s.when(Command::PaymentRequestResult {
            token: 0,
            attempt: 1,
            result: PaymentRequestResult::Refused {
                reason: "card declined".into(),
            },
        });
    }
    assert_eq!(s.find("PaymentRequested").len(), 3, "three payments opened");
    assert_eq!(
        s.find("NotificationRequested").len(),
        3,
        "one SMS a decline"
    );
    assert!(matches!(
        s.state.ending,
        Some(Ending::Completed {
            outcome: Outcome::Expired,
            ..
        })
    ));
}

/// A loop that the validator accepts (it waits an hour each turn) and that never ends unless
/// an amount is huge: only the budget stops it.
const HOURLY: &str = r#"
  - id: remind
    notify: { template: status_changed }
  - id: pause
    wait: { duration: 1h }
  - id: again
    decision:
      cases:
        - { when: input.amount > 1000000, next: done }
      default: remind
  - id: done
    end: { outcome: completed }
"#;

#[test]
fn a_request_past_its_sms_budget_is_stopped_with_an_incident_until_an_operator_retries() {
    let mut s = given(&wf(HOURLY));
    s.budget = Budget { steps: 500, sms: 3 };
    s.start(applicant());
    while s.state.incidents.is_empty() {
        assert!(s.find("NotificationRequested").len() <= 3);
        s.fire_next_timer();
    }
    assert_eq!(s.find("NotificationRequested").len(), 3);
    let Event::IncidentRaised { reason, .. } = s.find("IncidentRaised")[0] else {
        unreachable!()
    };
    assert!(reason.contains("3 SMS, its budget"), "{reason}");
    assert!(matches!(s.state.tokens[&0].wait, Wait::Incident { .. }));
    // Nothing moves on its own: no timer is pending but the SLA's.
    assert!(
        s.state
            .timers
            .values()
            .all(|t| t.purpose == daftar_engine::events::TimerPurpose::Sla)
    );
    // An operator who has looked at it gives it a fresh budget.
    let incident = s.state.incidents.keys().next().unwrap().clone();
    s.when(Command::RetryIncident { incident });
    assert_eq!(s.find("NotificationRequested").len(), 4);
}

#[test]
fn a_request_past_its_step_budget_is_stopped_with_an_incident() {
    let mut s = given(&wf(HOURLY));
    s.budget = Budget { steps: 7, sms: 100 };
    s.start(applicant());
    let mut turns = 0;
    while s.state.incidents.is_empty() {
        s.fire_next_timer();
        turns += 1;
        assert!(turns < 10, "the budget stops it");
    }
    assert_eq!(s.find("StepEntered").len(), 7);
    let Event::IncidentRaised { reason, .. } = s.find("IncidentRaised")[0] else {
        unreachable!()
    };
    assert!(reason.contains("7 steps, its budget"), "{reason}");
}

#[test]
fn a_workflows_own_limits_replace_the_engines_budget() {
    let yaml = wf(HOURLY).replace("steps:\n", "limits: { sms: 5 }\nsteps:\n");
    let mut s = given(&yaml);
    s.budget = Budget { steps: 500, sms: 2 };
    s.start(applicant());
    while s.state.incidents.is_empty() {
        s.fire_next_timer();
    }
    assert_eq!(s.find("NotificationRequested").len(), 5);
}

const SCHEDULED_ONLY: &str = r#"
triggers:
  request: false
  schedules:
    - id: daily
      cron: "0 9 * * *"
      input: { national_id: "0499370899", mobile: "09121234567" }
"#;

#[test]
fn a_citizen_cannot_file_a_workflow_that_takes_no_requests() {
    let yaml = wf("  - id: done\n    end: { outcome: completed }\n").replace(
        "steps:\n",
        &format!("{}steps:\n", SCHEDULED_ONLY.trim_start()),
    );
    let start = |actor: Actor| {
        let mut s = given(&yaml);
        s.actor = actor;
        s.try_when(Command::Start {
            instance: "i-1".into(),
            tracking_code: "TRK1".into(),
            input: applicant(),
            parent: None,
        })
    };
    for actor in [Actor::Citizen, Actor::Officer("o-1".into())] {
        let err = start(actor).unwrap_err();
        assert!(matches!(err, Error::NotRequestable { .. }), "{err}");
        assert!(err.to_string().contains("triggers.request: false"), "{err}");
    }
    // Its schedule (the engine itself) still starts it.
    assert!(start(Actor::System).is_ok());
}

#[test]
fn an_escalation_tells_the_new_role_in_its_worklist_never_by_sms() {
    let steps = r#"
  - id: review
    status: checking
    task:
      role: clerk
      due: 3d
      escalation:
        - { after: 2d, to: supervisor, notify: status_changed }
      outcomes: { approve: done }
  - id: done
    end: { outcome: approved }
"#;
    let mut s = given(&wf(steps));
    s.start(applicant());
    let before = s.find("NotificationRequested").len();
    s.fire_next_timer().then(&["TimerFired", "TaskEscalated"]);
    assert_eq!(
        s.find("NotificationRequested").len(),
        before,
        "no SMS to `role:supervisor` through the citizens' gateway"
    );
    let Event::TaskEscalated { to, notice, .. } = s.find("TaskEscalated")[0] else {
        unreachable!()
    };
    assert_eq!(to, "supervisor");
    assert_eq!(notice.as_deref(), Some("درخواست TRK1: در حال بررسی"));
    let task = s.state.tasks.values().next().unwrap();
    assert_eq!(task.role.as_deref(), Some("supervisor"));
    assert_eq!(task.notice, notice.clone());
}

#[test]
fn an_invalid_task_form_is_refused_with_every_error_and_its_place() {
    let yaml = wf(r#"
  - id: review
    task:
      role: clerk
      form: review
      due: 1d
      outcomes: { approve: done }
  - id: done
    end: { outcome: approved }
"#)
    .replace(
        "      required: [note]\n      properties:\n        note: { type: string, minLength: 1 }\n",
        "      required: [note, score]\n      properties:\n        note: { type: string, minLength: 1 }\n        score: { type: integer, maximum: 10 }\n        seen: { type: boolean }\n",
    );
    let mut s = given(&yaml);
    s.start(applicant());
    let task = s.state.tasks.keys().next().unwrap().clone();
    s.when(Command::ClaimTask {
        task: task.clone(),
        officer: "o1".into(),
    });
    let err = s
        .try_when(Command::CompleteTask {
            task,
            officer: "o1".into(),
            outcome: "approve".into(),
            form: serde_json::json!({"note": "", "score": 11, "seen": "yes"}),
        })
        .unwrap_err();
    let Error::InvalidForm(violations) = &err else {
        panic!("{err}")
    };
    let mut pointers: Vec<&str> = violations.iter().map(|v| v.pointer.as_str()).collect();
    pointers.sort_unstable();
    assert_eq!(pointers, ["/note", "/score", "/seen"], "{err}");
}
