//! The fields of each step kind.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Duration, Expr, Span, Step};

/// Ask another agency's web service through a named connector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inquiry {
    /// The connector's name in the connector catalog, such as `civil_registry`.
    pub connector: String,
    /// The operation of that connector, such as `identity_match`.
    pub operation: String,
    /// The request: each field an expression over `input` and variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub input: BTreeMap<String, Expr>,
    /// Variables to set from the answer: each an expression over `response`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub output: BTreeMap<String, Expr>,
    /// How long one attempt may take; `defaults.timeout` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// How failed attempts are retried; `defaults.retry` (or 3 attempts from 1s) when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// The step to go to when the agency answers and refuses the request (a 4xx answer): the
    /// agency said no. Left out, the instance raises an incident for an operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
    /// The step to go to when the agency cannot be reached: every attempt failed or timed out.
    /// Left out, the instance raises an incident, and an operator retries once the agency is
    /// back. An outage is not the agency's answer: a path that leads only to a refusal is
    /// warned about (DEF037).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_unreachable: Option<String>,
    /// What a timeout (an answer that may or may not have been given) leads to.
    #[serde(default)]
    pub on_unknown: OnUnknown,
    /// The agency answers later by calling back; the step waits for that answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<Callback>,
}

/// What an unknown outcome (a timeout) of an inquiry leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnUnknown {
    /// Try again, as a failed attempt would (safe for inquiries that only read).
    #[default]
    Retry,
    /// Stop and raise an incident for an operator to resolve.
    Incident,
    /// Follow `on_failure` at once.
    Failure,
}

/// Waiting for an agency's answer by callback.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Callback {
    /// How long to wait for the callback.
    pub timeout: Duration,
    /// The step to go to when no answer comes in time; an incident when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<String>,
}

/// Retries with exponential backoff and jitter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Attempts in all, the first included.
    #[schemars(range(min = 1, max = 100))]
    pub max_attempts: u32,
    /// The wait before the second attempt.
    #[serde(default = "default_initial")]
    pub initial_interval: Duration,
    /// The factor by which each wait grows.
    #[serde(default = "default_multiplier")]
    #[schemars(range(min = 1.0, max = 10.0))]
    pub multiplier: f64,
    /// The longest wait between two attempts.
    #[serde(default = "default_max_interval")]
    pub max_interval: Duration,
    /// The fraction of each wait that is random, from 0 to 1, so that retries spread out.
    #[serde(default = "default_jitter")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub jitter: f64,
}

fn default_initial() -> Duration {
    Duration(std::time::Duration::from_secs(1))
}

fn default_multiplier() -> f64 {
    2.0
}

fn default_max_interval() -> Duration {
    Duration(std::time::Duration::from_secs(60))
}

fn default_jitter() -> f64 {
    0.2
}

/// Request a payment from the applicant and wait for the gateway's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    /// The payment gateway connector.
    pub connector: String,
    /// The amount in rials: an expression.
    pub amount: Expr,
    /// What the payment is for, shown on the gateway's page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<super::Text>,
    /// How long the applicant has to pay.
    pub timeout: Duration,
    /// The step to go to when the applicant does not pay in time; an incident when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<String>,
    /// The step to go to when the payment is declined or cannot be requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
    /// How requesting the payment is retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// Variables to set from the result: each an expression over `response`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub output: BTreeMap<String, Expr>,
}

/// Send a message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// The template's id.
    pub template: String,
    /// An expression for the recipient's mobile number; the applicant's when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Expr>,
    /// The channel.
    #[serde(default)]
    pub channel: Channel,
}

/// A notification channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A text message.
    #[default]
    Sms,
}

/// Choose the next step by rules, checked in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// The cases; the first whose `when` is true decides.
    #[schemars(length(min = 1))]
    pub cases: Vec<Case>,
    /// The step when no case is true.
    pub default: String,
}

/// One rule of a decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// A boolean expression.
    pub when: Expr,
    /// The step when it is true.
    pub next: String,
    /// Why this rule exists, in words an auditor can read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A task for a person: an officer's review.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// The role whose officers may claim the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Or several groups whose members may claim it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidate_groups: Vec<String>,
    /// The form the officer fills in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    /// How long the officer has: clock time (`3d`) or working time (`5 working days`). Every
    /// human task needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Span>,
    /// Who takes over when the task is still open after a while, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalation: Vec<Escalation>,
    /// What the law makes of the agency's silence: when `due` passes with the task still open,
    /// the task is decided with this outcome, for this legal reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_deadline: Option<OnDeadline>,
    /// The outcomes an officer can choose, each with the step it leads to.
    #[schemars(length(min = 1))]
    #[schemars(extend("propertyNames" = {"pattern": "^[a-z][a-z0-9_]{0,62}$"}))]
    pub outcomes: BTreeMap<String, String>,
    /// Variables to set from the completed form: expressions over `form` and `outcome`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub output: BTreeMap<String, Expr>,
}

/// Deemed approval: the agency's silence past a statutory deadline is taken as a decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnDeadline {
    /// The outcome the task is deemed to have, one of its `outcomes` (such as `approve`).
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]{0,62}$"))]
    pub deemed: String,
    /// The law that makes silence this outcome, as the applicant is told it, such as
    /// `ماده ۷ قانون تسهیل صدور مجوزهای کسب‌وکار`.
    #[schemars(length(min = 1))]
    pub law: String,
}

/// One level of escalation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// Time since the task was created: clock time or working time.
    pub after: Span,
    /// The role the task moves to.
    pub to: String,
    /// A template to send to the new role, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
}

/// Wait for a time, a date, a cron occurrence or a message. Set exactly one of `duration`,
/// `until`, `cron` and `message`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Wait {
    /// Wait this long: clock time (`2h`) or working time (`3 working days`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Span>,
    /// Wait until this moment: an expression giving a timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Expr>,
    /// Wait for the next occurrence of a cron expression, such as a weekly committee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// The time zone of `cron`; the workflow's when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Wait for a named message, such as a callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// An expression for the key that matches the message to this instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<Expr>,
    /// How long to wait for the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// The step to go to when the message does not come in time; an incident when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<String>,
    /// Whether the request waits here on the applicant (changes asked for, a document to
    /// bring): the service level's clock stops while it does, and runs again when it leaves.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stop_clock: bool,
    /// Variables to set from the message: expressions over `message`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub output: BTreeMap<String, Expr>,
}

/// Run branches at the same time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Parallel {
    /// The branches: each a list of steps that runs on its own.
    #[schemars(length(min = 2))]
    pub branches: Vec<Branch>,
    /// When the parallel step completes.
    #[serde(default)]
    pub join: Join,
}

/// One branch of a parallel step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    /// The branch's id, unique within its parallel step.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]{0,62}$"))]
    pub id: String,
    /// The branch's steps; the branch completes after the last one (or a step without a
    /// following step in the branch).
    #[schemars(length(min = 1))]
    pub steps: Vec<Step>,
}

/// How a parallel step joins its branches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Join {
    /// Continue when every branch has completed.
    #[default]
    All,
    /// Continue when the first branch completes; the others are cancelled.
    Any,
}

/// Run another workflow as part of this one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Call {
    /// The id of the workflow to run, of the same agency.
    pub workflow: String,
    /// The version to run; the one in force when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// Its input: each field an expression.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub input: BTreeMap<String, Expr>,
    /// Variables to set from its result: expressions over `result`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub output: BTreeMap<String, Expr>,
    /// The step to go to when it ends in anything but success; an incident when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
}

/// End the request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct End {
    /// How the request ended.
    pub outcome: Outcome,
    /// A document to issue, with a national document ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Document>,
    /// Why, in words the applicant can read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<super::Text>,
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A permit, licence or certificate was issued.
    Issued,
    /// The request was granted without a document.
    Approved,
    /// The request was refused.
    Rejected,
    /// The request was withdrawn or cancelled.
    Cancelled,
    /// The request ran out of time (an unpaid fee, an applicant who never answered).
    Expired,
    /// The process finished; for workflows that decide nothing, such as reminders.
    Completed,
}

impl Outcome {
    /// The name in YAML, in events and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Issued => "issued",
            Outcome::Approved => "approved",
            Outcome::Rejected => "rejected",
            Outcome::Cancelled => "cancelled",
            Outcome::Expired => "expired",
            Outcome::Completed => "completed",
        }
    }
}

/// A document issued at the end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// The document type, such as `clean_record_certificate`.
    #[serde(rename = "type")]
    pub kind: String,
    /// How long the document is valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_for: Option<Duration>,
}

/// A transition from a step to another, with why it is taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition<'a> {
    /// What takes this transition: `next`, `on_failure`, `case 1`, `outcome approve`, …
    pub label: String,
    /// The field that names the target, relative to the step (for diagnostics).
    pub field: Vec<PathSegment>,
    /// The target step id.
    pub target: &'a str,
}

/// A segment of a path into the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

impl Step {
    /// The transitions written in this step (not the implicit one to the following step).
    pub fn transitions(&self) -> Vec<Transition<'_>> {
        fn add<'a>(
            out: &mut Vec<Transition<'a>>,
            label: &str,
            field: &[&str],
            target: Option<&'a str>,
        ) {
            if let Some(target) = target {
                out.push(Transition {
                    label: label.to_owned(),
                    field: field
                        .iter()
                        .map(|p| PathSegment::Key((*p).to_owned()))
                        .collect(),
                    target,
                });
            }
        }
        let inquiry = self.inquiry.as_ref();
        let payment = self.payment.as_ref();
        let callback = inquiry.and_then(|i| i.callback.as_ref());
        let wait = self.wait.as_ref();
        let call = self.call.as_ref();
        // The paths every step kind names by a fixed key, in the order they are listed.
        let fixed: [(&str, &[&str], Option<&str>); 9] = [
            ("next", &["next"], self.next.as_deref()),
            (
                "max_visits",
                &["on_max_visits"],
                self.on_max_visits.as_deref(),
            ),
            (
                "failure",
                &["inquiry", "on_failure"],
                inquiry.and_then(|i| i.on_failure.as_deref()),
            ),
            (
                "unreachable",
                &["inquiry", "on_unreachable"],
                inquiry.and_then(|i| i.on_unreachable.as_deref()),
            ),
            (
                "timeout",
                &["inquiry", "callback", "on_timeout"],
                callback.and_then(|c| c.on_timeout.as_deref()),
            ),
            (
                "timeout",
                &["payment", "on_timeout"],
                payment.and_then(|p| p.on_timeout.as_deref()),
            ),
            (
                "failure",
                &["payment", "on_failure"],
                payment.and_then(|p| p.on_failure.as_deref()),
            ),
            (
                "timeout",
                &["wait", "on_timeout"],
                wait.and_then(|w| w.on_timeout.as_deref()),
            ),
            (
                "failure",
                &["call", "on_failure"],
                call.and_then(|c| c.on_failure.as_deref()),
            ),
        ];
        let mut out = Vec::new();
        for (label, field, target) in fixed {
            add(&mut out, label, field, target);
        }
        if let Some(d) = &self.decision {
            for (i, case) in d.cases.iter().enumerate() {
                out.push(Transition {
                    label: case.when.0.clone(),
                    field: vec![
                        PathSegment::Key("decision".into()),
                        PathSegment::Key("cases".into()),
                        PathSegment::Index(i),
                        PathSegment::Key("next".into()),
                    ],
                    target: &case.next,
                });
            }
            add(
                &mut out,
                "default",
                &["decision", "default"],
                Some(&d.default),
            );
        }
        if let Some(t) = &self.task {
            for (outcome, target) in &t.outcomes {
                add(
                    &mut out,
                    outcome,
                    &["task", "outcomes", outcome],
                    Some(target),
                );
            }
        }
        out
    }
}
