//! What signed checkpoints keep in the store (`audit_trees`, `audit_leaves`, `audit_nodes`,
//! `checkpoints`, migration 0008): each agency's Merkle tree as it grew, so that a checkpoint
//! hashes only the events appended since the last one, and a proof reads a few stored subtrees.
//! Hashes are kept as hex text, like the events' own.

use async_trait::async_trait;

use super::dialect::shared;
use super::rows::{EventRow, db};
use super::sql::SqlStore;
use super::{EventLog, StoreError};
use crate::audit::signing::Checkpoint;
use crate::events::{StoredEvent, StreamId};

/// What one checkpoint adds to an agency's tree, written in one transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Growth {
    /// The tree's size before.
    pub from: u64,
    /// The new leaves, in order from leaf `from`: (position, event hash).
    pub leaves: Vec<(u64, String)>,
    /// The complete subtrees above the leaves that closed: (level, index, hash).
    pub nodes: Vec<(u32, u64, String)>,
    /// The position of the last event the tree now holds.
    pub last_position: u64,
}

/// The trees, their nodes and the signed checkpoints.
#[async_trait]
pub trait Trees: EventLog {
    /// The position up to which every event is visible and no earlier one can still be
    /// committed. On PostgreSQL two nodes' transactions may commit positions out of order, so
    /// this waits for those in flight (a brief `SHARE` lock on `events`).
    async fn settled_position(&self) -> Result<u64, StoreError>;

    /// Every agency that has requests or a tree, in order.
    async fn agencies(&self) -> Result<Vec<String>, StoreError>;

    /// An agency's tree: its size and the position of its last leaf ((0, 0) before the first
    /// checkpoint).
    async fn tree(&self, agency: &str) -> Result<(u64, u64), StoreError>;

    /// At most `limit` of an agency's events with positions in `(after, until]`, in order:
    /// (position, hash).
    async fn leaf_events(
        &self,
        agency: &str,
        after: u64,
        until: u64,
        limit: u32,
    ) -> Result<Vec<(u64, String)>, StoreError>;

    /// Adds to an agency's tree; refused as a conflict if its size is no longer `growth.from`
    /// (another node took a checkpoint meanwhile).
    async fn grow(&self, agency: &str, growth: &Growth) -> Result<(), StoreError>;

    /// The hashes of complete subtrees of an agency's tree (level 0: the leaves' event
    /// hashes, not yet leaf-hashed), in the order asked; an error if one is not stored.
    async fn nodes(&self, agency: &str, keys: &[(u32, u64)]) -> Result<Vec<String>, StoreError>;

    /// The leaf of each position of an agency's tree that has one.
    async fn leaves_at(
        &self,
        agency: &str,
        positions: &[u64],
    ) -> Result<Vec<(u64, u64)>, StoreError>;

    /// The position of an agency's leaf, if its tree has it.
    async fn leaf_position(&self, agency: &str, leaf: u64) -> Result<Option<u64>, StoreError>;

    /// Keeps a signed checkpoint; false if the agency has one of that size already.
    async fn save_checkpoint(&self, checkpoint: &Checkpoint) -> Result<bool, StoreError>;

    /// An agency's checkpoints, smallest first, at most `limit` from size `from` on.
    async fn checkpoints(
        &self,
        agency: &str,
        from: u64,
        limit: u32,
    ) -> Result<Vec<Checkpoint>, StoreError>;

    /// An agency's latest checkpoint.
    async fn latest_checkpoint(&self, agency: &str) -> Result<Option<Checkpoint>, StoreError>;

    /// A stream's events, their payloads as stored (what a receipt carries).
    async fn stream_stored(&self, stream: &StreamId) -> Result<Vec<StoredEvent>, StoreError>;
}

/// Rows per insert statement: 4 parameters each stays under SQLite's 32,766.
const ROWS_PER_INSERT: usize = 1000;

/// A checkpoint as read.
type CheckpointTuple = (String, i64, String, String, i64, String, String);

fn checkpoint(r: CheckpointTuple) -> Checkpoint {
    Checkpoint {
        agency: r.0,
        size: r.1 as u64,
        root: r.2,
        time: r.3,
        last_position: r.4 as u64,
        key_id: r.5,
        signature: r.6,
    }
}

const CHECKPOINT_COLUMNS: &str =
    "SELECT agency, size, root, time, last_position, key_id, signature FROM checkpoints ";

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `INSERT INTO table (cols) VALUES ($1, .., $k), (..)` for `rows` rows of `k` columns.
fn insert_sql(table: &str, columns: &str, k: usize, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({columns}) VALUES ");
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..k {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * k + c + 1));
        }
        sql.push(')');
    }
    sql
}

shared! {
#[async_trait]
impl Trees for SqlStore {
    async fn settled_position(&self) -> Result<u64, StoreError> {
        const LAST: &str = "SELECT coalesce(max(position), 0) FROM events";
        if D::NAME != "PostgreSQL" {
            // One writer commits positions in order: what is visible is settled.
            let (last,): (i64,) = sqlx::query_as(LAST).fetch_one(&self.reads).await.map_err(db)?;
            return Ok(last as u64);
        }
        // `SHARE` waits for every transaction that inserted events to end and keeps new ones
        // out until this one ends: no position at or below the maximum seen can still appear.
        let mut tx = self.writer.begin().await.map_err(db)?;
        sqlx::query("LOCK TABLE events IN SHARE MODE")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let (last,): (i64,) = sqlx::query_as(LAST).fetch_one(&mut *tx).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(last as u64)
    }

    async fn agencies(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT agency FROM instances UNION SELECT agency FROM audit_trees ORDER BY agency",
        )
        .fetch_all(&self.reads)
        .await
        .map_err(db)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn tree(&self, agency: &str) -> Result<(u64, u64), StoreError> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT size, last_position FROM audit_trees WHERE agency = $1")
                .bind(agency)
                .fetch_optional(&self.reads)
                .await
                .map_err(db)?;
        Ok(row.map_or((0, 0), |(s, p)| (s as u64, p as u64)))
    }

    async fn leaf_events(
        &self,
        agency: &str,
        after: u64,
        until: u64,
        limit: u32,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            // `agency || ''` keeps SQLite from scanning the agency's whole (agency, instance,
            // version) index and sorting it for every page: the position range is the index.
            "SELECT position, hash FROM events WHERE position > $1 AND position <= $2 \
             AND agency || '' = $3 ORDER BY position LIMIT $4",
        )
        .bind(int(after))
        .bind(int(until))
        .bind(agency)
        .bind(i64::from(limit))
        .fetch_all(&self.reads)
        .await
        .map_err(db)?;
        Ok(rows.into_iter().map(|(p, h)| (p as u64, h)).collect())
    }

    async fn grow(&self, agency: &str, growth: &Growth) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with(D::BEGIN_WRITE).await.map_err(db)?;
        let size = int(growth.from + growth.leaves.len() as u64);
        // Conditional on the size the growth was computed from: two nodes checkpointing at
        // once, one wins.
        let sql = if growth.from == 0 {
            "INSERT INTO audit_trees (agency, size, last_position) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING RETURNING size"
        } else {
            "UPDATE audit_trees SET size = $2, last_position = $3 \
             WHERE agency = $1 AND size = $4 RETURNING size"
        };
        let mut q = sqlx::query_as::<_, (i64,)>(sql)
            .bind(agency)
            .bind(size)
            .bind(int(growth.last_position));
        if growth.from > 0 {
            q = q.bind(int(growth.from));
        }
        if q.fetch_optional(&mut *tx).await.map_err(db)?.is_none() {
            tx.rollback().await.map_err(db)?;
            return Err(StoreError::Conflict {
                stream: format!("{agency} (its checkpoint tree)"),
                expected: growth.from,
                actual: self.tree(agency).await?.0,
            });
        }
        for (i, chunk) in growth.leaves.chunks(ROWS_PER_INSERT).enumerate() {
            let sql = insert_sql("audit_leaves", "agency, leaf, position, hash", 4, chunk.len());
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (j, (position, hash)) in chunk.iter().enumerate() {
                let leaf = growth.from + (i * ROWS_PER_INSERT + j) as u64;
                q = q.bind(agency).bind(int(leaf)).bind(int(*position)).bind(hash.as_str());
            }
            q.execute(&mut *tx).await.map_err(db)?;
        }
        for chunk in growth.nodes.chunks(ROWS_PER_INSERT) {
            let sql = insert_sql("audit_nodes", "agency, level, idx, hash", 4, chunk.len());
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (level, idx, hash) in chunk {
                q = q.bind(agency).bind(i64::from(*level)).bind(int(*idx)).bind(hash.as_str());
            }
            q.execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn nodes(
        &self,
        agency: &str,
        keys: &[(u32, u64)],
    ) -> Result<Vec<String>, StoreError> {
        let mut found = std::collections::HashMap::new();
        let (leaves, above): (Vec<&(u32, u64)>, Vec<&(u32, u64)>) =
            keys.iter().partition(|k| k.0 == 0);
        for chunk in leaves.chunks(ROWS_PER_INSERT) {
            let mut sql =
                "SELECT 0, leaf, hash FROM audit_leaves WHERE agency = $1 AND leaf IN (".to_owned();
            for i in 0..chunk.len() {
                sql.push_str(&format!("{}${}", if i == 0 { "" } else { ", " }, i + 2));
            }
            sql.push(')');
            let mut q = sqlx::query_as::<_, (i64, i64, String)>(sqlx::AssertSqlSafe(sql)).bind(agency);
            for k in chunk {
                q = q.bind(int(k.1));
            }
            for (l, i, h) in q.fetch_all(&self.reads).await.map_err(db)? {
                found.insert((l as u32, i as u64), h);
            }
        }
        // One query per level with `idx IN (…)`, which the primary key (agency, level, idx)
        // answers by seeks; a single statement of `(level = ? AND idx = ?) OR …` terms made
        // SQLite scan the agency's nodes (seconds per receipt at a million events).
        let mut by_level: std::collections::BTreeMap<u32, Vec<u64>> = Default::default();
        for k in above {
            by_level.entry(k.0).or_default().push(k.1);
        }
        for (level, idxs) in by_level {
            for chunk in idxs.chunks(ROWS_PER_INSERT) {
                let mut sql = "SELECT level, idx, hash FROM audit_nodes \
                               WHERE agency = $1 AND level = $2 AND idx IN ("
                    .to_owned();
                for i in 0..chunk.len() {
                    sql.push_str(&format!("{}${}", if i == 0 { "" } else { ", " }, i + 3));
                }
                sql.push(')');
                let mut q = sqlx::query_as::<_, (i64, i64, String)>(sqlx::AssertSqlSafe(sql))
                    .bind(agency)
                    .bind(i64::from(level));
                for idx in chunk {
                    q = q.bind(int(*idx));
                }
                for (l, i, h) in q.fetch_all(&self.reads).await.map_err(db)? {
                    found.insert((l as u32, i as u64), h);
                }
            }
        }
        keys.iter()
            .map(|k| {
                found.get(k).cloned().ok_or_else(|| {
                    StoreError::Database(format!(
                        "{agency}'s checkpoint tree has no node at level {} index {}",
                        k.0, k.1
                    ))
                })
            })
            .collect()
    }

    async fn leaves_at(
        &self,
        agency: &str,
        positions: &[u64],
    ) -> Result<Vec<(u64, u64)>, StoreError> {
        let mut out = Vec::new();
        for chunk in positions.chunks(ROWS_PER_INSERT) {
            let mut sql =
                // `agency || ''`: the position index (unique) is the one to use, not the scan of
                // the agency's every leaf that SQLite would choose by the key's first column.
                "SELECT position, leaf FROM audit_leaves WHERE agency || '' = $1 AND position IN ("
                    .to_owned();
            for i in 0..chunk.len() {
                sql.push_str(&format!("{}${}", if i == 0 { "" } else { ", " }, i + 2));
            }
            sql.push(')');
            let mut q = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql)).bind(agency);
            for p in chunk {
                q = q.bind(int(*p));
            }
            let rows = q.fetch_all(&self.reads).await.map_err(db)?;
            out.extend(rows.into_iter().map(|(p, l)| (p as u64, l as u64)));
        }
        Ok(out)
    }

    async fn leaf_position(&self, agency: &str, leaf: u64) -> Result<Option<u64>, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT position FROM audit_leaves WHERE agency = $1 AND leaf = $2")
                .bind(agency)
                .bind(int(leaf))
                .fetch_optional(&self.reads)
                .await
                .map_err(db)?;
        Ok(row.map(|r| r.0 as u64))
    }

    async fn save_checkpoint(&self, c: &Checkpoint) -> Result<bool, StoreError> {
        let done: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO checkpoints (agency, size, root, time, last_position, key_id, signature) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING size",
        )
        .bind(c.agency.as_str())
        .bind(int(c.size))
        .bind(c.root.as_str())
        .bind(c.time.as_str())
        .bind(int(c.last_position))
        .bind(c.key_id.as_str())
        .bind(c.signature.as_str())
        .fetch_optional(&self.writer)
        .await
        .map_err(db)?;
        Ok(done.is_some())
    }

    async fn checkpoints(
        &self,
        agency: &str,
        from: u64,
        limit: u32,
    ) -> Result<Vec<Checkpoint>, StoreError> {
        let rows: Vec<CheckpointTuple> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{CHECKPOINT_COLUMNS} WHERE agency = $1 AND size >= $2 ORDER BY size LIMIT $3"
        )))
        .bind(agency)
        .bind(int(from))
        .bind(i64::from(limit))
        .fetch_all(&self.reads)
        .await
        .map_err(db)?;
        Ok(rows.into_iter().map(checkpoint).collect())
    }

    async fn latest_checkpoint(&self, agency: &str) -> Result<Option<Checkpoint>, StoreError> {
        let row: Option<CheckpointTuple> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{CHECKPOINT_COLUMNS} WHERE agency = $1 ORDER BY size DESC LIMIT 1"
        )))
        .bind(agency)
        .fetch_optional(&self.reads)
        .await
        .map_err(db)?;
        Ok(row.map(checkpoint))
    }

    async fn stream_stored(&self, stream: &StreamId) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = Self::stream_rows(&self.reads, stream).await?;
        rows.into_iter().map(EventRow::into_stored).collect()
    }
}
}
