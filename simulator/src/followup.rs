//! The national follow-up system (Rasad, the national service window) as daftar's subscribers
//! see it: `POST /followup/events` receives CloudEvents signed as Standard Webhooks, and checks
//! the signature when it was given the subscription's secret. It can fail on demand: told to
//! fail the next N deliveries (`PUT /__sim/followup {"fail_next": N}`), it answers them 503.
//! `GET /__sim/followup` lists every delivery received, and the events once each by id, as a
//! receiver that drops repeats would keep them.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Simulator;
use crate::toolkit::problem;

/// What the follow-up system has been told and has received.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Followup {
    /// The Standard Webhooks secret it checks signatures with, if any.
    #[serde(skip)]
    pub secret: Option<String>,
    /// How many more deliveries it refuses with 503.
    pub fail_next: u32,
    /// Every delivery received, refused ones included, in order.
    pub received: Vec<Received>,
}

/// One delivery.
#[derive(Clone, Debug, Serialize)]
pub struct Received {
    /// The CloudEvent's id.
    pub id: Option<String>,
    /// The status answered.
    pub status: u16,
    /// The CloudEvent, as received.
    pub event: Value,
}

/// What `PUT /__sim/followup` sets.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub secret: Option<String>,
    #[serde(default)]
    pub fail_next: u32,
}

/// `POST /followup/events`.
pub async fn receive(State(sim): State<Simulator>, headers: HeaderMap, body: Bytes) -> Response {
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = event["id"].as_str().map(str::to_owned);
    let mut journal = sim.journal();
    let f = &mut journal.followup;
    let verdict = if let Some(secret) = &f.secret {
        match standardwebhooks::Webhook::new(secret).map(|w| w.verify(&body, &headers)) {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some((StatusCode::UNAUTHORIZED, format!("bad signature: {e}"))),
            Err(e) => Some((
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("bad secret: {e}"),
            )),
        }
    } else {
        None
    };
    let verdict = verdict.or_else(|| {
        (f.fail_next > 0).then(|| {
            f.fail_next -= 1;
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "failing on demand".to_owned(),
            )
        })
    });
    let status = verdict.as_ref().map_or(StatusCode::NO_CONTENT, |(s, _)| *s);
    f.received.push(Received {
        id,
        status: status.as_u16(),
        event,
    });
    match verdict {
        Some((status, why)) => problem(status, why),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// `GET /__sim/followup`.
pub async fn inspect(State(sim): State<Simulator>) -> Response {
    let journal = sim.journal();
    let f = &journal.followup;
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<&Value> = f
        .received
        .iter()
        .filter(|r| r.status < 300)
        .filter(|r| r.id.as_ref().is_none_or(|id| seen.insert(id.clone())))
        .map(|r| &r.event)
        .collect();
    axum::Json(json!({"fail_next": f.fail_next, "received": f.received, "events": unique}))
        .into_response()
}

/// `PUT /__sim/followup`.
pub async fn configure(State(sim): State<Simulator>, raw: Bytes) -> Response {
    match serde_json::from_slice::<Settings>(&raw) {
        Ok(s) => {
            let mut journal = sim.journal();
            journal.followup.secret = s.secret;
            journal.followup.fail_next = s.fail_next;
            axum::Json(json!({"fail_next": s.fail_next})).into_response()
        }
        Err(e) => problem(StatusCode::BAD_REQUEST, e.to_string()),
    }
}
