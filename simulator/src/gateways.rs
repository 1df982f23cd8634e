//! The SMS centre (`/sms/...`) and the payment gateway (`/payments`), both deduplicating by the
//! caller's reference, both posting results to `X-Callback-Url` when asked.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::journal::{Payment, Sms};
use crate::toolkit::{
    Fault, agency_now, deliver, draw_fault, header_text, post_callback, problem, receive, refuse,
    unavailable,
};
use crate::{PaymentOutcome, Simulator};

fn field(body: &Map<String, Value>, name: &str) -> Option<String> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `POST /sms/send {mobile, text, client_reference}`.
pub async fn sms_send(State(sim): State<Simulator>, headers: HeaderMap, raw: Bytes) -> Response {
    let (at, body) = receive(&sim, "/sms/send", ("sms_gateway", "send"), &headers, &raw);
    let body = body.unwrap_or_default();
    let (Some(mobile), Some(text), Some(reference)) = (
        field(&body, "mobile"),
        field(&body, "text"),
        field(&body, "client_reference"),
    ) else {
        return refuse(
            &sim,
            at,
            StatusCode::BAD_REQUEST,
            "mobile, text and client_reference are required",
        );
    };
    if !daftar_definitions::formats::is_mobile(&mobile) {
        return refuse(
            &sim,
            at,
            StatusCode::BAD_REQUEST,
            format!("{mobile} is not a mobile number"),
        );
    }
    let fault = draw_fault(&sim, "sms_gateway").await;
    if fault == Fault::Error {
        return unavailable(&sim, at, "the SMS centre is unavailable");
    }
    let delay = Duration::from_millis(sim.config().faults("sms_gateway").callback_delay_ms);
    let (message_id, replayed) = {
        let mut j = sim.journal();
        if let Some(&i) = j.sms_index.get(&reference) {
            (j.sms[i].message_id.clone(), true)
        } else {
            let message_id = format!("SMS-{:08}", j.next());
            j.sms.push(Sms {
                message_id: message_id.clone(),
                client_reference: reference.clone(),
                mobile,
                text,
                accepted_at: agency_now(),
                delivered_at: Instant::now() + delay,
            });
            let i = j.sms.len() - 1;
            j.sms_index.insert(reference.clone(), i);
            (message_id, false)
        }
    };
    if !replayed && let Some(url) = header_text(&headers, "x-callback-url") {
        let report = json!({
            "message_id": message_id, "client_reference": reference, "status": "delivered",
            "delivered_at": agency_now(),
        });
        let sim2 = sim.clone();
        let token = header_text(&headers, "x-callback-token");
        tokio::spawn(
            async move { post_callback(&sim2, &url, &reference, token, report, delay).await },
        );
    }
    let answer = json!({ "message_id": message_id, "status": "accepted" });
    deliver(&sim, at, fault, replayed, StatusCode::OK, answer).await
}

/// `GET /sms/status/{client_reference}`.
pub async fn sms_status(State(sim): State<Simulator>, Path(reference): Path<String>) -> Response {
    let j = sim.journal();
    match j.sms_index.get(&reference).map(|&i| &j.sms[i]) {
        None => problem(
            StatusCode::NOT_FOUND,
            format!("no SMS with client_reference {reference}"),
        ),
        Some(s) => {
            let status = if Instant::now() >= s.delivered_at {
                "delivered"
            } else {
                "accepted"
            };
            axum::Json(json!({ "message_id": s.message_id, "status": status })).into_response()
        }
    }
}

/// `POST /payments {amount, reference, description?, payer_national_id?}`.
pub async fn payment_create(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let (at, body) = receive(
        &sim,
        "/payments",
        ("payment_gateway", "purchase"),
        &headers,
        &raw,
    );
    let body = body.unwrap_or_default();
    let amount = body
        .get("amount")
        .and_then(Value::as_u64)
        .filter(|a| *a > 0);
    let (Some(amount), Some(reference), Some(url)) = (
        amount,
        field(&body, "reference"),
        header_text(&headers, "x-callback-url"),
    ) else {
        return refuse(
            &sim,
            at,
            StatusCode::BAD_REQUEST,
            "a positive integer amount, a reference and an X-Callback-Url header are required",
        );
    };
    let fault = draw_fault(&sim, "payment_gateway").await;
    if fault == Fault::Error {
        return unavailable(&sim, at, "the payment gateway is unavailable");
    }
    let token = header_text(&headers, "x-callback-token");
    let base = sim.base_url();
    let (payment_id, replayed, outcome) = {
        let mut j = sim.journal();
        if let Some(&i) = j.payment_index.get(&reference) {
            (j.payments[i].payment_id.clone(), true, None)
        } else {
            let payment_id = format!("PAY-{:08}", j.next());
            let payer = field(&body, "payer_national_id")
                .and_then(|n| sim.seed().person(&n).and_then(|p| p.payment));
            let by_amount = sim
                .seed()
                .payments
                .iter()
                .find(|r| r.amount == amount)
                .map(|r| r.status);
            let outcome = payer.or(by_amount).unwrap_or(sim.config().payment_default);
            let trace = j.next();
            j.payments.push(Payment {
                payment_id: payment_id.clone(),
                reference: reference.clone(),
                amount,
                description: field(&body, "description"),
                callback_url: url.clone(),
                status: "pending".into(),
                result: None,
            });
            let i = j.payments.len() - 1;
            j.payment_index.insert(reference.clone(), i);
            (payment_id, false, Some((outcome, trace)))
        }
    };
    if let Some((outcome, trace)) = outcome
        && outcome != PaymentOutcome::Never
    {
        let paid = outcome == PaymentOutcome::Paid;
        let delay = Duration::from_millis(sim.config().faults("payment_gateway").callback_delay_ms);
        let sim2 = sim.clone();
        let (pid, reference) = (payment_id.clone(), reference.clone());
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let result = json!({
                "payment_id": pid, "reference": reference,
                "status": if paid { "paid" } else { "failed" },
                "trace_number": paid.then(|| format!("{:06}", 100_000 + trace % 900_000)),
                "reference_number": paid.then(|| format!("{:012}", 700_000_000_000u64 + trace)),
                "paid_amount": if paid { amount } else { 0 },
                "paid_at": paid.then(agency_now),
            });
            {
                let mut j = sim2.journal();
                if let Some(&i) = j.payment_index.get(&reference) {
                    j.payments[i].status = result["status"].as_str().unwrap_or("").into();
                    j.payments[i].result = Some(result.clone());
                }
            }
            post_callback(&sim2, &url, &reference, token, result, Duration::ZERO).await
        });
    }
    let answer = json!({ "payment_id": payment_id, "url": format!("{base}/pay/{payment_id}") });
    deliver(&sim, at, fault, replayed, StatusCode::OK, answer).await
}

/// `GET /payments/{reference}`: the payment's state, for reconciliation.
pub async fn payment_status(
    State(sim): State<Simulator>,
    Path(reference): Path<String>,
) -> Response {
    let j = sim.journal();
    match j.payment_index.get(&reference).map(|&i| &j.payments[i]) {
        None => problem(
            StatusCode::NOT_FOUND,
            format!("no payment with reference {reference}"),
        ),
        Some(p) => {
            let mut v = p
                .result
                .clone()
                .unwrap_or_else(|| json!({ "payment_id": p.payment_id, "reference": p.reference }));
            v["status"] = json!(p.status);
            axum::Json(v).into_response()
        }
    }
}

/// `GET /pay/{payment_id}`: the page a citizen would be sent to.
pub async fn pay_page(Path(payment_id): Path<String>) -> Response {
    axum::response::Html(format!(
        "<html><body dir=\"rtl\">درگاه پرداخت شبیه‌سازی‌شده — {payment_id}</body></html>"
    ))
    .into_response()
}
