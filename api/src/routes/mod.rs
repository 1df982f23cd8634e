//! The REST API under `/api/v1`, one module per resource. Each module has its `routes()` and
//! its part of the OpenAPI document (`Doc`); [`crate::openapi`] merges the parts.

pub mod audit;
pub mod connectors;
pub mod definitions;
pub mod deliver;
pub mod incidents;
pub mod messages;
pub mod ops;
pub mod requests;
pub mod tasks;
pub mod track;

use axum::Router;
use daftar_engine::core::InstanceState;
use daftar_engine::events::StreamId;
use daftar_engine::runtime::tracking;

use crate::auth::Principal;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// Every route of `/api/v1`.
pub fn v1() -> Router<AppState> {
    Router::new()
        .merge(definitions::routes())
        .merge(requests::routes())
        .merge(track::routes())
        .merge(tasks::routes())
        .merge(audit::routes())
        .merge(connectors::routes())
        .merge(messages::routes())
        .merge(deliver::routes())
        .merge(incidents::routes())
}

/// The stream a path's request id names in the caller's agency: an instance id (`i-…`) or a
/// tracking code. Another agency's request answers 404, exactly like one that does not exist.
pub async fn find_request(state: &AppState, who: &Principal, id: &str) -> ApiResult<StreamId> {
    let store = state.engine().store();
    if tracking::is_valid(id)
        && let Some(stream) = store.find_tracking_code(&id.to_ascii_uppercase()).await?
    {
        if stream.agency == who.agency {
            return Ok(stream);
        }
        return Err(no_request(id));
    }
    let stream = StreamId {
        agency: who.agency.clone(),
        instance: id.to_owned(),
    };
    match store.instance(&stream).await? {
        Some(_) => Ok(stream),
        None => Err(no_request(id)),
    }
}

fn no_request(id: &str) -> ApiError {
    ApiError::not_found(format!("no request `{id}` in your agency"))
}

/// Takes one unit of the SMS budget of a request's agency and applicant before a command that
/// may send the applicant SMS (a start, a completed task, a cancellation); 429 when spent.
pub fn sms_budget(state: &AppState, s: &InstanceState) -> ApiResult<()> {
    let mobile = state
        .engine()
        .definition_of(s)
        .ok()
        .and_then(|d| d.applicant(&s.input).0);
    if state.allow_sms(&s.agency, mobile.as_deref()) {
        Ok(())
    } else {
        Err(rate_limited())
    }
}

/// 429: too many requests that send SMS.
pub fn rate_limited() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        "too many requests that send SMS for this agency or this applicant; try again later",
    )
}

/// The `Idempotency-Key` header, if any: 1 to 200 ASCII characters.
pub fn idempotency_key(headers: &axum::http::HeaderMap) -> ApiResult<Option<String>> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let key = v.to_str().map_err(|_| {
                ApiError::bad_request("bad-idempotency-key", "Idempotency-Key must be ASCII")
            })?;
            if key.is_empty() || key.len() > 200 {
                return Err(ApiError::bad_request(
                    "bad-idempotency-key",
                    "Idempotency-Key must be 1 to 200 characters",
                ));
            }
            Ok(Some(key.to_owned()))
        }
    }
}

/// The key of a command an endpoint sends: the caller's `Idempotency-Key` (a retry repeats the
/// same command, which then has one effect), else a key no other call of this process has.
pub fn command_key(headers: &axum::http::HeaderMap) -> ApiResult<String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    Ok(idempotency_key(headers)?.unwrap_or_else(|| {
        format!(
            "{}-{}",
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        )
    }))
}
