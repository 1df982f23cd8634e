//! The single writer: every commit of this node goes through one task, which takes all the
//! commits waiting at that moment and writes them in one transaction (group commit). A caller
//! is answered only after that transaction is durable, so an acknowledged transition is never
//! lost, and the disk's fsync rate bounds transactions, not transitions.
//!
//! Two tasks share the work, so that under load only the transaction is serial: this task
//! collects a batch and has the store prepare it ([`crate::store::EventLog::prepare`]: heads,
//! deciding each commit, the hash chain, binding the rows) while the batch before it is in its
//! transaction; the second task writes the prepared batches in turn and answers their callers.
//! After a small batch ([`OVERLAP_FROM`]), or one the store prepares in its transaction
//! (PostgreSQL), the next is collected only once it is written.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};

use crate::store::{Commit, Committed, Job, Prepared, Store, StoreError};

/// The most commits written in one transaction.
const MAX_BATCH: usize = 512;

/// The fewest commits in a batch for the next batch to be collected and prepared while it is
/// being written. A smaller batch means a node that keeps up: the next one is collected once
/// it is written, so that whatever arrived meanwhile is in it, rather than waiting for one
/// transaction more behind a batch collected too early.
const OVERLAP_FROM: usize = 32;

type Reply = oneshot::Sender<Result<Committed, StoreError>>;

/// A handle to the writer task.
#[derive(Clone, Debug)]
pub struct Writer {
    tx: mpsc::Sender<(Commit, Reply)>,
    stats: Arc<Stats>,
    handoff: Arc<Handoff>,
}

/// Where the jobs a commit leases as it creates them go once the commit is durable: this
/// node's job loop, with no lease query and no wait for its next poll. The writer hands them
/// over itself, so a caller that stops waiting for its commit cannot strand them.
#[derive(Debug, Default)]
pub(crate) struct Handoff {
    open: Mutex<Option<Open>>,
    /// Jobs handed over that wait for a worker.
    waiting: AtomicUsize,
}

#[derive(Debug)]
struct Open {
    id: u64,
    jobs: mpsc::UnboundedSender<Vec<Job>>,
    lease: Duration,
    /// The most jobs that may wait for a worker before new ones are no longer leased as they
    /// are created.
    backlog: usize,
}

impl Handoff {
    /// The lease to take on new jobs, while a job loop takes them and is not overloaded: when
    /// as many jobs as it has workers already wait for one, new jobs are left unleased for the
    /// job loop to lease when a worker is free, rather than queued here until their leases run
    /// out and they must wait for the lease query anyway. (Twice as many as it has workers may
    /// wait: one round more.)
    pub(crate) fn lease(&self) -> Option<Duration> {
        let open = self.open.lock().expect("lock");
        let open = open.as_ref()?;
        (self.waiting.load(Ordering::Relaxed) < open.backlog).then_some(open.lease)
    }

    /// A job loop with `workers` workers starts taking the jobs leased to this node for
    /// `lease`, a commit's jobs at a time; the id closes it.
    pub(crate) fn open(
        &self,
        lease: Duration,
        workers: usize,
    ) -> (u64, mpsc::UnboundedReceiver<Vec<Job>>) {
        static IDS: AtomicU64 = AtomicU64::new(0);
        let id = IDS.fetch_add(1, Ordering::Relaxed);
        let (jobs, rx) = mpsc::unbounded_channel();
        // Jobs handed to a loop that stopped are no longer waiting here: their leases run
        // out and the lease query takes them.
        self.waiting.store(0, Ordering::Relaxed);
        *self.open.lock().expect("lock") = Some(Open {
            id,
            jobs,
            lease,
            backlog: 2 * workers,
        });
        (id, rx)
    }

    /// `n` jobs handed over got a worker (or were left to the lease query).
    pub(crate) fn taken(&self, n: usize) {
        // Saturating: a loop that stopped may still report jobs counted before a new one
        // opened and set the count to zero.
        let _ = self
            .waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
                Some(w.saturating_sub(n))
            });
    }

    /// The job loop `id` stops: new jobs are no longer leased as they are created.
    pub(crate) fn close(&self, id: u64) {
        let mut open = self.open.lock().expect("lock");
        if open.as_ref().is_some_and(|o| o.id == id) {
            *open = None;
        }
    }

    /// The jobs of a durable commit that leased them. Were the job loop gone meanwhile, they
    /// wait out their lease and any node's loop takes them then, as after a crash.
    fn hand_over(&self, commit: &mut Commit) {
        let Some(lease) = &commit.lease else { return };
        let open = self.open.lock().expect("lock");
        let Some(open) = open.as_ref() else { return };
        let until = lease.until(Utc::now());
        let jobs = commit
            .jobs
            .drain(..)
            .map(|job| Job {
                id: job.id,
                stream: commit.stream.clone(),
                kind: job.kind,
                payload: job.payload,
                leases: 1,
                lease_until: until,
            })
            .collect::<Vec<_>>();
        let n = jobs.len();
        // Counted before they can be taken, so that the count never goes below zero.
        self.waiting.fetch_add(n, Ordering::Relaxed);
        if open.jobs.send(jobs).is_err() {
            self.taken(n);
        }
    }
}

/// What the writer has done: how many transactions, holding how many commits.
#[derive(Debug, Default)]
pub struct Stats {
    transactions: AtomicU64,
    commits: AtomicU64,
}

impl Stats {
    /// `(transactions, commits)` written so far.
    pub fn get(&self) -> (u64, u64) {
        (
            self.transactions.load(Ordering::Relaxed),
            self.commits.load(Ordering::Relaxed),
        )
    }
}

impl Writer {
    /// Starts the writer task for a store.
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        let stats = Arc::new(Stats::default());
        let handoff = Arc::new(Handoff::default());
        tokio::spawn(run(store, rx, stats.clone(), handoff.clone()));
        Writer { tx, stats, handoff }
    }

    /// Where jobs leased as they are created go.
    pub(crate) fn handoff(&self) -> &Handoff {
        &self.handoff
    }

    /// How many transactions and commits this writer has written.
    pub fn stats(&self) -> (u64, u64) {
        self.stats.get()
    }

    /// Commits, and returns once the commit is durable (or refused).
    pub async fn commit(&self, commit: Commit) -> Result<Committed, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((commit, reply))
            .await
            .map_err(|_| StoreError::Database("the writer has stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| StoreError::Database("the writer stopped before answering".to_owned()))?
    }
}

/// A batch on its way from the writer task, which prepares it, to the task that writes it, and
/// who waits for it to be written (see [`OVERLAP_FROM`]).
type Ready = (Prepared, Vec<Reply>, Option<oneshot::Sender<()>>);

/// Collects and prepares batches: under load each while the one before it is being written (at
/// most one prepared batch waits), so that only the transaction itself is serial.
async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<(Commit, Reply)>,
    stats: Arc<Stats>,
    handoff: Arc<Handoff>,
) {
    let (ready, batches) = mpsc::channel::<Ready>(1);
    let writing = tokio::spawn(write(store.clone(), batches, stats, handoff));
    // The slot is taken before the batch is collected: a batch is formed when the one before
    // it starts its transaction, not earlier, so that it gathers what arrived meanwhile.
    while let Ok(slot) = ready.reserve().await {
        let Some((commit, reply)) = rx.recv().await else {
            break;
        };
        let mut commits = Vec::with_capacity(MAX_BATCH);
        let mut replies = Vec::with_capacity(MAX_BATCH);
        commits.push(commit);
        replies.push(reply);
        // Everything already waiting joins this transaction; nothing waits for more.
        while commits.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok((c, r)) => {
                    commits.push(c);
                    replies.push(r);
                }
                Err(_) => break,
            }
        }
        let large = commits.len() >= OVERLAP_FROM;
        let prepared = store.prepare(commits).await;
        // A batch prepared in its own transaction (PostgreSQL's) gains nothing from the next
        // being collected early: that would only make the next one smaller.
        let overlap = large && prepared.ahead.is_some();
        let (tell, written) = oneshot::channel();
        slot.send((prepared, replies, (!overlap).then_some(tell)));
        if !overlap {
            let _ = written.await;
        }
    }
    drop(ready);
    let _ = writing.await;
}

/// Writes the prepared batches in turn, each in one transaction, and answers their callers.
async fn write(
    store: Arc<dyn Store>,
    mut batches: mpsc::Receiver<Ready>,
    stats: Arc<Stats>,
    handoff: Arc<Handoff>,
) {
    while let Some((prepared, mut replies, written)) = batches.recv().await {
        let (mut commits, results) = store.write(prepared).await;
        stats.transactions.fetch_add(1, Ordering::Relaxed);
        stats
            .commits
            .fetch_add(commits.len() as u64, Ordering::Relaxed);
        match results {
            Ok(results) => {
                for ((reply, result), commit) in
                    replies.drain(..).zip(results).zip(commits.iter_mut())
                {
                    if matches!(
                        result,
                        Ok(Committed {
                            duplicate: false,
                            ..
                        })
                    ) {
                        handoff.hand_over(commit);
                    }
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, commits = commits.len(), "a group commit failed");
                for reply in replies.drain(..) {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
        if let Some(written) = written {
            let _ = written.send(());
        }
    }
}
