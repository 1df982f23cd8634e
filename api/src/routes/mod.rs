//! The REST API under `/api/v1`, one module per resource. Each module has its `routes()` and
//! its part of the OpenAPI document (`Doc`); [`crate::openapi`] merges the parts.

pub mod audit;
pub mod checkpoints;
pub mod connectors;
pub mod definitions;
pub mod deliver;
pub mod documents;
pub mod erasure;
pub mod incidents;
pub mod messages;
pub mod ops;
pub mod receipt;
pub mod reports;
pub mod requests;
pub mod subscriptions;
pub mod tasks;
pub mod track;
pub mod versions;
pub mod watch;
pub mod whatif;

use axum::Router;

use crate::state::AppState;

/// Every route of `/api/v1`.
pub fn v1() -> Router<AppState> {
    Router::new()
        .merge(definitions::routes())
        .merge(versions::routes())
        .merge(whatif::routes())
        .merge(requests::routes())
        .merge(track::routes())
        .merge(documents::routes())
        .merge(tasks::routes())
        .merge(audit::routes())
        .merge(checkpoints::routes())
        .merge(receipt::routes())
        .merge(connectors::routes())
        .merge(messages::routes())
        .merge(deliver::routes())
        .merge(incidents::routes())
        .merge(reports::routes())
        .merge(subscriptions::routes())
        .merge(erasure::routes())
        .merge(watch::routes())
}
