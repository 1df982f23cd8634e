//! The states of the instances this node has decided on. A cached state is the fold of its
//! stream up to the version it holds; a command decides on it, and the commit's version fence
//! tells when another node moved the stream on (then the entry is dropped and read again).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::core::InstanceState;
use crate::events::StreamId;

/// Instance states by stream.
#[derive(Debug, Default)]
pub(crate) struct StateCache {
    states: Mutex<HashMap<StreamId, InstanceState>>,
}

impl StateCache {
    /// The cached state of `stream`, if any.
    pub(crate) fn get(&self, stream: &StreamId) -> Option<InstanceState> {
        self.states.lock().expect("lock").get(stream).cloned()
    }

    /// Caches `state` as the state of `stream`.
    pub(crate) fn put(&self, stream: &StreamId, state: InstanceState) {
        self.states
            .lock()
            .expect("lock")
            .insert(stream.clone(), state);
    }

    /// Drops the state of `stream`: the next command reads it from the store.
    pub(crate) fn forget(&self, stream: &StreamId) {
        self.states.lock().expect("lock").remove(stream);
    }

    /// Whether `stream`'s state is cached.
    pub(crate) fn contains(&self, stream: &StreamId) -> bool {
        self.states.lock().expect("lock").contains_key(stream)
    }

    /// The workflow of a cached instance, without copying its state.
    pub(crate) fn workflow(&self, stream: &StreamId) -> Option<String> {
        self.states
            .lock()
            .expect("lock")
            .get(stream)
            .map(|s| s.workflow.clone())
    }
}
