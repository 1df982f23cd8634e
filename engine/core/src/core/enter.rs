//! Entering a step: what each kind does when a token arrives.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use daftar_definitions::model::{Duration, Span, Step, StepKindRef};
use serde_json::Value;

use super::run::{Flow, Run};
use crate::events::{DecisionEvidence, Event, NotificationPurpose, TimerPurpose};

impl Run<'_> {
    /// A token enters a step. Returns what the token does next; tokens it starts (branches)
    /// are pushed onto `work`.
    pub(crate) fn enter(&mut self, token: u32, id: &str, work: &mut Vec<(u32, Flow)>) -> Flow {
        let step = self.step(id);
        self.emit(Event::StepEntered {
            token,
            step: id.to_owned(),
        });
        if let Some(status) = &step.status
            && self.state.status.as_ref() != Some(status)
        {
            self.emit(Event::StatusChanged {
                from: self.state.status.clone(),
                to: status.clone(),
            });
            let template = self
                .workflow()
                .statuses
                .get(status)
                .and_then(|s| s.sms_template());
            if let Some(template) = template {
                let purpose = NotificationPurpose::StatusChanged {
                    status: status.clone(),
                };
                let context = self.status_context(step);
                if let Err(reason) = self.notify(template, None, purpose, context) {
                    return self.incident(
                        token,
                        id,
                        format!("the status SMS cannot be sent: {reason}"),
                    );
                }
            }
        }
        let Some(kind) = step.kind() else {
            return self.incident(token, id, "the step has no kind".to_owned());
        };
        match kind {
            StepKindRef::Inquiry(inq) => match self.mapping(&inq.input, vec![]) {
                Ok(request) => {
                    self.emit(Event::InquiryRequested {
                        token,
                        step: id.to_owned(),
                        attempt: 1,
                        connector: inq.connector.clone(),
                        operation: inq.operation.clone(),
                        request: Value::Object(request.into_iter().collect()),
                        idempotency_key: self.visit_key(token),
                    });
                    Flow::Wait
                }
                Err(reason) => self.incident(token, id, reason),
            },
            StepKindRef::Payment(p) => match self.eval(&p.amount, vec![]) {
                Ok(v) => match v
                    .as_i64()
                    .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                {
                    Some(amount) if amount > 0 => {
                        self.emit(Event::PaymentRequested {
                            token,
                            step: id.to_owned(),
                            attempt: 1,
                            connector: p.connector.clone(),
                            amount,
                            idempotency_key: self.visit_key(token),
                        });
                        Flow::Wait
                    }
                    _ => self.incident(
                        token,
                        id,
                        format!(
                            "the amount `{}` is {v}, not a positive number of rials",
                            p.amount
                        ),
                    ),
                },
                Err(reason) => self.incident(token, id, reason),
            },
            StepKindRef::Notify(n) => {
                let purpose = NotificationPurpose::Step {
                    step: id.to_owned(),
                };
                match self.notify(&n.template, n.to.as_ref(), purpose, vec![]) {
                    Ok(()) => Flow::Complete,
                    Err(reason) => self.incident(token, id, reason),
                }
            }
            StepKindRef::Decision(d) => {
                let mut evidence = DecisionEvidence {
                    cases: Vec::new(),
                    chosen: None,
                    next: d.default.clone(),
                    inputs: self.state.vars.clone(),
                    read: Vec::new(),
                    reason: None,
                };
                let evaluator = self.def.evaluator(&self.scope(vec![]));
                let mut results = Vec::with_capacity(d.cases.len());
                for case in &d.cases {
                    let value = evaluator.eval(case.when.as_str());
                    let holds = matches!(value, Ok(Value::Bool(true)));
                    results.push(value);
                    if holds {
                        break;
                    }
                }
                drop(evaluator);
                for (i, (case, value)) in d.cases.iter().zip(results).enumerate() {
                    let value = match value {
                        Ok(v) => v,
                        Err(reason) => {
                            return self.incident(token, id, format!("case {}: {reason}", i + 1));
                        }
                    };
                    let holds = match value {
                        Value::Bool(b) => b,
                        other => {
                            return self.incident(
                                token,
                                id,
                                format!(
                                    "case {} (`{}`) gave {other}, not true or false",
                                    i + 1,
                                    case.when
                                ),
                            );
                        }
                    };
                    evidence
                        .cases
                        .push((case.when.0.clone(), Value::Bool(holds)));
                    evidence.read.push(self.read_by(case.when.as_str()));
                    if holds {
                        evidence.chosen = Some(i);
                        evidence.next = case.next.clone();
                        evidence.reason = case.reason.clone();
                        break;
                    }
                }
                let next = evidence.next.clone();
                self.emit(Event::DecisionTaken {
                    step: id.to_owned(),
                    evidence,
                });
                self.emit(Event::StepCompleted {
                    token,
                    step: id.to_owned(),
                });
                Flow::Goto(next)
            }
            StepKindRef::Task(t) => {
                let task = self.new_id("task-");
                let due = t
                    .due
                    .unwrap_or(Span::Fixed(Duration(std::time::Duration::from_secs(
                        86_400,
                    ))));
                let due_at = self.ctx.calendar.add(self.ctx.now, due);
                self.emit(Event::TaskCreated {
                    token,
                    step: id.to_owned(),
                    task: task.clone(),
                    role: t.role.clone(),
                    candidate_groups: t.candidate_groups.clone(),
                    form: t.form.clone(),
                    due_at,
                });
                self.timer(
                    token,
                    id,
                    due_at,
                    TimerPurpose::TaskDue { task: task.clone() },
                );
                for (level, e) in t.escalation.iter().enumerate() {
                    let at = self.ctx.calendar.add(self.ctx.now, e.after);
                    let purpose = TimerPurpose::Escalation {
                        task: task.clone(),
                        level: level as u32 + 1,
                    };
                    self.timer(token, id, at, purpose);
                }
                Flow::Wait
            }
            StepKindRef::Wait(w) => self.enter_wait(token, step, w),
            StepKindRef::Parallel(p) => {
                let mut branches = Vec::new();
                for b in &p.branches {
                    let child = self.state.next_token + branches.len() as u32;
                    branches.push((b.id.clone(), child));
                }
                self.emit(Event::BranchesForked {
                    token,
                    step: id.to_owned(),
                    branches: branches.clone(),
                });
                // The first branch runs first: the work list is a stack.
                for ((_, child), b) in branches.iter().zip(&p.branches).rev() {
                    work.push((*child, Flow::Goto(b.steps[0].id.clone())));
                }
                Flow::Wait
            }
            StepKindRef::Call(c) => match self.mapping(&c.input, vec![]) {
                Ok(input) => {
                    self.emit(Event::CallRequested {
                        token,
                        step: id.to_owned(),
                        workflow: c.workflow.clone(),
                        version: c.version,
                        input: Value::Object(input.into_iter().collect()),
                    });
                    Flow::Wait
                }
                Err(reason) => self.incident(token, id, reason),
            },
            StepKindRef::Set(mapping) => match self.set_output(token, id, mapping, vec![]) {
                Some(flow) => flow,
                None => Flow::Complete,
            },
            StepKindRef::End(e) => {
                let document_id = e.document.as_ref().map(|_| self.document_id());
                self.cancel_all_timers();
                let others: Vec<u32> = self
                    .state
                    .tokens
                    .keys()
                    .copied()
                    .filter(|t| *t != token)
                    .collect();
                for other in others {
                    if self.state.tokens.contains_key(&other) {
                        self.emit(Event::TokenCancelled { token: other });
                    }
                }
                self.emit(Event::InstanceCompleted {
                    outcome: e.outcome,
                    step: id.to_owned(),
                    document_id,
                });
                Flow::Wait
            }
        }
    }

    /// What a status SMS sent on entering `step` can say besides the usual: the document an
    /// end issues, or the amount a payment step asks for.
    fn status_context(&self, step: &Step) -> Vec<(&'static str, Value)> {
        let mut out = Vec::new();
        if let Some(doc) = step.end.as_ref().and_then(|e| e.document.as_ref()) {
            out.push((
                "document",
                serde_json::json!({
                    "id": self.document_id(),
                    "type": doc.kind,
                    "valid_for": doc.valid_for.map(|d| d.to_string()),
                }),
            ));
        }
        if let Some(p) = &step.payment
            && let Ok(amount) = self.eval(&p.amount, vec![])
        {
            out.push(("payment", serde_json::json!({ "amount": amount })));
        }
        out
    }

    fn enter_wait(&mut self, token: u32, step: &Step, w: &daftar_definitions::model::Wait) -> Flow {
        let id = step.id.as_str();
        let now = self.ctx.now;
        let due: Result<DateTime<Utc>, String> = if let Some(d) = w.duration {
            Ok(self.ctx.calendar.add(now, d))
        } else if let Some(until) = &w.until {
            self.eval(until, vec![]).and_then(|v| match v {
                Value::String(s) => DateTime::parse_from_rfc3339(&s)
                    .map(|t| t.with_timezone(&Utc))
                    .or_else(|_| {
                        chrono::NaiveDate::from_str(&s)
                            .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
                    })
                    .map_err(|e| format!("`{until}` gave `{s}`, not a time: {e}")),
                other => Err(format!("`{until}` gave {other}, not a time")),
            })
        } else if let Some(cron) = &w.cron {
            let tz = w.timezone.as_deref().unwrap_or(&self.workflow().timezone);
            next_occurrence(cron, tz, now)
        } else if let (Some(name), Some(correlation)) = (&w.message, &w.correlation) {
            let key = match self.eval(correlation, vec![]) {
                Ok(Value::String(s)) => s,
                Ok(other) => other.to_string(),
                Err(reason) => return self.incident(token, id, reason),
            };
            self.emit(Event::MessageAwaited {
                token,
                step: id.to_owned(),
                name: name.clone(),
                correlation: key,
            });
            if let Some(timeout) = w.timeout {
                let at = now
                    + chrono::Duration::from_std(timeout.get()).unwrap_or(chrono::Duration::MAX);
                self.timer(token, id, at, TimerPurpose::Timeout);
            }
            return Flow::Wait;
        } else {
            Err("the wait says nothing to wait for".to_owned())
        };
        match due {
            Ok(at) if at <= now => Flow::Complete,
            Ok(at) => {
                self.timer(token, id, at, TimerPurpose::Wait);
                Flow::Wait
            }
            Err(reason) => self.incident(token, id, reason),
        }
    }
}

/// The next occurrence of a cron expression after `now`, in a time zone.
pub(crate) fn next_occurrence(
    cron: &str,
    tz: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, String> {
    let schedule = daftar_definitions::parse_cron(cron)?;
    let tz: chrono_tz::Tz = tz
        .parse()
        .map_err(|_| format!("unknown time zone `{tz}`"))?;
    schedule
        .after(&now.with_timezone(&tz))
        .next()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("`{cron}` never occurs again"))
}
