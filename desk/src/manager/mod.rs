//! The manager's desk, for the agency's administrators: per service, the requests filed, in
//! progress, ended by outcome, SLA breaches and the smart share, over this Jalali month unless
//! asked for every request ([`figures`]); the open incidents, a page of requests at a time, each
//! with a retry button (the API's incidents); and the officers' load, their open tasks by
//! officer and the unclaimed ones by role. Every figure is a count the database answers from an
//! index (`ReadModels::service_counts`, `ReadModels::officers_load`), never rows read into
//! memory, so the page costs the same with 100,000 requests as with ten.

pub mod figures;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use daftar_api::auth::Role;
use daftar_api::problem::ApiError;
use daftar_api::routes::incidents::{open_incidents, retry as api_retry};
use daftar_engine::store::{InstanceKey, InstanceQuery, RUNNING};
use minijinja::context;
use serde::Deserialize;

use crate::Desk;
use crate::render::{self, DeskError};
use crate::session::{Posted, Visit};

/// Requests with incidents a page shows.
const INCIDENT_PAGE: u32 = 20;

/// The manager's routes.
pub fn routes() -> Router<Desk> {
    Router::new()
        .route("/manage", get(page))
        .route("/manage/incidents/{id}/retry", post(retry))
}

/// What the page shows.
#[derive(Debug, Deserialize)]
pub struct Options {
    /// Count every request, not only this month's.
    pub all: Option<bool>,
    /// The incidents of the requests after this cursor (the page's own).
    pub incidents_after: Option<String>,
}

/// `GET /manage`.
pub async fn page(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Query(options): Query<Options>,
) -> Result<Response, DeskError> {
    let who = visit.with_role(&[Role::Admin])?;
    let api = desk.api();
    let store = api.engine().store();
    let now = api.engine().now();
    let all = options.all.unwrap_or(false);
    let from = (!all).then(|| figures::month_start(now));
    let counts = store
        .service_counts(&who.agency, from, None)
        .await
        .map_err(ApiError::from)?;
    // The open incidents: a page of the requests that have any, newest first.
    let seek = daftar_api::paging::seek::<InstanceKey>(options.incidents_after.as_deref(), None)?;
    let requests = store
        .instances(
            &who.agency,
            &InstanceQuery {
                state: Some(RUNNING.to_owned()),
                with_incidents: true,
                limit: INCIDENT_PAGE + 1,
                seek,
                ..InstanceQuery::default()
            },
        )
        .await
        .map_err(ApiError::from)?;
    let more = requests.len() > INCIDENT_PAGE as usize;
    let mut incidents = Vec::new();
    for (stream, _) in requests.iter().take(INCIDENT_PAGE as usize) {
        incidents.extend(open_incidents(api, stream).await?);
    }
    let next = requests
        .get(INCIDENT_PAGE as usize - 1)
        .filter(|_| more)
        .map(|(s, row)| {
            let cursor = daftar_api::paging::cursor(&row.key(&s.instance));
            let period = if all { "all=true&" } else { "" };
            format!("/manage?{period}incidents_after={cursor}#inc-h")
        });
    let load = store
        .officers_load(&who.agency, now)
        .await
        .map_err(ApiError::from)?;
    let officers: Vec<_> = load
        .iter()
        .filter_map(|l| {
            let officer = l.officer.as_ref()?;
            Some(context! { officer, role => l.role.clone(), open => l.open, late => l.late })
        })
        .collect();
    let unclaimed: Vec<_> = load
        .iter()
        .filter(|l| l.officer.is_none())
        .map(|l| context! { role => l.role.as_deref().unwrap_or("—"), open => l.open, late => l.late })
        .collect();
    Ok(render::page(
        &visit,
        StatusCode::OK,
        "manage.html",
        context! {
            services => render::value(figures::rows(&counts)),
            all => all,
            since => from.map(|t| t.to_rfc3339()),
            incidents => render::value(&incidents),
            incidents_next => next,
            incidents_paged => options.incidents_after.is_some(),
            officers => officers,
            unclaimed => unclaimed,
        },
    ))
}

/// `POST /manage/incidents/{id}/retry`.
pub async fn retry(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path(id): Path<String>,
    _checked: Posted,
) -> Result<Response, DeskError> {
    let who = visit.with_role(&[Role::Admin])?;
    let _retried = api_retry(State(desk.api().clone()), who.clone(), Path(id)).await?;
    Ok(Redirect::to("/manage").into_response())
}
