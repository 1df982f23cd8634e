//! Authentication and authorization: JWT bearer tokens.
//!
//! A token is signed with HS256 (a shared secret) or RS256 (the server holds the public key).
//! The issuer, the audience, the expiry and `nbf` are checked (with 30 s of leeway for clocks
//! that drift); a token with `alg: none`, another algorithm than the one configured, or a bad
//! signature is refused. A token must say when it was issued (`iat`, not in the future) and may
//! live at most [`Keys::with_max_lifetime`] (24 h unless `serve` is told otherwise): a leaked
//! token cannot be made to work for a year by minting it with a far `exp`. The claims carry the
//! caller's **agency** (every read and write is scoped to it), their **roles** and, for
//! officers, the **task roles** they hold (which tasks of the worklist they may take).

use std::fmt;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::problem::ApiError;

/// What a caller may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An applicant, or the agency's portal filing on their behalf.
    Citizen,
    /// An agency officer, who works the tasks of the task roles in the token.
    Officer,
    /// A process designer: deploys and validates definitions.
    Designer,
    /// An auditor: reads histories and verifies hash chains.
    Auditor,
    /// An agency administrator: everything in the agency.
    Admin,
}

impl Role {
    /// The name in tokens and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Citizen => "citizen",
            Role::Officer => "officer",
            Role::Designer => "designer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// Reads a name.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "citizen" => Role::Citizen,
            "officer" => Role::Officer,
            "designer" => Role::Designer,
            "auditor" => Role::Auditor,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The claims of a daftar token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The caller: an officer's id, a portal's id.
    pub sub: String,
    /// The agency every call is scoped to.
    pub agency: String,
    /// The caller's roles.
    pub roles: Vec<Role>,
    /// For officers: the task roles they hold (`licensing-officer`, `supervisor`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_roles: Vec<String>,
    /// The issuer.
    pub iss: String,
    /// The audience.
    pub aud: String,
    /// Expiry, in seconds since the epoch.
    pub exp: u64,
    /// Issued at, in seconds since the epoch. Required: a token without it is refused (read
    /// as 0, which no lifetime admits).
    #[serde(default)]
    pub iat: u64,
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq)]
pub struct Principal {
    /// Who.
    pub subject: String,
    /// Their agency.
    pub agency: String,
    /// Their roles.
    pub roles: Vec<Role>,
    /// Their task roles.
    pub task_roles: Vec<String>,
}

impl Principal {
    /// Whether the caller has `role` (an admin has every role of their agency).
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role) || self.roles.contains(&Role::Admin)
    }

    /// Refuses with 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.iter().any(|r| self.has(*r)) {
            return Ok(());
        }
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(ApiError::forbidden(format!(
            "this needs the role {}; the token has {}",
            names.join(" or "),
            if self.roles.is_empty() {
                "none".to_owned()
            } else {
                self.roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        )))
    }

    /// Whether the caller may work tasks of `task_role` (admins may work every task).
    pub fn holds_task_role(&self, task_role: &str) -> bool {
        self.roles.contains(&Role::Admin)
            || (self.roles.contains(&Role::Officer)
                && self.task_roles.iter().any(|r| r == task_role))
    }
}

/// How tokens are checked (and, with a secret, minted).
#[derive(Clone)]
pub struct Keys {
    algorithm: Algorithm,
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    issuer: String,
    audience: String,
    max_lifetime: u64,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

/// The issuer daftar's own tokens name.
pub const DEFAULT_ISSUER: &str = "daftar";
/// The audience daftar's own tokens name.
pub const DEFAULT_AUDIENCE: &str = "daftar-api";
/// The longest a token may live (`exp - iat`) unless configured: 24 hours, in seconds.
pub const DEFAULT_MAX_LIFETIME: u64 = 24 * 3600;
/// How far clocks may disagree, in seconds, for `exp`, `nbf` and `iat`.
const LEEWAY: u64 = 30;

impl Keys {
    /// HS256 with a shared secret: checks tokens and can mint them.
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str) -> Result<Keys, String> {
        if secret.len() < 32 {
            return Err(format!(
                "the HS256 secret is {} bytes; use at least 32 random bytes",
                secret.len()
            ));
        }
        Ok(Keys {
            algorithm: Algorithm::HS256,
            decoding: DecodingKey::from_secret(secret),
            encoding: Some(EncodingKey::from_secret(secret)),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            max_lifetime: DEFAULT_MAX_LIFETIME,
        })
    }

    /// RS256 with an identity provider's public key (PEM): checks tokens, mints none.
    pub fn rs256(public_pem: &[u8], issuer: &str, audience: &str) -> Result<Keys, String> {
        let decoding = DecodingKey::from_rsa_pem(public_pem)
            .map_err(|e| format!("the RS256 public key is not a PEM RSA key: {e}"))?;
        Ok(Keys {
            algorithm: Algorithm::RS256,
            decoding,
            encoding: None,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            max_lifetime: DEFAULT_MAX_LIFETIME,
        })
    }

    /// The same keys, refusing tokens whose `exp - iat` is over `seconds`.
    pub fn with_max_lifetime(mut self, seconds: u64) -> Keys {
        self.max_lifetime = seconds;
        self
    }

    /// Checks a token: signature, algorithm, issuer, audience, expiry, `nbf`, and that it was
    /// issued (`iat`) in the past for at most the maximum lifetime.
    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let mut validation = Validation::new(self.algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY;
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                ApiError::unauthorized(match e.kind() {
                    K::ExpiredSignature => "the token has expired; get a new one".to_owned(),
                    K::ImmatureSignature => "the token is not valid yet (`nbf`)".to_owned(),
                    K::InvalidAudience => format!(
                        "the token is not for this API (audience must be `{}`)",
                        self.audience
                    ),
                    K::InvalidIssuer => format!("the token was not issued by `{}`", self.issuer),
                    K::InvalidAlgorithm => {
                        format!("the token must be signed with {:?}", self.algorithm)
                    }
                    K::InvalidSignature => "the token's signature does not verify".to_owned(),
                    K::MissingRequiredClaim(c) => format!("the token has no `{c}` claim"),
                    _ => "the bearer token is malformed".to_owned(),
                })
            })?;
        let c = data.claims;
        self.check_lifetime(&c)?;
        if c.agency.is_empty() {
            return Err(ApiError::unauthorized("the token names no agency"));
        }
        Ok(Principal {
            subject: c.sub,
            agency: c.agency,
            roles: c.roles,
            task_roles: c.task_roles,
        })
    }

    fn check_lifetime(&self, c: &Claims) -> Result<(), ApiError> {
        if c.iat == 0 {
            return Err(ApiError::unauthorized(
                "the token has no `iat` claim; daftar needs it to bound how long a token lives",
            ));
        }
        let now = jsonwebtoken::get_current_timestamp();
        if c.iat > now + LEEWAY {
            return Err(ApiError::unauthorized(
                "the token says it was issued in the future (`iat`)",
            ));
        }
        if c.exp.saturating_sub(c.iat) > self.max_lifetime {
            return Err(ApiError::unauthorized(format!(
                "the token lives {} s (`exp - iat`); this API accepts at most {} s",
                c.exp.saturating_sub(c.iat),
                self.max_lifetime
            )));
        }
        Ok(())
    }

    /// Mints a token (HS256 only) valid for `ttl` seconds from now.
    pub fn mint(
        &self,
        subject: &str,
        agency: &str,
        roles: Vec<Role>,
        task_roles: Vec<String>,
        ttl: u64,
    ) -> Result<String, String> {
        let Some(key) = &self.encoding else {
            return Err("tokens can only be minted with an HS256 secret".to_owned());
        };
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            agency: agency.to_owned(),
            roles,
            task_roles,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now + ttl,
            iat: now,
        };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, key).map_err(|e| e.to_string())
    }
}

/// The caller, from any state that holds the token keys (the server's [`crate::AppState`]).
impl<S> FromRequestParts<S> for Principal
where
    S: Send + Sync,
    Arc<Keys>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            return Err(ApiError::unauthorized(
                "this needs a bearer token: `Authorization: Bearer <token>` (`daftar token` mints one)",
            ));
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
            })?;
        Arc::<Keys>::from_ref(state).verify(token.trim())
    }
}
