//! The commit feed: every commit of this node that appended events, as soon as it is durable,
//! for whoever listens (file-and-wait answers, live views, load generators). Nothing is built
//! while nobody listens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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

/// How many commits of its instance a listener may fall behind.
const LISTENER_BUFFER: usize = 64;

/// The listeners of each instance that has some.
type Listeners = Arc<Mutex<HashMap<StreamId, broadcast::Sender<Arc<Appended>>>>>;

/// The sending end of the feed.
#[derive(Debug)]
pub(crate) struct Feed {
    sender: broadcast::Sender<Arc<Appended>>,
    listeners: Listeners,
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            sender: broadcast::channel(SUBSCRIBER_BUFFER).0,
            listeners: Listeners::default(),
        }
    }
}

/// What one instance's commits append, for a caller waiting on that instance alone (a
/// file-and-wait answer, a watch): it is woken by that instance's commits only, where a
/// subscriber of the whole feed is woken by every commit of the node. Its entry goes with the
/// last listener of the instance.
#[derive(Debug)]
pub struct Listener {
    receiver: broadcast::Receiver<Arc<Appended>>,
    stream: StreamId,
    listeners: Listeners,
}

impl Listener {
    /// The next commit of the instance; `Lagged` when the listener fell behind and missed
    /// some (read the state again), never `Closed` while the engine lives.
    pub async fn recv(&mut self) -> Result<Arc<Appended>, broadcast::error::RecvError> {
        self.receiver.recv().await
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let mut listeners = self.listeners.lock().expect("lock");
        // This listener's receiver is the only one left.
        if listeners
            .get(&self.stream)
            .is_some_and(|s| s.receiver_count() == 1)
        {
            listeners.remove(&self.stream);
        }
    }
}

impl Feed {
    /// A new listener, from the next commit on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Appended>> {
        self.sender.subscribe()
    }

    /// A listener of one instance's commits, from the next one on.
    pub(crate) fn listen(&self, stream: &StreamId) -> Listener {
        let receiver = self
            .listeners
            .lock()
            .expect("lock")
            .entry(stream.clone())
            .or_insert_with(|| broadcast::channel(LISTENER_BUFFER).0)
            .subscribe();
        Listener {
            receiver,
            stream: stream.clone(),
            listeners: self.listeners.clone(),
        }
    }

    /// Tells the subscribers and the instance's listeners, if there are any, what a durable
    /// commit appended.
    pub(crate) fn publish(
        &self,
        stream: &StreamId,
        version: u64,
        events: &[Event],
        command_id: &str,
        actor: &Actor,
    ) {
        if events.is_empty() {
            return;
        }
        let listener = self.listeners.lock().expect("lock").get(stream).cloned();
        if listener.is_none() && self.sender.receiver_count() == 0 {
            return;
        }
        let appended = Arc::new(Appended {
            stream: stream.clone(),
            version,
            events: events.to_vec(),
            command_id: command_id.to_owned(),
            actor: actor.clone(),
            at: std::time::Instant::now(),
        });
        if let Some(listener) = listener {
            let _ = listener.send(appended.clone());
        }
        if self.sender.receiver_count() > 0 {
            let _ = self.sender.send(appended);
        }
    }
}
