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
    /// The applicant, or a portal on their behalf, unnamed.
    Citizen,
    /// The applicant, by the subject of the token they filed with: the request is theirs to
    /// read and watch.
    Applicant(String),
    /// An operator resolving an incident, by id.
    Operator(String),
}

/// An event as stored, with everything an auditor needs around it. `E` is the event itself:
/// decoded (an [`Event`]), or as the store holds it ([`StoredPayload`], see [`StoredEvent`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent<E = Event> {
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
    pub event: E,
}

/// The last raising of `incident` in `history`, with the reason it gave.
pub fn incident_raised<'h>(
    history: &'h [RecordedEvent],
    incident: &str,
) -> Option<(&'h RecordedEvent, &'h str)> {
    history.iter().rev().find_map(|e| match &e.event {
        Event::IncidentRaised {
            incident: i,
            reason,
            ..
        } if i == incident => Some((e, reason.as_str())),
        _ => None,
    })
}

/// An event as stored, its payload still the stored JSON text: what checking its hash needs,
/// without decoding the payload (the hash covers exactly that text, so any changed byte
/// fails, even one that would still decode to the same event).
pub type StoredEvent = RecordedEvent<StoredPayload>;

/// An event's payload as the store holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredPayload {
    /// The event's type as the store's `type` column holds it (outside the hash, so checked
    /// against the payload's own `type`).
    pub kind: String,
    /// The payload, as the stored JSON text.
    pub payload: String,
}

impl<E> RecordedEvent<E> {
    /// The same envelope around another form of the event.
    pub fn map<F>(self, f: impl FnOnce(E) -> F) -> RecordedEvent<F> {
        RecordedEvent {
            stream: self.stream,
            version: self.version,
            position: self.position,
            recorded_at: self.recorded_at,
            workflow: self.workflow,
            workflow_version: self.workflow_version,
            definition_hash: self.definition_hash,
            actor: self.actor,
            command_id: self.command_id,
            prev_hash: self.prev_hash,
            hash: self.hash,
            event: f(self.event),
        }
    }

    /// The fields the hash covers, with the event's payload given.
    fn hashed<'a>(&'a self, payload: Payload<'a>) -> Hashed<'a> {
        Hashed {
            actor: &self.actor,
            command_id: &self.command_id,
            definition_hash: &self.definition_hash,
            payload,
            recorded_at: self.recorded_at,
            stream: &self.stream,
            version: self.version,
            workflow: &self.workflow,
            workflow_version: self.workflow_version,
        }
    }
}

impl RecordedEvent {
    /// Recomputes this event's hash from its fields.
    pub fn compute_hash(&self) -> String {
        chain_hash(&self.prev_hash, &self.hashed_fields(None))
    }

    /// [`Self::compute_hash`] for a store that has already written the event's stored
    /// payload (`serde_json::to_string(&self.event.to_stored())`), so that appending
    /// serializes each event once.
    pub fn compute_hash_with_payload(&self, payload: &str) -> String {
        chain_hash(&self.prev_hash, &self.hashed_fields(Some(payload)))
    }

    /// The canonical bytes the hash covers (see [`Hashed::bytes`]); `payload`, when given, is
    /// the event's stored payload text.
    fn hashed_fields(&self, payload: Option<&str>) -> Vec<u8> {
        self.hashed(match payload {
            Some(p) => Payload::Text(p),
            None => Payload::Event(&self.event),
        })
        .bytes()
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

impl StoredEvent {
    /// The payload, decoded (older shapes upcast to the current one).
    pub fn decode(&self) -> Result<Event, String> {
        let payload: serde_json::Value = serde_json::from_str(&self.event.payload)
            .map_err(|e| format!("unreadable payload: {e}"))?;
        Event::from_stored(payload)
    }

    /// Recomputes this event's hash from its fields and its stored payload text.
    pub fn compute_hash(&self) -> String {
        let fields = self.hashed(Payload::Text(&self.event.payload));
        chain_hash(&self.prev_hash, &fields.bytes())
    }
}

/// The fields a hash covers: every field of a recorded event but its position (assigned by the
/// store) and its own hash.
struct Hashed<'a> {
    actor: &'a Actor,
    command_id: &'a str,
    definition_hash: &'a str,
    payload: Payload<'a>,
    recorded_at: DateTime<Utc>,
    stream: &'a StreamId,
    version: u64,
    workflow: &'a str,
    workflow_version: u32,
}

/// An event's payload: as stored text, or to be serialized as it is stored.
enum Payload<'a> {
    Text(&'a str),
    Event(&'a Event),
}

impl Hashed<'_> {
    /// The canonical bytes: the JSON object of the fields with its keys sorted.
    ///
    /// Written field by field rather than built as a `Value` first (that copied every string
    /// and cost a third of verifying a chain); nested values still go through `Value`, whose
    /// maps sort their keys, so the bytes are exactly those of the original construction
    /// (`hashed_fields_slow`, kept in the tests).
    fn bytes(&self) -> Vec<u8> {
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
            &serde_json::to_value(self.actor).expect("actors serialize"),
        );
        field(&mut out, false, "command_id");
        json(&mut out, self.command_id);
        field(&mut out, false, "definition_hash");
        json(&mut out, self.definition_hash);
        field(&mut out, false, "event");
        match self.payload {
            Payload::Text(p) => out.extend_from_slice(p.as_bytes()),
            Payload::Event(e) => json(&mut out, &e.to_stored()),
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
        json(&mut out, self.stream);
        field(&mut out, false, "version");
        json(&mut out, &self.version);
        field(&mut out, false, "workflow");
        json(&mut out, self.workflow);
        field(&mut out, false, "workflow_version");
        json(&mut out, &self.workflow_version);
        out.push(b'}');
        out
    }
}

/// Checks the hash chains of many streams from a range of store positions, read in position
/// order (a page at a time, say): within the range, each event's hash must match its content,
/// and each stream's events must follow one another (versions without gaps, each linked to the
/// previous one's hash). Ranges checked apart, on as many threads as there are, are then joined
/// in position order ([`Chains::then`]), which checks the links across their boundaries, and
/// [`Chains::finish`] checks that every stream starts at its first event. Together that is what
/// [`verify_chain`] checks, for every stream of a store.
#[derive(Debug, Default)]
pub struct Chains {
    streams: std::collections::HashMap<StreamId, Segment>,
    events: u64,
}

/// A stream's events within a range: the first one's version and link, the last one's version
/// and hash.
#[derive(Debug)]
struct Segment {
    first: u64,
    first_prev: String,
    last: u64,
    last_hash: String,
}

fn missing(stream: &StreamId, expected: u64, found: u64) -> ChainError {
    ChainError {
        stream: stream.to_string(),
        version: expected,
        reason: format!(
            "expected version {expected}, found {found}: an event is missing or out of order"
        ),
    }
}

fn unlinked(stream: &StreamId, version: u64) -> ChainError {
    ChainError {
        stream: stream.to_string(),
        version,
        reason: "its link to the previous event is broken".to_owned(),
    }
}

impl Chains {
    /// Checks the next event of the range.
    pub fn check(&mut self, e: &StoredEvent) -> Result<(), ChainError> {
        if e.compute_hash() != e.hash {
            return Err(ChainError {
                stream: e.stream.to_string(),
                version: e.version,
                reason: "its content does not match its hash: it was altered".to_owned(),
            });
        }
        if payload_type(&e.event.payload).as_deref() != Some(e.event.kind.as_str()) {
            return Err(ChainError {
                stream: e.stream.to_string(),
                version: e.version,
                reason: format!(
                    "its type column says {:?}, its payload another type: it was altered",
                    e.event.kind
                ),
            });
        }
        match self.streams.get_mut(&e.stream) {
            Some(s) => {
                if e.version != s.last + 1 {
                    return Err(missing(&e.stream, s.last + 1, e.version));
                }
                if e.prev_hash != s.last_hash {
                    return Err(unlinked(&e.stream, e.version));
                }
                s.last = e.version;
                s.last_hash.clone_from(&e.hash);
            }
            None => {
                self.streams.insert(
                    e.stream.clone(),
                    Segment {
                        first: e.version,
                        first_prev: e.prev_hash.clone(),
                        last: e.version,
                        last_hash: e.hash.clone(),
                    },
                );
            }
        }
        self.events += 1;
        Ok(())
    }

    /// These chains followed by those of the next range of positions.
    pub fn then(mut self, next: Chains) -> Result<Chains, ChainError> {
        for (stream, later) in next.streams {
            match self.streams.get_mut(&stream) {
                Some(s) => {
                    if later.first != s.last + 1 {
                        return Err(missing(&stream, s.last + 1, later.first));
                    }
                    if later.first_prev != s.last_hash {
                        return Err(unlinked(&stream, later.first));
                    }
                    s.last = later.last;
                    s.last_hash = later.last_hash;
                }
                None => {
                    self.streams.insert(stream, later);
                }
            }
        }
        self.events += next.events;
        Ok(self)
    }

    /// The streams and events checked, once every range has been joined: each stream must
    /// start at version 1, linked to nothing.
    pub fn finish(self) -> Result<(usize, u64), ChainError> {
        for (stream, s) in &self.streams {
            if s.first != 1 {
                return Err(missing(stream, 1, s.first));
            }
            if !s.first_prev.is_empty() {
                return Err(unlinked(stream, 1));
            }
        }
        Ok((self.streams.len(), self.events))
    }
}

/// The `type` of a stored payload, read without building the rest of it.
fn payload_type(payload: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Typed<'a> {
        #[serde(rename = "type", borrow)]
        kind: std::borrow::Cow<'a, str>,
    }
    serde_json::from_str::<Typed<'_>>(payload)
        .ok()
        .map(|t| t.kind.into_owned())
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

    fn stored(e: &RecordedEvent) -> StoredEvent {
        e.clone().map(|event| StoredPayload {
            kind: event.kind().to_owned(),
            payload: serde_json::to_string(&event.to_stored()).unwrap(),
        })
    }

    /// The first problem found when `events` are checked in ranges cut at every place.
    fn chains(events: &[StoredEvent]) -> Vec<Result<(usize, u64), ChainError>> {
        (0..=events.len())
            .map(|cut| {
                let (mut left, mut right) = (Chains::default(), Chains::default());
                for e in &events[..cut] {
                    left.check(e)?;
                }
                for e in &events[cut..] {
                    right.check(e)?;
                }
                left.then(right)?.finish()
            })
            .collect()
    }

    #[test]
    fn chains_checked_in_ranges_find_what_verify_chain_finds() {
        let mut other = chain(3);
        for e in &mut other {
            e.stream.instance = "i-2".into();
        }
        let mut prev = String::new();
        for e in &mut other {
            e.prev_hash = prev;
            e.hash = e.compute_hash();
            prev = e.hash.clone();
        }
        // Two streams interleaved, as positions interleave them.
        let one: Vec<StoredEvent> = chain(5).iter().map(stored).collect();
        let two: Vec<StoredEvent> = other.iter().map(stored).collect();
        let mixed = vec![
            one[0].clone(),
            two[0].clone(),
            one[1].clone(),
            one[2].clone(),
            two[1].clone(),
            one[3].clone(),
            two[2].clone(),
            one[4].clone(),
        ];
        assert!(chains(&mixed).iter().all(|r| *r == Ok((2, 8))));

        let version_of = |events: &[StoredEvent]| -> Vec<u64> {
            chains(events)
                .into_iter()
                .map(|r| r.unwrap_err().version)
                .collect()
        };
        // A changed byte of a payload, even one that decodes the same.
        let mut altered = one.clone();
        altered[2].event.payload = altered[2].event.payload.replace(':', ": ");
        assert!(version_of(&altered).iter().all(|&v| v == 3));
        // A type column that is not the payload's (the column is outside the hash).
        let mut retyped = one.clone();
        retyped[1].event.kind = "InstanceCancelled".into();
        assert!(version_of(&retyped).iter().all(|&v| v == 2));
        // A deleted event, at every cut.
        let mut deleted = one.clone();
        deleted.remove(1);
        assert!(version_of(&deleted).iter().all(|&v| v == 2));
        // Two events swapped: found where the range that holds the later one first sees
        // it out of order.
        let mut swapped = one.clone();
        swapped.swap(2, 3);
        assert!(version_of(&swapped).iter().all(|&v| v == 3 || v == 5));
        // A stream whose first events are gone.
        assert!(version_of(&one[2..]).iter().all(|&v| v == 1));
        // An event rehashed without its link.
        let mut relinked = one.clone();
        relinked[3].prev_hash = "forged".into();
        relinked[3].hash = relinked[3].compute_hash();
        assert!(version_of(&relinked).iter().all(|&v| v == 4 || v == 5));
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
