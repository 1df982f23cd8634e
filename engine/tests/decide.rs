//! Given / when / then for every construct of the language.

use daftar_testkit::harness;

use chrono::Duration;
use daftar_engine::Error;
use daftar_engine::core::{
    CALLBACK, Command, Ending, InquiryResult, PAYMENT, PaymentRequestResult, Wait,
};
use daftar_engine::events::{Event, InquiryEvidence, Outcome};
use harness::{HEAD, Scenario, applicant, given};
use serde_json::{Value, json};

fn answered(response: serde_json::Value) -> InquiryResult {
    InquiryResult::Answered {
        evidence: InquiryEvidence {
            sha256: "00".into(),
            response,
            agency_time: None,
            latency_ms: 12,
        },
    }
}

fn wf(steps: &str) -> String {
    format!("{HEAD}steps:\n{steps}")
}

/// The scenario of a workflow of `steps`, started by the example applicant.
fn started(steps: &str) -> Scenario {
    let mut s = given(&wf(steps));
    s.start(applicant());
    s
}

/// [`started`] with the first `from` of `steps` replaced by `to`.
fn started_edited(steps: &str, from: &str, to: &str) -> Scenario {
    started(&steps.replacen(from, to, 1))
}

/// [`started`], checking the start's events: the instance started, its SLA timer scheduled
/// and its first step entered, then `then`.
fn started_then(steps: &str, then: &[&str]) -> Scenario {
    let mut s = given(&wf(steps));
    let expected = [&["InstanceStarted", "TimerScheduled", "StepEntered"], then].concat();
    s.start(applicant()).then(&expected);
    s
}

/// Event kinds of a waiting step that `first` ends: its output set, its timer cancelled, the
/// end step entered and the SLA timer cancelled as the instance completes.
fn to_the_end(first: &[&'static str]) -> Vec<&'static str> {
    let end = [
        "DataSet",
        "TimerCancelled",
        "StepCompleted",
        "StepEntered",
        "TimerCancelled",
        "InstanceCompleted",
    ];
    [first, &end].concat()
}

/// The result of attempt `attempt` of the first token's inquiry.
fn inquiry(attempt: u32, result: InquiryResult) -> Command {
    Command::InquiryResult {
        token: 0,
        attempt,
        result,
    }
}

/// The gateway's answer to the first token's payment: opened at reference `P-1`.
fn opened() -> Command {
    Command::PaymentRequestResult {
        token: 0,
        attempt: 1,
        result: PaymentRequestResult::Opened {
            reference: "P-1".into(),
            url: None,
        },
    }
}

/// A message of kind `name` (a callback, a payment result, an applicant's answer) correlated
/// by `correlation`, with the id `message_id`.
fn message(name: &str, correlation: &str, message_id: &str, payload: Value) -> Command {
    Command::DeliverMessage {
        name: name.into(),
        correlation: correlation.into(),
        message_id: message_id.into(),
        payload,
    }
}

/// The idempotency key of the first event of `kind` (an inquiry or a payment requested).
fn first_key(s: &Scenario, kind: &str) -> String {
    match s.find(kind)[0] {
        Event::InquiryRequested {
            idempotency_key, ..
        }
        | Event::PaymentRequested {
            idempotency_key, ..
        } => idempotency_key.clone(),
        other => unreachable!("{other:?}"),
    }
}

const INQUIRY: &str = concat!(
    "\n",
    daftar_testkit::identity_step!(),
    r#"  - id: decide
    decision:
      cases:
        - when: alive
          next: issue
      default: refused
  - id: issue
    status: done
    end: { outcome: issued, document: { type: certificate } }
  - id: refused
    end: { outcome: rejected }
"#
);

#[test]
fn start_enters_the_first_step_changes_status_and_asks() {
    let asked = ["StatusChanged", "NotificationRequested", "InquiryRequested"];
    let s = started_then(INQUIRY, &asked);
    let Event::NotificationRequested {
        text, recipient, ..
    } = s.find("NotificationRequested")[0]
    else {
        unreachable!()
    };
    assert_eq!(recipient, "09121234567");
    assert_eq!(text, "درخواست TRK1: در حال بررسی");
    let Event::InquiryRequested {
        request,
        idempotency_key,
        ..
    } = s.find("InquiryRequested")[0]
    else {
        unreachable!()
    };
    assert_eq!(request, &json!({"national_id": "0499370899"}));
    assert!(idempotency_key.starts_with("i-1:identity:"));
}

#[test]
fn an_answer_runs_the_instance_to_its_end_with_evidence() {
    let mut s = started(INQUIRY);
    s.when(inquiry(1, answered(json!({"alive": true})))).then(&[
        "InquiryAnswered",
        "DataSet",
        "StepCompleted",
        "StepEntered",
        "DecisionTaken",
        "StepCompleted",
        "StepEntered",
        "StatusChanged",
        "NotificationRequested",
        "TimerCancelled",
        "InstanceCompleted",
    ]);
    let Event::DecisionTaken { evidence, .. } = s.find("DecisionTaken")[0] else {
        unreachable!()
    };
    assert_eq!(evidence.chosen, Some(0));
    assert_eq!(evidence.inputs["alive"], json!(true));
    match &s.state.ending {
        Some(Ending::Completed {
            outcome: Outcome::Issued,
            document_id: Some(id),
        }) => {
            // The agency's code, the minute of issue, the tracking code, a check character
            // (the scenario's tracking code is shorter than a real one's nine characters).
            assert!(id.starts_with(harness::DOCUMENT_CODE), "{id}");
            assert_eq!(&id[10..14], "TRK1", "{id}");
            assert_eq!(daftar_engine::document::fold(id), 0, "{id}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        s.state.timers.is_empty(),
        "the SLA timer is cancelled at the end"
    );
    let err = s
        .try_when(Command::Cancel {
            reason: "late".into(),
        })
        .unwrap_err();
    assert_eq!(err, Error::Ended);
}

#[test]
fn an_issued_document_is_revoked_once_by_an_officer_with_a_reason() {
    use daftar_engine::events::Actor;
    let mut s = started(INQUIRY);
    s.when(inquiry(1, answered(json!({"alive": true}))));
    let Some(Ending::Completed {
        document_id: Some(id),
        ..
    }) = s.state.ending.clone()
    else {
        panic!("no document: {:?}", s.state.ending)
    };
    let revoke = |reason: &str| Command::RevokeDocument {
        reason: reason.into(),
    };
    // Only a person revokes, and only with a reason.
    assert!(matches!(
        s.try_when(revoke("forged")),
        Err(Error::NotAllowed(_))
    ));
    s.actor = Actor::Officer("o-7".into());
    assert!(matches!(
        s.try_when(revoke("  ")),
        Err(Error::NotAllowed(_))
    ));
    s.when(revoke("issued on a forged identity card"))
        .then(&["DocumentRevoked"]);
    let Event::DocumentRevoked {
        document_id,
        reason,
        by,
        at,
    } = s.find("DocumentRevoked")[0]
    else {
        unreachable!()
    };
    assert_eq!(document_id, &id);
    assert_eq!(reason, "issued on a forged identity card");
    assert_eq!(by, "o-7");
    assert_eq!(*at, s.now);
    assert_eq!(s.state.revoked.as_ref().map(|r| r.by.as_str()), Some("o-7"));
    // Once.
    assert!(matches!(
        s.try_when(revoke("again")),
        Err(Error::NotAllowed(_))
    ));
}

#[test]
fn a_request_that_issued_no_document_has_nothing_to_revoke() {
    use daftar_engine::events::Actor;
    let mut s = started(INQUIRY);
    s.actor = Actor::Operator("admin-1".into());
    // Still running.
    assert!(matches!(
        s.try_when(Command::RevokeDocument {
            reason: "no".into()
        }),
        Err(Error::NotAllowed(_))
    ));
}

#[test]
fn transient_failures_retry_with_backoff_then_ask_an_operator_never_refuse() {
    let mut s = started(INQUIRY);
    let transient = || InquiryResult::Transient {
        reason: "503".into(),
    };
    s.when(inquiry(1, transient()))
        .then(&["InquiryFailed", "TimerScheduled"]);
    let timer = s.next_timer();
    let delay = s.state.timers[&timer].due_at - s.now;
    assert!(
        delay <= Duration::seconds(1) && delay >= Duration::milliseconds(800),
        "{delay}"
    );
    s.fire_next_timer()
        .then(&["TimerFired", "InquiryRequested"]);
    // A stale report of the first attempt is refused and changes nothing.
    let stale = s.try_when(inquiry(1, transient()));
    assert!(matches!(stale, Err(Error::Stale(_))));
    s.when(inquiry(2, transient()));
    let second = s.state.timers[&s.next_timer()].due_at - s.now;
    assert!(
        second > delay,
        "the second wait is longer: {second} vs {delay}"
    );
    s.fire_next_timer();
    s.when(inquiry(3, transient()))
        .then(&["InquiryFailed", "IncidentRaised"]);
    assert_eq!(
        s.find("InquiryRequested").len(),
        3,
        "exactly max_attempts attempts"
    );
    // An agency that could not be reached did not say no: `on_failure` (its refusal) is not
    // followed, an operator is asked instead.
    assert!(s.state.ending.is_none(), "{:?}", s.state.ending);
    assert!(matches!(s.state.tokens[&0].wait, Wait::Incident { .. }));
    let Event::IncidentRaised { reason, .. } = s.find("IncidentRaised")[0] else {
        unreachable!()
    };
    assert!(reason.contains("could not be reached"), "{reason}");
}

#[test]
fn an_unreachable_agency_follows_on_unreachable_when_the_designer_names_it() {
    let review = "  - id: review\n    task:\n      role: clerk\n      due: 1d\n      outcomes: { issue: issue, refuse: refused }\n";
    let mut s = started_edited(
        &(INQUIRY.to_owned() + review),
        "on_failure: refused",
        "on_failure: refused\n      on_unreachable: review",
    );
    for attempt in 1..=3 {
        s.when(inquiry(
            attempt,
            InquiryResult::Transient {
                reason: "503".into(),
            },
        ));
        if attempt < 3 {
            s.fire_next_timer();
        }
    }
    assert_eq!(s.state.tokens[&0].step, "review");
    assert!(matches!(s.state.tokens[&0].wait, Wait::Task { .. }));
}

#[test]
fn a_refusal_follows_the_failure_path_at_once() {
    let mut s = started(INQUIRY);
    s.when(inquiry(
        1,
        InquiryResult::Refused {
            reason: "400".into(),
        },
    ));
    assert_eq!(s.find("InquiryRequested").len(), 1);
    assert_eq!(s.outcome(), Some(Outcome::Rejected));
}

#[test]
fn an_unknown_outcome_can_raise_an_incident_that_an_operator_retries() {
    let on_unknown = "on_failure: refused\n      on_unknown: incident";
    let mut s = started_edited(INQUIRY, "on_failure: refused", on_unknown);
    s.when(inquiry(1, InquiryResult::Unknown))
        .then(&["InquiryOutcomeUnknown", "IncidentRaised"]);
    let incident = s.state.incidents.keys().next().unwrap().clone();
    assert!(matches!(s.state.tokens[&0].wait, Wait::Incident { .. }));
    s.when(Command::RetryIncident { incident }).then(&[
        "IncidentResolved",
        "StepEntered",
        "InquiryRequested",
    ]);
    assert!(s.state.incidents.is_empty());
    let keys: Vec<_> = s
        .find("InquiryRequested")
        .iter()
        .map(|e| match e {
            Event::InquiryRequested {
                idempotency_key,
                attempt,
                ..
            } => (idempotency_key.clone(), *attempt),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(keys[1].1, 1, "a retried step starts its attempts afresh");
    assert_ne!(
        keys[0].0, keys[1].0,
        "a new visit has a new idempotency key"
    );
}

#[test]
fn decisions_take_the_first_case_that_holds_and_record_why() {
    let steps = r#"
  - id: route
    decision:
      cases:
        - when: input.amount > 10000
          next: big
        - when: input.category == "food"
          next: food
      default: other
  - id: big
    end: { outcome: rejected }
  - id: food
    end: { outcome: approved }
  - id: other
    end: { outcome: approved }
"#;
    let s = started(steps);
    let Event::DecisionTaken { evidence, .. } = s.find("DecisionTaken")[0] else {
        unreachable!()
    };
    assert_eq!(
        evidence.cases,
        vec![
            ("input.amount > 10000".into(), json!(false)),
            ("input.category == \"food\"".into(), json!(true))
        ]
    );
    assert_eq!(evidence.next, "food");
}

#[test]
fn a_decision_that_does_not_give_a_boolean_raises_an_incident() {
    let steps = r#"
  - id: route
    decision:
      cases:
        - when: input.category
          next: a
      default: a
  - id: a
    end: { outcome: approved }
"#;
    let s = started(steps);
    assert_eq!(s.find("IncidentRaised").len(), 1);
    assert!(s.state.ending.is_none());
}

const TASK: &str = concat!(
    "\n",
    daftar_testkit::review_task!("ok", "no"),
    "  - id: ok\n    end: { outcome: approved }\n",
    "  - id: no\n    end: { outcome: rejected }\n"
);

#[test]
fn tasks_are_claimed_completed_with_a_valid_form_and_escalate_on_time() {
    let task_and_timers = ["TaskCreated", "TimerScheduled", "TimerScheduled"];
    let mut s = started_then(TASK, &task_and_timers);
    let task = s.state.tasks.keys().next().unwrap().clone();
    assert_eq!(s.state.tasks[&task].due_at, s.now + Duration::days(3));
    s.when(Command::ClaimTask {
        task: task.clone(),
        officer: "o1".into(),
    });
    let taken = s.try_when(Command::ClaimTask {
        task: task.clone(),
        officer: "o2".into(),
    });
    assert!(matches!(taken, Err(Error::NotAllowed(_))));
    s.fire_next_timer().then(&["TimerFired", "TaskEscalated"]);
    assert_eq!(s.state.tasks[&task].role.as_deref(), Some("supervisor"));
    assert_eq!(
        s.state.tasks[&task].officer, None,
        "escalation releases the claim"
    );
    let bad_outcome = s.try_when(Command::CompleteTask {
        task: task.clone(),
        officer: "s1".into(),
        outcome: "maybe".into(),
        form: json!({"note": "x"}),
    });
    assert!(matches!(bad_outcome, Err(Error::NotAllowed(_))));
    let bad_form = s.try_when(Command::CompleteTask {
        task: task.clone(),
        officer: "s1".into(),
        outcome: "approve".into(),
        form: json!({}),
    });
    assert!(matches!(bad_form, Err(Error::InvalidForm(_))));
    s.when(Command::CompleteTask {
        task: task.clone(),
        officer: "s1".into(),
        outcome: "reject".into(),
        form: json!({"note": "no kitchen"}),
    })
    .then(&to_the_end(&["TaskCompleted"]));
    assert_eq!(s.state.vars["note"], json!("no kitchen"));
    assert_eq!(s.outcome(), Some(Outcome::Rejected));
}

#[test]
fn a_task_is_given_to_another_role_or_officer_and_stays_open() {
    let mut s = started(TASK);
    let task = s.state.tasks.keys().next().unwrap().clone();
    let nobody = s.try_when(Command::ReassignTask {
        task: task.clone(),
        role: None,
        officer: None,
    });
    assert!(matches!(nobody, Err(Error::NotAllowed(_))));
    s.when(Command::ReassignTask {
        task: task.clone(),
        role: Some("supervisor".into()),
        officer: None,
    })
    .then(&["TaskReassigned"]);
    assert_eq!(s.state.tasks[&task].role.as_deref(), Some("supervisor"));
    s.when(Command::ReassignTask {
        task: task.clone(),
        role: None,
        officer: Some("s1".into()),
    })
    .then(&["TaskReassigned"]);
    assert_eq!(s.state.tasks[&task].role.as_deref(), Some("supervisor"));
    assert_eq!(s.state.tasks[&task].officer.as_deref(), Some("s1"));
    assert!(s.state.tasks[&task].open);
}

#[test]
fn a_task_past_its_deadline_is_marked_overdue() {
    let no_escalation = "      escalation:\n        - { after: 2d, to: supervisor }\n";
    let mut s = started_edited(TASK, no_escalation, "");
    s.fire_next_timer();
    assert!(s.state.tasks.values().next().unwrap().overdue);
}

#[test]
fn timers_by_duration_date_and_cron_fire_once() {
    let steps = r#"
  - id: cool_off
    wait: { duration: 2h }
  - id: committee
    wait: { cron: "0 10 * * Sun", timezone: Asia/Tehran }
  - id: until
    wait: { until: "'2027-01-01T00:00:00Z'" }
  - id: done
    end: { outcome: completed }
"#;
    let mut s = started(steps);
    assert_eq!(
        s.state.timers[&s.next_timer()].due_at,
        s.now + Duration::hours(2)
    );
    s.fire_next_timer().then(&[
        "TimerFired",
        "StepCompleted",
        "StepEntered",
        "TimerScheduled",
    ]);
    // 2026-11-22 is a Sunday; 10:00 in Tehran is 06:30 UTC, already past at 10:00 UTC, so
    // the committee meets the next Sunday.
    let due = s.state.timers[&s.next_timer()].due_at;
    assert_eq!(due.to_rfc3339(), "2026-11-29T06:30:00+00:00");
    let fired = s.next_timer();
    s.fire_next_timer();
    assert!(
        matches!(
            s.try_when(Command::FireTimer { timer: fired }),
            Err(Error::Stale(_))
        ),
        "a timer fires once"
    );
    s.fire_next_timer();
    assert!(s.state.ended());
}

/// The applicant's answer, "yes", to the wait of [`MESSAGE`].
fn yes() -> Command {
    message("applicant_answer", "TRK1", "m1", json!({"text": "yes"}))
}

const MESSAGE: &str = concat!(
    "\n",
    daftar_testkit::answer_wait!(),
    r#"  - id: done
    end: { outcome: approved }
  - id: expired
    end: { outcome: expired }
"#
);

#[test]
fn messages_are_correlated_delivered_once_and_kept_when_nobody_waits() {
    let mut s = started(MESSAGE);
    let wrong = s.try_when(message("applicant_answer", "OTHER", "m0", json!({})));
    assert!(matches!(wrong, Err(Error::NoReceiver { .. })));
    s.when(yes()).then(&to_the_end(&["MessageReceived"]));
    assert_eq!(s.state.vars["answer"], json!("yes"));
    // The same message id again: the instance has ended, and the message had its one effect.
    assert!(s.try_when(yes()).is_err());
    assert_eq!(s.find("MessageReceived").len(), 1);
}

#[test]
fn a_message_delivered_twice_while_waiting_has_one_effect() {
    let second = "  - id: second\n    wait: { duration: 1h }\n  - id: done\n";
    let mut s = started_edited(MESSAGE, "  - id: done\n", second);
    s.when(yes());
    let again = s.try_when(yes()).unwrap();
    assert!(again.is_empty());
    assert_eq!(s.find("MessageReceived").len(), 1);
}

#[test]
fn a_message_that_does_not_come_in_time_follows_the_timeout_path() {
    let mut s = started(MESSAGE);
    s.fire_next_timer();
    assert_eq!(s.outcome(), Some(Outcome::Expired));
}

const PARALLEL: &str = concat!(
    "\n",
    daftar_testkit::parallel_waits!("JOIN"),
    "  - id: done\n    end: { outcome: approved }\n"
);

#[test]
fn parallel_all_joins_when_every_branch_completes() {
    let mut s = started_edited(PARALLEL, "JOIN", "all");
    assert_eq!(s.state.tokens.len(), 3);
    s.fire_next_timer()
        .then(&["TimerFired", "StepCompleted", "BranchCompleted"]);
    assert!(!s.state.ended());
    s.fire_next_timer();
    assert_eq!(s.find("BranchesJoined").len(), 1);
    assert!(s.state.ended());
}

#[test]
fn parallel_any_cancels_the_other_branches() {
    let mut s = started_edited(PARALLEL, "JOIN", "any");
    s.fire_next_timer().then(&[
        "TimerFired",
        "StepCompleted",
        "BranchCompleted",
        "TimerCancelled",
        "TokenCancelled",
        "BranchesJoined",
        "StepCompleted",
        "StepEntered",
        "TimerCancelled",
        "InstanceCompleted",
    ]);
    assert!(s.state.timers.is_empty());
}

/// An inquiry that waits two days for the vehicle registry to call back.
const VEHICLES: &str = r#"
  - id: vehicles
    inquiry:
      connector: vehicle_registry
      operation: freeze
      input: { national_id: input.national_id }
      output: { frozen: response.frozen }
      callback: { timeout: 2d, on_timeout: late }
  - id: done
    end: { outcome: completed }
  - id: late
    end: { outcome: expired }
"#;

/// The vehicle registry's callback for the inquiry asked under `key`.
fn frozen(key: &str) -> Command {
    message(CALLBACK, key, "cb1", json!({"frozen": true}))
}

#[test]
fn callback_inquiries_wait_for_the_agency_to_call_back() {
    let mut s = started(VEHICLES);
    s.when(inquiry(1, InquiryResult::Acknowledged))
        .then(&["InquiryAcknowledged", "TimerScheduled"]);
    let key = first_key(&s, "InquiryRequested");
    s.when(frozen(&key))
        .then(&to_the_end(&["MessageReceived", "InquiryAnswered"]));
    assert_eq!(s.state.vars["frozen"], json!(true));

    let mut late = started(VEHICLES);
    late.when(inquiry(1, InquiryResult::Acknowledged));
    late.fire_next_timer();
    assert_eq!(late.outcome(), Some(Outcome::Expired));
}

#[test]
fn a_callback_before_its_acknowledgment_is_the_answer_and_the_acknowledgment_is_stale() {
    let mut s = started(VEHICLES);
    let key = first_key(&s, "InquiryRequested");
    // The agency calls back while the request that asked it is still in flight.
    s.when(frozen(&key)).then(&[
        "MessageReceived",
        "InquiryAnswered",
        "DataSet",
        "StepCompleted",
        "StepEntered",
        "TimerCancelled",
        "InstanceCompleted",
    ]);
    assert_eq!(s.state.vars["frozen"], json!(true));
    // Its 202, reported afterwards, changes nothing.
    let late_ack = s.try_when(inquiry(1, InquiryResult::Acknowledged));
    assert!(late_ack.is_err(), "{late_ack:?}");
}

/// The payment gateway's report that payment `P-1` was paid, with receipt `R9`.
fn paid() -> Command {
    message(
        PAYMENT,
        "P-1",
        "pm1",
        json!({"status": "paid", "receipt": "R9"}),
    )
}

const PAYMENT_STEPS: &str = r#"
  - id: fee
    set: { fee: input.amount * 2 }
  - id: pay
    payment:
      connector: payment_gateway
      amount: fee
      timeout: 30m
      on_timeout: unpaid
      on_failure: unpaid
      output: { receipt: response.receipt }
  - id: done
    end: { outcome: issued }
  - id: unpaid
    end: { outcome: expired }
"#;

#[test]
fn payments_open_then_succeed_by_callback() {
    let mut s = started(PAYMENT_STEPS);
    let Event::PaymentRequested { amount, .. } = s.find("PaymentRequested")[0] else {
        unreachable!()
    };
    assert_eq!(*amount, 10_000);
    // While the applicant pays, the service level's clock stops (see clocks.rs).
    s.when(opened()).then(&[
        "PaymentOpened",
        "TimerScheduled",
        "TimerCancelled",
        "ClockStopped",
    ]);
    s.when(paid());
    assert_eq!(s.find("PaymentSucceeded").len(), 1);
    assert_eq!(s.state.vars["receipt"], json!("R9"));
    assert_eq!(s.outcome(), Some(Outcome::Issued));
}

#[test]
fn a_payment_result_before_the_gateways_answer_is_taken_and_the_answer_is_stale() {
    let mut s = started(PAYMENT_STEPS);
    let idempotency_key = first_key(&s, "PaymentRequested");
    s.when(message(
        PAYMENT,
        &idempotency_key,
        "pm1",
        json!({"status": "paid", "reference": idempotency_key, "receipt": "R9"}),
    ));
    assert_eq!(s.find("PaymentSucceeded").len(), 1);
    assert_eq!(s.state.vars["receipt"], json!("R9"));
    assert!(s.state.ended());
    let late = s.try_when(opened());
    assert!(late.is_err(), "{late:?}");
}

/// An agency answering for another (issue 11): a payment result is taken only from the
/// gateway the step called; another connector, or a person, is refused and nothing changes.
#[test]
fn a_payment_result_is_taken_only_from_the_gateway_the_step_called() {
    use daftar_engine::core::{Ctx, decide};
    use daftar_engine::events::Actor;
    let mut s = started(PAYMENT_STEPS);
    s.when(opened());
    let result = paid();
    let from = |actor: Actor| Ctx {
        actor,
        budget: Default::default(),
        ..s.ctx()
    };
    for actor in [
        Actor::Connector("sms_gateway".into()),
        Actor::Officer("o-1".into()),
    ] {
        let refused = decide(&s.state, &s.def, &result, &from(actor.clone()));
        assert!(
            matches!(refused, Err(Error::WrongConnector { ref expected, .. }) if expected == "payment_gateway"),
            "{actor:?}: {refused:?}"
        );
    }
    let taken = decide(
        &s.state,
        &s.def,
        &result,
        &from(Actor::Connector("payment_gateway".into())),
    )
    .unwrap();
    assert!(taken.iter().any(|e| e.kind() == "PaymentSucceeded"));
}

#[test]
fn an_unpaid_payment_expires() {
    let mut s = started(PAYMENT_STEPS);
    s.when(opened());
    s.fire_next_timer();
    let Event::PaymentFailed { reason, .. } = s.find("PaymentFailed")[0] else {
        unreachable!()
    };
    assert_eq!(reason, "expired");
    assert_eq!(s.outcome(), Some(Outcome::Expired));
}

/// A notify step, then the end: started, with the reference of the SMS it asked for.
fn notified() -> (Scenario, String) {
    let steps = r#"
  - id: tell
    notify: { template: status_changed }
  - id: done
    end: { outcome: completed }
"#;
    let s = started(steps);
    let Event::NotificationRequested { reference, .. } = s.find("NotificationRequested")[0].clone()
    else {
        unreachable!()
    };
    (s, reference)
}

/// The SMS gateway's report on SMS `reference`: sent, or refused as an invalid number.
fn sms_report(reference: &str, sent: bool) -> Command {
    Command::NotificationResult {
        reference: reference.into(),
        sent,
        gateway_id: sent.then(|| "g1".into()),
        reason: (!sent).then(|| "invalid number".into()),
    }
}

/// Checks that `command` records one event of `kind`, and the same command again nothing.
fn recorded_once(s: &mut Scenario, command: impl Fn() -> Command, kind: &str) {
    s.when(command()).then(&[kind]);
    s.when(command()).then(&[]);
}

#[test]
fn notify_steps_record_the_sms_and_its_delivery() {
    let (mut s, reference) = notified();
    recorded_once(&mut s, || sms_report(&reference, true), "NotificationSent");
    let delivered = || Command::DeliveryReport {
        reference: reference.clone(),
        status: "delivered".into(),
        at: Some("2026-11-22T12:00:00+03:30".into()),
    };
    recorded_once(&mut s, delivered, "NotificationDelivered");
    assert_eq!(
        s.state.notifications[&reference],
        daftar_engine::core::Delivery::Delivered
    );
    let unknown = s.try_when(Command::DeliveryReport {
        reference: "nobody".into(),
        status: "delivered".into(),
        at: None,
    });
    assert!(matches!(unknown, Err(Error::Unknown { .. })));
}

#[test]
fn an_sms_the_gateway_refuses_is_recorded_as_failed_once() {
    let (mut s, reference) = notified();
    recorded_once(
        &mut s,
        || sms_report(&reference, false),
        "NotificationFailed",
    );
    assert_eq!(
        s.state.notifications[&reference],
        daftar_engine::core::Delivery::Failed
    );
}

#[test]
fn calls_wait_for_the_sub_workflow() {
    let steps = r#"
  - id: sub
    call:
      workflow: fee-payment
      input: { amount: input.amount }
      output: { paid: result.paid }
      on_failure: failed
  - id: done
    end: { outcome: approved }
  - id: failed
    end: { outcome: rejected }
"#;
    let mut s = started(steps);
    let Event::CallRequested { input, .. } = s.find("CallRequested")[0] else {
        unreachable!()
    };
    assert_eq!(input, &json!({"amount": 5000}));
    s.when(Command::CallResult {
        token: 0,
        succeeded: true,
        result: json!({"paid": true}),
    });
    assert_eq!(s.state.vars["paid"], json!(true));
    assert!(s.state.ended());
}

#[test]
fn cancelling_stops_everything() {
    let mut s = started(TASK);
    s.when(Command::Cancel {
        reason: "withdrawn".into(),
    });
    assert!(s.state.timers.is_empty());
    assert!(s.state.tasks.values().all(|t| !t.open));
    assert!(matches!(s.state.ending, Some(Ending::Cancelled { .. })));
}

#[test]
fn an_erasure_waits_for_the_end_and_leaves_where_the_request_went() {
    let mut s = started(TASK);
    let erase = Command::Erase {
        authority: "court order 1405/9".into(),
        by: "dpo".into(),
    };
    let err = s.try_when(erase.clone()).unwrap_err();
    assert!(matches!(err, Error::NotAllowed(_)), "{err}");
    s.when(Command::Cancel {
        reason: "withdrawn".into(),
    });
    let refused = s.try_when(Command::Erase {
        authority: " ".into(),
        by: "dpo".into(),
    });
    assert!(matches!(refused, Err(Error::NotAllowed(_))), "{refused:?}");
    // The cancellation's SMS still needs its text until the gateway answers.
    let waiting = s.try_when(erase.clone()).unwrap_err();
    assert!(waiting.to_string().contains("SMS"), "{waiting}");
    let pending: Vec<String> = s.state.notifications.keys().cloned().collect();
    for reference in pending {
        s.when(Command::NotificationResult {
            reference,
            sent: true,
            gateway_id: None,
            reason: None,
        });
    }
    s.when(erase.clone()).then(&["ApplicantErased"]);
    assert_eq!(s.state.erased.as_deref(), Some("court order 1405/9"));
    // Asked again before the key is gone (a crash in between): nothing new.
    s.when(erase).then(&[]);

    // Read back once the key is gone: what the applicant filed is not there, where the
    // request went and how it ended still are.
    s.as_erased();
    assert!(!s.state.started_readably());
    assert_eq!(s.state.input, Value::Null);
    assert!(matches!(s.state.ending, Some(Ending::Cancelled { .. })));
    assert_eq!(s.state.status.as_deref(), Some("cancelled"));
    assert!(
        s.history
            .iter()
            .any(|e| matches!(e, Event::Erased { kind } if kind == "InstanceStarted"))
    );
}

#[test]
fn invalid_applications_are_refused_before_anything_happens() {
    let mut s = given(&wf(INQUIRY));
    let mut input = applicant();
    input["national_id"] = json!("0499370898");
    let err = s
        .try_when(Command::Start {
            instance: "i-1".into(),
            tracking_code: "T".into(),
            input,
            parent: None,
        })
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    assert!(s.history.is_empty());
    assert!(matches!(
        s.try_when(Command::FireTimer { timer: "x".into() }),
        Err(Error::NotStarted)
    ));
}

#[test]
fn the_sla_timer_marks_a_breach_without_changing_the_flow() {
    let mut s = started(TASK);
    let sla = s.sla_timer();
    s.advance(Duration::hours(14));
    s.when(Command::FireTimer { timer: sla })
        .then(&["TimerFired"]);
    assert!(s.state.sla_breached);
    assert!(!s.state.ended());
}
