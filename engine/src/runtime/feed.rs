//! The commit feed: every commit of this node that appended events, as soon as it is durable,
//! for whoever listens (file-and-wait answers, live views, load generators). Nothing is built
//! while nobody listens.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::events::{Actor, Event, StreamId};

/// How many commits a subscriber may fall behind before it misses some (and is told so).
const SUBSCRIBER_BUFFER: usize = 1 << 16;

/// What one command appended to an instance, as [`super::Engine::subscribe`] tells it.
#[derive(Clone, Debug, PartialEq)]
pub struct Appended {
    /// The instance.
    pub stream: StreamId,
    /// Its stream version after the commit.
    pub version: u64,
    /// The events the commit appended, in order.
    pub events: Vec<Event>,
    /// The command's id.
    pub command_id: String,
    /// Who sent the command.
    pub actor: Actor,
    /// When this node learnt that the commit was durable (its monotonic clock).
    pub at: std::time::Instant,
}

/// The sending end of the feed.
#[derive(Debug)]
pub(crate) struct Feed {
    sender: broadcast::Sender<Arc<Appended>>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            sender: broadcast::channel(SUBSCRIBER_BUFFER).0,
        }
    }
}

impl Feed {
    /// A new listener, from the next commit on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Appended>> {
        self.sender.subscribe()
    }

    /// Tells the listeners, if there are any, what a durable commit appended.
    pub(crate) fn publish(
        &self,
        stream: &StreamId,
        version: u64,
        events: &[Event],
        command_id: &str,
        actor: &Actor,
    ) {
        if events.is_empty() || self.sender.receiver_count() == 0 {
            return;
        }
        let _ = self.sender.send(Arc::new(Appended {
            stream: stream.clone(),
            version,
            events: events.to_vec(),
            command_id: command_id.to_owned(),
            actor: actor.clone(),
            at: std::time::Instant::now(),
        }));
    }
}
