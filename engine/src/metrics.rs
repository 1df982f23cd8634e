//! The engine's metrics, through the [`metrics`] facade.
//!
//! The engine installs no recorder: a server installs one (daftar's installs
//! `metrics-exporter-prometheus` and renders it at `/metrics`); without one, every call here
//! is a no-op. Most metrics are derived from the events a commit appended ([`record`], called
//! once per durable, non-repeated commit), so a job or timer performed twice after a crash is
//! counted once, like its events. The time jobs take is measured around the worker's
//! `perform` ([`time_job`]).
//!
//! Labels are workflow ids, connector names, outcomes and job kinds: never an instance id, a
//! tracking code, a national ID or a mobile number, so that the number of series stays small
//! and no personal data leaves through the metrics.

use std::time::Instant;

use metrics::{counter, describe_counter, describe_histogram, histogram};

use crate::core::InstanceState;
use crate::definition::Definition;
use crate::events::{Event, TimerPurpose};
use crate::store::JobKind;

/// Requests filed (instances started), by `service`.
pub const REQUESTS_STARTED: &str = "daftar_requests_started_total";
/// Requests ended, by `service` and `outcome` (`issued`, `approved`, `rejected`, `cancelled`,
/// `expired`, `completed`).
pub const REQUESTS_COMPLETED: &str = "daftar_requests_completed_total";
/// Inquiry attempts that came to something, by `connector` and `outcome` (`answered`,
/// `refused`, `transient`, `unknown`, `acknowledged`).
pub const INQUIRIES: &str = "daftar_inquiries_total";
/// How long answered inquiries took, by `connector`, in seconds (the evidence's latency).
pub const INQUIRY_SECONDS: &str = "daftar_inquiry_seconds";
/// How long a worker took to perform a job and record its result, by `service` and `kind`
/// (`inquiry`, `payment`, `notification`, `call`), in seconds.
pub const STEP_SECONDS: &str = "daftar_step_seconds";
/// Requests ended with an outcome and no human task (delivered smartly), by `service` and
/// `outcome`; over [`REQUESTS_COMPLETED`] (cancellations left out) it is the smart share.
pub const REQUESTS_SMART: &str = "daftar_requests_smart_total";
/// Incidents raised, by `service`.
pub const INCIDENTS_OPENED: &str = "daftar_incidents_opened_total";
/// Incidents resolved by an operator, by `service`.
pub const INCIDENTS_RESOLVED: &str = "daftar_incidents_resolved_total";
/// Requests whose SLA passed before they ended, by `service`.
pub const SLA_BREACHES: &str = "daftar_sla_breaches_total";

/// Tells the installed recorder what each metric means (the `# HELP` lines). Call it once,
/// after installing the recorder; metrics work without it.
pub fn describe() {
    describe_counter!(REQUESTS_STARTED, "Requests filed (instances started)");
    describe_counter!(
        REQUESTS_COMPLETED,
        "Requests ended, by outcome (cancelled included)"
    );
    describe_counter!(
        REQUESTS_SMART,
        "Requests ended with an outcome and no human task: delivered smartly"
    );
    describe_counter!(
        INQUIRIES,
        "Inquiry attempts by result: answered, refused, transient, unknown, acknowledged"
    );
    describe_histogram!(
        INQUIRY_SECONDS,
        metrics::Unit::Seconds,
        "Latency of answered inquiries"
    );
    describe_histogram!(
        STEP_SECONDS,
        metrics::Unit::Seconds,
        "Time a worker took to perform a job and record its result"
    );
    describe_counter!(INCIDENTS_OPENED, "Incidents raised");
    describe_counter!(INCIDENTS_RESOLVED, "Incidents resolved by an operator");
    describe_counter!(SLA_BREACHES, "Requests whose SLA passed before they ended");
}

/// Counts what one commit appended: `events`, decided by `def` on the instance state
/// `before`. Call it once per durable commit that was not a repeat of an earlier command.
pub fn record(def: &Definition, before: &InstanceState, events: &[Event]) {
    if events.is_empty() {
        return;
    }
    let compiled = def.compiled();
    let service = || compiled.id().to_owned();
    let connector = |step: &str| {
        compiled
            .step(step)
            .and_then(|s| s.inquiry.as_ref())
            .map_or_else(|| "unknown".to_owned(), |i| i.connector.clone())
    };
    let inquiry = |step: &str, outcome: &'static str| {
        counter!(INQUIRIES, "connector" => connector(step), "outcome" => outcome).increment(1);
    };
    for event in events {
        match event {
            Event::InstanceStarted { .. } => {
                counter!(REQUESTS_STARTED, "service" => service()).increment(1);
            }
            Event::InstanceCompleted { outcome, .. } => {
                counter!(REQUESTS_COMPLETED, "service" => service(), "outcome" => outcome.as_str())
                    .increment(1);
                let human = !before.tasks.is_empty()
                    || events
                        .iter()
                        .any(|e| matches!(e, Event::TaskCreated { .. }));
                if !human {
                    counter!(REQUESTS_SMART, "service" => service(), "outcome" => outcome.as_str())
                        .increment(1);
                }
            }
            Event::InstanceCancelled { .. } => {
                counter!(REQUESTS_COMPLETED, "service" => service(), "outcome" => "cancelled")
                    .increment(1);
            }
            Event::InquiryAnswered { step, evidence, .. } => {
                inquiry(step, "answered");
                histogram!(INQUIRY_SECONDS, "connector" => connector(step))
                    .record(evidence.latency_ms as f64 / 1000.0);
            }
            Event::InquiryAcknowledged { step, .. } => inquiry(step, "acknowledged"),
            Event::InquiryFailed {
                step, retryable, ..
            } => inquiry(step, if *retryable { "transient" } else { "refused" }),
            Event::InquiryOutcomeUnknown { step, .. } => inquiry(step, "unknown"),
            Event::IncidentRaised { .. } => {
                counter!(INCIDENTS_OPENED, "service" => service()).increment(1);
            }
            Event::IncidentResolved { .. } => {
                counter!(INCIDENTS_RESOLVED, "service" => service()).increment(1);
            }
            Event::TimerFired { timer }
                if !before.sla_breached
                    && before
                        .timers
                        .get(timer)
                        .is_some_and(|t| t.purpose == TimerPurpose::Sla) =>
            {
                counter!(SLA_BREACHES, "service" => service()).increment(1);
            }
            _ => {}
        }
    }
}

/// Measures one job from its creation to its drop: hold it for as long as the job is
/// performed; dropping it records [`STEP_SECONDS`].
#[derive(Debug)]
#[must_use = "the time is recorded when the guard is dropped"]
pub struct JobTimer {
    service: String,
    kind: JobKind,
    started: Instant,
}

/// Starts timing a job of `kind` for an instance of `service`.
pub fn time_job(service: impl Into<String>, kind: JobKind) -> JobTimer {
    JobTimer {
        service: service.into(),
        kind,
        started: Instant::now(),
    }
}

impl Drop for JobTimer {
    fn drop(&mut self) {
        let service = std::mem::take(&mut self.service);
        histogram!(STEP_SECONDS, "service" => service, "kind" => self.kind.as_str())
            .record(self.started.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use crate::events::Outcome;

    #[test]
    fn outcomes_are_named_as_they_serialize() {
        for o in [
            Outcome::Issued,
            Outcome::Approved,
            Outcome::Rejected,
            Outcome::Cancelled,
            Outcome::Expired,
            Outcome::Completed,
        ] {
            assert_eq!(
                serde_json::to_value(o).unwrap(),
                serde_json::json!(o.as_str())
            );
        }
    }
}
