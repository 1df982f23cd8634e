//! A national document's public pages, for anyone: the printable document (`/documents/{id}`),
//! with print styles and the document ID as a QR code, and the verification page its QR opens
//! (`/documents/{id}/verify`). Both read the API's own `documents::find`, so they show exactly
//! what the signed verification says: valid or revoked, the agency, the time of issue, the
//! service, the holder masked, and a permit's public milestones.
//!
//! The QR is drawn by the `qrcode` crate as SVG on the server (no script, no image request):
//! it encodes the verification page's full URL, on the server's public address (`serve
//! --public-url`) or, without one, the address the visitor reached.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use daftar_api::routes::documents::{Found, find};
use minijinja::{Value, context};
use qrcode::QrCode;
use qrcode::render::svg;

use crate::Desk;
use crate::render::{self, DeskError};
use crate::session::Visit;

/// `GET /documents/{id}`: the printable document.
pub async fn printable(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, DeskError> {
    let found = find(desk.api(), &id).await?;
    let url = verify_url(&desk, &headers, &found.status.document_id);
    let qr = qr_svg(&url).ok_or_else(|| {
        DeskError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "کد QR ساخته نشد.",
            "The QR code could not be drawn.",
        )
    })?;
    Ok(render::page(
        &visit,
        StatusCode::OK,
        "document.html",
        context! { qr => Value::from_safe_string(qr), verify_url => url, ..view(&found) },
    ))
}

/// `GET /documents/{id}/verify`: what the QR opens.
pub async fn verify(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path(id): Path<String>,
) -> Result<Response, DeskError> {
    let found = find(desk.api(), &id).await?;
    Ok(render::page(
        &visit,
        StatusCode::OK,
        "document_verify.html",
        view(&found),
    ))
}

fn view(found: &Found) -> Value {
    context! {
        document => render::value(&found.status),
        kind => found.kind.clone(),
        valid_for => found.valid_for.clone(),
        service_title => render::value(&found.service_title),
        milestone_labels => render::value(&found.milestone_labels),
    }
}

/// The verification page's full URL.
fn verify_url(desk: &Desk, headers: &HeaderMap, id: &str) -> String {
    let base = match desk.public_url() {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    format!("{base}/documents/{id}/verify")
}

/// The QR code of `text` as an inline SVG element (no XML declaration).
pub fn qr_svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(180, 180)
        .quiet_zone(true)
        .build();
    let start = image.find("<svg")?;
    Some(image[start..].to_owned())
}
