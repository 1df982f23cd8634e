//! `daftar erase`: an applicant's erasure from the command line, as the API's
//! `POST /api/v1/requests/{id}/erasure` does it.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use daftar_engine::connectors::Connectors;
use daftar_engine::runtime::Engine;

pub async fn run(
    id: &str,
    authority: &str,
    by: &str,
    db: &str,
    keyring: &Path,
) -> anyhow::Result<ExitCode> {
    let store = super::db::open_existing(db).await?;
    let stream = super::db::find(&store, id).await?;
    // No connectors: an erasure performs no job, and a job left by a running node stays
    // for it.
    let engine = Engine::open(store, Connectors::default()).await?;
    let keyring = super::db::keyring(Some(keyring))
        .await?
        .context("a keyring is needed")?;
    engine.use_keyring(keyring);
    let erased = engine.erase(&stream, authority, by).await?;
    println!("{}", serde_json::to_string(&erased)?);
    Ok(ExitCode::SUCCESS)
}
