//! Opening the store named on the command line, and finding an instance in it.
//!
//! Every command reads `--db` the same way: `postgres://…` (or `postgresql://…`) is a server,
//! `sqlite://FILE` and a plain path are an SQLite file. Commands that only read open a store
//! that must already exist ([`open_existing`]): a mistyped path is an error, never a new empty
//! store reported as intact.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use daftar_engine::events::StreamId;
use daftar_engine::privacy::Keyring;
use daftar_engine::runtime::tracking;
use daftar_engine::store::Store;

/// The default store: an SQLite file in the current folder.
pub const DEFAULT_DB: &str = "sqlite://daftar.db";

/// The store URL of a `--db` value: a plain path is an SQLite file.
pub fn url(db: &str) -> String {
    let db = db.trim();
    if db.contains("://") || db.starts_with("sqlite:") {
        db.to_owned()
    } else {
        format!("sqlite://{db}")
    }
}

/// Opens a store by `--db` value, creating it if it does not exist (commands that write).
pub async fn open(db: &str) -> anyhow::Result<Arc<dyn Store>> {
    let url = url(db);
    daftar_engine::store::open(&url)
        .await
        .with_context(|| format!("cannot open the store at {url}"))
}

/// Opens a store by `--db` value that must already exist (commands that only read). With
/// `DAFTAR_KEYRING` set, sealed personal data is opened with that keyring.
pub async fn open_existing(db: &str) -> anyhow::Result<Arc<dyn Store>> {
    let url = url(db);
    let store = daftar_engine::store::open_existing(&url)
        .await
        .with_context(|| format!("cannot open the store at {url}"))?;
    if let Some(keyring) = keyring(None).await? {
        store.use_keyring(keyring);
    }
    Ok(store)
}

/// The keyring at `path`, or else the one `DAFTAR_KEYRING` names, if any: the applicants' keys
/// their personal data is sealed with (docs/audit.md, "Erasure").
pub async fn keyring(path: Option<&Path>) -> anyhow::Result<Option<Arc<Keyring>>> {
    let from_env = std::env::var_os("DAFTAR_KEYRING").map(PathBuf::from);
    let Some(path) = path.map(Path::to_path_buf).or(from_env) else {
        return Ok(None);
    };
    let keyring = Keyring::open(&path)
        .await
        .with_context(|| format!("cannot open the keyring at {}", path.display()))?;
    Ok(Some(Arc::new(keyring)))
}

/// The stream of an instance id or a tracking code.
pub async fn find(store: &Arc<dyn Store>, id: &str) -> anyhow::Result<StreamId> {
    if tracking::is_valid(id)
        && let Some(stream) = store.find_tracking_code(&id.to_ascii_uppercase()).await?
    {
        return Ok(stream);
    }
    let (agency, instance) = match id.split_once('/') {
        Some((a, i)) => (Some(a), i),
        None => (None, id),
    };
    // By the instances' primary key in each agency the store holds: a seek each, where listing
    // every stream read the whole log (a third of a second at a million events, and most of
    // what `daftar receipt` took).
    let agencies = match agency {
        Some(a) => vec![a.to_owned()],
        None => store.agencies().await?,
    };
    let mut found = Vec::new();
    for agency in agencies {
        let stream = StreamId {
            agency,
            instance: instance.to_owned(),
        };
        if store.instance(&stream).await?.is_some() {
            found.push(stream);
        }
    }
    if let [one] = found.as_slice() {
        return Ok(one.clone());
    }
    // Several agencies name it (refused below), or no row does: a stream whose row was
    // deleted is still found from its events, for the auditor who investigates it.
    let matches: Vec<StreamId> = store
        .streams()
        .await?
        .into_iter()
        .filter(|s| s.instance == instance && agency.is_none_or(|a| s.agency == a))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("no instance or tracking code `{id}` in this store"),
        _ => bail!("`{id}` names instances of several agencies; write AGENCY/{instance}"),
    }
}
