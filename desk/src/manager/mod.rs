//! The manager's desk, for the agency's administrators: per service, the requests filed, in
//! progress, ended by outcome, SLA breaches and the smart share (the API's service report);
//! the open incidents, each with a retry button (the API's incidents); and the officers'
//! load, their open tasks by officer and the unclaimed ones by role.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use daftar_api::auth::Role;
use daftar_api::routes::incidents::{Params, list as incidents, retry as api_retry};
use daftar_api::routes::reports::{Period, services};
use minijinja::context;

use crate::Desk;
use crate::citizen::form;
use crate::render::{self, DeskError};
use crate::session::Visit;

/// The manager's routes.
pub fn routes() -> Router<Desk> {
    Router::new()
        .route("/manage", get(page))
        .route("/manage/incidents/{id}/retry", post(retry))
}

/// `GET /manage`.
pub async fn page(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
) -> Result<Response, DeskError> {
    let who = visit.with_role(&[Role::Admin])?;
    let api = desk.api();
    let axum::Json(report) = services(
        State(api.clone()),
        who.clone(),
        Ok(Query(Period {
            from: None,
            to: None,
        })),
    )
    .await?;
    let axum::Json(open) = incidents(
        State(api.clone()),
        who.clone(),
        Ok(Query(Params {
            service: None,
            limit: None,
        })),
    )
    .await?;
    // The officers' load: the agency's open tasks, by the officer holding them, else by role.
    let rows = api
        .engine()
        .store()
        .worklist(&who.agency, None, true)
        .await
        .map_err(daftar_api::problem::ApiError::from)?;
    let mut by_officer: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut unclaimed: BTreeMap<String, u64> = BTreeMap::new();
    let now = api.engine().now();
    for row in rows {
        match &row.task.officer {
            Some(officer) => {
                let load = by_officer.entry(officer.clone()).or_default();
                load.0 += 1;
                if row.task.due_at < now {
                    load.1 += 1;
                }
            }
            None => {
                *unclaimed
                    .entry(row.task.role.clone().unwrap_or_else(|| "—".to_owned()))
                    .or_default() += 1;
            }
        }
    }
    let officers: Vec<_> = by_officer
        .into_iter()
        .map(|(officer, (open, late))| context! { officer, open, late })
        .collect();
    Ok(render::page(
        &visit,
        StatusCode::OK,
        "manage.html",
        context! {
            report => render::value(&report),
            incidents => render::value(&open),
            officers => officers,
            unclaimed => render::value(&unclaimed),
        },
    ))
}

/// `POST /manage/incidents/{id}/retry`.
pub async fn retry(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path(id): Path<String>,
    Form(submitted): Form<Vec<(String, String)>>,
) -> Result<Response, DeskError> {
    visit.check_csrf(&form::value(&submitted, "csrf"))?;
    let who = visit.with_role(&[Role::Admin])?;
    let _retried = api_retry(State(desk.api().clone()), who.clone(), Path(id)).await?;
    Ok(Redirect::to("/manage").into_response())
}
