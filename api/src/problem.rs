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
}

/// An API error: a status, a stable code and a detail for a person.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{status} {code}: {detail}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code.
    pub code: &'static str,
    /// The detail.
    pub detail: String,
    /// Every way a form fails its schema, when that is the error.
    pub errors: Vec<FieldError>,
}

impl ApiError {
    /// An error with any status.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
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
            })
            .collect();
        self
    }

    /// 400: the request is malformed.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 404: no such thing in the caller's agency (also for other agencies' ids).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 401: no valid credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 403: valid credentials without the right.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 422: well-formed but refused (a form that fails its schema, an invalid definition).
    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    /// 503: the store could not be reached; the detail says to try again, nothing more.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service cannot reach its store right now; try again shortly",
        )
    }

    /// The body sent for this error.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("https://daftar.dev/problems/{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            code: self.code.to_owned(),
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
            StoreError::Conflict { .. } => ApiError::conflict(
                "busy",
                "the request changed while this was decided; send it again",
            ),
            StoreError::VersionTaken { workflow, version } => ApiError::conflict(
                "version-taken",
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
            RuntimeError::Definition(detail) => {
                ApiError::unprocessable("invalid-definition", detail)
            }
        }
    }
}

/// A command the core refused: nothing changed. The core's messages name steps, tasks and
/// states, never stored data, so they are safe to show.
fn refused(e: daftar_engine::Error) -> ApiError {
    use daftar_engine::Error as E;
    match &e {
        E::InvalidInput(v) => {
            ApiError::unprocessable("invalid-input", e.to_string()).with_errors(v)
        }
        E::InvalidForm(v) => ApiError::unprocessable("invalid-form", e.to_string()).with_errors(v),
        E::Unknown { .. } | E::NotStarted => ApiError::not_found(e.to_string()),
        E::Ended => ApiError::conflict("ended", e.to_string()),
        E::NotRequestable { .. } => {
            ApiError::new(StatusCode::FORBIDDEN, "not-requestable", e.to_string())
        }
        E::NotAllowed(_) => ApiError::conflict("not-allowed", e.to_string()),
        E::Stale(_) => ApiError::conflict("stale", e.to_string()),
        _ => ApiError::conflict("refused", e.to_string()),
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        let status = e.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "too-large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
            _ => "bad-body",
        };
        ApiError::new(status, code, e.body_text())
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::bad_request("bad-query", e.body_text())
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(e: axum::extract::rejection::PathRejection) -> Self {
        ApiError::bad_request("bad-path", e.body_text())
    }
}
