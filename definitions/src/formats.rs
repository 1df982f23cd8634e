//! The string formats Iranian service forms need, for JSON Schemas of inputs and forms.
//!
//! `format: ir-national-id` checks the ten digits and the check digit of a national ID (کد ملی),
//! `ir-mobile` a mobile number (`09` and nine digits), `ir-postal-code` a ten-digit postal code,
//! and `duration` a duration as the language writes it.

/// Whether `s` is a national ID with a valid check digit.
///
/// The check digit is the last; with `s = Σ dᵢ·(10−i)` over the first nine digits and
/// `r = s mod 11`, it equals `r` when `r < 2` and `11 − r` otherwise. Ten equal digits pass
/// the arithmetic but are never issued, so they are refused.
pub fn is_national_id(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if s.len() != 10 || digits.len() != 10 || digits.iter().all(|d| *d == digits[0]) {
        return false;
    }
    let sum: u32 = digits[..9]
        .iter()
        .enumerate()
        .map(|(i, d)| d * (10 - i as u32))
        .sum();
    let r = sum % 11;
    let check = if r < 2 { r } else { 11 - r };
    digits[9] == check
}

/// Whether `s` is an Iranian mobile number: `09` followed by nine digits.
pub fn is_mobile(s: &str) -> bool {
    s.len() == 11 && s.starts_with("09") && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `s` is a postal code: ten digits, the first five never 0 or 2, the fifth never 5,
/// and none of the last five 2 (the ranges Iran Post issues).
pub fn is_postal_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().all(u8::is_ascii_digit)
        && b[..5].iter().all(|d| *d != b'0' && *d != b'2')
        && b[4] != b'5'
        && b[5..].iter().all(|d| *d != b'2')
}

/// Whether `s` is a duration the language accepts.
pub fn is_duration(s: &str) -> bool {
    s.parse::<crate::model::Duration>().is_ok()
}

/// Whether `s` is a deadline the language accepts: clock time or working time.
pub fn is_span(s: &str) -> bool {
    s.parse::<crate::model::Span>().is_ok()
}

/// Validation options with every format above registered and format checks turned on.
pub fn options() -> jsonschema::ValidationOptions<'static> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .with_format("ir-national-id", is_national_id)
        .with_format("ir-mobile", is_mobile)
        .with_format("ir-postal-code", is_postal_code)
        .with_format("duration", is_duration)
        .with_format("span", is_span)
}

/// Computes the check digit that completes nine digits into a valid national ID; used to
/// make test data and simulator seeds.
pub fn national_id_check_digit(first_nine: &str) -> Option<char> {
    if first_nine.len() != 9 || !first_nine.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first_nine
        .bytes()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * (10 - i as u32))
        .sum();
    let r = sum % 11;
    char::from_digit(if r < 2 { r } else { 11 - r }, 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_ids() {
        assert!(is_national_id("0499370899"));
        assert!(is_national_id("0790419904"));
        assert!(!is_national_id("0499370898"), "wrong check digit");
        assert!(!is_national_id("1111111111"), "all equal");
        assert!(!is_national_id("049937089"), "nine digits");
        assert!(!is_national_id("04993708a9"));
        for seed in ["001234567", "123456789", "987654321"] {
            let id = format!("{seed}{}", national_id_check_digit(seed).unwrap());
            assert!(is_national_id(&id), "{id}");
        }
    }

    #[test]
    fn mobiles_and_postal_codes() {
        assert!(is_mobile("09121234567"));
        assert!(!is_mobile("9121234567"));
        assert!(!is_mobile("0912123456x"));
        assert!(is_postal_code("1345678901"));
        assert!(!is_postal_code("0345678901"));
        assert!(!is_postal_code("1345578901"));
        assert!(!is_postal_code("134567890"));
    }

    #[test]
    fn formats_are_enforced_by_schemas() {
        let schema = serde_json::json!({"type": "string", "format": "ir-national-id"});
        let v = options().build(&schema).unwrap();
        assert!(v.is_valid(&serde_json::json!("0499370899")));
        assert!(!v.is_valid(&serde_json::json!("0499370898")));
    }
}
