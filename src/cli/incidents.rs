//! `daftar incidents` and `daftar retry`: the operator's view of instances that stopped for a
//! person (retries ran out with no failure path, an unknown outcome given to an operator, a
//! timeout with no timeout path, an expression that failed), and the command that tries the
//! stopped step again. Every other instance goes on meanwhile.

use std::process::ExitCode;

use anyhow::bail;
use daftar_engine::connectors::Connectors;
use daftar_engine::core::{Command, InstanceState};
use daftar_engine::events::{Actor, incident_raised};
use daftar_engine::runtime::Engine;

/// Lists open incidents: instance, tracking code, incident, step and reason.
pub async fn list(db: &str) -> anyhow::Result<ExitCode> {
    let store = super::db::open_existing(db).await?;
    let mut open = 0;
    for stream in store.streams().await? {
        let Some(row) = store.instance(&stream).await? else {
            continue;
        };
        if row.incidents == 0 {
            continue;
        }
        let history = store.load(&stream).await?;
        let state = InstanceState::fold(history.iter().map(|e| &e.event));
        for (incident, (_, step)) in &state.incidents {
            let reason = incident_raised(&history, incident).map_or("", |(_, reason)| reason);
            println!(
                "{stream}\t{}\t{incident}\t{step}\t{reason}",
                state.tracking_code
            );
            open += 1;
        }
    }
    eprintln!("{open} open incident{}", if open == 1 { "" } else { "s" });
    Ok(ExitCode::SUCCESS)
}

/// Retries the step an incident stopped.
pub async fn retry(id: &str, incident: &str, db: &str) -> anyhow::Result<ExitCode> {
    let store = super::db::open_existing(db).await?;
    let stream = super::db::find(&store, id).await?;
    let engine = Engine::open(store, Connectors::default()).await?;
    let state = engine.state(&stream).await?;
    if !state.incidents.contains_key(incident) {
        let open: Vec<&str> = state.incidents.keys().map(String::as_str).collect();
        bail!(
            "{stream} has no open incident `{incident}`; open: {}",
            if open.is_empty() {
                "none".to_owned()
            } else {
                open.join(", ")
            }
        );
    }
    let operator = std::env::var("USER").unwrap_or_else(|_| "operator".to_owned());
    let command = Command::RetryIncident {
        incident: incident.to_owned(),
    };
    let command_id = format!("operator-retry:{incident}:{}", state.version);
    let done = engine
        .execute(
            &stream,
            &command,
            &command_id,
            Actor::Operator(operator),
            None,
        )
        .await?;
    println!(
        "retried: {stream} is at version {}; a running node performs the step again",
        done.version
    );
    Ok(ExitCode::SUCCESS)
}
