//! Every response a router test receives is checked against the OpenAPI document the server
//! serves: the operation must be documented for that method and path, the status must be one
//! of its documented responses, and a JSON body must satisfy the documented schema. So every
//! router test is also a test that the API answers as its document says.

use std::sync::OnceLock;

use serde_json::{Value, json};

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(daftar_api::openapi::document()).unwrap())
}

/// Whether a concrete path matches a documented template such as `/api/v1/requests/{id}`.
fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

/// Checks one response; panics with what does not conform.
pub fn check(method: &str, uri: &str, status: u16, body: &Value) {
    let path = uri.split('?').next().unwrap_or(uri);
    let doc = document();
    let paths = doc["paths"].as_object().expect("paths");
    // The most specific template: fewest parameters.
    let Some((template, item)) = paths
        .iter()
        .filter(|(t, _)| matches(t, path))
        .min_by_key(|(t, _)| t.matches('{').count())
    else {
        // Undocumented paths answer the 404 fallback only.
        assert_eq!(
            status, 404,
            "{method} {path} is not in the OpenAPI document"
        );
        return;
    };
    let Some(op) = item.get(method.to_ascii_lowercase()) else {
        assert!(
            status == 405 || status == 404,
            "{method} {template} is not documented but answered {status}"
        );
        return;
    };
    let responses = op["responses"].as_object().expect("responses");
    let Some(response) = responses
        .get(&status.to_string())
        .or_else(|| responses.get("default"))
    else {
        panic!(
            "{method} {template} answered {status}, which its documentation does not list ({:?})",
            responses.keys().collect::<Vec<_>>()
        );
    };
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        return;
    };
    let Some(schema) = content
        .iter()
        .find(|(media, _)| media.contains("json"))
        .and_then(|(_, c)| c.get("schema"))
    else {
        return;
    };
    if body.is_null() || body.is_string() && !schema.to_string().contains("\"string\"") {
        return;
    }
    // The response schema, with the document's components alongside so `$ref`s resolve.
    let mut root = schema.clone();
    if let Value::Object(map) = &mut root {
        map.insert("components".into(), doc["components"].clone());
    } else {
        root = json!({"allOf": [schema], "components": doc["components"]});
    }
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&root)
        .unwrap_or_else(|e| panic!("the schema of {method} {template} {status} is invalid: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path().as_str()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {template} answered {status} with a body its documentation does not allow:\n{}\nbody: {body}",
        errors.join("\n")
    );
}
