//! Command-line surface. Each subcommand lives in its own file.

mod files;
mod graph;
mod schema;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// daftar: an event-sourced workflow engine for government services and permits.
#[derive(Debug, Parser)]
#[command(name = "daftar", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate workflow definitions; exits 0 when all are valid, 1 when any has an error,
    /// 2 on a usage error.
    Validate {
        /// The YAML files to check. Files given together may call each other.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The connector catalog; by default `$DAFTAR_CONNECTORS`, else the nearest
        /// `connectors.yaml` in the file's folder or a folder above it.
        #[arg(long, env = "DAFTAR_CONNECTORS")]
        connectors: Option<PathBuf>,
        /// Treat warnings as errors.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Render a workflow's steps as a Mermaid or Graphviz DOT diagram.
    Graph {
        /// The YAML file.
        file: PathBuf,
        /// The diagram language.
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
    },
    /// Print the JSON Schema of the workflow language, for editors.
    Schema,
}

/// Output formats of `validate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `file:line:column: CODE message`, one per line.
    Text,
    /// One JSON document for tools.
    Json,
}

/// Diagram languages of `graph`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Mermaid flowchart.
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate {
            files,
            format,
            connectors,
            deny_warnings,
        } => validate::run(&files, format, connectors.as_deref(), deny_warnings),
        Command::Graph { file, format } => graph::run(&file, format),
        Command::Schema => schema::run(),
    }
}
