//! Callbacks: agencies that answer an inquiry later, and the payment gateway's results.
//!
//! - `POST /callbacks/inquiries/{agency}/{connector}` with the inquiry's `Idempotency-Key`
//!   (which names the instance) and the answer as a JSON object;
//! - `POST /callbacks/payments/{agency}/{connector}` with the gateway's result (`reference`,
//!   `status`, …; the reference is the payment step's idempotency key);
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
//! It must also bring back the `X-Callback-Token` daftar sent with the request it answers
//! ([`daftar_engine::connectors::callback`]): keys can be guessed, tokens cannot. A callback is
//! taken only for a step that called that very connector; any other is refused (`403`) and kept
//! for review among the unmatched messages, its id prefixed `refused:`.

mod check;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use daftar_engine::connectors::callback::Kind;
use daftar_engine::core::{CALLBACK, PAYMENT};
use daftar_engine::events::{Actor, StreamId};
use daftar_engine::runtime::{Engine, RuntimeError};
use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::{Modify, OpenApi};

use crate::problem::{ApiError, ApiResult, ErrorCode, Problem};
use crate::state::AppState;
use check::About;

/// The OpenAPI part of the callbacks.
#[derive(Debug, OpenApi)]
#[openapi(paths(inquiry, payment, delivery_report), modifiers(&Answers))]
pub struct Doc;

/// What every callback takes and answers besides its own: the connector's secret, and a
/// problem for a body it cannot take (400), a request it does not find (404), a command
/// refused (409) or a store out of reach (503).
#[derive(Debug)]
struct Answers;

impl Modify for Answers {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            for op in crate::openapi::operations(item) {
                op.security = Some(vec![SecurityRequirement::new(
                    "connector_secret",
                    Vec::<String>::new(),
                )]);
                for status in ["400", "404", "409", "503"] {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::T(crate::openapi::problem("")));
                }
            }
        }
    }
}

/// A callback as every route takes it: the agency and connector its path names and its
/// headers, answered `401` unless it carries the connector's secret.
pub struct Call {
    state: AppState,
    agency: String,
    connector: String,
    headers: HeaderMap,
    secret: String,
}

impl FromRequestParts<AppState> for Call {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Path((agency, connector)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let secret = check::authenticate(state, &connector, &parts.headers)
            .map_err(IntoResponse::into_response)?
            .to_owned();
        Ok(Call {
            state: state.clone(),
            agency,
            connector,
            headers: parts.headers.clone(),
            secret,
        })
    }
}

// Without the secret, which has no place in a log.
impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("agency", &self.agency)
            .field("connector", &self.connector)
            .finish_non_exhaustive()
    }
}

impl Call {
    /// Refuses the callback without the token daftar sent with the request it answers.
    async fn token(&self, stream: &StreamId, about: &About<'_>, payload: &Value) -> ApiResult<()> {
        check::token(
            &self.state,
            &self.secret,
            &self.headers,
            stream,
            about,
            payload,
        )
        .await
    }
}

/// The callback routes, under `/callbacks`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/callbacks/inquiries/{agency}/{connector}", post(inquiry))
        .route("/callbacks/payments/{agency}/{connector}", post(payment))
        .route("/callbacks/sms/{agency}/{connector}", post(delivery_report))
}

fn problem(code: ErrorCode, detail: impl Into<String>) -> Response {
    ApiError::new(code, detail).into_response()
}

/// The body as a JSON object, or the problem to answer.
fn object(body: Result<Json<Value>, JsonRejection>, what: &str) -> Result<Value, ApiError> {
    match body {
        Ok(Json(v @ Value::Object(_))) => Ok(v),
        Ok(_) => Err(ApiError::new(
            ErrorCode::BadBody,
            format!("the body must be a JSON object: {what}"),
        )),
        Err(e) => Err(ApiError::from(e)),
    }
}

/// The SMS centre's delivery report of an SMS daftar sent (the reference is daftar's).
#[utoipa::path(
    post, path = "/callbacks/sms/{agency}/{connector}", tag = "callbacks",
    params(("agency" = String, Path), ("connector" = String, Path, description = "The SMS gateway's connector"),
           ("X-Callback-Token" = String, Header, description = "The token daftar sent with the SMS")),
    request_body(content = Object, description = "`client_reference`, `status`, `delivered_at`"),
    responses((status = 200, description = "Recorded"),
              (status = 403, description = "Without the SMS's callback token (`bad-callback-token`)", body = Problem)),
)]
pub async fn delivery_report(
    call: Call,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<Response> {
    let report = object(body, "the delivery report")?;
    let field = |name: &str| report.get(name).and_then(Value::as_str).map(str::to_owned);
    let (Some(reference), Some(status)) = (field("client_reference"), field("status")) else {
        return Err(ApiError::new(
            ErrorCode::BadReport,
            "a delivery report needs `client_reference` and `status`",
        ));
    };
    let Some(instance) = daftar_engine::core::sms_reference_instance(&reference) else {
        return Err(ApiError::new(
            ErrorCode::BadReference,
            "the reference does not name a request",
        ));
    };
    let stream = StreamId {
        agency: call.agency.clone(),
        instance: instance.to_owned(),
    };
    let id = format!("delivery:{reference}:{status}");
    let about = About {
        kind: Kind::Delivery,
        connector: &call.connector,
        key: &reference,
        name: "delivery",
        message_id: &id,
    };
    call.token(&stream, &about, &report).await?;
    let command = daftar_engine::core::Command::DeliveryReport {
        reference: reference.clone(),
        status: status.clone(),
        at: field("delivered_at"),
    };
    Ok(
        match call
            .state
            .engine()
            .execute(
                &stream,
                &command,
                &id,
                Actor::Connector(call.connector.clone()),
                None,
            )
            .await
        {
            Ok(_) => (StatusCode::OK, Json(json!({"status": "recorded"}))).into_response(),
            Err(RuntimeError::Refused(daftar_engine::Error::Unknown { .. }))
            | Err(RuntimeError::NoInstance(_)) => {
                problem(ErrorCode::UnknownSms, "no SMS of daftar has this reference")
            }
            Err(RuntimeError::Refused(e)) => problem(ErrorCode::Refused, e.to_string()),
            Err(e) => {
                tracing::error!(error = %e, %stream, "a delivery report could not be recorded");
                problem(
                    ErrorCode::Unavailable,
                    "the report could not be recorded; send it again",
                )
            }
        },
    )
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
    about: &About<'_>,
    payload: Value,
) -> Response {
    let actor = Actor::Connector(about.connector.to_owned());
    match engine
        .deliver(
            stream,
            about.name,
            about.key,
            about.message_id,
            payload,
            actor,
        )
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
        Err(RuntimeError::Refused(daftar_engine::Error::WrongConnector { .. })) => problem(
            ErrorCode::WrongConnector,
            format!(
                "no step asked connector `{}` under this key; the callback is refused and kept for review",
                about.connector
            ),
        ),
        Err(RuntimeError::Refused(daftar_engine::Error::NotStarted))
        | Err(RuntimeError::NoInstance(_)) => problem(
            ErrorCode::UnknownInstance,
            "no request matches this callback",
        ),
        Err(RuntimeError::Refused(e)) => problem(ErrorCode::Refused, e.to_string()),
        Err(e) => {
            tracing::error!(error = %e, %stream, "a callback could not be recorded");
            problem(
                ErrorCode::Unavailable,
                "the callback could not be recorded; send it again",
            )
        }
    }
}

/// An agency's late answer to an inquiry (the `Idempotency-Key` is the inquiry's).
#[utoipa::path(
    post, path = "/callbacks/inquiries/{agency}/{connector}", tag = "callbacks",
    params(("agency" = String, Path), ("connector" = String, Path),
           ("Idempotency-Key" = String, Header, description = "The key of the inquiry answered"),
           ("X-Callback-Token" = String, Header, description = "The token daftar sent with the inquiry")),
    request_body(content = Object, description = "The agency's answer"),
    responses((status = 200, description = "Received"), (status = 202, description = "Kept: no step waits for it"),
              (status = 403, description = "Without the inquiry's callback token (`bad-callback-token`), or for a step that asked another connector (`wrong-connector`); kept for review", body = Problem)),
)]
pub async fn inquiry(call: Call, body: Result<Json<Value>, JsonRejection>) -> ApiResult<Response> {
    let Some(key) = call
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
    else {
        return Err(ApiError::new(
            ErrorCode::MissingKey,
            "the Idempotency-Key header of the inquiry is required",
        ));
    };
    let payload = object(body, "the agency's answer")?;
    let Some(stream) = stream(&call.agency, key) else {
        return Err(ApiError::new(
            ErrorCode::BadKey,
            "the Idempotency-Key does not name a request",
        ));
    };
    let message_id = format!("callback:{}:{key}", call.connector);
    let about = About {
        kind: Kind::Inquiry,
        connector: &call.connector,
        key,
        name: CALLBACK,
        message_id: &message_id,
    };
    call.token(&stream, &about, &payload).await?;
    Ok(deliver(call.state.engine(), &stream, &about, payload).await)
}

/// The payment gateway's result (`reference`, `status`, …).
#[utoipa::path(
    post, path = "/callbacks/payments/{agency}/{connector}", tag = "callbacks",
    params(("agency" = String, Path), ("connector" = String, Path),
           ("X-Callback-Token" = String, Header, description = "The token daftar sent with the payment request")),
    request_body(content = Object, description = "`reference`, `status`, `amount`, …"),
    responses((status = 200, description = "Received"), (status = 202, description = "Kept: no step waits for it"),
              (status = 403, description = "Without the payment's callback token (`bad-callback-token`), or for a step that asked another gateway (`wrong-connector`); kept for review", body = Problem)),
)]
pub async fn payment(call: Call, body: Result<Json<Value>, JsonRejection>) -> ApiResult<Response> {
    let payload = object(body, "the payment result")?;
    let Some(reference) = payload
        .get("reference")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Err(ApiError::new(
            ErrorCode::MissingReference,
            "the payment result has no `reference`",
        ));
    };
    let Some(stream) = stream(&call.agency, &reference) else {
        return Err(ApiError::new(
            ErrorCode::BadReference,
            "the reference does not name a request",
        ));
    };
    let status = payload
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    let message_id = format!("payment:{}:{reference}:{status}", call.connector);
    let about = About {
        kind: Kind::Payment,
        connector: &call.connector,
        key: &reference,
        name: PAYMENT,
        message_id: &message_id,
    };
    call.token(&stream, &about, &payload).await?;
    Ok(deliver(call.state.engine(), &stream, &about, payload).await)
}
