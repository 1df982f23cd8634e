//! Whole numbers daftar keeps exactly. JSON is read with 64-bit floats for anything beyond the
//! 64-bit integers, so `85000000000000000000000` arrives as `8.5e22`, rounded; a field its schema
//! types `integer` must not be stored so. Such a value, or any float at or beyond 2^53 where a
//! whole number is expected, is refused with 422 naming its path.

use serde_json::Value;

use crate::problem::{ApiError, ErrorCode};

/// Past this a float cannot say which whole number was written.
const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53

/// The paths (JSON pointers) of `value` where `schema` wants a whole number and the value was
/// rounded on reading.
pub fn inexact(schema: &Value, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(schema, value, String::new(), &mut out);
    out
}

fn wants_integer(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "integer",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "integer"),
        _ => false,
    }
}

fn walk(schema: &Value, value: &Value, path: String, out: &mut Vec<String>) {
    match value {
        Value::Number(n)
            if wants_integer(schema)
                && !n.is_i64()
                && !n.is_u64()
                && n.as_f64().is_some_and(|f| f.abs() >= EXACT) =>
        {
            out.push(if path.is_empty() {
                "/".to_owned()
            } else {
                path
            });
        }
        Value::Object(map) => {
            for (k, v) in map {
                if let Some(s) = schema.get("properties").and_then(|p| p.get(k)) {
                    walk(
                        s,
                        v,
                        format!("{path}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    walk(s, v, format!("{path}/{i}"), out);
                }
            }
        }
        _ => {}
    }
}

/// 422 (`code`: `invalid-input` for an application, `invalid-form` for a task's form) naming
/// every such value.
pub fn check(schema: &Value, value: &Value, code: ErrorCode) -> Result<(), ApiError> {
    let bad = inexact(schema, value);
    if bad.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        code,
        format!(
            "{}: a whole number beyond ±2^53 (9007199254740992) that is not a 64-bit integer \
             cannot be kept exactly; it is refused rather than rounded",
            bad.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rounded_whole_numbers_are_found_and_exact_ones_pass() {
        let schema = json!({"properties": {"amount": {"type": "integer"},
            "rates": {"type": "array", "items": {"type": ["integer", "null"]}},
            "area": {"type": "number"}}});
        let value: Value = serde_json::from_str(
            r#"{"amount": 85000000000000000000000, "rates": [1, 1e30, null],
                "area": 1e30}"#,
        )
        .unwrap();
        assert_eq!(inexact(&schema, &value), ["/amount", "/rates/1"]);
        let fine: Value =
            serde_json::from_str(r#"{"amount": 18446744073709551615, "rates": [2.0]}"#).unwrap();
        assert!(inexact(&schema, &fine).is_empty());
    }
}
