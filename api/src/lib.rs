//! daftar's HTTP surface:
//!
//! - the REST API under `/api/v1` ([`routes`]), JSON in and out, authenticated by JWT bearer
//!   tokens ([`auth`]) and scoped to the caller's agency;
//! - the callbacks of agencies and gateways under `/callbacks` ([`callbacks`]), authenticated
//!   by each connector's secret;
//! - `/openapi.json` ([`openapi`]), `/healthz`, `/readyz` and `/metrics`.
//!
//! Every error is one type, [`problem::ApiError`], sent as an RFC 9457 problem body.

pub mod auth;
pub mod callbacks;
pub mod error_code;
pub mod idempotency;
pub mod lookup;
pub mod mobile;
pub mod numbers;
pub mod openapi;
pub mod paging;
pub mod pii;
mod plain_errors;
pub mod problem;
pub mod routes;
pub mod state;
pub mod views;
pub mod wait;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::trace::TraceLayer;

pub use state::{AppState, Config, RateLimits, callback_secrets};

/// The largest request body: a definition's YAML is capped at 1 MiB by the loader.
pub const MAX_BODY: usize = 1024 * 1024;

/// The whole application.
pub fn app(state: AppState) -> Router {
    // Logs name the route, never the query string (where a mobile number may be).
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
                .unwrap_or("unmatched");
            tracing::info_span!("http", method = %req.method(), route)
        })
        .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO));
    Router::new()
        .merge(routes::v1())
        .merge(routes::ops::routes())
        .merge(callbacks::router())
        .route("/openapi.json", get(openapi_json))
        .fallback(not_found)
        .layer(axum::middleware::map_response(plain_errors::problems_only))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(trace)
        .with_state(state)
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3 document of this API", content_type = "application/json")))]
pub async fn openapi_json() -> impl IntoResponse {
    axum::Json(openapi::document())
}

async fn not_found() -> problem::ApiError {
    problem::ApiError::not_found("no such endpoint; the API is described at /openapi.json")
}
