use serde_json::Value;

use crate::core::command::PaymentRequestResult;
use crate::core::run::{Flow, Run};
use crate::core::state::Wait;
use crate::error::Result;
use crate::events::{Event, TimerPurpose};

pub(crate) fn handle(
    run: &mut Run<'_>,
    token: u32,
    attempt: u32,
    result: &PaymentRequestResult,
) -> Result<()> {
    let id = run.waiting_step(
        token,
        |w| matches!(w, Wait::PaymentRequest { attempt: a } if *a == attempt),
        &format!("payment request {attempt}"),
    )?;
    let p = run.step(&id).payment.as_ref().expect("payment step");
    let flow = match result {
        PaymentRequestResult::Opened { reference, url } => {
            run.emit(Event::PaymentOpened {
                token,
                step: id.clone(),
                reference: reference.clone(),
                url: url.clone(),
            });
            let at = run.ctx.now
                + chrono::Duration::from_std(p.timeout.get()).unwrap_or(chrono::Duration::MAX);
            run.timer(token, &id, at, TimerPurpose::Timeout);
            Flow::Wait
        }
        PaymentRequestResult::Refused { reason } => failed(run, token, &id, reason.clone()),
        PaymentRequestResult::Transient { reason } => {
            let policy = run.retry_policy(p.retry.as_ref());
            if run.backoff(token, &id, &policy, attempt) {
                Flow::Wait
            } else {
                failed(
                    run,
                    token,
                    &id,
                    format!(
                        "{} attempts to request the payment failed; the last: {reason}",
                        policy.max_attempts
                    ),
                )
            }
        }
    };
    run.drive(token, flow)
}

/// The payment gateway's callback: paid or not.
pub(crate) fn result(run: &mut Run<'_>, token: u32, reference: &str, payload: &Value) -> Flow {
    let id = run.state.tokens[&token].step.clone();
    let paid = matches!(
        payload.get("status").and_then(Value::as_str),
        Some("paid" | "success" | "succeeded")
    );
    if !paid {
        let reason = payload
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("declined")
            .to_owned();
        return failed(run, token, &id, reason);
    }
    run.emit(Event::PaymentSucceeded {
        token,
        step: id.clone(),
        reference: reference.to_owned(),
        receipt: payload.clone(),
    });
    let p = run.step(&id).payment.as_ref().expect("payment step");
    match run.set_output(token, &id, &p.output, vec![("response", payload.clone())]) {
        Some(flow) => flow,
        None => Flow::Complete,
    }
}

/// The applicant did not pay in time.
pub(crate) fn expired(run: &mut Run<'_>, token: u32, id: &str) -> Flow {
    run.emit(Event::PaymentFailed {
        token,
        step: id.to_owned(),
        reason: "expired".to_owned(),
    });
    let p = run.step(id).payment.as_ref().expect("payment step");
    run.path_or_incident(
        token,
        id,
        p.on_timeout.as_ref(),
        "the applicant did not pay in time".to_owned(),
    )
}

fn failed(run: &mut Run<'_>, token: u32, id: &str, reason: String) -> Flow {
    run.emit(Event::PaymentFailed {
        token,
        step: id.to_owned(),
        reason: reason.clone(),
    });
    let p = run.step(id).payment.as_ref().expect("payment step");
    run.path_or_incident(
        token,
        id,
        p.on_failure.as_ref(),
        format!("the payment failed: {reason}"),
    )
}

/// The next request, when its backoff timer fires.
pub(crate) fn reattempt(run: &mut Run<'_>, token: u32, id: &str, attempt: u32) -> Flow {
    let p = run.step(id).payment.as_ref().expect("payment step");
    match run.eval(&p.amount, vec![]).map(|v| v.as_i64()) {
        Ok(Some(amount)) => {
            run.emit(Event::PaymentRequested {
                token,
                step: id.to_owned(),
                attempt,
                connector: p.connector.clone(),
                amount,
                idempotency_key: run.visit_key(token),
            });
            Flow::Wait
        }
        Ok(None) => run.incident(token, id, "the amount is not a whole number".to_owned()),
        Err(reason) => run.incident(token, id, reason),
    }
}
