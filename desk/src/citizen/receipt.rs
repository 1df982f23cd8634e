//! A request's receipt for people: `/requests/{id}/receipt` is a printable page of the API's
//! receipt (the request's events, each with its hash and its leaf in the agency's signed
//! checkpoint), checked on the server with the agency's public key when this node has it, and
//! `/requests/{id}/receipt.json` the same receipt as the file `daftar verify-receipt` checks
//! with no database. The API's rule decides who may have it: the applicant who filed the
//! request, and the agency's auditors.
//!
//! The page shows no payload: printed, it would spread the applicant's personal data, and the
//! file is what proves anything. It says how to check the file without trusting the agency.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use daftar_api::auth::{Principal, Role};
use daftar_api::lookup::RequestPath;
use daftar_api::routes::receipt::get_receipt;
use daftar_engine::audit::receipt::{Receipt, verify_receipt};
use daftar_engine::audit::signing;
use minijinja::context;
use serde_json::json;

use crate::Desk;
use crate::render::{self, DeskError};
use crate::session::Visit;

/// The receipt of request `id`, if `who` may have it.
async fn receipt(desk: &Desk, who: &Principal, id: String) -> Result<Receipt, DeskError> {
    let axum::Json(r) = get_receipt(
        State(desk.api().clone()),
        who.clone(),
        Path(RequestPath { id }),
    )
    .await?;
    Ok(r)
}

/// `GET /requests/{id}/receipt`: the printable page.
pub async fn page(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path(id): Path<String>,
) -> Result<Response, DeskError> {
    let who = visit.with_role(&[Role::Citizen, Role::Auditor])?;
    let r = receipt(&desk, who, id.clone()).await?;
    let key = desk.api().checkpoint_key();
    // Checked here with the key this node signs with, once a checkpoint covers the request;
    // the page says the reader should check the file with a key obtained apart from the
    // agency's servers.
    let checked = key
        .filter(|_| r.checkpoint.is_some())
        .map(|k| match verify_receipt(&r, k) {
            Ok(report) => json!({"ok": true, "events": report.events, "covered": report.covered}),
            Err(e) => json!({"ok": false, "error": e}),
        });
    let events: Vec<_> = r
        .events
        .iter()
        .map(|e| {
            json!({
                "version": e.version,
                "type": e.kind,
                "recorded_at": e.recorded_at,
                "leaf": e.leaf,
                "hash": e.hash,
                "proof": e.proof.len(),
            })
        })
        .collect();
    Ok(render::page(
        &visit,
        StatusCode::OK,
        "receipt.html",
        context! {
            id => id,
            agency => r.agency,
            request => r.request,
            checkpoint => render::value(&r.checkpoint),
            events => render::value(&events),
            checked => render::value(&checked),
            key_id => key.map(signing::key_id),
        },
    ))
}

/// `GET /requests/{id}/receipt.json`: the receipt as a file to keep and check.
pub async fn file(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path(id): Path<String>,
) -> Result<Response, DeskError> {
    let who = visit.with_role(&[Role::Citizen, Role::Auditor])?;
    let r = receipt(&desk, who, id).await?;
    let name = format!("attachment; filename=\"receipt-{}.json\"", r.request);
    let mut response = axum::Json(&r).into_response();
    if let Ok(v) = HeaderValue::from_str(&name) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
