//! Command-line surface. Each subcommand lives in its own file.

mod agencies;
mod bench;
mod checkpoint;
mod db;
mod demo;
mod erase;
mod export;
mod files;
mod graph;
mod history;
mod incidents;
mod message;
mod receipt;
mod replay;
mod report;
mod run;
mod schema;
mod serve;
mod simulate;
mod token;
mod validate;
mod verify;
mod whatif;
mod work;

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
        /// The connector catalog; by default `$DAFTAR_CONNECTORS`, else the nearest
        /// `connectors.yaml` in the file's folder or a folder above it.
        #[arg(long, env = "DAFTAR_CONNECTORS")]
        connectors: Option<PathBuf>,
    },
    /// Print the JSON Schema of the workflow language, for editors.
    Schema,
    /// Deploy definitions, file one request and drive it until it ends or waits.
    Run(run::Args),
    /// Erase the personal data of a request's applicant (every request they filed in the
    /// agency, all ended) under a legal authority: their key in the keyring is deleted, the
    /// history of each request records the erasure, and every chain still verifies. Prints what
    /// was erased as JSON. For a store no node is serving; on a running node, use its API
    /// (`POST /api/v1/requests/{id}/erasure`), which also forgets the key it holds in memory.
    Erase {
        /// An instance id (or AGENCY/ID) or a tracking code.
        id: String,
        /// The legal authority: a court order's number and issuer, a retention rule.
        #[arg(long)]
        authority: String,
        /// Who erases it (recorded).
        #[arg(long, default_value = "operator")]
        by: String,
        /// The store.
        #[arg(long, default_value = db::DEFAULT_DB, env = "DAFTAR_DB")]
        db: String,
        /// The applicants' keyring (the file `serve --keyring` names).
        #[arg(long, env = "DAFTAR_KEYRING")]
        keyring: std::path::PathBuf,
    },
    /// Print an instance's events as JSON lines.
    History {
        /// An instance id (or AGENCY/ID) or a tracking code.
        id: String,
        /// The store.
        #[arg(long, default_value = db::DEFAULT_DB, env = "DAFTAR_DB")]
        db: String,
    },
    /// Print an instance's state at a version or a time of its history.
    Replay {
        /// An instance id (or AGENCY/ID) or a tracking code.
        id: String,
        /// A stream version, or an RFC 3339 time; the latest when left out.
        #[arg(long)]
        at: Option<String>,
        /// The store.
        #[arg(long, default_value = db::DEFAULT_DB, env = "DAFTAR_DB")]
        db: String,
    },
    /// List the open incidents: instances stopped for an operator.
    Incidents {
        /// The store.
        #[arg(long, default_value = db::DEFAULT_DB, env = "DAFTAR_DB")]
        db: String,
    },
    /// The service report: per service, the requests filed in a period, how many were
    /// delivered with no person acting on them and their share (Article 107 of the Seventh
    /// Plan), time to decision, SLA breaches and incidents.
    Report {
        /// The agency.
        #[arg(long)]
        agency: String,
        /// Requests filed at or after this time (RFC 3339, or a date: its midnight UTC).
        #[arg(long)]
        from: Option<String>,
        /// Requests filed before this time (RFC 3339, or a date).
        #[arg(long)]
        to: Option<String>,
        /// Print the report as JSON (as the API answers it).
        #[arg(long)]
        json: bool,
        /// The store.
        #[arg(long, default_value = db::DEFAULT_DB, env = "DAFTAR_DB")]
        db: String,
    },
    /// Try again the step an incident stopped.
    Retry {
        /// An instance id (or AGENCY/ID) or a tracking code.
        id: String,
        /// The incident, as `daftar incidents` lists it.
        incident: String,
        /// The store.
        #[arg(long, default_value = db::DEFAULT_DB, env = "DAFTAR_DB")]
        db: String,
    },
    /// Deliver a message to the request that waits for it: `--to` a request, or by the
    /// correlation key its wait names (`--correlation KEY --agency AGENCY`). A message no
    /// request waits for is kept, never dropped.
    Message {
        /// The message, as the step's `wait.message` names it.
        name: String,
        /// The request: an instance id (or AGENCY/ID) or a tracking code.
        #[arg(long, required_unless_present = "correlation")]
        to: Option<String>,
        /// The correlation key (with `--to`, only when the request waits under several).
        #[arg(long)]
        correlation: Option<String>,
        /// The agency whose requests `--correlation` looks in.
        #[arg(long)]
        agency: Option<String>,
        /// What the message carries, a JSON object.
        #[arg(long, default_value = "{}")]
        payload: String,
        /// The message's id: the same id twice is one message.
        #[arg(long)]
        id: Option<String>,
        /// The store.
        #[arg(long, default_value = db::DEFAULT_DB, env = "DAFTAR_DB")]
        db: String,
    },
    /// Check every stream's hash chain; exits 1 naming the first altered, deleted, inserted
    /// or reordered event. With `--offline FILE --key PUB`, check an export (`daftar export`)
    /// with no database: every chain, and every event against the signed checkpoints.
    Verify {
        /// The store.
        #[arg(long, default_value = db::DEFAULT_DB, env = "DAFTAR_DB")]
        db: String,
        /// An export to check instead of a store.
        #[arg(long, requires = "key")]
        offline: Option<PathBuf>,
        /// The agency's public key (PEM, or 64 hex digits), for `--offline`.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Checkpoints kept from earlier (`GET /api/v1/checkpoints`), checked against the
        /// export too; may be repeated.
        #[arg(long, requires = "offline")]
        checkpoints: Vec<PathBuf>,
    },
    /// Sign a checkpoint of every agency's log now (a Merkle tree over its events); prints
    /// each as a JSON line.
    Checkpoint {
        /// The store.
        #[arg(long, default_value = db::DEFAULT_DB, env = "DAFTAR_DB")]
        db: String,
        /// The agency's Ed25519 key: a PKCS#8 PEM file (`openssl genpkey -algorithm ed25519`)
        /// or a 32-byte seed.
        #[arg(long, env = "DAFTAR_SIGNING_KEY")]
        signing_key: PathBuf,
    },
    /// Print the public key (PEM) of a signing key: what auditors check checkpoints with.
    PublicKey {
        /// The signing key.
        #[arg(long, env = "DAFTAR_SIGNING_KEY")]
        signing_key: PathBuf,
    },
    /// Print the proof that an agency's checkpoint of size `--to` extends its checkpoint of
    /// size `--from`.
    Consistency {
        /// The store.
        #[arg(long, default_value = db::DEFAULT_DB, env = "DAFTAR_DB")]
        db: String,
        /// The agency (needed when the store holds several).
        #[arg(long)]
        agency: Option<String>,
        /// The earlier checkpoint's size.
        #[arg(long)]
        from: u64,
        /// The later checkpoint's size.
        #[arg(long)]
        to: u64,
    },
    /// Check a consistency proof with no database; exits 1 naming what failed.
    VerifyConsistency {
        /// The proof, as `daftar consistency` or the API writes it.
        file: PathBuf,
        /// The agency's public key (PEM, or 64 hex digits).
        #[arg(long)]
        key: PathBuf,
    },
    /// Print a request's receipt: its events with inclusion proofs against the agency's
    /// latest signed checkpoint, as JSON.
    Receipt {
        /// An instance id (or AGENCY/ID) or a tracking code.
        id: String,
        /// The store.
        #[arg(long, default_value = db::DEFAULT_DB, env = "DAFTAR_DB")]
        db: String,
    },
    /// Run the newest recorded requests of a service through a new definition of it, before
    /// deploying it: per request, whether the path or the outcome would differ, where and
    /// why, or what the new definition needs that the history does not hold. Exits 1 when the
    /// definition has errors.
    #[command(name = "what-if")]
    WhatIf {
        /// The new definition's YAML.
        file: PathBuf,
        /// The store.
        #[arg(long, default_value = db::DEFAULT_DB, env = "DAFTAR_DB")]
        db: String,
        /// The service whose requests to run (default: the definition's own id).
        #[arg(long)]
        service: Option<String>,
        /// How many of the newest requests, 1 to 1000.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The connector catalog; by default `$DAFTAR_CONNECTORS`, else the nearest
        /// `connectors.yaml` in the file's folder or a folder above it.
        #[arg(long, env = "DAFTAR_CONNECTORS")]
        connectors: Option<PathBuf>,
    },
    /// Check a receipt with no database; exits 1 naming what failed.
    VerifyReceipt {
        /// The receipt.
        file: PathBuf,
        /// The agency's public key (PEM, or 64 hex digits).
        #[arg(long)]
        key: PathBuf,
    },
    /// Check a saved answer of `GET /api/v1/documents/{id}` (a national document's signed
    /// verification) with no connection; exits 1 naming what failed.
    VerifyDocument {
        /// The saved answer (JSON).
        file: PathBuf,
        /// The issuing agency's public key (PEM, or 64 hex digits).
        #[arg(long)]
        key: PathBuf,
    },
    /// Write an agency's log (or the leaves `--from` to before `--to`) with its signed
    /// checkpoints, as JSON lines, for `daftar verify --offline`.
    Export {
        /// The store.
        #[arg(long, default_value = db::DEFAULT_DB, env = "DAFTAR_DB")]
        db: String,
        /// The agency (needed when the store holds several).
        #[arg(long)]
        agency: Option<String>,
        /// The first leaf (event of the agency, from 0) to export.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// The leaf to stop before; the end of the log when left out.
        #[arg(long)]
        to: Option<u64>,
    },
    /// Play every agency, the SMS centre and the payment gateway on 127.0.0.1 until killed.
    Simulate {
        /// The port; 0 picks a free one (the address is printed first).
        #[arg(long, default_value_t = 8484)]
        port: u16,
        /// Faults and delays per agency.
        #[arg(long, default_value = "examples/simulator/config.yaml")]
        config: PathBuf,
        /// People, addresses, deeds and records.
        #[arg(long, default_value = "examples/simulator/seed.yaml")]
        seed: PathBuf,
        /// The secret sent with every callback as `Authorization: Bearer <token>`; the
        /// default suits `daftar run` on the same machine.
        #[arg(long, env = "DAFTAR_CALLBACK_TOKEN", default_value = LOCAL_CALLBACK_TOKEN, hide_default_value = true)]
        callback_token: String,
    },
    /// Serve the HTTP API, the callbacks and the background workers (with `--demo`, the
    /// agency simulator too).
    Serve(serve::Args),
    /// Mint a JWT for local use (signed with the server's HS256 secret).
    Token(token::Args),
    /// Load the engine at fixed arrival rates and report completed instances per second.
    Bench(bench::Args),
    /// Run a worker node until killed, filing `--start N` requests first (for crash and
    /// multi-node tests).
    #[command(hide = true)]
    Work(work::Args),
}

/// The callback secret `daftar run` and `daftar simulate` share by default: for one machine's
/// local tries only; a server (`daftar serve`) has no default.
pub const LOCAL_CALLBACK_TOKEN: &str = "daftar-local-callbacks";

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
    /// An SVG picture, drawn without Graphviz.
    Svg,
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
        Command::Graph {
            file,
            format,
            connectors,
        } => graph::run(&file, format, connectors.as_deref()),
        Command::Schema => schema::run(),
        Command::Run(args) => runtime()?.block_on(run::run(&args)),
        Command::Erase {
            id,
            authority,
            by,
            db,
            keyring,
        } => runtime()?.block_on(erase::run(&id, &authority, &by, &db, &keyring)),
        Command::History { id, db } => runtime()?.block_on(history::run(&id, &db)),
        Command::Replay { id, at, db } => runtime()?.block_on(replay::run(&id, at.as_deref(), &db)),
        Command::Verify {
            offline: Some(file),
            key: Some(key),
            checkpoints,
            ..
        } => verify::offline(&file, &key, &checkpoints),
        Command::Verify { db, .. } => runtime()?.block_on(verify::run(&db)),
        Command::Checkpoint { db, signing_key } => {
            runtime()?.block_on(checkpoint::take(&db, &signing_key))
        }
        Command::PublicKey { signing_key } => checkpoint::public_key(&signing_key),
        Command::Consistency {
            db,
            agency,
            from,
            to,
        } => runtime()?.block_on(checkpoint::consistency(&db, agency.as_deref(), from, to)),
        Command::VerifyConsistency { file, key } => checkpoint::verify(&file, &key),
        Command::Receipt { id, db } => runtime()?.block_on(receipt::write(&id, &db)),
        Command::VerifyReceipt { file, key } => receipt::verify(&file, &key),
        Command::VerifyDocument { file, key } => receipt::verify_document(&file, &key),
        Command::WhatIf {
            file,
            db,
            service,
            limit,
            json,
            connectors,
        } => runtime()?.block_on(whatif::run(whatif::Asked {
            file: &file,
            db: &db,
            service: service.as_deref(),
            limit,
            json,
            connectors: connectors.as_deref(),
        })),
        Command::Export {
            db,
            agency,
            from,
            to,
        } => runtime()?.block_on(export::run(&db, agency.as_deref(), from, to)),
        Command::Incidents { db } => runtime()?.block_on(incidents::list(&db)),
        Command::Report {
            agency,
            from,
            to,
            json,
            db,
        } => runtime()?.block_on(report::run(
            &db,
            &agency,
            from.as_deref(),
            to.as_deref(),
            json,
        )),
        Command::Retry { id, incident, db } => {
            runtime()?.block_on(incidents::retry(&id, &incident, &db))
        }
        Command::Message {
            name,
            to,
            correlation,
            agency,
            payload,
            id,
            db,
        } => runtime()?.block_on(message::run(message::Message {
            name: &name,
            to: to.as_deref(),
            correlation: correlation.as_deref(),
            agency: agency.as_deref(),
            payload: &payload,
            id: id.as_deref(),
            db: &db,
        })),
        Command::Simulate {
            port,
            config,
            seed,
            callback_token,
        } => runtime()?.block_on(simulate::run(port, &config, &seed, &callback_token)),
        Command::Serve(args) => serve::run(args),
        Command::Token(args) => token::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Work(args) => runtime()?.block_on(work::run(args)),
    }
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

#[cfg(test)]
mod tests {
    /// clap checks a command's flags (unique names and groups, valid defaults) only when it is
    /// built: check every subcommand here rather than when a user first runs it.
    #[test]
    fn every_command_is_well_formed() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }
}
