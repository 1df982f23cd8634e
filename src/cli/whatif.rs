//! `daftar what-if --db URL FILE.yaml`: the newest recorded requests of a service run through
//! a new definition of it before it is deployed, and per request whether the path or the
//! outcome would differ and why (see `daftar_engine::audit::whatif`). Nothing is written and no
//! agency is called.

use std::path::Path;
use std::process::ExitCode;

use anyhow::anyhow;
use daftar_definitions::calendar::Calendar;
use daftar_definitions::{Options, compile};
use daftar_engine::Definition;
use daftar_engine::audit::whatif::{Report, what_if};
use daftar_engine::core::whatif::Verdict;

/// What `daftar what-if` was asked.
pub struct Asked<'a> {
    pub file: &'a Path,
    pub db: &'a str,
    pub service: Option<&'a str>,
    pub limit: u32,
    pub json: bool,
    pub connectors: Option<&'a Path>,
}

/// Exits 0 with the report, 1 when the definition has errors (printed as `validate` prints
/// them), 2 when the store cannot be read.
pub async fn run(a: Asked<'_>) -> anyhow::Result<ExitCode> {
    let text = match super::files::read_text(a.file)? {
        Ok(t) => t,
        Err(d) => {
            eprintln!("{d}");
            return Ok(ExitCode::from(1));
        }
    };
    let catalog = match super::files::find_catalog(a.connectors, a.file) {
        Some(path) => Some(super::files::load_catalog(&path)?),
        None => None,
    };
    let options = Options {
        catalog: catalog.as_ref(),
        ..Options::default()
    };
    let compiled = match compile(&a.file.display().to_string(), &text, options) {
        Ok(c) => c,
        Err(diagnostics) => {
            for d in diagnostics {
                eprintln!("{d}");
            }
            return Ok(ExitCode::from(1));
        }
    };
    let def = std::sync::Arc::new(Definition::new(compiled).map_err(|e| anyhow!(e))?);
    let wf = def.compiled().workflow();
    let service = a.service.unwrap_or(&wf.id).to_owned();
    let store = super::db::open_existing(a.db).await?;
    let report = what_if(
        &store,
        &wf.agency,
        &service,
        def.clone(),
        a.limit,
        Calendar::shipped(),
    )
    .await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print(r: &Report) {
    for f in &r.findings {
        let verdict = match f.verdict {
            Verdict::Same => "same",
            Verdict::Differs => "DIFFERS",
            Verdict::CannotTell => "CANNOT TELL",
        };
        println!(
            "{verdict} {} ({}, version {}): {}",
            f.tracking_code, f.instance, f.recorded_version, f.why.en
        );
        println!("    {}", f.why.fa);
    }
    println!(
        "{}: {} recorded requests run through version {}: {} the same, {} differ, {} cannot \
         be told",
        r.service, r.examined, r.version, r.same, r.differs, r.cannot_tell
    );
}
