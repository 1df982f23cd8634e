//! The Merkle tree of an agency's log, as Certificate Transparency defines it (RFC 6962 §2.1,
//! RFC 9162 §2.1): a leaf hashes as `SHA-256(0x00 ‖ leaf)`, a node as
//! `SHA-256(0x01 ‖ left ‖ right)`, and a tree of `n` leaves splits at the largest power of two
//! below `n`. A leaf is an event's hash (its 32 bytes), so the tree commits to every event's
//! content and to their order.
//!
//! Which nodes a proof needs, and checking a proof, are the `ct-merkle` crate's
//! (`indices_for_inclusion_proof`, `RootHash::verify_inclusion`, …): an auditor's check runs
//! code that daftar did not write. That crate keeps its trees in memory, which a log of
//! millions of events kept in a database does not suit, so building the tree is here: a
//! [`Frontier`] (the complete subtrees along the tree's right edge) grows a leaf at a time and
//! hands out each complete subtree it closes, which the store keeps; any node a proof needs is
//! then a few stored subtrees folded together ([`Span::parts`]).

use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use sha2::{Digest, Sha256};

/// A hash: a leaf's, a node's or a root.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 ‖ leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256()` of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// A complete subtree: level `level`, index `idx` covers the leaves `idx·2^level` to
/// `(idx+1)·2^level − 1`; level 0 is a leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeKey {
    /// Its height: 0 for a leaf.
    pub level: u32,
    /// Its index among the subtrees of its level.
    pub idx: u64,
}

/// The right edge of a tree: the complete subtrees that its leaves decompose into, largest
/// first, one per bit set in its size. Appending a leaf merges equal ones, which is how every
/// complete subtree is found once, as it closes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (level, hash), levels strictly decreasing.
    nodes: Vec<(u32, Hash)>,
}

impl Frontier {
    /// The frontier of a tree of `size` leaves from its subtrees, largest first (as
    /// [`Frontier::keys`] names them).
    pub fn from_parts(size: u64, hashes: &[Hash]) -> Result<Frontier, String> {
        let keys = Frontier::keys(size);
        if keys.len() != hashes.len() {
            return Err(format!(
                "a tree of {size} leaves has {} edge subtrees, not {}",
                keys.len(),
                hashes.len()
            ));
        }
        Ok(Frontier {
            size,
            nodes: keys
                .iter()
                .map(|k| k.level)
                .zip(hashes.iter().copied())
                .collect(),
        })
    }

    /// The subtrees a tree of `size` leaves decomposes into, largest first.
    pub fn keys(size: u64) -> Vec<NodeKey> {
        Span {
            start: 0,
            end: size,
        }
        .parts()
    }

    /// How many leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The edge's hashes, largest subtree first.
    pub fn hashes(&self) -> Vec<Hash> {
        self.nodes.iter().map(|(_, h)| *h).collect()
    }

    /// Appends a leaf (its leaf hash), calling `closed` with each complete subtree above the
    /// leaves that this closes, lowest first.
    pub fn push(&mut self, leaf: Hash, mut closed: impl FnMut(NodeKey, &Hash)) {
        self.size += 1;
        let mut node = (0u32, leaf);
        while let Some(&(level, left)) = self.nodes.last() {
            if level != node.0 {
                break;
            }
            self.nodes.pop();
            node = (level + 1, node_hash(&left, &node.1));
            let key = NodeKey {
                level: node.0,
                idx: (self.size >> node.0) - 1,
            };
            closed(key, &node.1);
        }
        self.nodes.push(node);
    }

    /// The root: the edge folded from the right.
    pub fn root(&self) -> Hash {
        fold(&self.hashes()).unwrap_or_else(empty_root)
    }
}

/// The hash of subtrees side by side, folded from the right as RFC 6962 splits a tree.
fn fold(parts: &[Hash]) -> Option<Hash> {
    let (last, rest) = parts.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |right, left| node_hash(left, &right)),
    )
}

/// The leaves `start..end` of a tree, where `start` is a multiple of a power of two at least
/// `end − start` (every node of an RFC 6962 tree, and every node a proof names, is one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The first leaf.
    pub start: u64,
    /// One past the last leaf.
    pub end: u64,
}

impl Span {
    /// The node at `ct-merkle`'s array index `x` (RFC 9420's array-based trees, which that
    /// crate numbers its nodes by) in a tree of `size` leaves.
    fn of_array_index(x: u64, size: u64) -> Span {
        let level = x.trailing_ones();
        let start = (x >> (level + 1)) << level;
        Span {
            start,
            end: start.saturating_add(1u64 << level).min(size),
        }
    }

    /// The complete subtrees it is made of, largest first: one per bit set in its length.
    pub fn parts(&self) -> Vec<NodeKey> {
        let mut out = Vec::new();
        let mut at = self.start;
        let len = self.end - self.start;
        for level in (0..64u32).rev() {
            if len & (1u64 << level) != 0 {
                out.push(NodeKey {
                    level,
                    idx: at >> level,
                });
                at += 1u64 << level;
            }
        }
        out
    }

    /// Its hash from the hashes of its parts, as [`Span::parts`] lists them.
    pub fn hash(parts: &[Hash]) -> Option<Hash> {
        fold(parts)
    }
}

/// The nodes an inclusion proof of leaf `idx` in a tree of `size` leaves is made of, in the
/// proof's order (the leaf's sibling first).
pub fn inclusion_spans(size: u64, idx: u64) -> Vec<Span> {
    ct_merkle::indices_for_inclusion_proof(size, idx)
        .into_iter()
        .map(|x| Span::of_array_index(x, size))
        .collect()
}

/// The nodes of the proof that the tree of `new` leaves extends the tree of `old` (`0 < old ≤
/// new`), in the proof's order.
pub fn consistency_spans(old: u64, new: u64) -> Vec<Span> {
    ct_merkle::indices_for_consistency_proof(old, new - old)
        .into_iter()
        .map(|x| Span::of_array_index(x, new))
        .collect()
}

/// Checks that `leaf` (an event's hash, its 32 bytes) is leaf `idx` of the tree of `size`
/// leaves whose root is `root`.
pub fn verify_inclusion(
    root: &Hash,
    size: u64,
    leaf: &[u8],
    idx: u64,
    proof: &[Hash],
) -> Result<(), String> {
    let root = RootHash::<Sha256>::new((*root).into(), size);
    let proof = InclusionProof::<Sha256>::from_digests(proof.iter().map(|h| h.into()));
    root.verify_inclusion(&leaf, idx, &proof)
        .map_err(|e| format!("its inclusion proof does not lead to the checkpoint's root: {e}"))
}

/// Checks that the tree of `new_size` leaves and root `new_root` extends the one of
/// `old_size` leaves and root `old_root`.
pub fn verify_consistency(
    old_root: &Hash,
    old_size: u64,
    new_root: &Hash,
    new_size: u64,
    proof: &[Hash],
) -> Result<(), String> {
    if old_size == 0 {
        // Every tree extends the empty one.
        return Ok(());
    }
    if old_size == new_size {
        return if old_root == new_root && proof.is_empty() {
            Ok(())
        } else {
            Err("two checkpoints of the same size have different roots".to_owned())
        };
    }
    let old = RootHash::<Sha256>::new((*old_root).into(), old_size);
    let new = RootHash::<Sha256>::new((*new_root).into(), new_size);
    let proof = ConsistencyProof::<Sha256>::from_digests(proof.iter().map(|h| h.into()));
    new.verify_consistency(&old, &proof)
        .map_err(|e| format!("the later checkpoint does not extend the earlier one: {e}"))
}

/// A hash from hex.
pub fn from_hex(s: &str) -> Result<Hash, String> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out)
        .map_err(|_| format!("`{s}` is not a SHA-256 hash (64 hex digits)"))?;
    Ok(out)
}

#[cfg(test)]
mod tests;
