//! Verifying every hash chain of a store, as fast as the machine reads and hashes.
//!
//! The store's positions are cut into ranges, read at the same time, each in position order a
//! page at a time, with payloads left as the stored text: the hash covers exactly that text, so
//! nothing needs decoding, and a changed byte fails even where it would decode to the same
//! event. Each range's pages are checked on the blocking pool while its next page is read
//! ([`Chains`]); the ranges are then joined in order, which checks the links across them.

use std::sync::Arc;

use crate::events::{ChainError, Chains};
use crate::store::{Store, StoreError};

/// How many events are read at a time.
const PAGE: u32 = 4096;

/// What verifying a store found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// How many streams.
    pub streams: usize,
    /// How many events.
    pub events: u64,
}

/// Walks every hash chain of the store, reading `ranges` ranges of positions at once (at least
/// one; twice the cores keeps both the database and the hashing busy). `Ok(Err(_))` names a
/// broken chain.
pub async fn verify_store(
    store: Arc<dyn Store>,
    ranges: usize,
) -> Result<Result<Verified, ChainError>, StoreError> {
    let last = store.last_position().await?;
    let ranges = ranges.max(1) as u64;
    let step = last.div_ceil(ranges).max(1);
    let mut tasks = Vec::new();
    let mut from = 0;
    while from < last {
        let until = (from + step).min(last);
        tasks.push(tokio::spawn(check_range(store.clone(), from, until)));
        from = until;
    }
    let mut chains = Chains::default();
    for task in tasks {
        let range = task
            .await
            .map_err(|e| StoreError::Database(format!("a range could not be verified: {e}")))??;
        match range.and_then(|range| chains.then(range)) {
            Ok(joined) => chains = joined,
            Err(broken) => return Ok(Err(broken)),
        }
    }
    Ok(chains
        .finish()
        .map(|(streams, events)| Verified { streams, events }))
}

/// The chains of the positions `(after, until]`.
async fn check_range(
    store: Arc<dyn Store>,
    mut after: u64,
    until: u64,
) -> Result<Result<Chains, ChainError>, StoreError> {
    let mut chains = Chains::default();
    let mut checking: Option<tokio::task::JoinHandle<(Chains, Result<(), ChainError>)>> = None;
    loop {
        let page = store.read_stored(after, until, PAGE).await?;
        if let Some(done) = checking.take() {
            let (checked, outcome) = done
                .await
                .map_err(|e| StoreError::Database(format!("a page could not be verified: {e}")))?;
            if let Err(broken) = outcome {
                return Ok(Err(broken));
            }
            chains = checked;
        }
        let Some(last) = page.last() else {
            return Ok(Ok(chains));
        };
        after = last.position;
        let mut next = std::mem::take(&mut chains);
        checking = Some(tokio::task::spawn_blocking(move || {
            let outcome = page.iter().try_for_each(|e| next.check(e));
            (next, outcome)
        }));
    }
}
