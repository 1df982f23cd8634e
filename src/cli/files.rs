//! Reading definition files and finding their connector catalog.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use daftar_definitions::{Catalog, Code, Diagnostic, Location, Severity};

/// A definition file's text, or the diagnostic that says why it is not text.
pub fn read_text(path: &Path) -> anyhow::Result<Result<String, Diagnostic>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        // Columns count characters: the valid prefix is UTF-8 by definition.
        let last_line = valid.rsplit(|b| *b == b'\n').next().unwrap_or_default();
        let column =
            std::str::from_utf8(last_line).map_or(last_line.len(), |l| l.chars().count()) + 1;
        Diagnostic {
            file: path.display().to_string(),
            location: Location { line, column },
            code: Code::YamlSyntax,
            severity: Severity::Error,
            message: "the file is not UTF-8 text".to_owned(),
            pointer: String::new(),
        }
    }))
}

/// The catalog named on the command line, or the nearest `connectors.yaml` above `file`.
pub fn find_catalog(explicit: Option<&Path>, file: &Path) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_owned());
    }
    let start = std::fs::canonicalize(file).ok()?;
    start
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("connectors.yaml"))
        .find(|p| p.is_file())
}

/// Loads a catalog; its problems are a usage error, printed with their places.
pub fn load_catalog(path: &Path) -> anyhow::Result<Catalog> {
    let text = match read_text(path)? {
        Ok(t) => t,
        Err(d) => bail!("{d}"),
    };
    daftar_definitions::load_catalog(&path.display().to_string(), &text).map_err(|diags| {
        let lines: Vec<String> = diags.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("the connector catalog is not valid:\n{}", lines.join("\n"))
    })
}

/// Loads a business calendar; its problems are a usage error, printed with their places.
pub fn load_calendar(path: &Path) -> anyhow::Result<daftar_definitions::calendar::Calendar> {
    let text = match read_text(path)? {
        Ok(t) => t,
        Err(d) => bail!("{d}"),
    };
    daftar_definitions::load_calendar(&path.display().to_string(), &text).map_err(|diags| {
        let lines: Vec<String> = diags.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("the business calendar is not valid:\n{}", lines.join("\n"))
    })
}

/// The YAML files (`*.yaml`, `*.yml`) of the folder `dir`, in name order; `what` names the
/// folder in the error.
pub fn yaml_files(dir: &Path, what: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {what} {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Each file's name and text.
pub fn read_all(files: Vec<PathBuf>) -> anyhow::Result<Vec<(String, String)>> {
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            Ok((file.display().to_string(), text))
        })
        .collect()
}
