//! The last word on errors: whatever answers a `4xx` or `5xx` that is not a problem body
//! (axum's own rejections in `text/plain`, the empty `405` of a route without that method, a
//! body limit hit before a handler runs) is turned into one, so that every error of the API,
//! callbacks included, is `application/problem+json` with a stable `code` and a reason.

use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::problem::ApiError;

/// The largest error text kept as the detail; axum's are a line or two.
const MAX_TEXT: usize = 16 * 1024;

/// Makes an error response a problem body, keeping its status and its other headers (`Allow`
/// of a `405`, `Retry-After`).
pub async fn problems_only(res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || is_problem(&res) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, MAX_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let (code, reason) = kind(status);
    // A 5xx's own text may say more than a client should know.
    let detail = if text.is_empty() || status.is_server_error() {
        reason.to_owned()
    } else {
        text
    };
    let problem = ApiError::new(status, code, detail).into_response();
    let (new_parts, new_body) = problem.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    if let Some(ct) = new_parts.headers.get(CONTENT_TYPE) {
        parts.headers.insert(CONTENT_TYPE, ct.clone());
    } else {
        parts.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
    }
    Response::from_parts(parts, Body::new(new_body))
}

fn is_problem(res: &Response) -> bool {
    res.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"))
}

/// The code and a default reason for a status.
fn kind(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => ("bad-body", "the request cannot be read"),
        StatusCode::NOT_FOUND => (
            "not-found",
            "no such endpoint; the API is described at /openapi.json",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method-not-allowed",
            "this endpoint does not take this method; see its `Allow` header and /openapi.json",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("too-large", "the body is over 1 MiB"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported-media-type",
            "the body's Content-Type is not one this endpoint reads",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => {
            ("bad-body", "the body does not have the expected fields")
        }
        s if s.is_server_error() => ("unavailable", "the request could not be served; try again"),
        _ => ("error", "the request was refused"),
    }
}
