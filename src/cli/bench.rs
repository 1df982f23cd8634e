//! `daftar bench`.

use std::process::ExitCode;

/// The arguments of `daftar bench`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `daftar bench`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("daftar bench is being built")
}
