//! What a designer or an auditor reads of deployed versions besides their source: one version
//! drawn (`…/graph`, as Mermaid, DOT or an SVG picture) and two versions compared (`…/diff`),
//! with the conditions a new version removed called out.

use axum::Json;
use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use daftar_definitions::diff::{VersionDiff, compare};
use daftar_definitions::render;
use daftar_engine::store::StoredDefinition;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::definitions::{find_version, with_compiled};
use crate::auth::{Principal, Role};
use crate::openapi::NeedsToken;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(paths(graph, diff), components(schemas(GraphFormat)), modifiers(&NeedsToken))]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/definitions/{id}/versions/{version}/graph",
            get(graph),
        )
        .route("/api/v1/definitions/{id}/diff", get(diff))
}

/// Who may read deployed versions.
const READERS: &[Role] = &[Role::Designer, Role::Officer, Role::Auditor];

/// How a version is drawn.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GraphFormat {
    /// A Mermaid flowchart (text).
    #[default]
    Mermaid,
    /// A Graphviz DOT graph (text).
    Dot,
    /// An SVG picture, laid out on the server.
    Svg,
}

/// The drawing's format.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GraphParams {
    /// `mermaid` (the default), `dot` or `svg`.
    pub format: Option<GraphFormat>,
}

/// One deployed version drawn as `daftar graph` draws it.
#[utoipa::path(
    get, path = "/api/v1/definitions/{id}/versions/{version}/graph", tag = "definitions",
    params(
        ("id" = String, Path, description = "The workflow (service) id"),
        ("version" = u32, Path, description = "The version"),
        GraphParams,
    ),
    responses(
        (status = 200, description = "A Mermaid flowchart or DOT graph (text/plain), or an SVG picture (image/svg+xml)",
            content((String = "text/plain"), (String = "image/svg+xml"))),
        (status = 400, description = "The version is not a number, or the format is unknown", body = Problem),
        (status = 404, description = "No such version in your agency", body = Problem),
        (status = 503, body = Problem),
    ),
)]
pub async fn graph(
    State(state): State<AppState>,
    who: Principal,
    path: Result<Path<(String, u32)>, PathRejection>,
    params: Result<Query<GraphParams>, QueryRejection>,
) -> ApiResult<Response> {
    who.require(READERS)?;
    let Path((id, version)) = path.map_err(ApiError::from)?;
    let Query(params) = params.map_err(ApiError::from)?;
    let d = find_version(&state, &who, &id, version).await?;
    let format = params.format.unwrap_or_default();
    // `with_compiled` logs why a deployed version does not compile.
    let drawn = with_compiled(&state, &d, |def| match format {
        GraphFormat::Mermaid => Ok(render::mermaid(def)),
        GraphFormat::Dot => Ok(render::dot(def)),
        GraphFormat::Svg => render::svg(def),
    })
    .ok_or_else(ApiError::unavailable)?;
    let drawn = drawn.map_err(|e| {
        tracing::error!(definition = %id, version, error = %e, "a deployed definition cannot be drawn");
        ApiError::unavailable()
    })?;
    Ok(match format {
        GraphFormat::Svg => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                // A picture opened on its own runs nothing and loads nothing.
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'",
                ),
            ],
            drawn,
        )
            .into_response(),
        _ => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], drawn).into_response(),
    })
}

/// The two versions to compare.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    /// The older version; by default the highest below `to`.
    #[param(minimum = 1)]
    pub from: Option<u32>,
    /// The newer version; by default the highest deployed.
    #[param(minimum = 1)]
    pub to: Option<u32>,
}

/// Two deployed versions of a service compared: steps added, removed and changed; decision
/// conditions removed and added (a removed condition is what a new law dropped, and must not
/// come back); the form's fields and required fields; inquiries and human tasks; the service
/// level; and the sources' lines in hunks.
#[utoipa::path(
    get, path = "/api/v1/definitions/{id}/diff", tag = "definitions",
    params(
        ("id" = String, Path, description = "The workflow (service) id"),
        DiffParams,
    ),
    responses(
        (status = 200, description = "What changed from `from` to `to`", body = Object),
        (status = 400, description = "`from` or `to` is not a number", body = Problem),
        (status = 404, description = "One of the versions is not deployed in your agency", body = Problem),
        (status = 503, body = Problem),
    ),
)]
pub async fn diff(
    State(state): State<AppState>,
    who: Principal,
    path: Result<Path<String>, PathRejection>,
    params: Result<Query<DiffParams>, QueryRejection>,
) -> ApiResult<Json<VersionDiff>> {
    who.require(READERS)?;
    let Path(id) = path.map_err(ApiError::from)?;
    let Query(params) = params.map_err(ApiError::from)?;
    let (old, new) = versions(&state, &who, &id, &params).await?;
    let old = with_compiled(&state, &old, Clone::clone).ok_or_else(ApiError::unavailable)?;
    let new = with_compiled(&state, &new, Clone::clone).ok_or_else(ApiError::unavailable)?;
    Ok(Json(compare(&old, &new)))
}

/// The versions to compare, from one read of the agency's definitions: as asked, or the
/// newest and the one before it.
async fn versions(
    state: &AppState,
    who: &Principal,
    id: &str,
    params: &DiffParams,
) -> ApiResult<(StoredDefinition, StoredDefinition)> {
    let mut deployed: Vec<StoredDefinition> = state
        .engine()
        .store()
        .definitions(Some(&who.agency))
        .await?
        .into_iter()
        .filter(|d| d.workflow == id)
        .collect();
    deployed.sort_by_key(|d| d.version);
    let none = || ApiError::not_found(format!("no definition `{id}` is deployed in your agency"));
    let to = match params.to {
        Some(v) => v,
        None => deployed.last().ok_or_else(none)?.version,
    };
    let from = match params.from {
        Some(v) => v,
        None => deployed
            .iter()
            .rev()
            .map(|d| d.version)
            .find(|v| *v < to)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "`{id}` has no version below {to} to compare it with"
                ))
            })?,
    };
    let take = |v: u32| {
        deployed
            .iter()
            .find(|d| d.version == v)
            .cloned()
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no version {v} of definition `{id}` is deployed in your agency"
                ))
            })
    };
    Ok((take(from)?, take(to)?))
}
