//! Every file under examples/ is valid: the connector catalog loads, and every workflow
//! validates against it with no diagnostic at all. Together the examples use every construct
//! of the language, so a change that breaks any of them is caught here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use daftar_definitions::model::StepKind;
use daftar_definitions::{CompiledDefinition, load_catalog, validate_all};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

fn examples() -> Vec<CompiledDefinition> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let catalog_path = root.join("connectors.yaml");
    let catalog_text = std::fs::read_to_string(&catalog_path).unwrap();
    let catalog = load_catalog("examples/connectors.yaml", &catalog_text)
        .unwrap_or_else(|d| panic!("the catalog is invalid: {d:#?}"));

    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    files.sort();
    let workflows: Vec<(String, String)> = files
        .iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("workflows")))
        .map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap()))
        .collect();
    // The simulator's seed and configs are checked by `the_simulator_seed_and_config_load`,
    // the benchmark's workflows by tests/bench.rs.
    let simulator = root.join("simulator");
    let bench = root.join("bench");
    let others: Vec<&PathBuf> = files
        .iter()
        .filter(|p| !p.parent().is_some_and(|d| d.ends_with("workflows")) && **p != catalog_path)
        .filter(|p| !p.starts_with(&simulator) && !p.starts_with(&bench))
        .collect();
    assert!(
        others.is_empty(),
        "YAML under examples/ that no test validates: {others:?}"
    );
    assert!(
        workflows.len() >= 7,
        "the seven services of DOMAIN.md, at least"
    );

    validate_all(&workflows, Some(&catalog))
        .into_iter()
        .zip(&workflows)
        .map(|(v, (name, _))| {
            assert!(
                v.diagnostics.is_empty(),
                "{name}:\n{}",
                render(&v.diagnostics)
            );
            v.definition.expect("valid")
        })
        .collect()
}

fn render(d: &[daftar_definitions::Diagnostic]) -> String {
    d.iter().map(|d| format!("  {d}\n")).collect()
}

#[test]
fn the_simulator_seed_and_config_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/simulator");
    daftar_simulator::Simulator::from_files(&root.join("seed.yaml"), &root.join("config.yaml"))
        .unwrap_or_else(|e| panic!("examples/simulator: {e:#}"));
    let bench = root.join("../bench/simulator-config.yaml");
    daftar_simulator::Simulator::from_files(&root.join("seed.yaml"), &bench)
        .unwrap_or_else(|e| panic!("examples/bench/simulator-config.yaml: {e:#}"));
}

#[test]
fn every_example_is_valid() {
    let defs = examples();
    let ids: BTreeSet<&str> = defs.iter().map(|d| d.id()).collect();
    assert_eq!(ids.len(), defs.len(), "example ids are unique");
}

/// Whether a step does something some example must show.
type StepTest = fn(&daftar_definitions::model::Step) -> bool;

#[test]
fn examples_use_every_construct() {
    let defs = examples();
    let steps: Vec<_> = defs
        .iter()
        .flat_map(|d| d.steps().cloned().collect::<Vec<_>>())
        .collect();
    let kinds: BTreeSet<StepKind> = steps
        .iter()
        .filter_map(|s| s.kind().map(|k| k.kind()))
        .collect();
    for kind in StepKind::ALL {
        assert!(
            kinds.contains(&kind),
            "no example uses a `{}` step",
            kind.key()
        );
    }
    // What some step of some example must do, with what the failure names.
    let features: [(&str, StepTest); 8] = [
        ("an inquiry answered by callback", |s| {
            s.inquiry.as_ref().is_some_and(|i| i.callback.is_some())
        }),
        ("an inquiry with its own retry", |s| {
            s.inquiry.as_ref().is_some_and(|i| i.retry.is_some())
        }),
        ("a task with escalation", |s| {
            s.task.as_ref().is_some_and(|t| !t.escalation.is_empty())
        }),
        ("a wait for a cron occurrence", |s| {
            s.wait.as_ref().is_some_and(|w| w.cron.is_some())
        }),
        ("a wait for a message", |s| {
            s.wait.as_ref().is_some_and(|w| w.message.is_some())
        }),
        ("a timer", |s| {
            s.wait
                .as_ref()
                .is_some_and(|w| w.until.is_some() || w.duration.is_some())
        }),
        ("an end that issues a document", |s| {
            s.end.as_ref().is_some_and(|e| e.document.is_some())
        }),
        ("a parallel join on all", |s| {
            s.parallel
                .as_ref()
                .is_some_and(|p| p.join == daftar_definitions::model::Join::All)
        }),
    ];
    for (what, has) in features {
        assert!(steps.iter().any(has), "{what}");
    }
    assert!(
        defs.iter()
            .any(|d| !d.workflow().triggers.schedules.is_empty()),
        "a scheduled start"
    );
    assert!(
        defs.iter().any(|d| d
            .workflow()
            .statuses
            .values()
            .any(|s| s.sms_template().is_some())),
        "an SMS on a status change"
    );
}
