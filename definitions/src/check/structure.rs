//! The structural pass: a document against a JSON Schema, every error turned into a finding.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use super::Finding;
use super::suggest;
use crate::diagnostic::Code;
use crate::schema::schema_at;
use crate::source::Pointer;

/// Validates `doc` against `schema` and returns a finding for every error, plus the document
/// with unknown fields removed (so that the typed model can still be read from it).
pub(crate) fn check(
    validator: &jsonschema::Validator,
    schema: &Value,
    doc: &Value,
) -> (Vec<Finding>, Value) {
    let mut findings = Vec::new();
    let mut repaired = doc.clone();
    for err in validator.iter_errors(doc) {
        let at = Pointer::from(err.instance_path().as_str());
        let instance = err.instance();
        match err.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let parent_path = err.schema_path().as_str();
                let parent_path = parent_path
                    .strip_suffix("/additionalProperties")
                    .unwrap_or(parent_path);
                let allowed: Vec<&str> = schema_at(schema, parent_path)
                    .and_then(|s| s.get("properties"))
                    .and_then(Value::as_object)
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                for field in unexpected {
                    let hint = suggest::hint(field, allowed.iter().copied());
                    let is_step = allowed.contains(&"inquiry") && allowed.contains(&"decision");
                    let msg = if is_step && (field == "type" || field == "kind") {
                        format!(
                            "unknown field `{field}`: a step's kind is written as its key, such as `inquiry:`, `decision:` or `task:`, holding that kind's fields"
                        )
                    } else if hint.is_empty() {
                        format!(
                            "unknown field `{field}`; allowed here: {}",
                            suggest::list(allowed.iter().copied())
                        )
                    } else {
                        format!("unknown field `{field}`{hint}")
                    };
                    findings.push(Finding::new(Code::UnknownField, at.key(field), msg).at_key());
                    if let Some(obj) = repaired
                        .pointer_mut(at.as_str())
                        .and_then(Value::as_object_mut)
                    {
                        obj.remove(field);
                    }
                }
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                let msg = format!("missing required field `{name}`{}", where_(&at));
                findings.push(Finding::new(Code::MissingField, at, msg).at_key());
            }
            ValidationErrorKind::Type { kind } => {
                let expected = match kind {
                    TypeKind::Single(t) => article(&t.to_string()),
                    TypeKind::Multiple(ts) => {
                        let names: Vec<String> =
                            ts.iter().map(|t| article(&t.to_string())).collect();
                        names.join(" or ")
                    }
                };
                let mut msg = format!("expected {expected}, found {}", describe(instance));
                if expected.contains("string") && instance.is_number() {
                    msg.push_str("; put it in quotes");
                }
                findings.push(Finding::new(Code::WrongType, at, msg));
            }
            ValidationErrorKind::Enum { options } => {
                let opts: Vec<String> = options
                    .as_array()
                    .map(|a| a.iter().map(plain).collect())
                    .unwrap_or_default();
                findings.push(not_allowed(instance, &opts, at));
            }
            ValidationErrorKind::Constant { expected_value } => {
                let msg = format!(
                    "expected `{}`, found {}",
                    plain(expected_value),
                    describe(instance)
                );
                findings.push(Finding::new(Code::WrongType, at, msg));
            }
            ValidationErrorKind::Format { format } => {
                let value = plain(instance);
                let msg = match format.as_str() {
                    "duration" => value
                        .parse::<crate::model::Duration>()
                        .err()
                        .unwrap_or_else(|| format!("`{value}` is not a duration")),
                    "span" => value
                        .parse::<crate::model::Span>()
                        .err()
                        .unwrap_or_else(|| format!("`{value}` is not a duration")),
                    "date" => format!(
                        "`{value}` is not a date; write it as YYYY-MM-DD, such as 2026-03-21"
                    ),
                    other => format!("`{value}` is not a valid {other}"),
                };
                findings.push(Finding::new(Code::InvalidValue, at, msg));
            }
            ValidationErrorKind::Pattern { .. } => {
                let msg = format!(
                    "`{}` is not a valid id: use lowercase Latin letters, digits and `_`, \
                     starting with a letter (workflow and agency ids may also use `-`)",
                    plain(instance)
                );
                findings.push(Finding::new(Code::InvalidValue, at, msg));
            }
            ValidationErrorKind::PropertyNames { .. } => {
                let names: Vec<String> = instance
                    .as_object()
                    .map(|o| {
                        o.keys()
                            .filter(|k| !is_id(k))
                            .map(|k| format!("`{k}`"))
                            .collect()
                    })
                    .unwrap_or_default();
                let msg = format!(
                    "{} {} not a valid id: use lowercase Latin letters, digits and `_`, starting with a letter",
                    names.join(", "),
                    if names.len() == 1 { "is" } else { "are" }
                );
                findings.push(Finding::new(Code::InvalidValue, at, msg));
            }
            ValidationErrorKind::MinItems { limit } => {
                let msg = format!(
                    "needs at least {limit} item{}",
                    if *limit == 1 { "" } else { "s" }
                );
                findings.push(Finding::new(Code::InvalidValue, at, msg));
            }
            ValidationErrorKind::MinLength { .. } => {
                findings.push(Finding::new(Code::InvalidValue, at, "must not be empty"));
            }
            ValidationErrorKind::MinProperties { limit } => {
                let msg = format!(
                    "needs at least {limit} entr{}",
                    if *limit == 1 { "y" } else { "ies" }
                );
                findings.push(Finding::new(Code::InvalidValue, at, msg));
            }
            ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. }
                if constants(schema, err.schema_path().as_str()).is_some() =>
            {
                let allowed = constants(schema, err.schema_path().as_str()).unwrap_or_default();
                findings.push(not_allowed(instance, &allowed, at));
            }
            ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
                let forms = schema_at(schema, err.schema_path().as_str())
                    .and_then(|s| s.as_array())
                    .map(|alts| {
                        alts.iter()
                            .filter_map(form_name)
                            .collect::<Vec<_>>()
                            .join(" or ")
                    })
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "another form".to_owned());
                let msg = format!(
                    "{} is not allowed here; expected {forms}",
                    describe(instance)
                );
                findings.push(Finding::new(Code::WrongType, at, msg));
            }
            _ => {
                let msg = format!("{} ({})", err, describe(instance));
                findings.push(Finding::new(Code::InvalidValue, at, msg));
            }
        }
    }
    (findings, repaired)
}

/// The allowed values when every alternative of a `oneOf`/`anyOf` is a constant (schemars
/// writes a documented enum that way).
fn constants(schema: &Value, path: &str) -> Option<Vec<String>> {
    let alternatives = schema_at(schema, path)?.as_array()?;
    alternatives
        .iter()
        .map(|alt| {
            let alt = match alt.get("$ref").and_then(Value::as_str) {
                Some(r) => schema.pointer(r.strip_prefix('#')?)?,
                None => alt,
            };
            alt.get("const").map(plain)
        })
        .collect()
}

fn is_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && s.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn where_(at: &Pointer) -> String {
    if at.as_str().is_empty() {
        " at the top of the file".to_owned()
    } else {
        String::new()
    }
}

fn article(t: &str) -> String {
    match t {
        "object" => "a mapping".to_owned(),
        "array" => "a list".to_owned(),
        "integer" => "a whole number".to_owned(),
        "null" => "nothing".to_owned(),
        other => format!("a {other}"),
    }
}

/// The JSON type of an alternative of anyOf / oneOf, for messages.
fn form_name(schema: &Value) -> Option<String> {
    match schema.get("type") {
        Some(Value::String(t)) => Some(article(t)),
        Some(Value::Array(ts)) => Some(
            ts.iter()
                .filter_map(Value::as_str)
                .map(article)
                .collect::<Vec<_>>()
                .join(" or "),
        ),
        _ => None,
    }
}

/// A value that is none of the `allowed` ones.
fn not_allowed(instance: &Value, allowed: &[String], at: Pointer) -> Finding {
    let value = plain(instance);
    let msg = format!(
        "`{value}` is not allowed here{}; expected one of {}",
        suggest::hint(&value, allowed.iter().map(String::as_str)),
        suggest::list(allowed.iter().map(String::as_str))
    );
    Finding::new(Code::WrongType, at, msg)
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A short description of a value for messages: its type and, when short, the value.
fn describe(v: &Value) -> String {
    let shown = |s: String| {
        if s.chars().count() > 40 {
            let cut: String = s.chars().take(37).collect();
            format!("{cut}...")
        } else {
            s
        }
    };
    match v {
        Value::Null => "nothing".to_owned(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
        Value::String(s) => format!("the text `{}`", shown(s.clone())),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a mapping".to_owned(),
    }
}
