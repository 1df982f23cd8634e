//! `Idempotency-Key`, as the IETF draft has it: a key is the caller's own (two callers sending
//! the same key are two requests) and names one request, bound to a fingerprint of what was
//! asked; the same key again with the same request repeats it (one effect), with another
//! request it is refused (`422 idempotency-key-reused`), never answered with the first one.
//!
//! The key never reaches the store as sent: it is hashed with the caller's `sub`, so a key
//! cannot be used to find or replay another caller's request.

use axum::http::HeaderMap;
use daftar_engine::events::StreamId;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::problem::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

/// The `Idempotency-Key` header, if any: 1 to 200 ASCII characters.
pub fn header(headers: &HeaderMap) -> ApiResult<Option<String>> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let key = v.to_str().map_err(|_| {
                ApiError::new(
                    ErrorCode::BadIdempotencyKey,
                    "Idempotency-Key must be ASCII",
                )
            })?;
            if key.is_empty() || key.len() > 200 {
                return Err(ApiError::new(
                    ErrorCode::BadIdempotencyKey,
                    "Idempotency-Key must be 1 to 200 characters",
                ));
            }
            Ok(Some(key.to_owned()))
        }
    }
}

/// The caller's key, scoped to the caller: what the engine is given in its place.
pub fn scoped(who: &Principal, key: &str) -> String {
    format!("k-{}", digest(&[&who.agency, &who.subject, key]))
}

/// 422: the key was used before by this caller for another request.
pub fn reused() -> ApiError {
    ApiError::new(
        ErrorCode::IdempotencyKeyReused,
        "this Idempotency-Key was used before with another request; use a new key for a new request",
    )
}

/// The id of a command on `stream` (`{action}:…`): with the caller's key, the same id for the
/// same caller, key and request, so a retry is one command; refused when the caller used the
/// key on this request for another command. Without a key, an id no other call has.
pub async fn command_id(
    state: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    stream: &StreamId,
    action: &str,
    request: &impl Serialize,
) -> ApiResult<String> {
    let Some(key) = header(headers)? else {
        return Ok(format!("{action}:{}", unique()));
    };
    let fingerprint = serde_json::to_string(request).unwrap_or_default();
    let base = format!("{action}:{}#", scoped(who, &key));
    let id = format!("{base}{}", digest(&[&fingerprint]));
    let events = state.engine().store().load(stream).await?;
    if events
        .iter()
        .any(|e| e.command_id.starts_with(&base) && e.command_id != id)
    {
        return Err(reused());
    }
    Ok(id)
}

/// An id no other call has.
pub fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// 32 hex digits of the SHA-256 of the parts, separated by NUL.
fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
