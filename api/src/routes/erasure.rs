//! Erasing an applicant's personal data under a legal authority (issue 14, item 6): every
//! request of theirs records the erasure and their key is deleted, so what they filed and what
//! agencies answered about them cannot be read again, while every hash chain, checkpoint and
//! receipt still verifies. How it works is in [`daftar_engine::privacy`].

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use daftar_engine::runtime::erase::EraseError;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::auth::{Principal, Role};
use crate::lookup::RequestPath;
use crate::openapi::NeedsToken;
use crate::problem::{ApiError, ApiResult, ErrorCode, Problem};
use crate::state::AppState;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(erase),
    components(schemas(ErasureOrder, ErasureView)),
    modifiers(&NeedsToken)
)]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/requests/{id}/erasure", post(erase))
}

/// The order to erase.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureOrder {
    /// The legal authority: a court order's number and issuer, a retention rule. Recorded in
    /// every request of the applicant.
    pub authority: String,
}

/// What was erased.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureView {
    /// The applicant's requests in the agency, each with the erasure in its history.
    pub requests: Vec<String>,
    /// When the erasure was recorded.
    pub erased_at: DateTime<Utc>,
    /// Whether this call erased it (false: it had been erased before).
    pub now: bool,
}

/// Erase the personal data of a request's applicant: of every request they filed in the
/// agency (with the same token subject), or of this request alone when it was filed without
/// one. Every one of them must have ended. Agency administrators only; the node must keep a
/// keyring (`serve --keyring`).
#[utoipa::path(
    post, path = "/api/v1/requests/{id}/erasure", tag = "audit",
    params(RequestPath),
    request_body = ErasureOrder,
    responses(
        (status = 200, body = ErasureView),
        (status = 400, description = "No authority, or a body or path that cannot be read", body = Problem),
        (status = 403, description = "Not the agency's administrator", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "A request of the applicant is still running or an SMS to them awaits the gateway (`not-allowed`), or this node keeps no keyring (`no-keyring`)", body = Problem),
        (status = 415, body = Problem),
        (status = 422, description = "The body is not an `ErasureOrder`", body = Problem),
    ),
)]
pub async fn erase(
    State(state): State<AppState>,
    who: Principal,
    path: Result<Path<RequestPath>, PathRejection>,
    body: Result<Json<ErasureOrder>, JsonRejection>,
) -> ApiResult<Json<ErasureView>> {
    who.require(&[Role::Admin])?;
    let Path(RequestPath { id }) = path?;
    let Json(order) = body?;
    if order.authority.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::BadBody,
            "name the legal `authority` of the erasure",
        ));
    }
    let stream = crate::lookup::find_request(&state, &who, &id).await?;
    let erased = state
        .engine()
        .erase(&stream, order.authority.trim(), &who.subject)
        .await
        .map_err(|e| match e {
            EraseError::NoKeyring => ApiError::new(ErrorCode::NoKeyring, e.to_string()),
            EraseError::Running(_) | EraseError::SmsPending(_) => {
                ApiError::new(ErrorCode::NotAllowed, e.to_string())
            }
            EraseError::NoAuthority => ApiError::new(ErrorCode::BadBody, e.to_string()),
            EraseError::Runtime(e) => e.into(),
        })?;
    Ok(Json(ErasureView {
        requests: erased.requests,
        erased_at: erased.erased_at,
        now: erased.now,
    }))
}
