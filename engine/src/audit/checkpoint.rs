//! Taking a checkpoint, and the proofs against one.
//!
//! A checkpoint adds to the agency's tree the events appended since the last one (in position
//! order, up to the settled position: see [`Trees::settled_position`]), starting from the
//! tree's right edge read back from the store, keeps every complete subtree this closes, and
//! signs the new root. Over a log of a million events it hashes only the new ones; a proof
//! reads a few dozen stored subtrees.

use std::sync::Arc;

use ed25519_dalek::SigningKey;

use super::merkle::{self, Frontier, Hash, NodeKey, Span};
use super::signing::{self, Checkpoint};
use crate::store::trees::Growth;
use crate::store::{Store, StoreError};

/// Events read at a time while growing a tree.
const PAGE: u32 = 20_000;

/// Takes a checkpoint of every agency of the store that has events it has not signed yet;
/// answers the checkpoints taken.
pub async fn take_all(
    store: &Arc<dyn Store>,
    key: &SigningKey,
) -> Result<Vec<Checkpoint>, StoreError> {
    let until = store.settled_position().await?;
    let mut taken = Vec::new();
    for agency in store.agencies().await? {
        if let Some(c) = take(store, key, &agency, until).await? {
            taken.push(c);
        }
    }
    Ok(taken)
}

/// Takes a checkpoint of `agency`'s events up to position `until` (settled); `None` when it
/// has a checkpoint of every one of them already.
pub async fn take(
    store: &Arc<dyn Store>,
    key: &SigningKey,
    agency: &str,
    until: u64,
) -> Result<Option<Checkpoint>, StoreError> {
    let (size, mut last_position) = store.tree(agency).await?;
    let mut frontier = frontier(store, agency, size).await?;
    let mut growth = Growth {
        from: size,
        last_position,
        ..Growth::default()
    };
    loop {
        let page = store
            .leaf_events(agency, last_position, until, PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        last_position = last.0;
        for (position, hash) in page {
            let bytes = merkle::from_hex(&hash).map_err(|e| StoreError::Corrupt {
                stream: agency.to_owned(),
                version: 0,
                reason: format!("the event at position {position} has no valid hash: {e}"),
            })?;
            let nodes = &mut growth.nodes;
            frontier.push(merkle::leaf_hash(&bytes), |k, h| {
                nodes.push((k.level, k.idx, hex::encode(h)));
            });
            growth.leaves.push((position, hash));
        }
    }
    growth.last_position = last_position;
    if !growth.leaves.is_empty() {
        store.grow(agency, &growth).await?;
    }
    let size = frontier.size();
    if size == 0 {
        return Ok(None);
    }
    if let Some(latest) = store.latest_checkpoint(agency).await?
        && latest.size == size
    {
        return Ok(None);
    }
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let root = hex::encode(frontier.root());
    let checkpoint = signing::sign(key, agency, size, &root, &time, last_position);
    store.save_checkpoint(&checkpoint).await?;
    Ok(Some(checkpoint))
}

/// The right edge of `agency`'s tree of `size` leaves, read from the store.
pub async fn frontier(
    store: &Arc<dyn Store>,
    agency: &str,
    size: u64,
) -> Result<Frontier, StoreError> {
    let keys = Frontier::keys(size);
    let hashes = node_hashes(store, agency, &keys).await?;
    Frontier::from_parts(size, &hashes).map_err(StoreError::Database)
}

/// The hashes of stored complete subtrees (leaves leaf-hashed).
async fn node_hashes(
    store: &Arc<dyn Store>,
    agency: &str,
    keys: &[NodeKey],
) -> Result<Vec<Hash>, StoreError> {
    let asked: Vec<(u32, u64)> = keys.iter().map(|k| (k.level, k.idx)).collect();
    let found = store.nodes(agency, &asked).await?;
    keys.iter()
        .zip(found)
        .map(|(k, h)| {
            let bytes = merkle::from_hex(&h).map_err(StoreError::Database)?;
            Ok(if k.level == 0 {
                merkle::leaf_hash(&bytes)
            } else {
                bytes
            })
        })
        .collect()
}

/// The hashes of the spans of a proof, each folded from its stored parts.
async fn span_hashes(
    store: &Arc<dyn Store>,
    agency: &str,
    spans: &[Span],
) -> Result<Vec<Hash>, StoreError> {
    let parts: Vec<Vec<NodeKey>> = spans.iter().map(Span::parts).collect();
    let flat: Vec<NodeKey> = parts.iter().flatten().copied().collect();
    let hashes = node_hashes(store, agency, &flat).await?;
    let mut at = 0;
    Ok(parts
        .iter()
        .map(|p| {
            let h = Span::hash(&hashes[at..at + p.len()]).unwrap_or_else(merkle::empty_root);
            at += p.len();
            h
        })
        .collect())
}

/// The inclusion proof of each of `leaves` in `agency`'s tree of `size` leaves, read in one
/// go.
pub async fn inclusion_proofs(
    store: &Arc<dyn Store>,
    agency: &str,
    size: u64,
    leaves: &[u64],
) -> Result<Vec<Vec<Hash>>, StoreError> {
    let spans: Vec<Vec<Span>> = leaves
        .iter()
        .map(|&l| merkle::inclusion_spans(size, l))
        .collect();
    let flat: Vec<Span> = spans.iter().flatten().copied().collect();
    let hashes = span_hashes(store, agency, &flat).await?;
    let mut at = 0;
    Ok(spans
        .iter()
        .map(|s| {
            let proof = hashes[at..at + s.len()].to_vec();
            at += s.len();
            proof
        })
        .collect())
}

/// The proof that `agency`'s tree of `new` leaves extends the tree of `old` leaves
/// (`0 < old ≤ new ≤` the stored tree's size).
pub async fn consistency_proof(
    store: &Arc<dyn Store>,
    agency: &str,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, StoreError> {
    span_hashes(store, agency, &merkle::consistency_spans(old, new)).await
}

/// Two signed checkpoints and the proof that the later extends the earlier.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Consistency {
    /// The earlier checkpoint.
    pub old: Checkpoint,
    /// The later checkpoint.
    pub new: Checkpoint,
    /// The proof's hashes, hex (RFC 9162 §2.1.4).
    pub proof: Vec<String>,
}

/// The consistency proof between `agency`'s checkpoints of sizes `old` and `new`; `None` when
/// the agency has no checkpoint of one of these sizes.
pub async fn consistency(
    store: &Arc<dyn Store>,
    agency: &str,
    old: u64,
    new: u64,
) -> Result<Option<Consistency>, StoreError> {
    let find = async |size: u64| -> Result<Option<Checkpoint>, StoreError> {
        let found = store.checkpoints(agency, size, 1).await?;
        Ok(found.into_iter().next().filter(|c| c.size == size))
    };
    let (Some(old), Some(new)) = (find(old).await?, find(new).await?) else {
        return Ok(None);
    };
    let proof = if old.size < new.size {
        consistency_proof(store, agency, old.size, new.size).await?
    } else {
        Vec::new()
    };
    Ok(Some(Consistency {
        old,
        new,
        proof: proof.iter().map(hex::encode).collect(),
    }))
}

/// Checks both signatures and the proof; the error says what failed.
pub fn verify_consistency(
    c: &Consistency,
    key: &ed25519_dalek::VerifyingKey,
) -> Result<(), String> {
    c.old.verify(key)?;
    c.new.verify(key)?;
    if c.old.agency != c.new.agency {
        return Err("the two checkpoints are of different agencies".to_owned());
    }
    if c.old.size > c.new.size {
        return Err(format!(
            "the first checkpoint ({}) is larger than the second ({}): give the earlier first",
            c.old.size, c.new.size
        ));
    }
    let root = |c: &Checkpoint| merkle::from_hex(&c.root).map_err(|e| format!("a root: {e}"));
    let proof = c
        .proof
        .iter()
        .map(|h| merkle::from_hex(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the proof: {e}"))?;
    merkle::verify_consistency(
        &root(&c.old)?,
        c.old.size,
        &root(&c.new)?,
        c.new.size,
        &proof,
    )
}
