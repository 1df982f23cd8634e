//! `POST /api/v1/definitions/{id}/what-if`: a new definition of a service, not deployed, run
//! against the newest recorded requests of the service, as `daftar what-if` does (see
//! `daftar_engine::audit::whatif`). The designer sees, before deploying, which requests would
//! take another path or end otherwise, where and why, and which cannot be told because the
//! new definition asks for something no request was ever asked.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use daftar_engine::Definition;
use daftar_engine::audit::whatif::{Report, what_if};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::definitions::{DeployError, designed, own_valid};
use crate::auth::{Principal, Role};
use crate::openapi::NeedsToken;
use crate::paging;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(paths(run), components(schemas(Report)), modifiers(&NeedsToken))]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/definitions/{id}/what-if", post(run))
}

/// How many recorded requests to run.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WhatIfParams {
    /// The newest this many requests of the service, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Run a new definition of a service against its recorded requests, without deploying it.
///
/// The body is the new definition's YAML (as for deploying). Each of the newest `limit`
/// requests of the service `id` (whatever version decided them) is run through it with the
/// agencies' answers, the officers' decisions, the messages, payments and timers it recorded;
/// no agency is called and nothing is written. The answer counts the requests that would be
/// the same, and lists each one that would differ (the first step where the paths part, the
/// decision that went the other way with the values it read, the old and new outcome) or
/// cannot be told (what the new definition needs that the history does not hold), with a
/// sentence in Persian and English.
#[utoipa::path(
    post, path = "/api/v1/definitions/{id}/what-if", tag = "definitions",
    params(
        ("id" = String, Path, description = "The service whose recorded requests to run"),
        WhatIfParams,
    ),
    request_body(
        description = "The new definition's YAML, or JSON with the YAML in `source`",
        content(
            (String = "application/yaml"),
            (String = "text/plain"),
            (super::definitions::SourceJson = "application/json")
        )
    ),
    responses(
        (status = 200, description = "What the new definition would have done with each request", body = Report),
        (status = 400, description = "The body cannot be read, or `limit` is outside 1 to 1000", body = Problem),
        (status = 403, description = "Not a designer or an admin, or the definition is another agency's", body = Problem),
        (status = 404, description = "No definition `id` is deployed in your agency", body = Problem),
        (status = 422, description = "The definition has errors (`invalid-definition`)",
            body = super::definitions::InvalidDefinition, content_type = "application/problem+json"),
        (status = 503, body = Problem),
    ),
)]
pub async fn run(
    State(state): State<AppState>,
    who: Principal,
    path: Result<Path<String>, PathRejection>,
    params: Result<Query<WhatIfParams>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Report>, DeployError> {
    who.require(&[Role::Designer])?;
    let Path(id) = path.map_err(ApiError::from)?;
    let Query(params) = params.map_err(ApiError::from)?;
    let limit = paging::limit(params.limit, 100)?;
    let engine = state.engine();
    // Another agency's service is not found, whatever the body says.
    let deployed = engine
        .store()
        .definitions(Some(&who.agency))
        .await
        .map_err(ApiError::from)?;
    if !deployed.iter().any(|d| d.workflow == id) {
        return Err(ApiError::not_found(format!(
            "no definition `{id}` is deployed in your agency"
        ))
        .into());
    }
    let validation = designed(&state, &who, &headers, body).await?;
    let compiled = own_valid(&who, &validation)?;
    let def = Definition::new(compiled.clone()).map_err(|e| {
        tracing::error!(error = %e, "a valid definition did not prepare");
        ApiError::unavailable()
    })?;
    let calendar = engine.calendar(&who.agency);
    let report = what_if(
        engine.store(),
        &who.agency,
        &id,
        def.into(),
        limit,
        calendar,
    )
    .await
    .map_err(ApiError::from)?;
    Ok(Json(report))
}
