use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use daftar_definitions::model::Outcome;

/// What happened to an instance. One variant per transition; ids (tokens, tasks, timers,
/// incidents) are assigned by `decide`, deterministically, so replaying history rebuilds the
/// same state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    /// A request was filed and its instance created.
    InstanceStarted {
        instance: String,
        workflow: String,
        version: u32,
        hash: String,
        agency: String,
        tracking_code: String,
        input: Value,
        filed_at: DateTime<Utc>,
        /// The instance and token that called this one as a sub-workflow.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<ParentRef>,
        /// Who filed it, when the applicant filed with a token of their own (the token's
        /// subject): the one citizen who may read the request.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filed_by: Option<String>,
    },
    /// An execution point (token) entered a step.
    StepEntered { token: u32, step: String },
    /// A token finished a step normally.
    StepCompleted { token: u32, step: String },
    /// The public status a citizen sees changed.
    StatusChanged { from: Option<String>, to: String },
    /// Variables were set by a mapping or a `set` step.
    DataSet {
        step: String,
        values: BTreeMap<String, Value>,
    },
    /// A decision chose its next step; the evidence says why.
    DecisionTaken {
        step: String,
        evidence: DecisionEvidence,
    },
    /// An inquiry attempt is to be made (a job for a connector worker).
    InquiryRequested {
        token: u32,
        step: String,
        attempt: u32,
        connector: String,
        operation: String,
        request: Value,
        /// Stable across retries of this step visit; agencies use it to drop duplicates.
        idempotency_key: String,
    },
    /// An agency answered an inquiry (directly or by callback).
    InquiryAnswered {
        token: u32,
        step: String,
        attempt: u32,
        evidence: InquiryEvidence,
    },
    /// An agency accepted an inquiry that it will answer by callback.
    InquiryAcknowledged {
        token: u32,
        step: String,
        attempt: u32,
    },
    /// An attempt failed: refused by the agency (`retryable: false`) or a transient error.
    InquiryFailed {
        token: u32,
        step: String,
        attempt: u32,
        reason: String,
        retryable: bool,
    },
    /// An attempt timed out: the agency may or may not have acted on it.
    InquiryOutcomeUnknown {
        token: u32,
        step: String,
        attempt: u32,
    },
    /// A payment is to be requested from the gateway.
    PaymentRequested {
        token: u32,
        step: String,
        attempt: u32,
        connector: String,
        amount: i64,
        idempotency_key: String,
    },
    /// The gateway accepted the payment request; the applicant can pay.
    PaymentOpened {
        token: u32,
        step: String,
        reference: String,
        url: Option<String>,
    },
    /// The payment succeeded.
    PaymentSucceeded {
        token: u32,
        step: String,
        reference: String,
        receipt: Value,
    },
    /// The payment was declined or could not be requested.
    PaymentFailed {
        token: u32,
        step: String,
        reason: String,
    },
    /// An SMS is to be sent (an outbox entry with a stable reference).
    NotificationRequested {
        reference: String,
        purpose: NotificationPurpose,
        template: String,
        recipient: String,
        text: String,
    },
    /// The gateway accepted the SMS.
    NotificationSent {
        reference: String,
        gateway_id: Option<String>,
    },
    /// The gateway reported that the SMS reached the phone (or did not).
    NotificationDelivered {
        reference: String,
        status: String,
        at: Option<String>,
    },
    /// The SMS could not be sent.
    NotificationFailed { reference: String, reason: String },
    /// A human task was created.
    TaskCreated {
        token: u32,
        step: String,
        task: String,
        role: Option<String>,
        candidate_groups: Vec<String>,
        form: Option<String>,
        due_at: DateTime<Utc>,
    },
    /// An officer claimed a task.
    TaskClaimed { task: String, officer: String },
    /// An officer completed a task.
    TaskCompleted {
        task: String,
        officer: String,
        outcome: String,
        form: Value,
    },
    /// The task's deadline passed with no officer's decision, and the law takes the silence as
    /// `outcome` (deemed approval): recorded with the legal reason, by the system, no officer.
    TaskDeemed {
        task: String,
        outcome: String,
        law: String,
    },
    /// A task moved to the next role of its escalation chain.
    TaskEscalated {
        task: String,
        level: u32,
        to: String,
        /// The escalation's `notify` template, rendered in Persian: what the worklist shows
        /// the officers of the role the task moved to. Officers are told through the
        /// worklist, never through the citizens' SMS gateway.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notice: Option<String>,
    },
    /// A task was given to another role or officer.
    TaskReassigned {
        task: String,
        role: Option<String>,
        officer: Option<String>,
    },
    /// The service level's clock stopped: the request waits on the applicant (`reason`:
    /// `payment`, or `message:NAME` of a wait with `stop_clock`). The SLA timer is cancelled;
    /// `remaining_seconds` of the service level (working seconds when it is in working time)
    /// are kept for when the clock runs again.
    ClockStopped {
        reason: String,
        at: DateTime<Utc>,
        remaining_seconds: i64,
    },
    /// The service level's clock runs again, after `stopped_seconds` of clock time; a new SLA
    /// timer follows, due when the remaining time has passed.
    ClockResumed {
        reason: String,
        at: DateTime<Utc>,
        stopped_seconds: i64,
    },
    /// A durable timer was set.
    TimerScheduled {
        timer: String,
        token: u32,
        step: String,
        due_at: DateTime<Utc>,
        purpose: TimerPurpose,
    },
    /// A timer came due.
    TimerFired { timer: String },
    /// A timer is no longer needed.
    TimerCancelled { timer: String },
    /// A token waits for a named message with a correlation key.
    MessageAwaited {
        token: u32,
        step: String,
        name: String,
        correlation: String,
    },
    /// A message reached the instance.
    MessageReceived {
        token: u32,
        name: String,
        correlation: String,
        message_id: String,
        payload: Value,
    },
    /// A parallel step started its branches, one token each.
    BranchesForked {
        token: u32,
        step: String,
        branches: Vec<(String, u32)>,
    },
    /// A branch's token reached the end of its branch.
    BranchCompleted { token: u32, parent: u32 },
    /// A parallel step's join completed.
    BranchesJoined { token: u32, step: String },
    /// A token asked for a sub-workflow to run.
    CallRequested {
        token: u32,
        step: String,
        workflow: String,
        version: Option<u32>,
        input: Value,
    },
    /// The sub-workflow ended.
    CallCompleted {
        token: u32,
        step: String,
        succeeded: bool,
        result: Value,
    },
    /// A token stopped without completing (a join `any` that was already satisfied, or the
    /// instance ended elsewhere).
    TokenCancelled { token: u32 },
    /// The instance ended with an outcome; a document was issued when the outcome says so.
    InstanceCompleted {
        outcome: Outcome,
        step: String,
        document_id: Option<String>,
    },
    /// The instance was cancelled on request.
    InstanceCancelled { reason: String },
    /// The document the request issued was revoked: its verification says so from now on.
    /// `by` is who revoked it (the token's subject), `at` when.
    DocumentRevoked {
        document_id: String,
        reason: String,
        by: String,
        at: DateTime<Utc>,
    },
    /// Something needs an operator: retries ran out with no failure path, an unknown outcome
    /// the definition gives to a person, a timeout with no timeout path.
    IncidentRaised {
        incident: String,
        token: u32,
        step: String,
        reason: String,
    },
    /// An operator resolved an incident (by retrying the step).
    IncidentResolved { incident: String, action: String },
    /// The applicant's personal data was erased under an authority (a court order, the
    /// retention period's end): the key their events were sealed with is gone, so every sealed
    /// event of theirs reads as [`Event::Erased`], while the chain still verifies.
    ApplicantErased {
        /// The legal authority (an order's number and issuer, a retention rule).
        authority: String,
        /// Who erased it.
        by: String,
    },
    /// Not recorded: what a sealed event reads as once its applicant's key was erased. Only
    /// its type is known.
    Erased {
        /// The type of the event that was sealed.
        kind: String,
    },
}

/// The name of an event's type, as stored in its own column.
pub type EventKind = &'static str;

impl Event {
    /// The event's type name.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::InstanceStarted { .. } => "InstanceStarted",
            Event::StepEntered { .. } => "StepEntered",
            Event::StepCompleted { .. } => "StepCompleted",
            Event::StatusChanged { .. } => "StatusChanged",
            Event::DataSet { .. } => "DataSet",
            Event::DecisionTaken { .. } => "DecisionTaken",
            Event::InquiryRequested { .. } => "InquiryRequested",
            Event::InquiryAnswered { .. } => "InquiryAnswered",
            Event::InquiryAcknowledged { .. } => "InquiryAcknowledged",
            Event::InquiryFailed { .. } => "InquiryFailed",
            Event::InquiryOutcomeUnknown { .. } => "InquiryOutcomeUnknown",
            Event::PaymentRequested { .. } => "PaymentRequested",
            Event::PaymentOpened { .. } => "PaymentOpened",
            Event::PaymentSucceeded { .. } => "PaymentSucceeded",
            Event::PaymentFailed { .. } => "PaymentFailed",
            Event::NotificationRequested { .. } => "NotificationRequested",
            Event::NotificationSent { .. } => "NotificationSent",
            Event::NotificationFailed { .. } => "NotificationFailed",
            Event::NotificationDelivered { .. } => "NotificationDelivered",
            Event::TaskCreated { .. } => "TaskCreated",
            Event::TaskClaimed { .. } => "TaskClaimed",
            Event::TaskCompleted { .. } => "TaskCompleted",
            Event::TaskDeemed { .. } => "TaskDeemed",
            Event::TaskEscalated { .. } => "TaskEscalated",
            Event::TaskReassigned { .. } => "TaskReassigned",
            Event::ClockStopped { .. } => "ClockStopped",
            Event::ClockResumed { .. } => "ClockResumed",
            Event::TimerScheduled { .. } => "TimerScheduled",
            Event::TimerFired { .. } => "TimerFired",
            Event::TimerCancelled { .. } => "TimerCancelled",
            Event::MessageAwaited { .. } => "MessageAwaited",
            Event::MessageReceived { .. } => "MessageReceived",
            Event::BranchesForked { .. } => "BranchesForked",
            Event::BranchCompleted { .. } => "BranchCompleted",
            Event::BranchesJoined { .. } => "BranchesJoined",
            Event::CallRequested { .. } => "CallRequested",
            Event::CallCompleted { .. } => "CallCompleted",
            Event::TokenCancelled { .. } => "TokenCancelled",
            Event::InstanceCompleted { .. } => "InstanceCompleted",
            Event::InstanceCancelled { .. } => "InstanceCancelled",
            Event::DocumentRevoked { .. } => "DocumentRevoked",
            Event::IncidentRaised { .. } => "IncidentRaised",
            Event::IncidentResolved { .. } => "IncidentResolved",
            Event::ApplicantErased { .. } => "ApplicantErased",
            Event::Erased { .. } => "Erased",
        }
    }

    /// Whether the event can carry the applicant's personal data (what they filed, what
    /// agencies answered about them, messages to them, officers' forms, free text): such events
    /// are sealed with the applicant's key where a keyring is kept. The others say only where
    /// the request went and when, which must stay readable after an erasure.
    ///
    /// Every type is named, so that a new one must be placed on a side.
    pub fn personal(&self) -> bool {
        match self {
            Event::InstanceStarted { .. }
            | Event::DataSet { .. }
            | Event::DecisionTaken { .. }
            | Event::InquiryRequested { .. }
            | Event::InquiryAnswered { .. }
            | Event::InquiryFailed { .. }
            | Event::PaymentOpened { .. }
            | Event::PaymentSucceeded { .. }
            | Event::PaymentFailed { .. }
            | Event::NotificationRequested { .. }
            | Event::NotificationFailed { .. }
            | Event::TaskCompleted { .. }
            | Event::TaskDeemed { .. }
            | Event::MessageAwaited { .. }
            | Event::MessageReceived { .. }
            | Event::CallRequested { .. }
            | Event::CallCompleted { .. }
            | Event::IncidentRaised { .. } => true,
            Event::StepEntered { .. }
            | Event::StepCompleted { .. }
            | Event::StatusChanged { .. }
            | Event::InquiryAcknowledged { .. }
            | Event::InquiryOutcomeUnknown { .. }
            | Event::PaymentRequested { .. }
            | Event::NotificationSent { .. }
            | Event::NotificationDelivered { .. }
            | Event::TaskCreated { .. }
            | Event::TaskClaimed { .. }
            | Event::TaskEscalated { .. }
            | Event::TaskReassigned { .. }
            | Event::ClockStopped { .. }
            | Event::ClockResumed { .. }
            | Event::TimerScheduled { .. }
            | Event::TimerFired { .. }
            | Event::TimerCancelled { .. }
            | Event::BranchesForked { .. }
            | Event::BranchCompleted { .. }
            | Event::BranchesJoined { .. }
            | Event::TokenCancelled { .. }
            // How it ended stays readable; a cancellation's reason is the agency's words.
            | Event::InstanceCompleted { .. }
            | Event::InstanceCancelled { .. }
            | Event::IncidentResolved { .. }
            | Event::ApplicantErased { .. }
            // A revocation stays readable: the verification page must say so after an erasure.
            | Event::DocumentRevoked { .. }
            | Event::Erased { .. } => false,
        }
    }

    /// The payload as stored: the event's fields with `type` and the schema version `v`.
    pub fn to_stored(&self) -> Value {
        let mut value = serde_json::to_value(self).expect("events serialize to JSON");
        if let Some(obj) = value.as_object_mut() {
            obj.insert("v".into(), Value::from(super::EVENT_VERSION));
        }
        value
    }

    /// Reads a stored payload, upcasting older versions.
    pub fn from_stored(mut value: Value) -> Result<Event, String> {
        upcast(&mut value)?;
        if let Some(obj) = value.as_object_mut() {
            obj.remove("v");
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }
}

/// Brings a stored payload to the current version, in place. Version 1 is the first; each
/// later version adds one step here, with a golden payload of the old version in the tests.
pub fn upcast(value: &mut Value) -> Result<(), String> {
    let v = value.get("v").and_then(Value::as_u64).unwrap_or(1);
    match v {
        1 => Ok(()),
        other => Err(format!(
            "event schema version {other} is newer than this daftar ({})",
            super::EVENT_VERSION
        )),
    }
}

/// The step of another instance that called this one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentRef {
    /// The calling instance (same agency).
    pub instance: String,
    /// The calling token.
    pub token: u32,
}

/// Why a decision went the way it did: every case tried, in order, with its value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionEvidence {
    /// `(expression, result)` for each case evaluated, in order, up to the one that held.
    pub cases: Vec<(String, Value)>,
    /// The index of the case that held; none when the default was taken.
    pub chosen: Option<usize>,
    /// The step chosen.
    pub next: String,
    /// The variables set by steps at the time (every one, whether a case read it or not).
    pub inputs: BTreeMap<String, Value>,
    /// For each case in `cases`, the names its condition read with their values at the time
    /// (`input.age`: 17, `identity_ok`: false): the facts the rule was applied to, so that the
    /// timeline can say "the applicant's age 17 is under 18". A name with no value yet is
    /// `null`. Absent from decisions recorded before daftar kept it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<BTreeMap<String, Value>>,
    /// The reason the definition gives for the case that held (its `reason`), when it gives
    /// one. Absent from decisions recorded before daftar kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What an auditor needs to check an agency's answer later.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InquiryEvidence {
    /// The answer as received.
    pub response: Value,
    /// SHA-256 of the response body as received, hex.
    pub sha256: String,
    /// The agency's own timestamp, when it sends one.
    pub agency_time: Option<String>,
    /// How long the attempt took.
    pub latency_ms: u64,
}

/// What an SMS is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationPurpose {
    /// The public status changed.
    StatusChanged { status: String },
    /// A notify step.
    Step { step: String },
    /// A task escalated. Only in histories of earlier versions: officers are now told
    /// through the worklist (`TaskEscalated`'s `notice`), never by the citizens' gateway.
    Escalation { task: String },
    /// A task deemed decided by law when its deadline passed: the applicant is told the
    /// outcome and the legal reason.
    Deemed { task: String },
}

/// What a timer is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TimerPurpose {
    /// A wait step's timer.
    Wait,
    /// The backoff before the next attempt of an inquiry or payment request.
    Retry { attempt: u32 },
    /// The timeout of a callback, payment or message wait.
    Timeout,
    /// A task's deadline.
    TaskDue { task: String },
    /// The whole request's service level.
    Sla,
    /// A level of a task's escalation chain.
    Escalation { task: String, level: u32 },
}
