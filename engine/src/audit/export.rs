//! Exporting an agency's log: JSON lines that [`super::offline`] checks with no database.
//!
//! The first line is the header (`{"header": {...}}`): the agency, the first leaf exported and
//! the tree's right edge just before it (so that a range can be checked against checkpoints
//! without the events before it). Then every signed checkpoint of the agency
//! (`{"checkpoint": {...}}`), then the events in the tree's order (`{"event": {...}}`), each
//! with its leaf number; events appended after the last checkpoint follow, without one.

use std::io::Write;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::checkpoint::frontier;
use super::record::LoggedEvent;
use super::signing::Checkpoint;
use crate::store::{Store, StoreError};

/// The format's name and version, the header's first field.
pub const FORMAT: &str = "daftar-export/1";

/// How many events are read at a time.
const PAGE: u32 = 8192;

/// The first line of an export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always `daftar-export/1`.
    pub format: String,
    /// The agency.
    pub agency: String,
    /// The first leaf exported.
    pub from: u64,
    /// Whether the export runs to the end of the log (no `--to`): then a checkpoint larger
    /// than what it holds means events were removed.
    pub complete: bool,
    /// The hashes (hex) of the complete subtrees of the tree of the `from` leaves before the
    /// export, largest first (RFC 6962's decomposition of `from`).
    pub frontier: Vec<String>,
}

/// One line of an export: exactly one field is set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// The header (the first line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Header>,
    /// A signed checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
    /// An event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<LoggedEvent>,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing failed.
    #[error("cannot write the export: {0}")]
    Write(#[from] std::io::Error),
    /// The range asked for is not in the tree.
    #[error("{0}")]
    Range(String),
}

/// Writes `agency`'s log from leaf `from` (0: the beginning) to leaf `to` (exclusive; `None`:
/// to the last event appended, checkpointed or not) to `out`; answers how many events.
pub async fn export(
    store: &Arc<dyn Store>,
    agency: &str,
    from: u64,
    to: Option<u64>,
    out: &mut impl Write,
) -> Result<u64, ExportError> {
    let (size, _) = store.tree(agency).await?;
    if from > size || to.is_some_and(|t| t < from) {
        return Err(ExportError::Range(format!(
            "{agency}'s tree has {size} leaves: --from must be at most that, and --to at least \
             --from"
        )));
    }
    // The position the export starts after: that of leaf `from - 1`.
    let mut after = if from == 0 {
        0
    } else {
        position_of_leaf(store, agency, from - 1).await?
    };
    let edge = frontier(store, agency, from).await?;
    let header = Header {
        format: FORMAT.to_owned(),
        agency: agency.to_owned(),
        from,
        complete: to.is_none(),
        frontier: edge.hashes().iter().map(hex::encode).collect(),
    };
    write_line(
        out,
        &Line {
            header: Some(header),
            ..Line::default()
        },
    )?;
    let mut at = 0;
    loop {
        let page = store.checkpoints(agency, at, 1000).await?;
        let Some(last) = page.last() else { break };
        at = last.size + 1;
        for c in page {
            write_line(
                out,
                &Line {
                    checkpoint: Some(c),
                    ..Line::default()
                },
            )?;
        }
    }
    let until = store.last_position().await?;
    let mut leaf = from;
    'pages: loop {
        let page = store.read_stored(after, until, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for e in page {
            if e.stream.agency != agency {
                continue;
            }
            if to.is_some_and(|t| leaf >= t) {
                break 'pages;
            }
            // Past the tree, an event's leaf is not fixed yet.
            let event = LoggedEvent::new(e, (leaf < size).then_some(leaf));
            write_line(
                out,
                &Line {
                    event: Some(event),
                    ..Line::default()
                },
            )?;
            leaf += 1;
        }
    }
    out.flush()?;
    Ok(leaf - from)
}

/// The position of an agency's leaf.
async fn position_of_leaf(
    store: &Arc<dyn Store>,
    agency: &str,
    leaf: u64,
) -> Result<u64, ExportError> {
    store
        .leaf_position(agency, leaf)
        .await?
        .ok_or_else(|| ExportError::Range(format!("{agency}'s tree has no leaf {leaf}")))
}

fn write_line(out: &mut impl Write, line: &Line) -> Result<(), ExportError> {
    serde_json::to_writer(&mut *out, line).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}
