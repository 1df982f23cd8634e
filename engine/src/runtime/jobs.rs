//! Performing one job: the connector call its event asks for, reported back as the command
//! that completes the job. Each kind of job has its own function; a node without the
//! connector a job needs leaves the job to a node that has it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinSet;

use super::{Engine, Filing};
use crate::connectors::{InquiryCall, PaymentCall, SendOutcome, Sms};
use crate::core::Command;
use crate::events::{Actor, Event, ParentRef};
use crate::store::{Job, JobKind};

/// Performs one job and reports its outcome as a command that also completes the job.
pub async fn perform(engine: &Engine, job: Job) {
    if let Some(report) = report(engine, &job).await {
        report.deliver(engine).await;
    }
}

/// How long the results of jobs performed together wait for the slowest at the most, beyond
/// as long again as the first took: a parallel step's answers that arrive about together are
/// decided in one commit, while a `join: any` step is not held up by its slow branches.
const GATHER: Duration = Duration::from_millis(20);

/// Performs the inquiries one commit created for one instance (the branches of a parallel
/// step) at the same time, and reports the results that arrive about together in one commit:
/// the step's join is one durable step rather than one a branch. A result that arrives later
/// is reported on its own, as [`perform`] would.
pub(crate) async fn perform_together(engine: Arc<Engine>, jobs: Vec<Job>) {
    let Some(stream) = jobs.first().map(|j| j.stream.clone()) else {
        return;
    };
    let started = Instant::now();
    let mut running = JoinSet::new();
    for job in jobs {
        let engine = engine.clone();
        running.spawn(async move { report(&engine, &job).await });
    }
    let mut together = Vec::new();
    if let Some(first) = running.join_next().await {
        together.extend(first.ok().flatten());
    }
    let until = tokio::time::Instant::now() + started.elapsed().min(GATHER);
    while let Ok(Some(next)) = tokio::time::timeout_at(until, running.join_next()).await {
        together.extend(next.ok().flatten());
    }
    if let Err(e) = engine.report_together(&stream, together).await {
        tracing::debug!(stream = %stream, error = %e, "results reported together changed nothing");
    }
    while let Some(late) = running.join_next().await {
        if let Some(report) = late.ok().flatten() {
            report.deliver(&engine).await;
        }
    }
}

/// A job's outcome, as the command that reports it.
pub(crate) struct Report {
    /// The job.
    pub job: Job,
    /// The command that reports its outcome.
    pub command: Command,
    /// Who reports it (the connector).
    pub actor: Actor,
}

impl Report {
    /// The command's id: the job's, so that a repeated report appends nothing.
    pub(crate) fn command_id(&self) -> String {
        format!("job:{}", self.job.id)
    }

    /// Decides and commits the report on its own.
    pub(crate) async fn deliver(self, engine: &Engine) {
        if let Err(e) = engine
            .execute(
                &self.job.stream,
                &self.command,
                &self.command_id(),
                self.actor,
                Some(&self.job.id),
            )
            .await
        {
            tracing::debug!(job = %self.job.id, error = %e, "a job's result changed nothing");
        }
    }
}

/// A job's payload, opened with the node's keyring when it was sealed (see
/// [`crate::privacy`]).
fn opened(engine: &Engine, job: &Job) -> Result<serde_json::Value, String> {
    let sealed = job.payload.get("sealed").is_some();
    match (sealed, engine.keyring()) {
        (false, _) => Ok(job.payload.clone()),
        (true, None) => Err("the payload is sealed and this node keeps no keyring".to_owned()),
        (true, Some(keyring)) => {
            let text = serde_json::to_string(&job.payload).map_err(|e| e.to_string())?;
            match keyring.open_payload(&job.stream, &text) {
                Ok(Some(open)) => serde_json::from_str(&open).map_err(|e| e.to_string()),
                Ok(None) => Err("its applicant was erased".to_owned()),
                Err(e) => Err(e.to_string()),
            }
        }
    }
}

/// Performs a job: its connector call, and the command that reports the outcome (none when
/// there is nothing to report yet, or the job is done another way). The time it takes is
/// recorded as `daftar_step_seconds`.
async fn report(engine: &Engine, job: &Job) -> Option<Report> {
    let service = engine.cached_workflow(&job.stream);
    let _timed = crate::metrics::time_job(service.unwrap_or_else(|| "unknown".into()), job.kind);
    let event = match opened(engine, job).and_then(Event::from_stored) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(job = %job.id, error = %e, "a job's payload cannot be read");
            return None;
        }
    };
    let command_id = format!("job:{}", job.id);
    let (command, actor) = match (job.kind, event) {
        (JobKind::Inquiry, event @ Event::InquiryRequested { .. }) => {
            inquiry(engine, job, event).await
        }
        (JobKind::Payment, event @ Event::PaymentRequested { .. }) => {
            payment(engine, job, event).await
        }
        (JobKind::Notification, event @ Event::NotificationRequested { .. }) => {
            notification(engine, job, event).await
        }
        (JobKind::Call, event @ Event::CallRequested { .. }) => {
            call(engine, job, event, &command_id).await
        }
        (kind, other) => {
            tracing::error!(job = %job.id, ?kind, event = other.kind(), "a job does not match its event");
            None
        }
    }?;
    Some(Report {
        job: job.clone(),
        command,
        actor,
    })
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
        .file(Filing {
            agency: &agency,
            workflow: &workflow,
            input,
            key: Some(&key),
            actor: Actor::System,
            parent: Some(parent),
        })
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
