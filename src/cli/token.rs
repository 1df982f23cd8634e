//! `daftar token`.

use std::process::ExitCode;

/// The arguments of `daftar token`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `daftar token`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("daftar token is being built")
}
