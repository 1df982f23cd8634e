//! Receipts: one request's events, each with its inclusion proof against the agency's latest
//! signed checkpoint, in one JSON document that [`verify_receipt`] checks with the agency's
//! public key and nothing else.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use super::checkpoint::inclusion_proofs;
use super::merkle;
use super::record::LoggedEvent;
use super::signing::Checkpoint;
use crate::events::{Chains, StreamId};
use crate::store::{Store, StoreError};

/// The format's name and version, the receipt's first field.
pub const FORMAT: &str = "daftar-receipt/1";

/// How much earlier than its checkpoint an event left out of it may have been recorded (clocks
/// of nodes and database differ a little) before the receipt is refused.
const CLOCK_SLACK: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// A request's receipt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    /// Always `daftar-receipt/1`.
    pub format: String,
    /// The agency.
    pub agency: String,
    /// The request id.
    pub request: String,
    /// The signed checkpoint the proofs lead to; none before the agency's first.
    pub checkpoint: Option<Checkpoint>,
    /// Every event of the request, in order; those in the checkpoint carry their leaf and
    /// proof.
    pub events: Vec<LoggedEvent>,
}

/// The receipt of `stream`, against the agency's latest checkpoint.
pub async fn receipt(store: &Arc<dyn Store>, stream: &StreamId) -> Result<Receipt, StoreError> {
    let events = store.stream_stored(stream).await?;
    let checkpoint = store.latest_checkpoint(&stream.agency).await?;
    let positions: Vec<u64> = events.iter().map(|e| e.position).collect();
    let leaves: std::collections::HashMap<u64, u64> = store
        .leaves_at(&stream.agency, &positions)
        .await?
        .into_iter()
        .collect();
    let size = checkpoint.as_ref().map_or(0, |c| c.size);
    let mut events: Vec<LoggedEvent> = events
        .into_iter()
        .map(|e| {
            let leaf = leaves.get(&e.position).copied().filter(|&l| l < size);
            LoggedEvent::new(e, leaf)
        })
        .collect();
    let covered: Vec<u64> = events.iter().filter_map(|e| e.leaf).collect();
    if !covered.is_empty() {
        let proofs = inclusion_proofs(store, &stream.agency, size, &covered).await?;
        for (e, proof) in events.iter_mut().filter(|e| e.leaf.is_some()).zip(proofs) {
            e.proof = proof.iter().map(hex::encode).collect();
        }
    }
    Ok(Receipt {
        format: FORMAT.to_owned(),
        agency: stream.agency.clone(),
        request: stream.instance.clone(),
        checkpoint,
        events,
    })
}

/// What a receipt proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptReport {
    /// How many events it holds.
    pub events: usize,
    /// How many of them the checkpoint signs.
    pub covered: usize,
    /// The checkpoint's size and time.
    pub checkpoint: (u64, String),
}

/// Checks a receipt with the agency's public key: the checkpoint's signature, every event's
/// hash over its content, the chain from the request's first event, and the inclusion proof
/// of every event the checkpoint covers. The error names what failed.
pub fn verify_receipt(r: &Receipt, key: &VerifyingKey) -> Result<ReceiptReport, String> {
    if r.format != FORMAT {
        return Err(format!(
            "not a receipt of format {FORMAT} (found {:?})",
            r.format
        ));
    }
    let Some(cp) = &r.checkpoint else {
        return Err(
            "the receipt has no checkpoint: none of its events is signed yet; \
                    ask for it again after the agency's next checkpoint"
                .to_owned(),
        );
    };
    cp.verify(key)?;
    if cp.agency != r.agency {
        return Err(format!(
            "the checkpoint is of agency {}, the request of {}",
            cp.agency, r.agency
        ));
    }
    let root = merkle::from_hex(&cp.root).map_err(|e| format!("the checkpoint's root: {e}"))?;
    let signed_at = DateTime::parse_from_rfc3339(&cp.time)
        .map_err(|_| format!("the checkpoint's time {:?} is not RFC 3339", cp.time))?
        .with_timezone(&Utc);
    if r.events.is_empty() {
        return Err("the receipt holds no event".to_owned());
    }
    let mut chains = Chains::default();
    let mut covered = 0;
    let mut after_checkpoint = false;
    for e in &r.events {
        let what = format!("event {} of {}/{}", e.version, e.agency, e.instance);
        if e.agency != r.agency || e.instance != r.request {
            return Err(format!("{what} is not of the request {}", r.request));
        }
        chains
            .check(&e.clone().stored())
            .map_err(|err| err.to_string())?;
        match e.leaf {
            Some(leaf) => {
                if after_checkpoint {
                    return Err(format!(
                        "{what} is in the checkpoint but an earlier event is not"
                    ));
                }
                let hash = merkle::from_hex(&e.hash).map_err(|err| format!("{what}: {err}"))?;
                let proof = e
                    .proof
                    .iter()
                    .map(|h| merkle::from_hex(h))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|err| format!("{what}: its proof: {err}"))?;
                merkle::verify_inclusion(&root, cp.size, &hash, leaf, &proof)
                    .map_err(|err| format!("{what} (leaf {leaf}): {err}"))?;
                covered += 1;
            }
            None => {
                if e.position <= cp.last_position {
                    return Err(format!(
                        "{what} is at position {}, before the checkpoint's last ({}), but has no \
                         proof: its proof was left out or it was rewritten",
                        e.position, cp.last_position
                    ));
                }
                if e.recorded_at + CLOCK_SLACK < signed_at {
                    return Err(format!(
                        "{what} was recorded at {} before the checkpoint of {} but is not in \
                         it: its proof was left out or it was rewritten",
                        e.recorded_at, cp.time
                    ));
                }
                after_checkpoint = true;
            }
        }
    }
    chains.finish().map_err(|err| err.to_string())?;
    Ok(ReceiptReport {
        events: r.events.len(),
        covered,
        checkpoint: (cp.size, cp.time.clone()),
    })
}
