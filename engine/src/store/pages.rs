//! Keyset pages and bounded counts: what the desk's lists and the manager's figures read, so
//! that a page costs the same with 100,000 requests in the store as with ten.
//!
//! A page starts after (or ends before) the sort key of a row, not at an offset: the database
//! seeks to the key in an index and reads one page, and a request filed (or a task opened)
//! meanwhile neither pushes a row of the next page back onto it nor makes one skip it, which
//! `LIMIT … OFFSET` does on a list that grows at its head. The counts are `GROUP BY`s that the
//! indexes of migration 0009 answer without reading the rows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::dialect::{Ts, shared};
use super::rows::db;
use super::sql::SqlStore;
use super::{StoreError, TaskRow, WorkItem};
use crate::events::StreamId;

/// Where a keyset page is, from a row's sort key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Seek<K> {
    /// The rows that come after this key, in the listing's order.
    After(K),
    /// The rows that come just before it (a "previous page"), still given in the listing's
    /// order.
    Before(K),
}

/// The sort key of a request in a listing (newest first): when it was filed, then its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceKey {
    /// When it was filed.
    pub started_at: DateTime<Utc>,
    /// The instance id.
    pub instance: String,
}

/// The sort key of a task in a worklist (earliest deadline first): its deadline, its
/// instance, its id (the ids byte by byte, as the engine orders them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskKey {
    /// The deadline.
    pub due_at: DateTime<Utc>,
    /// The instance id.
    pub instance: String,
    /// The task id.
    pub task: String,
}

impl WorkItem {
    /// Its sort key in a worklist.
    pub fn key(&self) -> TaskKey {
        TaskKey {
            due_at: self.task.due_at,
            instance: self.stream.instance.clone(),
            task: self.task.id.clone(),
        }
    }
}

/// Which tasks of an agency a worklist page shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkQuery {
    /// Only the tasks one of these roles may claim, and those with no role (which name
    /// candidate groups: the caller reads them from the instance); `None` for every role.
    pub roles: Option<Vec<String>>,
    /// Only the tasks this officer holds.
    pub officer: Option<String>,
    /// Leave out closed tasks.
    pub open_only: bool,
    /// The page; `None` for the first.
    pub seek: Option<Seek<TaskKey>>,
    /// At most this many (the store caps it at one more than [`super::MAX_LISTING`], so that
    /// a caller can tell whether a full page has another after it).
    pub limit: u32,
}

/// How many requests of one service filed in a period are in one state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceCount {
    /// The service (workflow id).
    pub workflow: String,
    /// `running`, an outcome, or `cancelled`.
    pub state: String,
    /// How many.
    pub requests: u64,
    /// Of those, how many passed their SLA.
    pub sla_breaches: u64,
    /// Of those, how many have an open incident.
    pub with_incidents: u64,
    /// Of those, how many had a human task (ended ones with none were delivered smartly).
    pub human: u64,
}

/// The open tasks of an agency held by one officer (or unclaimed) of one role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Load {
    /// The officer holding them; `None` for unclaimed tasks.
    pub officer: Option<String>,
    /// Their role; `None` for tasks that name candidate groups.
    pub role: Option<String>,
    /// How many are open.
    pub open: u64,
    /// Of those, how many are past their deadline.
    pub late: u64,
}

/// A worklist row as read: instance, task id, step, role, officer, deadline, open, workflow,
/// tracking code.
pub(super) type WorkRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Ts,
    bool,
    String,
    String,
);

/// The worklist item of a row of `agency`.
pub(super) fn work_item(agency: &str, row: WorkRow) -> WorkItem {
    let (instance, id, step, role, officer, due_at, open, workflow, tracking_code) = row;
    WorkItem {
        stream: StreamId {
            agency: agency.to_owned(),
            instance,
        },
        task: TaskRow {
            id,
            step,
            role,
            officer,
            due_at: due_at.0,
            open,
        },
        workflow,
        tracking_code,
    }
}

/// A count column, which SQLite and PostgreSQL both give as a 64-bit integer.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

shared! {
impl SqlStore {
    /// A page of an agency's worklist: see [`super::ReadModels::worklist_page`].
    pub(super) async fn read_worklist_page(
        &self,
        agency: &str,
        query: &WorkQuery,
    ) -> Result<Vec<WorkItem>, StoreError> {
        let c = D::SQL.bytes;
        let mut sql = sqlx::QueryBuilder::<D>::new(
            "SELECT t.instance, t.id, t.step, t.role, t.officer, t.due_at, t.open, \
             i.workflow, i.tracking_code \
             FROM tasks t JOIN instances i ON i.agency = t.agency AND i.instance = t.instance \
             WHERE t.agency = ",
        );
        sql.push_bind(agency);
        if query.open_only {
            sql.push(" AND t.open");
        }
        if let Some(officer) = &query.officer {
            sql.push(" AND t.officer = ").push_bind(officer);
        }
        if let Some(roles) = &query.roles {
            sql.push(" AND (t.role IS NULL");
            if !roles.is_empty() {
                sql.push(" OR t.role IN (");
                let mut list = sql.separated(", ");
                for role in roles {
                    list.push_bind(role);
                }
                sql.push(")");
            }
            sql.push(")");
        }
        let (key, forward) = match &query.seek {
            None => (None, true),
            Some(Seek::After(k)) => (Some(k), true),
            Some(Seek::Before(k)) => (Some(k), false),
        };
        if let Some(k) = key {
            // The first condition lets the deadline index seek; the rest breaks ties.
            let (cmp, bound) = if forward { (">", ">=") } else { ("<", "<=") };
            sql.push(format!(" AND t.due_at {bound} ")).push_bind(Ts(k.due_at));
            sql.push(format!(" AND (t.due_at {cmp} ")).push_bind(Ts(k.due_at));
            sql.push(" OR t.instance").push(c).push(format!(" {cmp} ")).push_bind(&k.instance);
            sql.push(" OR (t.instance = ").push_bind(&k.instance);
            sql.push(" AND t.id").push(c).push(format!(" {cmp} ")).push_bind(&k.task);
            sql.push("))");
        }
        let dir = if forward { "" } else { " DESC" };
        sql.push(format!(" ORDER BY t.due_at{dir}, t.instance"))
            .push(c)
            .push(format!("{dir}, t.id"))
            .push(c)
            .push(format!("{dir} LIMIT "))
            .push_bind(i64::from(query.limit.min(super::MAX_LISTING + 1)));
        let rows: Vec<WorkRow> = sql
            .build_query_as()
            .fetch_all(&self.reads)
            .await
            .map_err(db)?;
        let mut items: Vec<WorkItem> = rows.into_iter().map(|row| work_item(agency, row)).collect();
        if !forward {
            items.reverse();
        }
        Ok(items)
    }

    /// The requests of an agency filed in a period, counted by service and state: see
    /// [`super::ReadModels::service_counts`].
    pub(super) async fn count_services(
        &self,
        agency: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<ServiceCount>, StoreError> {
        let period = |sql: &mut sqlx::QueryBuilder<D>| {
            if let Some(t) = from {
                sql.push(" AND started_at >= ").push_bind(Ts(t));
            }
            if let Some(t) = to {
                sql.push(" AND started_at < ").push_bind(Ts(t));
            }
        };
        let mut sql = sqlx::QueryBuilder::<D>::new(
            "SELECT workflow, state, CAST(COUNT(*) AS BIGINT), \
             CAST(SUM(CASE WHEN sla_breached THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN incidents > 0 THEN 1 ELSE 0 END) AS BIGINT) \
             FROM instances WHERE agency = ",
        );
        sql.push_bind(agency);
        period(&mut sql);
        sql.push(" GROUP BY workflow, state ORDER BY workflow, state");
        let rows: Vec<(String, String, i64, i64, i64)> = sql
            .build_query_as()
            .fetch_all(&self.reads)
            .await
            .map_err(db)?;
        // Requests with a human task, from the tasks: far fewer rows than the requests when
        // most services are smart.
        let mut sql = sqlx::QueryBuilder::<D>::new(
            "SELECT workflow, state, CAST(COUNT(*) AS BIGINT) FROM instances i \
             WHERE i.instance IN (SELECT DISTINCT instance FROM tasks WHERE agency = ",
        );
        sql.push_bind(agency).push(") AND agency = ").push_bind(agency);
        period(&mut sql);
        sql.push(" GROUP BY workflow, state");
        let human: Vec<(String, String, i64)> = sql
            .build_query_as()
            .fetch_all(&self.reads)
            .await
            .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(workflow, state, requests, sla, incidents)| {
                let human = human
                    .iter()
                    .find(|(w, s, _)| *w == workflow && *s == state)
                    .map_or(0, |h| count(h.2));
                ServiceCount {
                    workflow,
                    state,
                    requests: count(requests),
                    sla_breaches: count(sla),
                    with_incidents: count(incidents),
                    human,
                }
            })
            .collect())
    }

    /// The open tasks of an agency by officer and role: see [`super::ReadModels::officers_load`].
    pub(super) async fn count_load(
        &self,
        agency: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Load>, StoreError> {
        let rows: Vec<(Option<String>, Option<String>, i64, i64)> = sqlx::query_as(
            "SELECT officer, role, CAST(COUNT(*) AS BIGINT), \
             CAST(SUM(CASE WHEN due_at < $2 THEN 1 ELSE 0 END) AS BIGINT) \
             FROM tasks WHERE agency = $1 AND open GROUP BY officer, role \
             ORDER BY officer, role",
        )
        .bind(agency)
        .bind(Ts(now))
        .fetch_all(&self.reads)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(officer, role, open, late)| Load {
                officer,
                role,
                open: count(open),
                late: count(late),
            })
            .collect())
    }
}
}
