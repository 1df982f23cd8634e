//! What the simulated services share: the agencies' clock, problem answers, the faults drawn
//! for a request, the journal of requests, and callbacks posted back to daftar.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::RngExt;
use serde_json::{Map, Value, json};

use crate::journal::{CallbackRecord, RequestRecord};
use crate::{Simulator, lock};

/// The agencies' own clock: Tehran time (+03:30), RFC 3339.
pub fn agency_now() -> String {
    let tehran = chrono::FixedOffset::east_opt(12_600).expect("valid offset");
    chrono::Utc::now()
        .with_timezone(&tehran)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

/// A JSON problem answer (RFC 9457).
pub fn problem(status: StatusCode, detail: impl Into<String>) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("error"),
        "status": status.as_u16(),
        "detail": detail.into(),
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// The fault drawn for one request, after its latency has been waited out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    None,
    Error,
    Timeout(Duration),
    Malformed,
}

impl Fault {
    pub fn name(self) -> Option<&'static str> {
        match self {
            Fault::None => None,
            Fault::Error => Some("error"),
            Fault::Timeout(_) => Some("timeout"),
            Fault::Malformed => Some("malformed"),
        }
    }
}

/// Waits out `agency`'s latency and draws its fault.
pub async fn draw_fault(sim: &Simulator, agency: &str) -> Fault {
    let f = sim.config().faults(agency);
    let (jitter, roll) = {
        let mut rng = lock(&sim.inner.rng);
        let jitter = if f.jitter_ms > 0 {
            rng.random_range(0..=f.jitter_ms)
        } else {
            0
        };
        (jitter, rng.random::<f64>())
    };
    let wait = f.latency_ms + jitter;
    if wait > 0 {
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
    if roll < f.error_rate {
        Fault::Error
    } else if roll < f.error_rate + f.timeout_rate {
        Fault::Timeout(Duration::from_millis(f.timeout_ms))
    } else if roll < f.error_rate + f.timeout_rate + f.malformed_rate {
        Fault::Malformed
    } else {
        Fault::None
    }
}

/// Records a request and returns its index in the journal.
pub fn record(
    sim: &Simulator,
    path: &str,
    target: Option<(&str, &str)>,
    headers: &HeaderMap,
    body: &Value,
) -> usize {
    sim.journal().record(RequestRecord {
        seq: 0,
        at: agency_now(),
        method: "POST".into(),
        path: path.into(),
        connector: target.map(|t| t.0.to_string()),
        operation: target.map(|t| t.1.to_string()),
        idempotency_key: header_text(headers, "idempotency-key"),
        body: body.clone(),
        status: None,
        fault: None,
        replayed: false,
    })
}

pub fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Sends a processed answer through the drawn fault: a hang first, or garbled JSON.
pub async fn deliver(
    sim: &Simulator,
    at: usize,
    fault: Fault,
    replayed: bool,
    status: StatusCode,
    body: Value,
) -> Response {
    let code = if fault == Fault::Malformed {
        200
    } else {
        status.as_u16()
    };
    sim.journal().answered(at, code, fault.name(), replayed);
    match fault {
        Fault::Timeout(d) => tokio::time::sleep(d).await,
        Fault::Malformed => {
            let text = body.to_string();
            let half = text
                .char_indices()
                .nth(text.chars().count() / 2)
                .map_or(0, |(i, _)| i);
            let cut = &text[..half];
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                format!("{cut}<!-- gateway error"),
            )
                .into_response();
        }
        _ => {}
    }
    if status.is_success() {
        (status, axum::Json(body)).into_response()
    } else {
        let detail = body["detail"].as_str().unwrap_or_default().to_string();
        problem(status, detail)
    }
}

/// A request received: its body when it is a JSON object (logged as `null` when it is not),
/// and its index in the journal.
pub fn receive(
    sim: &Simulator,
    path: &str,
    target: (&str, &str),
    headers: &HeaderMap,
    raw: &Bytes,
) -> (usize, Option<Map<String, Value>>) {
    let parsed: Option<Map<String, Value>> = serde_json::from_slice(raw).ok();
    let logged = parsed.clone().map_or(Value::Null, Value::Object);
    (record(sim, path, Some(target), headers, &logged), parsed)
}

/// Answers the request journalled at `at` with a problem, before any fault is drawn.
pub fn refuse(
    sim: &Simulator,
    at: usize,
    status: StatusCode,
    detail: impl Into<String>,
) -> Response {
    sim.journal().answered(at, status.as_u16(), None, false);
    problem(status, detail)
}

/// Answers the request journalled at `at` with the 503 of a drawn [`Fault::Error`].
pub fn unavailable(sim: &Simulator, at: usize, detail: impl Into<String>) -> Response {
    sim.journal().answered(at, 503, Fault::Error.name(), false);
    problem(StatusCode::SERVICE_UNAVAILABLE, detail)
}

/// Posts `body` to `url` after `delay`, retrying five times with backoff; whether it landed.
/// The `X-Callback-Token` the request came with goes back with it, as daftar requires.
pub async fn post_callback(
    sim: &Simulator,
    url: &str,
    key: &str,
    token: Option<String>,
    body: Value,
    delay: Duration,
) -> bool {
    tokio::time::sleep(delay).await;
    let index = {
        let mut j = sim.journal();
        j.callbacks.push(CallbackRecord {
            url: url.into(),
            idempotency_key: key.into(),
            body: body.clone(),
            attempts: 0,
            delivered: false,
        });
        j.callbacks.len() - 1
    };
    for attempt in 0..5u32 {
        let mut request = sim
            .inner
            .http
            .post(url)
            .header("Idempotency-Key", key)
            .json(&body);
        if let Some(token) = sim.callback_token() {
            request = request.bearer_auth(token);
        }
        if let Some(token) = &token {
            request = request.header("X-Callback-Token", token);
        }
        let sent = request.send().await;
        let ok = sent.is_ok_and(|r| r.status().is_success());
        {
            let mut j = sim.journal();
            j.callbacks[index].attempts = attempt + 1;
            j.callbacks[index].delivered = ok;
        }
        if ok {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
    }
    tracing::warn!(url, key, "callback not delivered after 5 attempts");
    false
}
