//! The designer's desk: the agency's definitions and their versions, each drawn as a picture
//! with its source ([`versions`]); the diff of two versions with removed conditions called out;
//! the YAML editor that validates as one types, each diagnostic at its line and column with a
//! link to its code's page, and deploys a new version ([`editor`]).

pub mod editor;
pub mod versions;

use axum::Router;
use axum::routing::{get, post};

use crate::Desk;

/// The designer's routes.
pub fn routes() -> Router<Desk> {
    Router::new()
        .route("/designer", get(versions::list))
        .route("/designer/edit", get(editor::page))
        .route("/designer/check", post(editor::check))
        .route("/designer/deploy", post(editor::deploy))
        .route("/designer/what-if", post(editor::what_if))
        .route("/designer/{id}/diff", get(versions::diff))
        .route("/designer/{id}/{version}", get(versions::show))
        .route("/errors/{code}", get(editor::error_page))
}
