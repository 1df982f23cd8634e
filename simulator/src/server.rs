//! The HTTP surface: agency inquiries (`/agencies/{connector}/{operation}`), fault injection,
//! idempotency, callback delivery, and the `/__sim` introspection routes.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::RngExt;
use serde_json::{Map, Value, json};

use crate::agencies::{self, Answer};
use crate::journal::{CallbackRecord, Effect, RequestRecord};
use crate::{Config, Simulator, gateways, lock};

/// The agencies' own clock: Tehran time (+03:30), RFC 3339.
pub fn agency_now() -> String {
    let tehran = chrono::FixedOffset::east_opt(12_600).expect("valid offset");
    chrono::Utc::now()
        .with_timezone(&tehran)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

/// Every route.
pub fn router(sim: Simulator) -> Router {
    Router::new()
        .route("/agencies/{connector}/{operation}", post(inquiry))
        .route("/sms/send", post(gateways::sms_send))
        .route("/sms/status/{reference}", get(gateways::sms_status))
        .route("/payments", post(gateways::payment_create))
        .route("/payments/{reference}", get(gateways::payment_status))
        .route("/pay/{payment_id}", get(gateways::pay_page))
        .route("/__sim/requests", get(sim_requests))
        .route("/__sim/effects", get(sim_effects))
        .route("/__sim/callbacks", get(sim_callbacks))
        .route("/__sim/sms", get(sim_sms))
        .route("/__sim/payments", get(sim_payments))
        .route("/__sim/reset", post(sim_reset))
        .route("/__sim/config", get(sim_config).put(sim_put_config))
        .with_state(sim)
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

async fn inquiry(
    State(sim): State<Simulator>,
    Path((connector, operation)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let path = format!("/agencies/{connector}/{operation}");
    let parsed: Option<Map<String, Value>> = serde_json::from_slice(&raw).ok();
    let logged = parsed.clone().map_or_else(
        || Value::String(String::from_utf8_lossy(&raw).into()),
        Value::Object,
    );
    let at = record(
        &sim,
        &path,
        Some((&connector, &operation)),
        &headers,
        &logged,
    );
    let bad = |status: StatusCode, detail: String| {
        sim.journal().answered(at, status.as_u16(), None, false);
        problem(status, detail)
    };
    let Some(op) = sim
        .inner
        .catalog
        .connectors
        .get(&connector)
        .and_then(|c| c.operations.get(&operation))
        .cloned()
    else {
        return bad(
            StatusCode::NOT_FOUND,
            format!("no operation {connector}.{operation}"),
        );
    };
    let Some(body) = parsed else {
        return bad(
            StatusCode::BAD_REQUEST,
            "the body is not a JSON object".into(),
        );
    };
    let missing: Vec<&String> = op
        .input
        .iter()
        .filter(|f| body.get(*f).is_none_or(Value::is_null))
        .collect();
    if !missing.is_empty() {
        return bad(
            StatusCode::BAD_REQUEST,
            format!("missing input fields: {missing:?}"),
        );
    }
    let Some(key) = header_text(&headers, "idempotency-key") else {
        return bad(
            StatusCode::BAD_REQUEST,
            "the Idempotency-Key header is required".into(),
        );
    };
    let callback_url = header_text(&headers, "x-callback-url");
    let callback_token = header_text(&headers, "x-callback-token");
    if op.callback && callback_url.is_none() {
        return bad(
            StatusCode::BAD_REQUEST,
            "this operation answers by callback: X-Callback-Url is required".into(),
        );
    }
    let fault = draw_fault(&sim, &connector).await;
    if fault == Fault::Error {
        return {
            sim.journal().answered(at, 503, fault.name(), false);
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{connector} is unavailable"),
            )
        };
    }
    let id = (connector.clone(), operation.clone(), key.clone());
    let (effect, replayed, schedule) = {
        let mut j = sim.journal();
        if let Some(&i) = j.effect_index.get(&id) {
            let e = j.effects[i].clone();
            let again = e.callback.as_deref() == Some("failed");
            if again {
                j.effects[i].callback = Some("pending".into());
            }
            (e, true, again)
        } else {
            let (status, mut answer) =
                match agencies::answer(&sim.inner.seed, &mut j, &connector, &operation, &body) {
                    Answer::Ok(v) => (200, v),
                    Answer::NotFound(d) => (404, json!({ "detail": d })),
                };
            if status == 200 {
                answer["timestamp"] = json!(agency_now());
            }
            let silent = op.callback && agencies::withheld(&sim.inner.seed, &connector, &body);
            let callback = op
                .callback
                .then(|| if silent { "withheld" } else { "pending" }.to_string());
            let e = Effect {
                connector: connector.clone(),
                operation: operation.clone(),
                idempotency_key: key.clone(),
                status,
                answer,
                callback,
            };
            j.effects.push(e.clone());
            let i = j.effects.len() - 1;
            j.effect_index.insert(id.clone(), i);
            let schedule = op.callback && !silent;
            (e, false, schedule)
        }
    };
    let status = StatusCode::from_u16(effect.status).unwrap_or(StatusCode::OK);
    if !op.callback || !status.is_success() {
        return deliver(&sim, at, fault, replayed, status, effect.answer).await;
    }
    if schedule && let Some(url) = callback_url {
        let delay = Duration::from_millis(sim.config().faults(&connector).callback_delay_ms);
        let sim2 = sim.clone();
        tokio::spawn(async move {
            let ok = post_callback(&sim2, &url, &key, callback_token, effect.answer, delay).await;
            let mut j = sim2.journal();
            if let Some(&i) = j.effect_index.get(&id) {
                j.effects[i].callback = Some(if ok { "delivered" } else { "failed" }.into());
            }
        });
    }
    deliver(
        &sim,
        at,
        fault,
        replayed,
        StatusCode::ACCEPTED,
        json!({ "accepted": true }),
    )
    .await
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

async fn sim_requests(State(sim): State<Simulator>) -> Response {
    axum::Json(json!(sim.journal().requests)).into_response()
}

async fn sim_effects(State(sim): State<Simulator>) -> Response {
    axum::Json(json!(sim.journal().effects)).into_response()
}

async fn sim_callbacks(State(sim): State<Simulator>) -> Response {
    axum::Json(json!(sim.journal().callbacks)).into_response()
}

async fn sim_sms(State(sim): State<Simulator>) -> Response {
    axum::Json(json!(sim.journal().sms)).into_response()
}

async fn sim_payments(State(sim): State<Simulator>) -> Response {
    axum::Json(json!(sim.journal().payments)).into_response()
}

async fn sim_reset(State(sim): State<Simulator>) -> Response {
    sim.reset();
    axum::Json(json!({ "reset": true })).into_response()
}

async fn sim_config(State(sim): State<Simulator>) -> Response {
    axum::Json(sim.config()).into_response()
}

async fn sim_put_config(State(sim): State<Simulator>, raw: Bytes) -> Response {
    match serde_json::from_slice::<Config>(&raw) {
        Ok(c) => {
            sim.set_config(c);
            axum::Json(sim.config()).into_response()
        }
        Err(e) => problem(StatusCode::BAD_REQUEST, e.to_string()),
    }
}
