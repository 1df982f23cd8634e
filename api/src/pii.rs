//! Personal data: the values a service's schemas declare personal are shown only to the roles
//! that work the case (officers and admins of the agency). Everyone else sees them masked,
//! wherever they appear in a form, a variable or an event: every string equal to one of them
//! is replaced by its mask.
//!
//! What is personal: the applicant's national ID and mobile number; every field of the
//! application form and of task forms whose schema has the format `ir-national-id`, `ir-mobile`
//! or `ir-postal-code`, or says `x-personal: true` (a debtor's or a judge's national ID as much
//! as the applicant's); and, since the connector catalog gives agencies' answers no schema,
//! every field of an answer, a message or a variable whose name ends in `national_id`,
//! `mobile` or `postal_code`.

use std::collections::BTreeMap;

use daftar_engine::Definition;
use daftar_engine::core::InstanceState;
use daftar_engine::events::Event;
use serde_json::Value;

/// Formats whose values are personal.
const PERSONAL_FORMATS: [&str; 3] = ["ir-national-id", "ir-mobile", "ir-postal-code"];
/// Field names (suffixes) whose values are personal in schema-less data.
const PERSONAL_NAMES: [&str; 3] = ["national_id", "mobile", "postal_code"];

/// Masks all but the last two characters: `0912*****67` → `*********67`.
pub fn mask(s: &str) -> String {
    let n = s.chars().count();
    s.chars()
        .enumerate()
        .map(|(i, c)| if i + 2 < n { '*' } else { c })
        .collect()
}

/// Replaces, anywhere in `value`, every string equal to one of `secrets` by its mask.
pub fn redact(value: &mut Value, secrets: &[&str]) {
    match value {
        Value::String(s) if secrets.iter().any(|p| !p.is_empty() && p == s) => *s = mask(s),
        Value::Array(items) => items.iter_mut().for_each(|v| redact(v, secrets)),
        Value::Object(map) => map.values_mut().for_each(|v| redact(v, secrets)),
        _ => {}
    }
}

/// The personal values of a request: from its form, its variables and, when given, the events
/// of its history (task forms, agencies' answers, messages).
pub fn personal_values<'a>(
    def: &Definition,
    s: &InstanceState,
    history: impl IntoIterator<Item = &'a Event>,
) -> Vec<String> {
    let wf = def.compiled().workflow();
    let (mobile, national_id) = def.applicant(&s.input);
    // The applicant's token subject too: an identity provider may use the national ID as it.
    let mut out: Vec<String> = [mobile, national_id, s.filed_by.clone()]
        .into_iter()
        .flatten()
        .collect();
    by_schema(&wf.input.schema, &s.input, &mut out);
    if let Ok(vars) = serde_json::to_value(&s.vars) {
        by_name(&vars, &mut out);
    }
    let mut forms: BTreeMap<&str, &str> = BTreeMap::new();
    for e in history {
        match e {
            Event::TaskCreated {
                task,
                form: Some(form),
                ..
            } => {
                forms.insert(task, form);
            }
            Event::TaskCompleted { task, form, .. } => {
                if let Some(f) = forms.get(task.as_str()).and_then(|f| wf.forms.get(*f)) {
                    by_schema(&f.schema, form, &mut out);
                }
                by_name(form, &mut out);
            }
            Event::InquiryAnswered { evidence, .. } => by_name(&evidence.response, &mut out),
            Event::MessageReceived { payload, .. } => by_name(payload, &mut out),
            _ => {}
        }
    }
    // Two characters or fewer would mask every `1` and `no` of a history.
    out.retain(|v| v.chars().count() > 2);
    out.sort();
    out.dedup();
    out
}

fn personal(schema: &Value) -> bool {
    schema.get("x-personal") == Some(&Value::Bool(true))
        || schema
            .get("format")
            .and_then(Value::as_str)
            .is_some_and(|f| PERSONAL_FORMATS.contains(&f))
}

/// Pushes the values of `value` that `schema` (or a part of it) declares personal.
fn by_schema(schema: &Value, value: &Value, out: &mut Vec<String>) {
    if personal(schema) {
        every_string(value, out);
        return;
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if let Some(s) = schema.get("properties").and_then(|p| p.get(k)) {
                    by_schema(s, v, out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                items.iter().for_each(|v| by_schema(s, v, out));
            }
        }
        _ => {}
    }
}

/// Pushes the values of fields named as personal, at any depth.
fn by_name(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if PERSONAL_NAMES.iter().any(|n| k.ends_with(n)) {
                    every_string(v, out);
                } else {
                    by_name(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| by_name(v, out)),
        _ => {}
    }
}

fn every_string(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| every_string(v, out)),
        Value::Object(map) => map.values().for_each(|v| every_string(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_copy_is_masked_and_nothing_else() {
        let mut v = json!({"mobile": "09121234567", "nested": [{"to": "09121234567"}],
                           "national_id": "0499370899", "name": "Zahra"});
        redact(&mut v, &["09121234567", "0499370899"]);
        assert_eq!(
            v,
            json!({"mobile": "*********67", "nested": [{"to": "*********67"}],
                   "national_id": "********99", "name": "Zahra"})
        );
    }

    #[test]
    fn schemas_and_names_say_what_is_personal() {
        let schema = json!({"properties": {
            "debtor": {"type": "string", "format": "ir-national-id"},
            "heirs": {"type": "array", "items": {"type": "string", "x-personal": true}},
            "amount": {"type": "integer"}}});
        let mut out = Vec::new();
        by_schema(
            &schema,
            &json!({"debtor": "0790419904", "heirs": ["Ali Rezaei"], "amount": 5}),
            &mut out,
        );
        by_name(
            &json!({"owner": {"owner_national_id": "0012345679"}, "city": "Qom"}),
            &mut out,
        );
        assert_eq!(out, ["0790419904", "Ali Rezaei", "0012345679"]);
    }
}
