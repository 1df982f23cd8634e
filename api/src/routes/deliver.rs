//! Messages into waiting requests: `POST /api/v1/requests/{id}/messages/{name}` delivers to one
//! request, `POST /api/v1/messages/{name}` to whichever request of the agency waits for the
//! message under a correlation key (a field crew's work order, say).
//!
//! Who may deliver: admins and officers of the agency, any message. A citizen (an applicant's
//! portal) only by request, only a message the request awaits under its own tracking code (the
//! one key an applicant holds, as the building permit's `plans_revised`), and only with the
//! mobile number the applicant filed with; a wrong number answers 404, as tracking does.
//! Anything correlated otherwise (a work order) is the agency's to report.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use daftar_engine::events::{Actor, StreamId};
use daftar_engine::runtime::messages::{Delivered, awaited};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::{Principal, Role};
use crate::mobile;
use crate::openapi::NeedsToken;
use crate::problem::{ApiError, ApiResult, ErrorCode, Problem};
use crate::state::AppState;
use crate::views::RequestView;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(to_request, by_correlation),
    components(schemas(MessageToRequest, CorrelatedMessage, DeliveredMessage)),
    modifiers(&NeedsToken)
)]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/requests/{id}/messages/{name}", post(to_request))
        .route("/api/v1/messages/{name}", post(by_correlation))
}

/// A message for one request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageToRequest {
    /// What the message carries (a JSON object); the wait's `output` reads it as `message`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub payload: Option<Value>,
    /// The correlation key, needed only when the request waits for the message under several.
    pub correlation: Option<String>,
    /// For citizens: the mobile number the applicant filed with.
    pub mobile: Option<String>,
}

/// A message for whichever request waits for it under a correlation key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrelatedMessage {
    /// The correlation key the waiting step names (`correlation:` in its `wait`).
    pub correlation: String,
    /// What the message carries (a JSON object).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub payload: Option<Value>,
}

/// What became of a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveredMessage {
    /// The message id: from the `Idempotency-Key`, so that a retry is one message.
    pub message_id: String,
    /// The request that took it; none when it was kept.
    pub request: Option<String>,
    /// That request's tracking code.
    pub tracking_code: Option<String>,
    /// Whether no request waited for it and it was kept (`GET /api/v1/messages/unmatched`).
    pub kept: bool,
    /// Whether this message id had been delivered before (then nothing happened now).
    pub duplicate: bool,
    /// With `Prefer: wait=N`: the request where the message brought it to rest (or where it
    /// stood after N seconds), as the caller may see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now: Option<RequestView>,
}

/// The headers a delivery takes, as the document names them.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct DeliveryHeaders {
    /// Makes a retried delivery one message
    #[param(rename = "Idempotency-Key")]
    pub idempotency_key: Option<String>,
    /// `wait=N` (RFC 7240): answer, with the request in `now`, when the request the message moved ends or comes to rest again, or after N seconds (at most 30)
    #[param(rename = "Prefer")]
    pub prefer: Option<String>,
}

/// Deliver a message to a request that waits for it.
///
/// With an `Idempotency-Key`, a repeat is the same message and has no second effect.
#[utoipa::path(
    post, path = "/api/v1/requests/{id}/messages/{name}", tag = "requests",
    params(
        ("id" = String, Path, description = "The request id or its tracking code"),
        ("name" = String, Path, description = "The message, as the step's `wait.message` names it"),
        DeliveryHeaders,
    ),
    request_body = MessageToRequest,
    responses(
        (status = 200, description = "Delivered (or delivered before with this key)", body = DeliveredMessage),
        (status = 202, description = "The wait ended meanwhile: the message was kept", body = DeliveredMessage),
        (status = 400, description = "The body or the Idempotency-Key cannot be read", body = Problem),
        (status = 404, description = "No such request in your agency (for a citizen: or not with this mobile number)", body = Problem),
        (status = 409, description = "The request does not wait for this message (or waits under several keys and none was given)", body = Problem),
        (status = 422, description = "The body is not a `MessageToRequest`", body = Problem),
        (status = 429, description = "Too many SMS for this agency or applicant", body = Problem),
    ),
)]
pub async fn to_request(
    State(state): State<AppState>,
    who: Principal,
    Path((id, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Json<MessageToRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    who.require(&[Role::Officer, Role::Citizen])?;
    // Another agency's request is not found, whatever the body says.
    let stream = crate::lookup::find_request(&state, &who, &id).await?;
    let Json(body) = body.map_err(ApiError::from)?;
    let payload = payload(body.payload)?;
    let s = state.engine().state(&stream).await?;
    let citizen = !who.has(Role::Officer);
    if citizen {
        let def = state.engine().definition_of(&s).ok();
        let given = body.mobile.as_deref().map(mobile::normalize);
        let matches = def
            .zip(given)
            .is_some_and(|(def, given)| mobile::is_applicants(&def, &s.input, &given));
        if !matches {
            return Err(ApiError::not_found(format!(
                "no request `{id}` filed with this mobile number in your agency"
            )));
        }
    }
    let message_id = message_id(&who, &headers)?;
    if s.messages.contains(&message_id) {
        // A retry of a delivery that had its effect.
        return Ok(answer(&state, message_id, Some((stream, true)))
            .await
            .into_response());
    }
    let keys = awaited(&s, &name);
    let correlation = match (body.correlation, keys.as_slice()) {
        (Some(c), _) if keys.contains(&c.as_str()) => c,
        (None, [one]) => (*one).to_owned(),
        (None, []) | (Some(_), _) => {
            return Err(ApiError::new(
                ErrorCode::NotWaiting,
                format!("request `{id}` does not wait for the message `{name}` now"),
            ));
        }
        (None, _) => {
            return Err(ApiError::new(
                ErrorCode::Ambiguous,
                format!(
                    "request `{id}` waits for `{name}` under several keys ({}); give `correlation`",
                    keys.join(", ")
                ),
            ));
        }
    };
    if citizen {
        if correlation != s.tracking_code {
            return Err(ApiError::forbidden(format!(
                "the message `{name}` is the agency's to report, not the applicant's"
            )));
        }
        // A citizen's message moves the request on and may cause SMS: it spends their budget.
        if !state.allow_sms(&who.agency, Some(who.subject.as_str())) {
            return Err(ApiError::sms_rate_limited());
        }
    }
    let actor = if citizen {
        Actor::Citizen
    } else {
        Actor::Officer(who.subject.clone())
    };
    let wait = crate::wait::preferred(&headers);
    let result = state
        .engine()
        .deliver(&stream, &name, &correlation, &message_id, payload, actor)
        .await;
    let answered = match result {
        Ok(done) => {
            let duplicate = done.duplicate || done.events.is_empty();
            answer(&state, message_id, Some((stream, duplicate))).await
        }
        Err(daftar_engine::runtime::RuntimeError::Refused(
            daftar_engine::Error::NoReceiver { .. } | daftar_engine::Error::Ended,
        )) => answer(&state, message_id, None).await,
        Err(e) => return Err(e.into()),
    };
    settled(&state, &who, answered, wait).await
}

/// Deliver a message to the request of your agency that waits for it under a correlation key.
///
/// A message no request waits for is kept (`202`), never dropped: an admin finds it under
/// `GET /api/v1/messages/unmatched`.
#[utoipa::path(
    post, path = "/api/v1/messages/{name}", tag = "requests",
    params(
        ("name" = String, Path, description = "The message, as the step's `wait.message` names it"),
        DeliveryHeaders,
    ),
    request_body = CorrelatedMessage,
    responses(
        (status = 200, description = "Delivered (or delivered before with this key)", body = DeliveredMessage),
        (status = 202, description = "No request waits for it: kept", body = DeliveredMessage),
        (status = 400, description = "The body or the Idempotency-Key cannot be read", body = Problem),
        (status = 422, description = "The body is not a `CorrelatedMessage`", body = Problem),
    ),
)]
pub async fn by_correlation(
    State(state): State<AppState>,
    who: Principal,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Json<CorrelatedMessage>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    who.require(&[Role::Officer])?;
    let Json(body) = body.map_err(ApiError::from)?;
    let payload = payload(body.payload)?;
    if body.correlation.is_empty() || body.correlation.len() > 200 {
        return Err(ApiError::new(
            ErrorCode::BadBody,
            "`correlation` must be 1 to 200 characters",
        ));
    }
    let message_id = message_id(&who, &headers)?;
    let wait = crate::wait::preferred(&headers);
    let delivered = state
        .engine()
        .deliver_by_correlation(
            &who.agency,
            &name,
            &body.correlation,
            &message_id,
            payload,
            Actor::Officer(who.subject.clone()),
        )
        .await?;
    let to = match delivered {
        Delivered::To(done) => {
            let duplicate = done.duplicate || done.events.is_empty();
            Some((done.stream, duplicate))
        }
        Delivered::Kept => None,
    };
    let answered = answer(&state, message_id, to).await;
    settled(&state, &who, answered, wait).await
}

/// The answer, and with `Prefer: wait=N` (RFC 7240) the request the message moved, once it
/// comes to rest or N seconds pass, with `Preference-Applied`.
async fn settled(
    state: &AppState,
    who: &Principal,
    (status, Json(mut body)): (StatusCode, Json<DeliveredMessage>),
    wait: Option<std::time::Duration>,
) -> ApiResult<Response> {
    let Some(wait) = wait else {
        return Ok((status, Json(body)).into_response());
    };
    if let Some(instance) = &body.request {
        let stream = StreamId {
            agency: who.agency.clone(),
            instance: instance.clone(),
        };
        let s = crate::wait::settle(state.engine(), &stream, wait).await?;
        body.now = Some(crate::views::view(state, who, &stream, &s));
    }
    Ok((status, [crate::wait::applied(wait)], Json(body)).into_response())
}

/// A payload must be a JSON object (a wait's `output` reads its fields); none is `{}`.
fn payload(p: Option<Value>) -> ApiResult<Value> {
    match p {
        None => Ok(Value::Object(Default::default())),
        Some(v @ Value::Object(_)) => Ok(v),
        Some(_) => Err(ApiError::new(
            ErrorCode::UnfitBody,
            "`payload` must be a JSON object",
        )),
    }
}

/// The message id: the caller's `Idempotency-Key`, scoped to the caller, so that a retry is one
/// message and two callers' keys never meet.
fn message_id(who: &Principal, headers: &HeaderMap) -> ApiResult<String> {
    Ok(match crate::idempotency::header(headers)? {
        Some(key) => format!("api:{}", crate::idempotency::scoped(who, &key)),
        None => format!("api:{}", crate::idempotency::unique()),
    })
}

async fn answer(
    state: &AppState,
    message_id: String,
    to: Option<(StreamId, bool)>,
) -> (StatusCode, Json<DeliveredMessage>) {
    let Some((stream, duplicate)) = to else {
        return (
            StatusCode::ACCEPTED,
            Json(DeliveredMessage {
                message_id,
                request: None,
                tracking_code: None,
                kept: true,
                duplicate: false,
                now: None,
            }),
        );
    };
    let tracking_code = state
        .engine()
        .state(&stream)
        .await
        .ok()
        .map(|s| s.tracking_code);
    (
        StatusCode::OK,
        Json(DeliveredMessage {
            message_id,
            request: Some(stream.instance),
            tracking_code,
            kept: false,
            duplicate,
            now: None,
        }),
    )
}
