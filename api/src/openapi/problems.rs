//! What every operation can answer besides what its handler declares, and in which media
//! type: the document must say what the server does, so that a client generated from it (and
//! schemathesis, which CI runs against `serve`) meets no undocumented answer. The handlers'
//! annotations therefore leave these common answers out and declare only their own.
//!
//! - Every problem is `application/problem+json` (RFC 9457), whatever the handler's
//!   annotation says (utoipa labels a body `application/json` unless told otherwise).
//! - An operation that takes a body can answer 400 (unreadable), 413 (over the limit), 415
//!   (the wrong media type) and 422 (readable, but not what the operation takes).
//! - An operation that needs a token or a secret can answer 401, and 403 when the caller may
//!   not do what it asks (a handler describes its own 403 where there is more to say).
//! - Every operation can answer 503 when the store cannot be reached.

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

const PROBLEM: &str = "application/problem+json";

/// Rewrites the document's responses as the module's doc says.
pub fn declare(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            relabel(op);
            let takes_body = op.request_body.is_some();
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let mut add = |status: &str, why: &str| {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::T(problem(why)));
            };
            if takes_body {
                add("400", "The body cannot be read (`bad-body`)");
                add("413", "The body is over 1 MiB (`too-large`)");
                add(
                    "415",
                    "The body is not of a media type the operation takes (`unsupported-media-type`)",
                );
                add(
                    "422",
                    "The body is readable but not what the operation takes (`bad-body`)",
                );
            }
            if secured {
                add(
                    "401",
                    "No token, or one that is not valid here (`unauthorized`)",
                );
                add("403", "");
            }
            add(
                "503",
                "The store cannot be reached; send it again (`unavailable`)",
            );
        }
    }
}

pub(crate) fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// Moves a problem body declared as `application/json` to `application/problem+json`.
fn relabel(op: &mut Operation) {
    for response in op.responses.responses.values_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let is_problem = response.content.get("application/json").is_some_and(
            |c| matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem")),
        );
        if is_problem && let Some(content) = response.content.shift_remove("application/json") {
            response.content.insert(PROBLEM.to_owned(), content);
        }
    }
}

pub(crate) fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}
