//! `daftar receipt ID`: a request's events with their inclusion proofs against the agency's
//! latest signed checkpoint, as JSON; `daftar verify-receipt FILE --key PUB` checks one with
//! no database; `daftar verify-document FILE --key PUB` checks a document's signed
//! verification the same way.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use daftar_engine::audit::document::DocumentStatus;
use daftar_engine::audit::receipt::{self, Receipt};
use daftar_engine::audit::signing;

pub async fn write(id: &str, db: &str) -> anyhow::Result<ExitCode> {
    let store = super::db::open_existing(db).await?;
    let stream = super::db::find(&store, id).await?;
    let r = receipt::receipt(&store, &stream).await?;
    if r.checkpoint.is_none() {
        eprintln!(
            "warning: {} has no signed checkpoint yet: run `daftar checkpoint` (or wait for \
             serve's next one) for a receipt that proves something",
            stream.agency
        );
    }
    println!("{}", serde_json::to_string_pretty(&r)?);
    Ok(ExitCode::SUCCESS)
}

pub fn verify(file: &Path, key: &Path) -> anyhow::Result<ExitCode> {
    let (r, key) = match read::<Receipt>(file, key, "a receipt")? {
        Ok(read) => read,
        Err(code) => return Ok(code),
    };
    match receipt::verify_receipt(&r, &key) {
        Ok(report) => {
            println!(
                "ok: request {}/{}: {} events, every hash and link intact; {} of them in the \
                 checkpoint of size {} signed at {}",
                r.agency,
                r.request,
                report.events,
                report.covered,
                report.checkpoint.0,
                report.checkpoint.1
            );
            if report.covered < report.events {
                println!(
                    "note: the last {} events were recorded after that checkpoint: their chain is \
                     checked, their signature will come with the next checkpoint",
                    report.events - report.covered
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("FAIL {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// `daftar verify-document FILE --key PUB`: checks a saved answer of
/// `GET /api/v1/documents/{id}` with the agency's public key and no connection.
pub fn verify_document(file: &Path, key: &Path) -> anyhow::Result<ExitCode> {
    let (answer, key) = match read::<DocumentStatus>(file, key, "a document verification")? {
        Ok(read) => read,
        Err(code) => return Ok(code),
    };
    match answer.verify(&key) {
        Ok(()) => {
            println!(
                "ok: document {} is {} (agency {}, service {}, issued {}, holder {}), as the \
                 agency signed at {}",
                answer.document_id,
                answer.status,
                answer.agency,
                answer.service,
                answer.issued_at,
                answer.holder,
                answer.answered_at
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("FAIL {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// The public key and the JSON file to check with it; `Err(1)`, said on stdout, when the file
/// is not `what`.
fn read<T: serde::de::DeserializeOwned>(
    file: &Path,
    key: &Path,
    what: &str,
) -> anyhow::Result<Result<(T, signing::VerifyingKey), ExitCode>> {
    let key = signing::read_public_key(key).map_err(|e| anyhow!(e))?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    Ok(match serde_json::from_str(&text) {
        Ok(value) => Ok((value, key)),
        Err(e) => {
            println!("FAIL {} is not {what}: {e}", file.display());
            Err(ExitCode::from(1))
        }
    })
}
