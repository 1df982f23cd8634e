use std::collections::BTreeMap;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Duration, Expr, Retry, Span, Step};

/// The version of the language this crate reads (`daftar: 1` at the top of every file).
pub const LANGUAGE_VERSION: u32 = 1;

/// A service definition: one permit, licence or certificate, as a process designer writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "daftar workflow")]
pub struct Workflow {
    /// The language version; `1`.
    pub daftar: u32,
    /// The service's id, unique within its agency: lowercase letters, digits, `-` and `_`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_-]{0,62}$"))]
    pub id: String,
    /// The definition's version. Every change that is deployed gets a higher number.
    #[schemars(range(min = 1))]
    pub version: u32,
    /// The service's name as citizens see it.
    pub title: Text,
    /// What the service is for, for designers and auditors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The id of the agency that owns the service.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_-]{0,62}$"))]
    pub agency: String,
    /// The date (in `timezone`) from which requests filed are decided by this version.
    pub in_force_from: NaiveDate,
    /// The IANA time zone for dates, cron expressions and the in-force date.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// The service level: how long a request may take from filing to its end, in clock time
    /// (`13h`) or working time (`10 working days`).
    pub sla: Span,
    /// Where the applicant's national ID and mobile number are found in the input.
    #[serde(default)]
    pub applicant: Applicant,
    /// The application form.
    pub input: InputSpec,
    /// Public statuses: the milestones a citizen sees, keyed by id.
    #[serde(default)]
    #[schemars(extend("propertyNames" = {"pattern": "^[a-z][a-z0-9_]{0,62}$"}))]
    pub statuses: BTreeMap<String, Status>,
    /// SMS templates, keyed by id.
    #[serde(default)]
    #[schemars(extend("propertyNames" = {"pattern": "^[a-z][a-z0-9_]{0,62}$"}))]
    pub templates: BTreeMap<String, Template>,
    /// Forms that officers fill in human tasks, keyed by id.
    #[serde(default)]
    #[schemars(extend("propertyNames" = {"pattern": "^[a-z][a-z0-9_]{0,62}$"}))]
    pub forms: BTreeMap<String, Form>,
    /// Defaults for every step that does not set its own.
    #[serde(default)]
    pub defaults: Defaults,
    /// How instances start: by a citizen's request, on a schedule, or both.
    #[serde(default)]
    pub triggers: Triggers,
    /// How far one request may go before the engine stops it with an incident; the engine's
    /// own budget when left out.
    #[serde(default, skip_serializing_if = "Limits::is_default")]
    pub limits: Limits,
    /// The first step; the first in `steps` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// The steps, in order. A step without `next` continues with the one after it.
    #[schemars(length(min = 1))]
    pub steps: Vec<Step>,
}

fn default_timezone() -> String {
    "Asia/Tehran".to_owned()
}

/// Text in Persian and English.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// Persian.
    #[schemars(length(min = 1))]
    pub fa: String,
    /// English.
    #[schemars(length(min = 1))]
    pub en: String,
}

/// Where the applicant's identity is in the input; used for SMS and for the audit trail.
///
/// Left out, each defaults to the input field of the same name (`input.national_id`,
/// `input.mobile`) when the input schema has it; a workflow without an applicant (a scheduled
/// reminder run, say) has neither.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Applicant {
    /// An expression for the applicant's national ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_id: Option<Expr>,
    /// An expression for the applicant's mobile number; SMS go there unless a step says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<Expr>,
}

impl Workflow {
    /// The expression for the applicant's mobile number, if the workflow has one.
    pub fn applicant_mobile(&self) -> Option<Expr> {
        self.applicant
            .mobile
            .clone()
            .or_else(|| self.input_field("mobile"))
    }

    /// The expression for the applicant's national ID, if the workflow has one.
    pub fn applicant_national_id(&self) -> Option<Expr> {
        self.applicant
            .national_id
            .clone()
            .or_else(|| self.input_field("national_id"))
    }

    fn input_field(&self, name: &str) -> Option<Expr> {
        self.input
            .schema
            .get("properties")?
            .get(name)
            .map(|_| Expr(format!("input.{name}")))
    }
}

/// The application form: a JSON Schema and, optionally, examples that must satisfy it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// A JSON Schema (draft 2020-12). Extra formats: `ir-national-id`, `ir-mobile`,
    /// `ir-postal-code`, `duration`.
    pub schema: serde_json::Value,
    /// Sample applications; each must be valid against `schema`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<serde_json::Value>,
}

/// A public status: a milestone the citizen sees when tracking a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Status {
    /// Persian label.
    #[schemars(length(min = 1))]
    pub fa: String,
    /// English label.
    #[schemars(length(min = 1))]
    pub en: String,
    /// Whether entering this status sends the applicant an SMS: `false`, `true` (template
    /// `status_changed`) or the id of a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsSetting>,
}

impl Status {
    /// The template a change to this status sends, if it sends one.
    pub fn sms_template(&self) -> Option<&str> {
        match self.sms.as_ref()? {
            SmsSetting::Enabled(true) => Some("status_changed"),
            SmsSetting::Enabled(false) => None,
            SmsSetting::Template(t) => Some(t),
        }
    }
}

/// Whether, and with which template, a status change is sent by SMS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SmsSetting {
    /// `true` sends the template `status_changed`; `false` sends nothing.
    Enabled(bool),
    /// The id of the template to send.
    Template(String),
}

/// An SMS template in Persian and English (minijinja syntax: `{{ tracking_code }}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Persian text.
    #[schemars(length(min = 1))]
    pub fa: String,
    /// English text.
    #[schemars(length(min = 1))]
    pub en: String,
}

/// A form an officer fills in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Form {
    /// The form's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Text>,
    /// A JSON Schema for the form's payload.
    pub schema: serde_json::Value,
}

/// Defaults for steps.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Retry policy for inquiries and payments that do not set their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// Timeout for inquiries that do not set their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

/// A request's budget: past it, the engine stops the request with an incident rather than
/// let a defect run on (a loop that sends an SMS every second). A batch workflow that sends
/// many SMS by design says so here; every other workflow keeps the engine's budget.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// How many steps one request may enter in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub steps: Option<u32>,
    /// How many SMS one request may send in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub sms: Option<u32>,
}

impl Limits {
    fn is_default(&self) -> bool {
        self == &Limits::default()
    }
}

/// How instances start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    /// Whether citizens (or a portal on their behalf) can start an instance by request.
    #[serde(default = "yes")]
    pub request: bool,
    /// Scheduled starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<Schedule>,
}

impl Default for Triggers {
    fn default() -> Self {
        Triggers {
            request: true,
            schedules: Vec::new(),
        }
    }
}

fn yes() -> bool {
    true
}

/// A scheduled start: one instance per occurrence of a cron expression.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// The schedule's id, unique within the workflow.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]{0,62}$"))]
    pub id: String,
    /// A cron expression: five fields (minute hour day-of-month month day-of-week) or six
    /// with seconds first.
    pub cron: String,
    /// The IANA time zone of the cron expression; the workflow's `timezone` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The input each scheduled instance starts with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
}
