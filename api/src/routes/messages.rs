//! Messages no request was waiting for: `GET /api/v1/messages/unmatched`. A callback for a
//! step that has moved on, a payment result after the payment expired, a message for a request
//! that has ended: daftar keeps each one (answering the sender `202`) instead of dropping it,
//! and an admin reads them here.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::{Principal, Role};
use crate::openapi::NeedsToken;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(paths(unmatched), components(schemas(KeptMessage)), modifiers(&NeedsToken))]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/messages/unmatched", get(unmatched))
}

/// A kept message.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeptMessage {
    /// `callback`, `payment`, or a workflow's own message name.
    pub name: String,
    /// Its correlation key (an inquiry's idempotency key, a payment reference, …).
    pub correlation: String,
    /// Its id.
    pub message_id: String,
    /// What it carried.
    #[schema(value_type = Object)]
    pub payload: Value,
    /// When it was kept.
    pub received_at: DateTime<Utc>,
}

/// How many to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// At most this many, newest first (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The agency's messages that no request was waiting for, newest first.
#[utoipa::path(
    get, path = "/api/v1/messages/unmatched", tag = "operations",
    params(Params),
    responses(
        (status = 200, body = Vec<KeptMessage>),
        (status = 400, body = Problem),
    ),
)]
pub async fn unmatched(
    State(state): State<AppState>,
    who: Principal,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<KeptMessage>>> {
    // Agencies' answers may carry personal data of anyone: admins only.
    who.require(&[Role::Admin])?;
    let Query(p) = params.map_err(ApiError::from)?;
    let limit = crate::paging::limit(p.limit, 100)?;
    let kept = state
        .engine()
        .store()
        .unmatched_messages(&who.agency, limit)
        .await?;
    Ok(Json(
        kept.into_iter()
            .map(|m| KeptMessage {
                name: m.name,
                correlation: m.correlation,
                message_id: m.message_id,
                payload: m.payload,
                received_at: m.received_at,
            })
            .collect(),
    ))
}
