//! The `daftar` command: validate, render and (later) run and serve service definitions.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than the C library's allocator: the engine allocates and frees many small
/// strings and JSON values per event on several threads, where glibc's malloc spent a fifth of
/// the writer's and of `daftar verify`'s samples consolidating and unlinking chunks
/// (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
