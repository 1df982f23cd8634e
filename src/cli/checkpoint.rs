//! `daftar checkpoint`: signs a checkpoint of every agency's log now (what `serve` does every
//! `--checkpoint-interval`); `daftar consistency` and `daftar verify-consistency`: the proof
//! that a later checkpoint extends an earlier one, and its check with no database.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use daftar_engine::audit::checkpoint::{self, Consistency};
use daftar_engine::audit::signing;
use daftar_engine::store::Store;

/// Takes and prints (one JSON line each) the checkpoints of the agencies with new events.
pub async fn take(db: &str, key: &Path) -> anyhow::Result<ExitCode> {
    let key = signing::read_signing_key(key).map_err(|e| anyhow!(e))?;
    let store = super::db::open_existing(db).await?;
    let taken = checkpoint::take_all(&store, &key).await?;
    if taken.is_empty() {
        eprintln!("no new events since the last checkpoint of any agency: nothing to sign");
    }
    for c in taken {
        println!("{}", serde_json::to_string(&c)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the public key of a signing key, as PEM: what auditors are given.
pub fn public_key(key: &Path) -> anyhow::Result<ExitCode> {
    let key = signing::read_signing_key(key).map_err(|e| anyhow!(e))?;
    print!("{}", signing::public_pem(&key.verifying_key()));
    Ok(ExitCode::SUCCESS)
}

/// The agency of a command: the one named, or the store's only one.
pub async fn agency(
    store: &std::sync::Arc<dyn Store>,
    named: Option<&str>,
) -> anyhow::Result<String> {
    if let Some(a) = named {
        return Ok(a.to_owned());
    }
    let all = store.agencies().await?;
    match all.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("the store has no agency with events yet"),
        _ => bail!(
            "the store holds several agencies ({}): name one with --agency",
            all.join(", ")
        ),
    }
}

/// Prints the consistency proof between two checkpoints of an agency.
pub async fn consistency(
    db: &str,
    agency: Option<&str>,
    from: u64,
    to: u64,
) -> anyhow::Result<ExitCode> {
    let store = super::db::open_existing(db).await?;
    let agency = self::agency(&store, agency).await?;
    if from == 0 || from > to {
        bail!("--from must be at least 1 and at most --to");
    }
    match checkpoint::consistency(&store, &agency, from, to).await? {
        Some(c) => {
            println!("{}", serde_json::to_string_pretty(&c)?);
            Ok(ExitCode::SUCCESS)
        }
        None => bail!("{agency} has no checkpoint of size {from} or none of size {to}"),
    }
}

/// Checks a consistency proof (as `daftar consistency` or the API writes it).
pub fn verify(file: &Path, key: &Path) -> anyhow::Result<ExitCode> {
    let key = signing::read_public_key(key).map_err(|e| anyhow!(e))?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let c: Consistency = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a consistency proof", file.display()))?;
    match checkpoint::verify_consistency(&c, &key) {
        Ok(()) => {
            println!(
                "ok: the checkpoint of size {} ({}) extends the one of size {} ({}): the log only grew",
                c.new.size, c.new.time, c.old.size, c.old.time
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("FAIL {e}");
            Ok(ExitCode::from(1))
        }
    }
}
