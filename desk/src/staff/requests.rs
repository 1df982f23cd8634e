//! `GET /requests`: the agency's requests, newest first, a page at a time through the store
//! (the API's own listing, 50 a page), for officers and auditors; and `POST /audit/verify`,
//! the verification of every hash chain of the agency, for auditors.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use daftar_api::auth::Role;
use daftar_api::routes::requests::{ListParams, list};
use minijinja::context;
use serde::Deserialize;

use crate::Desk;
use crate::citizen::form;
use crate::render::{self, DeskError};
use crate::session::Visit;

/// How many requests a page holds.
const PAGE: u32 = 50;

/// Which page.
#[derive(Debug, Deserialize)]
pub struct Paging {
    /// Skip this many.
    pub offset: Option<u32>,
}

/// The listing.
pub async fn page(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Query(paging): Query<Paging>,
) -> Result<Response, DeskError> {
    let who = visit.with_role(&[Role::Officer, Role::Auditor])?;
    let axum::Json(list) = list(
        State(desk.api().clone()),
        who.clone(),
        Ok(Query(ListParams {
            service: None,
            status: None,
            state: None,
            from: None,
            to: None,
            sla_breached: None,
            limit: Some(PAGE),
            offset: paging.offset,
        })),
    )
    .await?;
    Ok(render::page(
        &visit,
        StatusCode::OK,
        "requests.html",
        context! {
            requests => render::value(&list.items),
            next => list.next_offset,
            previous => paging.offset.filter(|o| *o > 0).map(|o| o.saturating_sub(PAGE)),
        },
    ))
}

/// `POST /audit/verify`: every chain of the agency, verified as `daftar verify` does.
pub async fn verify(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    axum::Form(submitted): axum::Form<Vec<(String, String)>>,
) -> Result<Response, DeskError> {
    visit.check_csrf(&form::value(&submitted, "csrf"))?;
    let who = visit.with_role(&[Role::Auditor])?;
    let axum::Json(result) =
        daftar_api::routes::audit::verify(State(desk.api().clone()), who.clone()).await?;
    Ok(render::page(
        &visit,
        StatusCode::OK,
        "verify.html",
        context! { result => render::value(&result) },
    ))
}
