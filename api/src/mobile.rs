//! Mobile numbers as applicants type them: the one proof of who filed a request that a citizen
//! without a token brings (tracking, a citizen's message).

use daftar_engine::Definition;
use serde_json::Value;

/// Whether `given` (already [`normalize`]d) is the mobile number the request with `input` was
/// filed with, by `def`'s applicant.
pub fn is_applicants(def: &Definition, input: &Value, given: &str) -> bool {
    def.applicant(input)
        .0
        .is_some_and(|filed_with| same(&normalize(&filed_with), given))
}

/// A mobile number in one spelling: ASCII digits, national form (`09…`). Persian and Arabic
/// digits become ASCII; spaces, dashes and parentheses go; `+98`, `0098` and `98` become `0`.
pub fn normalize(raw: &str) -> String {
    let mut s = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '0'..='9' | '+' => s.push(c),
            '\u{06F0}'..='\u{06F9}' => s.push(shift_digit(c, 0x06F0)),
            '\u{0660}'..='\u{0669}' => s.push(shift_digit(c, 0x0660)),
            ' ' | '-' | '(' | ')' | '\u{00A0}' => {}
            // Anything else keeps the number from matching.
            _ => s.push(c),
        }
    }
    if let Some(rest) = s.strip_prefix("+98").or_else(|| s.strip_prefix("0098")) {
        return format!("0{rest}");
    }
    if s.len() == 12 && s.starts_with("989") {
        return format!("0{}", &s[2..]);
    }
    if s.len() == 10 && s.starts_with('9') {
        return format!("0{s}");
    }
    s
}

fn shift_digit(c: char, zero: u32) -> char {
    char::from_digit(u32::from(c) - zero, 10).unwrap_or(c)
}

/// Compares two strings in time that depends on their lengths only.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_numbers_are_read_in_every_spelling() {
        for raw in [
            "09121234567",
            "+989121234567",
            " 989121234567",
            "00989121234567",
            "9121234567",
            "0912-123-4567",
            "۰۹۱۲۱۲۳۴۵۶۷",
            "٠٩١٢١٢٣٤٥٦٧",
        ] {
            assert_eq!(normalize(raw), "09121234567", "{raw}");
        }
        assert_ne!(normalize("0912123456x"), "09121234567");
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
