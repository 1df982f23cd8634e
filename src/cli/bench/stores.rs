//! Fresh stores for each measurement, and removing them afterwards: an SQLite file in the
//! bench's folder, or a PostgreSQL schema of its own (the tables of other schemas are never
//! touched).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use daftar_engine::store::Store;
use sqlx::Connection as _;

/// Which backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Backend {
    /// The embedded store: one file, WAL, `synchronous=FULL`.
    Sqlite,
    /// The shared store: PostgreSQL with `synchronous_commit=on`.
    Postgres,
}

impl Backend {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A store made for one measurement; [`Fresh::remove`] deletes it.
#[derive(Debug)]
pub struct Fresh {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Its URL, for another process to open it.
    pub url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    File(std::path::PathBuf),
    Schema { admin_url: String, schema: String },
}

/// Makes a fresh store named `name`: `DIR/NAME.db` for SQLite, schema `daftar_bench_NAME_PID`
/// in the database at `pg_url` for PostgreSQL.
pub async fn fresh(
    backend: Backend,
    name: &str,
    dir: &Path,
    pg_url: &str,
) -> anyhow::Result<Fresh> {
    match backend {
        Backend::Sqlite => {
            let path = dir.join(format!("{name}.db"));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            let url = format!("sqlite://{}", path.display());
            let store = super::super::db::open(&url).await?;
            Ok(Fresh {
                store,
                url,
                cleanup: Cleanup::File(path),
            })
        }
        Backend::Postgres => {
            let schema = format!(
                "daftar_bench_{}_{}",
                name.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
                std::process::id()
            );
            let mut conn = connect(pg_url).await?;
            for sql in [
                format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
                format!("CREATE SCHEMA {schema}"),
            ] {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .with_context(|| format!("cannot create the schema {schema}"))?;
            }
            let sep = if pg_url.contains('?') { '&' } else { '?' };
            let url = format!("{pg_url}{sep}options=-c%20search_path%3D{schema}");
            let store = super::super::db::open(&url).await?;
            Ok(Fresh {
                store,
                url,
                cleanup: Cleanup::Schema {
                    admin_url: pg_url.to_owned(),
                    schema,
                },
            })
        }
    }
}

/// Whether PostgreSQL answers at `url`, with the reason when it does not.
pub async fn postgres_reachable(url: &str) -> Result<(), String> {
    connect(url).await.map(|_| ()).map_err(|e| format!("{e:#}"))
}

async fn connect(url: &str) -> anyhow::Result<sqlx::PgConnection> {
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        sqlx::PgConnection::connect(url),
    )
    .await
    .map_err(|_| anyhow::anyhow!("timed out connecting to {url}"))?
    .with_context(|| format!("cannot connect to {url}"))
}

impl Fresh {
    /// Deletes the store: its file (with the WAL), or its schema.
    pub async fn remove(self) -> anyhow::Result<()> {
        drop(self.store);
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Schema { admin_url, schema } => {
                let mut conn = connect(&admin_url).await?;
                // The backends of the run's connections may still be finishing a statement
                // the client gave up on; a deadlock with them is retried.
                let mut attempt = 0;
                loop {
                    let dropped = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS {schema} CASCADE"
                    )))
                    .execute(&mut conn)
                    .await;
                    match dropped {
                        Ok(_) => break,
                        Err(_) if attempt < 5 => {
                            attempt += 1;
                            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                        }
                        Err(e) => {
                            return Err(e)
                                .with_context(|| format!("cannot drop the schema {schema}"));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
