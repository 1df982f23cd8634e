//! Subscriptions of national follow-up systems to the agency's status changes: make one, list
//! them, remove one, read its delivery log, replay it from a log position. What is sent and
//! how is in [`daftar_engine::runtime::followup`].

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use daftar_engine::runtime::followup;
use daftar_engine::store::{DeliveryAttempt, Subscription};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::{Principal, Role};
use crate::openapi::NeedsToken;
use crate::problem::{ApiError, ApiResult, ErrorCode, Problem};
use crate::state::AppState;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(create, list, remove, deliveries, replay),
    components(schemas(NewSubscription, SubscriptionView, Created, AttemptView, Replay)),
    modifiers(&NeedsToken)
)]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/subscriptions", post(create).get(list))
        .route("/api/v1/subscriptions/{id}", axum::routing::delete(remove))
        .route("/api/v1/subscriptions/{id}/deliveries", get(deliveries))
        .route("/api/v1/subscriptions/{id}/replay", post(replay))
}

/// A subscription to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// Where events are POSTed (http or https).
    pub url: String,
    /// The CloudEvents types wanted (`ir.daftar.request.filed`, `…status_changed`,
    /// `…completed`, `…cancelled`, `ir.daftar.document.revoked`); none or empty: all.
    #[serde(default)]
    pub types: Vec<String>,
    /// The services followed; none or empty: all of the agency's.
    #[serde(default)]
    pub services: Vec<String>,
    /// The Standard Webhooks secret (`whsec_` and base64); by default one is made.
    pub secret: Option<String>,
}

/// A subscription, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: String,
    pub url: String,
    pub types: Vec<String>,
    pub services: Vec<String>,
    /// Every event of the log at or before this position has been delivered or skipped.
    pub position: u64,
    pub created_at: DateTime<Utc>,
}

impl From<&Subscription> for SubscriptionView {
    fn from(s: &Subscription) -> Self {
        SubscriptionView {
            id: s.id.clone(),
            url: s.url.clone(),
            types: s.types.clone(),
            services: s.services.clone(),
            position: s.position,
            created_at: s.created_at,
        }
    }
}

/// A subscription just made: the only answer that shows its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    #[serde(flatten)]
    pub subscription: SubscriptionView,
    /// The secret deliveries are signed with; keep it, it is not shown again.
    pub secret: String,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub position: u64,
    pub event_id: String,
    pub at: DateTime<Utc>,
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
}

impl From<DeliveryAttempt> for AttemptView {
    fn from(a: DeliveryAttempt) -> Self {
        AttemptView {
            position: a.position,
            event_id: a.event_id,
            at: a.at,
            status: a.status,
            error: a.error,
        }
    }
}

/// Where to deliver from again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// Events after this log position are delivered again (0: the whole log).
    pub after: u64,
}

fn bad_body(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::BadBody, detail)
}

async fn find(state: &AppState, who: &Principal, id: &str) -> ApiResult<Subscription> {
    state
        .engine()
        .store()
        .subscriptions(Some(&who.agency))
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no subscription `{id}` in your agency")))
}

/// Subscribes a receiver to the agency's status changes, from now on.
#[utoipa::path(
    post, path = "/api/v1/subscriptions", tag = "operations",
    request_body = NewSubscription,
    responses(
        (status = 201, body = Created),
        (status = 400, description = "A bad URL, an unknown type, or a secret that cannot sign", body = Problem),
        (status = 403, description = "Only admins subscribe receivers", body = Problem),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    who: Principal,
    body: Result<Json<NewSubscription>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    who.require(&[Role::Admin])?;
    let Json(body) = body.map_err(ApiError::from)?;
    let secret = body.secret.unwrap_or_else(followup::new_secret);
    followup::check(&body.url, &body.types, &secret).map_err(bad_body)?;
    let store = state.engine().store();
    let sub = Subscription {
        agency: who.agency.clone(),
        id: followup::new_id(),
        url: body.url,
        types: body.types,
        services: body.services,
        secret,
        // From now on: what happened before is replayed only when asked.
        position: store.last_position().await?,
        created_at: state.engine().now(),
    };
    store.add_subscription(&sub).await?;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            subscription: SubscriptionView::from(&sub),
            secret: sub.secret,
        }),
    ))
}

/// The agency's subscriptions, oldest first.
#[utoipa::path(
    get, path = "/api/v1/subscriptions", tag = "operations",
    responses((status = 200, body = Vec<SubscriptionView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Vec<SubscriptionView>>> {
    who.require(&[Role::Admin])?;
    let subs = state
        .engine()
        .store()
        .subscriptions(Some(&who.agency))
        .await?;
    Ok(Json(subs.iter().map(SubscriptionView::from).collect()))
}

/// Removes a subscription and its delivery log.
#[utoipa::path(
    delete, path = "/api/v1/subscriptions/{id}", tag = "operations",
    params(("id" = String, Path, description = "The subscription")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such subscription in your agency", body = Problem),
    ),
)]
pub async fn remove(
    State(state): State<AppState>,
    who: Principal,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<StatusCode> {
    who.require(&[Role::Admin])?;
    let Path(id) = path.map_err(ApiError::from)?;
    if state
        .engine()
        .store()
        .remove_subscription(&who.agency, &id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "no subscription `{id}` in your agency"
        )))
    }
}

/// How many attempts the log shows.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogParams {
    /// At most this many, newest first (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// A subscription's delivery log, newest attempt first.
#[utoipa::path(
    get, path = "/api/v1/subscriptions/{id}/deliveries", tag = "operations",
    params(("id" = String, Path, description = "The subscription"), LogParams),
    responses(
        (status = 200, body = Vec<AttemptView>),
        (status = 400, description = "`limit` is outside 1 to 1000", body = Problem),
        (status = 404, description = "No such subscription in your agency", body = Problem),
    ),
)]
pub async fn deliveries(
    State(state): State<AppState>,
    who: Principal,
    path: Result<Path<String>, PathRejection>,
    params: Result<Query<LogParams>, QueryRejection>,
) -> ApiResult<Json<Vec<AttemptView>>> {
    who.require(&[Role::Admin])?;
    let Path(id) = path.map_err(ApiError::from)?;
    let Query(p) = params.map_err(ApiError::from)?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::BadQuery,
            "`limit` is from 1 to 1000",
        ));
    }
    let sub = find(&state, &who, &id).await?;
    let log = state
        .engine()
        .store()
        .deliveries(&who.agency, &sub.id, limit)
        .await?;
    Ok(Json(log.into_iter().map(AttemptView::from).collect()))
}

/// Delivers again every event after a log position (at least once: the receiver drops the
/// repeats by the events' ids).
#[utoipa::path(
    post, path = "/api/v1/subscriptions/{id}/replay", tag = "operations",
    params(("id" = String, Path, description = "The subscription")),
    request_body = Replay,
    responses(
        (status = 200, body = SubscriptionView),
        (status = 400, description = "`after` is past the end of the log", body = Problem),
        (status = 404, description = "No such subscription in your agency", body = Problem),
    ),
)]
pub async fn replay(
    State(state): State<AppState>,
    who: Principal,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<Replay>, JsonRejection>,
) -> ApiResult<Json<SubscriptionView>> {
    who.require(&[Role::Admin])?;
    let Path(id) = path.map_err(ApiError::from)?;
    // Another agency's subscription is not found, whatever the body.
    let mut sub = find(&state, &who, &id).await?;
    let Json(body) = body.map_err(ApiError::from)?;
    let store = state.engine().store();
    let last = store.last_position().await?;
    if body.after > last {
        return Err(bad_body(format!(
            "`after` is {}, past the end of the log ({last})",
            body.after
        )));
    }
    store
        .move_subscription(&who.agency, &sub.id, body.after)
        .await?;
    sub.position = body.after;
    Ok(Json(SubscriptionView::from(&sub)))
}
