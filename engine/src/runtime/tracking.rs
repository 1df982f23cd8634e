//! Tracking codes: short, checksummed, unguessable, unique per agency.
//!
//! Ten characters of Crockford's base 32 (no I, L, O or U, so nothing is misread over the
//! phone): nine random ones (45 bits from the operating system's generator) and a check
//! character by the Damm algorithm over the field GF(2⁵) (`daftar_core::document`, which
//! national document IDs share), whose quasigroup `x ∗ y = 2x + y` is
//! totally anti-symmetric: it catches every single-character error and every swap of
//! neighbours (tested exhaustively below).
//! Uniqueness per agency is enforced by the store; a collision (one in 3·10¹³ per pair) is
//! simply drawn again.

use daftar_core::document::{ALPHABET, check_char, fold};
use rand::RngExt;

/// A new tracking code.
pub fn new_code() -> String {
    let mut rng = rand::rng();
    let mut body: String = (0..9)
        .map(|_| ALPHABET[rng.random_range(0..32)] as char)
        .collect();
    body.push(check_char(&body));
    body
}

/// Whether a code is well formed and its check character matches.
pub fn is_valid(code: &str) -> bool {
    let code = code.trim().to_ascii_uppercase();
    code.len() == 10 && code.bytes().all(|b| ALPHABET.contains(&b)) && fold(&code) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_check_and_catch_typos() {
        for _ in 0..200 {
            let code = new_code();
            assert_eq!(code.len(), 10);
            assert!(is_valid(&code), "{code}");
            assert!(is_valid(&code.to_lowercase()));
            let bytes = code.as_bytes();
            for i in 0..10 {
                for &c in ALPHABET {
                    if c == bytes[i] {
                        continue;
                    }
                    let mut typo = bytes.to_vec();
                    typo[i] = c;
                    assert!(
                        !is_valid(std::str::from_utf8(&typo).unwrap()),
                        "single error in {code}"
                    );
                }
            }
            for i in 0..9 {
                if bytes[i] != bytes[i + 1] {
                    let mut swapped = bytes.to_vec();
                    swapped.swap(i, i + 1);
                    assert!(
                        !is_valid(std::str::from_utf8(&swapped).unwrap()),
                        "swap in {code}"
                    );
                }
            }
        }
    }
}
