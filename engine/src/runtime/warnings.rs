//! What an operator must hear about without watching a dashboard: an incident, an SMS the
//! gateway refused, an agency that failed or did not answer. Logged at WARN from the events of
//! each durable commit (like the metrics, once per commit that was not a repeat), so that a
//! crash and a replay do not repeat a warning and the log says what the history says.
//!
//! The lines name the service, the instance id, the step and the connector: never a national
//! ID, a mobile number or an answer's content. Reasons are the engine's and the connectors'
//! own words (an HTTP status, a timeout, an expression error), cut to a bounded length.

use crate::definition::Definition;
use crate::events::{Event, StreamId};

/// The longest reason logged, in characters.
const REASON_CHARS: usize = 200;

/// Logs the warnings of one commit's `events` on `stream`.
pub fn log(def: &Definition, stream: &StreamId, events: &[Event]) {
    let compiled = def.compiled();
    let service = compiled.id();
    let connector = |step: &str| {
        compiled
            .step(step)
            .and_then(|s| s.inquiry.as_ref())
            .map_or("-", |i| i.connector.as_str())
    };
    for event in events {
        match event {
            Event::IncidentRaised {
                incident,
                step,
                reason,
                ..
            } => tracing::warn!(
                service,
                instance = %stream,
                step = step.as_str(),
                incident = incident.as_str(),
                reason = short(reason),
                "incident: the request stopped for an operator"
            ),
            Event::NotificationFailed { reference, reason } => tracing::warn!(
                service,
                instance = %stream,
                reference = reference.as_str(),
                reason = short(reason),
                "SMS failed: the gateway refused it"
            ),
            Event::InquiryFailed {
                step,
                attempt,
                reason,
                retryable,
                ..
            } => tracing::warn!(
                service,
                instance = %stream,
                step = step.as_str(),
                connector = connector(step),
                attempt,
                retryable,
                reason = short(reason),
                "inquiry failed: the agency answered with an error or could not be reached"
            ),
            Event::InquiryOutcomeUnknown { step, attempt, .. } => tracing::warn!(
                service,
                instance = %stream,
                step = step.as_str(),
                connector = connector(step),
                attempt,
                "inquiry timed out: the agency may or may not have acted"
            ),
            _ => {}
        }
    }
}

fn short(reason: &str) -> &str {
    match reason.char_indices().nth(REASON_CHARS) {
        Some((at, _)) => &reason[..at],
        None => reason,
    }
}
