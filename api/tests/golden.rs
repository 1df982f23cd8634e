//! Golden histories: the event logs of the example services, as the store wrote them, replayed
//! on every run. The hash chain covers each payload's stored text, so a silent change to how an
//! event serializes would make every new event hash differently from the same event in an old
//! history, and an auditor's `daftar verify` could no longer tell the two apart from tampering.
//! Here every recorded event must still verify, decode, and serialize again to exactly the
//! bytes it was stored with; its history must fold (`apply`) to the state kept in
//! `tests/golden/snapshots/`; and `tests/golden/events.jsonl` keeps one stored payload per event
//! variant, which today's serde must read and write back byte for byte.
//!
//! To record them again (after a deliberate change, never to make a failure go away):
//!
//! ```text
//! DAFTAR_BLESS=1 INSTA_UPDATE=always cargo test -p daftar-api --test services --test golden
//! ```
//!
//! The services tests write `tests/golden/histories/{workflow}.{outcome}.jsonl` for their
//! approved and refused applicants ([`Node::record_golden`](e2e_support::Node::record_golden)),
//! [`record_the_rest`] those of the services they do not drive, and this file rewrites the
//! snapshots and the event payloads. The normal run only compares.

use daftar_testkit::e2e as e2e_support;

use std::collections::BTreeMap;
use std::path::PathBuf;

use daftar_engine::core::{InstanceState, apply};
use daftar_engine::events::{Chains, Event, StoredEvent, StreamId, verify_chain};
use daftar_testkit::harness::coverage::event_variants;
use e2e_support::{Node, golden, outcome};
use serde_json::json;

/// Every golden history, by name.
fn histories() -> BTreeMap<String, Vec<StoredEvent>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(golden::dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            out.insert(name, text.lines().map(golden::parse).collect());
        }
    }
    out
}

fn snapshots() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(golden::dir().join("../snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

#[test]
fn every_golden_history_verifies_decodes_to_its_own_bytes_and_folds_to_its_snapshot() {
    let histories = histories();
    assert!(
        histories.len() >= 12,
        "approved and refused paths of the example services: {:?}",
        histories.keys()
    );
    for (name, stored) in &histories {
        // The chain, as `daftar verify` checks it: over the stored text.
        let mut chains = Chains::default();
        for e in stored {
            chains
                .check(e)
                .unwrap_or_else(|err| panic!("{name}: {err:?}"));
        }
        let (_, events) = chains.finish().unwrap();
        assert_eq!(events, stored.len() as u64, "{name}");

        // Decoded and written again by today's serde: the same bytes, the same hashes.
        let mut streams: Vec<(StreamId, Vec<_>)> = Vec::new();
        for e in stored {
            let event = e
                .decode()
                .unwrap_or_else(|err| panic!("{name} v{}: {err}", e.version));
            assert_eq!(
                serde_json::to_string(&event.to_stored()).unwrap(),
                e.event.payload,
                "{name} v{}: today's serde writes another payload",
                e.version
            );
            let recorded = e.clone().map(|_| event);
            assert_eq!(recorded.compute_hash(), e.hash, "{name} v{}", e.version);
            match streams.iter_mut().find(|(s, _)| *s == e.stream) {
                Some((_, events)) => events.push(recorded),
                None => streams.push((e.stream.clone(), vec![recorded])),
            }
        }

        // Folded with `apply`, stream by stream, in the order they began.
        let mut states = Vec::new();
        for (stream, recorded) in &streams {
            verify_chain(recorded).unwrap_or_else(|err| panic!("{name} {stream}: {err:?}"));
            let state = recorded
                .iter()
                .fold(InstanceState::default(), |s, e| apply(s, &e.event));
            assert!(state.ended(), "{name} {stream}: a golden history ends");
            states.push(state);
        }
        let text = serde_json::to_string_pretty(&states).unwrap();
        snapshots().bind(|| insta::assert_snapshot!(name.as_str(), text));
    }
}

/// `tests/golden/events.jsonl`: one stored payload per event variant.
fn payloads() -> PathBuf {
    golden::dir().join("../events.jsonl")
}

#[test]
fn one_golden_payload_per_event_variant_reads_and_writes_back_byte_for_byte() {
    let text = std::fs::read_to_string(payloads()).unwrap();
    let mut kinds = Vec::new();
    let mut blessed = String::new();
    for line in text.lines() {
        let event = Event::from_stored(serde_json::from_str(line).unwrap())
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        let written = serde_json::to_string(&event.to_stored()).unwrap();
        if !golden::blessing() {
            assert_eq!(
                written,
                line,
                "{}: today's serde writes another payload",
                event.kind()
            );
        }
        blessed.push_str(&written);
        blessed.push('\n');
        kinds.push(event.kind().to_owned());
    }
    if golden::blessing() {
        std::fs::write(payloads(), blessed).unwrap();
    }
    let mut variants = event_variants();
    assert_eq!(variants.len(), 45, "{variants:?}");
    variants.sort();
    kinds.sort();
    assert_eq!(kinds, variants, "exactly one golden payload per variant");
}

/// With `DAFTAR_BLESS=1`, records the approved and refused histories of the services that
/// `services.rs` does not drive: the clean-record certificate and the passport renewal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_the_rest() {
    if !golden::blessing() {
        return;
    }
    let cases = [
        (
            "judiciary",
            "clean-record-certificate",
            json!({"national_id": "0499370899", "mobile": "09121234567", "birth_date": "1990-01-01", "purpose": "employment"}),
            "issued",
        ),
        (
            "judiciary",
            "clean-record-certificate",
            json!({"national_id": "0012345679", "mobile": "09121234567", "birth_date": "1990-01-01", "purpose": "employment"}),
            "rejected",
        ),
        (
            "police-passport",
            "passport-renewal",
            json!({"national_id": "0499370899", "mobile": "09121234567", "birth_date": "1990-01-01", "passport_number": "Z12345678", "delivery_postal_code": "1966713411"}),
            "issued",
        ),
        (
            "police-passport",
            "passport-renewal",
            json!({"national_id": "1287654312", "mobile": "09121234567", "birth_date": "1992-02-14", "passport_number": "Z22334455", "delivery_postal_code": "1966713411"}),
            "rejected",
        ),
    ];
    for (agency, workflow, input, expected) in cases {
        let node = Node::new().await;
        let s = node.start(agency, workflow, input).await;
        let state = node.finished(&s).await;
        assert_eq!(outcome(&state), expected, "{workflow}");
        node.audit().await;
        let path = if expected == "issued" {
            "issued"
        } else {
            "refused"
        };
        node.record_golden(&format!("{workflow}.{path}")).await;
    }
}
