//! Tampering after a checkpoint, caught with no database: on a real SQLite file and a real
//! PostgreSQL schema that `daftar run` filled, a checkpoint is signed (`daftar checkpoint`) and
//! kept, as an auditor keeps what `GET /api/v1/checkpoints` publishes; then each edit of
//! `tests/tamper.rs` is made, and so is the edit the database's own `verify` cannot see (a tail
//! rewritten with every hash recomputed, the checkpoint tables emptied and a new checkpoint
//! signed with the agency's own key). `daftar export` then `daftar verify --offline` with the
//! kept checkpoint must fail. PostgreSQL is skipped, loudly, when the server cannot be reached
//! (unless `DAFTAR_REQUIRE_POSTGRES=1`).

use std::path::Path;

use daftar_testkit::pg;
use daftar_testkit::process::daftar;

#[path = "tamper/edits.rs"]
mod edits;
use edits::{Db, EDITS, Edit, dry_run, store_url, tamper};

/// A signing key (a seed as hex) and its public key, in `dir`.
fn keys(dir: &Path) -> (String, String) {
    let key = dir.join("agency.key");
    std::fs::write(&key, "11".repeat(32)).unwrap();
    let key = key.display().to_string();
    let out = daftar(&["public-key", "--signing-key", &key]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = dir.join("agency.pub.pem");
    std::fs::write(&public, &out.stdout).unwrap();
    (key, public.display().to_string())
}

/// Signs a checkpoint; answers it as `daftar checkpoint` printed it.
fn checkpoint(url: &str, key: &str) -> String {
    let out = daftar(&["checkpoint", "--db", url, "--signing-key", key]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Exports the store and checks the export offline with the kept checkpoints: the exit code
/// and what it printed.
fn export_and_verify(url: &str, dir: &Path, public: &str, kept: &Path) -> (Option<i32>, String) {
    let out = daftar(&["export", "--db", url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = dir.join("log.jsonl");
    std::fs::write(&file, &out.stdout).unwrap();
    let file = file.display().to_string();
    let kept = kept.display().to_string();
    let out = daftar(&[
        "verify",
        "--offline",
        &file,
        "--key",
        public,
        "--checkpoints",
        &kept,
    ]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A fresh filled store with a kept checkpoint: its URL, the keys, and the kept file.
fn prepared(url: String, dir: &Path) -> (String, String, String, std::path::PathBuf) {
    let url = if url.is_empty() {
        dir.join("daftar.db").display().to_string()
    } else {
        url
    };
    dry_run(&url, dir);
    let (key, public) = keys(dir);
    let kept = dir.join("kept.json");
    let signed = checkpoint(&url, &key);
    assert!(signed.contains("\"size\":"), "{signed}");
    std::fs::write(&kept, signed).unwrap();
    let (code, text) = export_and_verify(&url, dir, &public, &kept);
    assert_eq!(code, Some(0), "before any edit: {text}");
    assert!(text.starts_with("ok: "), "{text}");
    (url, key, public, kept)
}

async fn every_edit_is_caught<G>(
    store: impl Fn() -> std::pin::Pin<Box<dyn Future<Output = Option<(String, G)>>>>,
) {
    let mut missed = Vec::new();
    for edit in EDITS {
        // Not an event: the read model beside the log, which `daftar verify` checks against
        // the events in the database; an export carries only the log.
        if matches!(edit, Edit::InstanceState) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let Some((url, _guard)) = store().await else {
            return;
        };
        let (url, _, public, kept) = prepared(url, dir.path());
        tamper(&url, edit).await;
        let (code, text) = export_and_verify(&url, dir.path(), &public, &kept);
        if code != Some(1) || !text.starts_with("FAIL ") {
            missed.push(format!("{edit:?}: {code:?} {text}"));
        }
    }
    assert!(missed.is_empty(), "{missed:#?}");
}

/// Rewrites the stream from its third event on with every hash recomputed, so that the chain
/// holds: what an insider with the database can do.
async fn rewrite_tail(url: &str) {
    let store = daftar_engine::store::open_existing(&store_url(url))
        .await
        .unwrap();
    let events = store.read_stored(0, u64::MAX, 10_000).await.unwrap();
    assert!(events.len() > 4, "{}", events.len());
    let mut db = Db::open(url).await;
    let mut prev = events[1].hash.clone();
    for mut e in events.into_iter().skip(2) {
        if e.version == 3 {
            let p = &e.event.payload;
            e.event.payload = format!("{},\"approved\":true}}", &p[..p.len() - 1]);
        }
        e.prev_hash = prev;
        e.hash = e.compute_hash();
        prev = e.hash.clone();
        let payload = e.event.payload.replace('\'', "''");
        db.exec_one(&format!(
            "UPDATE events SET payload = '{payload}', prev_hash = '{}', hash = '{}' \
             WHERE version = {}",
            e.prev_hash, e.hash, e.version
        ))
        .await;
    }
    db.close().await;
    // The database's own check sees a consistent store.
    let out = daftar(&["verify", "--db", url]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Empties the checkpoint tables and signs a new checkpoint of the store as it now is.
async fn sign_again(url: &str, key: &str) {
    let mut db = Db::open(url).await;
    db.exec(
        "DELETE FROM checkpoints; DELETE FROM audit_leaves; DELETE FROM audit_nodes; \
         DELETE FROM audit_trees",
    )
    .await;
    db.close().await;
    checkpoint(url, key);
}

async fn a_rewritten_tail_is_caught<G>(store: Option<(String, G)>) {
    let Some((url, _guard)) = store else { return };
    let dir = tempfile::tempdir().unwrap();
    let (url, key, public, kept) = prepared(url, dir.path());
    rewrite_tail(&url).await;
    // The export's own checkpoint, signed before, is not rebuilt by the rewritten events.
    let empty = dir.path().join("none.json");
    std::fs::write(&empty, "[]").unwrap();
    let (code, text) = export_and_verify(&url, dir.path(), &public, &empty);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.starts_with("FAIL the events do not rebuild the checkpoint of size"),
        "{text}"
    );
    // With the agency's key, the insider signs the rewritten log: it is consistent with its new
    // checkpoint…
    sign_again(&url, &key).await;
    let (code, text) = export_and_verify(&url, dir.path(), &public, &empty);
    assert_eq!(code, Some(0), "{text}");
    // …with it, the rewrite shows.
    let (code, text) = export_and_verify(&url, dir.path(), &public, &kept);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.starts_with("FAIL two signed checkpoints of size"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_edit_of_an_sqlite_file_fails_offline_verify() {
    every_edit_is_caught(|| Box::pin(async { Some((String::new(), ())) })).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_edit_of_a_postgres_store_fails_offline_verify() {
    every_edit_is_caught(|| Box::pin(pg::schema())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_and_rehashed_tail_of_an_sqlite_file_fails_offline_verify() {
    a_rewritten_tail_is_caught(Some((String::new(), ()))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_and_rehashed_tail_of_a_postgres_store_fails_offline_verify() {
    a_rewritten_tail_is_caught(pg::schema().await).await;
}
