//! A fresh PostgreSQL schema for a test that drives the binary or a store: a URL whose search path is a
//! schema of its own, dropped at the end. When the server cannot be reached the test passes
//! with a loud `PostgreSQL tests SKIPPED` on stderr, unless `DAFTAR_REQUIRE_POSTGRES=1`.

use std::io::Write as _;
use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection};

/// A fresh PostgreSQL schema, dropped when the guard is.
#[derive(Debug)]
pub struct Schema {
    admin: String,
    name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (admin, sql) = (
            self.admin.clone(),
            format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        );
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut c).await;
                }
            });
        })
        .join();
    }
}

/// A URL whose search path is a fresh schema, or `None` when PostgreSQL is unreachable and
/// not required.
pub async fn schema() -> Option<(String, Schema)> {
    let admin = std::env::var("DAFTAR_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    // Tests of one binary run at once: a sequence number keeps their schemas apart.
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "daftar_test_{}_{}_{}",
        std::process::id(),
        SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let created = async {
        let mut c =
            tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&admin))
                .await
                .map_err(|_| "timed out connecting".to_owned())?
                .map_err(|e| e.to_string())?;
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut c)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(())
    };
    if let Err(reason) = created.await {
        if std::env::var("DAFTAR_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("PostgreSQL is required (DAFTAR_REQUIRE_POSTGRES=1) but: {reason}");
        }
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!! PostgreSQL tests SKIPPED: {reason} !!!!!\n"
        );
        return None;
    }
    let sep = if admin.contains('?') { '&' } else { '?' };
    let url = format!("{admin}{sep}options=-c%20search_path%3D{name}");
    Some((url, Schema { admin, name }))
}

impl Schema {
    /// How many tables the schema holds.
    pub async fn tables(&self) -> i64 {
        let mut c = sqlx::PgConnection::connect(&self.admin).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = $1")
            .bind(&self.name)
            .fetch_one(&mut c)
            .await
            .unwrap()
    }
}
