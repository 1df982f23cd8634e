//! Public tracking: `GET /api/v1/track/{tracking_code}?mobile=09…`, with no token.
//!
//! A citizen gives the tracking code from their SMS and the mobile number they applied with;
//! they get the public milestones of their request and nothing else: no national ID, no mobile
//! number, no variables, no inquiry answers, no officer's name. An unknown code, a malformed
//! one, a wrong mobile number and a missing one all answer the same 404, so that the endpoint
//! tells nobody whether a code exists. Each code may be looked up
//! [`LOOKUPS_PER_MINUTE`] times a minute (on this node), whether it exists or not, so that the
//! mobile number of a known code cannot be guessed.

use std::num::NonZeroU32;
use std::sync::LazyLock;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use daftar_engine::Definition;
use daftar_engine::core::{Ending, InstanceState, Wait};
use daftar_engine::events::{Event, RecordedEvent};
use daftar_engine::runtime::tracking;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::mobile;
use crate::problem::{ApiError, ApiResult, ErrorCode, Problem};
use crate::state::AppState;
use crate::views::{Label, outcome, status_label};

/// How many lookups of one tracking code are answered per minute.
pub const LOOKUPS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(30).expect("30 is not zero");

/// Past this many codes remembered, codes whose budget is full again are forgotten.
const REMEMBERED_CODES: usize = 100_000;

static LOOKUPS: LazyLock<DefaultKeyedRateLimiter<String>> =
    LazyLock::new(|| RateLimiter::keyed(Quota::per_minute(LOOKUPS_PER_MINUTE)));

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(paths(track), components(schemas(TrackView, Milestone)))]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/track/{tracking_code}", get(track))
}

/// What proves the caller is the applicant.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrackParams {
    /// The mobile number the request was filed with (`09…`; `+98…` and Persian digits are
    /// accepted).
    pub mobile: Option<String>,
}

/// A public status the request entered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Milestone {
    /// The status id.
    pub status: String,
    /// Its labels.
    pub label: Label,
    /// When the request entered it.
    pub at: DateTime<Utc>,
}

/// A request as its applicant sees it when tracking it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackView {
    /// The tracking code.
    pub tracking_code: String,
    /// The service (workflow id).
    pub service: String,
    /// The service's name.
    pub service_title: Label,
    /// The current public status.
    pub status: Option<String>,
    /// Its labels.
    pub status_label: Option<Label>,
    /// When the request was filed.
    pub filed_at: Option<DateTime<Utc>>,
    /// Whether the request has ended.
    pub ended: bool,
    /// How it ended: `issued`, `approved`, `rejected`, `cancelled`, `expired` or `completed`.
    pub outcome: Option<String>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// The national document ID of the document issued, if one was.
    pub document_id: Option<String>,
    /// Why it ended so, in words for the applicant, when the service gives them.
    pub reason: Option<Label>,
    /// Where the applicant pays, while a payment is awaited.
    pub payment_url: Option<String>,
    /// The statuses it went through, oldest first.
    pub milestones: Vec<Milestone>,
}

/// Track a request with its tracking code and the applicant's mobile number. No token.
///
/// An unknown or malformed code and a wrong or missing mobile number answer the same 404.
#[utoipa::path(
    get, path = "/api/v1/track/{tracking_code}", tag = "track",
    params(
        ("tracking_code" = String, Path, description = "The tracking code from the applicant's SMS"),
        TrackParams,
    ),
    responses(
        (status = 200, description = "The request's public milestones", body = TrackView),
        (status = 400, description = "A malformed query string", body = Problem),
        (status = 404, description = "No request with this code and mobile number", body = Problem),
        (status = 429, description = "Too many lookups of this code; try again in a minute", body = Problem),
    )
)]
pub async fn track(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    params: Result<Query<TrackParams>, QueryRejection>,
) -> ApiResult<([(header::HeaderName, &'static str); 1], Json<TrackView>)> {
    let Path(code) = path.map_err(ApiError::from)?;
    let Query(params) = params.map_err(ApiError::from)?;
    let code = code.trim().to_ascii_uppercase();
    if !tracking::is_valid(&code) {
        return Err(not_found());
    }
    allow(&code)?;
    let Some(mobile) = params.mobile.as_deref().map(mobile::normalize) else {
        return Err(not_found());
    };
    if mobile.is_empty() {
        return Err(not_found());
    }
    let store = state.engine().store();
    let Some(stream) = store.find_tracking_code(&code).await? else {
        return Err(not_found());
    };
    let history = store.load(&stream).await?;
    let s = InstanceState::fold(history.iter().map(|e| &e.event));
    let def = match state.engine().definition_of(&s) {
        Ok(def) => def,
        Err(e) => {
            tracing::error!(error = %e, %stream, "a tracked request's definition is missing");
            return Err(not_found());
        }
    };
    if !mobile::is_applicants(&def, &s.input, &mobile) {
        return Err(not_found());
    }
    let view = public_view(&def, &s, &history);
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(view)))
}

/// What the applicant may see of their request: its public milestones, its outcome and
/// document, and the payment link while a payment is awaited. Shared with the desk.
pub fn public_view(def: &Definition, s: &InstanceState, history: &[RecordedEvent]) -> TrackView {
    let mut milestones = Vec::new();
    let mut ended_at = None;
    let mut end_step = None;
    let mut payment = None;
    for e in history {
        match &e.event {
            Event::StatusChanged { to, .. } => milestones.push(Milestone {
                status: to.clone(),
                label: status_label(def, to).unwrap_or_else(|| Label::new(to, to)),
                at: e.recorded_at,
            }),
            Event::InstanceCompleted { step, .. } => {
                ended_at = Some(e.recorded_at);
                end_step = Some(step.clone());
            }
            Event::InstanceCancelled { .. } => ended_at = Some(e.recorded_at),
            Event::PaymentOpened { reference, url, .. } => {
                payment = Some((reference.clone(), url.clone()));
            }
            _ => {}
        }
    }
    // The link is shown only while the payment it opened is the one awaited.
    let payment_url = payment.and_then(|(reference, url)| {
        s.tokens
            .values()
            .any(|t| matches!(&t.wait, Wait::PaymentOpen { reference: r } if *r == reference))
            .then_some(url)
            .flatten()
    });
    // The reason of a cancellation is an officer's note, not a text for the applicant: only
    // an end step's reason is shown.
    let reason = end_step.and_then(|step| {
        let text = def.compiled().step(&step)?.end.as_ref()?.reason.as_ref()?;
        Some(Label::from(text))
    });
    TrackView {
        tracking_code: s.tracking_code.clone(),
        service: s.workflow.clone(),
        service_title: Label::from(&def.compiled().workflow().title),
        status_label: s.status.as_deref().and_then(|st| status_label(def, st)),
        status: s.status.clone(),
        filed_at: s.filed_at,
        ended: s.ending.is_some(),
        outcome: s.ending.as_ref().map(outcome),
        ended_at,
        document_id: s.ending.as_ref().and_then(|e| match e {
            Ending::Completed { document_id, .. } => document_id.clone(),
            Ending::Cancelled { .. } => None,
        }),
        reason,
        payment_url,
        milestones,
    }
}

/// The one answer for every lookup that finds nothing the caller may see.
fn not_found() -> ApiError {
    ApiError::not_found(
        "no request with this tracking code and mobile number; check both and try again",
    )
}

/// Takes one lookup of `code`'s budget.
fn allow(code: &str) -> ApiResult<()> {
    if LOOKUPS.len() > REMEMBERED_CODES {
        LOOKUPS.retain_recent();
        LOOKUPS.shrink_to_fit();
    }
    match LOOKUPS.check_key(&code.to_owned()) {
        Ok(()) => Ok(()),
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Err(ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "too many lookups of this tracking code; try again in {} seconds",
                    wait.as_secs().max(1)
                ),
            ))
        }
    }
}
