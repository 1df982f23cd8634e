//! National document IDs (Shams): 20 characters that name one issued document in the country.
//!
//! The national standard (adapted from GS1) builds the ID from the letter or registry number,
//! the date and time of issue, a globally unique part, the signer's national code, the issuing
//! organization's email and national ID, and the issuing unit and post. daftar lays it out as
//! (see `docs/national.md`):
//!
//! ```text
//! AAAA TTTTTT RRRRRRRRR C
//! │    │      │         └ check character (Damm over GF(2⁵)) of the 19 before it
//! │    │      └ the request's registry number: its tracking code less its check character,
//! │    │        unique within the agency (the store refuses a second one)
//! │    └ the minute of issue, counted from 1970-01-01 00:00 UTC
//! └ the issuing agency's registered code, its first character a letter
//! ```
//!
//! all in Crockford's base 32 (no I, L, O or U). Two documents of one agency differ in their
//! registry numbers and two agencies in their codes, so no two IDs are equal whatever their
//! times; a request issues at most one document (its end). Everything comes from the recorded
//! stream (the tracking code of `InstanceStarted`) and [`crate::core::Ctx`] (the agency's code
//! and the time), so `decide` stays pure, and the ID is recorded in `InstanceCompleted`.
//!
//! The base-32 alphabet and the check character are the tracking code's too.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// Crockford's base 32: no I, L, O or U, so nothing is misread over the phone.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// How many characters a document ID has.
pub const LEN: usize = 20;
/// How many characters an agency's registered code has.
pub const CODE_LEN: usize = 4;
/// How many characters the minute of issue takes: 32⁶ minutes reach past the year 4000.
const TIME_LEN: usize = 6;
/// The registry number: a tracking code's nine characters before its check character.
const REGISTRY_LEN: usize = 9;
/// The first character of the codes daftar makes up for agencies that registered none; no
/// registered code may start with it.
pub const UNREGISTERED: char = 'Z';

/// The ID of the document a request issues: `code` is the agency's registered code
/// ([`is_code`]), `issued_at` the recorded time of issue, `tracking_code` the request's.
pub fn compose(code: &str, issued_at: DateTime<Utc>, tracking_code: &str) -> String {
    let minute = u64::try_from(issued_at.timestamp().div_euclid(60)).unwrap_or(0);
    let mut id = String::with_capacity(LEN);
    id.push_str(code);
    id.push_str(&base32(minute, TIME_LEN));
    id.extend(tracking_code.chars().take(REGISTRY_LEN));
    id.push(check_char(&id));
    id
}

/// The parts of a well-formed document ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parts {
    /// The issuing agency's code.
    pub code: String,
    /// The minute of issue.
    pub issued_at: DateTime<Utc>,
    /// The request's registry number (its tracking code less the check character).
    pub registry: String,
}

/// Reads a document ID (any case); `None` when it is not 20 characters of the alphabet with a
/// matching check character and a code that starts with a letter.
pub fn parse(id: &str) -> Option<Parts> {
    let id = id.trim().to_ascii_uppercase();
    if id.len() != LEN
        || !id.bytes().all(|b| ALPHABET.contains(&b))
        || !id.as_bytes()[0].is_ascii_alphabetic()
        || fold(&id) != 0
    {
        return None;
    }
    let minute = id[CODE_LEN..CODE_LEN + TIME_LEN]
        .bytes()
        .fold(0i64, |n, c| n * 32 + i64::from(value(c)));
    Some(Parts {
        code: id[..CODE_LEN].to_owned(),
        issued_at: DateTime::from_timestamp(minute * 60, 0)?,
        registry: id[CODE_LEN + TIME_LEN..LEN - 1].to_owned(),
    })
}

/// Whether `code` may be registered for an agency: four characters of the alphabet, the first
/// a letter other than [`UNREGISTERED`].
pub fn is_code(code: &str) -> bool {
    code.len() == CODE_LEN
        && code.bytes().all(|b| ALPHABET.contains(&b))
        && code.as_bytes()[0].is_ascii_alphabetic()
        && !code.starts_with(UNREGISTERED)
}

/// The code of an agency that registered none: `Z` and three characters of the SHA-256 of its
/// name. Unlike registered codes, two such codes may be equal (one pair of agencies in 32,768),
/// which is why a node that issues documents should be given every agency's registered code.
pub fn unregistered_code(agency: &str) -> String {
    let digest = Sha256::digest(agency.as_bytes());
    let n = u64::from(u16::from_be_bytes([digest[0], digest[1]])) & 0x7fff;
    format!("{UNREGISTERED}{}", base32(n, CODE_LEN - 1))
}

fn base32(mut n: u64, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 32) as usize];
        n /= 32;
    }
    String::from_utf8(out).expect("ASCII")
}

fn value(c: u8) -> u8 {
    ALPHABET.iter().position(|a| *a == c).unwrap_or(0) as u8
}

/// Multiplication by 2 in GF(2⁵), modulo the irreducible x⁵ + x² + 1.
fn double(x: u8) -> u8 {
    let y = x << 1;
    if y & 0x20 != 0 { y ^ 0x25 } else { y }
}

/// Damm's running value over upper-case text of the alphabet: `i ∗ d = 2i + d` (addition in
/// GF(2⁵) is XOR). The quasigroup is totally anti-symmetric, so a text whose value is 0 turns
/// non-zero under any single-character error or swap of unequal neighbours.
pub fn fold(text: &str) -> u8 {
    text.bytes().fold(0, |i, c| double(i) ^ value(c))
}

/// The character that brings the running value of `body` + it to 0.
pub fn check_char(body: &str) -> char {
    ALPHABET[double(fold(body)) as usize] as char
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_layout_is_code_minute_registry_check() {
        let id = compose("JDCR", at("2026-12-04T10:15:42Z"), "JBDG02QVQQ");
        assert_eq!(id.len(), LEN);
        assert!(id.starts_with("JDCR"), "{id}");
        assert_eq!(&id[10..19], "JBDG02QVQ", "{id}");
        let parts = parse(&id).expect("well formed");
        assert_eq!(parts.code, "JDCR");
        assert_eq!(parts.issued_at, at("2026-12-04T10:15:00Z"));
        assert_eq!(parts.registry, "JBDG02QVQ");
        assert_eq!(parse(&id.to_lowercase()), Some(parts));
        // The last minute 32⁶ reaches is past the year 4000: no date of this era overflows.
        assert!(parse(&compose("JDCR", at("4000-01-01T00:00:00Z"), "JBDG02QVQQ")).is_some());
    }

    #[test]
    fn the_check_character_catches_every_single_change_and_swap() {
        let id = compose("MCSW", at("2026-03-21T06:30:00Z"), "7K2M9XQ4RA");
        let bytes = id.as_bytes();
        for i in 0..LEN {
            for &c in ALPHABET {
                if c != bytes[i] {
                    let mut typo = bytes.to_vec();
                    typo[i] = c;
                    let typo = String::from_utf8(typo).unwrap();
                    assert_eq!(parse(&typo), None, "{typo} (from {id})");
                }
            }
        }
        for i in 0..LEN - 1 {
            if bytes[i] != bytes[i + 1] {
                let mut swapped = bytes.to_vec();
                swapped.swap(i, i + 1);
                assert_eq!(parse(std::str::from_utf8(&swapped).unwrap()), None);
            }
        }
    }

    #[test]
    fn two_requests_of_an_agency_in_one_second_never_collide() {
        let now = at("2026-12-04T10:15:42Z");
        // Tracking codes are unique per agency (the store refuses a repeat); the closest two
        // can be differ in one character, and their IDs still differ.
        assert_ne!(
            compose("JDCR", now, "AAAAAAAAA0"),
            compose("JDCR", now, "AAAAAAAAB0")
        );
        // Two agencies' requests with the same tracking code differ by the agencies' codes.
        assert_ne!(
            compose("JDCR", now, "AAAAAAAAA0"),
            compose("MCS5", now, "AAAAAAAAA0")
        );
    }

    #[test]
    fn malformed_ids_and_codes_are_refused() {
        for bad in [
            "",
            "JDCR",
            "JDCR0000000000000000X", // 21 characters
            "JDCR-00000AAAAAAAAA0",  // not the alphabet
            "JDCI00000AAAAAAAAAA0",  // I is not in the alphabet
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        // With a matching check character, still refused: a code starts with a letter, so an
        // old all-digit ID never reads as a new one.
        for body in ["1DCR000000AAAAAAAAA", "1234567890123456789"] {
            let id = format!("{body}{}", check_char(body));
            assert_eq!(fold(&id), 0);
            assert_eq!(parse(&id), None, "{id}");
        }
        assert!(is_code("JDCR"));
        for bad in ["JDC", "JDCR2", "1JDC", "ZJDC", "JDCO", "JUDC", "jdcr"] {
            assert!(!is_code(bad), "{bad}");
        }
        let z = unregistered_code("judiciary");
        assert!(z.starts_with('Z') && z.len() == CODE_LEN, "{z}");
        assert!(!is_code(&z));
        assert_eq!(z, unregistered_code("judiciary"));
    }
}
