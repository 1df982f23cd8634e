//! The agency's definitions (the API's listing), one version's picture and source, and the
//! difference of two versions (the API's diff), all with the designer's own principal.

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use daftar_api::auth::Role;
use daftar_api::routes::definitions::{get_version, list as api_list};
use daftar_api::routes::versions::{DiffParams, diff as api_diff};
use minijinja::context;
use serde::Deserialize;

use crate::Desk;
use crate::render::{self, DeskError};
use crate::session::Visit;

const READERS: &[Role] = &[Role::Designer, Role::Officer, Role::Auditor];

/// `GET /designer`: every version of every service of the agency.
pub async fn list(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
) -> Result<Response, DeskError> {
    let who = visit.with_role(READERS)?;
    let axum::Json(list) = api_list(State(desk.api().clone()), who.clone()).await?;
    Ok(render::page(
        &visit,
        StatusCode::OK,
        "designer.html",
        context! { definitions => render::value(&list.items) },
    ))
}

/// `GET /designer/{id}/{version}`: the version's picture and its source.
pub async fn show(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path((id, version)): Path<(String, u32)>,
) -> Result<Response, DeskError> {
    let who = visit.with_role(READERS)?;
    let axum::Json(detail) = get_version(
        State(desk.api().clone()),
        who.clone(),
        Ok(Path((id.clone(), version))),
    )
    .await?;
    let name = format!("{id}@{version}");
    let picture = daftar_definitions::compile(&name, &detail.source, Default::default())
        .ok()
        .and_then(|c| daftar_definitions::render::svg(&c).ok())
        .and_then(|svg| crate::staff::diagram::inline(&svg));
    let mut response = render::page(
        &visit,
        StatusCode::OK,
        "version.html",
        context! {
            definition => render::value(&detail),
            diagram => picture.as_ref().map(|d| minijinja::Value::from_safe_string(d.svg.clone())),
        },
    );
    if let Some(d) = picture {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_SECURITY_POLICY, d.csp);
    }
    Ok(response.into_response())
}

/// Which versions to compare.
#[derive(Debug, Deserialize)]
pub struct Between {
    /// The older version.
    pub from: Option<u32>,
    /// The newer version.
    pub to: Option<u32>,
}

/// `GET /designer/{id}/diff?from=&to=`.
pub async fn diff(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path(id): Path<String>,
    Query(between): Query<Between>,
) -> Result<Response, DeskError> {
    let who = visit.with_role(READERS)?;
    let axum::Json(changes) = api_diff(
        State(desk.api().clone()),
        who.clone(),
        Ok(Path(id.clone())),
        Ok(Query(DiffParams {
            from: between.from,
            to: between.to,
        })),
    )
    .await?;
    Ok(render::page(
        &visit,
        StatusCode::OK,
        "diff.html",
        context! { id => id, from => between.from, to => between.to, diff => render::value(&changes) },
    ))
}
