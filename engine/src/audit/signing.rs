//! Signed checkpoints: a tree's size and root at a time, signed with the agency's Ed25519 key
//! (`ed25519-dalek`, the RustCrypto implementation that most of the ecosystem signs with, which
//! also reads and writes the keys as PKCS#8 and SPKI PEM, so that `openssl` makes and checks
//! them).
//!
//! What is signed is a short text that anyone can rebuild from the checkpoint's fields:
//!
//! ```text
//! daftar checkpoint v1
//! agency AGENCY
//! size N
//! root HEX
//! time RFC3339
//! last_position P
//! ```
//!
//! each line ending in a newline.

use std::path::Path;

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, Verifier};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A signed checkpoint of an agency's tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checkpoint {
    /// The agency whose log it covers.
    pub agency: String,
    /// How many events (leaves) the tree holds.
    pub size: u64,
    /// The tree's root (RFC 6962), hex.
    pub root: String,
    /// When it was taken, RFC 3339 UTC, exactly as signed.
    pub time: String,
    /// The store position of the last event it covers: an event of the agency at or before it
    /// is in the tree.
    pub last_position: u64,
    /// The first 16 hex digits of the SHA-256 of the public key that signed it.
    pub key_id: String,
    /// The Ed25519 signature of [`Checkpoint::signed_text`], hex.
    pub signature: String,
}

impl Checkpoint {
    /// The text the signature covers.
    pub fn signed_text(&self) -> String {
        signed_text(
            &self.agency,
            self.size,
            &self.root,
            &self.time,
            self.last_position,
        )
    }

    /// Checks the signature with `key`; the error says what failed.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), String> {
        let what = || {
            format!(
                "the checkpoint of {} at size {} ({})",
                self.agency, self.size, self.time
            )
        };
        check(key, &self.key_id, &self.signature, &self.signed_text())
            .map_err(|e| format!("{}{e}", what()))
    }
}

/// Checks a detached signature (hex) of `text`, made by the key `claimed_key_id` names, with
/// `key`; the error, to follow the name of what was signed, says what failed.
pub fn check(
    key: &VerifyingKey,
    claimed_key_id: &str,
    signature: &str,
    text: &str,
) -> Result<(), String> {
    if claimed_key_id != key_id(key) {
        return Err(format!(
            " was signed by key {claimed_key_id}, not by the key given ({})",
            key_id(key)
        ));
    }
    let mut bytes = [0u8; 64];
    hex::decode_to_slice(signature, &mut bytes)
        .map_err(|_| ": its signature is not 128 hex digits".to_owned())?;
    key.verify(text.as_bytes(), &Signature::from_bytes(&bytes))
        .map_err(|_| ": its signature does not verify: it was altered".to_owned())
}

/// Signs `text` with `key`: the signature (hex) and the key's id.
pub fn sign_text(key: &SigningKey, text: &str) -> (String, String) {
    (
        hex::encode(key.sign(text.as_bytes()).to_bytes()),
        key_id(&key.verifying_key()),
    )
}

fn signed_text(agency: &str, size: u64, root: &str, time: &str, last_position: u64) -> String {
    format!(
        "daftar checkpoint v1\nagency {agency}\nsize {size}\nroot {root}\ntime {time}\n\
         last_position {last_position}\n"
    )
}

/// Signs a checkpoint of `agency`'s tree.
pub fn sign(
    key: &SigningKey,
    agency: &str,
    size: u64,
    root: &str,
    time: &str,
    last_position: u64,
) -> Checkpoint {
    let (signature, key_id) = sign_text(key, &signed_text(agency, size, root, time, last_position));
    Checkpoint {
        agency: agency.to_owned(),
        size,
        root: root.to_owned(),
        time: time.to_owned(),
        last_position,
        key_id,
        signature,
    }
}

/// A public key's id: the first 16 hex digits of the SHA-256 of its 32 bytes.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// The public key as PEM (SPKI), as `openssl pkey -pubout` writes it.
pub fn public_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .unwrap_or_default()
}

/// Reads a signing key: a PKCS#8 PEM file (`openssl genpkey -algorithm ed25519`), or a raw
/// 32-byte seed (the bytes themselves, or 64 hex digits).
pub fn read_signing_key(path: &Path) -> Result<SigningKey, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read the signing key {}: {e}", path.display()))?;
    parse_signing_key(&bytes).map_err(|e| format!("the signing key {}: {e}", path.display()))
}

/// [`read_signing_key`] of a file's contents.
pub fn parse_signing_key(bytes: &[u8]) -> Result<SigningKey, String> {
    if let Ok(seed) = <[u8; 32]>::try_from(bytes) {
        return Ok(SigningKey::from_bytes(&seed));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| "neither a PEM file nor a 32-byte seed".to_owned())?
        .trim();
    if text.starts_with("-----BEGIN") {
        return SigningKey::from_pkcs8_pem(text)
            .map_err(|e| format!("not an Ed25519 PKCS#8 private key ({e})"));
    }
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text, &mut seed).map_err(|_| {
        "neither an Ed25519 PKCS#8 PEM file nor a 32-byte seed (raw, or 64 hex digits)".to_owned()
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Reads a public key: an SPKI PEM file (`openssl pkey -pubout`), or 64 hex digits.
pub fn read_public_key(path: &Path) -> Result<VerifyingKey, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read the public key {}: {e}", path.display()))?;
    parse_public_key(&bytes).map_err(|e| format!("the public key {}: {e}", path.display()))
}

/// [`read_public_key`] of a file's contents.
pub fn parse_public_key(bytes: &[u8]) -> Result<VerifyingKey, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| "neither a PEM file nor 64 hex digits".to_owned())?
        .trim();
    if text.starts_with("-----BEGIN") {
        return VerifyingKey::from_public_key_pem(text)
            .map_err(|e| format!("not an Ed25519 public key ({e})"));
    }
    let mut raw = [0u8; 32];
    hex::decode_to_slice(text, &mut raw)
        .map_err(|_| "neither an Ed25519 PEM public key nor 64 hex digits".to_owned())?;
    VerifyingKey::from_bytes(&raw).map_err(|_| "not a valid Ed25519 public key".to_owned())
}

/// A new random signing key, as a PKCS#8 PEM (what `serve --demo` makes).
pub fn new_signing_key_pem() -> Result<(SigningKey, String), String> {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| format!("cannot write the key: {e}"))?;
    Ok((key, pem.to_string()))
}
