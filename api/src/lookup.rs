//! What a path's request id names in the caller's agency.

use daftar_engine::core::InstanceState;
use daftar_engine::events::StreamId;
use daftar_engine::runtime::tracking;

use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Principal;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// The request id of a route's path, as the document names it.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RequestPath {
    /// The request id or its tracking code
    pub id: String,
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
    // A request this node holds in memory exists: no store query to learn it.
    if state.engine().holds(&stream) {
        return Ok(stream);
    }
    match store.instance(&stream).await? {
        Some(_) => Ok(stream),
        None => Err(no_request(id)),
    }
}

/// The request `id` of the caller's agency and its state.
pub async fn load_request(
    state: &AppState,
    who: &Principal,
    id: &str,
) -> ApiResult<(StreamId, InstanceState)> {
    let stream = find_request(state, who, id).await?;
    let s = state.engine().state(&stream).await?;
    Ok((stream, s))
}

fn no_request(id: &str) -> ApiError {
    ApiError::not_found(format!("no request `{id}` in your agency"))
}
