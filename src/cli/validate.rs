//! `daftar validate FILE...`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use daftar_definitions::{Catalog, Diagnostic, Severity, Validation};
use serde_json::json;

use super::Format;
use super::files::{find_catalog, load_catalog, read_text};

pub fn run(
    files: &[PathBuf],
    format: Format,
    connectors: Option<&Path>,
    deny_warnings: bool,
) -> anyhow::Result<ExitCode> {
    // Files are grouped by the catalog that applies to them and validated group by group, so
    // that calls between workflows in one group are checked.
    let mut catalogs: BTreeMap<Option<PathBuf>, Option<Catalog>> = BTreeMap::new();
    let mut groups: BTreeMap<Option<PathBuf>, Vec<(usize, String, String)>> = BTreeMap::new();
    let mut results: Vec<Option<Validation>> = vec![None; files.len()];
    for (i, file) in files.iter().enumerate() {
        let name = file.display().to_string();
        match read_text(file)? {
            Ok(text) => {
                let catalog = find_catalog(connectors, file);
                if !catalogs.contains_key(&catalog) {
                    let loaded = catalog.as_deref().map(load_catalog).transpose()?;
                    catalogs.insert(catalog.clone(), loaded);
                }
                groups.entry(catalog).or_default().push((i, name, text));
            }
            Err(diagnostic) => {
                results[i] = Some(Validation {
                    diagnostics: vec![diagnostic],
                    definition: None,
                });
            }
        }
    }
    for (catalog, group) in groups {
        let inputs: Vec<(String, String)> = group
            .iter()
            .map(|(_, n, t)| (n.clone(), t.clone()))
            .collect();
        let validated = daftar_definitions::validate_all(&inputs, catalogs[&catalog].as_ref());
        for ((i, _, _), v) in group.into_iter().zip(validated) {
            results[i] = Some(v);
        }
    }
    let results: Vec<Validation> = results.into_iter().flatten().collect();

    let failed = |v: &Validation| v.has_errors() || (deny_warnings && !v.diagnostics.is_empty());
    match format {
        Format::Text => {
            for v in &results {
                for d in &v.diagnostics {
                    println!("{d}");
                }
            }
            let count = |s: Severity| {
                results
                    .iter()
                    .flat_map(|v| &v.diagnostics)
                    .filter(|d| d.severity == s)
                    .count()
            };
            // Whether each valid service can be delivered with nobody acting on it.
            for (file, v) in files.iter().zip(&results) {
                if let Some(def) = v.definition.as_ref().filter(|_| !failed(v)) {
                    eprintln!("{}: {}", file.display(), def.smartness().reason);
                }
            }
            let bad = results.iter().filter(|v| failed(v)).count();
            eprintln!(
                "{} file{} checked: {} valid, {bad} refused ({} error{}, {} warning{})",
                results.len(),
                plural(results.len()),
                results.len() - bad,
                count(Severity::Error),
                plural(count(Severity::Error)),
                count(Severity::Warning),
                plural(count(Severity::Warning)),
            );
        }
        Format::Json => {
            let files: Vec<_> = files
                .iter()
                .zip(&results)
                .map(|(f, v)| {
                    json!({
                        "file": f.display().to_string(),
                        "valid": !failed(v),
                        "hash": v.definition.as_ref().map(|d| d.hash()),
                        "smart": v.definition.as_ref().map(|d| d.smartness()),
                        "diagnostics": v.diagnostics.iter().map(to_json).collect::<Vec<_>>(),
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({ "files": files }))?
            );
        }
    }
    Ok(if results.iter().any(failed) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn to_json(d: &Diagnostic) -> serde_json::Value {
    serde_json::to_value(d).unwrap_or_default()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
