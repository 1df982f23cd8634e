//! Personal data: an applicant's national ID and mobile number are shown only to the roles
//! that work the case (officers and admins of the agency). Everyone else sees them masked,
//! wherever they appear in a form, a variable or an event: every string equal to one of them
//! is replaced by its mask.

use serde_json::Value;

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
}
