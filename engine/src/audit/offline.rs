//! Checking an export with no database ([`verify_export`]): every checkpoint's signature, every
//! event's hash over its content, every stream's chain, and the tree rebuilt from the events'
//! hashes, whose root at each checkpoint's size must be the root the checkpoint signed. Roots
//! all rebuilt from one sequence of leaves are consistent by construction, so this also shows
//! that each checkpoint extends the one before.
//!
//! Events are read a batch at a time on one thread while threads, one per core, parse and hash
//! the batches read before ([`Chains`] per batch); the calling thread joins the checked batches
//! in order, which checks the links across them, and pushes their leaves onto the tree.

use std::collections::BTreeMap;
use std::io::BufRead;

use ed25519_dalek::VerifyingKey;

use super::export::{FORMAT, Header, Line};
use super::merkle::{self, Frontier, Hash};
use super::signing::Checkpoint;
use crate::events::Chains;

/// Events read at a time.
const BATCH: usize = 8192;

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
    input: impl BufRead + Send,
    key: &VerifyingKey,
    trusted: &[Checkpoint],
) -> Result<OfflineReport, String> {
    verify_export_batched(input, key, trusted, BATCH)
}

/// [`verify_export`], reading `batch` events at a time: tests give small batches so that
/// streams and errors fall across them.
#[doc(hidden)]
pub fn verify_export_batched(
    input: impl BufRead + Send,
    key: &VerifyingKey,
    trusted: &[Checkpoint],
    batch: usize,
) -> Result<OfflineReport, String> {
    let batch = batch.max(1);
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
    // The checkpoints, up to the first event.
    let mut first_event = None;
    for line in lines.by_ref() {
        let (n, text) = line?;
        if text.starts_with("{\"event\"") {
            first_event = Some((n, text));
            break;
        }
        let line = parse(n, &text)?;
        let c = line
            .checkpoint
            .ok_or_else(|| format!("line {n}: checkpoints come after the header, then events"))?;
        add(&mut checkpoints, &header, key, c)?;
    }
    let mut targets = verifier.targets(&checkpoints, &mut tree)?;
    if let Some(first) = first_event {
        let events = std::iter::once(Ok(first)).chain(lines);
        pipeline(events, &header.agency, batch, |slice| {
            verifier.slice(slice, &mut tree, &checkpoints, &mut targets)
        })?;
    }
    verifier.finish(&tree, &checkpoints, targets)
}

/// Checks the event lines on every core while the next are read: one thread reads batches of
/// lines, one per core parses and hashes a batch at a time, and the calling thread takes the
/// checked batches in the export's order (`joined`), so the first error in the file's order
/// is the one reported.
fn pipeline(
    events: impl Iterator<Item = Result<(usize, String), String>> + Send,
    agency: &str,
    size: usize,
    mut joined: impl FnMut(Slice) -> Result<(), String>,
) -> Result<(), String> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Mutex, mpsc};

    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let stop = AtomicBool::new(false);
    let (to_check, batches) = mpsc::sync_channel::<(u64, Vec<(usize, String)>)>(workers);
    let batches = Mutex::new(batches);
    let (to_join, checked) = mpsc::channel::<(u64, Result<Slice, String>)>();
    std::thread::scope(|s| {
        let (stop, batches) = (&stop, &batches);
        let reader = s.spawn(move || -> Result<(), String> {
            let mut seq = 0;
            let mut batch = Vec::with_capacity(size);
            for line in events {
                if stop.load(Ordering::Relaxed) {
                    return Ok(());
                }
                batch.push(line?);
                if batch.len() == size {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(size));
                    if to_check.send((seq, full)).is_err() {
                        return Ok(());
                    }
                    seq += 1;
                }
            }
            if !batch.is_empty() {
                let _ = to_check.send((seq, batch));
            }
            Ok(())
        });
        for _ in 0..workers {
            let to_join = to_join.clone();
            s.spawn(move || {
                loop {
                    let next = batches.lock().map(|b| b.recv());
                    let Ok(Ok((seq, batch))) = next else { return };
                    if stop.load(Ordering::Relaxed) {
                        continue;
                    }
                    if to_join.send((seq, check_slice(&batch, agency))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(to_join);
        let mut next = 0;
        let mut waiting = BTreeMap::new();
        let mut outcome = Ok(());
        for (seq, slice) in checked.iter() {
            waiting.insert(seq, slice);
            while let Some(slice) = waiting.remove(&next) {
                next += 1;
                outcome = slice.and_then(&mut joined);
                if outcome.is_err() {
                    break;
                }
            }
            if outcome.is_err() {
                break;
            }
        }
        if outcome.is_err() {
            stop.store(true, Ordering::Relaxed);
            // Let the reader and the workers see it: drain what they still send.
            for _ in checked.iter() {}
        }
        let read = reader
            .join()
            .unwrap_or_else(|_| Err("reading the export failed".to_owned()));
        // A line that cannot be read comes after every batch checked before it.
        outcome.and(read)
    })
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

/// A batch of events, checked on its own thread: its streams' chains, and each event's leaf
/// number, position and leaf hash.
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

    /// Joins a checked batch: its chains after those before it, its leaves onto the tree,
    /// comparing the tree with each checkpoint whose size it reaches.
    fn slice(
        &mut self,
        slice: Slice,
        tree: &mut Frontier,
        checkpoints: &BTreeMap<u64, Checkpoint>,
        targets: &mut Vec<u64>,
    ) -> Result<(), String> {
        let chains = std::mem::take(&mut self.chains);
        self.chains = chains.then(slice.chains).map_err(|e| e.to_string())?;
        for (leaf, position, hash) in slice.leaves {
            self.leaf(leaf, position, hash, tree)?;
            while targets.last() == Some(&tree.size()) {
                targets.pop();
                self.compare(tree.size(), tree, checkpoints)?;
            }
        }
        Ok(())
    }

    /// The next event, in the tree's order.
    fn leaf(
        &mut self,
        leaf: Option<u64>,
        position: u64,
        leaf_hash: Hash,
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
        tree.push(leaf_hash, |_, _| {});
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
        leaves.push((leaf, position, merkle::leaf_hash(&hash)));
    }
    Ok(Slice { chains, leaves })
}
