//! The citizen's desk: the agency's services with their published conditions
//! ([`catalog`]), a service's application form generated from its input schema ([`form`]),
//! filing and waiting for a smart service's answer, the request's live timeline ([`request`]),
//! tracking by code and mobile number for anyone ([`track`]), and an issued document's
//! printable page and the verification page its QR code opens ([`document`]), and a request's
//! receipt, printable and as the file an outsider checks ([`receipt`]).

pub mod catalog;
pub mod document;
pub mod form;
pub mod receipt;
pub mod request;
pub mod track;

use axum::Router;
use axum::routing::get;

use crate::Desk;

/// The citizen's routes.
pub fn routes() -> Router<Desk> {
    Router::new()
        .route("/services", get(catalog::catalog))
        .route("/services/{id}", get(catalog::service).post(request::file))
        .route("/requests/{id}", get(request::page))
        .route("/requests/{id}/live", get(request::live))
        .route("/requests/{id}/receipt", get(receipt::page))
        .route("/requests/{id}/receipt.json", get(receipt::file))
        .route("/track", get(track::form).post(track::lookup))
        .route("/documents/{id}", get(document::printable))
        .route("/documents/{id}/verify", get(document::verify))
}
