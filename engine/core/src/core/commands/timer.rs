use crate::core::run::{Flow, Run};
use crate::core::state::Wait;
use crate::error::{Error, Result};
use crate::events::{Event, TimerPurpose};

pub(crate) fn handle(run: &mut Run<'_>, timer: &str) -> Result<()> {
    let Some(state) = run.state.timers.get(timer).cloned() else {
        return Err(Error::Stale(format!("timer `{timer}` is not pending")));
    };
    run.emit(Event::TimerFired {
        timer: timer.to_owned(),
    });
    let token = state.token;
    let flow = match &state.purpose {
        TimerPurpose::TaskDue { task } => match run.state.tasks.get(task) {
            Some(t) if t.open => {
                let t = t.clone();
                let step = run.step(&t.step);
                let deemed = step.task.as_ref().and_then(|s| s.on_deadline.clone());
                match deemed {
                    Some(od) => super::task::deemed(run, task, &t, &od),
                    None => Flow::Wait,
                }
            }
            _ => Flow::Wait,
        },
        TimerPurpose::Sla => Flow::Wait,
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
                // The officers of the new role are told through their worklist, where the task
                // now is, with the notice rendered here; an officer is not a citizen's mobile
                // number, and the SMS gateway is the citizens'.
                let notice = match &e.notify {
                    Some(template) => {
                        let state = &run.state.tasks[task];
                        let status = run
                            .state
                            .status
                            .as_ref()
                            .and_then(|s| run.workflow().statuses.get(s))
                            .map(|s| serde_json::json!({"fa": s.fa, "en": s.en}));
                        let context = serde_json::json!({
                            "tracking_code": run.state.tracking_code,
                            "status": status,
                            "input": run.state.input,
                            "instance": run.scope(vec![]).instance,
                            "task": {
                                "id": task,
                                "step": state.step,
                                "role": e.to,
                                "due_at": state.due_at,
                                "escalation": level,
                            },
                        });
                        let mut context = context;
                        if let Some(obj) = context.as_object_mut() {
                            for (k, v) in &run.state.vars {
                                obj.entry(k.clone()).or_insert(v.clone());
                            }
                        }
                        match run.def.render(template, "fa", &context) {
                            Ok(text) => Some(text),
                            Err(reason) => {
                                let flow = run.incident(token, &id, reason);
                                return run.drive(token, flow);
                            }
                        }
                    }
                    None => None,
                };
                run.emit(Event::TaskEscalated {
                    task: task.clone(),
                    level: *level,
                    to: e.to.clone(),
                    notice,
                });
            }
            Flow::Wait
        }
    };
    run.drive(token, flow)
}
