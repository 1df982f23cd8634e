//! Audit: a request's recorded history, its state at any version or time, and the
//! verification of every hash chain of the agency.
//!
//! Auditors are not officers: the applicant's national ID and mobile number are masked in
//! everything these endpoints return, wherever they appear (admins see them, as officers do).

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use daftar_engine::audit::verify_store;
use daftar_engine::core::InstanceState;
use daftar_engine::events::{DecisionEvidence, Event, RecordedEvent, StreamId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::{Principal, Role};
use crate::lookup::RequestPath;
use crate::openapi::NeedsToken;
use crate::pii;
use crate::problem::{ApiError, ApiResult, ErrorCode, Problem};
use crate::state::AppState;
use crate::views::{Label, RequestView, sees_personal_data, view};

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(history, state_at, verify),
    components(schemas(
        History,
        HistoryEntry,
        DefinitionUsed,
        StateAt,
        Verification,
        ChainFailure
    )),
    modifiers(&NeedsToken)
)]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/requests/{id}/history", get(history))
        .route("/api/v1/requests/{id}/state", get(state_at))
        .route("/api/v1/audit/verify", get(verify))
}

/// The definition that decided an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct DefinitionUsed {
    /// The workflow (service) id.
    pub id: String,
    /// Its version.
    pub version: u32,
    /// Its content hash.
    pub hash: String,
}

/// One recorded event, with everything the store keeps around it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// The event's version in its request, from 1, without gaps.
    pub version: u64,
    /// Its position across the whole store.
    pub position: u64,
    /// When it was recorded, by the store's clock.
    pub recorded_at: DateTime<Utc>,
    /// The event's type, such as `InquiryAnswered`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The payload as stored (`type`, schema version `v` and the fields), personal data
    /// masked for callers who are not officers.
    #[schema(value_type = Object)]
    pub event: Value,
    /// Who caused it: `{"kind": "system" | "connector" | "officer" | "citizen" | "operator",
    /// "id": …}`.
    #[schema(value_type = Object)]
    pub actor: Value,
    /// The id of the command that caused it.
    pub command_id: String,
    /// The previous event's hash (empty for the first).
    pub prev_hash: String,
    /// This event's hash.
    pub hash: String,
    /// The definition that decided it.
    pub definition: DefinitionUsed,
    /// For an automated decision (`DecisionTaken`): why it went the way it did, in words a
    /// citizen can follow, built from the conditions it tried and the values they read
    /// (masked as in `event`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<Label>,
}

/// A request's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    /// The request id.
    pub id: String,
    /// Every event, in order.
    pub events: Vec<HistoryEntry>,
}

/// Where in a history to stop.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtParams {
    /// A stream version (`7`: the state after the 7th event) or an RFC 3339 time (the state
    /// after the last event recorded at or before it). Left out: the current state.
    pub at: Option<String>,
}

/// A request's state at a point of its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct StateAt {
    /// The request id.
    pub id: String,
    /// How many events the state folds.
    pub version: u64,
    /// When the last of them was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The request as it then was, in the shape `GET /api/v1/requests/{id}` answers.
    pub request: RequestView,
    /// The whole folded state (tokens, tasks, timers, variables…), masked likewise.
    #[schema(value_type = Object)]
    pub state: Value,
}

/// The first problem found: a broken link, an altered event, or a row that disagrees with the
/// events.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainFailure {
    /// The request's stream, `agency/instance`.
    pub stream: String,
    /// The version of the first bad event (or of the one missing).
    pub version: u64,
    /// What is wrong.
    pub reason: String,
}

/// The result of verifying every request of the agency, as `daftar verify` does.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    /// Whether every chain is intact and every row agrees with the events.
    pub ok: bool,
    /// How many requests were checked.
    pub streams: u64,
    /// How many events were checked.
    pub events: u64,
    /// The first failure, when there is one.
    pub failure: Option<ChainFailure>,
}

/// The strings to mask for `who` in a request's data: its personal values (see [`pii`]), read
/// by the definition the request runs; nothing for officers and admins.
pub async fn secrets(
    state: &AppState,
    who: &Principal,
    stream: &StreamId,
) -> ApiResult<Vec<String>> {
    if sees_personal_data(who) {
        return Ok(Vec::new());
    }
    let engine = state.engine();
    let s = engine.state(stream).await?;
    if s.erased.is_some() && !s.started_readably() {
        // Its applicant was erased: every event that could hold their data reads as `Erased`.
        return Ok(Vec::new());
    }
    // Fail closed: without the definition, what to mask is unknown.
    let def = engine.definition_of(&s).map_err(|e| {
        tracing::error!(error = %e, stream = %stream, "cannot tell what to mask");
        ApiError::unavailable()
    })?;
    let history = engine.store().load(stream).await?;
    Ok(pii::personal_values(
        &def,
        &s,
        history.iter().map(|e| &e.event),
    ))
}

fn mask(value: &mut Value, secrets: &[String]) {
    if !secrets.is_empty() {
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        pii::redact(value, &secrets);
    }
}

/// One recorded event as the history shows it, with `secrets` masked; a decision with the
/// sentence that explains it, built from the masked evidence so that it masks what the event
/// masks.
pub fn entry(e: &RecordedEvent, secrets: &[String]) -> HistoryEntry {
    let mut event = e.event.to_stored();
    mask(&mut event, secrets);
    let mut actor = serde_json::to_value(&e.actor).unwrap_or_default();
    mask(&mut actor, secrets);
    let why = match &e.event {
        Event::DecisionTaken { step, .. } => event
            .get("evidence")
            .cloned()
            .and_then(|v| serde_json::from_value::<DecisionEvidence>(v).ok())
            .map(|evidence| {
                let s = evidence.explain(step);
                Label { fa: s.fa, en: s.en }
            }),
        _ => None,
    };
    HistoryEntry {
        why,
        version: e.version,
        position: e.position,
        recorded_at: e.recorded_at,
        kind: e.event.kind().to_owned(),
        event,
        actor,
        command_id: e.command_id.clone(),
        prev_hash: e.prev_hash.clone(),
        hash: e.hash.clone(),
        definition: DefinitionUsed {
            id: e.workflow.clone(),
            version: e.workflow_version,
            hash: e.definition_hash.clone(),
        },
    }
}

/// A request's recorded history: every event with its envelope (time, actor, command, hash
/// chain, definition), personal data masked.
#[utoipa::path(
    get, path = "/api/v1/requests/{id}/history", tag = "audit",
    params(RequestPath),
    responses(
        (status = 200, body = History),
        (status = 404, description = "No such request in your agency", body = Problem),
        (status = 503, body = Problem),
    ),
)]
pub async fn history(
    State(state): State<AppState>,
    who: Principal,
    Path(RequestPath { id }): Path<RequestPath>,
) -> ApiResult<Json<History>> {
    who.require(&[Role::Auditor])?;
    let stream = crate::lookup::find_request(&state, &who, &id).await?;
    let secrets = secrets(&state, &who, &stream).await?;
    let events = state.engine().store().load(&stream).await?;
    Ok(Json(History {
        id: stream.instance,
        events: events.iter().map(|e| entry(e, &secrets)).collect(),
    }))
}

/// How many events of `events` the state at `at` folds.
fn cut(events: &[RecordedEvent], at: Option<&str>) -> ApiResult<usize> {
    let Some(at) = at.map(str::trim) else {
        return Ok(events.len());
    };
    let n = if let Ok(v) = at.parse::<u64>() {
        if v > events.len() as u64 {
            return Err(ApiError::not_found(format!(
                "the request has {} events; there is no version {v}",
                events.len()
            )));
        }
        v as usize
    } else {
        // A `+` of an offset left unencoded in a query string arrives as a space.
        let time = DateTime::parse_from_rfc3339(at)
            .or_else(|_| DateTime::parse_from_rfc3339(&at.replace(' ', "+")))
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::BadAt,
                    format!(
                        "`at` must be a version (a whole number) or an RFC 3339 time such as \
                         2026-04-01T08:30:00Z, not `{at}`"
                    ),
                )
            })?
            .with_timezone(&Utc);
        events.iter().take_while(|e| e.recorded_at <= time).count()
    };
    if n == 0 {
        return Err(ApiError::not_found(
            "the request had not been filed yet at that point",
        ));
    }
    Ok(n)
}

/// A request's state at a version or a time of its history, rebuilt by folding its events up
/// to there (`daftar replay`), personal data masked.
#[utoipa::path(
    get, path = "/api/v1/requests/{id}/state", tag = "audit",
    params(RequestPath, AtParams),
    responses(
        (status = 200, body = StateAt),
        (status = 400, description = "`at` is neither a version nor an RFC 3339 time", body = Problem),
        (status = 404, description = "No such request in your agency, or no such point of its history", body = Problem),
        (status = 503, body = Problem),
    ),
)]
pub async fn state_at(
    State(state): State<AppState>,
    who: Principal,
    Path(RequestPath { id }): Path<RequestPath>,
    params: Result<Query<AtParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<StateAt>> {
    who.require(&[Role::Auditor])?;
    let Query(params) = params.map_err(ApiError::from)?;
    let stream = crate::lookup::find_request(&state, &who, &id).await?;
    let events = state.engine().store().load(&stream).await?;
    let n = cut(&events, params.at.as_deref())?;
    let secrets = secrets(&state, &who, &stream).await?;
    let folded = InstanceState::fold(events[..n].iter().map(|e| &e.event));
    let request = view(&state, &who, &stream, &folded);
    let mut raw = serde_json::to_value(&folded).unwrap_or_default();
    mask(&mut raw, &secrets);
    Ok(Json(StateAt {
        id: stream.instance,
        version: n as u64,
        recorded_at: events[n - 1].recorded_at,
        request,
        state: raw,
    }))
}

/// Verifies every request of the agency exactly as `daftar verify` verifies a store: each
/// event's hash over its stored bytes and its link to the previous one, each event's `type`
/// column against its payload, each request's head against its last recorded command, and
/// each request's row against the fold of its events; rows left of a deleted request fail
/// too. The first problem found is named.
#[utoipa::path(
    get, path = "/api/v1/audit/verify", tag = "audit",
    responses(
        (status = 200, description = "Verified; `ok` says whether every chain is intact and every row agrees", body = Verification),
        (status = 503, body = Problem),
    ),
)]
pub async fn verify(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Verification>> {
    who.require(&[Role::Auditor])?;
    // As the command does: two ranges read at once per core.
    let ranges = 2 * std::thread::available_parallelism().map_or(1, |n| n.get());
    let report = verify_store(state.engine().store().clone(), ranges, Some(&who.agency)).await?;
    Ok(Json(Verification {
        ok: report.failure.is_none(),
        streams: report.streams as u64,
        events: report.events,
        failure: report.failure.map(|e| ChainFailure {
            stream: e.stream,
            version: e.version,
            reason: e.reason,
        }),
    }))
}
