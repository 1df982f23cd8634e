//! Status changes pushed to national follow-up systems (Rasad, the national service window) as
//! CloudEvents 1.0 in JSON, signed as Standard Webhooks.
//!
//! The events table is the outbox: a request's filing, each change of its public status, its
//! end, and the revocation of the document it issued are events written in the same commit as the transition. Each subscription keeps a
//! position in the log; this loop reads the events after it, POSTs the ones the subscription
//! wants in log order (so in order per request), and moves the position past what was
//! delivered. A receiver that fails (a 5xx, a timeout, a refused connection) holds back its own
//! subscription only, with a backoff from 1 s doubling to 5 min; the requests go on. Every
//! attempt is logged.
//!
//! Delivery is at least once: a node that stops between a receiver's 2xx and moving the
//! position sends that event again after it restarts, with the same `id` (and the same
//! `webhook-id`), which is how a receiver drops the repeat. Several nodes on one store each
//! run this loop, but a subscription is delivered by one node at a time, the one holding its
//! lease (at most 30 s, renewed while it delivers; a node that stops leaves it to another once
//! it runs out), and its position moves only from where that node found it, so a replay made
//! meanwhile is not overwritten.
//!
//! Events are built by the official CloudEvents SDK (`cloudevents-sdk`) and signed by the
//! Standard Webhooks library (`standardwebhooks`): `webhook-id`, `webhook-timestamp`, and
//! `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use cloudevents::{EventBuilder, EventBuilderV10};
use serde_json::{Value, json};

use super::Engine;
use crate::events::{Event, RecordedEvent};
use crate::store::{DeliveryAttempt, Subscription};

/// The CloudEvents types daftar sends.
pub const TYPES: [&str; 5] = [FILED, STATUS_CHANGED, COMPLETED, CANCELLED, REVOKED];
/// A request was filed.
pub const FILED: &str = "ir.daftar.request.filed";
/// A request's public status changed.
pub const STATUS_CHANGED: &str = "ir.daftar.request.status_changed";
/// A request ended with an outcome.
pub const COMPLETED: &str = "ir.daftar.request.completed";
/// A request was cancelled.
pub const CANCELLED: &str = "ir.daftar.request.cancelled";
/// The document a request issued was revoked.
pub const REVOKED: &str = "ir.daftar.document.revoked";

/// Events read from the log per subscription and round.
const PAGE: u32 = 200;
/// The longest a receiver may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The longest pause before trying a failing receiver again.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// A failing receiver's pause.
#[derive(Clone, Copy, Debug)]
struct Backoff {
    until: Instant,
    next: Duration,
}

/// The longest a node holds a subscription's lease without renewing it: how long the others
/// wait before taking over from a node that stopped. It is renewed once half of it has passed,
/// so a node that delivers (each attempt within [`TIMEOUT`]) keeps it.
const MAX_LEASE: Duration = Duration::from_secs(30);

/// A subscription's lease as this node holds it.
#[derive(Clone, Copy, Debug)]
struct Lease {
    /// How long it is taken for.
    length: Duration,
    /// When it was taken or last renewed.
    at: Option<Instant>,
}

impl Lease {
    /// Whether it must be renewed before the next delivery.
    fn stale(&self) -> bool {
        self.at.is_none_or(|at| at.elapsed() >= self.length / 2)
    }

    /// Takes or renews it: the subscription's position, or `None` while another node holds
    /// it (or the subscription is gone).
    async fn take(&mut self, engine: &Engine, sub: &Subscription) -> Result<Option<u64>, String> {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(self.length).unwrap_or_default();
        let taken = engine
            .store()
            .lease_subscription(&sub.agency, &sub.id, engine.node(), now, until)
            .await
            .map_err(|e| e.to_string())?;
        self.at = taken.is_some().then(Instant::now);
        Ok(taken)
    }
}

/// Delivers to every subscription until the node stops, looking for new events every `poll`;
/// a subscription another node holds is left to it until its lease (the shorter of `lease`
/// and [`MAX_LEASE`]) runs out.
pub async fn deliver_loop(engine: Arc<Engine>, poll: Duration, lease: Duration) {
    let client = match reqwest::Client::builder().timeout(TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no HTTP client: status changes are not pushed");
            return;
        }
    };
    let length = lease.min(MAX_LEASE);
    let mut backoffs: HashMap<(String, String), Backoff> = HashMap::new();
    let mut leases: HashMap<(String, String), Lease> = HashMap::new();
    loop {
        let subscriptions = match engine.store().subscriptions(None).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the subscriptions");
                Vec::new()
            }
        };
        let mut busy = false;
        for sub in subscriptions {
            let key = (sub.agency.clone(), sub.id.clone());
            if backoffs.get(&key).is_some_and(|b| b.until > Instant::now()) {
                continue;
            }
            let lease = leases
                .entry(key.clone())
                .or_insert(Lease { length, at: None });
            match round(&engine, &client, &sub, lease).await {
                Round::Held => {}
                Round::Idle => {
                    backoffs.remove(&key);
                }
                Round::Moved => {
                    backoffs.remove(&key);
                    busy = true;
                }
                Round::Failed => {
                    let next = backoffs
                        .get(&key)
                        .map_or(Duration::from_secs(1), |b| b.next);
                    backoffs.insert(
                        key,
                        Backoff {
                            until: Instant::now() + next,
                            next: (next * 2).min(MAX_BACKOFF),
                        },
                    );
                }
            }
        }
        if !busy {
            tokio::time::sleep(poll).await;
        }
    }
}

/// What one round of a subscription did.
#[derive(Debug, PartialEq, Eq)]
enum Round {
    /// Another node holds it.
    Held,
    /// Nothing new in the log.
    Idle,
    /// Its position moved.
    Moved,
    /// A delivery failed; its position stays before that event.
    Failed,
}

async fn round(
    engine: &Engine,
    client: &reqwest::Client,
    sub: &Subscription,
    lease: &mut Lease,
) -> Round {
    let store = engine.store();
    // Where this node finds it: as just read, or as the lease, taken again, tells.
    let from = if lease.stale() {
        match lease.take(engine, sub).await {
            Ok(Some(position)) => position,
            Ok(None) => return Round::Held,
            Err(e) => {
                tracing::warn!(error = %e, subscription = %sub.id, "cannot lease a subscription");
                return Round::Failed;
            }
        }
    } else {
        sub.position
    };
    let events = match store.read_all(from, PAGE).await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the log for a subscription");
            return Round::Failed;
        }
    };
    if events.is_empty() {
        return Round::Idle;
    }
    let mut done = from;
    let mut failed = false;
    let mut held = false;
    // A request's tracking code, read once per round however many of its events go out.
    let mut codes: HashMap<String, Option<String>> = HashMap::new();
    for recorded in &events {
        if let Some(kind) = wanted(sub, recorded) {
            if lease.stale() {
                match lease.take(engine, sub).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        held = true;
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, subscription = %sub.id, "cannot renew a subscription's lease");
                        failed = true;
                        break;
                    }
                }
            }
            let code = match codes.get(&recorded.stream.instance) {
                Some(code) => code.clone(),
                None => {
                    let code = match store.instance(&recorded.stream).await {
                        Ok(Some(row)) => Some(row.tracking_code),
                        _ => None,
                    };
                    codes.insert(recorded.stream.instance.clone(), code.clone());
                    code
                }
            };
            let body = cloud_event(engine, recorded, kind, code);
            if !send(engine, client, sub, recorded, &body).await {
                failed = true;
                break;
            }
        }
        done = recorded.position;
    }
    if done > from {
        match store
            .advance_subscription(&sub.agency, &sub.id, engine.node(), from, done)
            .await
        {
            Ok(true) => {}
            // Replayed meanwhile, or taken over: the next round starts from where it is now.
            Ok(false) => {
                lease.at = None;
                return Round::Moved;
            }
            Err(e) => {
                tracing::warn!(error = %e, subscription = %sub.id, "cannot move a subscription on");
                return Round::Failed;
            }
        }
    }
    if failed {
        Round::Failed
    } else if held {
        Round::Held
    } else if done > from {
        Round::Moved
    } else {
        Round::Idle
    }
}

/// The CloudEvents type of an event, when `sub` wants it.
fn wanted(sub: &Subscription, e: &RecordedEvent) -> Option<&'static str> {
    if e.stream.agency != sub.agency {
        return None;
    }
    if !sub.services.is_empty() && !sub.services.contains(&e.workflow) {
        return None;
    }
    let kind = kind(&e.event)?;
    (sub.types.is_empty() || sub.types.iter().any(|t| t == kind)).then_some(kind)
}

/// The CloudEvents type of an event daftar pushes; none for the others.
pub fn kind(event: &Event) -> Option<&'static str> {
    match event {
        Event::InstanceStarted { .. } => Some(FILED),
        Event::StatusChanged { .. } => Some(STATUS_CHANGED),
        Event::InstanceCompleted { .. } => Some(COMPLETED),
        Event::InstanceCancelled { .. } => Some(CANCELLED),
        Event::DocumentRevoked { .. } => Some(REVOKED),
        _ => None,
    }
}

/// The id of the CloudEvent of a recorded event: the same on every attempt and every node.
pub fn event_id(e: &RecordedEvent) -> String {
    format!("{}/{}/{}", e.stream.agency, e.stream.instance, e.version)
}

/// The event as a CloudEvent in the JSON format. Its data names the request, its service,
/// its tracking code and what changed; never the applicant's national ID or mobile number.
fn cloud_event(
    engine: &Engine,
    e: &RecordedEvent,
    kind: &str,
    tracking_code: Option<String>,
) -> String {
    let label = |status: &str| -> Value {
        let labels = engine
            .registry()
            .by_hash(&e.definition_hash)
            .and_then(|d| d.compiled().workflow().statuses.get(status).cloned());
        match labels {
            Some(s) => json!({"id": status, "fa": s.fa, "en": s.en}),
            None => json!({"id": status}),
        }
    };
    let mut data = json!({
        "request": e.stream.instance,
        "tracking_code": tracking_code,
        "service": e.workflow,
        "service_version": e.workflow_version,
        "position": e.position,
    });
    match &e.event {
        Event::StatusChanged { from, to } => {
            data["status"] = label(to);
            data["previous_status"] = from.as_deref().map_or(Value::Null, label);
        }
        Event::InstanceCompleted {
            outcome,
            document_id,
            ..
        } => {
            data["outcome"] = json!(outcome.as_str());
            data["document_id"] = json!(document_id);
        }
        Event::InstanceCancelled { reason } => data["reason"] = json!(reason),
        // Who revoked it is the agency's business: the receiver gets what and why.
        Event::DocumentRevoked {
            document_id,
            reason,
            at,
            ..
        } => {
            data["document_id"] = json!(document_id);
            data["reason"] = json!(reason);
            data["revoked_at"] = json!(at);
        }
        _ => {}
    }
    let event = EventBuilderV10::new()
        .id(event_id(e))
        .source(format!("urn:daftar:{}:{}", e.stream.agency, e.workflow))
        .ty(kind)
        .subject(e.stream.instance.clone())
        .time(e.recorded_at)
        .data("application/json", data)
        .build();
    match event {
        Ok(event) => serde_json::to_string(&event).unwrap_or_default(),
        Err(err) => {
            tracing::error!(error = %err, "a CloudEvent could not be built");
            String::new()
        }
    }
}

/// POSTs one event, signed; logs the attempt; whether the receiver took it (2xx).
async fn send(
    engine: &Engine,
    client: &reqwest::Client,
    sub: &Subscription,
    e: &RecordedEvent,
    body: &str,
) -> bool {
    let id = event_id(e);
    let now = Utc::now();
    let outcome = match standardwebhooks::Webhook::new(&sub.secret) {
        Err(err) => Err(format!("the subscription's secret cannot sign: {err}")),
        Ok(webhook) => match webhook.sign(&id, now.timestamp(), body.as_bytes()) {
            Err(err) => Err(format!("signing failed: {err}")),
            Ok(signature) => client
                .post(&sub.url)
                .header(
                    "content-type",
                    "application/cloudevents+json; charset=utf-8",
                )
                .header(standardwebhooks::HEADER_WEBHOOK_ID, &id)
                .header(standardwebhooks::HEADER_WEBHOOK_TIMESTAMP, now.timestamp())
                .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature)
                .body(body.to_owned())
                .send()
                .await
                .map_err(|err| format!("no answer: {err}")),
        },
    };
    let (status, error, ok) = match outcome {
        Ok(res) => {
            let status = res.status();
            let ok = status.is_success();
            let error = (!ok).then(|| format!("the receiver answered {status}"));
            (Some(status.as_u16()), error, ok)
        }
        Err(error) => (None, Some(error), false),
    };
    let attempt = DeliveryAttempt {
        position: e.position,
        event_id: id,
        at: now,
        status,
        error,
    };
    if let Err(err) = engine
        .store()
        .log_delivery(&sub.agency, &sub.id, &attempt)
        .await
    {
        tracing::warn!(error = %err, "a delivery attempt could not be logged");
    }
    ok
}

/// A new subscription id: `sub-` and 16 random hex digits.
pub fn new_id() -> String {
    format!("sub-{:016x}", rand::random::<u64>())
}

/// A new Standard Webhooks secret: `whsec_` and 24 random bytes in base64.
pub fn new_secret() -> String {
    use base64::Engine as _;
    let bytes: [u8; 24] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Why a subscription cannot be kept as asked, if it cannot: its URL must be `http` or
/// `https` with a host, its types daftar's, and its secret one Standard Webhooks can sign with.
pub fn check(url: &str, types: &[String], secret: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("`url` is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err("`url` must be an http or https URL with a host".to_owned());
    }
    if let Some(t) = types.iter().find(|t| !TYPES.contains(&t.as_str())) {
        return Err(format!(
            "`{t}` is not a type daftar sends; it sends {}",
            TYPES.join(", ")
        ));
    }
    standardwebhooks::Webhook::new(secret)
        .map(|_| ())
        .map_err(|_| "`secret` must be `whsec_` followed by base64".to_owned())
}
