//! A request's receipt: its events, each with an inclusion proof against the agency's latest
//! signed checkpoint, which `daftar verify-receipt` checks with no database. The applicant who
//! filed the request may download it, and the agency's auditors any request's.
//!
//! A receipt carries the payloads exactly as stored, personal data included, because the
//! hashes cover those bytes: masking them would leave nothing to verify.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use daftar_engine::audit::receipt::{self, Receipt};
use daftar_engine::audit::record::LoggedEvent;
use utoipa::OpenApi;

use crate::auth::{Principal, Role};
use crate::lookup::RequestPath;
use crate::openapi::NeedsToken;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use crate::views::filed_it;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(get_receipt),
    components(schemas(Receipt, LoggedEvent)),
    modifiers(&NeedsToken)
)]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/requests/{id}/receipt", get(get_receipt))
}

/// A request's receipt: every event with its inclusion proof against the agency's latest
/// signed checkpoint (events recorded after it carry none yet).
#[utoipa::path(
    get, path = "/api/v1/requests/{id}/receipt", tag = "audit",
    params(RequestPath),
    responses(
        (status = 200, body = Receipt),
        (status = 403, description = "Neither the applicant who filed it nor an auditor", body = Problem),
        (status = 404, description = "No such request in your agency", body = Problem),
        (status = 503, body = Problem),
    ),
)]
pub async fn get_receipt(
    State(state): State<AppState>,
    who: Principal,
    Path(RequestPath { id }): Path<RequestPath>,
) -> ApiResult<Json<Receipt>> {
    let (stream, s) = crate::lookup::load_request(&state, &who, &id).await?;
    if !filed_it(&who, &s) {
        if who.has(Role::Citizen) && !who.has(Role::Auditor) {
            // A citizen cannot learn that someone else's request exists.
            return Err(ApiError::not_found(format!(
                "no request `{id}` in your agency"
            )));
        }
        who.require(&[Role::Auditor])?;
    }
    Ok(Json(
        receipt::receipt(state.engine().store(), &stream).await?,
    ))
}
