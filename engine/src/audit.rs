//! Verifying a store: every hash chain, and every row kept beside the events, as fast as the
//! machine reads and hashes. `daftar verify` and `GET /api/v1/audit/verify` both call
//! [`verify_store`], the API scoped to the caller's agency.
//!
//! First the chains: the store's positions are cut into ranges, read at the same time, each in
//! position order a page at a time, with payloads left as the stored text: the hash covers
//! exactly that text, so nothing needs decoding, and a changed byte fails even where it would
//! decode to the same event. Each range's pages are checked on the blocking pool while its next
//! page is read ([`Chains`]); the ranges are then joined in order, which checks the links
//! across them. Then the rows ([`rows`]): what the `commands`, `instances`, `jobs`, `timers`
//! and `tasks` tables say about each stream must agree with its events, which is what catches
//! a stream's last events or a whole stream deleted.
//!
//! What the agency's own database cannot prove, signed checkpoints do: a Merkle tree over each
//! agency's events ([`merkle`], kept in the store by [`checkpoint`]), its root signed with the
//! agency's key ([`signing`]); a request's [`receipt`], and an [`export`] of the log that
//! [`offline`] checks with no database.

pub mod checkpoint;
pub mod document;
pub mod export;
pub mod merkle;
pub mod offline;
pub mod receipt;
pub mod record;
mod rows;
pub mod signing;
pub mod whatif;

use std::sync::Arc;

use crate::events::{ChainError, Chains};
use crate::store::{Store, StoreError};

/// How many events are read at a time.
const PAGE: u32 = 4096;

/// What verifying a store found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// How many streams.
    pub streams: usize,
    /// How many events.
    pub events: u64,
    /// The first problem found, if any.
    pub failure: Option<ChainError>,
}

/// Verifies the streams of `agency` (every agency's when `None`), reading `ranges` ranges of
/// positions at once (at least one; twice the cores keeps both the database and the hashing
/// busy): each stream's hash chain, the `type` column of each event against its payload, and
/// the rows beside the events against them. The error is the database's; anything the store
/// holds that is wrong is the report's `failure`.
pub async fn verify_store(
    store: Arc<dyn Store>,
    ranges: usize,
    agency: Option<&str>,
) -> Result<Report, StoreError> {
    let chains = match readable(walk_chains(store.clone(), ranges, agency).await)? {
        Ok(counts) => counts,
        Err(failure) => return rows::failed(&*store, agency, failure).await,
    };
    let (streams, events) = chains;
    if let Some(failure) = rows::check(store.clone(), ranges, agency).await? {
        return rows::failed(&*store, agency, failure).await;
    }
    Ok(Report {
        streams,
        events,
        failure: None,
    })
}

/// An event that cannot be read at all was altered too: a failure, not an error. What the
/// parser said stays in the log (it may quote the stored text).
fn readable<T>(
    found: Result<Result<T, ChainError>, StoreError>,
) -> Result<Result<T, ChainError>, StoreError> {
    match found {
        Err(StoreError::Corrupt {
            stream,
            version,
            reason,
        }) => {
            tracing::warn!(%stream, version, %reason, "a stored event cannot be read");
            Ok(Err(ChainError {
                stream,
                version,
                reason: "it cannot be read as an event: it was altered".to_owned(),
            }))
        }
        other => other,
    }
}

/// Walks the hash chains; answers how many streams and events they hold.
async fn walk_chains(
    store: Arc<dyn Store>,
    ranges: usize,
    agency: Option<&str>,
) -> Result<Result<(usize, u64), ChainError>, StoreError> {
    let last = store.last_position().await?;
    let ranges = ranges.max(1) as u64;
    let step = last.div_ceil(ranges).max(1);
    let agency: Option<Arc<str>> = agency.map(Arc::from);
    let mut tasks = Vec::new();
    let mut from = 0;
    while from < last {
        let until = (from + step).min(last);
        tasks.push(tokio::spawn(check_range(
            store.clone(),
            from,
            until,
            agency.clone(),
        )));
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
    Ok(chains.finish())
}

/// The chains of the positions `(after, until]`, of `agency`'s streams only when given.
async fn check_range(
    store: Arc<dyn Store>,
    mut after: u64,
    until: u64,
    agency: Option<Arc<str>>,
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
        let agency = agency.clone();
        checking = Some(tokio::task::spawn_blocking(move || {
            let outcome = page
                .iter()
                .filter(|e| agency.as_deref().is_none_or(|a| e.stream.agency == a))
                .try_for_each(|e| next.check(e));
            (next, outcome)
        }));
    }
}
