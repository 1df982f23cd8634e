//! Stop the clock: while a request waits on the applicant (a payment open at the gateway, or a
//! message wait with `stop_clock`, such as revised plans after changes were asked for), the
//! service level's clock stops; it runs again when the request stops waiting on them.
//!
//! Settled once at the end of every command rather than at each wait, so that however a wait
//! is entered or left (answered, timed out, cancelled with a parallel branch), the clock
//! follows. Stopping cancels the SLA timer and records what was left of the service level;
//! resuming schedules a new SLA timer that much later, so a breach is judged on the time the
//! agency had, not the time the applicant took.

use chrono::{DateTime, Duration, Utc};
use daftar_definitions::model::Span;

use crate::core::run::Run;
use crate::core::state::Wait;
use crate::events::{Event, TimerPurpose};

/// Stops or resumes the service level's clock if the request started or stopped waiting on
/// the applicant in this command.
pub(crate) fn settle(run: &mut Run<'_>) {
    if !run.state.started() || run.state.ended() {
        return;
    }
    let waiting = on_applicant(run);
    match (&run.state.clock_stopped, waiting) {
        (None, Some(reason)) => stop(run, reason),
        (Some(stopped), None) => {
            let stopped = stopped.clone();
            resume(run, &stopped.reason, stopped.at, stopped.remaining_seconds);
        }
        _ => {}
    }
}

/// Why the request waits on the applicant, if it does.
fn on_applicant(run: &Run<'_>) -> Option<String> {
    run.state.tokens.values().find_map(|t| match &t.wait {
        Wait::PaymentOpen { .. } => Some("payment".to_owned()),
        Wait::Message { name, .. } => run
            .step(&t.step)
            .wait
            .as_ref()
            .is_some_and(|w| w.stop_clock)
            .then(|| format!("message:{name}")),
        _ => None,
    })
}

fn working(run: &Run<'_>) -> bool {
    matches!(run.workflow().sla, Span::Working(_))
}

fn stop(run: &mut Run<'_>, reason: String) {
    let now = run.ctx.now;
    // A service level already passed has no clock left to stop.
    let Some((timer, due)) = run
        .state
        .timers
        .iter()
        .find(|(_, t)| t.purpose == TimerPurpose::Sla)
        .map(|(id, t)| (id.clone(), t.due_at))
    else {
        return;
    };
    let remaining = if working(run) {
        run.ctx.calendar.working_between(now, due)
    } else {
        (due - now).max(Duration::zero())
    };
    run.emit(Event::TimerCancelled { timer });
    run.emit(Event::ClockStopped {
        reason,
        at: now,
        remaining_seconds: remaining.num_seconds(),
    });
}

fn resume(run: &mut Run<'_>, reason: &str, since: DateTime<Utc>, remaining_seconds: i64) {
    let now = run.ctx.now;
    let remaining = Duration::seconds(remaining_seconds);
    let due = if working(run) {
        run.ctx.calendar.add_working(now, remaining)
    } else {
        now + remaining
    };
    run.emit(Event::ClockResumed {
        reason: reason.to_owned(),
        at: now,
        stopped_seconds: (now - since).num_seconds().max(0),
    });
    let start = run.def.compiled().start().id.clone();
    run.timer(0, &start, due, TimerPurpose::Sla);
}
