//! Watch a request: `GET /api/v1/requests/{id}/events` as Server-Sent Events, so a portal or
//! the desk hears each public milestone as it is committed instead of polling.
//!
//! The stream opens with a `state` event (where the request stands now), then sends `status`
//! (a public status entered), `task` (a task opened for an officer), `payment` (a payment
//! link to follow), `incident` (the request stopped for an operator) and `ended` (its outcome;
//! the stream then closes). Each event's `id` is the version of the request's stream that
//! produced it: a client that reconnects with `Last-Event-ID` gets every milestone after that
//! version from the stored history, then the live ones, with nothing missed or repeated.
//! The agency's officers and auditors may watch any of its requests; a citizen the ones they
//! filed.
//!
//! The live milestones come from this node's commit feed (subscribed before the history is
//! read, so nothing falls between). Commits made by another node of a shared store are not on
//! this node's feed: the history is read again every few seconds for them.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{Event as Sse, KeepAlive};
use axum::routing::get;
use daftar_engine::core::InstanceState;
use daftar_engine::definition::Definition;
use daftar_engine::events::{Event, RecordedEvent, StreamId};
use daftar_engine::runtime::Listener;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use utoipa::OpenApi;

use crate::auth::Principal;
use crate::lookup::RequestPath;
use crate::openapi::NeedsToken;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(paths(watch), modifiers(&NeedsToken))]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/requests/{id}/events", get(watch))
}

/// How often the stored history is read again for commits of other nodes.
const RESYNC: Duration = Duration::from_secs(5);

/// How many milestones may wait for a slow client before the stream stops reading.
const BUFFER: usize = 64;

/// Watch a request's public milestones as Server-Sent Events.
#[utoipa::path(
    get, path = "/api/v1/requests/{id}/events", tag = "requests",
    params(
        RequestPath,
        ("Last-Event-ID" = Option<u64>, Header, description = "The `id` of the last event received: resume after it"),
    ),
    responses(
        (status = 200, content_type = "text/event-stream", description = "`state`, then `status`, `task`, `payment`, `incident` and `ended` events as they happen; each `id` is the stream version that produced it"),
        (status = 400, description = "`Last-Event-ID` is not a version", body = crate::problem::Problem),
        (status = 404, description = "No such request in your agency", body = crate::problem::Problem),
    ),
)]
pub async fn watch(
    State(state): State<AppState>,
    who: Principal,
    Path(RequestPath { id }): Path<RequestPath>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let after = last_event_id(&headers)?;
    let stream = crate::lookup::find_request(&state, &who, &id).await?;
    // Listening before the history is read: a commit made in between is heard.
    let feed = state.engine().listen(&stream);
    let history = state.engine().store().load(&stream).await?;
    // Who may watch is decided on the history just read: one read of the stream, not two.
    let s = InstanceState::fold(history.iter().map(|e| &e.event));
    crate::views::may_read(&who, &s, &id)?;
    let (tx, rx) = mpsc::channel(BUFFER);
    tokio::spawn(follow(state, stream, feed, history, s, after, tx));
    Ok(axum::response::Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::default()))
}

/// The version after which to resume, from `Last-Event-ID`.
fn last_event_id(headers: &HeaderMap) -> ApiResult<Option<u64>> {
    let Some(v) = headers.get("last-event-id") else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::new(
                crate::problem::ErrorCode::BadLastEventId,
                "`Last-Event-ID` must be the id of an event of this stream",
            )
        })
}

/// Sends the request's milestones to `tx` until it ends or the client goes away.
async fn follow(
    state: AppState,
    stream: StreamId,
    mut feed: Listener,
    history: Vec<RecordedEvent>,
    s: InstanceState,
    after: Option<u64>,
    tx: mpsc::Sender<Result<Sse, Infallible>>,
) {
    let def = state.engine().definition_of(&s).ok();
    let mut sent = match after {
        Some(v) => v,
        None => {
            let version = s.version;
            if tx.send(Ok(snapshot(def.as_deref(), &s))).await.is_err() {
                return;
            }
            if s.ended() {
                return;
            }
            version
        }
    };
    // The stored milestones after the client's last one.
    let stored = history.iter().map(|e| (e.version, &e.event));
    match send(&tx, def.as_deref(), stored, &mut sent).await {
        Some(false) => {}
        _ => return,
    }
    loop {
        let fresh: Vec<(u64, Event)> = tokio::select! {
            got = feed.recv() => match got {
                Ok(a) => {
                    let first = a.version + 1 - a.events.len() as u64;
                    a.events.iter().cloned().enumerate().map(|(i, e)| (first + i as u64, e)).collect()
                }
                Err(broadcast::error::RecvError::Lagged(_)) => stored_after(&state, &stream, sent).await,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            () = tokio::time::sleep(RESYNC) => stored_after(&state, &stream, sent).await,
            () = tx.closed() => return,
        };
        match send(
            &tx,
            def.as_deref(),
            fresh.iter().map(|(v, e)| (*v, e)),
            &mut sent,
        )
        .await
        {
            Some(false) => {}
            _ => return,
        }
    }
}

/// The stored events of `stream` after version `sent`.
async fn stored_after(state: &AppState, stream: &StreamId, sent: u64) -> Vec<(u64, Event)> {
    match state.engine().store().load(stream).await {
        Ok(history) => history
            .into_iter()
            .filter(|e| e.version > sent)
            .map(|e| (e.version, e.event))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Sends the milestones among `events` after version `sent`; `Some(true)` once the request
/// ended, `None` once the client went away.
async fn send<'a>(
    tx: &mpsc::Sender<Result<Sse, Infallible>>,
    def: Option<&Definition>,
    events: impl Iterator<Item = (u64, &'a Event)>,
    sent: &mut u64,
) -> Option<bool> {
    for (version, event) in events {
        if version <= *sent {
            continue;
        }
        *sent = version;
        let Some((kind, data)) = milestone(def, event) else {
            continue;
        };
        let sse = Sse::default()
            .id(version.to_string())
            .event(kind)
            .data(data.to_string());
        tx.send(Ok(sse)).await.ok()?;
        if kind == "ended" {
            return Some(true);
        }
    }
    Some(false)
}

/// Where the request stands: the first event of a stream opened without `Last-Event-ID`.
fn snapshot(def: Option<&Definition>, s: &InstanceState) -> Sse {
    let label = def.and_then(|d| crate::views::status_label(d, s.status.as_ref()?));
    let data = json!({
        "version": s.version,
        "status": s.status,
        "status_label": label,
        "ended": s.ended(),
        "state": s.ending.as_ref().map_or_else(|| "running".to_owned(), crate::views::outcome),
        "document_id": match &s.ending {
            Some(daftar_engine::core::Ending::Completed { document_id, .. }) => document_id.clone(),
            _ => None,
        },
    });
    Sse::default()
        .id(s.version.to_string())
        .event("state")
        .data(data.to_string())
}

/// The public milestone an event is, if it is one: its SSE event name and data.
fn milestone(def: Option<&Definition>, event: &Event) -> Option<(&'static str, Value)> {
    Some(match event {
        Event::StatusChanged { to, .. } => (
            "status",
            json!({
                "status": to,
                "label": def.and_then(|d| crate::views::status_label(d, to)),
            }),
        ),
        Event::TaskCreated {
            task,
            step,
            role,
            due_at,
            ..
        } => (
            "task",
            json!({ "task": task, "step": step, "role": role, "due_at": due_at }),
        ),
        Event::PaymentOpened { step, url, .. } => ("payment", json!({ "step": step, "url": url })),
        Event::IncidentRaised { incident, step, .. } => {
            ("incident", json!({ "incident": incident, "step": step }))
        }
        Event::InstanceCompleted {
            outcome,
            document_id,
            ..
        } => (
            "ended",
            json!({ "outcome": outcome, "document_id": document_id }),
        ),
        Event::InstanceCancelled { .. } => ("ended", json!({ "outcome": "cancelled" })),
        _ => return None,
    })
}
