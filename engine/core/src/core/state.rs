//! The state of one instance: the fold of its events. `apply` never fails and never reads
//! anything but the event: a state can always be rebuilt from history.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::{Event, Outcome, TimerPurpose};

/// What a token is waiting for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Wait {
    /// Moving (only between events of one decision; never at rest).
    Running,
    /// An inquiry attempt is in flight.
    Inquiry { attempt: u32 },
    /// Backing off before the next attempt.
    Retry { attempt: u32, timer: String },
    /// The agency acknowledged; waiting for its callback.
    Callback { attempt: u32 },
    /// A payment request is in flight to the gateway.
    PaymentRequest { attempt: u32 },
    /// The applicant can pay; waiting for the gateway's callback.
    PaymentOpen { reference: String },
    /// An officer's task.
    Task { task: String },
    /// A timer of a wait step.
    Timer,
    /// A named message.
    Message { name: String, correlation: String },
    /// The branches of a parallel step.
    Join { pending: BTreeSet<u32> },
    /// A sub-workflow.
    Call,
    /// An operator must act.
    Incident { incident: String },
}

impl Wait {
    /// Whether the engine moves the token on by itself, with no one outside to answer: a step
    /// running, an agency being asked or retried, a payment being opened, a sub-workflow
    /// running.
    pub fn moves_by_itself(&self) -> bool {
        matches!(
            self,
            Wait::Running
                | Wait::Inquiry { .. }
                | Wait::Retry { .. }
                | Wait::PaymentRequest { .. }
                | Wait::Call
        )
    }
}

/// An execution point: the top level has token 0; each branch of a parallel step its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// The step it is at.
    pub step: String,
    /// The token of the parallel step whose branch this is.
    pub parent: Option<u32>,
    /// What it waits for.
    pub wait: Wait,
    /// The stream version at which it entered its step: makes keys unique per visit.
    pub entered_at_version: u64,
    /// Timers set for this step visit, still pending.
    pub timers: BTreeSet<String>,
}

/// A human task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskState {
    /// The token waiting on it.
    pub token: u32,
    /// The step.
    pub step: String,
    /// The role that may claim it now.
    pub role: Option<String>,
    /// Groups that may claim it.
    pub candidate_groups: Vec<String>,
    /// The officer who claimed it.
    pub officer: Option<String>,
    /// The form to fill.
    pub form: Option<String>,
    /// The deadline.
    pub due_at: DateTime<Utc>,
    /// Whether the deadline passed while it was open.
    pub overdue: bool,
    /// How many escalations happened.
    pub escalations: u32,
    /// What the last escalation tells the officers it moved the task to, if anything.
    pub notice: Option<String>,
    /// Whether it is still open.
    pub open: bool,
}

/// A pending timer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimerState {
    /// The token it belongs to.
    pub token: u32,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// What it is for.
    pub purpose: TimerPurpose,
}

/// How an instance ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Ending {
    /// With an outcome, at an end step.
    Completed {
        outcome: Outcome,
        document_id: Option<String>,
    },
    /// Cancelled on request.
    Cancelled { reason: String },
}

/// The revocation of the document a request issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// Why.
    pub reason: String,
    /// Who revoked it.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// An SMS the instance asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delivery {
    /// Recorded; not yet confirmed.
    Pending,
    /// Accepted by the gateway.
    Sent,
    /// Refused.
    Failed,
    /// Reported delivered to the phone by the gateway.
    Delivered,
    /// Reported undeliverable by the gateway.
    Undelivered,
}

/// The service level's clock, stopped while the request waits on the applicant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoppedClock {
    /// Why: `payment`, or `message:NAME`.
    pub reason: String,
    /// Since when.
    pub at: DateTime<Utc>,
    /// What was left of the service level (working seconds when it is in working time).
    pub remaining_seconds: i64,
}

/// The state of an instance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceState {
    /// How many events have been applied: the stream version.
    pub version: u64,
    /// The instance id.
    pub instance: String,
    /// The agency.
    pub agency: String,
    /// The workflow id, version and content hash.
    pub workflow: String,
    /// The workflow version.
    pub workflow_version: u32,
    /// The definition's content hash.
    pub hash: String,
    /// The citizen's tracking code.
    pub tracking_code: String,
    /// The application form.
    pub input: Value,
    /// When it was filed.
    pub filed_at: Option<DateTime<Utc>>,
    /// Who filed it, when the applicant filed with a token of their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filed_by: Option<String>,
    /// Variables set by steps.
    pub vars: BTreeMap<String, Value>,
    /// The public status.
    pub status: Option<String>,
    /// How it ended, once it has.
    pub ending: Option<Ending>,
    /// The revocation of the document it issued, once revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revocation>,
    /// Live tokens.
    pub tokens: BTreeMap<u32, Token>,
    /// The next token id.
    pub next_token: u32,
    /// Human tasks, open and closed.
    pub tasks: BTreeMap<String, TaskState>,
    /// Pending timers.
    pub timers: BTreeMap<String, TimerState>,
    /// Open incidents, with the step they stopped.
    pub incidents: BTreeMap<String, (u32, String)>,
    /// SMS by reference.
    pub notifications: BTreeMap<String, Delivery>,
    /// Ids of messages already received (a message delivered twice has one effect).
    pub messages: BTreeSet<String>,
    /// Whether the SLA passed before the end.
    pub sla_breached: bool,
    /// While the request waits on the applicant, the service level's stopped clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_stopped: Option<StoppedClock>,
    /// The instance that called this one, if any.
    pub parent: Option<crate::events::ParentRef>,
    /// How many steps it has entered, in all.
    pub steps_entered: u64,
    /// How many times it has entered each step.
    pub visits: BTreeMap<String, u32>,
    /// Steps entered and SMS asked for when an operator last retried an incident: the
    /// budget counts from there.
    pub budget_from: (u64, usize),
    /// The authority the applicant's personal data was erased under, once it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased: Option<String>,
}

impl InstanceState {
    /// Whether the instance has started.
    pub fn started(&self) -> bool {
        self.version > 0
    }

    /// Whether its start can be read: false once its applicant was erased (the start held
    /// what they filed).
    pub fn started_readably(&self) -> bool {
        !self.workflow.is_empty()
    }

    /// Whether it has ended.
    pub fn ended(&self) -> bool {
        self.ending.is_some()
    }

    /// Folds a history into a state.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut s = InstanceState::default();
        for e in events {
            s.apply(e);
        }
        s
    }

    fn token(&mut self, id: u32) -> Option<&mut Token> {
        self.tokens.get_mut(&id)
    }

    fn set_wait(&mut self, token: u32, wait: Wait) {
        if let Some(t) = self.token(token) {
            t.wait = wait;
        }
    }

    /// Applies one event.
    pub fn apply(&mut self, event: &Event) {
        self.version += 1;
        let version = self.version;
        match event {
            Event::InstanceStarted {
                instance,
                workflow,
                version: wv,
                hash,
                agency,
                tracking_code,
                input,
                filed_at,
                parent,
                filed_by,
            } => {
                self.parent = parent.clone();
                self.filed_by = filed_by.clone();
                self.instance = instance.clone();
                self.workflow = workflow.clone();
                self.workflow_version = *wv;
                self.hash = hash.clone();
                self.agency = agency.clone();
                self.tracking_code = tracking_code.clone();
                self.input = input.clone();
                self.filed_at = Some(*filed_at);
                self.next_token = 1;
                self.tokens.insert(0, Token::at("", None, version));
            }
            Event::StepEntered { token, step } => {
                self.steps_entered += 1;
                *self.visits.entry(step.clone()).or_default() += 1;
                if let Some(t) = self.token(*token) {
                    t.step = step.clone();
                    t.wait = Wait::Running;
                    t.entered_at_version = version;
                }
            }
            Event::StepCompleted { token, .. } => self.set_wait(*token, Wait::Running),
            Event::StatusChanged { to, .. } => self.status = Some(to.clone()),
            Event::DataSet { values, .. } => {
                self.vars
                    .extend(values.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            Event::DecisionTaken { .. } => {}
            Event::InquiryRequested { token, attempt, .. } => {
                self.set_wait(*token, Wait::Inquiry { attempt: *attempt });
            }
            Event::InquiryAcknowledged { token, attempt, .. } => {
                self.set_wait(*token, Wait::Callback { attempt: *attempt });
            }
            Event::InquiryAnswered { token, .. } => self.set_wait(*token, Wait::Running),
            Event::InquiryFailed { .. } | Event::InquiryOutcomeUnknown { .. } => {}
            Event::PaymentRequested { token, attempt, .. } => {
                self.set_wait(*token, Wait::PaymentRequest { attempt: *attempt });
            }
            Event::PaymentOpened {
                token, reference, ..
            } => {
                self.set_wait(
                    *token,
                    Wait::PaymentOpen {
                        reference: reference.clone(),
                    },
                );
            }
            Event::PaymentSucceeded { token, .. } | Event::PaymentFailed { token, .. } => {
                self.set_wait(*token, Wait::Running);
            }
            Event::NotificationRequested { reference, .. } => {
                self.notifications
                    .insert(reference.clone(), Delivery::Pending);
            }
            Event::NotificationSent { reference, .. } => {
                self.notifications.insert(reference.clone(), Delivery::Sent);
            }
            Event::NotificationFailed { reference, .. } => {
                self.notifications
                    .insert(reference.clone(), Delivery::Failed);
            }
            Event::NotificationDelivered {
                reference, status, ..
            } => {
                let delivery = if status == "delivered" {
                    Delivery::Delivered
                } else {
                    Delivery::Undelivered
                };
                self.notifications.insert(reference.clone(), delivery);
            }
            Event::TaskCreated {
                token,
                step,
                task,
                role,
                candidate_groups,
                form,
                due_at,
            } => {
                self.tasks.insert(
                    task.clone(),
                    TaskState {
                        token: *token,
                        step: step.clone(),
                        role: role.clone(),
                        candidate_groups: candidate_groups.clone(),
                        officer: None,
                        form: form.clone(),
                        due_at: *due_at,
                        overdue: false,
                        escalations: 0,
                        notice: None,
                        open: true,
                    },
                );
                self.set_wait(*token, Wait::Task { task: task.clone() });
            }
            Event::TaskClaimed { task, officer } => {
                if let Some(t) = self.tasks.get_mut(task) {
                    t.officer = Some(officer.clone());
                }
            }
            Event::ClockStopped {
                reason,
                at,
                remaining_seconds,
            } => {
                self.clock_stopped = Some(StoppedClock {
                    reason: reason.clone(),
                    at: *at,
                    remaining_seconds: *remaining_seconds,
                });
            }
            Event::ClockResumed { .. } => self.clock_stopped = None,
            Event::TaskCompleted { task, .. } | Event::TaskDeemed { task, .. } => {
                if let Some(t) = self.tasks.get_mut(task) {
                    t.open = false;
                    let token = t.token;
                    self.set_wait(token, Wait::Running);
                }
            }
            Event::TaskEscalated {
                task,
                level,
                to,
                notice,
            } => {
                if let Some(t) = self.tasks.get_mut(task) {
                    t.escalations = *level;
                    t.notice = notice.clone();
                    t.role = Some(to.clone());
                    t.officer = None;
                }
            }
            Event::TaskReassigned {
                task,
                role,
                officer,
            } => {
                if let Some(t) = self.tasks.get_mut(task) {
                    if role.is_some() {
                        t.role = role.clone();
                    }
                    t.officer = officer.clone();
                }
            }
            Event::TimerScheduled {
                timer,
                token,
                due_at,
                purpose,
                ..
            } => {
                self.timers.insert(
                    timer.clone(),
                    TimerState {
                        token: *token,
                        due_at: *due_at,
                        purpose: purpose.clone(),
                    },
                );
                // The SLA belongs to the instance, not to the step token 0 happens to be at.
                if *purpose != TimerPurpose::Sla
                    && let Some(t) = self.token(*token)
                {
                    t.timers.insert(timer.clone());
                    match purpose {
                        TimerPurpose::Wait => t.wait = Wait::Timer,
                        TimerPurpose::Retry { attempt } => {
                            t.wait = Wait::Retry {
                                attempt: *attempt,
                                timer: timer.clone(),
                            }
                        }
                        _ => {}
                    }
                }
            }
            Event::TimerFired { timer } | Event::TimerCancelled { timer } => {
                if let Some(state) = self.timers.remove(timer) {
                    if let Some(t) = self.token(state.token) {
                        t.timers.remove(timer);
                    }
                    if let (Event::TimerFired { .. }, TimerPurpose::TaskDue { task }) =
                        (event, &state.purpose)
                        && let Some(task) = self.tasks.get_mut(task)
                    {
                        task.overdue = true;
                    }
                    if let (Event::TimerFired { .. }, TimerPurpose::Sla) = (event, &state.purpose) {
                        self.sla_breached = true;
                    }
                }
            }
            Event::MessageAwaited {
                token,
                name,
                correlation,
                ..
            } => self.set_wait(
                *token,
                Wait::Message {
                    name: name.clone(),
                    correlation: correlation.clone(),
                },
            ),
            Event::MessageReceived {
                token, message_id, ..
            } => {
                self.messages.insert(message_id.clone());
                self.set_wait(*token, Wait::Running);
            }
            Event::BranchesForked {
                token, branches, ..
            } => {
                let pending = branches.iter().map(|(_, t)| *t).collect();
                for (_, child) in branches {
                    self.tokens
                        .insert(*child, Token::at("", Some(*token), version));
                    self.next_token = self.next_token.max(child + 1);
                }
                self.set_wait(*token, Wait::Join { pending });
            }
            Event::BranchCompleted { token, parent } => {
                self.tokens.remove(token);
                if let Some(Token {
                    wait: Wait::Join { pending },
                    ..
                }) = self.tokens.get_mut(parent)
                {
                    pending.remove(token);
                }
            }
            Event::BranchesJoined { token, .. } => self.set_wait(*token, Wait::Running),
            Event::CallRequested { token, .. } => self.set_wait(*token, Wait::Call),
            Event::CallCompleted { token, .. } => self.set_wait(*token, Wait::Running),
            Event::TokenCancelled { token } => {
                self.tokens.remove(token);
                for task in self.tasks.values_mut() {
                    if task.token == *token {
                        task.open = false;
                    }
                }
                for owner in self.tokens.values_mut() {
                    if let Wait::Join { pending } = &mut owner.wait {
                        pending.remove(token);
                    }
                }
            }
            Event::InstanceCompleted {
                outcome,
                document_id,
                ..
            } => {
                self.ending = Some(Ending::Completed {
                    outcome: *outcome,
                    document_id: document_id.clone(),
                });
                self.tokens.clear();
            }
            Event::DocumentRevoked { reason, by, at, .. } => {
                self.revoked = Some(Revocation {
                    reason: reason.clone(),
                    by: by.clone(),
                    at: *at,
                });
            }
            Event::InstanceCancelled { reason } => {
                self.ending = Some(Ending::Cancelled {
                    reason: reason.clone(),
                });
                self.tokens.clear();
                for task in self.tasks.values_mut() {
                    task.open = false;
                }
            }
            Event::IncidentRaised {
                incident,
                token,
                step,
                ..
            } => {
                self.incidents
                    .insert(incident.clone(), (*token, step.clone()));
                self.set_wait(
                    *token,
                    Wait::Incident {
                        incident: incident.clone(),
                    },
                );
            }
            Event::IncidentResolved { incident, action } => {
                if let Some((token, _)) = self.incidents.remove(incident) {
                    self.set_wait(token, Wait::Running);
                }
                if action == "retry" {
                    self.budget_from = (self.steps_entered, self.notifications.len());
                }
            }
            Event::ApplicantErased { authority, .. } => {
                self.erased = Some(authority.clone());
            }
            // What it said is gone; the events around it still say where the request went.
            Event::Erased { .. } => {}
        }
    }
}

impl Token {
    fn at(step: &str, parent: Option<u32>, version: u64) -> Self {
        Token {
            step: step.to_owned(),
            parent,
            wait: Wait::Running,
            entered_at_version: version,
            timers: BTreeSet::new(),
        }
    }
}
