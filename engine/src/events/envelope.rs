use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Event;

/// An instance's stream: the agency (tenant) and the instance id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamId {
    /// The agency that owns the instance.
    pub agency: String,
    /// The instance id, unique within the agency.
    pub instance: String,
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.agency, self.instance)
    }
}

/// Who caused an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Actor {
    /// The engine itself (running an instance forward, a timer).
    System,
    /// A connector reporting an agency's answer.
    Connector(String),
    /// An officer, by id.
    Officer(String),
    /// The applicant, or a portal on their behalf.
    Citizen,
    /// An operator resolving an incident, by id.
    Operator(String),
}

/// An event as stored, with everything an auditor needs around it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// The stream.
    pub stream: StreamId,
    /// The event's version in its stream, from 1, without gaps.
    pub version: u64,
    /// The event's position across all streams of the store (assigned on append).
    pub position: u64,
    /// When it was recorded, by the store's clock.
    pub recorded_at: DateTime<Utc>,
    /// The definition that decided it: id, version, content hash.
    pub workflow: String,
    /// The definition's version.
    pub workflow_version: u32,
    /// The definition's content hash.
    pub definition_hash: String,
    /// Who caused it.
    pub actor: Actor,
    /// The id of the command that caused it.
    pub command_id: String,
    /// The hash of the previous event of the stream (empty for the first).
    pub prev_hash: String,
    /// This event's hash, chaining it to `prev_hash`.
    pub hash: String,
    /// The payload.
    pub event: Event,
}

impl RecordedEvent {
    /// Recomputes this event's hash from its fields.
    pub fn compute_hash(&self) -> String {
        chain_hash(&self.prev_hash, &self.hashed_fields(None))
    }

    /// [`Self::compute_hash`] for a store that has already written the event's stored
    /// payload (`serde_json::to_string(&self.event.to_stored())`), so that appending
    /// serializes each event once.
    pub(crate) fn compute_hash_with_payload(&self, payload: &str) -> String {
        chain_hash(&self.prev_hash, &self.hashed_fields(Some(payload)))
    }

    /// The canonical bytes the hash covers: every field but the position (assigned by the
    /// store) and the hash itself, as the JSON object of those fields with its keys sorted.
    ///
    /// Written field by field rather than built as a `Value` first (that copied every string
    /// and cost a third of verifying a chain); nested values still go through `Value`, whose
    /// maps sort their keys, so the bytes are exactly those of the original construction
    /// (`hashed_fields_slow`, kept in the tests). `payload`, when given, is the event's
    /// stored payload text.
    fn hashed_fields(&self, payload: Option<&str>) -> Vec<u8> {
        fn field(out: &mut Vec<u8>, first: bool, key: &str) {
            out.extend_from_slice(if first { b"{\"" } else { b",\"" });
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
        }
        fn json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
            serde_json::to_writer(out, value).expect("JSON serializes");
        }
        let mut out = Vec::with_capacity(768);
        field(&mut out, true, "actor");
        json(
            &mut out,
            &serde_json::to_value(&self.actor).expect("actors serialize"),
        );
        field(&mut out, false, "command_id");
        json(&mut out, &self.command_id);
        field(&mut out, false, "definition_hash");
        json(&mut out, &self.definition_hash);
        field(&mut out, false, "event");
        match payload {
            Some(p) => out.extend_from_slice(p.as_bytes()),
            None => json(&mut out, &self.event.to_stored()),
        }
        field(&mut out, false, "recorded_at");
        json(
            &mut out,
            &self
                .recorded_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        );
        // A stream's fields are declared in key order: agency, instance.
        field(&mut out, false, "stream");
        json(&mut out, &self.stream);
        field(&mut out, false, "version");
        json(&mut out, &self.version);
        field(&mut out, false, "workflow");
        json(&mut out, &self.workflow);
        field(&mut out, false, "workflow_version");
        json(&mut out, &self.workflow_version);
        out.push(b'}');
        out
    }

    /// The canonical bytes as first defined: the fields gathered in a JSON `Value`, whose map
    /// sorts its keys, then written out. Kept to prove `hashed_fields` writes the same.
    #[cfg(test)]
    fn hashed_fields_slow(&self) -> Vec<u8> {
        let value = serde_json::json!({
            "stream": self.stream,
            "version": self.version,
            "recorded_at": self.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "workflow": self.workflow,
            "workflow_version": self.workflow_version,
            "definition_hash": self.definition_hash,
            "actor": self.actor,
            "command_id": self.command_id,
            "event": self.event.to_stored(),
        });
        serde_json::to_vec(&value).expect("JSON serializes")
    }
}

/// `sha256(prev_hash ‖ 0x00 ‖ fields)` as hex.
pub fn chain_hash(prev_hash: &str, fields: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update([0u8]);
    h.update(fields);
    let mut s = String::with_capacity(64);
    for b in h.finalize() {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0x0f)] as char);
    }
    s
}

/// The first problem found in a stream's chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("stream {stream}: event {version}: {reason}")]
pub struct ChainError {
    /// The stream.
    pub stream: String,
    /// The version of the first bad event (or where one is missing).
    pub version: u64,
    /// What is wrong.
    pub reason: String,
}

/// Checks one stream's events, in the order read: versions 1, 2, 3… without gaps, each
/// event's `prev_hash` the previous event's hash, and each hash matching its fields. Any
/// altered, deleted, inserted or reordered event fails.
pub fn verify_chain(events: &[RecordedEvent]) -> Result<(), ChainError> {
    let mut prev = String::new();
    for (i, e) in events.iter().enumerate() {
        let fail = |reason: String| ChainError {
            stream: e.stream.to_string(),
            version: e.version,
            reason,
        };
        let expected = i as u64 + 1;
        if e.version != expected {
            return Err(ChainError {
                stream: e.stream.to_string(),
                version: expected,
                reason: format!(
                    "expected version {expected}, found {}: an event is missing or out of order",
                    e.version
                ),
            });
        }
        if e.prev_hash != prev {
            return Err(fail("its link to the previous event is broken".to_owned()));
        }
        if e.compute_hash() != e.hash {
            return Err(fail(
                "its content does not match its hash: it was altered".to_owned(),
            ));
        }
        prev = e.hash.clone();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<RecordedEvent> {
        let mut prev = String::new();
        (1..=n)
            .map(|version| {
                let mut e = RecordedEvent {
                    stream: StreamId {
                        agency: "judiciary".into(),
                        instance: "i-1".into(),
                    },
                    version,
                    position: version,
                    recorded_at: DateTime::from_timestamp(1_700_000_000 + version as i64, 0)
                        .unwrap(),
                    workflow: "w".into(),
                    workflow_version: 1,
                    definition_hash: "sha256:00".into(),
                    actor: Actor::System,
                    command_id: format!("c{version}"),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                    event: Event::StepEntered {
                        token: 0,
                        step: format!("s{version}"),
                    },
                };
                e.hash = e.compute_hash();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[test]
    fn the_hashed_bytes_are_those_of_the_sorted_json_object() {
        let mut events = chain(3);
        events[1].actor = Actor::Connector("civil_registry".into());
        events[1].command_id = "job:agency/i-1/\"quoted\"\u{7}".into();
        events[2].actor = Actor::Officer("o-7".into());
        events[2].workflow = "gواهی".into();
        events[2].event = Event::DataSet {
            step: "s".into(),
            values: [(
                "z".to_owned(),
                serde_json::json!({"b": 1, "a": [1.5, null]}),
            )]
            .into_iter()
            .collect(),
        };
        for e in &events {
            let slow = String::from_utf8(e.hashed_fields_slow()).unwrap();
            assert_eq!(String::from_utf8(e.hashed_fields(None)).unwrap(), slow);
            let payload = serde_json::to_string(&e.event.to_stored()).unwrap();
            assert_eq!(
                String::from_utf8(e.hashed_fields(Some(&payload))).unwrap(),
                slow
            );
            assert_eq!(e.compute_hash_with_payload(&payload), e.compute_hash());
        }
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify_chain(&chain(5)), Ok(()));
    }

    #[test]
    fn altered_deleted_inserted_and_swapped_events_fail() {
        let mut altered = chain(5);
        altered[2].event = Event::StepEntered {
            token: 0,
            step: "other".into(),
        };
        assert_eq!(verify_chain(&altered).unwrap_err().version, 3);

        let mut deleted = chain(5);
        deleted.remove(1);
        assert_eq!(verify_chain(&deleted).unwrap_err().version, 2);

        let mut swapped = chain(5);
        swapped.swap(1, 2);
        assert_eq!(verify_chain(&swapped).unwrap_err().version, 2);

        let mut renumbered = chain(5);
        renumbered.remove(4);
        let mut last = chain(5).remove(3);
        last.version = 5;
        renumbered.push(last);
        assert!(verify_chain(&renumbered).is_err());

        let mut rehashed_without_link = chain(5);
        rehashed_without_link[3].command_id = "forged".into();
        rehashed_without_link[3].hash = rehashed_without_link[3].compute_hash();
        assert_eq!(verify_chain(&rehashed_without_link).unwrap_err().version, 5);
    }
}
