//! Golden tests of `daftar graph`: every workflow in `tests/fixtures/graph/` and
//! `examples/workflows/` is rendered as Mermaid and DOT and compared byte for byte with
//! `tests/golden/<stem>.mmd` and `tests/golden/<stem>.dot`.
//!
//! After an intended change of the output, regenerate the golden files and review the diff:
//!
//! ```text
//! UPDATE_GOLDEN=1 cargo test --test graph
//! ```
//!
//! The outputs are also checked for structure (every edge names a declared node, subgraphs and
//! braces balance, quotes close), and DOT files are fed to Graphviz's `dot` when it is installed.
//! SVG pictures are checked for one group per node, the same bytes on every drawing, and the
//! marks a request's path lays over them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use daftar_definitions::{CompiledDefinition, Options, render};

const UPDATE: &str = "UPDATE_GOLDEN";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .expect("a yaml file has a stem")
        .to_string_lossy()
        .into_owned()
}

/// Every workflow to render, compiled, by golden stem. The fixtures are compiled without a
/// connector catalog (so that they do not depend on the examples'); the examples together with
/// theirs, as `daftar validate examples/workflows/*.yaml` does.
fn definitions() -> BTreeMap<String, (PathBuf, CompiledDefinition)> {
    let mut out = BTreeMap::new();
    let mut add = |path: &Path, validation: daftar_definitions::Validation| {
        let Some(def) = validation.definition else {
            let lines: Vec<String> = validation
                .diagnostics
                .iter()
                .map(|d| d.to_string())
                .collect();
            panic!("{} is not valid:\n{}", shown(path), lines.join("\n"));
        };
        if let Some((other, _)) = out.insert(stem(path), (path.to_owned(), def)) {
            panic!(
                "{} and {} would share the golden files tests/golden/{}.*; rename one",
                shown(&other),
                shown(path),
                stem(path)
            );
        }
    };
    for path in yaml_files(&root().join("tests/fixtures/graph")) {
        let text = read(&path);
        let name = path.display().to_string();
        add(
            &path,
            daftar_definitions::validate(&name, &text, Options::default()),
        );
    }
    let examples = yaml_files(&root().join("examples/workflows"));
    if !examples.is_empty() {
        let catalog_path = root().join("examples/connectors.yaml");
        let catalog = catalog_path.is_file().then(|| {
            let text = read(&catalog_path);
            daftar_definitions::load_catalog(&catalog_path.display().to_string(), &text)
                .unwrap_or_else(|d| panic!("examples/connectors.yaml is not valid: {d:?}"))
        });
        let inputs: Vec<(String, String)> = examples
            .iter()
            .map(|p| (p.display().to_string(), read(p)))
            .collect();
        let validations = daftar_definitions::validate_all(&inputs, catalog.as_ref());
        for (path, validation) in examples.iter().zip(validations) {
            add(path, validation);
        }
    }
    out
}

/// A path as shown in messages: relative to the package.
fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Compares (or, with `UPDATE_GOLDEN=1`, writes) one golden file; returns the problem, if any.
fn golden(path: &Path, actual: &str, source: &Path) -> Option<String> {
    let (source, shown) = (self::shown(source), self::shown(path));
    if std::env::var_os(UPDATE).is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("golden files are in a folder"))
            .expect("create tests/golden");
        if std::fs::read_to_string(path).ok().as_deref() != Some(actual) {
            std::fs::write(path, actual).unwrap_or_else(|e| panic!("cannot write {shown}: {e}"));
            eprintln!("updated {shown}");
        }
        return None;
    }
    let Ok(expected) = std::fs::read_to_string(path) else {
        return Some(format!(
            "{shown} is missing (the diagram of {source}); create it with `{UPDATE}=1 cargo test --test graph` and review it"
        ));
    };
    if expected == actual {
        return None;
    }
    let (line, want, got) = expected
        .lines()
        .chain(std::iter::repeat("<end of file>"))
        .zip(actual.lines().chain(std::iter::repeat("<end of file>")))
        .enumerate()
        .find(|(_, (e, a))| e != a)
        .map(|(i, (e, a))| (i + 1, e, a))
        .unwrap_or((0, "", "(a difference in line endings)"));
    Some(format!(
        "{shown} differs from the diagram of {source} at line {line}:\n  expected: {want}\n  actual:   {got}\nif the change is intended, run `{UPDATE}=1 cargo test --test graph` and review the diff"
    ))
}

#[test]
fn diagrams_match_golden_files() {
    let defs = definitions();
    assert!(
        defs.len() >= 3,
        "the graph fixtures are missing from tests/fixtures/graph"
    );
    let dir = root().join("tests/golden");
    let mut problems = Vec::new();
    for (stem, (source, def)) in &defs {
        let mermaid = render::mermaid(def);
        let dot = render::dot(def);
        assert_eq!(
            mermaid,
            render::mermaid(def),
            "Mermaid output is not stable"
        );
        assert_eq!(dot, render::dot(def), "DOT output is not stable");
        problems.extend(golden(&dir.join(format!("{stem}.mmd")), &mermaid, source));
        problems.extend(golden(&dir.join(format!("{stem}.dot")), &dot, source));
    }
    // Golden files whose workflow is gone would never be checked again.
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let ext = path.extension().and_then(|e| e.to_str());
        if matches!(ext, Some("mmd" | "dot")) && !defs.contains_key(&stem(&path)) {
            if std::env::var_os(UPDATE).is_some_and(|v| v == "1") {
                std::fs::remove_file(&path).expect("remove a stale golden file");
                eprintln!("removed {}", shown(&path));
            } else {
                problems.push(format!(
                    "{} has no workflow in tests/fixtures/graph or examples/workflows; delete it (or run `{UPDATE}=1 cargo test --test graph`)",
                    shown(&path)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n\n"));
}

#[test]
fn mermaid_is_well_formed() {
    for (stem, (_, def)) in definitions() {
        let text = render::mermaid(&def);
        check_mermaid(&text, &def).unwrap_or_else(|e| panic!("{stem}.mmd: {e}\n{text}"));
    }
}

#[test]
fn dot_is_well_formed() {
    let graphviz = Command::new("dot").arg("-V").output().is_ok();
    if !graphviz {
        println!("note: Graphviz `dot` is not installed; DOT output is checked for structure only");
    }
    for (stem, (_, def)) in definitions() {
        let text = render::dot(&def);
        check_dot(&text, &def).unwrap_or_else(|e| panic!("{stem}.dot: {e}\n{text}"));
        if graphviz {
            run_graphviz(&text).unwrap_or_else(|e| panic!("{stem}.dot: dot -Tsvg failed: {e}"));
        }
    }
}

/// The node ids a rendering must declare: the start, every step, and each parallel's join.
fn expected_nodes(def: &CompiledDefinition) -> usize {
    1 + def.steps().count() + def.steps().filter(|s| s.parallel.is_some()).count()
}

fn is_ident(id: &str) -> bool {
    id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_mermaid(text: &str, def: &CompiledDefinition) -> Result<(), String> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.by_ref().take(4).collect();
    if header.len() != 4
        || header[0] != "---"
        || !header[1].starts_with("title: \"")
        || header[2] != "---"
        || header[3] != "flowchart TD"
    {
        return Err(format!("unexpected header {header:?}"));
    }
    let mut nodes = BTreeSet::new();
    let mut depth = 0usize;
    let mut edges = 0;
    for line in lines {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("subgraph ") {
            let (id, title) = rest.split_once(' ').ok_or("a subgraph without a title")?;
            if !is_ident(id) || !title.starts_with("[\"") || !title.ends_with("\"]") {
                return Err(format!("bad subgraph line `{line}`"));
            }
            quoted_ok(&title[1..title.len() - 1], line)?;
            depth += 1;
        } else if line == "end" {
            depth = depth.checked_sub(1).ok_or("`end` without a subgraph")?;
        } else if line.starts_with("classDef ") {
        } else if let Some(rest) = line.strip_prefix("class ") {
            let (ids, _) = rest.split_once(' ').ok_or("a class line without a class")?;
            if let Some(id) = ids.split(',').find(|id| !nodes.contains(*id)) {
                return Err(format!("class names the undeclared node `{id}`"));
            }
        } else if let Some((from, rest)) = line.split_once(" -->").or(line.split_once(" -.->")) {
            let to = match rest.strip_prefix('|') {
                Some(labelled) => {
                    let (label, to) = labelled.rsplit_once("| ").ok_or("an unclosed edge label")?;
                    quoted_ok(label, line)?;
                    to
                }
                None => rest.trim_start(),
            };
            for id in [from, to] {
                if !nodes.contains(id) {
                    return Err(format!("edge `{line}` names the undeclared node `{id}`"));
                }
            }
            edges += 1;
        } else {
            let split = line
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .ok_or_else(|| format!("`{line}` is not a node"))?;
            let (id, shape) = line.split_at(split);
            let open = shape.find('"').ok_or("a node label is not quoted")?;
            let close = shape.rfind('"').expect("found one");
            let (opener, closer) = (&shape[..open], &shape[close + 1..]);
            let pairs = [
                ("((", "))"),
                ("[/", "/]"),
                ("[\\", "\\]"),
                (">", "]"),
                ("{", "}"),
                ("(", ")"),
                ("{{", "}}"),
                ("[/", "\\]"),
                ("[\\", "/]"),
                ("[[", "]]"),
                ("[", "]"),
                ("([", "])"),
            ];
            if !pairs.contains(&(opener, closer)) {
                return Err(format!("unknown shape `{opener}…{closer}` in `{line}`"));
            }
            if !is_ident(id) || id == "end" || !nodes.insert(id.to_owned()) {
                return Err(format!("bad or repeated node id `{id}`"));
            }
            quoted_ok(&shape[open..=close], line)?;
        }
    }
    if depth != 0 {
        return Err("a subgraph is not closed".to_owned());
    }
    if nodes.len() != expected_nodes(def) {
        return Err(format!(
            "{} nodes declared, {} expected",
            nodes.len(),
            expected_nodes(def)
        ));
    }
    if edges == 0 {
        return Err("no edges".to_owned());
    }
    Ok(())
}

/// A Mermaid label: `"…"` with no quote, markup character or line break inside.
fn quoted_ok(label: &str, line: &str) -> Result<(), String> {
    let inner = label
        .strip_prefix('"')
        .and_then(|l| l.strip_suffix('"'))
        .ok_or_else(|| format!("label {label} is not quoted in `{line}`"))?;
    let inner = inner.replace("<br/>", "");
    match inner.find(['"', '<', '>', '|', '`', '\n']) {
        Some(i) => Err(format!("unescaped `{}` in `{line}`", &inner[i..=i])),
        None => Ok(()),
    }
}

fn check_dot(text: &str, def: &CompiledDefinition) -> Result<(), String> {
    // Braces balance outside strings, and every string closes.
    let (mut depth, mut in_string, mut escaped) = (0i32, false, false);
    for c in text.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, false, '\n') => return Err("a string runs over a line".to_owned()),
            (false, _, '"') => in_string = true,
            (false, _, '{') => depth += 1,
            (false, _, '}') => {
                depth -= 1;
                if depth < 0 {
                    return Err("`}` without `{`".to_owned());
                }
            }
            _ => {}
        }
    }
    if in_string || depth != 0 {
        return Err(format!("unbalanced: in string {in_string}, depth {depth}"));
    }
    if !text.starts_with("digraph \"") || !text.ends_with("}\n") {
        return Err("not a digraph".to_owned());
    }
    let mut nodes = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if let Some((from, rest)) = line.split_once(" -> ") {
            let to = rest.split([' ', ';']).next().unwrap_or_default();
            for id in [from, to] {
                if !nodes.contains(id) {
                    return Err(format!("edge `{line}` names the undeclared node `{id}`"));
                }
            }
        } else if let Some((id, _)) = line.split_once(" [")
            && !matches!(id, "graph" | "node" | "edge")
            && (!is_ident(id) || !nodes.insert(id.to_owned()))
        {
            return Err(format!("bad or repeated node id `{id}`"));
        }
    }
    if nodes.len() != expected_nodes(def) {
        return Err(format!(
            "{} nodes declared, {} expected",
            nodes.len(),
            expected_nodes(def)
        ));
    }
    Ok(())
}

fn run_graphviz(text: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{}: {stderr}", out.status));
    }
    if !stderr.trim().is_empty() {
        // Layout and font warnings depend on the machine, not on the output.
        println!("note: dot -Tsvg warned: {}", stderr.trim());
    }
    Ok(())
}

fn daftar(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_daftar"))
        .args(args)
        .current_dir(root())
        .env_remove("DAFTAR_CONNECTORS")
        .output()
        .expect("run daftar")
}

#[test]
fn cli_prints_the_diagram() {
    let file = "tests/fixtures/graph/graph_all_kinds.yaml";
    let text = read(&root().join(file));
    let def = daftar_definitions::compile(file, &text, Options::default()).expect("valid");
    for (format, expected) in [
        ("mermaid", render::mermaid(&def)),
        ("dot", render::dot(&def)),
        ("svg", render::svg(&def).expect("a picture")),
    ] {
        let out = daftar(&["graph", file, "--format", format]);
        assert!(out.status.success(), "{format}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "{format}");
        // No catalog next to the fixture: a warning, which does not stop the diagram.
        assert!(String::from_utf8_lossy(&out.stderr).contains("DEF080"));
    }
}

#[test]
fn cli_refuses_an_invalid_definition() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("broken.yaml");
    let text = read(&root().join("tests/fixtures/graph/graph_escaping.yaml"))
        .replace("next: refuse", "next: refuze");
    std::fs::write(&file, text).expect("write");
    let out = daftar(&["graph", &file.display().to_string()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("DEF021") && stderr.contains("refuze"),
        "{stderr}"
    );
}

/// The `id="step-…"` groups of a picture, with their classes.
fn svg_groups(svg: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for part in svg.split("<g id=\"step-").skip(1) {
        let (id, rest) = part.split_once('"').expect("a closed id");
        let class = rest
            .split_once("class=\"")
            .and_then(|(_, c)| c.split_once('"'))
            .map(|(c, _)| c.to_owned())
            .expect("a class");
        assert!(
            out.insert(id.to_owned(), class).is_none(),
            "{id} is drawn twice"
        );
    }
    out
}

#[test]
fn svg_draws_every_node_once_and_the_same_each_time() {
    for (stem, (_, def)) in definitions() {
        let svg = render::svg(&def).unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert!(
            svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"),
            "{stem}"
        );
        assert_eq!(
            svg,
            render::svg(&def).expect("a picture"),
            "{stem}: not stable"
        );
        let groups = svg_groups(&svg);
        assert_eq!(groups.len(), expected_nodes(&def), "{stem}: {groups:?}");
        assert!(groups.values().all(|c| c == "step"), "{stem}: {groups:?}");
    }
}

#[test]
fn svg_lays_a_path_over_the_picture() {
    let file = "tests/fixtures/graph/graph_all_kinds.yaml";
    let def = daftar_definitions::compile(file, &read(&root().join(file)), Options::default())
        .expect("valid");
    let steps: Vec<String> = def.steps().map(|s| s.id.clone()).collect();
    let marks = render::Marks {
        ran: steps[..2].iter().cloned().collect(),
        at: BTreeSet::from([steps[2].clone()]),
    };
    let groups = svg_groups(&render::svg_marked(&def, &marks).expect("a picture"));
    let class = |step: &str| groups[&format!("s_{step}")].as_str();
    assert_eq!(class(&steps[0]), "step ran");
    assert_eq!(class(&steps[1]), "step ran");
    assert_eq!(class(&steps[2]), "step at");
    assert_eq!(class(&steps[3]), "step not-ran");
    assert_eq!(groups["start"], "step ran");
}
