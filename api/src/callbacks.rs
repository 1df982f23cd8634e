//! Callbacks: agencies that answer an inquiry later, and the payment gateway's results.
//!
//! - `POST /callbacks/inquiries/{agency}/{connector}` with the inquiry's `Idempotency-Key`
//!   (which names the instance) and the answer as a JSON object;
//! - `POST /callbacks/payments/{agency}/{connector}` with the gateway's result (`reference`,
//!   `status`, …; the reference is the payment step's idempotency key).
//!
//! - `POST /callbacks/sms/{agency}/{connector}` with the SMS centre's delivery report
//!   (`client_reference`, `status`, `delivered_at`), recorded on the instance the SMS is about.
//!
//! Each of the first two becomes a message delivered to the waiting instance (`callback` or `payment`,
//! correlated by the key or the payment reference). A second delivery of the same callback
//! has no second effect; a callback that no step waits for any more is kept in the store and
//! answered `202`, never dropped. Callers learn nothing about the store: every error is a
//! problem body (RFC 9457) with a stable `type`.
//!
//! Each call must carry its connector's callback secret as `Authorization: Bearer <secret>`
//! (compared in constant time); a connector with no secret configured accepts no callbacks.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use daftar_engine::core::{CALLBACK, PAYMENT};
use daftar_engine::events::{Actor, StreamId};
use daftar_engine::runtime::{Engine, RuntimeError};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa::OpenApi;

use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// The OpenAPI part of the callbacks.
#[derive(Debug, OpenApi)]
#[openapi(paths(inquiry, payment, delivery_report))]
pub struct Doc;

/// The callback routes, under `/callbacks`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/callbacks/inquiries/{agency}/{connector}", post(inquiry))
        .route("/callbacks/payments/{agency}/{connector}", post(payment))
        .route("/callbacks/sms/{agency}/{connector}", post(delivery_report))
}

fn problem(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Response {
    ApiError::new(status, kind, detail).into_response()
}

/// Refuses a call that does not carry the connector's secret.
fn authenticate(state: &AppState, connector: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(secret) = state.callback_secret(connector) else {
        return Err(ApiError::unauthorized(format!(
            "connector `{connector}` has no callback secret configured here; daftar accepts no callbacks for it"
        )));
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Comparing digests takes the same time wherever the two differ.
    if Sha256::digest(given.as_bytes()) != Sha256::digest(secret.as_bytes()) {
        return Err(ApiError::unauthorized(format!(
            "the callback does not carry connector `{connector}`'s secret as `Authorization: Bearer <secret>`"
        )));
    }
    Ok(())
}

/// The SMS centre's delivery report of an SMS daftar sent (the reference is daftar's).
#[utoipa::path(
    post, path = "/callbacks/sms/{agency}/{connector}", tag = "callbacks",
    params(("agency" = String, Path), ("connector" = String, Path, description = "The SMS gateway's connector")),
    request_body(content = Object, description = "`client_reference`, `status`, `delivered_at`"),
    responses((status = 200, description = "Recorded"), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("connector_secret" = []))
)]
pub async fn delivery_report(
    State(state): State<AppState>,
    Path((agency, connector)): Path<(String, String)>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    if let Err(denied) = authenticate(&state, &connector, &headers) {
        return denied.into_response();
    }
    let engine = state.engine();
    let Some(Json(report @ Value::Object(_))) = body else {
        return problem(
            StatusCode::BAD_REQUEST,
            "bad-body",
            "the body must be a JSON object: the delivery report",
        );
    };
    let field = |name: &str| report.get(name).and_then(Value::as_str).map(str::to_owned);
    let (Some(reference), Some(status)) = (field("client_reference"), field("status")) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "bad-report",
            "a delivery report needs `client_reference` and `status`",
        );
    };
    let Some(instance) = daftar_engine::core::sms_reference_instance(&reference) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "bad-reference",
            "the reference does not name a request",
        );
    };
    let stream = StreamId {
        agency,
        instance: instance.to_owned(),
    };
    let command = daftar_engine::core::Command::DeliveryReport {
        reference: reference.clone(),
        status: status.clone(),
        at: field("delivered_at"),
    };
    let id = format!("delivery:{reference}:{status}");
    match engine
        .execute(
            &stream,
            &command,
            &id,
            Actor::Connector("sms".to_owned()),
            None,
        )
        .await
    {
        Ok(_) => (StatusCode::OK, Json(json!({"status": "recorded"}))).into_response(),
        Err(RuntimeError::Refused(daftar_engine::Error::Unknown { .. }))
        | Err(RuntimeError::NoInstance(_)) => problem(
            StatusCode::NOT_FOUND,
            "unknown-sms",
            "no SMS of daftar has this reference",
        ),
        Err(RuntimeError::Refused(e)) => problem(StatusCode::CONFLICT, "refused", e.to_string()),
        Err(e) => {
            tracing::error!(error = %e, %stream, "a delivery report could not be recorded");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the report could not be recorded; send it again",
            )
        }
    }
}

/// The stream a step visit's key (or a payment reference, which is one) names.
fn stream(agency: &str, key: &str) -> Option<StreamId> {
    let instance = daftar_engine::core::visit_key_instance(key)?;
    Some(StreamId {
        agency: agency.to_owned(),
        instance: instance.to_owned(),
    })
}

async fn deliver(
    engine: &Engine,
    stream: &StreamId,
    name: &str,
    correlation: &str,
    message_id: &str,
    payload: Value,
    actor: Actor,
) -> Response {
    match engine
        .deliver(stream, name, correlation, message_id, payload, actor)
        .await
    {
        Ok(done) if done.duplicate => {
            (StatusCode::OK, Json(json!({"status": "already received"}))).into_response()
        }
        Ok(_) => (StatusCode::OK, Json(json!({"status": "received"}))).into_response(),
        Err(RuntimeError::Refused(
            daftar_engine::Error::NoReceiver { .. } | daftar_engine::Error::Ended,
        )) => (
            StatusCode::ACCEPTED,
            Json(json!({"status": "kept: no step is waiting for it"})),
        )
            .into_response(),
        Err(RuntimeError::Refused(daftar_engine::Error::NotStarted))
        | Err(RuntimeError::NoInstance(_)) => problem(
            StatusCode::NOT_FOUND,
            "unknown-instance",
            "no request matches this callback",
        ),
        Err(RuntimeError::Refused(e)) => problem(StatusCode::CONFLICT, "refused", e.to_string()),
        Err(e) => {
            tracing::error!(error = %e, %stream, "a callback could not be recorded");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the callback could not be recorded; send it again",
            )
        }
    }
}

/// An agency's late answer to an inquiry (the `Idempotency-Key` is the inquiry's).
#[utoipa::path(
    post, path = "/callbacks/inquiries/{agency}/{connector}", tag = "callbacks",
    params(("agency" = String, Path), ("connector" = String, Path),
           ("Idempotency-Key" = String, Header, description = "The key of the inquiry answered")),
    request_body(content = Object, description = "The agency's answer"),
    responses((status = 200, description = "Received"), (status = 202, description = "Kept: no step waits for it"),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("connector_secret" = []))
)]
pub async fn inquiry(
    State(state): State<AppState>,
    Path((agency, connector)): Path<(String, String)>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    if let Err(denied) = authenticate(&state, &connector, &headers) {
        return denied.into_response();
    }
    let engine = state.engine();
    let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "missing-key",
            "the Idempotency-Key header of the inquiry is required",
        );
    };
    let Some(Json(payload @ Value::Object(_))) = body else {
        return problem(
            StatusCode::BAD_REQUEST,
            "bad-body",
            "the body must be a JSON object: the agency's answer",
        );
    };
    let Some(stream) = stream(&agency, key) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "bad-key",
            "the Idempotency-Key does not name a request",
        );
    };
    let message_id = format!("callback:{key}");
    deliver(
        engine,
        &stream,
        CALLBACK,
        key,
        &message_id,
        payload,
        Actor::Connector(connector),
    )
    .await
}

/// The payment gateway's result (`reference`, `status`, …).
#[utoipa::path(
    post, path = "/callbacks/payments/{agency}/{connector}", tag = "callbacks",
    params(("agency" = String, Path), ("connector" = String, Path)),
    request_body(content = Object, description = "`reference`, `status`, `amount`, …"),
    responses((status = 200, description = "Received"), (status = 202, description = "Kept: no step waits for it"),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("connector_secret" = []))
)]
pub async fn payment(
    State(state): State<AppState>,
    Path((agency, connector)): Path<(String, String)>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    if let Err(denied) = authenticate(&state, &connector, &headers) {
        return denied.into_response();
    }
    let engine = state.engine();
    let Some(Json(payload @ Value::Object(_))) = body else {
        return problem(
            StatusCode::BAD_REQUEST,
            "bad-body",
            "the body must be a JSON object: the payment result",
        );
    };
    let Some(reference) = payload
        .get("reference")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return problem(
            StatusCode::BAD_REQUEST,
            "missing-reference",
            "the payment result has no `reference`",
        );
    };
    let Some(stream) = stream(&agency, &reference) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "bad-reference",
            "the reference does not name a request",
        );
    };
    let status = payload
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    let message_id = format!("payment:{reference}:{status}");
    deliver(
        engine,
        &stream,
        PAYMENT,
        &reference,
        &message_id,
        payload,
        Actor::Connector(connector),
    )
    .await
}
