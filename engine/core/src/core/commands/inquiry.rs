use crate::core::command::InquiryResult;
use crate::core::run::{Flow, Run};
use crate::core::state::Wait;
use crate::error::Result;
use crate::events::{Event, TimerPurpose};

pub(crate) fn handle(
    run: &mut Run<'_>,
    token: u32,
    attempt: u32,
    result: &InquiryResult,
) -> Result<()> {
    let id = run.waiting_step(
        token,
        |w| matches!(w, Wait::Inquiry { attempt: a } if *a == attempt),
        &format!("attempt {attempt} of an inquiry"),
    )?;
    let step = run.step(&id);
    let inq = step
        .inquiry
        .as_ref()
        .expect("the token waits on an inquiry step");
    let flow = match result {
        InquiryResult::Answered { evidence } => {
            run.emit(Event::InquiryAnswered {
                token,
                step: id.clone(),
                attempt,
                evidence: evidence.clone(),
            });
            match run.set_output(
                token,
                &id,
                &inq.output,
                vec![("response", evidence.response.clone())],
            ) {
                Some(flow) => flow,
                None => Flow::Complete,
            }
        }
        InquiryResult::Acknowledged => match &inq.callback {
            Some(cb) => {
                run.emit(Event::InquiryAcknowledged {
                    token,
                    step: id.clone(),
                    attempt,
                });
                let at = run.ctx.now
                    + chrono::Duration::from_std(cb.timeout.get()).unwrap_or(chrono::Duration::MAX);
                run.timer(token, &id, at, TimerPurpose::Timeout);
                Flow::Wait
            }
            None => run.incident(
                token,
                &id,
                "the agency promised a callback, but this step expects an answer at once"
                    .to_owned(),
            ),
        },
        InquiryResult::Refused { reason } => {
            run.emit(Event::InquiryFailed {
                token,
                step: id.clone(),
                attempt,
                reason: reason.clone(),
                retryable: false,
            });
            run.path_or_incident(
                token,
                &id,
                inq.on_failure.as_ref(),
                format!("the agency refused the inquiry: {reason}"),
            )
        }
        InquiryResult::Transient { reason } => {
            run.emit(Event::InquiryFailed {
                token,
                step: id.clone(),
                attempt,
                reason: reason.clone(),
                retryable: true,
            });
            retry_or_fail(run, token, &id, attempt, reason)
        }
        InquiryResult::Unknown => {
            run.emit(Event::InquiryOutcomeUnknown {
                token,
                step: id.clone(),
                attempt,
            });
            use daftar_definitions::model::OnUnknown;
            match inq.on_unknown {
                OnUnknown::Retry => retry_or_fail(
                    run,
                    token,
                    &id,
                    attempt,
                    "the agency did not answer in time",
                ),
                OnUnknown::Incident => run.incident(
                    token,
                    &id,
                    "the agency did not answer in time; it may have acted".to_owned(),
                ),
                OnUnknown::Failure => run.path_or_incident(
                    token,
                    &id,
                    inq.on_failure.as_ref(),
                    "the agency did not answer in time".to_owned(),
                ),
            }
        }
    };
    run.drive(token, flow)
}

fn retry_or_fail(run: &mut Run<'_>, token: u32, id: &str, attempt: u32, reason: &str) -> Flow {
    let inq = run.step(id).inquiry.as_ref().expect("inquiry step");
    let policy = run.retry_policy(inq.retry.as_ref());
    if run.backoff(token, id, &policy, attempt) {
        Flow::Wait
    } else {
        // The agency could not be reached, which is not its answer: only `on_unreachable`
        // (never `on_failure`, the agency's "no") is followed, or an operator is asked.
        let why = format!(
            "the agency could not be reached: {} attempts failed; the last: {reason}",
            policy.max_attempts
        );
        run.path_or_incident(token, id, inq.on_unreachable.as_ref(), why)
    }
}

/// The next attempt, when its backoff timer fires.
pub(crate) fn reattempt(run: &mut Run<'_>, token: u32, id: &str, attempt: u32) -> Flow {
    let inq = run.step(id).inquiry.as_ref().expect("inquiry step");
    match run.mapping(&inq.input, vec![]) {
        Ok(request) => {
            run.emit(Event::InquiryRequested {
                token,
                step: id.to_owned(),
                attempt,
                connector: inq.connector.clone(),
                operation: inq.operation.clone(),
                request: serde_json::Value::Object(request.into_iter().collect()),
                idempotency_key: run.visit_key(token),
            });
            Flow::Wait
        }
        Err(reason) => run.incident(token, id, reason),
    }
}
