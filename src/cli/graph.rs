//! `daftar graph FILE --format mermaid|dot`

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;

use super::GraphFormat;

pub fn run(_file: &Path, _format: GraphFormat) -> anyhow::Result<ExitCode> {
    bail!("graph rendering is not built yet")
}
