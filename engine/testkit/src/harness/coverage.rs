//! Which (wait state, event) transitions of the core a history exercises, and the record of
//! those the scenarios of each test binary exercise, kept in `tests/golden/transitions/` so
//! that `transitions.rs` can tell which of the core's transitions no test reaches.
//!
//! A transition is written `Before --Event--> After`: the wait of the token the event concerns
//! (its `token`, or the token of its task, timer or incident; token 0 for the instance's own
//! events) before and after `apply`, `-` where there is no such token. Every scenario
//! ([`super::Scenario`]) checks, when it is dropped, that its line of the record is what it
//! exercised; `DAFTAR_BLESS=1` rewrites the line instead.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;

use daftar_engine::core::{InstanceState, Wait};
use daftar_engine::events::Event;
use serde_json::{Value, json};

/// The variant names a serde-derived enum lists when asked for one it does not have: the
/// variants as the code declares them, with no list to keep beside it.
fn variants<T: serde::de::DeserializeOwned>(unknown: Value) -> Vec<String> {
    let Err(err) = serde_json::from_value::<T>(unknown) else {
        panic!("`?` is no variant");
    };
    let text = err.to_string();
    let list = &text[text.find("expected one of").expect(&text)..];
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Every variant of [`Wait`].
pub fn wait_variants() -> Vec<String> {
    variants::<Wait>(json!("?"))
}

/// Every variant of [`Event`].
pub fn event_variants() -> Vec<String> {
    variants::<Event>(json!({"type": "?"}))
}

/// A wait's variant name.
pub fn wait_name(wait: &Wait) -> String {
    match serde_json::to_value(wait).unwrap() {
        Value::String(name) => name,
        Value::Object(map) => map.keys().next().unwrap().clone(),
        other => panic!("a wait serializes as a name or a map: {other}"),
    }
}

/// The token an event concerns, before it is applied.
fn concerned(state: &InstanceState, event: &Event) -> u32 {
    let v = serde_json::to_value(event).unwrap();
    let by = |key: &str| v.get(key).and_then(Value::as_str);
    if let Some(token) = v.get("token").and_then(Value::as_u64) {
        return u32::try_from(token).unwrap();
    }
    let token = if let Some(task) = by("task") {
        state.tasks.get(task).map(|t| t.token)
    } else if let Some(timer) = by("timer") {
        state.timers.get(timer).map(|t| t.token)
    } else if let Some(incident) = by("incident") {
        state.incidents.get(incident).map(|(t, _)| *t)
    } else {
        None
    };
    token.unwrap_or(0)
}

/// The transitions a history exercises.
pub fn transitions<'a>(history: impl IntoIterator<Item = &'a Event>) -> BTreeSet<String> {
    let mut state = InstanceState::default();
    let mut out = BTreeSet::new();
    for event in history {
        let token = concerned(&state, event);
        let wait = |s: &InstanceState| {
            s.tokens
                .get(&token)
                .map_or("-".into(), |t| wait_name(&t.wait))
        };
        let before = wait(&state);
        state.apply(event);
        out.insert(format!("{before} --{}--> {}", event.kind(), wait(&state)));
    }
    out
}

/// The record of one test binary.
pub fn record_path(binary: &str) -> PathBuf {
    crate::root()
        .join("tests/golden/transitions")
        .join(format!("{binary}.txt"))
}

/// A record: each scenario's transitions, by `test#n` (the test's thread name and the
/// scenario's rank within it), as `test#n: transition` lines.
pub fn read_record(binary: &str) -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(record_path(binary)).unwrap_or_default();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text.lines() {
        let (key, transition) = line.split_once(": ").expect("`test#n: transition`");
        out.entry(key.to_owned())
            .or_default()
            .insert(transition.to_owned());
    }
    out
}

static WRITING: Mutex<()> = Mutex::new(());

/// Checks a scenario's transitions against the record of its binary, or, blessing, writes
/// them into it.
pub fn check(binary: &str, key: &str, exercised: BTreeSet<String>) {
    let bless = std::env::var_os("DAFTAR_BLESS").is_some_and(|v| v == "1");
    let _writing = WRITING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut record = read_record(binary);
    if !bless {
        assert_eq!(
            record.get(key),
            Some(&exercised),
            "{key}: the transitions this scenario exercises are not those recorded in {}; \
             record them again with DAFTAR_BLESS=1 (see transitions.rs)",
            record_path(binary).display()
        );
        return;
    }
    record.insert(key.to_owned(), exercised);
    let mut text = String::new();
    for (key, transitions) in &record {
        for t in transitions {
            text.push_str(&format!("{key}: {t}\n"));
        }
    }
    std::fs::write(record_path(binary), text).unwrap();
}
