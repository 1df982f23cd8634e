//! The signed answer of a national document's verification (`GET /api/v1/documents/{id}`):
//! valid or revoked, who issued it, when, for which service, the holder masked, and for a
//! permit its public milestones; nothing else. It carries a detached Ed25519 signature by the
//! agency's key over a text anyone can rebuild from its fields, so a verifier checks it with
//! the agency's public key and no connection (`daftar verify-document FILE --key PUB`):
//!
//! ```text
//! daftar document v1
//! document_id "…"
//! status "valid"            (or "revoked")
//! agency "…"
//! service "…"
//! issued_at "RFC3339"
//! holder "********99"
//! revoked_at "RFC3339"      (only when revoked)
//! reason "…"                (only when revoked)
//! milestone "STATUS" "RFC3339"   (one per milestone, permits only)
//! answered_at "RFC3339"
//! ```
//!
//! Each value is written as a JSON string, so that no text (a reason with a newline) can pass
//! for another line; each line ends in a newline.

use serde::{Deserialize, Serialize};

use super::signing::{self, SigningKey, VerifyingKey};

/// What verification says of a document, signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentStatus {
    /// The national document ID.
    pub document_id: String,
    /// `valid`, or `revoked`.
    pub status: String,
    /// The issuing agency.
    pub agency: String,
    /// The service (workflow id) that issued it.
    pub service: String,
    /// When it was issued, RFC 3339 UTC.
    pub issued_at: String,
    /// The holder's national ID, all but its last two characters masked.
    pub holder: String,
    /// When it was revoked, once revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Why it was revoked, once revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a permit, the public statuses its request went through, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<DocumentMilestone>,
    /// When this answer was given, RFC 3339 UTC: a verifier who holds an older answer knows
    /// it says nothing of what happened since.
    pub answered_at: String,
    /// The first 16 hex digits of the SHA-256 of the public key that signed it; absent when
    /// the node has no signing key.
    pub key_id: Option<String>,
    /// The Ed25519 signature of [`DocumentStatus::signed_text`], hex.
    pub signature: Option<String>,
}

/// A public status a permit's request entered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentMilestone {
    /// The status id.
    pub status: String,
    /// When, RFC 3339 UTC.
    pub at: String,
}

impl DocumentStatus {
    /// The text the signature covers.
    pub fn signed_text(&self) -> String {
        let mut text = String::from("daftar document v1\n");
        let mut line = |name: &str, values: &[&str]| {
            text.push_str(name);
            for v in values {
                text.push(' ');
                text.push_str(&serde_json::to_string(v).expect("a string serializes"));
            }
            text.push('\n');
        };
        line("document_id", &[&self.document_id]);
        line("status", &[&self.status]);
        line("agency", &[&self.agency]);
        line("service", &[&self.service]);
        line("issued_at", &[&self.issued_at]);
        line("holder", &[&self.holder]);
        if let Some(at) = &self.revoked_at {
            line("revoked_at", &[at]);
        }
        if let Some(reason) = &self.reason {
            line("reason", &[reason]);
        }
        for m in &self.milestones {
            line("milestone", &[&m.status, &m.at]);
        }
        line("answered_at", &[&self.answered_at]);
        text
    }

    /// Signs it with `key` (filling `key_id` and `signature`).
    pub fn sign(mut self, key: &SigningKey) -> DocumentStatus {
        let (signature, key_id) = signing::sign_text(key, &self.signed_text());
        self.signature = Some(signature);
        self.key_id = Some(key_id);
        self
    }

    /// Checks the signature with `key`; the error says what failed.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), String> {
        let what = format!("the verification of document {}", self.document_id);
        let (Some(key_id), Some(signature)) = (&self.key_id, &self.signature) else {
            return Err(format!("{what} is not signed"));
        };
        signing::check(key, key_id, signature, &self.signed_text())
            .map_err(|e| format!("{what}{e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> DocumentStatus {
        DocumentStatus {
            document_id: "JUD101A2B3JBDG02QVQ7".into(),
            status: "valid".into(),
            agency: "judiciary".into(),
            service: "clean-record-certificate".into(),
            issued_at: "2026-12-04T10:15:42Z".into(),
            holder: "********99".into(),
            revoked_at: None,
            reason: None,
            milestones: vec![],
            answered_at: "2026-12-05T08:00:00Z".into(),
            key_id: None,
            signature: None,
        }
    }

    #[test]
    fn a_signed_answer_verifies_and_any_change_fails() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let signed = status().sign(&key);
        signed.verify(&key.verifying_key()).expect("verifies");
        let mut revoked = signed.clone();
        revoked.status = "revoked".into();
        assert!(revoked.verify(&key.verifying_key()).is_err());
        // A newline in a value cannot forge another line: values are JSON strings.
        let mut forged = signed.clone();
        forged.holder = "********99\"\nstatus \"valid".into();
        assert!(forged.verify(&key.verifying_key()).is_err());
        let other = SigningKey::from_bytes(&[8; 32]);
        let err = signed.verify(&other.verifying_key()).unwrap_err();
        assert!(err.contains("not by the key given"), "{err}");
        assert!(status().verify(&key.verifying_key()).is_err(), "unsigned");
    }
}
