//! `daftar replay ID --at VERSION|TIME`: the state of an instance at a point of its history.

use std::process::ExitCode;

use anyhow::bail;
use chrono::{DateTime, Utc};
use daftar_engine::core::InstanceState;
use serde_json::json;

pub async fn run(id: &str, at: Option<&str>, db: &str) -> anyhow::Result<ExitCode> {
    let store = super::db::open_existing(db).await?;
    let stream = super::db::find(&store, id).await?;
    let events = store.load(&stream).await?;
    let cut = match at {
        None => events.len(),
        Some(at) => match at.parse::<u64>() {
            Ok(v) if v as usize <= events.len() => v as usize,
            Ok(v) => bail!(
                "{stream} has {} events; there is no version {v}",
                events.len()
            ),
            Err(_) => {
                let time: DateTime<Utc> = DateTime::parse_from_rfc3339(at)
                    .map_err(|e| {
                        anyhow::anyhow!("`{at}` is neither a version nor an RFC 3339 time: {e}")
                    })?
                    .with_timezone(&Utc);
                events.iter().take_while(|e| e.recorded_at <= time).count()
            }
        },
    };
    let state = InstanceState::fold(events[..cut].iter().map(|e| &e.event));
    let last = cut.checked_sub(1).map(|i| &events[i]);
    let out = json!({
        "stream": stream,
        "version": cut,
        "recorded_at": last.map(|e| e.recorded_at),
        "state": state,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}
