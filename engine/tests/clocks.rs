//! Given / when / then for the law's clocks in the pure core: deadlines in working time,
//! counted with the agency's business calendar that arrives in the context.

use chrono::{DateTime, Utc};
use daftar_testkit::harness::{self, Scenario, applicant, given};

/// A workflow whose service level is ten working days and whose review is due in two working
/// days, escalating after one.
fn working(due: &str) -> String {
    let head = harness::HEAD.replacen("sla: 13h", "sla: 10 working days", 1);
    format!(
        "{head}steps:\n  - id: review\n    task:\n      role: health_officer\n      form: review\n      due: {due}\n      escalation:\n        - {{ after: 1 working day, to: supervisor }}\n      outcomes: {{ approve: ok, reject: no }}\n      output: {{ note: form.note }}\n  - id: ok\n    end: {{ outcome: approved }}\n  - id: no\n    end: {{ outcome: rejected }}\n"
    )
}

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

/// Filed on Monday 21 December 2026 at 11:30 in Tehran (1405-09-30). Tuesday is a holiday
/// (1405-10-01, the birth of Imam Ali), Friday the weekend (the shipped calendar's; an agency
/// that closes on Thursday too says so in its own).
fn filed(yaml: &str) -> Scenario {
    let mut s = given(yaml);
    s.now = at("2026-12-21T08:00:00Z");
    s.start(applicant()).then(&[
        "InstanceStarted",
        "TimerScheduled",
        "StepEntered",
        "TaskCreated",
        "TimerScheduled",
        "TimerScheduled",
    ]);
    s
}

#[test]
fn a_task_due_in_working_days_skips_the_holiday_and_the_weekend() {
    let s = filed(&working("2 working days"));
    let task = s.state.tasks.values().next().unwrap();
    // Monday 11:30–14:30 (3h), Wednesday (7h), Thursday 07:30–11:30 (4h): 14 working hours.
    assert_eq!(task.due_at, at("2026-12-24T08:00:00Z"));
    let mut dues: Vec<DateTime<Utc>> = s.state.timers.values().map(|t| t.due_at).collect();
    dues.sort();
    // The escalation, one working day on: Monday's 3h and Wednesday until 11:30.
    assert_eq!(dues[0], at("2026-12-23T08:00:00Z"));
    assert_eq!(dues[1], task.due_at);
    // The service level, ten working days (70 working hours): over the same holiday and two
    // Fridays, to Sunday 3 January 2027 at 11:30.
    assert_eq!(dues[2], at("2027-01-03T08:00:00Z"));
}

#[test]
fn a_task_due_in_clock_time_ignores_the_calendar() {
    let s = filed(&working("2d"));
    let task = s.state.tasks.values().next().unwrap();
    assert_eq!(task.due_at, at("2026-12-23T08:00:00Z"));
}

#[test]
fn working_hours_count_only_while_the_agency_works() {
    let mut s = given(&working("3 working hours"));
    // Thursday 24 December 2026, 14:00 in Tehran: half an hour before closing, then the
    // weekend; the rest of the three hours is on Saturday from 07:30.
    s.now = at("2026-12-24T10:30:00Z");
    s.start(applicant());
    let task = s.state.tasks.values().next().unwrap();
    assert_eq!(task.due_at, at("2026-12-26T06:30:00Z"));
}

const LAW: &str = "ماده ۷ قانون تسهیل صدور مجوزهای کسب‌وکار";

fn deemed_workflow() -> String {
    working("5 working days").replacen(
        "      outcomes:",
        &format!("      on_deadline: {{ deemed: approve, law: \"{LAW}\" }}\n      outcomes:"),
        1,
    )
}

#[test]
fn a_task_whose_deadline_passes_is_approved_by_law_with_the_reason_sent_to_the_applicant() {
    use daftar_engine::events::{Event, Outcome};
    let mut s = filed(&deemed_workflow());
    let task = s.state.tasks.keys().next().unwrap().clone();
    s.fire_next_timer().then(&["TimerFired", "TaskEscalated"]);
    s.fire_next_timer().then(&[
        "TimerFired",
        "TaskDeemed",
        "NotificationRequested",
        "StepCompleted",
        "StepEntered",
        "TimerCancelled",
        "InstanceCompleted",
    ]);
    assert_eq!(s.outcome(), Some(Outcome::Approved));
    assert!(!s.state.tasks[&task].open);
    let deemed = s.find("TaskDeemed");
    assert!(
        matches!(deemed[0], Event::TaskDeemed { outcome, law, .. } if outcome == "approve" && law == LAW),
        "{deemed:?}"
    );
    let sms = s.find("NotificationRequested");
    let Event::NotificationRequested {
        text, recipient, ..
    } = sms.last().unwrap()
    else {
        unreachable!()
    };
    assert_eq!(recipient, "09121234567");
    assert!(text.contains(LAW) && text.contains("TRK1"), "{text}");
}

#[test]
fn a_task_decided_before_its_deadline_is_not_deemed() {
    use daftar_engine::core::Command;
    let mut s = filed(&deemed_workflow());
    let task = s.state.tasks.keys().next().unwrap().clone();
    s.when(Command::CompleteTask {
        task,
        officer: "o1".into(),
        outcome: "reject".into(),
        form: serde_json::json!({"note": "no"}),
    });
    assert!(s.find("TaskDeemed").is_empty());
    assert_eq!(s.outcome(), Some(daftar_engine::events::Outcome::Rejected));
}

/// Changes asked of the applicant first (a message wait that stops the clock), then the
/// review.
fn changes_then_review() -> String {
    working("2 working days").replacen(
        "steps:\n",
        "steps:\n  - id: await_changes\n    wait:\n      message: revised\n      correlation: instance.tracking_code\n      timeout: 30d\n      on_timeout: no\n      stop_clock: true\n",
        1,
    )
}

fn sla_due(s: &Scenario) -> Option<DateTime<Utc>> {
    s.state
        .timers
        .values()
        .find(|t| t.purpose == daftar_engine::events::TimerPurpose::Sla)
        .map(|t| t.due_at)
}

#[test]
fn the_sla_clock_stops_while_the_applicant_is_asked_for_changes_and_runs_again_after() {
    use daftar_engine::core::Command;
    use daftar_engine::events::Event;
    let mut s = given(&changes_then_review());
    s.now = at("2026-12-21T08:00:00Z");
    s.start(applicant()).then(&[
        "InstanceStarted",
        "TimerScheduled",
        "StepEntered",
        "MessageAwaited",
        "TimerScheduled",
        "TimerCancelled",
        "ClockStopped",
    ]);
    assert_eq!(
        sla_due(&s),
        None,
        "no SLA timer runs while the applicant is asked"
    );
    let stopped = s.state.clock_stopped.clone().expect("the clock is stopped");
    assert_eq!(stopped.reason, "message:revised");
    // Ten working days of seven hours were left: none had passed.
    assert_eq!(stopped.remaining_seconds, 70 * 3600);

    // The applicant answers nine days later, on Wednesday 30 December at 11:30 in Tehran.
    s.advance(chrono::Duration::days(9));
    s.when(Command::DeliverMessage {
        name: "revised".into(),
        correlation: "TRK1".into(),
        message_id: "m-1".into(),
        payload: serde_json::json!({}),
    });
    let kinds: Vec<&str> = s.last.iter().map(Event::kind).collect();
    assert_eq!(
        &kinds[kinds.len() - 2..],
        ["ClockResumed", "TimerScheduled"],
        "{kinds:?}"
    );
    assert!(s.state.clock_stopped.is_none());
    let resumed = s.find("ClockResumed");
    assert!(
        matches!(resumed[0], Event::ClockResumed { reason, stopped_seconds, .. }
            if reason == "message:revised" && *stopped_seconds == 9 * 86_400),
        "{resumed:?}"
    );
    // The service level is the whole ten working days from the answer, not from the filing.
    let due = sla_due(&s).expect("the SLA timer runs again");
    assert_eq!(
        due,
        s.calendar.add_working(s.now, chrono::Duration::hours(70))
    );
    assert!(
        due > s.calendar.add(
            at("2026-12-21T08:00:00Z"),
            "10 working days".parse().unwrap()
        )
    );

    // A breach is judged by the adjusted deadline: the SLA fires then, not before.
    s.now = due;
    let sla = s.sla_timer();
    s.when(Command::FireTimer { timer: sla });
    assert!(s.state.sla_breached);
}

#[test]
fn a_wait_that_does_not_stop_the_clock_leaves_the_sla_running() {
    let mut s = given(&changes_then_review().replace("      stop_clock: true\n", ""));
    s.now = at("2026-12-21T08:00:00Z");
    s.start(applicant());
    assert!(s.state.clock_stopped.is_none());
    assert_eq!(sla_due(&s), Some(at("2027-01-03T08:00:00Z")));
    assert!(s.find("ClockStopped").is_empty());
}
