//! The connectors this node calls, with the state of their circuit breakers:
//! `GET /api/v1/connectors`. A breaker opens after a run of failures and lets one trial call
//! through after a while; while it is open, inquiries to that agency fail at once (and are
//! retried by their step's policy) instead of waiting for timeouts.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use daftar_definitions::catalog::ConnectorKind;
use daftar_engine::connectors::BreakerState;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::auth::{Principal, Role};
use crate::openapi::NeedsToken;
use crate::problem::ApiResult;
use crate::state::AppState;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(paths(list), components(schemas(ConnectorView)), modifiers(&NeedsToken))]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/connectors", get(list))
}

/// A connector of the catalog.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorView {
    /// Its name, as definitions name it.
    pub name: String,
    /// `inquiry`, `payment` or `sms`.
    pub kind: String,
    /// The agency that runs the service.
    pub agency: String,
    /// Its circuit breaker: `closed` (calls go through), `open` (calls fail at once) or
    /// `half_open` (one trial call); absent when it has none.
    pub breaker: Option<String>,
}

/// The connectors of this node and their circuit breakers.
#[utoipa::path(
    get, path = "/api/v1/connectors", tag = "operations",
    responses(
        (status = 200, body = Vec<ConnectorView>),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Vec<ConnectorView>>> {
    who.require(&[Role::Admin, Role::Auditor])?;
    let breakers = state.engine().connectors().breakers();
    let Some(catalog) = state.catalog() else {
        return Ok(Json(Vec::new()));
    };
    Ok(Json(
        catalog
            .connectors
            .iter()
            .map(|(name, c)| ConnectorView {
                name: name.clone(),
                kind: match c.kind {
                    ConnectorKind::Inquiry => "inquiry",
                    ConnectorKind::Payment => "payment",
                    ConnectorKind::Sms => "sms",
                }
                .to_owned(),
                agency: c.agency.clone(),
                breaker: breakers.get(name).map(|b| breaker_name(*b).to_owned()),
            })
            .collect(),
    ))
}

/// The name of a breaker state.
pub fn breaker_name(b: BreakerState) -> &'static str {
    match b {
        BreakerState::Closed => "closed",
        BreakerState::Open => "open",
        BreakerState::HalfOpen => "half_open",
    }
}
