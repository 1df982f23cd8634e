//! One command of an instance at a time on this node: a second one (the other answer of a
//! parallel step, say) waits for the first to be durable and decides on the state it left,
//! instead of conflicting and reading the stream again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::events::StreamId;

/// Whose turn it is to decide a command, per instance with commands under way.
#[derive(Debug, Default)]
pub(crate) struct Turns {
    waiting: Mutex<HashMap<StreamId, Arc<tokio::sync::Mutex<()>>>>,
}

/// A command's turn on its instance; the instance's entry goes once nobody waits for it.
pub(crate) struct Turn<'a> {
    turns: &'a Turns,
    stream: StreamId,
    lock: Arc<tokio::sync::Mutex<()>>,
    held: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Turns {
    /// Waits for this node's turn to decide and commit a command of `stream`.
    pub(crate) async fn take(&self, stream: &StreamId) -> Turn<'_> {
        let lock = self
            .waiting
            .lock()
            .expect("lock")
            .entry(stream.clone())
            .or_default()
            .clone();
        let held = lock.clone().lock_owned().await;
        Turn {
            turns: self,
            stream: stream.clone(),
            lock,
            held: Some(held),
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.held = None;
        let mut waiting = self.turns.waiting.lock().expect("lock");
        // The map's handle and this one: nobody else waits.
        if Arc::strong_count(&self.lock) == 2 {
            waiting.remove(&self.stream);
        }
    }
}
