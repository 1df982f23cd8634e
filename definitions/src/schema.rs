//! The JSON Schema of the language, generated from the model.
//!
//! `daftar schema` prints it for editors; the structural check (`crate::check::structure`)
//! validates every document against it, which is how unknown fields, missing fields and wrong
//! types are all found in one pass.

use std::sync::OnceLock;

use serde_json::Value;

use crate::model::Workflow;

/// The `$id` of the language schema.
pub const SCHEMA_ID: &str = "https://daftar.dev/schema/workflow-1.json";

/// The JSON Schema (draft 2020-12) of a workflow file.
pub fn language_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut schema = schema_of::<Workflow>();
        drop_null_alternatives(&mut schema);
        if let Some(obj) = schema.as_object_mut() {
            obj.insert("$id".into(), Value::String(SCHEMA_ID.into()));
        }
        schema
    })
}

/// Generates the closed schema of any model type, in the same form as the language schema.
pub fn schema_of<T: schemars::JsonSchema>() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(T)).expect("a generated schema is JSON");
    drop_null_alternatives(&mut schema);
    schema
}

/// schemars writes an optional field as `anyOf: [T, {type: null}]`. A validator then reports
/// any problem inside `T` only as "matches none of the alternatives", hiding the unknown or
/// missing field that a designer needs to see. Optional fields are left out rather than
/// written as null, so the null alternative is dropped and `T` stands alone.
fn drop_null_alternatives(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let single = match map.get("anyOf").and_then(Value::as_array) {
                Some(alts) if alts.len() == 2 => {
                    let is_null = |v: &Value| v.get("type").and_then(Value::as_str) == Some("null");
                    match (is_null(&alts[0]), is_null(&alts[1])) {
                        (true, false) => Some(alts[1].clone()),
                        (false, true) => Some(alts[0].clone()),
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(Value::Object(inner)) = single {
                map.remove("anyOf");
                for (k, v) in inner {
                    map.entry(k).or_insert(v);
                }
            }
            for v in map.values_mut() {
                drop_null_alternatives(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_alternatives),
        _ => {}
    }
}

/// The validator for the language schema, built once.
pub(crate) fn language_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        crate::formats::options()
            .build(language_schema())
            .expect("the language schema is a valid JSON Schema")
    })
}

/// The sub-schema at a schema path as reported by the validator, following `$ref`s into
/// `$defs` the way the validator did.
pub(crate) fn schema_at<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = root;
    for raw in path.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        if seg == "$ref" {
            let target = node.get("$ref")?.as_str()?;
            node = resolve_ref(root, target)?;
            continue;
        }
        node = match node {
            Value::Object(map) => map.get(&seg)?,
            Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    // A schema that is only a reference stands for what it refers to.
    while let Some(target) = node.get("$ref").and_then(Value::as_str) {
        node = resolve_ref(root, target)?;
    }
    Some(node)
}

fn resolve_ref<'a>(root: &'a Value, target: &str) -> Option<&'a Value> {
    let pointer = target.strip_prefix('#')?;
    root.pointer(pointer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_valid_and_closed() {
        let schema = language_schema();
        assert!(jsonschema::meta::is_valid(schema));
        assert_eq!(schema["additionalProperties"], false);
        let step = schema_at(schema, "/properties/steps/items").unwrap();
        assert!(step["properties"]["inquiry"].is_object());
    }
}
