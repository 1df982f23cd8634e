//! Requests: file one (`POST /api/v1/requests`, honouring `Idempotency-Key`), read one, list
//! them with filters, cancel one.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use daftar_engine::core::Command;
use daftar_engine::events::{Actor, StreamId};
use daftar_engine::store::{InstanceKey, InstanceQuery, InstanceRow, Seek};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::{Principal, Role};
use crate::lookup::RequestPath;
use crate::openapi::NeedsToken;
use crate::problem::{ApiError, ApiResult, ErrorCode, Problem};
use crate::state::AppState;
use crate::views::{Label, RequestView, TaskView, Waiting, view};

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
    )),
    modifiers(&NeedsToken)
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
    /// The offset of the next page, when more requests follow (pages read by `offset`).
    pub next_offset: Option<u32>,
    /// The cursor of the next page (give it as `after`), when more requests follow.
    pub next: Option<String>,
    /// The cursor of the previous page (give it as `before`), when a page read by a cursor
    /// has requests before it.
    pub previous: Option<String>,
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
    /// Skip this many (not with `after` or `before`).
    #[param(minimum = 0, maximum = 2147483647)]
    pub offset: Option<u32>,
    /// The page after this cursor (a listing's `next`): a request filed meanwhile neither
    /// repeats nor skips a row at the boundary, as an offset would.
    pub after: Option<String>,
    /// The page before this cursor (a listing's `previous`).
    pub before: Option<String>,
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
        (status = 404, description = "No such service in force", body = Problem),
        (status = 422, description = "The form does not satisfy the service's schema (`invalid-input`), the body is not a `StartRequest` (`bad-body`), or the Idempotency-Key was used for another request (`idempotency-key-reused`)", body = Problem),
        (status = 429, description = "Too many filings that send SMS by this citizen or in this agency", body = Problem),
    ),
)]
pub async fn start(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    body: Result<Json<StartRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    who.require(&[Role::Citizen, Role::Officer])?;
    let Json(body) = body.map_err(ApiError::from)?;
    let key = crate::idempotency::header(&headers)?.map(|k| crate::idempotency::scoped(&who, &k));
    let engine = state.engine();
    let Some(def) = engine
        .registry()
        .in_force(&who.agency, &body.service, engine.now())
    else {
        return Err(ApiError::not_found(format!(
            "no version of service `{}` is in force in your agency",
            body.service
        )));
    };
    crate::numbers::check(
        &def.compiled().workflow().input.schema,
        &body.input,
        ErrorCode::InvalidInput,
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
        return Err(ApiError::sms_rate_limited());
    }
    let actor = if citizen {
        // The filer is recorded, so that the applicant may read and watch their request.
        Actor::Applicant(who.subject.clone())
    } else {
        Actor::Officer(who.subject.clone())
    };
    let input = body.input.clone();
    let wait = crate::wait::preferred(&headers);
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
    let Some(wait) = wait else {
        let state_now = engine.state(&done.stream).await?;
        let view = view(&state, &who, &done.stream, &state_now);
        return Ok((StatusCode::CREATED, Json(view)).into_response());
    };
    let state_now = crate::wait::settle(engine, &done.stream, wait).await?;
    let view = view(&state, &who, &done.stream, &state_now);
    Ok((
        StatusCode::CREATED,
        [crate::wait::applied(wait)],
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
        return Err(crate::idempotency::reused());
    }
    let mut view = view(state, who, stream, &first);
    view.duplicate = true;
    Ok((StatusCode::OK, Json(view)))
}

/// A request: its status, what it waits for, its tasks and data.
#[utoipa::path(
    get, path = "/api/v1/requests/{id}", tag = "requests",
    params(RequestPath),
    responses(
        (status = 200, body = RequestView),
        (status = 404, description = "No such request in your agency", body = Problem),
        (status = 410, description = "Its applicant's data was erased (`erased`); the audit history keeps where it went", body = Problem),
    ),
)]
pub async fn get_request(
    State(state): State<AppState>,
    who: Principal,
    Path(RequestPath { id }): Path<RequestPath>,
) -> ApiResult<Json<RequestView>> {
    let stream = crate::lookup::find_request(&state, &who, &id).await?;
    let s = state.engine().state(&stream).await?;
    crate::views::may_read(&who, &s, &id)?;
    if let Some(authority) = s.erased.as_ref().filter(|_| !s.started_readably()) {
        return Err(ApiError::new(
            ErrorCode::Erased,
            format!(
                "the applicant's data was erased ({authority}); its history keeps where it went"
            ),
        ));
    }
    Ok(Json(view(&state, &who, &stream, &s)))
}

/// The agency's requests, newest first, with filters; for a citizen, the requests they filed.
#[utoipa::path(
    get, path = "/api/v1/requests", tag = "requests",
    params(ListParams),
    responses(
        (status = 200, body = RequestList),
        (status = 400, description = "A filter cannot be read", body = Problem),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<RequestList>> {
    who.require(&[Role::Officer, Role::Auditor, Role::Citizen])?;
    // A citizen lists only what they filed; officers and auditors the agency's requests.
    let filed_by = (!who
        .roles
        .iter()
        .any(|r| matches!(r, Role::Officer | Role::Auditor)))
    .then(|| who.subject.clone());
    let Query(p) = params.map_err(ApiError::from)?;
    let limit = crate::paging::limit(p.limit, 50)?;
    let offset = crate::paging::offset(p.offset)?;
    let seek = crate::paging::seek::<InstanceKey>(p.after.as_deref(), p.before.as_deref())?;
    if seek.is_some() && offset > 0 {
        return Err(ApiError::new(
            ErrorCode::BadQuery,
            "give `offset` or a cursor (`after`, `before`), not both",
        ));
    }
    let backwards = matches!(seek, Some(Seek::Before(_)));
    let by_cursor = seek.is_some();
    let query = InstanceQuery {
        workflow: p.service,
        status: p.status,
        state: p.state,
        from: p.from,
        to: p.to,
        sla_breached: p.sla_breached,
        filed_by,
        // One more than the page: whether another page follows it.
        limit: limit + 1,
        offset,
        seek,
        with_incidents: false,
    };
    let mut rows = state
        .engine()
        .store()
        .instances(&who.agency, &query)
        .await?;
    let more = rows.len() > limit as usize;
    if more {
        // Read backwards, the extra row is the newest.
        if backwards {
            rows.remove(0);
        } else {
            rows.truncate(limit as usize);
        }
    }
    let key = |r: Option<&(StreamId, InstanceRow)>| {
        r.map(|(s, row)| crate::paging::cursor(&row.key(&s.instance)))
    };
    let (next, previous) = if backwards {
        (key(rows.last()), key(rows.first()).filter(|_| more))
    } else {
        (
            key(rows.last()).filter(|_| more),
            key(rows.first()).filter(|_| by_cursor),
        )
    };
    Ok(Json(RequestList {
        items: rows.into_iter().map(summary).collect(),
        next_offset: (more && !by_cursor)
            .then(|| offset.checked_add(limit))
            .flatten()
            .filter(|n| *n <= crate::paging::MAX_OFFSET),
        next,
        previous,
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
    params(RequestPath,
           ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried cancellation one command; the caller's own, bound to the request")),
    request_body = CancelRequest,
    responses(
        (status = 200, body = RequestView),
        (status = 400, description = "No reason, or a body that cannot be read", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "It has already ended", body = Problem),
        (status = 422, description = "The body is not a `CancelRequest` (`bad-body`), or the Idempotency-Key was used for another request (`idempotency-key-reused`)", body = Problem),
    ),
)]
pub async fn cancel(
    State(state): State<AppState>,
    who: Principal,
    Path(RequestPath { id }): Path<RequestPath>,
    headers: HeaderMap,
    body: Result<Json<CancelRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<RequestView>> {
    who.require(&[Role::Admin])?;
    let Json(body) = body.map_err(ApiError::from)?;
    if body.reason.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::BadBody,
            "give a `reason` for the cancellation",
        ));
    }
    let stream = crate::lookup::find_request(&state, &who, &id).await?;
    let command = Command::Cancel {
        reason: body.reason,
    };
    let command_id =
        crate::idempotency::command_id(&state, &who, &headers, &stream, "cancel", &command).await?;
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
