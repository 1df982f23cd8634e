//! Operations: `/healthz` (the process answers), `/readyz` (its store answers) and `/metrics`
//! (Prometheus text).

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use utoipa::OpenApi;

use crate::problem::{ApiError, ErrorCode, Problem};
use crate::state::AppState;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(paths(healthz, readyz, metrics))]
pub struct Doc;

/// The routes of this module (outside `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Up")))]
pub async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// The process can serve: its store answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready"), (status = 503, body = Problem)))]
pub async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    state.engine().store().now().await?;
    Ok(Json(json!({"status": "ready"})))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
              (status = 404, description = "The server runs without a metrics recorder", body = Problem)))]
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let Some(handle) = state.metrics() else {
        return Err(ApiError::new(
            ErrorCode::NoMetrics,
            "this server runs without a metrics recorder",
        ));
    };
    // Open incidents are a fact of the store, not of this node: counted at each scrape.
    let engine = state.engine();
    let open = engine.store().open_incidents().await?;
    for (agency, service) in engine.registry().workflows() {
        let n = open
            .iter()
            .find(|(a, w, _)| *a == agency && *w == service)
            .map_or(0, |(_, _, n)| *n);
        metrics::gauge!("daftar_incidents_open", "agency" => agency, "service" => service)
            .set(n as f64);
    }
    for (connector, b) in engine.connectors().breakers() {
        let value = match b {
            daftar_engine::connectors::BreakerState::Closed => 0.0,
            daftar_engine::connectors::BreakerState::HalfOpen => 1.0,
            daftar_engine::connectors::BreakerState::Open => 2.0,
        };
        metrics::gauge!("daftar_circuit_breaker_state", "connector" => connector).set(value);
    }
    Ok((
        [("content-type", "text/plain; version=0.0.4")],
        handle.render(),
    ))
}
