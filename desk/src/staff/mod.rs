//! The agency's own people at the desk: the officer's worklist and tasks ([`worklist`],
//! [`task`]) and the request's record with the agencies' answers as evidence and its history
//! ([`record`]), the agency's requests a page at a time and the auditor's verification
//! ([`requests`]). Every page calls the API's own handlers with the visitor's principal, so
//! the API's access rules decide what it shows.

pub mod diagram;
pub mod record;
pub mod requests;
pub mod task;
pub mod worklist;

use axum::Router;
use axum::routing::{get, post};

use crate::Desk;

/// The officers' routes.
pub fn routes() -> Router<Desk> {
    Router::new()
        .route("/tasks", get(worklist::page))
        .route("/requests", get(requests::page))
        .route("/audit/verify", post(requests::verify))
        .route("/requests/{id}/record", get(record::page))
        .route("/requests/{id}/tasks/{task}", get(task::page))
        .route("/requests/{id}/tasks/{task}/claim", post(task::claim))
        .route("/requests/{id}/tasks/{task}/complete", post(task::complete))
        .route("/requests/{id}/tasks/{task}/reassign", post(task::reassign))
}
