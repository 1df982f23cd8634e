//! `daftar message`: delivers a message to the request that waits for it, by the request
//! (`--to`) or by the correlation key its wait names (`--correlation` in `--agency`), as the
//! API's `POST /api/v1/requests/{id}/messages/{name}` and `POST /api/v1/messages/{name}` do.
//! The events are appended here; a running node performs what they ask for (SMS, inquiries).

use std::process::ExitCode;

use anyhow::{Context, bail};
use daftar_engine::connectors::Connectors;
use daftar_engine::events::Actor;
use daftar_engine::runtime::Engine;
use daftar_engine::runtime::messages::{Delivered, awaited};
use serde_json::Value;

/// What to deliver, and where.
pub struct Message<'a> {
    pub name: &'a str,
    pub to: Option<&'a str>,
    pub correlation: Option<&'a str>,
    pub agency: Option<&'a str>,
    pub payload: &'a str,
    pub id: Option<&'a str>,
    pub db: &'a str,
}

/// Delivers the message; exits 1 when the named request does not wait for it (under the
/// key given), 2 on any other error.
pub async fn run(m: Message<'_>) -> anyhow::Result<ExitCode> {
    let payload: Value = serde_json::from_str(m.payload).context("--payload is not JSON")?;
    if !payload.is_object() {
        bail!("--payload must be a JSON object: the wait's `output` reads its fields");
    }
    let store = super::db::open(m.db).await?;
    let operator = std::env::var("USER").unwrap_or_else(|_| "operator".to_owned());
    // Without --id each call is a new message; with it, a repeated call has one effect.
    let message_id = match m.id {
        Some(id) => format!("cli:{id}"),
        None => format!(
            "cli:{}",
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ),
    };
    if let Some(to) = m.to {
        let stream = super::db::find(&store, to).await?;
        let engine = Engine::open(store, Connectors::default()).await?;
        let state = engine.state(&stream).await?;
        let keys = awaited(&state, m.name);
        let correlation = match (m.correlation, keys.as_slice()) {
            (Some(c), _) if keys.contains(&c) => c.to_owned(),
            (None, [one]) => (*one).to_owned(),
            (None, [_, _, ..]) => {
                eprintln!(
                    "daftar: {stream} waits for `{}` under several keys ({}); give --correlation",
                    m.name,
                    keys.join(", ")
                );
                return Ok(ExitCode::from(1));
            }
            _ => {
                eprintln!(
                    "daftar: {stream} does not wait for the message `{}` now",
                    m.name
                );
                return Ok(ExitCode::from(1));
            }
        };
        let done = engine
            .deliver(
                &stream,
                m.name,
                &correlation,
                &message_id,
                payload,
                Actor::Operator(operator),
            )
            .await?;
        println!(
            "delivered: {stream} is at version {}{}",
            done.version,
            if done.events.is_empty() {
                " (delivered before)"
            } else {
                ""
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(correlation), Some(agency)) = (m.correlation, m.agency) else {
        bail!("say where the message goes: --to REQUEST, or --correlation KEY --agency AGENCY");
    };
    let engine = Engine::open(store, Connectors::default()).await?;
    match engine
        .deliver_by_correlation(
            agency,
            m.name,
            correlation,
            &message_id,
            payload,
            Actor::Operator(operator),
        )
        .await?
    {
        Delivered::To(done) => {
            println!("delivered: {} is at version {}", done.stream, done.version)
        }
        Delivered::Kept => println!(
            "kept: no request of `{agency}` waits for `{}` under `{correlation}`",
            m.name
        ),
    }
    Ok(ExitCode::SUCCESS)
}
