//! What an agency must present when it calls back: a token daftar gave it with the request.
//!
//! The correlation keys of callbacks (a step visit's idempotency key, an SMS reference) are
//! made of an instance id, a step and a version: an agency can guess another step's key. So
//! every request that asks for a callback also carries `X-Callback-Token`, an HMAC-SHA256 of the
//! connector's name, the kind of callback and the key under the connector's callback secret,
//! and a callback is taken only with the token of its own connector and key. The token is the
//! same for every retry of a step visit (it is derived, not stored), and every node that shares
//! the connector catalog and its secrets derives and checks the same one.

use std::collections::BTreeMap;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header a request carries the token in, and the callback brings it back in.
pub const HEADER: &str = "X-Callback-Token";

/// What a callback answers: it is part of what the token signs, so that a token for one kind
/// of callback cannot be used for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An agency's late answer to an inquiry.
    Inquiry,
    /// A payment gateway's result.
    Payment,
    /// An SMS centre's delivery report.
    Delivery,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Inquiry => "inquiry",
            Kind::Payment => "payment",
            Kind::Delivery => "delivery",
        }
    }
}

fn mac(secret: &str, kind: Kind, connector: &str, key: &str) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    // Fields separated by NUL, which none of them may contain in a header.
    for part in ["daftar-callback-v1", kind.name(), connector, key] {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    mac
}

/// The token of a callback of `kind` from `connector` about `key`.
pub fn token(secret: &str, kind: Kind, connector: &str, key: &str) -> String {
    mac(secret, kind, connector, key)
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `given` is the token of that callback (compared in constant time).
pub fn verify(secret: &str, kind: Kind, connector: &str, key: &str, given: &str) -> bool {
    let Some(bytes) = unhex(given) else {
        return false;
    };
    mac(secret, kind, connector, key)
        .verify_slice(&bytes)
        .is_ok()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Where a connector's callbacks go and how they are signed: daftar's callback URL of one kind
/// (`{base}/{agency}/{connector}`) and each connector's callback secret.
#[derive(Clone, Debug, Default)]
pub struct Signer {
    base: Option<String>,
    secrets: BTreeMap<String, String>,
}

impl Signer {
    /// Callbacks to `base` (none without it), unsigned until [`Signer::with_secrets`].
    pub fn new(base: Option<String>) -> Signer {
        Signer {
            base: base.map(|b| b.trim_end_matches('/').to_owned()),
            secrets: BTreeMap::new(),
        }
    }

    /// Signs with each connector's callback secret, by connector name.
    pub fn with_secrets(mut self, secrets: BTreeMap<String, String>) -> Signer {
        self.secrets = secrets;
        self
    }

    /// Adds `X-Callback-Url` and, when the connector has a secret, `X-Callback-Token` to a
    /// request that asks for a callback. Without a secret the agency gets no token, and daftar
    /// would refuse its callback anyway.
    pub fn headers(
        &self,
        request: reqwest::RequestBuilder,
        kind: Kind,
        agency: &str,
        connector: &str,
        key: &str,
    ) -> reqwest::RequestBuilder {
        let Some(base) = &self.base else {
            return request;
        };
        let request = request.header("X-Callback-Url", format!("{base}/{agency}/{connector}"));
        match self.secrets.get(connector) {
            Some(secret) => request.header(HEADER, token(secret, kind, connector, key)),
            None => request,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_bound_to_its_secret_kind_connector_and_key() {
        let t = token("s", Kind::Inquiry, "stock_exchange", "i-1:freeze:7");
        assert_eq!(t.len(), 64);
        assert!(verify(
            "s",
            Kind::Inquiry,
            "stock_exchange",
            "i-1:freeze:7",
            &t
        ));
        assert!(!verify(
            "s2",
            Kind::Inquiry,
            "stock_exchange",
            "i-1:freeze:7",
            &t
        ));
        assert!(!verify(
            "s",
            Kind::Payment,
            "stock_exchange",
            "i-1:freeze:7",
            &t
        ));
        assert!(!verify(
            "s",
            Kind::Inquiry,
            "sms_gateway",
            "i-1:freeze:7",
            &t
        ));
        assert!(!verify(
            "s",
            Kind::Inquiry,
            "stock_exchange",
            "i-1:freeze:8",
            &t
        ));
        assert!(!verify(
            "s",
            Kind::Inquiry,
            "stock_exchange",
            "i-1:freeze:7",
            "zz"
        ));
        assert!(!verify(
            "s",
            Kind::Inquiry,
            "stock_exchange",
            "i-1:freeze:7",
            ""
        ));
    }
}
