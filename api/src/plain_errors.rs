//! The last word on errors: whatever answers a `4xx` or `5xx` that is not a problem body
//! (axum's own rejections in `text/plain`, the empty `405` of a route without that method, a
//! body limit hit before a handler runs) is turned into one, so that every error of the API,
//! callbacks included, is `application/problem+json` with a stable `code` and a reason.

use axum::body::Body;
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::problem::{ApiError, ErrorCode};

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
    let code = ErrorCode::of_status(status);
    let reason = reason(code);
    // A 5xx's own text may say more than a client should know.
    let detail = if text.is_empty() || status.is_server_error() {
        reason.to_owned()
    } else {
        text
    };
    let problem = ApiError::new(code, detail).into_response();
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

/// A default reason for the code of a status.
fn reason(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::BadBody => "the request cannot be read",
        ErrorCode::NotFound => "no such endpoint; the API is described at /openapi.json",
        ErrorCode::MethodNotAllowed => {
            "this endpoint does not take this method; see its `Allow` header and /openapi.json"
        }
        ErrorCode::TooLarge => "the body is over 1 MiB",
        ErrorCode::UnsupportedMediaType => "the body's Content-Type is not one this endpoint reads",
        ErrorCode::UnfitBody => "the body does not have the expected fields",
        c if c.status().is_server_error() => "the request could not be served; try again",
        _ => "the request was refused",
    }
}
