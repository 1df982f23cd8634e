//! The edits the tamper tests make behind the store's back, on either backend: shared by
//! `tests/tamper.rs` (the database's own verification) and `tests/tamper_offline.rs` (an
//! export checked against a checkpoint signed before the edit).

use daftar_testkit::process::run_clean_record;
use sqlx::{AssertSqlSafe, Connection};

/// A `--db` value as a URL: a plain path is an SQLite file.
pub fn store_url(db: &str) -> String {
    if db.contains("://") {
        db.to_owned()
    } else {
        format!("sqlite://{db}")
    }
}

/// One way to alter a store, as SQL run directly on the database.
#[derive(Clone, Copy, Debug)]
pub enum Edit {
    /// Spaces after the commas of a payload: the same event once decoded.
    Whitespace,
    /// A payload's `type` moved to the front: the same object, its keys reordered.
    KeyOrder,
    /// A field appended to a payload.
    AppendedField,
    /// Two events' positions swapped: the store says the later happened first.
    SwappedPositions,
    /// Two events' versions swapped.
    SwappedVersions,
    /// The stream's last event deleted.
    DeletedLastEvent,
    /// The stream's events deleted, every other row left.
    DeletedStream,
    /// The stream's events and every row naming it deleted but its `instances` row.
    DeletedStreamButInstance,
    /// An event's `type` column edited.
    TypeColumn,
    /// The request's `instances.state` edited.
    InstanceState,
}

pub const EDITS: [Edit; 10] = [
    Edit::Whitespace,
    Edit::KeyOrder,
    Edit::AppendedField,
    Edit::SwappedPositions,
    Edit::SwappedVersions,
    Edit::DeletedLastEvent,
    Edit::DeletedStream,
    Edit::DeletedStreamButInstance,
    Edit::TypeColumn,
    Edit::InstanceState,
];

/// A database connection of either backend, for SQL behind the store's back.
pub enum Db {
    Sqlite(sqlx::SqliteConnection),
    Pg(sqlx::PgConnection),
}

impl Db {
    pub async fn open(url: &str) -> Db {
        if !url.starts_with("postgres") {
            Db::Sqlite(
                sqlx::SqliteConnection::connect(&store_url(url))
                    .await
                    .unwrap(),
            )
        } else {
            Db::Pg(sqlx::PgConnection::connect(url).await.unwrap())
        }
    }

    pub async fn exec(&mut self, sql: &str) -> u64 {
        let sql = AssertSqlSafe(sql.to_owned());
        match self {
            Db::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.unwrap().rows_affected(),
            Db::Pg(c) => sqlx::raw_sql(sql).execute(c).await.unwrap().rows_affected(),
        }
    }

    /// The column `column` of the event at `version`, as text.
    async fn column(&mut self, column: &str, version: u32) -> String {
        let sql = |cast: String| format!("SELECT {cast} FROM events WHERE version = {version}");
        match self {
            Db::Sqlite(c) => {
                sqlx::query_scalar(AssertSqlSafe(sql(format!("CAST({column} AS TEXT)"))))
                    .fetch_one(c)
                    .await
                    .unwrap()
            }
            Db::Pg(c) => sqlx::query_scalar(AssertSqlSafe(sql(format!("{column}::text"))))
                .fetch_one(c)
                .await
                .unwrap(),
        }
    }

    /// The payload of the event at `version`, as stored.
    async fn payload(&mut self, version: u32) -> String {
        self.column("payload", version).await
    }

    /// The position of the event at `version`.
    async fn position(&mut self, version: u32) -> i64 {
        self.column("position", version).await.parse().unwrap()
    }

    /// Runs `sql`, which must change exactly one row.
    pub async fn exec_one(&mut self, sql: &str) {
        assert_eq!(self.exec(sql).await, 1, "{sql}");
    }

    async fn set_payload(&mut self, version: u32, payload: &str) {
        let quoted = payload.replace('\'', "''");
        self.exec_one(&format!(
            "UPDATE events SET payload = '{quoted}' WHERE version = {version}"
        ))
        .await;
    }

    pub async fn close(self) {
        match self {
            Db::Sqlite(c) => c.close().await.unwrap(),
            Db::Pg(c) => c.close().await.unwrap(),
        }
    }
}

/// Makes `edit` to the one stream of the store at `url`.
pub async fn tamper(url: &str, edit: Edit) {
    let mut db = Db::open(url).await;
    let pg = matches!(db, Db::Pg(_));
    match edit {
        Edit::Whitespace => {
            let p = db.payload(2).await;
            db.set_payload(2, &p.replace(",\"", ", \"")).await;
        }
        Edit::KeyOrder => {
            let p = db.payload(1).await;
            let moved = p.replace(",\"type\":\"InstanceStarted\"", "");
            assert_ne!(moved, p, "{p}");
            db.set_payload(1, &moved.replacen('{', "{\"type\":\"InstanceStarted\",", 1))
                .await;
        }
        Edit::AppendedField => {
            let p = db.payload(3).await;
            db.set_payload(3, &format!("{},\"approved\":true}}", &p[..p.len() - 1]))
                .await;
        }
        Edit::SwappedPositions => {
            if pg {
                db.exec("ALTER TABLE events ALTER COLUMN position SET GENERATED BY DEFAULT")
                    .await;
            }
            let (p3, p4) = (db.position(3).await, db.position(4).await);
            db.exec(&format!(
                "UPDATE events SET position = -1 WHERE version = 3; \
                 UPDATE events SET position = {p3} WHERE version = 4; \
                 UPDATE events SET position = {p4} WHERE version = 3"
            ))
            .await;
        }
        Edit::SwappedVersions => {
            db.exec(
                "UPDATE events SET version = 1000000 WHERE version = 3; \
                 UPDATE events SET version = 3 WHERE version = 4; \
                 UPDATE events SET version = 4 WHERE version = 1000000",
            )
            .await;
        }
        Edit::DeletedLastEvent => {
            db.exec_one("DELETE FROM events WHERE version = (SELECT max(version) FROM events)")
                .await;
        }
        Edit::DeletedStream => {
            assert!(db.exec("DELETE FROM events").await > 5);
        }
        Edit::DeletedStreamButInstance => {
            db.exec(
                "DELETE FROM events; DELETE FROM commands; DELETE FROM jobs; \
                 DELETE FROM timers; DELETE FROM tasks",
            )
            .await;
        }
        Edit::TypeColumn => {
            db.exec_one("UPDATE events SET type = 'InstanceCancelled' WHERE version = 2")
                .await;
        }
        Edit::InstanceState => {
            db.exec_one("UPDATE instances SET state = 'rejected'").await;
        }
    }
    db.close().await;
}

/// Fills the store at `url` with one issued request, as `daftar run` does.
pub fn dry_run(url: &str, dir: &std::path::Path) {
    let out = run_clean_record(dir, url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
