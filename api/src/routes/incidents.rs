//! Incidents, for the agency's admins: `GET /api/v1/incidents` lists the requests stopped for a
//! person (retries ran out with no failure path, a timeout with no timeout path, an expression
//! that failed on the data), `POST /api/v1/incidents/{id}/retry` enters the stopped step again,
//! as `daftar incidents` and `daftar retry` do on the command line.
//!
//! An incident's id here is `REQUEST:INCIDENT` (`i-…:inc-12`): incident ids are unique within a
//! request only.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use daftar_engine::core::Command;
use daftar_engine::events::{Actor, StreamId, incident_raised};
use daftar_engine::store::{InstanceQuery, MAX_LISTING, Seek};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::{Principal, Role};
use crate::openapi::NeedsToken;
use crate::problem::{ApiError, ApiResult, ErrorCode, Problem};
use crate::state::AppState;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(paths(list, retry), components(schemas(IncidentView, Retried)), modifiers(&NeedsToken))]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/incidents", get(list))
        .route("/api/v1/incidents/{id}/retry", post(retry))
}

/// An open incident.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentView {
    /// Its id: `REQUEST:INCIDENT`.
    pub id: String,
    /// The request.
    pub request: String,
    /// Its tracking code.
    pub tracking_code: String,
    /// The service.
    pub service: String,
    /// The step it stopped.
    pub step: String,
    /// Why.
    pub reason: String,
    /// When it was raised.
    pub raised_at: Option<DateTime<Utc>>,
}

/// A retried incident.
#[derive(Debug, Serialize, ToSchema)]
pub struct Retried {
    /// The incident.
    pub id: String,
    /// The request's stream version after the retry.
    pub version: u64,
    /// Whether this retry had been sent before (then nothing happened now).
    pub duplicate: bool,
}

/// Filters of the listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// Only this service.
    pub service: Option<String>,
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The agency's open incidents, newest request first.
#[utoipa::path(
    get, path = "/api/v1/incidents", tag = "operations",
    params(Params),
    responses(
        (status = 200, body = Vec<IncidentView>),
        (status = 400, description = "A filter cannot be read", body = Problem),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<IncidentView>>> {
    // Reasons may quote the request's data: admins only.
    who.require(&[Role::Admin])?;
    let Query(p) = params.map_err(ApiError::from)?;
    let limit = crate::paging::limit(p.limit, 100)? as usize;
    let store = state.engine().store();
    let mut found = Vec::new();
    // Requests with an incident are running; the read model counts their incidents, and an
    // index holds the requests that have any, newest first.
    let mut query = InstanceQuery {
        workflow: p.service.clone(),
        state: Some("running".to_owned()),
        with_incidents: true,
        limit: MAX_LISTING,
        ..InstanceQuery::default()
    };
    'pages: loop {
        let rows = store.instances(&who.agency, &query).await?;
        for (stream, _) in &rows {
            found.extend(open_incidents(&state, stream).await?);
            if found.len() >= limit {
                found.truncate(limit);
                break 'pages;
            }
        }
        match rows.last() {
            Some((stream, row)) if rows.len() as u32 >= MAX_LISTING => {
                query.seek = Some(Seek::After(row.key(&stream.instance)));
            }
            _ => break,
        }
    }
    Ok(Json(found))
}

/// The open incidents of one request, as the listing shows them.
pub async fn open_incidents(state: &AppState, stream: &StreamId) -> ApiResult<Vec<IncidentView>> {
    let history = state.engine().store().load(stream).await?;
    let s = state.engine().state(stream).await?;
    Ok(s.incidents
        .iter()
        .map(|(incident, (_, step))| {
            let raised = incident_raised(&history, incident);
            IncidentView {
                id: format!("{}:{incident}", stream.instance),
                request: stream.instance.clone(),
                tracking_code: s.tracking_code.clone(),
                service: s.workflow.clone(),
                step: step.clone(),
                reason: raised.map(|(_, r)| r.to_owned()).unwrap_or_default(),
                raised_at: raised.map(|(e, _)| e.recorded_at),
            }
        })
        .collect())
}

/// Enter again the step an incident stopped: new attempts, a new idempotency key. The retry is
/// recorded with the admin as its operator; sending it twice retries once.
#[utoipa::path(
    post, path = "/api/v1/incidents/{id}/retry", tag = "operations",
    params(("id" = String, Path, description = "The incident, `REQUEST:INCIDENT` as listed")),
    responses(
        (status = 200, body = Retried),
        (status = 404, description = "No such incident in your agency", body = Problem),
        (status = 409, description = "The incident is no longer open", body = Problem),
    ),
)]
pub async fn retry(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Retried>> {
    who.require(&[Role::Admin])?;
    let Some((request, incident)) = id.split_once(':') else {
        return Err(ApiError::not_found(format!(
            "no incident `{id}`: write REQUEST:INCIDENT as the listing gives it"
        )));
    };
    let stream = crate::lookup::find_request(&state, &who, request).await?;
    let command_id = format!("operator-retry:{incident}");
    let s = state.engine().state(&stream).await?;
    if !s.incidents.contains_key(incident) {
        let history = state.engine().store().load(&stream).await?;
        let raised = incident_raised(&history, incident).is_some();
        if !raised {
            return Err(ApiError::not_found(format!(
                "no incident `{id}` in your agency"
            )));
        }
        return Err(ApiError::new(
            ErrorCode::NotOpen,
            format!("incident `{id}` is no longer open (retried already?)"),
        ));
    }
    let done = state
        .engine()
        .execute(
            &stream,
            &Command::RetryIncident {
                incident: incident.to_owned(),
            },
            &command_id,
            Actor::Operator(who.subject.clone()),
            None,
        )
        .await?;
    Ok(Json(Retried {
        id,
        version: done.version,
        duplicate: done.duplicate,
    }))
}
