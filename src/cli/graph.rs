//! `daftar graph FILE --format mermaid|dot|svg`

use std::path::Path;
use std::process::ExitCode;

use daftar_definitions::{Options, render};

use super::GraphFormat;
use super::files::{find_catalog, load_catalog, read_text};

/// Validates the file and prints its diagram; diagnostics go to stderr, and a file with errors
/// exits 1 with nothing on stdout.
pub fn run(
    file: &Path,
    format: GraphFormat,
    connectors: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let name = file.display().to_string();
    let text = match read_text(file)? {
        Ok(text) => text,
        Err(diagnostic) => {
            eprintln!("{diagnostic}");
            return Ok(ExitCode::from(1));
        }
    };
    // The same catalog `validate` would use: `--connectors` (or `$DAFTAR_CONNECTORS`), or
    // the nearest `connectors.yaml` above the file.
    let catalog = find_catalog(connectors, file)
        .as_deref()
        .map(load_catalog)
        .transpose()?;
    let options = Options {
        catalog: catalog.as_ref(),
        workflows: None,
    };
    let validation = daftar_definitions::validate(&name, &text, options);
    for d in &validation.diagnostics {
        eprintln!("{d}");
    }
    let Some(definition) = validation.definition else {
        return Ok(ExitCode::from(1));
    };
    let diagram = match format {
        GraphFormat::Mermaid => render::mermaid(&definition),
        GraphFormat::Dot => render::dot(&definition),
        GraphFormat::Svg => match render::svg(&definition) {
            Ok(svg) => svg,
            Err(e) => {
                eprintln!("{name}: {e}");
                return Ok(ExitCode::from(1));
            }
        },
    };
    print!("{diagram}");
    Ok(ExitCode::SUCCESS)
}
