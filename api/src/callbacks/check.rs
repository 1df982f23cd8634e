//! Who may call back, about what: the connector's secret proves which connector is calling;
//! the `X-Callback-Token` daftar sent with its request proves that this connector was asked
//! about this very key. Refused callbacks from an authenticated connector are kept for review.

use axum::http::HeaderMap;
use daftar_engine::connectors::callback::{self, Kind};
use daftar_engine::events::StreamId;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::problem::{ApiError, ErrorCode};
use crate::state::AppState;

/// Refuses a call that does not carry the connector's secret; answers the secret.
pub(super) fn authenticate<'s>(
    state: &'s AppState,
    connector: &str,
    headers: &HeaderMap,
) -> Result<&'s str, ApiError> {
    let Some(secret) = state.callback_secret(connector) else {
        return Err(ApiError::unauthorized(format!(
            "connector `{connector}` has no callback secret configured here; daftar accepts no callbacks for it"
        )));
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Comparing digests takes the same time wherever the two differ.
    if Sha256::digest(given.as_bytes()) != Sha256::digest(secret.as_bytes()) {
        return Err(ApiError::unauthorized(format!(
            "the callback does not carry connector `{connector}`'s secret as `Authorization: Bearer <secret>`"
        )));
    }
    Ok(secret)
}

/// What a callback is about, for the token check and for keeping a refused one.
pub(super) struct About<'a> {
    pub kind: Kind,
    pub connector: &'a str,
    /// The key the token signs (an idempotency key, a payment or SMS reference).
    pub key: &'a str,
    /// The message it would be (`callback`, `payment`), and its id.
    pub name: &'a str,
    pub message_id: &'a str,
}

/// Refuses a callback without the token daftar sent with the request it answers, and keeps it
/// for review (an agency answering for a step it was not asked about is worth a look).
pub(super) async fn token(
    state: &AppState,
    secret: &str,
    headers: &HeaderMap,
    stream: &StreamId,
    about: &About<'_>,
    payload: &Value,
) -> Result<(), ApiError> {
    let given = headers
        .get(callback::HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if callback::verify(secret, about.kind, about.connector, about.key, given) {
        return Ok(());
    }
    if let Err(e) = state
        .engine()
        .store()
        .keep_unmatched_message(
            &stream.agency,
            about.name,
            about.key,
            &format!("refused:{}", about.message_id),
            payload,
        )
        .await
    {
        tracing::error!(error = %e, %stream, "a refused callback could not be kept");
    }
    Err(ApiError::new(
        ErrorCode::BadCallbackToken,
        format!(
            "the callback must bring back the `{}` daftar sent to connector `{}` with its request; \
             it is kept for review",
            callback::HEADER,
            about.connector
        ),
    ))
}
