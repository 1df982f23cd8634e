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

/// The route modules' documents, each with its paths and schemas.
fn parts() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        Root::openapi(),
        routes::definitions::Doc::openapi(),
        routes::versions::Doc::openapi(),
        routes::whatif::Doc::openapi(),
        routes::reports::Doc::openapi(),
        routes::subscriptions::Doc::openapi(),
        routes::erasure::Doc::openapi(),
        routes::requests::Doc::openapi(),
        routes::track::Doc::openapi(),
        routes::documents::Doc::openapi(),
        routes::tasks::Doc::openapi(),
        routes::audit::Doc::openapi(),
        routes::checkpoints::Doc::openapi(),
        routes::receipt::Doc::openapi(),
        routes::connectors::Doc::openapi(),
        routes::messages::Doc::openapi(),
        routes::deliver::Doc::openapi(),
        routes::incidents::Doc::openapi(),
        routes::watch::Doc::openapi(),
        routes::ops::Doc::openapi(),
        crate::callbacks::Doc::openapi(),
    ]
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut parts = parts().into_iter();
    let mut doc = parts.next().expect("the root document");
    for part in parts {
        doc.merge(part);
    }
    problems::declare(&mut doc);
    doc
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    /// Merging keeps the first schema of a name: two types of one name would leave one of them
    /// described by the other's schema (a what-if report once answered as the service report).
    #[test]
    fn no_two_schemas_share_a_name() {
        let mut seen: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        for part in super::parts() {
            let Some(components) = part.components else {
                continue;
            };
            for (name, schema) in components.schemas {
                let schema = serde_json::to_value(&schema).unwrap();
                if let Some(first) = seen.get(&name) {
                    assert_eq!(
                        first, &schema,
                        "two different schemas are named {name}: give one `#[schema(as = …)]`"
                    );
                }
                seen.insert(name, schema);
            }
        }
    }
}
