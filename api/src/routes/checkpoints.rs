//! Signed checkpoints, published with no token: anyone (a citizen, a court, a newspaper) may
//! keep them, and later check that the agency's log only grew (docs/audit.md).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use daftar_engine::audit::checkpoint::{self, Consistency};
use daftar_engine::audit::signing::{self, Checkpoint};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::problem::{ApiError, ApiResult, ErrorCode, Problem};
use crate::state::AppState;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(list, latest, key, consistency),
    components(schemas(CheckpointList, Checkpoint, PublicKey, Consistency))
)]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/checkpoints", get(list))
        .route("/api/v1/checkpoints/latest", get(latest))
        .route("/api/v1/checkpoints/key", get(key))
        .route("/api/v1/checkpoints/consistency", get(consistency))
}

/// The most checkpoints one page lists.
const MAX_PAGE: u32 = 1000;

/// Which checkpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// The agency.
    pub agency: String,
    /// Only checkpoints of at least this many events.
    pub from: Option<u64>,
    /// At most this many (1 to 1000; 100 when left out).
    pub limit: Option<u32>,
}

/// An agency's checkpoints, smallest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointList {
    /// The agency.
    pub agency: String,
    /// Its checkpoints.
    pub checkpoints: Vec<Checkpoint>,
}

/// An agency's signed checkpoints, smallest first: each the size and Merkle root of its log at
/// a time, signed with its key.
#[utoipa::path(
    get, path = "/api/v1/checkpoints", tag = "audit",
    params(ListParams),
    responses(
        (status = 200, body = CheckpointList),
        (status = 400, description = "A parameter is missing or out of range", body = Problem),
        (status = 503, body = Problem),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> ApiResult<Json<CheckpointList>> {
    let Query(p) = params.map_err(ApiError::from)?;
    if let Some(from) = p.from {
        size(from, "from")?;
    }
    let limit = p.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::BadQuery,
            format!("`limit` must be 1 to {MAX_PAGE}"),
        ));
    }
    let store = state.engine().store();
    let checkpoints = store
        .checkpoints(&p.agency, p.from.unwrap_or(0), limit)
        .await?;
    Ok(Json(CheckpointList {
        agency: p.agency,
        checkpoints,
    }))
}

/// Which agency.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgencyParams {
    /// The agency.
    pub agency: String,
}

/// An agency's latest signed checkpoint.
#[utoipa::path(
    get, path = "/api/v1/checkpoints/latest", tag = "audit",
    params(AgencyParams),
    responses(
        (status = 200, body = Checkpoint),
        (status = 400, description = "No agency given", body = Problem),
        (status = 404, description = "The agency has no checkpoint yet", body = Problem),
        (status = 503, body = Problem),
    ),
)]
pub async fn latest(
    State(state): State<AppState>,
    params: Result<Query<AgencyParams>, QueryRejection>,
) -> ApiResult<Json<Checkpoint>> {
    let Query(p) = params.map_err(ApiError::from)?;
    match state.engine().store().latest_checkpoint(&p.agency).await? {
        Some(c) => Ok(Json(c)),
        None => Err(ApiError::not_found(format!(
            "agency `{}` has no signed checkpoint yet",
            p.agency
        ))),
    }
}

/// The public key checkpoints are signed with.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKey {
    /// The id checkpoints name it by.
    pub key_id: String,
    /// The key as PEM (SPKI), for `daftar verify-receipt --key` or `openssl`.
    pub pem: String,
    /// Its 32 bytes, hex.
    pub hex: String,
}

/// The Ed25519 public key this server signs checkpoints with.
#[utoipa::path(
    get, path = "/api/v1/checkpoints/key", tag = "audit",
    responses(
        (status = 200, body = PublicKey),
        (status = 404, description = "This server signs no checkpoints", body = Problem),
    ),
)]
pub async fn key(State(state): State<AppState>) -> ApiResult<Json<PublicKey>> {
    let Some(key) = state.checkpoint_key() else {
        return Err(ApiError::not_found(
            "this server signs no checkpoints (it was started without --signing-key)",
        ));
    };
    Ok(Json(PublicKey {
        key_id: signing::key_id(key),
        pem: signing::public_pem(key),
        hex: hex::encode(key.as_bytes()),
    }))
}

/// Which two checkpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyParams {
    /// The agency.
    pub agency: String,
    /// The earlier checkpoint's size (at least 1).
    pub from: u64,
    /// The later checkpoint's size.
    pub to: u64,
}

/// The proof that an agency's checkpoint of size `to` extends its checkpoint of size `from`
/// (RFC 9162 §2.1.4): the log only grew between them. `daftar verify-consistency` checks it.
#[utoipa::path(
    get, path = "/api/v1/checkpoints/consistency", tag = "audit",
    params(ConsistencyParams),
    responses(
        (status = 200, body = Consistency),
        (status = 400, description = "`from` is 0, larger than `to`, or either is past 9223372036854775807", body = Problem),
        (status = 404, description = "No checkpoint of one of the sizes", body = Problem),
        (status = 503, body = Problem),
    ),
)]
pub async fn consistency(
    State(state): State<AppState>,
    params: Result<Query<ConsistencyParams>, QueryRejection>,
) -> ApiResult<Json<Consistency>> {
    let Query(p) = params.map_err(ApiError::from)?;
    size(p.from, "from")?;
    size(p.to, "to")?;
    if p.from == 0 || p.from > p.to {
        return Err(ApiError::new(
            ErrorCode::BadQuery,
            "`from` must be at least 1 and at most `to`",
        ));
    }
    match checkpoint::consistency(state.engine().store(), &p.agency, p.from, p.to).await? {
        Some(c) => Ok(Json(c)),
        None => Err(ApiError::not_found(format!(
            "agency `{}` has no checkpoint of size {} or none of size {}",
            p.agency, p.from, p.to
        ))),
    }
}

/// A tree size as the store keeps it: at most `i64::MAX`, as the document says.
fn size(value: u64, name: &str) -> ApiResult<u64> {
    if i64::try_from(value).is_err() {
        return Err(ApiError::new(
            ErrorCode::BadQuery,
            format!("`{name}` must be at most {}", i64::MAX),
        ));
    }
    Ok(value)
}
