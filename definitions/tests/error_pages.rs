//! Every diagnostic code has a page `docs/errors/CODE.md`, every page is about a code that
//! exists, the index lists them all, and each page's examples are true: the wrong example
//! produces exactly the output the page shows, and the corrected one produces nothing.
//!
//! Code blocks of a page are marked by their info string:
//!
//! - ```` ```yaml wrong ````: the example that produces the code;
//! - ```` ```text output ````: what `daftar validate` prints for it, line for line;
//! - ```` ```yaml fixed ````: the corrected example, which produces no diagnostic.
//!
//! Examples are validated as the CLI validates one file, against the example connector catalog,
//! unless the info string adds `no-catalog` (validated without one), `catalog` (the block is a
//! connector catalog, read with `load_catalog`) or `calendar` (a business calendar, read with
//! `load_calendar`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use daftar_definitions::{Catalog, Code, Severity, load_calendar, load_catalog, validate_all};

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/errors")
}

fn page(code: Code) -> PathBuf {
    docs().join(format!("{}.md", code.as_str()))
}

fn catalog() -> Catalog {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/connectors.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    load_catalog("examples/connectors.yaml", &text).expect("the example catalog is valid")
}

/// A fenced code block: its info string and its text.
struct Block {
    info: Vec<String>,
    text: String,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for line in markdown.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => {
                current = Some(Block {
                    info: info.split_whitespace().map(str::to_owned).collect(),
                    text: String::new(),
                });
            }
            (Some(_), Some("")) => out.push(current.take().expect("open block")),
            (Some(block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(current.is_none(), "a code block is never closed");
    out
}

/// What `daftar validate` prints for one example, line by line.
fn output(block: &Block, catalog: &Catalog) -> Vec<String> {
    let has = |flag: &str| block.info.iter().any(|i| i == flag);
    if has("calendar") {
        return match load_calendar("calendar.yaml", &block.text) {
            Ok(_) => Vec::new(),
            Err(diagnostics) => diagnostics.iter().map(ToString::to_string).collect(),
        };
    }
    if has("catalog") {
        return match load_catalog("connectors.yaml", &block.text) {
            Ok(_) => Vec::new(),
            Err(diagnostics) => diagnostics.iter().map(ToString::to_string).collect(),
        };
    }
    let catalog = (!has("no-catalog")).then_some(catalog);
    let files = [("example.yaml".to_owned(), block.text.clone())];
    validate_all(&files, catalog)
        .iter()
        .flat_map(|v| &v.diagnostics)
        .map(ToString::to_string)
        .collect()
}

#[test]
fn every_code_has_a_page_titled_with_the_code() {
    let mut missing = Vec::new();
    for code in Code::ALL {
        let path = page(*code);
        let Ok(text) = std::fs::read_to_string(&path) else {
            missing.push(code.as_str());
            continue;
        };
        let title = text.lines().next().unwrap_or_default();
        assert!(
            title.starts_with(&format!("# {code}")),
            "{}: the title `{title}` does not start with `# {code}`",
            path.display()
        );
        assert_eq!(
            title,
            format!("# {code}: {}", code.summary()),
            "{}: the title is the code and its summary",
            path.display()
        );
        let severity = match code.severity() {
            Severity::Error => "**Severity:** error.",
            Severity::Warning => "**Severity:** warning.",
        };
        assert!(
            text.contains(severity),
            "{}: the page says `{severity}`",
            path.display()
        );
    }
    assert!(missing.is_empty(), "codes with no page: {missing:?}");
}

#[test]
fn every_page_names_an_existing_code() {
    let codes: BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    let mut pages = 0;
    for entry in std::fs::read_dir(docs()).expect("docs/errors exists") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "README.md" {
            continue;
        }
        let stem = name
            .strip_suffix(".md")
            .unwrap_or_else(|| panic!("docs/errors/{name} is not a page (*.md)"));
        assert!(
            codes.contains(stem),
            "docs/errors/{name} is about {stem}, which is not a code"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let title = text.lines().next().unwrap_or_default();
        let named = title
            .strip_prefix("# ")
            .and_then(|t| t.split(':').next())
            .unwrap_or_default();
        assert_eq!(named, stem, "docs/errors/{name}: the title names {named}");
        pages += 1;
    }
    assert_eq!(pages, Code::ALL.len());
}

#[test]
fn the_index_lists_every_code() {
    let index = std::fs::read_to_string(docs().join("README.md")).expect("docs/errors/README.md");
    for code in Code::ALL {
        let row = format!("| [{code}]({code}.md) | ");
        let line = index
            .lines()
            .find(|l| l.starts_with(&row))
            .unwrap_or_else(|| panic!("README.md has no row for {code}"));
        let severity = match code.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        assert_eq!(
            line,
            format!("{row}{severity} | {} |", code.summary()),
            "README.md's row for {code}"
        );
    }
}

/// The language reference's table of codes (docs/dsl.md) drifts from the pages unless it is
/// checked too.
#[test]
fn the_language_reference_lists_every_code() {
    let dsl = std::fs::read_to_string(docs().join("../dsl.md")).expect("docs/dsl.md");
    for code in Code::ALL {
        let severity = match code.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let row = format!("| {code} | {severity} | {} |", code.summary());
        assert!(
            dsl.lines().any(|l| l == row),
            "docs/dsl.md has no row `{row}`"
        );
    }
}

#[test]
fn every_page_shows_what_its_example_really_produces() {
    let catalog = catalog();
    let mut report = Vec::new();
    for code in Code::ALL {
        let path = page(*code);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // reported by every_code_has_a_page_titled_with_the_code
        };
        let blocks = blocks(&text);
        let find = |kind: &str, tag: &str| -> Vec<&Block> {
            blocks
                .iter()
                .filter(|b| b.info.first().map(String::as_str) == Some(kind))
                .filter(|b| b.info.iter().any(|i| i == tag))
                .collect()
        };
        let (wrong, shown, fixed) = (
            find("yaml", "wrong"),
            find("text", "output"),
            find("yaml", "fixed"),
        );
        if wrong.len() != 1 || shown.len() != 1 || fixed.is_empty() {
            report.push(format!(
                "{code}: needs one `yaml wrong` block, one `text output` block and a `yaml fixed` block"
            ));
            continue;
        }
        let produced = output(wrong[0], &catalog);
        let printed: Vec<&str> = shown[0].text.lines().collect();
        if produced != printed {
            report.push(format!(
                "{code}: the page shows\n    {}\n  and the example produces\n    {}",
                printed.join("\n    "),
                produced.join("\n    ")
            ));
        }
        if !produced.iter().any(|l| l.contains(&format!(": {code} "))) {
            report.push(format!("{code}: the wrong example does not produce {code}"));
        }
        for block in fixed {
            let left = output(block, &catalog);
            if !left.is_empty() {
                report.push(format!(
                    "{code}: the corrected example still produces\n    {}",
                    left.join("\n    ")
                ));
            }
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}
