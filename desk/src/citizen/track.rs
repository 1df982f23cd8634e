//! Tracking by code and mobile number, for anyone: the API's own `track` handler answers, with
//! its rate limit and its one 404 for a wrong code, a wrong number and a request that does
//! not exist. The form is sent by POST, so that the mobile number is in no address or log.

use axum::Extension;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use daftar_api::routes::track::{TrackParams, track};
use minijinja::context;
use serde::Deserialize;

use crate::Desk;
use crate::render::{self, DeskError};
use crate::session::Visit;

/// `GET /track`: the tracking form.
pub async fn form(Extension(visit): Extension<Visit>) -> Response {
    render::page(&visit, StatusCode::OK, "track.html", context! {})
}

/// The tracking form.
#[derive(Debug, Deserialize)]
pub struct Lookup {
    csrf: String,
    code: String,
    mobile: String,
}

/// `POST /track`: the request's public milestones, or why there are none.
pub async fn lookup(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Form(f): Form<Lookup>,
) -> Result<Response, DeskError> {
    visit.check_csrf(&f.csrf)?;
    let answer = track(
        State(desk.api().clone()),
        Ok(Path(f.code.clone())),
        Ok(Query(TrackParams {
            mobile: Some(f.mobile.clone()),
        })),
    )
    .await;
    let (status, ctx) = match answer {
        Ok((_, axum::Json(view))) => (
            StatusCode::OK,
            context! { request => crate::render::value(&view) },
        ),
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            (StatusCode::NOT_FOUND, context! { not_found => true })
        }
        Err(e) => return Err(e.into()),
    };
    Ok(render::page(
        &visit,
        status,
        "track.html",
        context! { code => f.code, mobile => f.mobile, ..ctx },
    ))
}
