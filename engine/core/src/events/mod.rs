//! Events: every state transition of an instance, versioned from day one.
//!
//! An [`Event`] is the payload; [`RecordedEvent`] is what the store keeps around it (stream,
//! version, position, time, definition, actor, command and the hash chain). Payloads are
//! serialized as `{"type": "...", "v": 1, ...}`; when a payload's shape changes, its `v` goes
//! up and [`upcast`] turns every older shape into the current one when it is read, so stored
//! history is never rewritten.

mod envelope;
mod payload;
mod reasons;

pub use envelope::{
    Actor, ChainError, Chains, RecordedEvent, StoredEvent, StoredPayload, StreamId, chain_hash,
    incident_raised, verify_chain,
};
pub use payload::{
    DecisionEvidence, Event, EventKind, InquiryEvidence, NotificationPurpose, Outcome, ParentRef,
    TimerPurpose, upcast,
};
pub use reasons::Sentence;

/// The schema version every payload is written with today.
pub const EVENT_VERSION: u32 = 1;
