//! The REST API under `/api/v1`, one module per resource. Each module has its `routes()` and
//! its part of the OpenAPI document (`Doc`); [`crate::openapi`] merges the parts.

pub mod audit;
pub mod connectors;
pub mod definitions;
pub mod deliver;
pub mod idempotency;
pub mod incidents;
pub mod messages;
pub mod ops;
mod paging;
pub mod requests;
pub mod tasks;
pub mod track;
pub mod wait;
pub mod watch;

use axum::Router;
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
        .merge(watch::routes())
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

/// 429: too many filings that send SMS, by this caller or in this agency.
pub fn rate_limited() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        "you, or this agency, filed too many requests that send SMS; try again later",
    )
}
