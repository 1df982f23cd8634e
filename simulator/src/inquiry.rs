//! The agencies' inquiries: `POST /agencies/{connector}/{operation}`, answered from the seed
//! (or by callback), through the faults configured for the agency, once per idempotency key.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::Simulator;
use crate::agencies::{self, Answer};
use crate::journal::Effect;
use crate::toolkit::{
    Fault, agency_now, deliver, draw_fault, header_text, post_callback, record, refuse, unavailable,
};

/// An agency's answer to an inquiry.
pub async fn inquiry(
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
    let Some(op) = sim
        .inner
        .catalog
        .connectors
        .get(&connector)
        .and_then(|c| c.operations.get(&operation))
        .cloned()
    else {
        return refuse(
            &sim,
            at,
            StatusCode::NOT_FOUND,
            format!("no operation {connector}.{operation}"),
        );
    };
    let Some(body) = parsed else {
        return refuse(
            &sim,
            at,
            StatusCode::BAD_REQUEST,
            "the body is not a JSON object",
        );
    };
    let missing: Vec<&String> = op
        .input
        .iter()
        .filter(|f| body.get(*f).is_none_or(Value::is_null))
        .collect();
    if !missing.is_empty() {
        return refuse(
            &sim,
            at,
            StatusCode::BAD_REQUEST,
            format!("missing input fields: {missing:?}"),
        );
    }
    let Some(key) = header_text(&headers, "idempotency-key") else {
        return refuse(
            &sim,
            at,
            StatusCode::BAD_REQUEST,
            "the Idempotency-Key header is required",
        );
    };
    let callback_url = header_text(&headers, "x-callback-url");
    let callback_token = header_text(&headers, "x-callback-token");
    if op.callback && callback_url.is_none() {
        return refuse(
            &sim,
            at,
            StatusCode::BAD_REQUEST,
            "this operation answers by callback: X-Callback-Url is required",
        );
    }
    let fault = draw_fault(&sim, &connector).await;
    if fault == Fault::Error {
        return unavailable(&sim, at, format!("{connector} is unavailable"));
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
