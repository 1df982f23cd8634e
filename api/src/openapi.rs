//! The OpenAPI 3 document, generated from the handlers' annotations and served at
//! `/openapi.json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

mod problems;

pub(crate) use problems::{operations, problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "daftar",
        description = "The HTTP API of daftar, an event-sourced workflow engine for government \
                       service requests and permits. Every error is an RFC 9457 problem body \
                       with a stable `code`.",
    ),
    paths(crate::openapi_json),
    components(schemas(crate::problem::Problem, crate::problem::FieldError)),
    modifiers(&Bearer)
)]
struct Root;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "connector_secret",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The connector's callback secret (its `callback_secret_env` in the \
                         connector catalog)",
                    ))
                    .build(),
            ),
        );
    }
}

/// Puts every operation of a module's document under the bearer token, for the modules whose
/// routes all need one: said once per module rather than in each handler's annotation.
#[derive(Debug)]
pub struct NeedsToken;

impl Modify for NeedsToken {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            for op in operations(item) {
                op.security = Some(vec![SecurityRequirement::new(
                    "bearer",
                    Vec::<String>::new(),
                )]);
            }
        }
    }
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Root::openapi();
    doc.merge(routes::definitions::Doc::openapi());
    doc.merge(routes::versions::Doc::openapi());
    doc.merge(routes::whatif::Doc::openapi());
    doc.merge(routes::reports::Doc::openapi());
    doc.merge(routes::subscriptions::Doc::openapi());
    doc.merge(routes::erasure::Doc::openapi());
    doc.merge(routes::requests::Doc::openapi());
    doc.merge(routes::track::Doc::openapi());
    doc.merge(routes::documents::Doc::openapi());
    doc.merge(routes::tasks::Doc::openapi());
    doc.merge(routes::audit::Doc::openapi());
    doc.merge(routes::checkpoints::Doc::openapi());
    doc.merge(routes::receipt::Doc::openapi());
    doc.merge(routes::connectors::Doc::openapi());
    doc.merge(routes::messages::Doc::openapi());
    doc.merge(routes::deliver::Doc::openapi());
    doc.merge(routes::incidents::Doc::openapi());
    doc.merge(routes::watch::Doc::openapi());
    doc.merge(routes::ops::Doc::openapi());
    doc.merge(crate::callbacks::Doc::openapi());
    problems::declare(&mut doc);
    doc
}
