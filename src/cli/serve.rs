//! `daftar serve`.

use std::process::ExitCode;

/// The arguments of `daftar serve`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `daftar serve`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("daftar serve is being built")
}
