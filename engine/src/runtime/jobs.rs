//! Performing one job: the connector call its event asks for, reported back as the command
//! that completes the job. Each kind of job has its own function; a node without the
//! connector a job needs leaves the job to a node that has it.

use serde_json::Value;

use super::Engine;
use crate::connectors::{InquiryCall, PaymentCall, SendOutcome, Sms};
use crate::core::Command;
use crate::events::{Actor, Event, ParentRef};
use crate::store::{Job, JobKind};

/// Performs one job and reports its outcome as a command that also completes the job; the
/// time it takes is recorded as `daftar_step_seconds`.
pub async fn perform(engine: &Engine, job: Job) {
    let service = engine.cached_workflow(&job.stream);
    let _timed = crate::metrics::time_job(service.unwrap_or_else(|| "unknown".into()), job.kind);
    let event = match Event::from_stored(job.payload.clone()) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(job = %job.id, error = %e, "a job's payload cannot be read");
            return;
        }
    };
    let command_id = format!("job:{}", job.id);
    let reported = match (job.kind, event) {
        (JobKind::Inquiry, event @ Event::InquiryRequested { .. }) => {
            inquiry(engine, &job, event).await
        }
        (JobKind::Payment, event @ Event::PaymentRequested { .. }) => {
            payment(engine, &job, event).await
        }
        (JobKind::Notification, event @ Event::NotificationRequested { .. }) => {
            notification(engine, &job, event).await
        }
        (JobKind::Call, event @ Event::CallRequested { .. }) => {
            call(engine, &job, event, &command_id).await
        }
        (kind, other) => {
            tracing::error!(job = %job.id, ?kind, event = other.kind(), "a job does not match its event");
            None
        }
    };
    let Some((command, actor)) = reported else {
        return;
    };
    if let Err(e) = engine
        .execute(&job.stream, &command, &command_id, actor, Some(&job.id))
        .await
    {
        tracing::debug!(job = %job.id, error = %e, "a job's result changed nothing");
    }
}

/// Asks an agency; its answer, failure or silence is the result.
async fn inquiry(engine: &Engine, job: &Job, event: Event) -> Option<(Command, Actor)> {
    let Event::InquiryRequested {
        token,
        attempt,
        connector,
        operation,
        request,
        idempotency_key,
        ..
    } = event
    else {
        return None;
    };
    let inquiries = engine.connectors().inquiries.as_ref()?;
    let call = InquiryCall {
        stream: job.stream.clone(),
        connector: connector.clone(),
        operation,
        request,
        idempotency_key,
        attempt,
    };
    let result = inquiries.inquire(&call).await;
    Some((
        Command::InquiryResult {
            token,
            attempt,
            result,
        },
        Actor::Connector(connector),
    ))
}

/// Opens a payment at the gateway.
async fn payment(engine: &Engine, job: &Job, event: Event) -> Option<(Command, Actor)> {
    let Event::PaymentRequested {
        token,
        attempt,
        connector,
        amount,
        idempotency_key,
        ..
    } = event
    else {
        return None;
    };
    let payments = engine.connectors().payments.as_ref()?;
    let call = PaymentCall {
        stream: job.stream.clone(),
        connector: connector.clone(),
        amount,
        idempotency_key,
        attempt,
    };
    let result = payments.request(&call).await;
    Some((
        Command::PaymentRequestResult {
            token,
            attempt,
            result,
        },
        Actor::Connector(connector),
    ))
}

/// Sends an SMS once: a repeated job (after a crash) first asks what became of the reference,
/// so that an SMS the gateway already took is not sent twice. While the outcome stays unknown
/// the job is kept; its lease expires and it is reconciled then.
async fn notification(engine: &Engine, job: &Job, event: Event) -> Option<(Command, Actor)> {
    let Event::NotificationRequested {
        reference,
        recipient,
        text,
        ..
    } = event
    else {
        return None;
    };
    let notifier = engine.connectors().notifier.as_ref()?;
    let sms = Sms {
        stream: job.stream.clone(),
        reference: reference.clone(),
        recipient,
        text,
    };
    let outcome = match job.leases {
        1 => notifier.send(&sms).await,
        _ => match notifier.lookup(&reference).await {
            SendOutcome::Unknown => notifier.send(&sms).await,
            known => known,
        },
    };
    let (sent, gateway_id, reason) = match outcome {
        SendOutcome::Sent { gateway_id } => (true, gateway_id, None),
        SendOutcome::Refused { reason } => (false, None, Some(reason)),
        SendOutcome::Unknown => return None,
    };
    let command = Command::NotificationResult {
        reference,
        sent,
        gateway_id,
        reason,
    };
    Some((command, Actor::Connector("sms".to_owned())))
}

/// Starts a sub-workflow. The job is done once the child exists (the child reports its end
/// later); a child that cannot start is the call's failure.
async fn call(
    engine: &Engine,
    job: &Job,
    event: Event,
    command_id: &str,
) -> Option<(Command, Actor)> {
    let Event::CallRequested {
        token,
        workflow,
        input,
        ..
    } = event
    else {
        return None;
    };
    let parent = ParentRef {
        instance: job.stream.instance.clone(),
        token,
    };
    let key = format!("call:{}", job.id);
    let agency = job.stream.agency.clone();
    match engine
        .start_with(
            &agency,
            &workflow,
            input,
            Some(&key),
            Actor::System,
            Some(parent),
        )
        .await
    {
        Ok(_) => {
            if let Err(e) = engine.discharge(&job.stream, &job.id, command_id).await {
                tracing::warn!(job = %job.id, error = %e, "a call job could not be closed");
            }
            None
        }
        Err(e) => {
            let command = Command::CallResult {
                token,
                succeeded: false,
                result: Value::String(e.to_string()),
            };
            Some((command, Actor::System))
        }
    }
}
