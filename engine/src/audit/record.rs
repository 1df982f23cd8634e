//! An event as a receipt and an export carry it: every field its hash covers, its payload as the
//! exact text the store holds (the hash covers that text), its place in the agency's tree, and
//! for a receipt the inclusion proof of that place.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::events::{Actor, StoredEvent, StoredPayload, StreamId};

/// An event with everything needed to check it with no database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoggedEvent {
    /// Its leaf in the agency's tree (0 for its first event); none for an event appended
    /// after the tree's last checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf: Option<u64>,
    /// The agency.
    pub agency: String,
    /// The request (instance) id.
    pub instance: String,
    /// Its version in its request, from 1.
    pub version: u64,
    /// Its position across the store.
    pub position: u64,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The workflow that decided it.
    pub workflow: String,
    /// The workflow's version.
    pub workflow_version: u32,
    /// The workflow definition's hash.
    pub definition_hash: String,
    /// Who caused it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub actor: Actor,
    /// The command that caused it.
    pub command_id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its payload, as the exact JSON text stored (and hashed).
    pub payload: String,
    /// The previous event's hash (empty for the first).
    pub prev_hash: String,
    /// Its hash.
    pub hash: String,
    /// In a receipt: the hashes (hex) of its inclusion proof against the receipt's
    /// checkpoint, its sibling first (RFC 9162 §2.1.3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proof: Vec<String>,
}

impl LoggedEvent {
    /// An event as read from the store.
    pub fn new(e: StoredEvent, leaf: Option<u64>) -> LoggedEvent {
        LoggedEvent {
            leaf,
            agency: e.stream.agency,
            instance: e.stream.instance,
            version: e.version,
            position: e.position,
            recorded_at: e.recorded_at,
            workflow: e.workflow,
            workflow_version: e.workflow_version,
            definition_hash: e.definition_hash,
            actor: e.actor,
            command_id: e.command_id,
            kind: e.event.kind,
            payload: e.event.payload,
            prev_hash: e.prev_hash,
            hash: e.hash,
            proof: Vec::new(),
        }
    }

    /// Back to the form the chain check reads.
    pub fn stored(self) -> StoredEvent {
        StoredEvent {
            stream: StreamId {
                agency: self.agency,
                instance: self.instance,
            },
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
            event: StoredPayload {
                kind: self.kind,
                payload: self.payload,
            },
        }
    }
}
