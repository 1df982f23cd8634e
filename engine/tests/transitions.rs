//! Every transition of the core is exercised by some test. A transition is a (wait state,
//! event) pair as `apply` takes it: the wait of the token an event concerns before it, the
//! event, and the wait after (see `harness/coverage.rs`). What the tests exercise is the golden
//! histories of the example services (`tests/golden/histories/`) and the scenarios of the
//! core's given / when / then tests (`clocks.rs`, `decide.rs`, `safety.rs`), whose
//! transitions each scenario checks against `tests/golden/transitions/{binary}.txt` on every
//! run.
//!
//! Checked here: every event variant and every wait state the code declares (read from their
//! serde derives, so a new variant is missed at once) is applied, entered and left by some
//! test, and `tests/golden/transitions.txt`, the table of the core's transitions, lists
//! exactly what the tests exercise, so that a change which leaves a transition unexercised
//! shows as a line gone from the table. To record the table and the scenarios' records again:
//!
//! ```text
//! rm tests/golden/transitions/*.txt
//! DAFTAR_BLESS=1 cargo test -p daftar-engine --test clocks --test decide --test safety --test transitions
//! ```

use daftar_testkit::harness;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use daftar_engine::events::Event;
use harness::coverage::{event_variants, read_record, transitions, wait_variants};
use serde_json::Value;

/// The test binaries whose scenarios record their transitions.
const BINARIES: [&str; 3] = ["clocks", "decide", "safety"];

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden")
}

/// Each transition the tests exercise, with the first test that does.
fn exercised() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(golden().join("histories"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut streams: BTreeMap<String, Vec<Event>> = BTreeMap::new();
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let stored: Value = serde_json::from_str(line).unwrap();
            let payload = serde_json::from_str(stored["payload"].as_str().unwrap()).unwrap();
            streams
                .entry(stored["stream"].to_string())
                .or_default()
                .push(Event::from_stored(payload).unwrap());
        }
        for history in streams.values() {
            for t in transitions(history) {
                out.entry(t).or_insert_with(|| name.clone());
            }
        }
    }
    for binary in BINARIES {
        let record = read_record(binary);
        assert!(!record.is_empty(), "no transitions recorded for {binary}");
        for (test, exercised) in record {
            for t in exercised {
                out.entry(t).or_insert_with(|| format!("{binary}: {test}"));
            }
        }
    }
    out
}

/// `(before, event, after)` of a transition.
fn parts(t: &str) -> (&str, &str, &str) {
    let (before, rest) = t.split_once(" --").unwrap();
    let (event, after) = rest.split_once("--> ").unwrap();
    (before, event, after)
}

#[test]
fn every_event_variant_is_applied_by_some_test() {
    let exercised = exercised();
    let applied: BTreeSet<&str> = exercised.keys().map(|t| parts(t).1).collect();
    let missing: Vec<String> = event_variants()
        .into_iter()
        .filter(|v| !applied.contains(v.as_str()))
        .collect();
    assert!(missing.is_empty(), "events no test applies: {missing:?}");
}

#[test]
fn every_wait_state_is_entered_and_left_by_some_test() {
    let exercised = exercised();
    let mut missing = Vec::new();
    for wait in wait_variants() {
        let entered = exercised.keys().any(|t| {
            let (before, _, after) = parts(t);
            after == wait && before != wait
        });
        let left = exercised.keys().any(|t| {
            let (before, _, after) = parts(t);
            before == wait && after != wait
        });
        if !entered {
            missing.push(format!("{wait} is never entered"));
        }
        if !left {
            missing.push(format!("{wait} is never left"));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
fn the_table_of_the_cores_transitions_is_what_the_tests_exercise() {
    let path = golden().join("transitions.txt");
    let exercised = exercised();
    if std::env::var_os("DAFTAR_BLESS").is_some_and(|v| v == "1") {
        let text: String = exercised.keys().map(|t| format!("{t}\n")).collect();
        std::fs::write(&path, text).unwrap();
    }
    let table: BTreeSet<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let unexercised: Vec<&String> = table
        .iter()
        .filter(|t| !exercised.contains_key(*t))
        .collect();
    assert!(
        unexercised.is_empty(),
        "transitions of the core that no test exercises any more: {unexercised:#?}"
    );
    let unlisted: Vec<String> = exercised
        .iter()
        .filter(|(t, _)| !table.contains(*t))
        .map(|(t, by)| format!("{t} (by {by})"))
        .collect();
    assert!(
        unlisted.is_empty(),
        "transitions the tests exercise that {} does not list: {unlisted:#?}",
        path.display()
    );
}
