//! The JSON Schemas of the input form and of officers' forms, and the input examples.

use serde_json::Value;

use super::Finding;
use super::suggest::hint;
use crate::diagnostic::Code;
use crate::model::Workflow;
use crate::source::Pointer;

/// Formats the language adds to JSON Schema's own.
const OWN_FORMATS: &[&str] = &["ir-national-id", "ir-mobile", "ir-postal-code", "duration"];

/// JSON Schema's own formats that are checked (draft 2020-12).
const STANDARD_FORMATS: &[&str] = &[
    "date",
    "date-time",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

pub(crate) fn check(wf: &Workflow, out: &mut Vec<Finding>) {
    let input_at = Pointer::root().key("input").key("schema");
    let input = schema(&wf.input.schema, &input_at, "the input form", out);
    if wf.input.schema.get("type").and_then(Value::as_str) != Some("object") {
        let msg = "the input schema must describe a mapping: give it `type: object`";
        out.push(Finding::new(Code::InvalidSchema, input_at.clone(), msg));
    }
    if let Some(validator) = input {
        for (i, example) in wf.input.examples.iter().enumerate() {
            for err in validator.iter_errors(example) {
                let at = Pointer::root().key("input").key("examples").index(i);
                let at = Pointer::from(format!("{at}{}", err.instance_path().as_str()).as_str());
                let msg = format!("example {} does not satisfy the input schema: {err}", i + 1);
                out.push(Finding::new(Code::InvalidExample, at, msg));
            }
        }
        for (i, schedule) in wf.triggers.schedules.iter().enumerate() {
            let input = schedule
                .input
                .clone()
                .unwrap_or_else(|| serde_json::json!({}));
            for err in validator.iter_errors(&input) {
                let at = Pointer::root()
                    .key("triggers")
                    .key("schedules")
                    .index(i)
                    .key("input");
                let at = Pointer::from(format!("{at}{}", err.instance_path().as_str()).as_str());
                let msg = format!(
                    "schedule `{}` starts instances with an input the input schema refuses: {err}",
                    schedule.id
                );
                out.push(Finding::new(Code::InvalidExample, at, msg));
            }
        }
    }
    for (id, form) in &wf.forms {
        let at = Pointer::root().key("forms").key(id).key("schema");
        schema(&form.schema, &at, &format!("form `{id}`"), out);
    }
}

/// Checks one schema; returns its validator when it is valid.
fn schema(
    value: &Value,
    at: &Pointer,
    what: &str,
    out: &mut Vec<Finding>,
) -> Option<jsonschema::Validator> {
    let before = out.len();
    formats(value, at, what, out);
    if value
        .get("$schema")
        .is_some_and(|s| s != "https://json-schema.org/draft/2020-12/schema")
    {
        let msg = format!(
            "{what}: only JSON Schema draft 2020-12 is supported; remove `$schema` or set it to https://json-schema.org/draft/2020-12/schema"
        );
        out.push(Finding::new(Code::InvalidSchema, at.key("$schema"), msg));
        return None;
    }
    match crate::formats::options().build(value) {
        Ok(v) => (out.len() == before).then_some(v),
        Err(e) => {
            let place = Pointer::from(format!("{at}{}", e.instance_path().as_str()).as_str());
            let msg = format!("{what} is not a valid JSON Schema: {e}");
            out.push(Finding::new(Code::InvalidSchema, place, msg));
            None
        }
    }
}

/// Unknown formats are silently ignored by JSON Schema; a misspelt `ir-nationl-id` would then
/// check nothing, so every `format` must be one that is checked.
fn formats(value: &Value, at: &Pointer, what: &str, out: &mut Vec<Finding>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "format"
                    && let Some(f) = v.as_str()
                    && !OWN_FORMATS.contains(&f)
                    && !STANDARD_FORMATS.contains(&f)
                {
                    let all = OWN_FORMATS.iter().chain(STANDARD_FORMATS).copied();
                    let msg = format!("{what}: unknown format `{f}`{}", hint(f, all));
                    out.push(Finding::new(Code::InvalidSchema, at.key(k), msg));
                } else if k != "const" && k != "enum" && k != "default" && k != "examples" {
                    formats(v, &at.key(k), what, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                formats(v, &at.index(i), what, out);
            }
        }
        _ => {}
    }
}
