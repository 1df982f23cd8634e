//! The tree against RFC 6962's reference test vectors (the eight leaves and roots of Certificate
//! Transparency's own tests) and against `ct-merkle`'s in-memory tree, for every size up to 70:
//! roots, and proofs built from stored subtrees checked by the crate.

use std::collections::HashMap;

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use sha2::Sha256;

use super::*;

/// The leaves of CT's reference tests, as hex.
const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// The roots of the trees of their first 1 to 8 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn roots_match_the_rfc_6962_test_vectors() {
    assert_eq!(
        hex::encode(empty_root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let mut f = Frontier::default();
    for (leaf, root) in LEAVES.iter().zip(ROOTS) {
        f.push(leaf_hash(&hex::decode(leaf).unwrap()), |_, _| {});
        assert_eq!(hex::encode(f.root()), root, "size {}", f.size());
    }
}

/// A tree kept as `Frontier::push` hands out its subtrees, as the store keeps it.
struct Kept {
    frontier: Frontier,
    nodes: HashMap<NodeKey, Hash>,
}

impl Kept {
    fn new() -> Kept {
        Kept {
            frontier: Frontier::default(),
            nodes: HashMap::new(),
        }
    }

    fn push(&mut self, leaf: &[u8]) {
        let at = self.frontier.size();
        let h = leaf_hash(leaf);
        self.nodes.insert(NodeKey { level: 0, idx: at }, h);
        let nodes = &mut self.nodes;
        self.frontier.push(h, |k, h| {
            nodes.insert(k, *h);
        });
    }

    fn span(&self, s: Span) -> Hash {
        let parts: Vec<Hash> = s.parts().iter().map(|k| self.nodes[k]).collect();
        Span::hash(&parts).unwrap()
    }
}

fn leaf(i: u64) -> Vec<u8> {
    format!("event {i}").into_bytes()
}

#[test]
fn stored_subtrees_give_the_roots_and_proofs_ct_merkle_checks() {
    let mut reference = MemoryBackedTree::<Sha256, Vec<u8>>::new();
    let mut kept = Kept::new();
    let mut roots = Vec::new();
    for n in 1..=70u64 {
        reference.push(leaf(n - 1));
        kept.push(&leaf(n - 1));
        let root = kept.frontier.root();
        assert_eq!(
            root.as_slice(),
            reference.root().as_bytes().as_slice(),
            "size {n}"
        );
        // The edge alone rebuilds the same root.
        let edge = Frontier::from_parts(n, &kept.frontier.hashes()).unwrap();
        assert_eq!(edge.root(), root);
        let whole = Span { start: 0, end: n };
        assert_eq!(kept.span(whole), root);
        for idx in 0..n {
            let proof: Vec<Hash> = inclusion_spans(n, idx)
                .into_iter()
                .map(|s| kept.span(s))
                .collect();
            verify_inclusion(&root, n, &leaf(idx), idx, &proof).unwrap();
            // Another leaf, or another index, fails.
            assert!(verify_inclusion(&root, n, &leaf(idx + 1), idx, &proof).is_err());
            if n > 1 {
                assert!(verify_inclusion(&root, n, &leaf(idx), (idx + 1) % n, &proof).is_err());
            }
        }
        roots.push(root);
    }
    for old in 1..=70u64 {
        for new in old..=70u64 {
            let proof: Vec<Hash> = consistency_spans(old, new)
                .into_iter()
                .map(|s| kept.span(s))
                .collect();
            let (r1, r2) = (roots[old as usize - 1], roots[new as usize - 1]);
            verify_consistency(&r1, old, &r2, new, &proof).unwrap();
            if old < new {
                // A root that is not the old tree's fails.
                let other = roots[(old as usize) % 70];
                assert!(verify_consistency(&other, old, &r2, new, &proof).is_err());
            }
        }
    }
}
