//! Filing a request and following it: the form is read and checked against the service's
//! schema (every error next to its field), then filed through the API's own `start` handler
//! with `Prefer: wait` (so a smart service's answer is on the page that follows) and an
//! `Idempotency-Key` drawn with the form (so sending it twice files once). The request's page
//! shows what its applicant may see, the same public view the track API gives, and keeps its
//! timeline live over Server-Sent Events from the engine's commit listener; a plain refresh
//! draws the same.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event as Sse, KeepAlive};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use daftar_api::auth::{Principal, Role};
use daftar_api::routes::requests::{StartRequest, start};
use daftar_api::routes::track::{TrackView, public_view};
use daftar_engine::core::InstanceState;
use std::sync::Arc;

use daftar_api::problem::ApiError;
use daftar_engine::Definition;
use daftar_engine::events::{RecordedEvent, StreamId};
use minijinja::context;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::catalog::{find, service_page};
use super::form;
use crate::Desk;
use crate::render::{self, DeskError};
use crate::session::{Posted, Visit};

/// How long a filing waits for a smart service's answer before showing the tracking code.
const FILE_AND_WAIT: u64 = 20;

/// How often a live timeline reads the history again, for commits of other nodes.
const RESYNC: Duration = Duration::from_secs(5);

/// `POST /services/{id}`: file a request.
pub async fn file(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path(id): Path<String>,
    Posted(submitted): Posted,
) -> Result<Response, DeskError> {
    let who = visit.with_role(&[Role::Citizen])?;
    let def = find(&desk, &who.agency, &id)?;
    let schema = &def.compiled().workflow().input.schema;
    let (input, mut fields) = form::read(schema, &submitted);
    // The engine's own validator, as the filing itself will run it.
    let violations: Vec<(String, form::Msg)> = match def.validate_input(&input) {
        Ok(()) => Vec::new(),
        Err(v) => v.iter().map(form::violation).collect(),
    };
    let rest = form::place(&mut fields, &violations);
    let refused = |fields: &[form::Field], rest: &[form::Msg]| {
        service_page(
            &desk,
            &visit,
            &def,
            StatusCode::UNPROCESSABLE_ENTITY,
            fields,
            rest,
        )
    };
    if fields.iter().any(|f| !f.errors.is_empty()) || !rest.is_empty() {
        return Ok(refused(&fields, &rest));
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        "prefer",
        HeaderValue::from_str(&format!("wait={FILE_AND_WAIT}")).expect("ASCII"),
    );
    let key = form::value(&submitted, "filing");
    if !key.is_empty()
        && let Ok(v) = HeaderValue::from_str(&key)
    {
        headers.insert("idempotency-key", v);
    }
    let body = StartRequest {
        service: id.clone(),
        input,
    };
    let filed = start(
        State(desk.api().clone()),
        who.clone(),
        headers,
        Ok(Json(body)),
    )
    .await;
    let response = match filed {
        Ok(r) => r,
        Err(e) if !e.errors.is_empty() => {
            let rest = form::place(&mut fields, &form::violations(&e));
            return Ok(refused(&fields, &rest));
        }
        Err(e) => return Err(e.into()),
    };
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .map_err(|_| DeskError::from(ApiError::unavailable()))?;
    let view: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let Some(request) = view.get("id").and_then(|v| v.as_str()) else {
        return Err(DeskError::from(ApiError::unavailable()));
    };
    Ok(Redirect::to(&format!("/requests/{request}")).into_response())
}

/// A request the visitor may read, with its history and its definition.
pub(crate) struct Readable {
    pub stream: StreamId,
    pub state: InstanceState,
    pub history: Vec<RecordedEvent>,
    pub def: Arc<Definition>,
}

/// The request `id`, if `who` may read it (the API's rule: its applicant, the agency's
/// officers and auditors; anyone else gets the 404 of a request that does not exist).
pub(crate) async fn readable(
    desk: &Desk,
    who: &Principal,
    id: &str,
) -> Result<Readable, DeskError> {
    let api = desk.api();
    let (stream, state) = daftar_api::lookup::load_request(api, who, id).await?;
    daftar_api::views::may_read(who, &state, id)?;
    let history = api
        .engine()
        .store()
        .load(&stream)
        .await
        .map_err(ApiError::from)?;
    let def = api.engine().definition_of(&state).map_err(ApiError::from)?;
    Ok(Readable {
        stream,
        state,
        history,
        def,
    })
}

/// The request `id` as its applicant sees it, if `who` may read it.
async fn public(
    desk: &Desk,
    who: &Principal,
    id: &str,
) -> Result<(StreamId, InstanceState, TrackView), DeskError> {
    let r = readable(desk, who, id).await?;
    let view = public_view(&r.def, &r.state, &r.history);
    Ok((r.stream, r.state, view))
}

/// `GET /requests/{id}`: the request's page.
pub async fn page(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path(id): Path<String>,
) -> Result<Response, DeskError> {
    let who = visit.with_role(&[Role::Citizen, Role::Officer, Role::Auditor])?;
    let (stream, _, view) = public(&desk, who, &id).await?;
    Ok(render::page(
        &visit,
        StatusCode::OK,
        "request.html",
        context! { id => stream.instance, request => crate::render::value(&view) },
    ))
}

/// `GET /requests/{id}/live`: the timeline, drawn again and sent as a `timeline` event each
/// time the request's commits change it, until it ends.
pub async fn live(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path(id): Path<String>,
) -> Result<Response, DeskError> {
    let who = visit
        .with_role(&[Role::Citizen, Role::Officer, Role::Auditor])?
        .clone();
    // Listening before the first read: a commit in between is heard.
    let (stream, _, _) = public(&desk, &who, &id).await?;
    let mut commits = desk.api().engine().listen(&stream);
    let (tx, rx) = mpsc::channel::<Result<Sse, Infallible>>(8);
    tokio::spawn(async move {
        let mut last = String::new();
        loop {
            let Ok((_, _, view)) = public(&desk, &who, &id).await else {
                return;
            };
            let ended = view.ended;
            if let Ok(html) = render::render(
                &visit,
                "timeline.html",
                context! { request => crate::render::value(&view) },
            ) && html != last
            {
                // axum writes each line of the fragment as its own `data:` line.
                if tx
                    .send(Ok(Sse::default().event("timeline").data(&html)))
                    .await
                    .is_err()
                {
                    return;
                }
                last = html;
            }
            if ended {
                return;
            }
            tokio::select! {
                _ = commits.recv() => {}
                () = tokio::time::sleep(RESYNC) => {}
                () = tx.closed() => return,
            }
        }
    });
    Ok(axum::response::Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::default())
        .into_response())
}
