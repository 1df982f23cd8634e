//! The HTTP surface: every route of the simulated agencies ([`crate::inquiry`]) and gateways
//! ([`crate::gateways`]), the national follow-up system ([`crate::followup`]), and the `/__sim`
//! introspection routes.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::toolkit::problem;
use crate::{Config, Simulator, followup, gateways, inquiry};

/// Every route.
pub fn router(sim: Simulator) -> Router {
    Router::new()
        .route("/agencies/{connector}/{operation}", post(inquiry::inquiry))
        .route("/sms/send", post(gateways::sms_send))
        .route("/sms/status/{reference}", get(gateways::sms_status))
        .route("/payments", post(gateways::payment_create))
        .route("/payments/{reference}", get(gateways::payment_status))
        .route("/pay/{payment_id}", get(gateways::pay_page))
        .route("/__sim/requests", get(sim_requests))
        .route("/__sim/effects", get(sim_effects))
        .route("/__sim/callbacks", get(sim_callbacks))
        .route("/__sim/sms", get(sim_sms))
        .route("/__sim/payments", get(sim_payments))
        .route("/__sim/reset", post(sim_reset))
        .route("/__sim/config", get(sim_config).put(sim_put_config))
        .route("/followup/events", post(followup::receive))
        .route(
            "/__sim/followup",
            get(followup::inspect).put(followup::configure),
        )
        .with_state(sim)
}

async fn sim_requests(State(sim): State<Simulator>) -> Response {
    axum::Json(json!(sim.journal().requests)).into_response()
}

async fn sim_effects(State(sim): State<Simulator>) -> Response {
    axum::Json(json!(sim.journal().effects)).into_response()
}

async fn sim_callbacks(State(sim): State<Simulator>) -> Response {
    axum::Json(json!(sim.journal().callbacks)).into_response()
}

async fn sim_sms(State(sim): State<Simulator>) -> Response {
    axum::Json(json!(sim.journal().sms)).into_response()
}

async fn sim_payments(State(sim): State<Simulator>) -> Response {
    axum::Json(json!(sim.journal().payments)).into_response()
}

async fn sim_reset(State(sim): State<Simulator>) -> Response {
    sim.reset();
    axum::Json(json!({ "reset": true })).into_response()
}

async fn sim_config(State(sim): State<Simulator>) -> Response {
    axum::Json(sim.config()).into_response()
}

async fn sim_put_config(State(sim): State<Simulator>, raw: Bytes) -> Response {
    match serde_json::from_slice::<Config>(&raw) {
        Ok(c) => {
            sim.set_config(c);
            axum::Json(sim.config()).into_response()
        }
        Err(e) => problem(StatusCode::BAD_REQUEST, e.to_string()),
    }
}
