//! Running an instance forward: entering steps, completing them, following transitions,
//! forking and joining branches, until every token waits. Every change is an event, applied
//! to a working copy of the state as it is emitted, so later decisions in the same run see it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use daftar_definitions::Next;
use daftar_definitions::model::{Expr, Join, Retry, Step, Workflow};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::command::Ctx;
use super::state::{InstanceState, Wait};
use crate::definition::{Definition, Scope};
use crate::error::{Error, Result};
use crate::events::{Event, NotificationPurpose, TimerPurpose};

/// How far one run may go without a wait, as a guard; validation forbids loops without one.
const MAX_STEPS: usize = 10_000;

/// What a token does after a step has done its part.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Flow {
    /// It waits for the outside world.
    Wait,
    /// It completed the step normally: follow `next` or the following step.
    Complete,
    /// It goes to this step (a decision, an outcome, a failure or timeout path).
    Goto(String),
}

/// One decision in progress.
pub(crate) struct Run<'a> {
    pub def: &'a Definition,
    pub ctx: &'a Ctx,
    pub state: InstanceState,
    pub events: Vec<Event>,
    steps_run: usize,
    /// Set by an operator's retry: the next step is entered even past its `max_visits` or
    /// the budget, because a person has looked at why it stopped.
    pub unguarded: bool,
}

impl<'a> Run<'a> {
    pub fn new(def: &'a Definition, ctx: &'a Ctx, state: &InstanceState) -> Self {
        Run {
            def,
            ctx,
            state: state.clone(),
            events: Vec::new(),
            steps_run: 0,
            unguarded: false,
        }
    }

    pub fn workflow(&self) -> &'a Workflow {
        self.def.compiled().workflow()
    }

    pub fn step(&self, id: &str) -> &'a Step {
        self.def
            .compiled()
            .step(id)
            .expect("validated definitions only name steps that exist")
    }

    /// Emits an event: applies it to the working state and records it.
    pub fn emit(&mut self, event: Event) {
        self.state.apply(&event);
        self.events.push(event);
    }

    /// The national document ID of what this request issues (`crate::document`): from the
    /// agency's code, the time of this decision and the request's tracking code.
    pub fn document_id(&self) -> String {
        crate::document::compose(
            &self.ctx.document_code,
            self.ctx.now,
            &self.state.tracking_code,
        )
    }

    /// An id for something created by the next event: unique in the stream and the same
    /// when history is replayed.
    pub fn new_id(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.state.version + 1)
    }

    /// The step a token is at.
    pub fn token_step(&self, token: u32) -> Result<String> {
        self.state
            .tokens
            .get(&token)
            .map(|t| t.step.clone())
            .ok_or_else(|| Error::Stale(format!("token {token} is no longer active")))
    }

    /// The step of `token` when its wait is the one `expected` accepts; else the result it
    /// answers is stale, and the error says what the token was not waiting for (`what`).
    pub fn waiting_step(
        &self,
        token: u32,
        expected: impl FnOnce(&Wait) -> bool,
        what: &str,
    ) -> Result<String> {
        let id = self.token_step(token)?;
        let wait = &self.state.tokens[&token].wait;
        if !expected(wait) {
            return Err(Error::Stale(format!(
                "token {token} is not waiting for {what} ({wait:?})"
            )));
        }
        Ok(id)
    }

    /// The key that identifies this visit of a token to its step: the same for every retry,
    /// different for the next visit. Agencies and gateways use it to drop duplicates.
    pub fn visit_key(&self, token: u32) -> String {
        let t = &self.state.tokens[&token];
        visit_key(&self.state.instance, &t.step, t.entered_at_version)
    }

    /// What expressions can read, with extra names for a mapping.
    pub fn scope(&self, extra: Vec<(&'static str, Value)>) -> Scope<'_> {
        Scope {
            input: Some(&self.state.input),
            instance: Some(json!({
                "id": self.state.instance,
                "tracking_code": self.state.tracking_code,
                "agency": self.state.agency,
                "workflow": self.state.workflow,
                "version": self.state.workflow_version,
                "started_at": self.state.filed_at.map(|t| t.to_rfc3339()),
                "status": self.state.status,
            })),
            now: Some(self.ctx.now),
            vars: Some(&self.state.vars),
            extra,
        }
    }

    /// The values of the names `source` reads, as a decision records them: `input.x` from
    /// the application, `instance.x` and `now` as expressions see them, the rest from the
    /// variables; `null` for what is not set.
    pub fn read_by(&self, source: &str) -> BTreeMap<String, Value> {
        let scope = self.scope(vec![]);
        self.def
            .reads(source)
            .iter()
            .map(|name| {
                let (root, field) = match name.split_once('.') {
                    Some((r, f)) => (r, Some(f)),
                    None => (name.as_str(), None),
                };
                let whole = match root {
                    "input" => Some(self.state.input.clone()),
                    "instance" => scope.instance.clone(),
                    "now" => Some(Value::String(self.ctx.now.to_rfc3339())),
                    var => self.state.vars.get(var).cloned(),
                };
                let value = match (whole, field) {
                    (Some(v), Some(f)) => v.get(f).cloned(),
                    (v, None) => v,
                    (None, Some(_)) => None,
                };
                (name.clone(), value.unwrap_or(Value::Null))
            })
            .collect()
    }

    pub fn eval(&self, expr: &Expr, extra: Vec<(&'static str, Value)>) -> Result<Value, String> {
        self.def.eval(expr.as_str(), &self.scope(extra))
    }

    /// Evaluates a mapping into values, all against the state before any is set.
    pub fn mapping(
        &self,
        mapping: &BTreeMap<String, Expr>,
        extra: Vec<(&'static str, Value)>,
    ) -> Result<BTreeMap<String, Value>, String> {
        let evaluator = self.def.evaluator(&self.scope(extra));
        mapping
            .iter()
            .map(|(k, e)| evaluator.eval(e.as_str()).map(|v| (k.clone(), v)))
            .collect()
    }

    /// Sets variables from an output mapping; an incident when it cannot be evaluated.
    pub fn set_output(
        &mut self,
        token: u32,
        step: &str,
        mapping: &BTreeMap<String, Expr>,
        extra: Vec<(&'static str, Value)>,
    ) -> Option<Flow> {
        if mapping.is_empty() {
            return None;
        }
        match self.mapping(mapping, extra) {
            Ok(values) => {
                self.emit(Event::DataSet {
                    step: step.to_owned(),
                    values,
                });
                None
            }
            Err(reason) => Some(self.incident(token, step, reason)),
        }
    }

    /// Raises an incident for a token; it waits for an operator.
    pub fn incident(&mut self, token: u32, step: &str, reason: String) -> Flow {
        let incident = self.new_id("inc-");
        self.emit(Event::IncidentRaised {
            incident,
            token,
            step: step.to_owned(),
            reason,
        });
        Flow::Wait
    }

    /// Follows a failure or timeout path, or raises an incident when there is none.
    pub fn path_or_incident(
        &mut self,
        token: u32,
        step: &str,
        path: Option<&String>,
        reason: String,
    ) -> Flow {
        match path {
            Some(target) => Flow::Goto(target.clone()),
            None => self.incident(token, step, reason),
        }
    }

    /// Schedules a timer for a token.
    pub fn timer(
        &mut self,
        token: u32,
        step: &str,
        due_at: DateTime<Utc>,
        purpose: TimerPurpose,
    ) -> String {
        let timer = self.new_id("tm-");
        self.emit(Event::TimerScheduled {
            timer: timer.clone(),
            token,
            step: step.to_owned(),
            due_at,
            purpose,
        });
        timer
    }

    /// Cancels the timers of a token's current visit.
    pub fn cancel_timers(&mut self, token: u32) {
        let timers: Vec<String> = self
            .state
            .tokens
            .get(&token)
            .map(|t| t.timers.iter().cloned().collect())
            .unwrap_or_default();
        for timer in timers {
            self.emit(Event::TimerCancelled { timer });
        }
    }

    /// The retry policy of an inquiry or payment.
    pub fn retry_policy(&self, own: Option<&Retry>) -> Retry {
        own.or(self.workflow().defaults.retry.as_ref())
            .cloned()
            .unwrap_or(Retry {
                max_attempts: 3,
                initial_interval: daftar_definitions::model::Duration(
                    std::time::Duration::from_secs(1),
                ),
                multiplier: 2.0,
                max_interval: daftar_definitions::model::Duration(std::time::Duration::from_secs(
                    60,
                )),
                jitter: 0.2,
            })
    }

    /// Schedules the next attempt after `attempt` failed, or says retries have run out.
    pub fn backoff(&mut self, token: u32, step: &str, policy: &Retry, attempt: u32) -> bool {
        if attempt >= policy.max_attempts {
            return false;
        }
        let delay = backoff_delay(policy, attempt, &self.visit_key(token));
        let due = self.ctx.now + delay;
        self.timer(
            token,
            step,
            due,
            TimerPurpose::Retry {
                attempt: attempt + 1,
            },
        );
        true
    }

    /// Sends an SMS: renders the template in Persian and records the intent with a stable
    /// reference; the notifier sends it after the commit.
    pub fn notify(
        &mut self,
        template: &str,
        recipient: Option<&Expr>,
        purpose: NotificationPurpose,
        context_extra: Vec<(&'static str, Value)>,
    ) -> Result<(), String> {
        let limit = self.workflow().limits.sms.unwrap_or(self.ctx.budget.sms);
        let sent = self.state.notifications.len() - self.state.budget_from.1;
        if sent >= limit as usize {
            return Err(format!(
                "the request has asked for {sent} SMS, its budget; no more are sent so that a loop cannot flood the applicant (an operator can retry it)"
            ));
        }
        let applicant = self.workflow().applicant_mobile();
        let to = recipient
            .or(applicant.as_ref())
            .ok_or("the workflow has no applicant mobile number")?;
        let recipient = match self.eval(to, vec![])? {
            Value::String(s) => s,
            other => {
                return Err(format!(
                    "the recipient `{to}` is {other}, not a mobile number"
                ));
            }
        };
        let status = self
            .state
            .status
            .as_ref()
            .and_then(|s| self.workflow().statuses.get(s));
        let mut context = json!({
            "tracking_code": self.state.tracking_code,
            "status": status.map(|s| json!({"fa": s.fa, "en": s.en})),
            "input": self.state.input,
            "instance": self.scope(vec![]).instance,
        });
        if let Some(obj) = context.as_object_mut() {
            for (k, v) in context_extra {
                obj.insert(k.to_owned(), v);
            }
            for (k, v) in &self.state.vars {
                obj.entry(k.clone()).or_insert(v.clone());
            }
        }
        let text = self.def.render(template, "fa", &context)?;
        self.request_sms(purpose, template, recipient, text);
        Ok(())
    }

    /// The applicant's mobile number, where the workflow says where it is and the request has
    /// one: who daftar's own SMS (a cancellation, a deemed decision) go to.
    pub fn applicant_recipient(&self) -> Option<String> {
        let mobile = self.workflow().applicant_mobile()?;
        match self.eval(&mobile, vec![]) {
            Ok(Value::String(recipient)) => Some(recipient),
            _ => None,
        }
    }

    /// Records an SMS to send, under the reference its event's version gives it.
    pub fn request_sms(
        &mut self,
        purpose: NotificationPurpose,
        template: &str,
        recipient: String,
        text: String,
    ) {
        let reference = sms_reference(&self.state.instance, self.state.version + 1);
        self.emit(Event::NotificationRequested {
            reference,
            purpose,
            template: template.to_owned(),
            recipient,
            text,
        });
    }

    /// Drives a token until it and every token it starts wait.
    pub fn drive(&mut self, token: u32, flow: Flow) -> Result<()> {
        let mut work = vec![(token, flow)];
        while let Some((token, flow)) = work.pop() {
            if self.state.ended() || !self.state.tokens.contains_key(&token) {
                continue;
            }
            match flow {
                Flow::Wait => {}
                Flow::Goto(target) => {
                    self.steps_run += 1;
                    if self.steps_run > MAX_STEPS {
                        return Err(Error::Runaway(MAX_STEPS));
                    }
                    if !std::mem::take(&mut self.unguarded)
                        && let Some(instead) = self.guard(token, &target)
                    {
                        work.push((token, instead));
                        continue;
                    }
                    self.cancel_timers(token);
                    let next = self.enter(token, &target, &mut work);
                    work.push((token, next));
                }
                Flow::Complete => {
                    let step = self.token_step(token)?;
                    self.cancel_timers(token);
                    self.emit(Event::StepCompleted {
                        token,
                        step: step.clone(),
                    });
                    match self.def.compiled().next(&step) {
                        Some(Next::Step(s)) => work.push((token, Flow::Goto(s.id.clone()))),
                        Some(Next::BranchComplete) => self.branch_complete(token, &mut work),
                        Some(Next::Chosen) | None => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// What stops a token from entering a step: the request's budget of steps, or the step's
    /// `max_visits`. `None` lets it in.
    fn guard(&mut self, token: u32, target: &str) -> Option<Flow> {
        let limit = self
            .workflow()
            .limits
            .steps
            .unwrap_or(self.ctx.budget.steps);
        let used = self.state.steps_entered - self.state.budget_from.0;
        if used >= u64::from(limit) {
            let reason = format!(
                "the request has entered {used} steps, its budget; it is stopped before `{target}` so that a loop cannot run on (an operator can retry it)"
            );
            return Some(self.incident(token, target, reason));
        }
        let step = self.step(target);
        let max = step.max_visits?;
        let visits = self.state.visits.get(target).copied().unwrap_or(0);
        if visits < max {
            return None;
        }
        let reason = format!("step `{target}` has been entered {visits} times, its `max_visits`");
        Some(self.path_or_incident(token, target, step.on_max_visits.as_ref(), reason))
    }

    fn branch_complete(&mut self, token: u32, work: &mut Vec<(u32, Flow)>) {
        let Some(parent) = self.state.tokens.get(&token).and_then(|t| t.parent) else {
            return;
        };
        self.emit(Event::BranchCompleted { token, parent });
        let parent_step = match self.state.tokens.get(&parent) {
            Some(t) => t.step.clone(),
            None => return,
        };
        let join = self
            .step(&parent_step)
            .parallel
            .as_ref()
            .map(|p| p.join)
            .unwrap_or_default();
        let pending: Vec<u32> = match &self.state.tokens[&parent].wait {
            Wait::Join { pending } => pending.iter().copied().collect(),
            _ => return,
        };
        let joined = match join {
            Join::All => pending.is_empty(),
            Join::Any => {
                for other in pending {
                    self.cancel_token(other);
                }
                true
            }
        };
        if joined {
            self.emit(Event::BranchesJoined {
                token: parent,
                step: parent_step,
            });
            work.push((parent, Flow::Complete));
        }
    }

    /// Stops a token and everything under it: its timers, its tasks, its branches.
    pub fn cancel_token(&mut self, token: u32) {
        let children: Vec<u32> = self
            .state
            .tokens
            .iter()
            .filter(|(_, t)| t.parent == Some(token))
            .map(|(id, _)| *id)
            .collect();
        for child in children {
            self.cancel_token(child);
        }
        self.cancel_timers(token);
        self.emit(Event::TokenCancelled { token });
    }

    /// Cancels every pending timer of the instance (when it ends).
    pub fn cancel_all_timers(&mut self) {
        let timers: Vec<String> = self.state.timers.keys().cloned().collect();
        for timer in timers {
            self.emit(Event::TimerCancelled { timer });
        }
    }
}

/// The reference of an SMS: the instance and the version of the event that asked for it.
pub(crate) fn sms_reference(instance: &str, version: u64) -> String {
    format!("{instance}-n{version}")
}

/// The instance an SMS reference names.
pub fn sms_reference_instance(reference: &str) -> Option<&str> {
    let (instance, version) = reference.rsplit_once("-n")?;
    (!instance.is_empty() && version.parse::<u64>().is_ok()).then_some(instance)
}

/// The idempotency key of a step visit.
pub(crate) fn visit_key(instance: &str, step: &str, version: u64) -> String {
    format!("{instance}:{step}:{version}")
}

/// The instance a step visit's idempotency key (`instance:step:version`) names; payment
/// references are such keys too.
pub fn visit_key_instance(key: &str) -> Option<&str> {
    let mut parts = key.splitn(3, ':');
    let (instance, _step, version) = (parts.next()?, parts.next()?, parts.next()?);
    (!instance.is_empty() && version.parse::<u64>().is_ok()).then_some(instance)
}

/// The wait before attempt `attempt + 1`: exponential from the initial interval, capped, with
/// a jitter drawn from the visit key so that it is random across instances and the same on
/// replay.
pub(crate) fn backoff_delay(policy: &Retry, attempt: u32, key: &str) -> chrono::Duration {
    let base = policy.initial_interval.get().as_secs_f64()
        * policy.multiplier.powi(attempt.saturating_sub(1) as i32);
    let capped = base.min(policy.max_interval.get().as_secs_f64());
    let digest = Sha256::digest(format!("{key}:{attempt}").as_bytes());
    let r = f64::from(u32::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ])) / f64::from(u32::MAX);
    let secs = capped * (1.0 - policy.jitter * r);
    chrono::Duration::milliseconds((secs * 1000.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_references_name_their_instance() {
        let key = visit_key("i-ab12", "identity", 7);
        assert_eq!(visit_key_instance(&key), Some("i-ab12"));
        assert_eq!(
            sms_reference_instance(&sms_reference("i-ab12", 24)),
            Some("i-ab12")
        );
        assert_eq!(visit_key_instance("i-ab12"), None);
        assert_eq!(visit_key_instance(":identity:7"), None);
        assert_eq!(visit_key_instance("i-1:identity:x"), None);
        assert_eq!(sms_reference_instance("i-ab12-nope"), None);
    }
}
