//! Preparing a batch while the one before it is being written: the writer's pipeline.
//!
//! The single writer's serial section is the transaction: while the database executes a
//! batch's statements and syncs them, nothing else may write. Everything else a batch needs
//! (each stream's head and which command ids it has seen, deciding each commit, chaining its
//! events, binding its rows) is done here, by [`SqlStore::prepare_ahead`], while the batch
//! before it is still in its transaction; [`SqlStore::write_ahead`] then only executes the
//! bound statements.
//!
//! A batch's heads cannot all come from the database, since the batch before it may not be
//! written yet: the heads and command ids that batches in flight leave behind are kept here
//! ([`Ahead`]), and a stream no batch in flight touches is read from the database, whose
//! committed state nothing in flight can change. So the prediction is exact as long as this
//! store is the only writer of its streams and every batch in flight goes in as prepared. When
//! one does not (another writer, a statement the database refused), what a prediction got
//! wrong cannot slip through:
//!
//! - an event row at a version its stream already has breaks `UNIQUE (agency, instance,
//!   version)`, and a command id already seen breaks the `commands` key, so the batch's
//!   transaction fails and nothing of it is written;
//! - a commit with no events writes no event row, so its stream's head is checked in the
//!   transaction itself (a *guard*);
//!
//! and then the batch is written again by [`EventLog::commit`]'s own path, which reads every
//! head inside its transaction, while predictions stop (*blind*) until every batch prepared
//! before the failure is written.
//!
//! Only a store that knows a batch's time without asking the database prepares ahead (SQLite,
//! whose clock is this process's); PostgreSQL asks its server for the time inside the
//! transaction, so each of its batches is prepared plain.

use std::collections::HashMap;
use std::sync::Mutex;

use sqlx::QueryBuilder;

use super::bulk::{decide, streams_of};
use super::dialect::{Dialect, shared};
use super::rows::db;
use super::sql::SqlStore;
use super::{Commit, Committed, EventLog, Prepared, StoreError, Written};
use crate::events::StreamId;

/// What the batches prepared and not yet written leave behind.
#[derive(Debug, Default)]
pub(crate) struct Ahead {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Moves on when a prepared batch fails to go in as prepared: the predictions of the
    /// batches prepared before then are void.
    epoch: u64,
    /// The number of the last batch prepared.
    prepared: u64,
    /// The number of the last batch written.
    written: u64,
    /// Predictions are off until the batch of this number is written.
    blind_until: u64,
    /// How many predicted batches did not go in as prepared.
    missed: u64,
    /// Each stream a batch in flight writes: its version and last hash after that batch, and
    /// the batch's number.
    heads: HashMap<StreamId, (u64, String, u64)>,
    /// Each command id a batch in flight writes: the version it leaves its stream at, and
    /// the batch's number.
    seen: HashMap<(StreamId, String), (u64, u64)>,
}

/// A batch as [`SqlStore::prepare_ahead`] leaves it.
struct Batch<D: Dialect> {
    /// Its number.
    seq: u64,
    /// The epoch its predictions belong to.
    epoch: u64,
    /// What it writes, when it was predicted; `None` to write it by the full path.
    plan: Option<Plan<D>>,
}

/// A predicted batch: each commit's result, and the statements that write it.
struct Plan<D: Dialect> {
    results: Vec<Result<Committed, StoreError>>,
    /// The streams of commits with no events that go in, with the head each stream had before
    /// the batch: checked in the transaction, since no event row fences them.
    guards: Vec<(StreamId, u64)>,
    statements: Vec<QueryBuilder<D>>,
}

impl<D: Dialect> SqlStore<D> {
    /// How many batches prepared ahead did not go in as prepared (a stream moved behind the
    /// writer's back, or the database refused a statement) and were written again by the full
    /// path.
    pub fn missed_predictions(&self) -> u64 {
        self.ahead.state.lock().expect("lock").missed
    }
}

shared! {
impl SqlStore {
    /// Makes a batch ready to write (see the module's documentation).
    pub(super) async fn prepare_ahead(&self, batch: Vec<Commit>) -> Prepared {
        let Some(at) = D::recorded_now() else {
            return Prepared::plain(batch);
        };
        let mut order: Vec<usize> = (0..batch.len()).collect();
        order.sort_by(|&a, &b| batch[a].stream.cmp(&batch[b].stream));
        let streams = streams_of(&batch, &order);

        // What the batches in flight leave behind, and what must be read.
        let mut heads: HashMap<&StreamId, (u64, String)> = HashMap::new();
        let mut seen: HashMap<(StreamId, String), u64> = HashMap::new();
        let mut unread_streams = Vec::new();
        let mut unread_commits = Vec::new();
        let (seq, epoch) = {
            let mut s = self.ahead.state.lock().expect("lock");
            s.prepared += 1;
            let seq = s.prepared;
            if s.written < s.blind_until {
                s.blind_until = seq;
                return blind::<D>(batch, seq, s.epoch);
            }
            for stream in &streams {
                match s.heads.get(*stream) {
                    Some((version, hash, _)) => {
                        heads.insert(*stream, (*version, hash.clone()));
                    }
                    None => unread_streams.push(*stream),
                }
            }
            for c in &batch {
                let key = (c.stream.clone(), c.command_id.clone());
                match s.seen.get(&key) {
                    Some((version, _)) => {
                        seen.insert(key, *version);
                    }
                    None => unread_commits.push(c),
                }
            }
            (seq, s.epoch)
        };
        if !unread_streams.is_empty() || !unread_commits.is_empty() {
            let read = async {
                let mut conn = self.reads.acquire().await?;
                let read_heads = Self::read_heads(&mut conn, &unread_streams).await?;
                let read_seen = Self::read_seen(&mut conn, &unread_commits).await?;
                Ok::<_, sqlx::Error>((read_heads, read_seen))
            };
            match read.await {
                Ok((read_heads, read_seen)) => {
                    heads.extend(read_heads);
                    seen.extend(read_seen);
                }
                // The full path will say what is wrong; until it has, the batches after this
                // one cannot know its streams' heads.
                Err(_) => {
                    let mut s = self.ahead.state.lock().expect("lock");
                    s.blind_until = s.blind_until.max(seq);
                    drop(s);
                    return blind::<D>(batch, seq, epoch);
                }
            }
        }

        let before: HashMap<&StreamId, u64> = heads.iter().map(|(s, h)| (*s, h.0)).collect();
        let Some((results, rows)) = decide(&batch, &order, &mut heads, &mut seen, at) else {
            return blind::<D>(batch, seq, epoch);
        };
        let statements = Self::statements(rows, at);
        let mut guards: Vec<(StreamId, u64)> = Vec::new();
        {
            let mut s = self.ahead.state.lock().expect("lock");
            if s.epoch != epoch {
                return blind::<D>(batch, seq, epoch);
            }
            for (c, result) in batch.iter().zip(&results) {
                let Ok(Committed {
                    version,
                    duplicate: false,
                }) = result
                else {
                    continue;
                };
                let (head, hash) = &heads[&c.stream];
                s.heads
                    .insert(c.stream.clone(), (*head, hash.clone(), seq));
                s.seen.insert(
                    (c.stream.clone(), c.command_id.clone()),
                    (*version, seq),
                );
                if c.events.is_empty() && !guards.iter().any(|(g, _)| g == &c.stream) {
                    guards.push((c.stream.clone(), before[&c.stream]));
                }
            }
        }
        let plan = Plan {
            results,
            guards,
            statements,
        };
        Prepared {
            commits: batch,
            ahead: Some(Box::new(Batch {
                seq,
                epoch,
                plan: Some(plan),
            })),
        }
    }

    /// Writes a batch [`SqlStore::prepare_ahead`] made ready, in the order they were made.
    pub(super) async fn write_ahead(&self, prepared: Prepared) -> Written {
        let Prepared { commits, ahead } = prepared;
        let Some(Ok(batch)) = ahead.map(|a| a.downcast::<Batch<D>>()) else {
            let results = self.commit(&commits).await;
            return (commits, results);
        };
        let Batch { seq, epoch, plan } = *batch;
        let current = self.ahead.state.lock().expect("lock").epoch == epoch;
        let written = match plan {
            Some(plan) if current => match self.write_plan(plan).await {
                Ok(results) => Some(results),
                Err(e) => {
                    tracing::debug!(error = %e, "a batch prepared ahead did not go in as prepared");
                    let mut s = self.ahead.state.lock().expect("lock");
                    s.epoch += 1;
                    s.missed += 1;
                    s.heads.clear();
                    s.seen.clear();
                    s.blind_until = s.prepared;
                    None
                }
            },
            _ => None,
        };
        let results = match written {
            Some(results) => {
                let mut s = self.ahead.state.lock().expect("lock");
                s.heads.retain(|_, (_, _, by)| *by != seq);
                s.seen.retain(|_, (_, by)| *by != seq);
                Ok(results)
            }
            None => self.commit(&commits).await,
        };
        let mut s = self.ahead.state.lock().expect("lock");
        s.written = s.written.max(seq);
        drop(s);
        (commits, results)
    }

    /// One predicted batch's transaction: its guards, then its statements.
    async fn write_plan(
        &self,
        plan: Plan<D>,
    ) -> Result<Vec<Result<Committed, StoreError>>, StoreError> {
        let Plan {
            results,
            guards,
            statements,
        } = plan;
        let mut tx = self.writer.begin_with(D::BEGIN_WRITE).await.map_err(db)?;
        if !guards.is_empty() {
            let streams: Vec<&StreamId> = guards.iter().map(|(s, _)| s).collect();
            let heads = Self::read_heads(&mut tx, &streams).await.map_err(db)?;
            if let Some((stream, _)) = guards.iter().find(|(s, v)| heads[s].0 != *v) {
                tx.rollback().await.map_err(db)?;
                return Err(StoreError::Database(format!(
                    "{stream} moved while its batch was prepared"
                )));
            }
        }
        for mut q in statements {
            if let Err(e) = q.build().execute(&mut *tx).await {
                tx.rollback().await.map_err(db)?;
                return Err(db(e));
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(results)
    }
}
}

/// A batch to write by the full path, with its number.
fn blind<D: Dialect>(batch: Vec<Commit>, seq: u64, epoch: u64) -> Prepared {
    Prepared {
        commits: batch,
        ahead: Some(Box::new(Batch::<D> {
            seq,
            epoch,
            plan: None,
        })),
    }
}
