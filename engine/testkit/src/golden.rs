//! The golden histories' file format: one stored event a line, as the store keeps it (the
//! payload as its stored text, the hashes as written), so that replaying a file checks the
//! very bytes an auditor's chain covers. Written by [`Node::record_golden`] and read by
//! `golden.rs`, which says how to record them again.
//!
//! [`Node::record_golden`]: super::Node::record_golden

use std::path::PathBuf;

use daftar_engine::events::{StoredEvent, StoredPayload};
use serde_json::{Value, json};

/// Where the histories live.
pub fn dir() -> PathBuf {
    super::root().join("tests/golden/histories")
}

/// Whether this run records (`DAFTAR_BLESS=1`) rather than compares.
pub fn blessing() -> bool {
    std::env::var_os("DAFTAR_BLESS").is_some_and(|v| v == "1")
}

/// One stored event as a line of JSON.
pub fn line(e: &StoredEvent) -> String {
    json!({
        "stream": e.stream,
        "version": e.version,
        "position": e.position,
        "recorded_at": e.recorded_at,
        "workflow": e.workflow,
        "workflow_version": e.workflow_version,
        "definition_hash": e.definition_hash,
        "actor": e.actor,
        "command_id": e.command_id,
        "type": e.event.kind,
        "payload": e.event.payload,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    })
    .to_string()
}

/// A line read back.
pub fn parse(line: &str) -> StoredEvent {
    let v: Value = serde_json::from_str(line).expect("a golden line is JSON");
    fn field<T: serde::de::DeserializeOwned>(v: &Value, k: &str) -> T {
        serde_json::from_value(v[k].clone()).unwrap_or_else(|e| panic!("{k}: {e}"))
    }
    StoredEvent {
        stream: field(&v, "stream"),
        version: field(&v, "version"),
        position: field(&v, "position"),
        recorded_at: field(&v, "recorded_at"),
        workflow: field(&v, "workflow"),
        workflow_version: field(&v, "workflow_version"),
        definition_hash: field(&v, "definition_hash"),
        actor: field(&v, "actor"),
        command_id: field(&v, "command_id"),
        event: StoredPayload {
            kind: field(&v, "type"),
            payload: field(&v, "payload"),
        },
        prev_hash: field(&v, "prev_hash"),
        hash: field(&v, "hash"),
    }
}
