//! A connector's default retry policy in the catalog applies to inquiry steps that set none,
//! and becomes part of the compiled definition (and of its hash).

use std::path::Path;

use daftar_definitions::{Options, compile, load_catalog};

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn a_connectors_retry_policy_fills_steps_without_one() {
    let source =
        std::fs::read_to_string(root().join("examples/workflows/clean-record-certificate.yaml"))
            .unwrap();
    let text = std::fs::read_to_string(root().join("examples/connectors.yaml")).unwrap();
    let plain = load_catalog("connectors.yaml", &text).unwrap();
    let mut with_retry = plain.clone();
    with_retry.connectors.get_mut("civil_registry").unwrap().retry = Some(
        serde_json::from_value(serde_json::json!({
            "max_attempts": 7, "initial_interval": "2s", "multiplier": 3.0, "max_interval": "1m", "jitter": 0.1
        }))
        .unwrap(),
    );
    let opts = |catalog| Options {
        catalog: Some(catalog),
        workflows: None,
    };
    // The workflow's own `defaults.retry` wins over the connector's.
    let designed = compile("c.yaml", &source, opts(&with_retry)).unwrap();
    let designed_plain = compile("c.yaml", &source, opts(&plain)).unwrap();
    assert_eq!(designed.hash(), designed_plain.hash());
    let line = "  retry: { max_attempts: 5, initial_interval: 2s, multiplier: 2, max_interval: 1m, jitter: 0.2 }\n";
    assert!(source.contains(line));
    let source = source.replace(line, "");
    let without = compile("c.yaml", &source, opts(&plain)).unwrap();
    let with = compile("c.yaml", &source, opts(&with_retry)).unwrap();

    let inquiry_of = |d: &daftar_definitions::CompiledDefinition, connector: &str| {
        d.workflow()
            .steps
            .iter()
            .filter_map(|s| s.inquiry.clone())
            .find(|i| i.connector == connector)
            .unwrap()
    };
    assert_eq!(inquiry_of(&without, "civil_registry").retry, None);
    let filled = inquiry_of(&with, "civil_registry")
        .retry
        .expect("filled from the catalog");
    assert_eq!(filled.max_attempts, 7);
    // A step with a policy of its own keeps it.
    assert_eq!(
        inquiry_of(&with, "judiciary_records").retry,
        inquiry_of(&without, "judiciary_records").retry
    );
    assert_ne!(
        with.hash(),
        without.hash(),
        "the policy in force is part of the hash"
    );
}
