//! `GET /requests`: the agency's requests, newest first, a page at a time through the store
//! (the API's own listing, 50 a page, by cursor), for officers and auditors; and `POST /audit/verify`,
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
use crate::render::{self, DeskError};
use crate::session::{Posted, Visit};

/// How many requests a page holds.
const PAGE: u32 = 50;

/// Which page.
#[derive(Debug, Deserialize)]
pub struct Paging {
    /// The page after this cursor.
    pub after: Option<String>,
    /// The page before this cursor.
    pub before: Option<String>,
}

/// The listing.
pub async fn page(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Query(paging): Query<Paging>,
) -> Result<Response, DeskError> {
    let who = visit.with_role(&[Role::Officer, Role::Auditor])?;
    let paged = paging.after.is_some() || paging.before.is_some();
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
            offset: None,
            after: paging.after,
            before: paging.before,
        })),
    )
    .await?;
    Ok(render::page(
        &visit,
        StatusCode::OK,
        "requests.html",
        context! {
            requests => render::value(&list.items),
            next => list.next.map(|c| format!("/requests?after={c}")),
            previous => list.previous.map(|c| format!("/requests?before={c}")),
            first => paged.then_some("/requests"),
        },
    ))
}

/// `POST /audit/verify`: every chain of the agency, verified as `daftar verify` does.
pub async fn verify(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    _checked: Posted,
) -> Result<Response, DeskError> {
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
