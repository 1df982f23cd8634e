//! National documents: public verification, with no token, and revocation by the issuing
//! agency.
//!
//! `GET /api/v1/documents/{document_id}` answers only what the national standard lets anyone
//! who holds the document learn: valid or revoked (when and why), the issuing agency, the time
//! of issue, the service, the holder masked, and for a permit its public milestones; signed by
//! the agency's key ([`DocumentStatus`], `daftar verify-document`). The ID is found through the
//! `instances.document_id` index, never a scan. A malformed ID answers 400, an unknown one 404.
//!
//! `POST /api/v1/documents/{document_id}/revoke` appends `DocumentRevoked` with the reason;
//! an officer or admin of the issuing agency only (another agency's token gets the same 404
//! as an unknown ID).

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::header;
use axum::routing::{get, post};
use axum::{Json, Router};
use daftar_engine::audit::document::{DocumentMilestone, DocumentStatus};
use daftar_engine::core::{Command, InstanceState};
use daftar_engine::events::{Actor, Event, RecordedEvent, StreamId};
use daftar_engine::{Definition, document};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::{OpenApi, ToSchema};

use crate::auth::{Principal, Role};
use crate::problem::{ApiError, ApiResult, ErrorCode, Problem};
use crate::state::AppState;
use crate::views::{Label, status_label};

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(verify, revoke),
    components(schemas(DocumentStatus, DocumentMilestone, Revoke))
)]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/documents/{document_id}", get(verify))
        .route("/api/v1/documents/{document_id}/revoke", post(revoke))
}

/// Why a document is revoked.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Revoke {
    /// The reason, recorded in the request's history and shown by verification. Required.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Verify a national document ID. No token.
///
/// The answer is signed with the issuing agency's Ed25519 key (`key_id`, `signature` over the
/// text `daftar verify-document` rebuilds; see docs/national.md).
#[utoipa::path(
    get, path = "/api/v1/documents/{document_id}", tag = "documents",
    params(("document_id" = String, Path, description = "The 20-character national document ID")),
    responses(
        (status = 200, description = "Valid or revoked, signed", body = DocumentStatus),
        (status = 400, description = "Not a national document ID (its length, alphabet or check character)", body = Problem),
        (status = 404, description = "No document has this ID", body = Problem),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<(
    [(header::HeaderName, &'static str); 1],
    Json<DocumentStatus>,
)> {
    let Path(id) = path.map_err(ApiError::from)?;
    let found = find(&state, &id).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(found.status)))
}

/// Revoke a document: an officer or admin of the agency that issued it.
///
/// The request's history records `DocumentRevoked` with the reason, who and when; verification
/// says `revoked` from then on. Repeating the same revocation answers as the first did.
#[utoipa::path(
    post, path = "/api/v1/documents/{document_id}/revoke", tag = "documents",
    params(("document_id" = String, Path, description = "The 20-character national document ID")),
    request_body = Revoke,
    responses(
        (status = 200, description = "Revoked; the signed verification as it now reads", body = DocumentStatus),
        (status = 400, description = "No reason, a malformed ID, or a body that cannot be read", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "Neither an officer nor an admin", body = Problem),
        (status = 404, description = "No document of the caller's agency has this ID", body = Problem),
        (status = 409, description = "Already revoked", body = Problem),
        (status = 422, description = "The body is not a `Revoke`", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    who: Principal,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<Revoke>, JsonRejection>,
) -> ApiResult<Json<DocumentStatus>> {
    who.require(&[Role::Officer, Role::Admin])?;
    let Path(id) = path.map_err(ApiError::from)?;
    let Json(body) = body.map_err(ApiError::from)?;
    let id = normalize(&id)?;
    let reason = body.reason.unwrap_or_default();
    if reason.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::BadBody,
            "give a `reason` for the revocation: it is recorded and shown by verification",
        ));
    }
    let stream = match state.engine().store().find_document(&id).await? {
        Some(stream) if stream.agency == who.agency => stream,
        _ => return Err(unknown()),
    };
    let actor = if who.has(Role::Officer) && !who.roles.contains(&Role::Admin) {
        Actor::Officer(who.subject.clone())
    } else {
        Actor::Operator(who.subject.clone())
    };
    // The same revocation sent again is one command (and answers as the first did); another
    // one is refused by the core, since a document is revoked once.
    let digest = Sha256::digest(format!("{id}\u{0}{reason}").as_bytes());
    let command_id = format!("revoke:{}", hex::encode(&digest[..16]));
    state
        .engine()
        .execute(
            &stream,
            &Command::RevokeDocument { reason },
            &command_id,
            actor,
            None,
        )
        .await?;
    Ok(Json(status_of(&state, &stream, &id).await?.status))
}

/// A document as its public pages show it: the signed status and what the printed document
/// says of itself.
#[derive(Debug)]
pub struct Found {
    /// The signed verification.
    pub status: DocumentStatus,
    /// The document's type (`clean_record_certificate`, `building_permit`, …).
    pub kind: String,
    /// How long it is valid, as the definition says it (`90d`).
    pub valid_for: Option<String>,
    /// The service's name.
    pub service_title: Label,
    /// The labels of a permit's milestones, in their order.
    pub milestone_labels: Vec<Label>,
}

/// Finds a document by its ID, as anyone may see it. Shared with the desk's public pages.
pub async fn find(state: &AppState, id: &str) -> ApiResult<Found> {
    let id = normalize(id)?;
    let Some(stream) = state.engine().store().find_document(&id).await? else {
        return Err(unknown());
    };
    status_of(state, &stream, &id).await
}

/// The ID in the form it was issued in; 400 when it cannot be one. IDs issued before the
/// national layout were 20 digits, and are still looked up.
fn normalize(id: &str) -> ApiResult<String> {
    let id = id.trim().to_ascii_uppercase();
    let legacy = id.len() == document::LEN && id.bytes().all(|b| b.is_ascii_digit());
    if document::parse(&id).is_none() && !legacy {
        return Err(ApiError::new(
            ErrorCode::BadPath,
            "not a national document ID: 20 characters of 0-9 and A-Z (less I, L, O and U) whose \
             last is the check character of the others",
        ));
    }
    Ok(id)
}

fn unknown() -> ApiError {
    ApiError::not_found("no document has this ID; check it against the printed document")
}

async fn status_of(state: &AppState, stream: &StreamId, id: &str) -> ApiResult<Found> {
    let engine = state.engine();
    let history = engine.store().load(stream).await?;
    let mut s = InstanceState::fold(history.iter().map(|e| &e.event));
    if let Some(first) = history.first().filter(|_| !s.started_readably()) {
        // Its applicant was erased, and the start with them: the envelope still says which
        // service issued the document, which stays as valid as it was (the holder is gone).
        s.agency = stream.agency.clone();
        s.instance = stream.instance.clone();
        s.workflow = first.workflow.clone();
        s.workflow_version = first.workflow_version;
        s.hash = first.definition_hash.clone();
    }
    let def = engine.definition_of(&s).map_err(|e| {
        tracing::error!(error = %e, %stream, "a document's definition is missing");
        unknown()
    })?;
    let (kind, valid_for) = document_of(&def, &history);
    let status = statement(&def, &s, &history, id, &kind, engine.now());
    let status = match state.document_key() {
        Some(key) => status.sign(key),
        None => status,
    };
    let milestone_labels = status
        .milestones
        .iter()
        .map(|m| status_label(&def, &m.status).unwrap_or_else(|| Label::new(&m.status, &m.status)))
        .collect();
    Ok(Found {
        milestone_labels,
        status,
        valid_for,
        service_title: Label::from(&def.compiled().workflow().title),
        kind,
    })
}

/// The type and validity the end step that issued it declares.
fn document_of(def: &Definition, history: &[RecordedEvent]) -> (String, Option<String>) {
    history
        .iter()
        .find_map(|e| match &e.event {
            Event::InstanceCompleted { step, .. } => def.compiled().step(step),
            _ => None,
        })
        .and_then(|step| step.end.as_ref()?.document.as_ref())
        .map(|d| (d.kind.clone(), d.valid_for.map(|v| v.to_string())))
        .unwrap_or_default()
}

/// What verification says, unsigned. A permit (a document type ending in `permit`) shows its
/// request's public milestones too, as the national permits portal asks; nothing else of the
/// request is shown.
fn statement(
    def: &Definition,
    s: &InstanceState,
    history: &[RecordedEvent],
    id: &str,
    kind: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> DocumentStatus {
    let time =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let issued_at = history
        .iter()
        .find(|e| matches!(e.event, Event::InstanceCompleted { .. }))
        .map(|e| time(e.recorded_at))
        .unwrap_or_default();
    let milestones = if kind.ends_with("permit") {
        history
            .iter()
            .filter_map(|e| match &e.event {
                Event::StatusChanged { to, .. } => Some(DocumentMilestone {
                    status: to.clone(),
                    at: time(e.recorded_at),
                }),
                _ => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    let (_, national_id) = def.applicant(&s.input);
    DocumentStatus {
        document_id: id.to_owned(),
        status: if s.revoked.is_some() {
            "revoked"
        } else {
            "valid"
        }
        .to_owned(),
        agency: s.agency.clone(),
        service: s.workflow.clone(),
        issued_at,
        holder: national_id
            .as_deref()
            .map(crate::pii::mask)
            .unwrap_or_default(),
        revoked_at: s.revoked.as_ref().map(|r| time(r.at)),
        reason: s.revoked.as_ref().map(|r| r.reason.clone()),
        milestones,
        answered_at: time(now),
        key_id: None,
        signature: None,
    }
}
