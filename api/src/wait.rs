//! File and wait: `Prefer: wait=N` (RFC 7240) on a call that moves a request holds the answer
//! until the request ends, or comes to rest at a person, a payment, a timer or a message, or N
//! seconds pass, whichever comes first; the answer then says `Preference-Applied: wait=N`.
//!
//! Nothing polls the store while it waits: the waiter subscribes to the node's commit feed
//! before the command is sent and reads the request's state again only when a commit of that
//! request arrives (from the engine's cache). Commits made by another node of a shared store
//! are not on this node's feed, so the state is also read once a second.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use daftar_engine::core::InstanceState;
use daftar_engine::events::StreamId;
use daftar_engine::runtime::{Appended, Engine};
use tokio::sync::broadcast;

use crate::problem::ApiResult;

/// The longest wait a caller can ask for; longer asks are cut to this.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// How often the state is read while nothing arrives on the feed.
const RECHECK: Duration = Duration::from_secs(1);

/// The node's commit feed, as a waiter holds it.
pub type Feed = broadcast::Receiver<std::sync::Arc<Appended>>;

/// The `Preference-Applied` header.
pub const PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");

/// The wait a caller prefers, from `Prefer: wait=N` (seconds, cut to [`MAX_WAIT`]); `None`
/// when it asks for none. Other preferences, and a `wait` that is not a number, are ignored
/// as RFC 7240 says.
pub fn preferred(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .filter_map(|p| {
            let (name, value) = p.split_once('=')?;
            (name.trim().eq_ignore_ascii_case("wait"))
                .then(|| value.trim().trim_matches('"').parse::<u64>().ok())
                .flatten()
        })
        .map(|s| Duration::from_secs(s).min(MAX_WAIT))
        .next()
}

/// The header that says the wait was honoured.
pub fn applied(wait: Duration) -> (HeaderName, HeaderValue) {
    (
        PREFERENCE_APPLIED,
        HeaderValue::from_str(&format!("wait={}", wait.as_secs()))
            .unwrap_or(HeaderValue::from_static("wait")),
    )
}

/// Whether the request is still moving by itself: a step running, an agency being asked or
/// retried, a payment being opened, a sub-workflow running. Anything else (an end, a task,
/// an open payment, a timer, a message, an agency's callback, an incident) is rest.
pub fn moving(state: &InstanceState) -> bool {
    !state.ended() && state.tokens.values().any(|t| t.wait.moves_by_itself())
}

/// Waits until `stream` is at rest or `wait` has passed, reading its state when a commit of
/// it arrives on `feed` (subscribed before the command that moved it was sent); answers the
/// last state read.
pub async fn settle(
    engine: &Engine,
    stream: &StreamId,
    mut feed: broadcast::Receiver<std::sync::Arc<Appended>>,
    wait: Duration,
) -> ApiResult<InstanceState> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let state = engine.state(stream).await?;
        if !moving(&state) || tokio::time::Instant::now() >= deadline {
            return Ok(state);
        }
        let recheck = tokio::time::Instant::now() + RECHECK;
        loop {
            tokio::select! {
                got = feed.recv() => match got {
                    Ok(appended) if &appended.stream == stream => break,
                    Ok(_) => continue,
                    // Fell behind the feed, or it closed: read the state again.
                    Err(broadcast::error::RecvError::Lagged(_)) => break,
                    Err(broadcast::error::RecvError::Closed) => {
                        tokio::time::sleep_until(recheck.min(deadline)).await;
                        break;
                    }
                },
                () = tokio::time::sleep_until(recheck.min(deadline)) => break,
            }
        }
    }
}
