//! `daftar schema`

use std::process::ExitCode;

pub fn run() -> anyhow::Result<ExitCode> {
    let schema = daftar_definitions::schema::language_schema();
    println!("{}", serde_json::to_string_pretty(schema)?);
    Ok(ExitCode::SUCCESS)
}
