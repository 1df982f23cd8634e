//! `GET /requests/{id}/record`: a request as the agency's officers and auditors see it: which
//! steps ran, when and for how long, which branch each decision took and on what values; the
//! agencies' answers as evidence (who answered, when, the SHA-256 of the answer as received,
//! the event's hash); the whole history; and for auditors the state at any version and the
//! verification of the agency's hash chains (`POST /audit/verify`); above them, the
//! definition's picture with the request's path laid over it ([`super::diagram`]).
//!
//! Everything is read through the API's audit functions, so that what is masked for an
//! auditor (the applicant's personal data) is masked here too.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use daftar_api::auth::Role;
use daftar_api::lookup::RequestPath;
use daftar_api::routes::audit::{self, AtParams, HistoryEntry};
use daftar_api::routes::track::public_view;
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Desk;
use crate::render::{self, DeskError};
use crate::session::Visit;

/// A step that ran.
#[derive(Debug, Serialize)]
pub struct StepRun {
    /// The step id.
    pub step: String,
    /// When it was entered.
    pub entered: DateTime<Utc>,
    /// When it was left, if it was.
    pub left: Option<DateTime<Utc>>,
    /// How long it took, in seconds.
    pub seconds: Option<f64>,
    /// For a decision: the step it chose, and the expression that held (none: the default).
    pub chose: Option<String>,
    /// The expression that held.
    pub because: Option<String>,
    /// The values the decision read.
    pub inputs: Option<String>,
    /// Why the decision went that way, in Persian and English (masked as the history is).
    pub why: Option<Value>,
}

/// An agency's answer.
#[derive(Debug, Serialize)]
pub struct Evidence {
    /// The step.
    pub step: String,
    /// The connector and operation asked.
    pub asked: String,
    /// The agency that answered, per the connector catalog.
    pub agency: Option<String>,
    /// When the answer was recorded.
    pub at: DateTime<Utc>,
    /// The agency's own time, when it sent one.
    pub agency_time: Option<String>,
    /// SHA-256 of the answer as received.
    pub sha256: String,
    /// The hash of the event that recorded it.
    pub event_hash: String,
    /// How long the attempt took.
    pub latency_ms: Option<u64>,
}

/// The steps that ran and the evidence of each inquiry, from a (masked) history.
pub fn read(desk: &Desk, entries: &[HistoryEntry]) -> (Vec<StepRun>, Vec<Evidence>) {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut steps: Vec<StepRun> = Vec::new();
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    let mut asked: BTreeMap<(String, u64), String> = BTreeMap::new();
    let mut evidence = Vec::new();
    for e in entries {
        let ev = &e.event;
        let step = text(ev, "step");
        match e.kind.as_str() {
            "StepEntered" => {
                open.insert(step.clone(), steps.len());
                steps.push(StepRun {
                    step,
                    entered: e.recorded_at,
                    left: None,
                    seconds: None,
                    chose: None,
                    because: None,
                    inputs: None,
                    why: None,
                });
            }
            "StepCompleted" => {
                if let Some(i) = open.remove(&step) {
                    let run = &mut steps[i];
                    run.left = Some(e.recorded_at);
                    run.seconds =
                        Some((e.recorded_at - run.entered).num_milliseconds() as f64 / 1000.0);
                }
            }
            "DecisionTaken" => {
                let d = ev.get("evidence").cloned().unwrap_or_default();
                let because = d
                    .get("chosen")
                    .and_then(Value::as_u64)
                    .and_then(|i| d.get("cases")?.get(i as usize)?.get(0)?.as_str())
                    .map(str::to_owned);
                if let Some(run) = steps.iter_mut().rev().find(|r| r.step == step) {
                    run.chose = Some(text(&d, "next"));
                    run.because = because;
                    run.inputs = d.get("inputs").map(Value::to_string);
                    run.why = e.why.as_ref().and_then(|w| serde_json::to_value(w).ok());
                }
            }
            "InquiryRequested" => {
                let attempt = ev.get("attempt").and_then(Value::as_u64).unwrap_or(0);
                asked.insert(
                    (step, attempt),
                    format!("{}.{}", text(ev, "connector"), text(ev, "operation")),
                );
            }
            "InquiryAnswered" => {
                let attempt = ev.get("attempt").and_then(Value::as_u64).unwrap_or(0);
                let proof = ev.get("evidence").cloned().unwrap_or_default();
                let what = asked
                    .get(&(step.clone(), attempt))
                    .cloned()
                    .unwrap_or_default();
                let connector = what.split('.').next().unwrap_or("");
                evidence.push(Evidence {
                    agency: desk
                        .api()
                        .catalog()
                        .and_then(|c| c.connectors.get(connector))
                        .map(|c| c.agency.clone()),
                    step,
                    asked: what,
                    at: e.recorded_at,
                    agency_time: proof
                        .get("agency_time")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    sha256: text(&proof, "sha256"),
                    event_hash: e.hash.clone(),
                    latency_ms: proof.get("latency_ms").and_then(Value::as_u64),
                });
            }
            _ => {}
        }
    }
    (steps, evidence)
}

/// The record's query: a version or a time to show the state at (auditors).
#[derive(Debug, Deserialize)]
pub struct At {
    /// A version, a Jalali time in Tehran (`1405/09/14 10:30`) or an RFC 3339 time.
    pub at: Option<String>,
}

/// The record page.
pub async fn page(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path(id): Path<String>,
    Query(at): Query<At>,
) -> Result<Response, DeskError> {
    let who = visit.with_role(&[Role::Officer, Role::Auditor])?;
    let api = desk.api();
    let crate::citizen::request::Readable {
        stream,
        state: s,
        history: events,
        def,
    } = crate::citizen::request::readable(&desk, who, &id).await?;
    let secrets = audit::secrets(api, who, &stream).await?;
    let public = public_view(&def, &s, &events);
    let diagram = super::diagram::draw(&def, &s, &events);
    let entries: Vec<HistoryEntry> = events.iter().map(|e| audit::entry(e, &secrets)).collect();
    let (steps, evidence) = read(&desk, &entries);
    // The state at a version, through the API's own handler (auditors only, as there).
    let state_at = match (&at.at, who.has(Role::Auditor)) {
        (Some(point), true) if !point.trim().is_empty() => Some(
            audit::state_at(
                State(api.clone()),
                who.clone(),
                Path(RequestPath {
                    id: stream.instance.clone(),
                }),
                Ok(Query(AtParams {
                    // A Jalali time in Tehran, as a person types it, or what the API reads.
                    at: Some(crate::i18n::jalali_instant(point).unwrap_or_else(|| point.clone())),
                })),
            )
            .await
            .map(|axum::Json(v)| render::value(&v))
            .map_err(DeskError::from)?,
        ),
        _ => None,
    };
    let mut response = render::page(
        &visit,
        StatusCode::OK,
        "record.html",
        context! {
            id => stream.instance,
            request => render::value(&public),
            steps => render::value(&steps),
            evidence => render::value(&evidence),
            history => render::value(&entries),
            auditor => who.has(Role::Auditor),
            at => at.at,
            state_at => state_at,
            version => s.version,
            diagram => diagram.as_ref().map(|d| minijinja::Value::from_safe_string(d.svg.clone())),
        },
    );
    if let Some(d) = diagram {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_SECURITY_POLICY, d.csp);
    }
    Ok(response)
}
