//! Reading a [`Ledger`]: the same four queries on either backend, in one read-only snapshot
//! (the caller's transaction) so that a commit landing meanwhile cannot make the rows disagree.

use super::Ledger;
use super::dialect::shared;
use super::sql::SqlStore;
use crate::events::StreamId;

/// `$1` is the agency, or NULL for every agency (`coalesce` keeps the column's type for
/// PostgreSQL).
const EVENTS: &str = "SELECT agency, instance, count(*), max(version) FROM events \
     WHERE agency = coalesce($1, agency) GROUP BY agency, instance ORDER BY agency, instance";
const COMMANDS: &str = "SELECT agency, instance, max(version) FROM commands \
     WHERE agency = coalesce($1, agency) GROUP BY agency, instance ORDER BY agency, instance";
const INSTANCES: &str = "SELECT agency, instance FROM instances \
     WHERE agency = coalesce($1, agency) ORDER BY agency, instance";
const OTHERS: &str = "SELECT DISTINCT agency, instance, 'jobs' FROM jobs \
     WHERE agency = coalesce($1, agency) \
     UNION SELECT DISTINCT agency, instance, 'timers' FROM timers \
     WHERE agency = coalesce($1, agency) \
     UNION SELECT DISTINCT agency, instance, 'tasks' FROM tasks \
     WHERE agency = coalesce($1, agency)";

fn stream(agency: String, instance: String) -> StreamId {
    StreamId { agency, instance }
}

shared! {
impl SqlStore {
    /// The rows of one of the ledger's queries.
    async fn by_agency<R>(
        conn: &mut D::Connection,
        sql: &'static str,
        agency: Option<&str>,
    ) -> Result<Vec<R>, sqlx::Error>
    where
        R: for<'r> sqlx::FromRow<'r, D::Row> + Send + Unpin,
    {
        sqlx::query_as(sql).bind(agency).fetch_all(&mut *conn).await
    }

    /// The ledger of an agency's streams (every agency's when `None`).
    pub(super) async fn read_ledger(
        conn: &mut D::Connection,
        agency: Option<&str>,
    ) -> Result<Ledger, sqlx::Error> {
        let events: Vec<(String, String, i64, i64)> = Self::by_agency(conn, EVENTS, agency).await?;
        let commands: Vec<(String, String, i64)> = Self::by_agency(conn, COMMANDS, agency).await?;
        let instances: Vec<(String, String)> = Self::by_agency(conn, INSTANCES, agency).await?;
        let others: Vec<(String, String, String)> = Self::by_agency(conn, OTHERS, agency).await?;
        Ok(Ledger {
            streams: events
                .into_iter()
                .map(|(a, i, n, v)| (stream(a, i), n as u64, v as u64))
                .collect(),
            commands: commands
                .into_iter()
                .map(|(a, i, v)| (stream(a, i), v as u64))
                .collect(),
            instances: instances.into_iter().map(|(a, i)| stream(a, i)).collect(),
            others: others
                .into_iter()
                .map(|(a, i, table)| (stream(a, i), table))
                .collect(),
        })
    }
}
}
