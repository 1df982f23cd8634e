//! The `daftar` command: validate, render and (later) run and serve service definitions.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("daftar: {e:#}");
            ExitCode::from(2)
        }
    }
}
