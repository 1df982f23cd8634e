//! `daftar history ID|TRACKING_CODE`: the events of an instance as JSON lines.

use std::process::ExitCode;

pub async fn run(id: &str, db: &str) -> anyhow::Result<ExitCode> {
    let store = super::db::open_existing(db).await?;
    let stream = super::db::find(&store, id).await?;
    for event in store.load(&stream).await? {
        println!("{}", serde_json::to_string(&event)?);
    }
    Ok(ExitCode::SUCCESS)
}
