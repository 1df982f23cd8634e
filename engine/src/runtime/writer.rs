//! The single writer: every commit of this node goes through one task, which takes all the
//! commits waiting at that moment and writes them in one transaction (group commit). A caller
//! is answered only after that transaction is durable, so an acknowledged transition is never
//! lost, and the disk's fsync rate bounds transactions, not transitions.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};

use crate::store::{Commit, Committed, Store, StoreError};

/// The most commits written in one transaction.
const MAX_BATCH: usize = 512;

type Reply = oneshot::Sender<Result<Committed, StoreError>>;

/// A handle to the writer task.
#[derive(Clone, Debug)]
pub struct Writer {
    tx: mpsc::Sender<(Commit, Reply)>,
    stats: Arc<Stats>,
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
        tokio::spawn(run(store, rx, stats.clone()));
        Writer { tx, stats }
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

async fn run(store: Arc<dyn Store>, mut rx: mpsc::Receiver<(Commit, Reply)>, stats: Arc<Stats>) {
    let mut commits = Vec::with_capacity(MAX_BATCH);
    let mut replies = Vec::with_capacity(MAX_BATCH);
    while let Some((commit, reply)) = rx.recv().await {
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
        let results = store.commit(&commits).await;
        stats.transactions.fetch_add(1, Ordering::Relaxed);
        stats
            .commits
            .fetch_add(commits.len() as u64, Ordering::Relaxed);
        match results {
            Ok(results) => {
                for (reply, result) in replies.drain(..).zip(results) {
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
        commits.clear();
    }
}
