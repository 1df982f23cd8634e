//! `daftar token`: mints a JWT for local use, signed with the server's HS256 secret.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use daftar_api::auth::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, Keys, Role};

/// The arguments of `daftar token`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The role: citizen, officer, designer, auditor or admin (repeat for several).
    #[arg(long = "role", required = true, value_parser = parse_role)]
    pub roles: Vec<Role>,
    /// The agency every call with the token is scoped to.
    #[arg(long)]
    pub agency: String,
    /// For officers: a task role they hold (repeat for several).
    #[arg(long = "task-role")]
    pub task_roles: Vec<String>,
    /// Who the token is for.
    #[arg(long, default_value = "local-user")]
    pub subject: String,
    /// How long it is valid.
    #[arg(long, default_value = "8h", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
    /// The HS256 secret the server checks tokens with.
    #[arg(long, env = "DAFTAR_JWT_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// The issuer.
    #[arg(long, default_value = DEFAULT_ISSUER, env = "DAFTAR_JWT_ISSUER")]
    pub issuer: String,
    /// The audience.
    #[arg(long, default_value = DEFAULT_AUDIENCE, env = "DAFTAR_JWT_AUDIENCE")]
    pub audience: String,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        format!("`{s}` is not a role: use citizen, officer, designer, auditor or admin")
    })
}

/// Prints a token.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(secret) = args.secret else {
        bail!("no secret: set DAFTAR_JWT_SECRET (the same as the server's) or pass --secret");
    };
    let keys = Keys::hs256(secret.as_bytes(), &args.issuer, &args.audience)
        .map_err(|e| anyhow::anyhow!(e))?;
    let token = keys
        .mint(
            &args.subject,
            &args.agency,
            args.roles,
            args.task_roles,
            args.ttl.as_secs(),
        )
        .map_err(|e| anyhow::anyhow!(e))?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}
