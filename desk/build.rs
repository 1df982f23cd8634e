//! Builds the list of the diagnostic codes' pages (`docs/errors/*.md`) into the binary, so
//! that the desk's editor links each diagnostic to its page with no docs folder at run time.

use std::fmt::Write as _;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/errors");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut pages: Vec<(String, String)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "md"))
                .filter_map(|p| {
                    let code = p.file_stem()?.to_str()?.to_owned();
                    Some((code, p.canonicalize().ok()?.display().to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    pages.sort();
    let mut out = String::from(
        "/// Each diagnostic code's page, as (code, Markdown).\npub const PAGES: &[(&str, &str)] = &[\n",
    );
    for (code, path) in pages {
        let _ = writeln!(out, "    ({code:?}, include_str!({path:?})),");
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("error_pages.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
