use crate::core::run::{Flow, Run};
use crate::core::state::Wait;
use crate::error::{Error, Result};
use crate::events::{Event, NotificationPurpose, TimerPurpose};

pub(crate) fn handle(run: &mut Run<'_>, timer: &str) -> Result<()> {
    let Some(state) = run.state.timers.get(timer).cloned() else {
        return Err(Error::Stale(format!("timer `{timer}` is not pending")));
    };
    run.emit(Event::TimerFired {
        timer: timer.to_owned(),
    });
    let token = state.token;
    let flow = match &state.purpose {
        TimerPurpose::Sla | TimerPurpose::TaskDue { .. } => Flow::Wait,
        TimerPurpose::Wait => Flow::Complete,
        TimerPurpose::Retry { attempt } => {
            let id = run.token_step(token)?;
            let step = run.step(&id);
            if step.payment.is_some() {
                super::payment::reattempt(run, token, &id, *attempt)
            } else {
                super::inquiry::reattempt(run, token, &id, *attempt)
            }
        }
        TimerPurpose::Timeout => {
            let id = run.token_step(token)?;
            let step = run.step(&id);
            match run.state.tokens[&token].wait.clone() {
                Wait::Callback { attempt } => {
                    run.emit(Event::InquiryOutcomeUnknown {
                        token,
                        step: id.clone(),
                        attempt,
                    });
                    let cb = step.inquiry.as_ref().and_then(|i| i.callback.as_ref());
                    run.path_or_incident(
                        token,
                        &id,
                        cb.and_then(|c| c.on_timeout.as_ref()),
                        "the agency did not call back in time".to_owned(),
                    )
                }
                Wait::PaymentOpen { .. } => super::payment::expired(run, token, &id),
                Wait::Message { name, .. } => {
                    let w = step.wait.as_ref().expect("a message wait");
                    run.path_or_incident(
                        token,
                        &id,
                        w.on_timeout.as_ref(),
                        format!("message `{name}` did not come in time"),
                    )
                }
                _ => Flow::Wait,
            }
        }
        TimerPurpose::Escalation { task, level } => {
            let id = run.token_step(token)?;
            let t = run.step(&id).task.as_ref().expect("a task step");
            if let Some(e) = t.escalation.get(*level as usize - 1) {
                run.emit(Event::TaskEscalated {
                    task: task.clone(),
                    level: *level,
                    to: e.to.clone(),
                });
                if let Some(template) = &e.notify {
                    let to = daftar_definitions::model::Expr(format!("'role:{}'", e.to));
                    let purpose = NotificationPurpose::Escalation { task: task.clone() };
                    let state = &run.state.tasks[task];
                    let context = vec![(
                        "task",
                        serde_json::json!({
                            "id": task,
                            "step": state.step,
                            "role": e.to,
                            "due_at": state.due_at,
                            "escalation": level,
                        }),
                    )];
                    if let Err(reason) = run.notify(template, Some(&to), purpose, context) {
                        let flow = run.incident(token, &id, reason);
                        return run.drive(token, flow);
                    }
                }
            }
            Flow::Wait
        }
    };
    run.drive(token, flow)
}
