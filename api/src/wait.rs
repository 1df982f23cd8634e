//! File and wait: `Prefer: wait=N` (RFC 7240) on a call that moves a request holds the answer
//! until the request ends, or comes to rest at a person, a payment, a timer or a message, or N
//! seconds pass, whichever comes first; the answer then says `Preference-Applied: wait=N`.
//!
//! Nothing polls the store while it waits: the waiter listens to the request's own commits
//! (woken by no other request's) and reads its state again, from the engine's cache, only
//! when one arrives; it listens before it reads the state, so no commit in between is missed. Commits made by another node of a shared store
//! are not on this node's feed, so the state is also read once a second.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use daftar_engine::core::InstanceState;
use daftar_engine::events::StreamId;
use daftar_engine::runtime::Engine;

use crate::problem::ApiResult;

/// The longest wait a caller can ask for; longer asks are cut to this.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// How often the state is read while nothing arrives on the feed.
const RECHECK: Duration = Duration::from_secs(1);

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

/// Waits until `stream` is at rest or `wait` has passed, reading its state each time one of
/// its commits is durable (and once a second, for the commits of other nodes); answers the
/// last state read.
pub async fn settle(
    engine: &Engine,
    stream: &StreamId,
    wait: Duration,
) -> ApiResult<InstanceState> {
    let deadline = tokio::time::Instant::now() + wait;
    // Listening before the state is read: a commit made in between is heard.
    let mut commits = engine.listen(stream);
    loop {
        let state = engine.state(stream).await?;
        if !moving(&state) || tokio::time::Instant::now() >= deadline {
            return Ok(state);
        }
        // A commit, a gap in what was heard (read the state again either way), or the recheck.
        tokio::select! {
            _ = commits.recv() => {}
            () = tokio::time::sleep_until((tokio::time::Instant::now() + RECHECK).min(deadline)) => {}
        }
    }
}
