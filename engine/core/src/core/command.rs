//! Commands: what can be asked of an instance. Each is handled in its own file under
//! `commands/`; the answer is the events it causes, or an error that changes nothing.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use daftar_definitions::calendar::Calendar;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::{Actor, InquiryEvidence, ParentRef};

/// A request to change an instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// File a new request.
    Start {
        instance: String,
        tracking_code: String,
        input: Value,
        /// Set when a `call` step of another instance starts this one.
        #[serde(default)]
        parent: Option<ParentRef>,
    },
    /// A connector's report on an inquiry attempt.
    InquiryResult {
        token: u32,
        attempt: u32,
        result: InquiryResult,
    },
    /// The gateway's answer to a payment request.
    PaymentRequestResult {
        token: u32,
        attempt: u32,
        result: PaymentRequestResult,
    },
    /// A timer came due.
    FireTimer { timer: String },
    /// A named message (a callback, a payment result, a citizen's answer).
    DeliverMessage {
        name: String,
        correlation: String,
        message_id: String,
        payload: Value,
    },
    /// An officer claims a task.
    ClaimTask { task: String, officer: String },
    /// An officer completes a task with an outcome and the form.
    CompleteTask {
        task: String,
        officer: String,
        outcome: String,
        form: Value,
    },
    /// A supervisor gives a task to another role or officer.
    ReassignTask {
        task: String,
        role: Option<String>,
        officer: Option<String>,
    },
    /// The SMS gateway's report on a notification.
    NotificationResult {
        reference: String,
        sent: bool,
        gateway_id: Option<String>,
        reason: Option<String>,
    },
    /// The SMS gateway's delivery report.
    DeliveryReport {
        reference: String,
        status: String,
        at: Option<String>,
    },
    /// A sub-workflow ended.
    CallResult {
        token: u32,
        succeeded: bool,
        result: Value,
    },
    /// Cancel the request.
    Cancel { reason: String },
    /// Revoke the document the request issued.
    RevokeDocument { reason: String },
    /// An operator retries the step an incident stopped.
    RetryIncident { incident: String },
    /// Erase the applicant's personal data under an authority (the request must have ended).
    Erase { authority: String, by: String },
}

/// What came of one inquiry attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum InquiryResult {
    /// The agency answered.
    Answered { evidence: InquiryEvidence },
    /// The agency accepted the question and will call back.
    Acknowledged,
    /// The agency refused the request (4xx): retrying cannot help.
    Refused { reason: String },
    /// A transient error (5xx, connection refused): worth retrying.
    Transient { reason: String },
    /// A timeout: the agency may or may not have acted.
    Unknown,
}

/// What came of requesting a payment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum PaymentRequestResult {
    /// The applicant can pay at this reference.
    Opened {
        reference: String,
        url: Option<String>,
    },
    /// The gateway refused.
    Refused { reason: String },
    /// A transient error.
    Transient { reason: String },
}

/// Everything `decide` may know besides the state, the definition and the command: the
/// clock, the agency's business calendar and document code, and who is asking. Nothing inside the core reads a
/// clock or a file, or makes up an id.
#[derive(Clone, Debug, PartialEq)]
pub struct Ctx {
    /// Now, by the caller's clock (the store's, in the runtime).
    pub now: DateTime<Utc>,
    /// Who is asking.
    pub actor: Actor,
    /// How far one request may go; a workflow's own `limits` take precedence.
    pub budget: Budget,
    /// The agency's business calendar, which turns working spans (`5 working days`) into due
    /// instants. The instants are recorded in the events, so replay never needs it.
    pub calendar: Arc<Calendar>,
    /// The agency's registered code, the first four characters of the national document IDs
    /// it issues ([`crate::document`]). The IDs are recorded in the events, so replay never
    /// needs it.
    pub document_code: String,
}

/// How far one request may go before it is stopped with an incident: a guard against a
/// defect (a loop that sends an SMS every second) that validation did not catch. An
/// operator's retry of the incident grants the request a fresh budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Steps entered, in all.
    pub steps: u32,
    /// SMS asked for, in all.
    pub sms: u32,
}

impl Default for Budget {
    /// Far above what any service of the examples needs (the longest enters about 40 steps
    /// and sends about 12 SMS), far below what a runaway loop reaches in a minute.
    fn default() -> Self {
        Budget {
            steps: 500,
            sms: 40,
        }
    }
}
