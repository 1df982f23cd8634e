use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Call, Decision, End, Expr, Inquiry, Notify, Parallel, Payment, Task, Text, Wait};

/// One step of a workflow.
///
/// A step has an id, optional common fields, and exactly one kind key (`inquiry`, `notify`,
/// `decision`, …) that says what it does. This shape, rather than a `type:` tag, keeps every
/// kind's fields in its own object, so that an unknown or misspelt field is reported with the
/// fields that kind accepts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The step's id, unique within the workflow: lowercase letters, digits and `_`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]{0,62}$"))]
    pub id: String,
    /// A name for people: officers, auditors and the rendered graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Text>,
    /// Notes for designers and auditors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The public status the request enters when this step starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The step that follows; the next one in the list when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// How many times one request may enter this step: an attempt limit that bounds a loop
    /// through it (DEF036). Entering once more goes to `on_max_visits` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_visits: Option<u32>,
    /// The step to go to instead of entering this one more than `max_visits` times; an
    /// incident for an operator when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_max_visits: Option<String>,

    /// Ask another agency's web service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inquiry: Option<Inquiry>,
    /// Request a payment and wait for its result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    /// Send an SMS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Notify>,
    /// Choose the next step by rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// A human task for an officer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
    /// Wait for a time or a message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<Wait>,
    /// Run branches at the same time and join them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<Parallel>,
    /// Run another workflow and wait for its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<Call>,
    /// Set variables from expressions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<BTreeMap<String, Expr>>,
    /// End the request with an outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<End>,
}

/// The name of a step kind, as written in YAML.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StepKind {
    Inquiry,
    Payment,
    Notify,
    Decision,
    Task,
    Wait,
    Parallel,
    Call,
    Set,
    End,
}

impl StepKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [StepKind; 10] = [
        StepKind::Inquiry,
        StepKind::Payment,
        StepKind::Notify,
        StepKind::Decision,
        StepKind::Task,
        StepKind::Wait,
        StepKind::Parallel,
        StepKind::Call,
        StepKind::Set,
        StepKind::End,
    ];

    /// The YAML key of this kind.
    pub fn key(self) -> &'static str {
        match self {
            StepKind::Inquiry => "inquiry",
            StepKind::Payment => "payment",
            StepKind::Notify => "notify",
            StepKind::Decision => "decision",
            StepKind::Task => "task",
            StepKind::Wait => "wait",
            StepKind::Parallel => "parallel",
            StepKind::Call => "call",
            StepKind::Set => "set",
            StepKind::End => "end",
        }
    }

    /// Whether an instance can stop here and wait for the outside world (an answer, a person,
    /// a timer, a message). A loop in the graph must pass through such a step.
    pub fn waits(self) -> bool {
        matches!(
            self,
            StepKind::Inquiry
                | StepKind::Payment
                | StepKind::Task
                | StepKind::Wait
                | StepKind::Call
        )
    }
}

/// A borrowed view of the one kind a step has.
#[derive(Clone, Copy, Debug)]
pub enum StepKindRef<'a> {
    Inquiry(&'a Inquiry),
    Payment(&'a Payment),
    Notify(&'a Notify),
    Decision(&'a Decision),
    Task(&'a Task),
    Wait(&'a Wait),
    Parallel(&'a Parallel),
    Call(&'a Call),
    Set(&'a BTreeMap<String, Expr>),
    End(&'a End),
}

impl StepKindRef<'_> {
    /// The kind's name.
    pub fn kind(&self) -> StepKind {
        match self {
            StepKindRef::Inquiry(_) => StepKind::Inquiry,
            StepKindRef::Payment(_) => StepKind::Payment,
            StepKindRef::Notify(_) => StepKind::Notify,
            StepKindRef::Decision(_) => StepKind::Decision,
            StepKindRef::Task(_) => StepKind::Task,
            StepKindRef::Wait(_) => StepKind::Wait,
            StepKindRef::Parallel(_) => StepKind::Parallel,
            StepKindRef::Call(_) => StepKind::Call,
            StepKindRef::Set(_) => StepKind::Set,
            StepKindRef::End(_) => StepKind::End,
        }
    }
}

impl Step {
    /// Every kind key this step sets. A valid step sets exactly one.
    pub fn kinds(&self) -> Vec<StepKindRef<'_>> {
        [
            self.inquiry.as_ref().map(StepKindRef::Inquiry),
            self.payment.as_ref().map(StepKindRef::Payment),
            self.notify.as_ref().map(StepKindRef::Notify),
            self.decision.as_ref().map(StepKindRef::Decision),
            self.task.as_ref().map(StepKindRef::Task),
            self.wait.as_ref().map(StepKindRef::Wait),
            self.parallel.as_ref().map(StepKindRef::Parallel),
            self.call.as_ref().map(StepKindRef::Call),
            self.set.as_ref().map(StepKindRef::Set),
            self.end.as_ref().map(StepKindRef::End),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The step's kind, when it has exactly one (always so in a validated definition).
    pub fn kind(&self) -> Option<StepKindRef<'_>> {
        match self.kinds().as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}
