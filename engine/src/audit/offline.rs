//! Checking an export with no database ([`verify_export`]): every checkpoint's signature, every
//! event's hash over its content, every stream's chain, and the tree rebuilt from the events'
//! hashes, whose root at each checkpoint's size must be the root the checkpoint signed. Roots
//! all rebuilt from one sequence of leaves are consistent by construction, so this also shows
//! that each checkpoint extends the one before.
//!
//! Events are read a batch at a time; each batch is cut into one slice per core, whose events
//! are parsed and hashed at the same time ([`Chains`] per slice), then joined in order, which
//! checks the links across slices, and pushed onto the tree.

use std::collections::BTreeMap;
use std::io::BufRead;

use ed25519_dalek::VerifyingKey;

use super::export::{FORMAT, Header, Line};
use super::merkle::{self, Frontier, Hash};
use super::signing::Checkpoint;
use crate::events::Chains;

/// Events read at a time.
const BATCH: usize = 32_768;

/// What an export proved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OfflineReport {
    /// The agency.
    pub agency: String,
    /// How many events it holds.
    pub events: u64,
    /// How many streams.
    pub streams: usize,
    /// The sizes of the checkpoints whose roots were rebuilt and matched.
    pub checked: Vec<u64>,
    /// Checkpoints outside the exported range, which it cannot check.
    pub outside: Vec<u64>,
    /// Events after the last checkpoint: chains checked, not signed yet.
    pub unsigned: u64,
}

/// Checks an export read from `input` with the agency's public key. `trusted` are checkpoints
/// the auditor kept from earlier (from `GET /api/v1/checkpoints`): they are checked exactly
/// like the export's own, so an export rewritten after one of them fails even if the
/// rewritten store no longer holds it. The error names the first thing that failed.
pub fn verify_export(
    input: impl BufRead,
    key: &VerifyingKey,
    trusted: &[Checkpoint],
) -> Result<OfflineReport, String> {
    let mut lines = input.lines().enumerate().map(|(i, l)| {
        l.map(|l| (i + 1, l))
            .map_err(|e| format!("cannot read line {}: {e}", i + 1))
    });
    let header = match lines.next().transpose()? {
        Some((n, text)) => parse(n, &text)?
            .header
            .ok_or_else(|| format!("line {n}: an export starts with its header"))?,
        None => return Err("the export is empty".to_owned()),
    };
    if header.format != FORMAT {
        return Err(format!(
            "not an export of format {FORMAT} (found {:?})",
            header.format
        ));
    }
    let mut checkpoints: BTreeMap<u64, Checkpoint> = BTreeMap::new();
    for c in trusted {
        add(&mut checkpoints, &header, key, c.clone())?;
    }
    let edge: Vec<Hash> = header
        .frontier
        .iter()
        .map(|h| merkle::from_hex(h))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("the header's frontier: {e}"))?;
    let mut tree = Frontier::from_parts(header.from, &edge)
        .map_err(|e| format!("the header's frontier: {e}"))?;
    let mut verifier = Verifier {
        header: &header,
        chains: Chains::default(),
        last_position: 0,
        past_tree: false,
        report: OfflineReport {
            agency: header.agency.clone(),
            ..OfflineReport::default()
        },
    };
    let mut batch: Vec<(usize, String)> = Vec::with_capacity(BATCH);
    let mut events_started = false;
    let mut targets: Vec<u64> = Vec::new();
    for line in lines {
        let (n, text) = line?;
        if !events_started && !text.starts_with("{\"event\"") {
            let line = parse(n, &text)?;
            let c = line.checkpoint.ok_or_else(|| {
                format!("line {n}: checkpoints come after the header, then events")
            })?;
            add(&mut checkpoints, &header, key, c)?;
            continue;
        }
        if !events_started {
            events_started = true;
            targets = verifier.targets(&checkpoints, &mut tree)?;
        }
        batch.push((n, text));
        if batch.len() == BATCH {
            verifier.batch(
                std::mem::take(&mut batch),
                &mut tree,
                &checkpoints,
                &mut targets,
            )?;
        }
    }
    if !events_started {
        targets = verifier.targets(&checkpoints, &mut tree)?;
    }
    verifier.batch(batch, &mut tree, &checkpoints, &mut targets)?;
    verifier.finish(&tree, &checkpoints, targets)
}

/// Adds a checkpoint to check, after its signature; two of one size must agree.
fn add(
    checkpoints: &mut BTreeMap<u64, Checkpoint>,
    header: &Header,
    key: &VerifyingKey,
    c: Checkpoint,
) -> Result<(), String> {
    if c.agency != header.agency {
        return Err(format!(
            "a checkpoint of agency {} given for an export of {}",
            c.agency, header.agency
        ));
    }
    c.verify(key)?;
    match checkpoints.get(&c.size) {
        Some(other) if other.root != c.root => Err(format!(
            "two signed checkpoints of size {} have different roots ({} at {}, {} at {}): \
             the log was rewritten between them",
            c.size, other.root, other.time, c.root, c.time
        )),
        _ => {
            checkpoints.insert(c.size, c);
            Ok(())
        }
    }
}

fn parse(n: usize, text: &str) -> Result<Line, String> {
    serde_json::from_str(text).map_err(|e| format!("line {n} cannot be read: {e}"))
}

struct Verifier<'h> {
    header: &'h Header,
    chains: Chains,
    last_position: u64,
    past_tree: bool,
    report: OfflineReport,
}

/// A slice of a batch, checked on its own thread.
struct Slice {
    chains: Chains,
    leaves: Vec<(Option<u64>, u64, Hash)>,
}

impl Verifier<'_> {
    /// The checkpoints the events can be checked against, smallest first; those before the
    /// export's first leaf are noted as outside it (one exactly at it is checked now).
    fn targets(
        &mut self,
        checkpoints: &BTreeMap<u64, Checkpoint>,
        tree: &mut Frontier,
    ) -> Result<Vec<u64>, String> {
        let from = self.header.from;
        for &size in checkpoints.keys().filter(|&&s| s <= from) {
            if size == from && from > 0 {
                self.compare(size, tree, checkpoints)?;
            } else if size < from {
                self.report.outside.push(size);
            }
        }
        Ok(checkpoints
            .keys()
            .copied()
            .filter(|&s| s > from)
            .rev()
            .collect())
    }

    fn compare(
        &mut self,
        size: u64,
        tree: &Frontier,
        checkpoints: &BTreeMap<u64, Checkpoint>,
    ) -> Result<(), String> {
        let c = &checkpoints[&size];
        let root = hex::encode(tree.root());
        if root != c.root {
            return Err(format!(
                "the events do not rebuild the checkpoint of size {size} signed at {}: its root \
                 is {}, the export's first {size} events give {root}: an event the checkpoint \
                 covers was altered, removed, inserted or reordered",
                c.time, c.root
            ));
        }
        self.report.checked.push(size);
        Ok(())
    }

    fn batch(
        &mut self,
        batch: Vec<(usize, String)>,
        tree: &mut Frontier,
        checkpoints: &BTreeMap<u64, Checkpoint>,
        targets: &mut Vec<u64>,
    ) -> Result<(), String> {
        if batch.is_empty() {
            return Ok(());
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per = batch.len().div_ceil(threads);
        let agency = self.header.agency.as_str();
        let slices: Vec<Result<Slice, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = batch
                .chunks(per)
                .map(|chunk| s.spawn(move || check_slice(chunk, agency)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("a check failed".to_owned()))
                })
                .collect()
        });
        for slice in slices {
            let slice = slice?;
            let chains = std::mem::take(&mut self.chains);
            self.chains = chains.then(slice.chains).map_err(|e| e.to_string())?;
            for (leaf, position, hash) in slice.leaves {
                self.leaf(leaf, position, hash, tree)?;
                while targets.last() == Some(&tree.size()) {
                    targets.pop();
                    self.compare(tree.size(), tree, checkpoints)?;
                }
            }
        }
        Ok(())
    }

    /// The next event, in the tree's order.
    fn leaf(
        &mut self,
        leaf: Option<u64>,
        position: u64,
        hash: Hash,
        tree: &mut Frontier,
    ) -> Result<(), String> {
        if position <= self.last_position {
            return Err(format!(
                "the event at position {position} comes after position {}: the export is out \
                 of order",
                self.last_position
            ));
        }
        self.last_position = position;
        match leaf {
            Some(l) if self.past_tree || l != tree.size() => {
                return Err(format!(
                    "the event at position {position} says it is leaf {l}, but it is leaf {}",
                    tree.size()
                ));
            }
            None => self.past_tree = true,
            Some(_) => {}
        }
        tree.push(merkle::leaf_hash(&hash), |_, _| {});
        self.report.events += 1;
        Ok(())
    }

    fn finish(
        mut self,
        tree: &Frontier,
        checkpoints: &BTreeMap<u64, Checkpoint>,
        targets: Vec<u64>,
    ) -> Result<OfflineReport, String> {
        for size in targets.into_iter().rev() {
            if self.header.complete {
                let c = &checkpoints[&size];
                return Err(format!(
                    "the checkpoint of size {size} signed at {} covers more events than the \
                     export holds ({}): events it covers were removed",
                    c.time,
                    tree.size()
                ));
            }
            self.report.outside.push(size);
        }
        let (streams, _) = if self.header.from == 0 {
            self.chains.finish().map_err(|e| e.to_string())?
        } else {
            // A range starts inside streams: their links before it are the checkpoints'.
            (0, 0)
        };
        self.report.streams = streams;
        let last_checked = self.report.checked.iter().max().copied().unwrap_or(0);
        self.report.unsigned = tree
            .size()
            .saturating_sub(last_checked.max(self.header.from));
        Ok(self.report)
    }
}

fn check_slice(lines: &[(usize, String)], agency: &str) -> Result<Slice, String> {
    let mut chains = Chains::default();
    let mut leaves = Vec::with_capacity(lines.len());
    for (n, text) in lines {
        let e = parse(*n, text)?
            .event
            .ok_or_else(|| format!("line {n}: after the first event, only events"))?;
        if e.agency != agency {
            return Err(format!(
                "line {n}: an event of agency {} in an export of {agency}",
                e.agency
            ));
        }
        let hash = merkle::from_hex(&e.hash).map_err(|err| format!("line {n}: {err}"))?;
        let (leaf, position) = (e.leaf, e.position);
        chains.check(&e.stored()).map_err(|err| err.to_string())?;
        leaves.push((leaf, position, hash));
    }
    Ok(Slice { chains, leaves })
}
