//! What the routes show of a request, shared by all of them: its labels, the view officers,
//! auditors and admins get ([`RequestView`], built by [`view`]), and who sees the applicant's
//! personal data unmasked ([`sees_personal_data`]).

use chrono::{DateTime, Utc};
use daftar_definitions::model::Text;
use daftar_engine::Definition;
use daftar_engine::core::{Ending, InstanceState, Wait};
use daftar_engine::events::StreamId;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::{Principal, Role};
use crate::pii;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// A label in Persian and English.
#[derive(Debug, Serialize, ToSchema)]
pub struct Label {
    /// Persian.
    pub fa: String,
    /// English.
    pub en: String,
}

impl Label {
    /// A label of two texts.
    pub fn new(fa: &str, en: &str) -> Label {
        Label {
            fa: fa.to_owned(),
            en: en.to_owned(),
        }
    }
}

impl From<&Text> for Label {
    fn from(t: &Text) -> Self {
        Label::new(&t.fa, &t.en)
    }
}

/// What a part of the request waits for.
#[derive(Debug, Serialize, ToSchema)]
pub struct Waiting {
    /// The step.
    pub step: String,
    /// `inquiry`, `retry`, `callback`, `payment`, `task`, `timer`, `message`, `parallel`,
    /// `call` or `incident`.
    #[serde(rename = "for")]
    pub for_: String,
}

/// A task of the request: the worklist's row, named `TaskView` in the OpenAPI document.
pub use daftar_engine::store::TaskRow as TaskView;

/// A request, as officers, auditors and admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestView {
    /// The request id.
    pub id: String,
    /// The citizen's tracking code.
    pub tracking_code: String,
    /// The service.
    pub service: String,
    /// The version of the service it runs.
    pub service_version: u32,
    /// The public status.
    pub status: Option<String>,
    /// The status's labels.
    pub status_label: Option<Label>,
    /// `running`, an outcome (`issued`, `rejected`, …) or `cancelled`.
    pub state: String,
    /// The national document ID of the document issued, once one was.
    pub document_id: Option<String>,
    /// When it was filed.
    pub filed_at: Option<DateTime<Utc>>,
    /// Whether the SLA passed before the end.
    pub sla_breached: bool,
    /// Open incidents, by id, with the step each stopped.
    pub incidents: Vec<String>,
    /// What it waits for.
    pub waiting: Vec<Waiting>,
    /// Its human tasks.
    pub tasks: Vec<TaskView>,
    /// The application form; its personal values (the applicant's national ID and mobile, and
    /// every field its schema declares personal) are masked unless the caller is an officer,
    /// an admin, or the applicant who filed it.
    #[schema(value_type = Object)]
    pub input: Value,
    /// Variables set by steps (masked likewise).
    #[schema(value_type = Object)]
    pub vars: Value,
    /// The stream version: how many events it has.
    pub version: u64,
    /// Whether a start with the same `Idempotency-Key` had filed it already.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
}

/// Whether the caller may see the applicant's national ID and mobile number unmasked.
pub fn sees_personal_data(who: &Principal) -> bool {
    who.has(Role::Officer)
}

/// Whether `who` is the applicant who filed `s` with a token of their own.
pub fn filed_it(who: &Principal, s: &InstanceState) -> bool {
    who.has(Role::Citizen) && s.filed_by.as_deref() == Some(who.subject.as_str())
}

/// Refuses unless `who` may read the request `s`: the agency's officers and auditors, and the
/// applicant who filed it. Any other citizen is told, as for an unknown request, that there is
/// no request `id`: a citizen cannot learn that someone else's request exists.
pub fn may_read(who: &Principal, s: &InstanceState, id: &str) -> ApiResult<()> {
    if filed_it(who, s) {
        return Ok(());
    }
    if who.has(Role::Citizen) && !who.has(Role::Officer) && !who.has(Role::Auditor) {
        return Err(ApiError::not_found(format!(
            "no request `{id}` in your agency"
        )));
    }
    who.require(&[Role::Officer, Role::Auditor])
}

/// A status's labels: the workflow's, or daftar's own for `cancelled` when the workflow does
/// not declare it.
pub fn status_label(def: &Definition, status: &str) -> Option<Label> {
    match def.compiled().workflow().statuses.get(status) {
        Some(st) => Some(Label::new(&st.fa, &st.en)),
        None if status == daftar_engine::core::CANCELLED => Some(Label::new(
            daftar_engine::core::CANCELLED_FA,
            daftar_engine::core::CANCELLED_EN,
        )),
        None => None,
    }
}

/// The outcome an ending names (`issued`, `rejected`, …, `cancelled`).
pub fn outcome(ending: &Ending) -> String {
    match ending {
        Ending::Completed { outcome, .. } => outcome.as_str().to_owned(),
        Ending::Cancelled { .. } => "cancelled".to_owned(),
    }
}

/// The view of a request for `who`.
pub fn view(
    state: &AppState,
    who: &Principal,
    stream: &StreamId,
    s: &InstanceState,
) -> RequestView {
    let def = state.engine().definition_of(s).ok();
    let status_label = def
        .as_ref()
        .and_then(|d| status_label(d, s.status.as_ref()?));
    let mut input = s.input.clone();
    let mut vars = serde_json::to_value(&s.vars).unwrap_or_default();
    if !sees_personal_data(who) && !filed_it(who, s) {
        let Some(def) = &def else {
            // Without its definition the applicant's data cannot be found to mask: show none.
            input = Value::Null;
            vars = Value::Null;
            return finish(stream, s, status_label, input, vars);
        };
        // The view has no history at hand: the form's and the variables' personal values.
        let personal = pii::personal_values(def, s, []);
        let secrets: Vec<&str> = personal.iter().map(String::as_str).collect();
        pii::redact(&mut input, &secrets);
        pii::redact(&mut vars, &secrets);
    }
    finish(stream, s, status_label, input, vars)
}

fn finish(
    stream: &StreamId,
    s: &InstanceState,
    status_label: Option<Label>,
    input: Value,
    vars: Value,
) -> RequestView {
    RequestView {
        id: stream.instance.clone(),
        tracking_code: s.tracking_code.clone(),
        service: s.workflow.clone(),
        service_version: s.workflow_version,
        status: s.status.clone(),
        status_label,
        state: s
            .ending
            .as_ref()
            .map_or_else(|| "running".to_owned(), outcome),
        document_id: match &s.ending {
            Some(Ending::Completed { document_id, .. }) => document_id.clone(),
            _ => None,
        },
        filed_at: s.filed_at,
        sla_breached: s.sla_breached,
        incidents: s.incidents.keys().cloned().collect(),
        waiting: s
            .tokens
            .values()
            .map(|t| Waiting {
                step: t.step.clone(),
                for_: waiting_for(&t.wait).to_owned(),
            })
            .collect(),
        tasks: daftar_engine::store::task_rows(s),
        input,
        vars,
        version: s.version,
        duplicate: false,
    }
}

fn waiting_for(w: &Wait) -> &'static str {
    match w {
        Wait::Running => "running",
        Wait::Inquiry { .. } => "inquiry",
        Wait::Retry { .. } => "retry",
        Wait::Callback { .. } => "callback",
        Wait::PaymentRequest { .. } | Wait::PaymentOpen { .. } => "payment",
        Wait::Task { .. } => "task",
        Wait::Timer => "timer",
        Wait::Message { .. } => "message",
        Wait::Join { .. } => "parallel",
        Wait::Call => "call",
        Wait::Incident { .. } => "incident",
    }
}
