//! The fast path of a batch: every commit of it written with a few multi-row statements
//! instead of a dozen statements per commit.
//!
//! A statement costs a round trip (to the server for PostgreSQL, to the connection's worker
//! thread for SQLite) however few rows it writes, and the single writer's batches hold tens to
//! hundreds of commits under load: one `INSERT` of all their events instead of one per event
//! is what lets the writer keep up (docs/benchmarks.md has the profiles). Two reads (every
//! stream's head, and which of the batch's command ids were seen before) tell what becomes of
//! each commit, decided in memory exactly as the per-commit path decides it in the database: a
//! repeated command only completes its job, a commit decided on a version its stream has moved
//! past is a conflict and writes nothing, the others go in. A statement the database refuses
//! (another node's append racing this one on PostgreSQL, say) rolls the fast path back and
//! leaves the batch to the per-commit path of `write.rs`, which decides each commit on its own
//! with a savepoint each and writes its rows with the same [`Rows`] and `write_rows`; so the two
//! paths write the same rows and give the same answers.
//!
//! Statements write at most [`MAX_ROWS`] rows, and smaller pieces are powers of two, so that
//! whatever a batch's size, a handful of statement texts is prepared and cached per table.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use super::dialect::{Json, Ts, shared};
use super::rows::{self, conflict};
use super::sql::SqlStore;
use super::{Commit, Committed, InstanceRow, NewJob, RUNNING, StoreError, TaskRow};
use crate::events::{RecordedEvent, StreamId};

/// The most rows one statement writes (PostgreSQL takes at most 65,535 parameters, SQLite
/// 32,766; an event row has 13).
pub(crate) const MAX_ROWS: usize = 256;

/// `rows` in pieces of [`MAX_ROWS`], then of decreasing powers of two.
pub(crate) fn pieces<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = if rest.len() >= MAX_ROWS {
            MAX_ROWS
        } else {
            1 << (usize::BITS - 1 - rest.len().leading_zeros())
        };
        let (piece, after) = rest.split_at(n);
        rest = after;
        Some(piece)
    })
}

/// The rows that accepted commits write, gathered so that each table is written in a few
/// statements.
#[derive(Default)]
pub(super) struct Rows<'a> {
    /// Each event, with the JSON text of its payload and actor.
    events: Vec<(RecordedEvent, String, String)>,
    /// Each job, with its commit and the JSON text of its payload.
    jobs: Vec<(&'a Commit, &'a NewJob, String)>,
    /// The jobs that commits complete.
    pub(super) done_jobs: Vec<&'a String>,
    /// Each timer set (with its due time) or dropped (`None`), the last word for each.
    timers: BTreeMap<(&'a StreamId, &'a str), Option<DateTime<Utc>>>,
    /// Each stream's instance row, the last one.
    instances: BTreeMap<&'a StreamId, &'a InstanceRow>,
    /// Each task row, the last one.
    tasks: BTreeMap<(&'a StreamId, &'a str), &'a TaskRow>,
    /// Each command, with the version it left its stream at.
    commands: Vec<(&'a StreamId, &'a str, i64)>,
}

impl<'a> Rows<'a> {
    /// Gathers the rows of a commit that goes in, its events chained to `head` (its stream's
    /// version and last hash, which move to its last event).
    pub(super) fn add(&mut self, c: &'a Commit, at: DateTime<Utc>, head: &mut (u64, String)) {
        let recorded = rows::record(c, at, head.1.clone());
        if let Some((last, _, _)) = recorded.last() {
            head.1 = last.hash.clone();
        }
        head.0 = c.expected_version + c.events.len() as u64;
        self.events.extend(recorded);
        self.jobs
            .extend(c.jobs.iter().map(|j| (c, j, j.payload.to_string())));
        for t in &c.timers {
            self.timers
                .insert((&c.stream, t.id.as_str()), Some(t.due_at));
        }
        for t in &c.dropped_timers {
            self.timers.insert((&c.stream, t.as_str()), None);
        }
        self.done_jobs
            .extend(c.joined.iter().filter_map(|j| j.completes_job.as_ref()));
        self.instances.insert(&c.stream, &c.instance);
        for t in &c.tasks {
            self.tasks.insert((&c.stream, t.id.as_str()), t);
        }
        self.commands
            .push((&c.stream, c.command_id.as_str(), head.0 as i64));
    }
}

/// Each stream of the batch, once, in `order` (commits sorted by stream).
pub(super) fn streams_of<'a>(batch: &'a [Commit], order: &[usize]) -> Vec<&'a StreamId> {
    let mut streams: Vec<&StreamId> = Vec::new();
    for &i in order {
        if streams.last().is_none_or(|s| *s != &batch[i].stream) {
            streams.push(&batch[i].stream);
        }
    }
    streams
}

/// What becomes of each commit of `batch`, taken in `order`, given its stream's head and the
/// command ids seen (both moved on by the commits that go in), decided in memory exactly as
/// the per-commit path decides it in the database: a repeated command only completes its job;
/// one decided on a version its stream has moved past is refused and writes nothing; the
/// others chain their events and gather their rows. `None` when a stream has no head (the
/// batch needs the per-commit path).
#[allow(clippy::type_complexity)]
pub(super) fn decide<'a>(
    batch: &'a [Commit],
    order: &[usize],
    heads: &mut HashMap<&'a StreamId, (u64, String)>,
    seen: &mut HashMap<(StreamId, String), u64>,
    at: DateTime<Utc>,
) -> Option<(Vec<Result<Committed, StoreError>>, Rows<'a>)> {
    let mut results: Vec<Option<Result<Committed, StoreError>>> = vec![None; batch.len()];
    let mut rows = Rows::default();
    for &i in order {
        let c = &batch[i];
        let head = heads.get_mut(&c.stream)?;
        if let Some(&version) = seen.get(&(c.stream.clone(), c.command_id.clone())) {
            rows.done_jobs.extend(c.completes_job.as_ref());
            results[i] = Some(Ok(Committed {
                version,
                duplicate: true,
            }));
            continue;
        }
        if head.0 != c.expected_version {
            results[i] = Some(Err(conflict(c, head.0)));
            continue;
        }
        rows.done_jobs.extend(c.completes_job.as_ref());
        rows.add(c, at, head);
        seen.insert((c.stream.clone(), c.command_id.clone()), head.0);
        results[i] = Some(Ok(Committed {
            version: head.0,
            duplicate: false,
        }));
    }
    let results = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(StoreError::Database("a commit was skipped".to_owned()))))
        .collect();
    Some((results, rows))
}

shared! {
impl SqlStore {
    /// Every commit of `batch`, taken in `order` (by stream), in a few statements: every
    /// commit's result, `Ok(None)` when the batch needs the per-commit path (nothing written),
    /// or the database's error (the caller rolls back what was written).
    pub(super) async fn bulk(
        conn: &mut D::Connection,
        batch: &[Commit],
        order: &[usize],
        at: DateTime<Utc>,
    ) -> Result<Option<Vec<Result<Committed, StoreError>>>, sqlx::Error> {
        let streams = streams_of(batch, order);
        let mut heads = Self::read_heads(conn, &streams).await?;
        let commits: Vec<&Commit> = order.iter().map(|&i| &batch[i]).collect();
        let mut seen = Self::read_seen(conn, &commits).await?;
        let Some((results, rows)) = decide(batch, order, &mut heads, &mut seen, at) else {
            return Ok(None);
        };
        Self::write_rows(conn, rows, at).await?;
        Ok(Some(results))
    }

    /// The heads of `streams`: each one's last version and hash (0 and "" for a stream with
    /// no events).
    pub(super) async fn read_heads<'s>(
        conn: &mut D::Connection,
        streams: &[&'s StreamId],
    ) -> Result<HashMap<&'s StreamId, (u64, String)>, sqlx::Error> {
        let mut heads: HashMap<&StreamId, (u64, String)> =
            streams.iter().map(|s| (*s, (0, String::new()))).collect();
        for piece in pieces(streams) {
            let mut q = QueryBuilder::<D>::new(
                "SELECT e.agency, e.instance, e.version, e.hash FROM events e \
                 WHERE (e.agency, e.instance) IN (",
            );
            q.push_values(piece, |mut b, s| {
                b.push_bind(&s.agency).push_bind(&s.instance);
            });
            q.push(
                ") AND e.version = (SELECT max(m.version) FROM events m \
                 WHERE m.agency = e.agency AND m.instance = e.instance)",
            );
            let rows: Vec<(String, String, i64, String)> =
                q.build_query_as().fetch_all(&mut *conn).await?;
            for (agency, instance, version, hash) in rows {
                let key = StreamId { agency, instance };
                if let Some(head) = heads.get_mut(&key) {
                    *head = (version as u64, hash);
                }
            }
        }
        Ok(heads)
    }

    /// The command ids of `commits` their streams have already seen, with the version each
    /// left its stream at.
    pub(super) async fn read_seen(
        conn: &mut D::Connection,
        commits: &[&Commit],
    ) -> Result<HashMap<(StreamId, String), u64>, sqlx::Error> {
        let mut seen: HashMap<(StreamId, String), u64> = HashMap::new();
        for piece in pieces(commits) {
            let mut q = QueryBuilder::<D>::new(
                "SELECT agency, instance, command_id, version FROM commands \
                 WHERE (agency, instance, command_id) IN (",
            );
            q.push_values(piece, |mut b, c| {
                b.push_bind(&c.stream.agency)
                    .push_bind(&c.stream.instance)
                    .push_bind(&c.command_id);
            });
            q.push(")");
            let rows: Vec<(String, String, String, i64)> =
                q.build_query_as().fetch_all(&mut *conn).await?;
            for (agency, instance, command_id, version) in rows {
                seen.insert((StreamId { agency, instance }, command_id), version as u64);
            }
        }
        Ok(seen)
    }

    /// Writes the gathered rows, a few statements per table.
    pub(super) async fn write_rows(
        conn: &mut D::Connection,
        rows: Rows<'_>,
        at: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        for mut q in Self::statements(rows, at) {
            q.build().execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// The statements that write the gathered rows, a few per table, each with its
    /// parameters bound: built without the database, so that the writer can build a batch's
    /// while the batch before it is being written.
    pub(super) fn statements(rows: Rows<'_>, at: DateTime<Utc>) -> Vec<QueryBuilder<D>> {
        let mut out = Vec::new();
        let Rows {
            events,
            jobs,
            done_jobs,
            timers,
            instances,
            tasks,
            commands,
        } = rows;
        for piece in pieces(&events) {
            let mut q = QueryBuilder::<D>::new(
                "INSERT INTO events (agency, instance, version, recorded_at, workflow, \
                 workflow_version, definition_hash, actor, command_id, type, payload, \
                 prev_hash, hash) ",
            );
            q.push_values(piece, |mut b, (e, payload, actor)| {
                b.push_bind(&e.stream.agency)
                    .push_bind(&e.stream.instance)
                    .push_bind(e.version as i64)
                    .push_bind(Ts(at))
                    .push_bind(&e.workflow)
                    .push_bind(i64::from(e.workflow_version))
                    .push_bind(&e.definition_hash)
                    .push_bind(Json(actor))
                    .push_bind(&e.command_id)
                    .push_bind(e.event.kind())
                    .push_bind(Json(payload))
                    .push_bind(&e.prev_hash)
                    .push_bind(&e.hash);
            });
            out.push(q);
        }
        for piece in pieces(&jobs) {
            let mut q = QueryBuilder::<D>::new(
                "INSERT INTO jobs (id, agency, instance, kind, payload, created_at, \
                 lease_owner, leases, lease_until) ",
            );
            q.push_values(piece, |mut b, (c, job, payload)| {
                b.push_bind(&job.id)
                    .push_bind(&c.stream.agency)
                    .push_bind(&c.stream.instance)
                    .push_bind(job.kind.as_str())
                    .push_bind(Json(payload))
                    .push_bind(Ts(at))
                    .push_bind(c.lease.as_ref().map(|l| l.owner.as_str()))
                    .push_bind(i64::from(c.lease.is_some()))
                    .push_bind(c.lease.as_ref().map(|l| Ts(l.until(at))));
            });
            out.push(q);
        }
        for piece in pieces(&done_jobs) {
            let mut q = QueryBuilder::<D>::new("DELETE FROM jobs WHERE id IN (");
            q.push_values(piece, |mut b, id| {
                b.push_bind(*id);
            });
            q.push(")");
            out.push(q);
        }
        let (set, dropped): (Vec<_>, Vec<_>) =
            timers.into_iter().partition(|(_, due)| due.is_some());
        for piece in pieces(&set) {
            let mut q =
                QueryBuilder::<D>::new("INSERT INTO timers (agency, instance, id, due_at) ");
            q.push_values(piece, |mut b, ((s, id), due)| {
                b.push_bind(&s.agency)
                    .push_bind(&s.instance)
                    .push_bind(*id)
                    .push_bind(Ts(due.unwrap_or(at)));
            });
            q.push(
                " ON CONFLICT (agency, instance, id) DO UPDATE SET due_at = excluded.due_at",
            );
            out.push(q);
        }
        for piece in pieces(&dropped) {
            let mut q = QueryBuilder::<D>::new(
                "DELETE FROM timers WHERE (agency, instance, id) IN (",
            );
            q.push_values(piece, |mut b, ((s, id), _)| {
                b.push_bind(&s.agency).push_bind(&s.instance).push_bind(*id);
            });
            q.push(")");
            out.push(q);
        }
        let instances: Vec<_> = instances.into_iter().collect();
        for piece in pieces(&instances) {
            let mut q = QueryBuilder::<D>::new(
                "INSERT INTO instances (agency, instance, workflow, workflow_version, \
                 tracking_code, status, state, incidents, sla_breached, started_at, \
                 updated_at, filed_by, ended_at, document_id) ",
            );
            q.push_values(piece, |mut b, (s, i)| {
                b.push_bind(&s.agency)
                    .push_bind(&s.instance)
                    .push_bind(&i.workflow)
                    .push_bind(i64::from(i.workflow_version))
                    .push_bind(&i.tracking_code)
                    .push_bind(i.status.as_deref())
                    .push_bind(&i.state)
                    .push_bind(i64::from(i.incidents))
                    .push_bind(i.sla_breached)
                    .push_bind(Ts(i.started_at))
                    .push_bind(Ts(at))
                    .push_bind(i.filed_by.as_deref())
                    .push_bind((i.state != RUNNING).then_some(Ts(at)))
                    .push_bind(i.document_id.as_deref());
            });
            q.push(
                // What an instance started with (workflow, version, tracking code, start)
                // never changes: updating only the rest leaves the indexes on those alone.
                " ON CONFLICT (agency, instance) DO UPDATE SET status = excluded.status, \
                 state = excluded.state, incidents = excluded.incidents, \
                 sla_breached = excluded.sla_breached, updated_at = excluded.updated_at, \
                 ended_at = COALESCE(instances.ended_at, excluded.ended_at), \
                 filed_by = excluded.filed_by, \
                 document_id = COALESCE(instances.document_id, excluded.document_id)",
            );
            out.push(q);
        }
        let tasks: Vec<_> = tasks.into_iter().collect();
        for piece in pieces(&tasks) {
            let mut q = QueryBuilder::<D>::new(
                "INSERT INTO tasks (agency, instance, id, step, role, officer, due_at, open) ",
            );
            q.push_values(piece, |mut b, ((s, _), t)| {
                b.push_bind(&s.agency)
                    .push_bind(&s.instance)
                    .push_bind(&t.id)
                    .push_bind(&t.step)
                    .push_bind(t.role.as_deref())
                    .push_bind(t.officer.as_deref())
                    .push_bind(Ts(t.due_at))
                    .push_bind(t.open);
            });
            q.push(
                " ON CONFLICT (agency, instance, id) DO UPDATE SET step = excluded.step, \
                 role = excluded.role, officer = excluded.officer, \
                 due_at = excluded.due_at, open = excluded.open",
            );
            out.push(q);
        }
        for piece in pieces(&commands) {
            let mut q = QueryBuilder::<D>::new(
                "INSERT INTO commands (agency, instance, command_id, version) ",
            );
            q.push_values(piece, |mut b, (s, id, version)| {
                b.push_bind(&s.agency)
                    .push_bind(&s.instance)
                    .push_bind(*id)
                    .push_bind(*version);
            });
            out.push(q);
        }
        out
    }
}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_at_most_max_rows_then_powers_of_two() {
        let rows: Vec<usize> = (0..MAX_ROWS * 2 + 13).collect();
        let sizes: Vec<usize> = pieces(&rows).map(<[usize]>::len).collect();
        assert_eq!(sizes, vec![MAX_ROWS, MAX_ROWS, 8, 4, 1]);
        assert_eq!(pieces(&rows[..0]).count(), 0);
        let flat: Vec<usize> = pieces(&rows).flatten().copied().collect();
        assert_eq!(flat, rows);
    }
}
