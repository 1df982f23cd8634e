//! What came into a recorded request from outside, read back from its events: each commit's
//! first event says which command made it (an agency's answer, an officer's decision, a
//! message, a payment, a timer), and the state folded up to that commit says at which step.
//! Each input is kept by step rather than by token, task or timer id, because a new
//! definition numbers those differently; [`Held::command`] finds what in the new run waits
//! for it at the same step and builds the command that answers it there.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::core::command::{Command, InquiryResult, PaymentRequestResult};
use crate::core::run::visit_key;
use crate::core::state::{InstanceState, Wait};
use crate::core::{CALLBACK, PAYMENT};
use crate::events::{Actor, Event, RecordedEvent, TimerPurpose};

/// One input of a recorded request, by the step it answered.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Input {
    /// An agency's answer (or failure, or silence) to an inquiry, and what it was asked.
    Inquiry {
        step: String,
        asked: Option<Asked>,
        result: InquiryResult,
    },
    /// The gateway's answer to a payment request.
    PaymentRequest {
        step: String,
        result: PaymentRequestResult,
    },
    /// A timer that came due (`step` none for the request's service level).
    Timer {
        step: Option<String>,
        purpose: TimerPurpose,
    },
    /// A message: a named one, an agency's callback or a payment result.
    Message {
        step: String,
        name: String,
        message_id: String,
        payload: Value,
    },
    /// An officer claimed the task of a step.
    Claim { step: String, officer: String },
    /// An officer decided the task of a step.
    Complete {
        step: String,
        officer: String,
        outcome: String,
        form: Value,
    },
    /// A supervisor gave the task of a step to someone else.
    Reassign {
        step: String,
        role: Option<String>,
        officer: Option<String>,
    },
    /// A sub-workflow ended.
    Call {
        step: String,
        succeeded: bool,
        result: Value,
    },
    /// The request was cancelled.
    Cancel { reason: String },
    /// An operator retried the step an incident stopped.
    RetryIncident { step: String },
}

/// What an inquiry asked: the connector, the operation and the request sent.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Asked {
    pub connector: String,
    pub operation: String,
    pub request: Value,
}

/// An input with when it came and who brought it: the time and actor the new run decides it
/// with.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Held {
    pub input: Input,
    pub at: DateTime<Utc>,
    pub actor: Actor,
}

/// The `Start` that filed a recorded request, when and by whom.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Filed {
    pub command: Command,
    pub at: DateTime<Utc>,
    pub actor: Actor,
}

/// The inputs of a recorded history, in the order they came, and the `Start` that filed it.
pub(super) fn read(history: &[RecordedEvent]) -> (Option<Filed>, Vec<Held>) {
    let mut state = InstanceState::default();
    let mut asked: std::collections::BTreeMap<u32, Asked> = Default::default();
    let mut start = None;
    let mut inputs = Vec::new();
    let mut i = 0;
    while i < history.len() {
        let first = &history[i];
        let end = history[i..]
            .iter()
            .position(|e| e.command_id != first.command_id)
            .map_or(history.len(), |n| i + n);
        let held = |input| Held {
            input,
            at: first.recorded_at,
            actor: first.actor.clone(),
        };
        if let Event::InstanceStarted {
            instance,
            tracking_code,
            input,
            parent,
            ..
        } = &first.event
        {
            let command = Command::Start {
                instance: instance.clone(),
                tracking_code: tracking_code.clone(),
                input: input.clone(),
                parent: parent.clone(),
            };
            start = Some(Filed {
                command,
                at: first.recorded_at,
                actor: first.actor.clone(),
            });
        } else if let Some(input) = input_of(&first.event, &state, &asked) {
            inputs.push(held(input));
        }
        for e in &history[i..end] {
            if let Event::InquiryRequested {
                token,
                connector,
                operation,
                request,
                ..
            } = &e.event
            {
                asked.insert(
                    *token,
                    Asked {
                        connector: connector.clone(),
                        operation: operation.clone(),
                        request: request.clone(),
                    },
                );
            }
            state.apply(&e.event);
        }
        i = end;
    }
    (start, inputs)
}

/// The input a commit's first event records, read against the state before the commit.
fn input_of(
    event: &Event,
    state: &InstanceState,
    asked: &std::collections::BTreeMap<u32, Asked>,
) -> Option<Input> {
    let step_of = |token: &u32| state.tokens.get(token).map(|t| t.step.clone());
    let inquiry = |token: &u32, step: &str, result| Input::Inquiry {
        step: step.to_owned(),
        asked: asked.get(token).cloned(),
        result,
    };
    Some(match event {
        Event::InquiryAnswered {
            token,
            step,
            evidence,
            ..
        } => inquiry(
            token,
            step,
            InquiryResult::Answered {
                evidence: evidence.clone(),
            },
        ),
        Event::InquiryAcknowledged { token, step, .. } => {
            inquiry(token, step, InquiryResult::Acknowledged)
        }
        Event::InquiryFailed {
            token,
            step,
            reason,
            retryable,
            ..
        } => {
            let reason = reason.clone();
            let result = match retryable {
                true => InquiryResult::Transient { reason },
                false => InquiryResult::Refused { reason },
            };
            inquiry(token, step, result)
        }
        Event::InquiryOutcomeUnknown { token, step, .. } => {
            inquiry(token, step, InquiryResult::Unknown)
        }
        Event::PaymentOpened {
            step,
            reference,
            url,
            ..
        } => Input::PaymentRequest {
            step: step.clone(),
            result: PaymentRequestResult::Opened {
                reference: reference.clone(),
                url: url.clone(),
            },
        },
        Event::PaymentFailed { step, reason, .. } => Input::PaymentRequest {
            step: step.clone(),
            result: PaymentRequestResult::Refused {
                reason: reason.clone(),
            },
        },
        // A transient failure of a payment request records only the backoff it sets.
        Event::TimerScheduled {
            token,
            step,
            purpose: TimerPurpose::Retry { .. },
            ..
        } if state
            .tokens
            .get(token)
            .is_some_and(|t| matches!(t.wait, Wait::PaymentRequest { .. })) =>
        {
            Input::PaymentRequest {
                step: step.clone(),
                result: PaymentRequestResult::Transient {
                    reason: String::new(),
                },
            }
        }
        Event::TimerFired { timer } => {
            let t = state.timers.get(timer)?;
            Input::Timer {
                step: match t.purpose {
                    TimerPurpose::Sla => None,
                    _ => step_of(&t.token),
                },
                purpose: t.purpose.clone(),
            }
        }
        Event::MessageReceived {
            token,
            name,
            message_id,
            payload,
            ..
        } => Input::Message {
            step: step_of(token)?,
            name: name.clone(),
            message_id: message_id.clone(),
            payload: payload.clone(),
        },
        Event::TaskClaimed { task, officer } => Input::Claim {
            step: state.tasks.get(task)?.step.clone(),
            officer: officer.clone(),
        },
        Event::TaskCompleted {
            task,
            officer,
            outcome,
            form,
        } => Input::Complete {
            step: state.tasks.get(task)?.step.clone(),
            officer: officer.clone(),
            outcome: outcome.clone(),
            form: form.clone(),
        },
        Event::TaskReassigned {
            task,
            role,
            officer,
        } => Input::Reassign {
            step: state.tasks.get(task)?.step.clone(),
            role: role.clone(),
            officer: officer.clone(),
        },
        Event::CallCompleted {
            step,
            succeeded,
            result,
            ..
        } => Input::Call {
            step: step.clone(),
            succeeded: *succeeded,
            result: result.clone(),
        },
        Event::InstanceCancelled { reason } => Input::Cancel {
            reason: reason.clone(),
        },
        Event::IncidentResolved { incident, .. } => Input::RetryIncident {
            step: state.incidents.get(incident)?.1.clone(),
        },
        // SMS reports change no path; anything else is not an input.
        _ => return None,
    })
}

/// Whether two timers are for the same thing, whatever their task ids.
fn same_purpose(a: &TimerPurpose, b: &TimerPurpose) -> bool {
    use TimerPurpose as P;
    match (a, b) {
        (P::Escalation { level: x, .. }, P::Escalation { level: y, .. }) => x == y,
        (P::Retry { attempt: x }, P::Retry { attempt: y }) => x == y,
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

impl Held {
    /// The command that gives this input to the new run in `state`, if something there waits
    /// for it at the same step. `asked` is what the new run's inquiries asked, by token: an
    /// answer is given only to the same question.
    pub(super) fn command(
        &self,
        state: &InstanceState,
        asked: &std::collections::BTreeMap<u32, Asked>,
    ) -> Option<Command> {
        let at = |step: &String| -> Vec<(u32, &crate::core::state::Token)> {
            state
                .tokens
                .iter()
                .filter(|(_, t)| &t.step == step)
                .map(|(id, t)| (*id, t))
                .collect()
        };
        let open_task = |step: &str| {
            state
                .tasks
                .iter()
                .find(|(_, t)| t.open && t.step == step)
                .map(|(id, _)| id.clone())
        };
        match &self.input {
            Input::Inquiry {
                step,
                asked: recorded,
                result,
            } => at(step).into_iter().find_map(|(token, t)| match t.wait {
                Wait::Inquiry { attempt } if asked.get(&token) == recorded.as_ref() => {
                    Some(Command::InquiryResult {
                        token,
                        attempt,
                        result: result.clone(),
                    })
                }
                _ => None,
            }),
            Input::PaymentRequest { step, result } => {
                at(step).into_iter().find_map(|(token, t)| match t.wait {
                    Wait::PaymentRequest { attempt } => Some(Command::PaymentRequestResult {
                        token,
                        attempt,
                        result: result.clone(),
                    }),
                    _ => None,
                })
            }
            Input::Timer { step, purpose } => state.timers.iter().find_map(|(id, t)| {
                let here = match step {
                    None => true,
                    Some(s) => state.tokens.get(&t.token).is_some_and(|k| &k.step == s),
                };
                (here && same_purpose(&t.purpose, purpose))
                    .then(|| Command::FireTimer { timer: id.clone() })
            }),
            Input::Message {
                step,
                name,
                message_id,
                payload,
            } => at(step).into_iter().find_map(|(_, t)| {
                let key = visit_key(&state.instance, &t.step, t.entered_at_version);
                let correlation = match &t.wait {
                    Wait::Message {
                        name: n,
                        correlation,
                    } if n == name => correlation.clone(),
                    Wait::Callback { .. } | Wait::Inquiry { .. } if name == CALLBACK => key,
                    Wait::PaymentOpen { reference } if name == PAYMENT => reference.clone(),
                    Wait::PaymentRequest { .. } if name == PAYMENT => key,
                    _ => return None,
                };
                Some(Command::DeliverMessage {
                    name: name.clone(),
                    correlation,
                    message_id: message_id.clone(),
                    payload: payload.clone(),
                })
            }),
            Input::Claim { step, officer } => open_task(step).map(|task| Command::ClaimTask {
                task,
                officer: officer.clone(),
            }),
            Input::Complete {
                step,
                officer,
                outcome,
                form,
            } => open_task(step).map(|task| Command::CompleteTask {
                task,
                officer: officer.clone(),
                outcome: outcome.clone(),
                form: form.clone(),
            }),
            Input::Reassign {
                step,
                role,
                officer,
            } => open_task(step).map(|task| Command::ReassignTask {
                task,
                role: role.clone(),
                officer: officer.clone(),
            }),
            Input::Call {
                step,
                succeeded,
                result,
            } => at(step).into_iter().find_map(|(token, t)| {
                matches!(t.wait, Wait::Call).then(|| Command::CallResult {
                    token,
                    succeeded: *succeeded,
                    result: result.clone(),
                })
            }),
            Input::Cancel { reason } => Some(Command::Cancel {
                reason: reason.clone(),
            }),
            Input::RetryIncident { step } => state
                .incidents
                .iter()
                .find(|(_, (_, s))| s == step)
                .map(|(incident, _)| Command::RetryIncident {
                    incident: incident.clone(),
                }),
        }
    }
}
