//! The rows kept beside the events, checked against them.
//!
//! A hash chain proves what a stream holds up to its last event, not that the last event is
//! the stream's last, nor that a stream exists at all. The rows written in the same
//! transaction as every append say both: the `commands` table records the version each
//! command left its stream at (so its highest is the stream's head), and every stream has an
//! `instances` row, which must be the fold of its events. Rows that name a stream with no
//! events (`instances`, `commands`, `jobs`, `timers`, `tasks`) are what is left of a stream
//! deleted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, SubsecRound, Utc};

use super::Report;
use crate::core::InstanceState;
use crate::events::{ChainError, StreamId};
use crate::store::effects::instance_row;
use crate::store::{InstanceRow, Ledger, Store, StoreError};

/// How many times a stream that moved on while it was read is read again.
const RETRIES: usize = 5;

fn failure(stream: &StreamId, version: u64, reason: impl Into<String>) -> ChainError {
    ChainError {
        stream: stream.to_string(),
        version,
        reason: reason.into(),
    }
}

/// The report of a store found wrong: the streams and events the rows count.
pub(super) async fn failed(
    store: &dyn Store,
    agency: Option<&str>,
    failure: ChainError,
) -> Result<Report, StoreError> {
    let ledger = store.ledger(agency).await?;
    Ok(Report {
        streams: ledger.streams.len(),
        events: ledger.streams.iter().map(|(_, n, _)| n).sum(),
        failure: Some(failure),
    })
}

/// The first disagreement between the rows and the events, if any.
pub(super) async fn check(
    store: Arc<dyn Store>,
    ranges: usize,
    agency: Option<&str>,
) -> Result<Option<ChainError>, StoreError> {
    let ledger = store.ledger(agency).await?;
    if let Some(found) = heads(&ledger) {
        return Ok(Some(found));
    }
    folds(
        store,
        ranges,
        ledger.streams.into_iter().map(|(s, ..)| s).collect(),
    )
    .await
}

/// Within the ledger's one snapshot: every stream's head is the version its last command
/// left it at, and every row names a stream that has events.
fn heads(ledger: &Ledger) -> Option<ChainError> {
    let commands: BTreeMap<&StreamId, u64> = ledger.commands.iter().map(|(s, v)| (s, *v)).collect();
    let instances: std::collections::BTreeSet<&StreamId> = ledger.instances.iter().collect();
    let mut found: Vec<ChainError> = Vec::new();
    for (stream, _, last) in &ledger.streams {
        match commands.get(stream) {
            Some(&head) if head > *last => found.push(failure(
                stream,
                last + 1,
                format!(
                    "its commands reached version {head} but its last event is {last}: \
                     events were deleted"
                ),
            )),
            Some(&head) if head < *last => found.push(failure(
                stream,
                head + 1,
                format!(
                    "no command is recorded past version {head} but its events reach {last}: \
                     rows were deleted or events inserted"
                ),
            )),
            Some(_) => {}
            None => found.push(failure(
                stream,
                1,
                "no command is recorded for it: its rows were deleted or its events inserted",
            )),
        }
        if !instances.contains(stream) {
            found.push(failure(
                stream,
                *last,
                "it has no instances row: the row was deleted",
            ));
        }
    }
    let with_events: std::collections::BTreeSet<&StreamId> =
        ledger.streams.iter().map(|(s, ..)| s).collect();
    let orphans = ledger
        .instances
        .iter()
        .map(|s| (s, "instances"))
        .chain(ledger.commands.iter().map(|(s, _)| (s, "commands")))
        .chain(ledger.others.iter().map(|(s, t)| (s, t.as_str())));
    for (stream, table) in orphans {
        if !with_events.contains(stream) {
            found.push(failure(
                stream,
                1,
                format!("its {table} rows remain but it has no events: the stream was deleted"),
            ));
        }
    }
    found
        .into_iter()
        .min_by(|a, b| (&a.stream, a.version).cmp(&(&b.stream, b.version)))
}

/// Each stream's `instances` row is the fold of its events (checked on `ranges` streams at
/// once); the first stream, in order, whose row is not.
async fn folds(
    store: Arc<dyn Store>,
    ranges: usize,
    streams: Vec<StreamId>,
) -> Result<Option<ChainError>, StoreError> {
    let streams = Arc::new(streams);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..ranges.max(1) {
        let (store, streams, next) = (store.clone(), streams.clone(), next.clone());
        workers.spawn(async move {
            let mut found: Option<(usize, ChainError)> = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(stream) = streams.get(i) else {
                    return Ok::<_, StoreError>(found);
                };
                if found.is_some() {
                    continue;
                }
                if let Some(f) = fold_matches(&*store, stream).await? {
                    found = Some((i, f));
                }
            }
        });
    }
    let mut first: Option<(usize, ChainError)> = None;
    while let Some(done) = workers.join_next().await {
        let found = done
            .map_err(|e| StoreError::Database(format!("a stream could not be verified: {e}")))??;
        if let Some((i, f)) = found
            && first.as_ref().is_none_or(|(j, _)| i < *j)
        {
            first = Some((i, f));
        }
    }
    Ok(first.map(|(_, f)| f))
}

/// Whether a stream's `instances` row is the fold of its events. The row and the events are
/// written in one transaction but read in two statements: a stream that moved on in between
/// is read again.
async fn fold_matches(
    store: &dyn Store,
    stream: &StreamId,
) -> Result<Option<ChainError>, StoreError> {
    for _ in 0..RETRIES {
        let events = match store.load(stream).await {
            Ok(events) => events,
            Err(StoreError::Corrupt { version, .. }) => {
                return Ok(Some(failure(
                    stream,
                    version,
                    "it cannot be read as an event: it was altered",
                )));
            }
            Err(e) => return Err(e),
        };
        let row = store.instance(stream).await?;
        let state = InstanceState::fold(events.iter().map(|e| &e.event));
        let expected = instance_row(&state);
        // An erased applicant's start is sealed with a key that is gone: the row keeps what
        // it said (the workflow, the tracking code, when), which the events no longer can.
        let erased = state.erased.is_some() && !state.started_readably();
        let differs = match &row {
            Some(row) => differing(row, &expected, erased),
            None => vec!["the whole row"],
        };
        if differs.is_empty() {
            return Ok(None);
        }
        let again = store.load(stream).await.map(|e| e.len()).unwrap_or(0);
        if again == events.len() {
            return Ok(Some(failure(
                stream,
                events.len() as u64,
                format!(
                    "its instances row does not match its events ({}): the row was altered",
                    differs.join(", ")
                ),
            )));
        }
    }
    Ok(Some(failure(
        stream,
        0,
        "it changed every time it was read: verify it again when it is quiet",
    )))
}

/// The fields of `row` that are not those of `expected`.
fn differing(row: &InstanceRow, expected: &InstanceRow, erased: bool) -> Vec<&'static str> {
    const SEALED: [&str; 5] = [
        "workflow",
        "workflow_version",
        "tracking_code",
        "started_at",
        "incidents",
    ];
    // Stores keep microseconds.
    let micros = |t: DateTime<Utc>| t.trunc_subsecs(6);
    [
        ("workflow", row.workflow == expected.workflow),
        (
            "workflow_version",
            row.workflow_version == expected.workflow_version,
        ),
        ("tracking_code", row.tracking_code == expected.tracking_code),
        ("status", row.status == expected.status),
        ("state", row.state == expected.state),
        ("incidents", row.incidents == expected.incidents),
        ("sla_breached", row.sla_breached == expected.sla_breached),
        ("document_id", row.document_id == expected.document_id),
        (
            "started_at",
            micros(row.started_at) == micros(expected.started_at),
        ),
    ]
    .into_iter()
    .filter(|(name, same)| !(*same || erased && SEALED.contains(name)))
    .map(|(name, _)| name)
    .collect()
}
