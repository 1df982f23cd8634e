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
/// (1405-10-01, the birth of Imam Ali), Thursday and Friday the weekend.
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
    // Monday 11:30–14:30 (3h), Wednesday (7h), Saturday 07:30–11:30 (4h): 14 working hours.
    assert_eq!(task.due_at, at("2026-12-26T08:00:00Z"));
    let mut dues: Vec<DateTime<Utc>> = s.state.timers.values().map(|t| t.due_at).collect();
    dues.sort();
    // The escalation, one working day on: Monday's 3h and Wednesday until 11:30.
    assert_eq!(dues[0], at("2026-12-23T08:00:00Z"));
    assert_eq!(dues[1], task.due_at);
    // The service level, ten working days (70 working hours): over the same holiday, three
    // weekends, and the Mab'ath on Tuesday 5 January 2027 (1405-10-15).
    assert_eq!(dues[2], at("2027-01-06T08:00:00Z"));
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
    // Wednesday 23 December 2026, 14:00 in Tehran: half an hour before closing, then the
    // weekend; the rest of the three hours is on Saturday from 07:30.
    s.now = at("2026-12-23T10:30:00Z");
    s.start(applicant());
    let task = s.state.tasks.values().next().unwrap();
    assert_eq!(task.due_at, at("2026-12-26T06:30:00Z"));
}
