//! The service report (`GET /api/v1/reports/services`): per service and for the agency, the
//! requests filed in a period, how many were delivered smartly (no person acted on them), the
//! share (Article 107 of the Seventh Plan asks for at least 20% a year), time to decision,
//! SLA breaches and incidents. How each figure is counted is in [`daftar_engine::report`].

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use daftar_engine::report::{Report, ServiceFigures, report};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use crate::auth::{Principal, Role};
use crate::openapi::NeedsToken;
use crate::problem::{ApiError, ApiResult, ErrorCode, Problem};
use crate::state::AppState;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(services),
    components(schemas(Report, ServiceFigures)),
    modifiers(&NeedsToken)
)]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/reports/services", get(services))
}

/// The period: requests filed in `[from, to)`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Period {
    /// Filed at or after (RFC 3339); by default from the first request.
    pub from: Option<DateTime<Utc>>,
    /// Filed before (RFC 3339); by default until now.
    pub to: Option<DateTime<Utc>>,
}

/// The agency's service report over a period.
#[utoipa::path(
    get, path = "/api/v1/reports/services", tag = "operations",
    params(Period),
    responses(
        (status = 200, body = Report),
        (status = 400, description = "`from` or `to` is not an RFC 3339 time, or `from` is not before `to`", body = Problem),
        (status = 403, description = "Only admins and auditors read the report", body = Problem),
        (status = 503, body = Problem),
    ),
)]
pub async fn services(
    State(state): State<AppState>,
    who: Principal,
    params: Result<Query<Period>, QueryRejection>,
) -> ApiResult<Json<Report>> {
    who.require(&[Role::Admin, Role::Auditor])?;
    let Query(p) = params.map_err(ApiError::from)?;
    if let (Some(from), Some(to)) = (p.from, p.to)
        && from >= to
    {
        return Err(ApiError::new(
            ErrorCode::BadQuery,
            "`from` must be before `to`",
        ));
    }
    let rows = state
        .engine()
        .store()
        .decisions(&who.agency, p.from, p.to)
        .await?;
    Ok(Json(report(&who.agency, p.from, p.to, &rows)))
}
