use serde_json::Value;

use crate::core::run::{Flow, Run};
use crate::core::state::Wait;
use crate::error::{Error, Result};
use crate::events::{Actor, Event};

/// Inquiry callbacks arrive as this message, correlated by the inquiry's idempotency key.
pub const CALLBACK: &str = "callback";
/// Payment results arrive as this message, correlated by the gateway's reference.
pub const PAYMENT: &str = "payment";

/// An agency's answer or a payment result is taken only from the connector the step called
/// (or from the engine itself: dry runs and tests); a callback through any other connector is
/// refused, whatever key it names.
fn check_sender(run: &Run<'_>, wait: &Wait, step: &str, correlation: &str) -> Result<()> {
    let s = run.step(step);
    let expected = match wait {
        Wait::Callback { .. } | Wait::Inquiry { .. } => s.inquiry.as_ref().map(|i| &i.connector),
        Wait::PaymentOpen { .. } | Wait::PaymentRequest { .. } => {
            s.payment.as_ref().map(|p| &p.connector)
        }
        _ => return Ok(()),
    };
    let found = match &run.ctx.actor {
        Actor::System => return Ok(()),
        Actor::Connector(c) => c.clone(),
        other => format!("{other:?}"),
    };
    match expected {
        Some(e) if *e == found => Ok(()),
        _ => Err(Error::WrongConnector {
            correlation: correlation.to_owned(),
            expected: expected.cloned().unwrap_or_default(),
            found,
        }),
    }
}

pub(crate) fn handle(
    run: &mut Run<'_>,
    name: &str,
    correlation: &str,
    message_id: &str,
    payload: &Value,
) -> Result<()> {
    if run.state.messages.contains(message_id) {
        // Delivered before: the first delivery had the effect.
        return Ok(());
    }
    let receiver = run.state.tokens.iter().find_map(|(token, t)| {
        let matches = match &t.wait {
            Wait::Message {
                name: n,
                correlation: c,
            } => n == name && c == correlation,
            Wait::Callback { .. } => name == CALLBACK && run.visit_key(*token) == correlation,
            // A quick agency can call back before its acknowledgment is recorded: the answer
            // is taken, and the acknowledgment, when it comes, is stale.
            Wait::Inquiry { .. } => {
                name == CALLBACK
                    && run.visit_key(*token) == correlation
                    && run
                        .step(&t.step)
                        .inquiry
                        .as_ref()
                        .is_some_and(|i| i.callback.is_some())
            }
            Wait::PaymentOpen { reference } => name == PAYMENT && reference == correlation,
            // Likewise a payment result that overtakes the gateway's answer to the request.
            Wait::PaymentRequest { .. } => name == PAYMENT && run.visit_key(*token) == correlation,
            _ => false,
        };
        matches.then_some(*token)
    });
    let Some(token) = receiver else {
        return Err(Error::NoReceiver {
            name: name.to_owned(),
            correlation: correlation.to_owned(),
        });
    };
    let wait = run.state.tokens[&token].wait.clone();
    let id = run.state.tokens[&token].step.clone();
    check_sender(run, &wait, &id, correlation)?;
    run.emit(Event::MessageReceived {
        token,
        name: name.to_owned(),
        correlation: correlation.to_owned(),
        message_id: message_id.to_owned(),
        payload: payload.clone(),
    });
    let flow = match wait {
        Wait::Callback { attempt } | Wait::Inquiry { attempt } => {
            let evidence = crate::events::InquiryEvidence {
                response: payload.clone(),
                sha256: crate::events::chain_hash(
                    "",
                    &serde_json::to_vec(payload).unwrap_or_default(),
                ),
                agency_time: payload
                    .get("timestamp")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                latency_ms: 0,
            };
            run.emit(Event::InquiryAnswered {
                token,
                step: id.clone(),
                attempt,
                evidence,
            });
            let inq = run.step(&id).inquiry.as_ref().expect("inquiry step");
            run.set_output(token, &id, &inq.output, vec![("response", payload.clone())])
                .unwrap_or(Flow::Complete)
        }
        Wait::PaymentOpen { reference } => super::payment::result(run, token, &reference, payload),
        Wait::PaymentRequest { .. } => super::payment::result(run, token, correlation, payload),
        _ => {
            let w = run.step(&id).wait.as_ref().expect("a message wait");
            run.set_output(token, &id, &w.output, vec![("message", payload.clone())])
                .unwrap_or(Flow::Complete)
        }
    };
    run.drive(token, flow)
}
