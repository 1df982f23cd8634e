//! Requests: file one (`POST /api/v1/requests`, honouring `Idempotency-Key`), read one, list
//! them with filters, cancel one.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use daftar_engine::core::{Command, Ending, InstanceState, Wait};
use daftar_engine::events::{Actor, StreamId};
use daftar_engine::store::{InstanceQuery, InstanceRow};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::{Principal, Role};
use crate::pii;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(start, get_request, list, cancel),
    components(schemas(
        StartRequest,
        RequestView,
        RequestSummary,
        RequestList,
        CancelRequest,
        Waiting,
        TaskView,
        Label
    ))
)]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/requests", post(start).get(list))
        .route("/api/v1/requests/{id}", get(get_request))
        .route("/api/v1/requests/{id}/cancel", post(cancel))
}

/// A new request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StartRequest {
    /// The service (workflow id), such as `clean-record-certificate`.
    pub service: String,
    /// The application form; checked against the service's input schema.
    #[schema(value_type = Object)]
    pub input: Value,
}

/// A label in Persian and English.
#[derive(Debug, Serialize, ToSchema)]
pub struct Label {
    /// Persian.
    pub fa: String,
    /// English.
    pub en: String,
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

/// A task of the request.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    /// The task id.
    pub id: String,
    /// The step.
    pub step: String,
    /// The role that may claim it.
    pub role: Option<String>,
    /// The officer who claimed it.
    pub officer: Option<String>,
    /// The deadline.
    pub due_at: DateTime<Utc>,
    /// Whether it is open.
    pub open: bool,
}

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

/// A request in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestSummary {
    /// The request id.
    pub id: String,
    /// The tracking code.
    pub tracking_code: String,
    /// The service.
    pub service: String,
    /// Its version.
    pub service_version: u32,
    /// The public status.
    pub status: Option<String>,
    /// `running`, an outcome or `cancelled`.
    pub state: String,
    /// Open incidents.
    pub incidents: u32,
    /// Whether the SLA passed before the end.
    pub sla_breached: bool,
    /// When it was filed.
    pub filed_at: DateTime<Utc>,
}

/// A page of requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestList {
    /// The requests, newest first.
    pub items: Vec<RequestSummary>,
    /// The offset of the next page, when this one was full.
    pub next_offset: Option<u32>,
}

/// Filters of a listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only this service.
    pub service: Option<String>,
    /// Only this public status.
    pub status: Option<String>,
    /// Only this state: `running`, an outcome or `cancelled`.
    pub state: Option<String>,
    /// Filed at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Filed before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Only those whose SLA passed (or did not).
    pub sla_breached: Option<bool>,
    /// At most this many (default 50, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Skip this many.
    #[param(minimum = 0, maximum = 2147483647)]
    pub offset: Option<u32>,
}

/// Why a request is cancelled.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CancelRequest {
    /// The reason, recorded in the history.
    pub reason: String,
}

/// File a request with the version of the service in force today.
///
/// A start causes SMS, so it is rate-limited per agency and, for citizens, per filer (the
/// token's `sub`). With an `Idempotency-Key` (the caller's own: another caller's same key is
/// another request), a repeat of the same request returns the first (`200`, `duplicate: true`),
/// starts nothing and is not counted; the same key with another request is refused (`422`).
#[utoipa::path(
    post, path = "/api/v1/requests", tag = "requests",
    request_body = StartRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried start file one request; the caller's own, bound to the request"),
           ("Prefer" = Option<String>, Header, description = "`wait=N` (RFC 7240): answer when the request ends or comes to rest at a person, a payment, a timer or a message, or after N seconds (at most 30), whichever comes first")),
    responses(
        (status = 201, description = "Filed; with `Prefer: wait=N`, as it stands when it ended, came to rest or the wait ran out", body = RequestView,
         headers(("Preference-Applied" = String, description = "`wait=N` when the wait was honoured"))),
        (status = 200, description = "Filed before by this caller with this Idempotency-Key", body = RequestView),
        (status = 400, description = "The body or the Idempotency-Key cannot be read", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, description = "The body is over 1 MiB", body = Problem),
        (status = 415, description = "The body is not `application/json`", body = Problem),
        (status = 404, description = "No such service in force", body = Problem),
        (status = 422, description = "The form does not satisfy the service's schema (`invalid-input`), the body is not a `StartRequest` (`bad-body`), or the Idempotency-Key was used for another request (`idempotency-key-reused`)", body = Problem),
        (status = 429, description = "Too many filings that send SMS by this citizen or in this agency", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn start(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    body: Result<Json<StartRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    who.require(&[Role::Citizen, Role::Officer])?;
    let Json(body) = body.map_err(ApiError::from)?;
    let key = super::idempotency::header(&headers)?.map(|k| super::idempotency::scoped(&who, &k));
    let engine = state.engine();
    let Some(def) = engine
        .registry()
        .in_force(&who.agency, &body.service, Utc::now())
    else {
        return Err(ApiError::not_found(format!(
            "no version of service `{}` is in force in your agency",
            body.service
        )));
    };
    crate::numbers::check(
        &def.compiled().workflow().input.schema,
        &body.input,
        "invalid-input",
    )?;
    let citizen = who.roles.contains(&Role::Citizen);
    // A repeat is answered before any budget is spent: it sends nothing.
    if let Some(key) = &key {
        let stream = StreamId {
            agency: who.agency.clone(),
            instance: daftar_engine::runtime::keyed_instance(&who.agency, &body.service, key),
        };
        if engine.store().instance(&stream).await?.is_some() {
            return repeated(&state, &who, &stream, &body.input)
                .await
                .map(IntoResponse::into_response);
        }
    }
    if !state.allow_sms(&who.agency, citizen.then_some(who.subject.as_str())) {
        return Err(super::rate_limited());
    }
    let actor = if citizen {
        // The filer is recorded, so that the applicant may read and watch their request.
        Actor::Applicant(who.subject.clone())
    } else {
        Actor::Officer(who.subject.clone())
    };
    let input = body.input.clone();
    // Subscribed before the start, so that no commit of the new request can be missed.
    let wait = super::wait::preferred(&headers).map(|w| (w, engine.subscribe()));
    let done = engine
        .start(
            &who.agency,
            &body.service,
            body.input,
            key.as_deref(),
            actor,
        )
        .await?;
    if done.duplicate {
        // Filed by a concurrent repeat in the meantime.
        return repeated(&state, &who, &done.stream, &input)
            .await
            .map(IntoResponse::into_response);
    }
    let Some((wait, feed)) = wait else {
        let state_now = engine.state(&done.stream).await?;
        let view = view(&state, &who, &done.stream, &state_now);
        return Ok((StatusCode::CREATED, Json(view)).into_response());
    };
    let state_now = super::wait::settle(engine, &done.stream, feed, wait).await?;
    let view = view(&state, &who, &done.stream, &state_now);
    Ok((
        StatusCode::CREATED,
        [super::wait::applied(wait)],
        Json(view),
    )
        .into_response())
}

/// A start repeated under the caller's key: the first request if this is the same request,
/// else `422` (never another request's data).
async fn repeated(
    state: &AppState,
    who: &Principal,
    stream: &StreamId,
    input: &Value,
) -> ApiResult<(StatusCode, Json<RequestView>)> {
    let first = state.engine().state(stream).await?;
    if first.input != *input {
        return Err(super::idempotency::reused());
    }
    let mut view = view(state, who, stream, &first);
    view.duplicate = true;
    Ok((StatusCode::OK, Json(view)))
}

/// A request: its status, what it waits for, its tasks and data.
#[utoipa::path(
    get, path = "/api/v1/requests/{id}", tag = "requests",
    params(("id" = String, Path, description = "The request id or its tracking code")),
    responses(
        (status = 200, body = RequestView),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, description = "No such request in your agency", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn get_request(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<RequestView>> {
    let stream = super::find_request(&state, &who, &id).await?;
    let s = state.engine().state(&stream).await?;
    may_read(&who, &s, &id)?;
    Ok(Json(view(&state, &who, &stream, &s)))
}

/// The agency's requests, newest first, with filters.
#[utoipa::path(
    get, path = "/api/v1/requests", tag = "requests",
    params(ListParams),
    responses(
        (status = 200, body = RequestList),
        (status = 400, description = "A filter cannot be read", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<RequestList>> {
    who.require(&[Role::Officer, Role::Auditor])?;
    let Query(p) = params.map_err(ApiError::from)?;
    let limit = super::paging::limit(p.limit, 50)?;
    let offset = super::paging::offset(p.offset)?;
    let query = InstanceQuery {
        workflow: p.service,
        status: p.status,
        state: p.state,
        from: p.from,
        to: p.to,
        sla_breached: p.sla_breached,
        limit,
        offset,
    };
    let rows = state
        .engine()
        .store()
        .instances(&who.agency, &query)
        .await?;
    let full = rows.len() as u32 == limit;
    Ok(Json(RequestList {
        items: rows.into_iter().map(summary).collect(),
        next_offset: full
            .then(|| offset.checked_add(limit))
            .flatten()
            .filter(|n| *n <= super::paging::MAX_OFFSET),
    }))
}

fn summary((stream, row): (StreamId, InstanceRow)) -> RequestSummary {
    RequestSummary {
        id: stream.instance,
        tracking_code: row.tracking_code,
        service: row.workflow,
        service_version: row.workflow_version,
        status: row.status,
        state: row.state,
        incidents: row.incidents,
        sla_breached: row.sla_breached,
        filed_at: row.started_at,
    }
}

/// Cancel a running request. Its pending timers and tasks close; the history keeps the reason;
/// its public status becomes `cancelled` and the applicant gets one SMS saying so.
#[utoipa::path(
    post, path = "/api/v1/requests/{id}/cancel", tag = "requests",
    params(("id" = String, Path, description = "The request id or its tracking code"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried cancellation one command; the caller's own, bound to the request")),
    request_body = CancelRequest,
    responses(
        (status = 200, body = RequestView),
        (status = 400, description = "No reason, or a body that cannot be read", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "It has already ended", body = Problem),
        (status = 413, description = "The body is over 1 MiB", body = Problem),
        (status = 415, description = "The body is not `application/json`", body = Problem),
        (status = 422, description = "The body is not a `CancelRequest` (`bad-body`), or the Idempotency-Key was used for another request (`idempotency-key-reused`)", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn cancel(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<CancelRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<RequestView>> {
    who.require(&[Role::Admin])?;
    let Json(body) = body.map_err(ApiError::from)?;
    if body.reason.trim().is_empty() {
        return Err(ApiError::bad_request(
            "bad-body",
            "give a `reason` for the cancellation",
        ));
    }
    let stream = super::find_request(&state, &who, &id).await?;
    let command = Command::Cancel {
        reason: body.reason,
    };
    let command_id =
        super::idempotency::command_id(&state, &who, &headers, &stream, "cancel", &command).await?;
    let engine = state.engine();
    engine
        .execute(
            &stream,
            &command,
            &command_id,
            Actor::Operator(who.subject.clone()),
            None,
        )
        .await?;
    let s = engine.state(&stream).await?;
    Ok(Json(view(&state, &who, &stream, &s)))
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
        .and_then(|d| super::track::status_label(d, s.status.as_ref()?));
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
    let state_name = match &s.ending {
        None => "running".to_owned(),
        Some(Ending::Completed { outcome, .. }) => serde_json::to_value(outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        Some(Ending::Cancelled { .. }) => "cancelled".to_owned(),
    };
    RequestView {
        id: stream.instance.clone(),
        tracking_code: s.tracking_code.clone(),
        service: s.workflow.clone(),
        service_version: s.workflow_version,
        status: s.status.clone(),
        status_label,
        state: state_name,
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
        tasks: s
            .tasks
            .iter()
            .map(|(id, t)| TaskView {
                id: id.clone(),
                step: t.step.clone(),
                role: t.role.clone(),
                officer: t.officer.clone(),
                due_at: t.due_at,
                open: t.open,
            })
            .collect(),
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
