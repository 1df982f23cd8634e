//! Where SQLite and PostgreSQL differ, in one place; every query is otherwise written once, as
//! SQL both run (`$n` parameters, `ON CONFLICT`), in generic code over [`Dialect`].
//!
//! - Types: a time is fixed-width text on SQLite (see `rows::ts`) and `timestamptz` on
//!   PostgreSQL ([`Ts`]); JSON is text on SQLite and `json` on PostgreSQL, bound and read as the
//!   exact text the engine wrote, since event hashes cover it ([`Json`], [`JsonText`]).
//! - The clock, the byte order of text, and leasing jobs ([`Texts`]).
//! - How a batch's transaction begins, and how a snapshot is read.
//!
//! Rust does not let a trait carry bounds on other types for its users, so the bounds that
//! shared code needs (every type it binds or reads, for the dialect's database) are written
//! once, in [`shared!`], around each `impl` block of shared code.

use chrono::{DateTime, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgTypeInfo, PgValueRef, Postgres};
use sqlx::sqlite::{Sqlite, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Database, Decode, Encode, Pool, Type};

use super::StoreError;
use super::rows::{EventRow, parse_ts, ts};
use super::sql::{Page, SqlStore};
use crate::events::StoredEvent;

/// The SQL texts that differ between the dialects. Those that name the clock or the byte order
/// are written once, in `texts!`, with the dialect's expressions spliced in.
#[derive(Debug)]
pub struct Texts {
    /// The database clock, as a time column holds it.
    pub now: &'static str,
    /// Claims an occurrence of a schedule (a row back if it was not claimed before): `$1`
    /// agency, `$2` workflow, `$3` schedule, `$4` the occurrence.
    pub claim_occurrence: &'static str,
    /// Keeps an unmatched message: `$1` agency, `$2` name, `$3` correlation, `$4` message id,
    /// `$5` payload.
    pub keep_message: &'static str,
    /// Deploys a definition (a row back), or does nothing if the version exists: `$1` agency,
    /// `$2` workflow, `$3` version, `$4` hash, `$5` in force from, `$6` source.
    pub deploy: &'static str,
    /// An agency's worklist: `$1` agency, `$2` role or NULL, `$3` open tasks only. Streams and
    /// task ids are ordered byte by byte, as the engine orders them.
    pub worklist: &'static str,
    /// Leases jobs by the database clock: `$1` how many, `$2` the worker, `$3` the lease in
    /// microseconds. Returns the job's columns, then its order (`created_at`, then a sequence).
    pub lease_jobs: &'static str,
    /// What follows a text column in `ORDER BY` to order it byte by byte, as the engine
    /// orders streams and task ids (nothing on SQLite, whose text order is by bytes).
    pub bytes: &'static str,
}

/// The texts of one dialect, from its clock expression, its byte-order collation and its way of
/// leasing jobs.
macro_rules! texts {
    (now: $now:literal, bytes: $bytes:literal, lease_jobs: $lease:expr $(,)?) => {
        Texts {
            now: concat!("SELECT ", $now),
            claim_occurrence: concat!(
                "INSERT INTO schedule_runs (agency, workflow, schedule, occurrence, claimed_at) \
                 VALUES ($1, $2, $3, $4, ",
                $now,
                ") ON CONFLICT DO NOTHING RETURNING true"
            ),
            keep_message: concat!(
                "INSERT INTO unmatched_messages \
                 (agency, name, correlation, message_id, payload, received_at) \
                 VALUES ($1, $2, $3, $4, $5, ",
                $now,
                ") ON CONFLICT DO NOTHING"
            ),
            deploy: concat!(
                "INSERT INTO definitions \
                 (agency, workflow, version, hash, in_force_from, source, deployed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, ",
                $now,
                ") ON CONFLICT DO NOTHING RETURNING true"
            ),
            worklist: concat!(
                "SELECT t.instance, t.id, t.step, t.role, t.officer, t.due_at, t.open, \
                 i.workflow, i.tracking_code \
                 FROM tasks t JOIN instances i ON i.agency = t.agency AND i.instance = t.instance \
                 WHERE t.agency = $1 AND (CAST($2 AS TEXT) IS NULL OR t.role = $2) \
                 AND (NOT $3 OR t.open) ORDER BY t.due_at, t.instance",
                $bytes,
                ", t.id",
                $bytes
            ),
            lease_jobs: $lease,
            bytes: $bytes,
        }
    };
}

/// What differs between the two backends.
pub trait Dialect: Database {
    /// The texts of the queries that differ.
    const SQL: Texts;
    /// Begins the transaction a batch of commits is written in.
    const BEGIN_WRITE: &'static str;
    /// Begins a read-only transaction in which every query sees one snapshot.
    const BEGIN_SNAPSHOT: &'static str;
    /// Whether several nodes may share a database of this kind ([`super::EventLog::shared`]).
    const SHARED: bool;

    /// The time a batch is recorded at when the node can tell it without asking the database
    /// (a statement less per batch); `None` to ask it (`SQL.now`) in the batch's transaction.
    fn recorded_now() -> Option<DateTime<Utc>> {
        None
    }

    /// A page of events, their payloads as stored: what verifying hash chains reads.
    fn read_stored(
        pool: &Pool<Self>,
        page: Page,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;
}

impl Dialect for Sqlite {
    const SHARED: bool = false;
    const SQL: Texts = texts!(
        // Millisecond resolution, in the stored time format.
        now: "(strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')",
        bytes: "",
        // The single writer leases, so no two nodes race for a job.
        lease_jobs: "UPDATE jobs SET lease_owner = $2, leases = leases + 1, \
             lease_until = strftime('%Y-%m-%dT%H:%M:%f', 'now', \
             printf('+%d.%06d seconds', $3 / 1000000, $3 % 1000000)) || '000Z' \
             WHERE id IN (SELECT id FROM jobs WHERE lease_until IS NULL \
             OR lease_until <= (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z') \
             ORDER BY created_at, rowid LIMIT $1) \
             RETURNING id, agency, instance, kind, payload, leases, lease_until, created_at, rowid",
    );
    // The write lock is taken up front, so the stream versions read inside the transaction
    // cannot change before the appends (a deferred transaction would only find out at its first
    // write, with `SQLITE_BUSY` and no way to wait).
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    // A read transaction reads one snapshot of the write-ahead log.
    const BEGIN_SNAPSHOT: &'static str = "BEGIN";

    // SQLite's `'now'` is this machine's clock to the millisecond (the database runs in this
    // process): the same time, read here.
    fn recorded_now() -> Option<DateTime<Utc>> {
        Some(chrono::SubsecRound::trunc_subsecs(Utc::now(), 3))
    }

    async fn read_stored(pool: &Pool<Self>, page: Page) -> Result<Vec<StoredEvent>, StoreError> {
        super::sqlite::read_stored(pool, page).await
    }
}

impl Dialect for Postgres {
    const SHARED: bool = true;
    const SQL: Texts = texts!(
        // Microsecond resolution, which is what event hashes cover.
        now: "now()",
        bytes: " COLLATE \"C\"",
        // Two nodes never lease the same job.
        lease_jobs: "WITH picked AS (SELECT id FROM jobs \
             WHERE lease_until IS NULL OR lease_until <= now() \
             ORDER BY created_at, seq LIMIT $1 FOR UPDATE SKIP LOCKED) \
             UPDATE jobs SET lease_owner = $2, leases = jobs.leases + 1, \
             lease_until = now() + $3 * interval '1 microsecond' \
             FROM picked WHERE jobs.id = picked.id \
             RETURNING jobs.id, jobs.agency, jobs.instance, jobs.kind, jobs.payload, \
             jobs.leases, jobs.lease_until, jobs.created_at, jobs.seq",
    );
    // Appends are fenced by the unique (agency, instance, version) constraint instead.
    const BEGIN_WRITE: &'static str = "BEGIN";
    const BEGIN_SNAPSHOT: &'static str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

    async fn read_stored(pool: &Pool<Self>, page: Page) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = SqlStore::events_in(pool, page).await?;
        rows.into_iter().map(EventRow::into_stored).collect()
    }
}

/// An `impl` block of code shared by both dialects, generic over the dialect `D`, with the
/// bounds its queries need: `shared! { impl SqlStore { .. } }` or
/// `shared! { #[async_trait] impl EventLog for SqlStore { .. } }`.
macro_rules! shared {
    ($(#[$attr:meta])* impl $trait_:ident for $ty:ident { $($body:tt)* }) => {
        $crate::store::dialect::shared!(@bounded [$(#[$attr])* impl<D> $trait_ for $ty<D>] $($body)*);
    };
    (impl $ty:ident { $($body:tt)* }) => {
        $crate::store::dialect::shared!(@bounded [impl<D> $ty<D>] $($body)*);
    };
    (@bounded [$($head:tt)*] $($body:tt)*) => {
        $($head)*
        where
            D: $crate::store::dialect::Dialect,
            for<'c> &'c mut D::Connection: sqlx::Executor<'c, Database = D>,
            D::Arguments: sqlx::IntoArguments<D>,
            usize: sqlx::ColumnIndex<D::Row>,
            for<'q> &'q str: sqlx::Encode<'q, D> + sqlx::Type<D>,
            for<'q> Option<&'q str>: sqlx::Encode<'q, D>,
            for<'q> String: sqlx::Encode<'q, D> + sqlx::Decode<'q, D> + sqlx::Type<D>,
            for<'q> i64: sqlx::Encode<'q, D> + sqlx::Decode<'q, D> + sqlx::Type<D>,
            for<'q> bool: sqlx::Encode<'q, D> + sqlx::Decode<'q, D> + sqlx::Type<D>,
            for<'q> chrono::NaiveDate:
                sqlx::Encode<'q, D> + sqlx::Decode<'q, D> + sqlx::Type<D>,
            for<'q> $crate::store::dialect::Ts:
                sqlx::Encode<'q, D> + sqlx::Decode<'q, D> + sqlx::Type<D>,
            for<'q> Option<$crate::store::dialect::Ts>: sqlx::Encode<'q, D>,
            for<'q> $crate::store::dialect::Json<'q>: sqlx::Encode<'q, D> + sqlx::Type<D>,
            for<'q> $crate::store::dialect::JsonText: sqlx::Decode<'q, D> + sqlx::Type<D>,
        {
            $($body)*
        }
    };
}
pub(crate) use shared;

/// A time as a column holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts(pub DateTime<Utc>);

impl Type<Sqlite> for Ts {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for Ts {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode(ts(self.0), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Ts {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Ts(parse_ts(<&str as Decode<Sqlite>>::decode(value)?)?))
    }
}

impl Type<Postgres> for Ts {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <DateTime<Utc> as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for Ts {
    fn encode_by_ref(
        &self,
        buf: &mut <Postgres as Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        Encode::<Postgres>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for Ts {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <DateTime<Utc> as Decode<Postgres>>::decode(value).map(Ts)
    }
}

/// JSON text to bind, exactly as written.
#[derive(Clone, Copy, Debug)]
pub struct Json<'a>(pub &'a str);

/// JSON text as read, exactly as stored.
#[derive(Debug)]
pub struct JsonText(pub String);

/// PostgreSQL's `json` type (a fixed, built-in OID): bound as `json`, its text is stored as it
/// is (a `jsonb` or `text` parameter would be reformatted or refused).
const PG_JSON: PgTypeInfo = PgTypeInfo::with_oid(sqlx::postgres::types::Oid(114));

impl Type<Sqlite> for Json<'_> {
    fn type_info() -> SqliteTypeInfo {
        <&str as Type<Sqlite>>::type_info()
    }
}

impl<'q> Encode<'q, Sqlite> for Json<'q> {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode_by_ref(&self.0, buf)
    }
}

impl Type<Postgres> for Json<'_> {
    fn type_info() -> PgTypeInfo {
        PG_JSON
    }
}

impl Encode<'_, Postgres> for Json<'_> {
    fn encode_by_ref(
        &self,
        buf: &mut <Postgres as Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        // A `json` value's binary form is its text.
        Encode::<Postgres>::encode_by_ref(&self.0, buf)
    }
}

impl Type<Sqlite> for JsonText {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Sqlite> for JsonText {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        <String as Decode<Sqlite>>::decode(value).map(JsonText)
    }
}

impl Type<Postgres> for JsonText {
    fn type_info() -> PgTypeInfo {
        PG_JSON
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <sqlx::types::Json<()> as Type<Postgres>>::compatible(ty)
            && *ty != <sqlx::types::Json<()> as Type<Postgres>>::type_info()
    }
}

impl<'r> Decode<'r, Postgres> for JsonText {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        // A `json` value's binary form is its text.
        <String as Decode<Postgres>>::decode(value).map(JsonText)
    }
}
