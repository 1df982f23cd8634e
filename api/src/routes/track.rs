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
use axum::http::{StatusCode, header};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use daftar_engine::Definition;
use daftar_engine::core::{Ending, InstanceState};
use daftar_engine::events::Event;
use daftar_engine::runtime::tracking;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::requests::Label;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;

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
    let Some(mobile) = params.mobile.as_deref().map(normalize_mobile) else {
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
    let (applicant, _) = def.applicant(&s.input);
    let matches = applicant.is_some_and(|a| same(&normalize_mobile(&a), &mobile));
    if !matches {
        return Err(not_found());
    }
    let mut milestones = Vec::new();
    let mut ended_at = None;
    let mut end_step = None;
    for e in &history {
        match &e.event {
            Event::StatusChanged { to, .. } => milestones.push(Milestone {
                status: to.clone(),
                label: status_label(&def, to).unwrap_or_else(|| Label {
                    fa: to.clone(),
                    en: to.clone(),
                }),
                at: e.recorded_at,
            }),
            Event::InstanceCompleted { step, .. } => {
                ended_at = Some(e.recorded_at);
                end_step = Some(step.clone());
            }
            Event::InstanceCancelled { .. } => ended_at = Some(e.recorded_at),
            _ => {}
        }
    }
    let (outcome, document_id) = match &s.ending {
        None => (None, None),
        Some(Ending::Completed {
            outcome,
            document_id,
        }) => (
            serde_json::to_value(outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned)),
            document_id.clone(),
        ),
        // The reason of a cancellation is an officer's note, not a text for the applicant.
        Some(Ending::Cancelled { .. }) => (Some("cancelled".to_owned()), None),
    };
    let reason = end_step.and_then(|step| {
        let text = def.compiled().step(&step)?.end.as_ref()?.reason.as_ref()?;
        Some(Label {
            fa: text.fa.clone(),
            en: text.en.clone(),
        })
    });
    let title = &def.compiled().workflow().title;
    let view = TrackView {
        tracking_code: s.tracking_code.clone(),
        service: s.workflow.clone(),
        service_title: Label {
            fa: title.fa.clone(),
            en: title.en.clone(),
        },
        status_label: s.status.as_deref().and_then(|st| status_label(&def, st)),
        status: s.status.clone(),
        filed_at: s.filed_at,
        ended: s.ending.is_some(),
        outcome,
        ended_at,
        document_id,
        reason,
        milestones,
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(view)))
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
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                format!(
                    "too many lookups of this tracking code; try again in {} seconds",
                    wait.as_secs().max(1)
                ),
            ))
        }
    }
}

/// A status's labels: the workflow's, or daftar's own for `cancelled` when the workflow does
/// not declare it.
pub(crate) fn status_label(def: &Definition, status: &str) -> Option<Label> {
    match def.compiled().workflow().statuses.get(status) {
        Some(st) => Some(Label {
            fa: st.fa.clone(),
            en: st.en.clone(),
        }),
        None if status == daftar_engine::core::CANCELLED => Some(Label {
            fa: daftar_engine::core::CANCELLED_FA.to_owned(),
            en: daftar_engine::core::CANCELLED_EN.to_owned(),
        }),
        None => None,
    }
}

/// A mobile number in one spelling: ASCII digits, national form (`09…`). Persian and Arabic
/// digits become ASCII; spaces, dashes and parentheses go; `+98`, `0098` and `98` become `0`.
pub(crate) fn normalize_mobile(raw: &str) -> String {
    let mut s = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '0'..='9' | '+' => s.push(c),
            '\u{06F0}'..='\u{06F9}' => s.push(shift_digit(c, 0x06F0)),
            '\u{0660}'..='\u{0669}' => s.push(shift_digit(c, 0x0660)),
            ' ' | '-' | '(' | ')' | '\u{00A0}' => {}
            // Anything else keeps the number from matching.
            _ => s.push(c),
        }
    }
    if let Some(rest) = s.strip_prefix("+98").or_else(|| s.strip_prefix("0098")) {
        return format!("0{rest}");
    }
    if s.len() == 12 && s.starts_with("989") {
        return format!("0{}", &s[2..]);
    }
    if s.len() == 10 && s.starts_with('9') {
        return format!("0{s}");
    }
    s
}

fn shift_digit(c: char, zero: u32) -> char {
    char::from_digit(u32::from(c) - zero, 10).unwrap_or(c)
}

/// Compares two strings in time that depends on their lengths only.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_numbers_are_read_in_every_spelling() {
        for raw in [
            "09121234567",
            "+989121234567",
            " 989121234567",
            "00989121234567",
            "9121234567",
            "0912-123-4567",
            "۰۹۱۲۱۲۳۴۵۶۷",
            "٠٩١٢١٢٣٤٥٦٧",
        ] {
            assert_eq!(normalize_mobile(raw), "09121234567", "{raw}");
        }
        assert_ne!(normalize_mobile("0912123456x"), "09121234567");
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
