//! (being built)

use axum::Router;
use utoipa::OpenApi;

use crate::state::AppState;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi()]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
}
