//! The house's layers, as `docs/architecture.md` draws them, checked against what each crate
//! really depends on (`cargo metadata`): the core has no I/O, nothing depends upward, and the
//! test-only crates stay out of what ships.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

/// Each crate of the workspace and the daftar crates it may depend on (normal dependencies).
const MAY_USE: &[(&str, &[&str])] = &[
    ("daftar-definitions", &[]),
    ("daftar-core", &["daftar-definitions"]),
    ("daftar-engine", &["daftar-definitions", "daftar-core"]),
    ("daftar-simulator", &["daftar-definitions"]),
    ("daftar-api", &["daftar-definitions", "daftar-engine"]),
    (
        "daftar-desk",
        &["daftar-definitions", "daftar-engine", "daftar-api"],
    ),
    (
        "daftar",
        &[
            "daftar-definitions",
            "daftar-engine",
            "daftar-api",
            "daftar-desk",
            "daftar-simulator",
        ],
    ),
];

/// Libraries that do I/O or run an async runtime: the pure crates must not depend on them.
const IO: &[&str] = &[
    "sqlx", "reqwest", "tokio", "axum", "hyper", "tower", "mio", "tracing",
];

/// Runs cargo with `args` in the workspace, which must succeed; answers what it printed.
fn cargo(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Every workspace crate's normal dependencies, by crate name.
fn dependencies() -> BTreeMap<String, Vec<String>> {
    let out = cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--offline",
    ]);
    let meta: Value = serde_json::from_slice(&out).unwrap();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .collect();
            (p["name"].as_str().unwrap().to_owned(), deps)
        })
        .collect()
}

#[test]
fn each_crate_depends_only_on_the_layers_below_it() {
    let deps = dependencies();
    for (krate, allowed) in MAY_USE {
        let uses = deps
            .get(*krate)
            .unwrap_or_else(|| panic!("{krate} is a member of the workspace"));
        for d in uses.iter().filter(|d| d.starts_with("daftar")) {
            assert!(
                allowed.contains(&d.as_str()),
                "{krate} depends on {d}, which docs/architecture.md does not allow"
            );
        }
    }
    for krate in deps.keys() {
        let shipped = MAY_USE.iter().any(|(k, _)| k == krate);
        if !shipped {
            // A crate the table does not name is test support: nothing that ships uses it.
            for (k, u) in &deps {
                if MAY_USE.iter().any(|(m, _)| m == k) {
                    assert!(
                        !u.contains(krate),
                        "{k} depends on the test-only crate {krate}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_core_and_the_language_do_no_io_not_even_through_a_library() {
    for krate in ["daftar-core", "daftar-definitions"] {
        let args = [
            "tree",
            "-p",
            krate,
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ];
        let tree = String::from_utf8(cargo(&args)).unwrap();
        let names: Vec<&str> = tree.lines().filter_map(|l| l.split(' ').next()).collect();
        assert!(names.contains(&"serde_json"), "the tree is read: {tree}");
        for io in IO {
            assert!(
                !names.contains(io),
                "{krate} reaches {io}: the pure crates do no I/O\n{tree}"
            );
        }
    }
}
