//! The one error type of the API. Every 4xx and 5xx is a problem body (RFC 9457):
//!
//! ```json
//! {"type": "https://daftar.dev/problems/not-found", "title": "Not Found", "status": 404,
//!  "code": "not-found", "detail": "no request i-… in this agency"}
//! ```
//!
//! `code` is stable and documented in `docs/api.md`; `detail` is for a person. Database and
//! internal error text is logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub use crate::error_code::ErrorCode;
use daftar_engine::runtime::RuntimeError;
use daftar_engine::store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// A problem body, as sent.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `https://daftar.dev/problems/{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status text.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// A stable, machine-readable code.
    pub code: String,
    /// What happened and what to do, for a person.
    pub detail: String,
    /// For a form that fails its schema (`invalid-input`, `invalid-form`): every way it
    /// fails, each with the JSON pointer of the value at fault.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One way a form fails its schema.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FieldError {
    /// The JSON pointer of the value at fault, such as `/national_id`; empty for the form.
    pub pointer: String,
    /// What is wrong with it.
    pub detail: String,
    /// The same in Persian, to show the citizen who filled the form in.
    pub detail_fa: String,
}

/// An API error: a stable code (which says the status) and a detail for a person.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{status} {code}: {detail}")]
pub struct ApiError {
    /// The HTTP status: always its code's ([`ErrorCode::status`]).
    pub status: StatusCode,
    /// The stable code.
    pub code: ErrorCode,
    /// The detail.
    pub detail: String,
    /// Every way a form fails its schema, when that is the error.
    pub errors: Vec<FieldError>,
}

impl ApiError {
    /// An error with its code.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        ApiError {
            status: code.status(),
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// Lists every way a form fails its schema.
    pub fn with_errors(mut self, violations: &[daftar_engine::Violation]) -> Self {
        self.errors = violations
            .iter()
            .map(|v| FieldError {
                pointer: v.pointer.clone(),
                detail: v.message.clone(),
                detail_fa: v.fa.clone(),
            })
            .collect();
        self
    }

    /// 404: no such thing in the caller's agency (also for other agencies' ids).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, detail)
    }

    /// 401: no valid credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, detail)
    }

    /// 403: valid credentials without the right.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }

    /// 429: too many filings that send SMS, by this caller or in this agency.
    pub fn sms_rate_limited() -> Self {
        Self::new(
            ErrorCode::RateLimited,
            "you, or this agency, filed too many requests that send SMS; try again later",
        )
    }

    /// 503: the store could not be reached; the detail says to try again, nothing more.
    pub fn unavailable() -> Self {
        Self::new(
            ErrorCode::Unavailable,
            "the service cannot reach its store right now; try again shortly",
        )
    }

    /// The body sent for this error.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("https://daftar.dev/problems/{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            code: self.code.slug().to_owned(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_string(&self.problem()).unwrap_or_default();
        (
            self.status,
            [("content-type", "application/problem+json")],
            body,
        )
            .into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } => ApiError::new(
                ErrorCode::Busy,
                "the request changed while this was decided; send it again",
            ),
            StoreError::VersionTaken { workflow, version } => ApiError::new(
                ErrorCode::VersionTaken,
                format!(
                    "version {version} of {workflow} is already deployed with other content; \
                     a deployed version never changes: raise `version` and deploy again"
                ),
            ),
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::unavailable()
            }
        }
    }
}

impl From<RuntimeError> for ApiError {
    fn from(e: RuntimeError) -> Self {
        match e {
            RuntimeError::Refused(e) => refused(e),
            RuntimeError::Store(e) => e.into(),
            RuntimeError::NoInstance(_) => ApiError::not_found("no such request in this agency"),
            RuntimeError::NoWorkflow { workflow, .. } => ApiError::not_found(format!(
                "no version of service `{workflow}` is in force in this agency"
            )),
            RuntimeError::Definition(detail) => ApiError::new(ErrorCode::InvalidDefinition, detail),
        }
    }
}

/// A command the core refused: nothing changed. The core's messages name steps, tasks and
/// states, never stored data, so they are safe to show.
fn refused(e: daftar_engine::Error) -> ApiError {
    use daftar_engine::Error as E;
    let code = match &e {
        E::InvalidInput(v) => {
            return ApiError::new(ErrorCode::InvalidInput, e.to_string()).with_errors(v);
        }
        E::InvalidForm(v) => {
            return ApiError::new(ErrorCode::InvalidForm, e.to_string()).with_errors(v);
        }
        E::Unknown { .. } | E::NotStarted => ErrorCode::NotFound,
        E::Ended => ErrorCode::Ended,
        E::NotRequestable { .. } => ErrorCode::NotRequestable,
        E::NotAllowed(_) => ErrorCode::NotAllowed,
        E::Stale(_) => ErrorCode::Stale,
        _ => ErrorCode::Refused,
    };
    ApiError::new(code, e.to_string())
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        ApiError::new(ErrorCode::of_status(e.status()), e.body_text())
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(e: axum::extract::rejection::BytesRejection) -> Self {
        ApiError::new(ErrorCode::of_status(e.status()), e.body_text())
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::new(ErrorCode::BadQuery, e.body_text())
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(e: axum::extract::rejection::PathRejection) -> Self {
        ApiError::new(ErrorCode::BadPath, e.body_text())
    }
}
