//! Definitions: deploy one (`POST /api/v1/definitions`), validate one without deploying it,
//! list the agency's, read one version's source. Drawing and comparing versions is in
//! [`super::versions`].
//!
//! A definition is validated with the server's connector catalog, exactly as `daftar validate`
//! would with the same catalog. A deployed version never changes: deploying the same content
//! again is a no-op (`200`, `already_deployed: true`), other content under a deployed version
//! is refused (`409 version-taken`).

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use daftar_definitions::{CompiledDefinition, Diagnostic, Location, Options, Severity, Validation};
use daftar_engine::runtime::RuntimeError;
use daftar_engine::store::StoredDefinition;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::auth::{Principal, Role};
use crate::openapi::NeedsToken;
use crate::problem::{ApiError, ApiResult, ErrorCode, Problem};
use crate::state::AppState;
use crate::views::Label;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(deploy, validate, list, get_version),
    components(schemas(
        SourceJson,
        DiagnosticView,
        InvalidDefinition,
        Deployed,
        ValidationReport,
        DefinitionSummary,
        DefinitionList,
        DefinitionDetail,
        Label
    )),
    modifiers(&NeedsToken)
)]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/definitions", post(deploy).get(list))
        .route("/api/v1/definitions/validate", post(validate))
        .route(
            "/api/v1/definitions/{id}/versions/{version}",
            get(get_version),
        )
}

/// The name diagnostics give the definition sent in a request body.
const BODY_FILE: &str = "definition.yaml";

/// A definition sent as JSON.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SourceJson {
    /// The definition's YAML text.
    pub source: String,
}

/// One problem found in a definition.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DiagnosticView {
    /// The file, as named in the request (`definition.yaml`).
    pub file: String,
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, in characters.
    pub column: usize,
    /// The stable code, such as `DEF021`; each is explained in `docs/errors/CODE.md`.
    pub code: String,
    /// `error` (the definition is refused) or `warning`.
    pub severity: String,
    /// What is wrong and how to mend it.
    pub message: String,
    /// The path of the value in the document, as a JSON pointer (`/steps/3/next`).
    pub pointer: String,
}

impl From<&Diagnostic> for DiagnosticView {
    fn from(d: &Diagnostic) -> Self {
        DiagnosticView {
            file: d.file.clone(),
            line: d.location.line,
            column: d.location.column,
            code: d.code.as_str().to_owned(),
            severity: match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            }
            .to_owned(),
            message: d.message.clone(),
            pointer: d.pointer.clone(),
        }
    }
}

/// The problem body of a refused definition (`422`, code `invalid-definition`): the RFC 9457
/// members and every diagnostic, errors and warnings.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvalidDefinition {
    /// The problem.
    #[serde(flatten)]
    pub problem: Problem,
    /// Every problem found, by place.
    pub diagnostics: Vec<DiagnosticView>,
}

/// A deployed version.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deployed {
    /// The workflow (service) id.
    pub id: String,
    /// The version.
    pub version: u32,
    /// The content hash that running requests record.
    pub hash: String,
    /// The date from which it decides new requests (in the workflow's time zone).
    pub in_force_from: NaiveDate,
    /// Whether this very content was deployed before (nothing changed now).
    pub already_deployed: bool,
    /// Whether the service can be delivered with nobody acting on it, and why.
    pub smart: Smart,
    /// The validator's warnings.
    pub warnings: Vec<DiagnosticView>,
}

/// Whether a service is smart (Article 107 of the Seventh Plan): some path from its start to an
/// end that issues, approves or completes passes no officer's task and waits for no message.
#[derive(Debug, Serialize, ToSchema)]
pub struct Smart {
    /// Whether it is.
    pub smart: bool,
    /// Why, in a sentence that begins `smart:` or `not smart:`.
    pub reason: String,
    /// Where a person acts on its ways to such an end (empty when it is smart).
    pub human_steps: Vec<String>,
}

impl From<daftar_definitions::Smartness> for Smart {
    fn from(s: daftar_definitions::Smartness) -> Self {
        Smart {
            smart: s.smart,
            reason: s.reason,
            human_steps: s.human_steps,
        }
    }
}

/// What validation found.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationReport {
    /// Whether the definition has no errors (warnings do not count).
    pub valid: bool,
    /// The workflow id, when it is valid.
    pub id: Option<String>,
    /// Its version, when it is valid.
    pub version: Option<u32>,
    /// Its content hash, when it is valid.
    pub hash: Option<String>,
    /// Whether the service is smart, when it is valid.
    pub smart: Option<Smart>,
    /// Every problem found, errors and warnings, by place.
    pub diagnostics: Vec<DiagnosticView>,
}

/// A deployed version in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct DefinitionSummary {
    /// The workflow (service) id.
    pub id: String,
    /// The version.
    pub version: u32,
    /// The content hash.
    pub hash: String,
    /// The date from which it decides new requests.
    pub in_force_from: NaiveDate,
    /// The service's name.
    pub title: Option<Label>,
}

/// The agency's deployed definitions.
#[derive(Debug, Serialize, ToSchema)]
pub struct DefinitionList {
    /// By id, newest version first within each id.
    pub items: Vec<DefinitionSummary>,
}

/// One deployed version with its source.
#[derive(Debug, Serialize, ToSchema)]
pub struct DefinitionDetail {
    /// The workflow (service) id.
    pub id: String,
    /// The version.
    pub version: u32,
    /// The agency.
    pub agency: String,
    /// The content hash.
    pub hash: String,
    /// The date from which it decides new requests.
    pub in_force_from: NaiveDate,
    /// The service's name.
    pub title: Option<Label>,
    /// The YAML it was deployed from, byte for byte.
    pub source: String,
}

/// The error of a deploy: an ordinary problem, or a refused definition with its diagnostics.
#[derive(Debug)]
pub enum DeployError {
    /// Any other problem.
    Api(ApiError),
    /// The definition has errors.
    Invalid(Vec<DiagnosticView>),
}

impl From<ApiError> for DeployError {
    fn from(e: ApiError) -> Self {
        DeployError::Api(e)
    }
}

impl From<RuntimeError> for DeployError {
    fn from(e: RuntimeError) -> Self {
        DeployError::Api(e.into())
    }
}

impl IntoResponse for DeployError {
    fn into_response(self) -> Response {
        match self {
            DeployError::Api(e) => e.into_response(),
            DeployError::Invalid(diagnostics) => {
                let errors: Vec<&DiagnosticView> = diagnostics
                    .iter()
                    .filter(|d| d.severity == "error")
                    .collect();
                let detail = match errors.first() {
                    Some(first) => format!(
                        "the definition has {} error{}; the first, at line {}, column {}: {} {} \
                         (every one is listed in `diagnostics`)",
                        errors.len(),
                        if errors.len() == 1 { "" } else { "s" },
                        first.line,
                        first.column,
                        first.code,
                        first.message
                    ),
                    None => "the definition has errors; see `diagnostics`".to_owned(),
                };
                let error = ApiError::new(ErrorCode::InvalidDefinition, detail);
                let body = InvalidDefinition {
                    problem: error.problem(),
                    diagnostics,
                };
                (
                    error.status,
                    [(header::CONTENT_TYPE, "application/problem+json")],
                    serde_json::to_string(&body).unwrap_or_default(),
                )
                    .into_response()
            }
        }
    }
}

/// A definition's text from the body: YAML (`application/yaml`, `text/yaml`, `text/plain`,
/// or no content type) or JSON `{"source": "..."}`. Text that is not UTF-8 is a diagnostic,
/// as `daftar validate` reports it.
fn read_source(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Result<String, Diagnostic>> {
    let bytes = body.map_err(ApiError::from)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            ErrorCode::BadBody,
            "the body is empty: send the YAML of a definition",
        ));
    }
    let media = headers
        .get(header::CONTENT_TYPE)
        .map(|v| {
            v.to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    match media.as_str() {
        "application/json" => {
            let json: SourceJson = serde_json::from_slice(&bytes).map_err(|e| {
                ApiError::new(
                    ErrorCode::BadBody,
                    format!("a JSON body must be {{\"source\": \"<the YAML>\"}}: {e}"),
                )
            })?;
            Ok(Ok(json.source))
        }
        "" | "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml"
        | "text/plain" => Ok(String::from_utf8(bytes.to_vec()).map_err(|e| not_utf8(&e))),
        other => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "a definition is sent as application/yaml, text/plain, or application/json \
                 `{{\"source\": \"...\"}}`, not {other}"
            ),
        )),
    }
}

/// Where the first byte that is not UTF-8 is.
fn not_utf8(e: &std::string::FromUtf8Error) -> Diagnostic {
    let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
    let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
    let last_line = valid.rsplit(|b| *b == b'\n').next().unwrap_or_default();
    let column = std::str::from_utf8(last_line).map_or(last_line.len(), |l| l.chars().count()) + 1;
    Diagnostic {
        file: BODY_FILE.to_owned(),
        location: Location { line, column },
        code: daftar_definitions::Code::YamlSyntax,
        severity: Severity::Error,
        message: "the definition is not UTF-8 text".to_owned(),
        pointer: String::new(),
    }
}

/// Validates a definition with the server's catalog, knowing the agency's deployed workflows
/// (so that `call` steps naming none of them are flagged). Runs off the async threads:
/// validation of a large definition takes a while.
/// A designer's definition from the body, validated: what deploying and validating share.
pub(crate) async fn designed(
    state: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Validation> {
    who.require(&[Role::Designer])?;
    let text = read_source(headers, body)?;
    check(state, who, text).await
}

async fn check(
    state: &AppState,
    who: &Principal,
    text: Result<String, Diagnostic>,
) -> ApiResult<Validation> {
    let text = match text {
        Ok(text) => text,
        Err(diagnostic) => {
            return Ok(Validation {
                diagnostics: vec![diagnostic],
                definition: None,
            });
        }
    };
    let workflows: BTreeSet<String> = state
        .engine()
        .registry()
        .workflows()
        .into_iter()
        .filter(|(agency, _)| *agency == who.agency)
        .map(|(_, workflow)| workflow)
        .collect();
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let options = Options {
            catalog: state.catalog(),
            workflows: Some(&workflows),
        };
        daftar_definitions::validate(BODY_FILE, &text, options)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "validation did not finish");
        ApiError::unavailable()
    })
}

/// The definition of a validation when it has no errors and is the caller's agency's: what
/// deploying and trying one (`what-if`) need.
pub(crate) fn own_valid<'v>(
    who: &Principal,
    validation: &'v Validation,
) -> Result<&'v CompiledDefinition, DeployError> {
    let (Some(compiled), false) = (&validation.definition, validation.has_errors()) else {
        return Err(DeployError::Invalid(views(&validation.diagnostics)));
    };
    let agency = &compiled.workflow().agency;
    if *agency != who.agency {
        return Err(ApiError::new(
            ErrorCode::WrongAgency,
            format!(
                "the definition is for agency `{agency}`; you may deploy or try only `{}`'s",
                who.agency
            ),
        )
        .into());
    }
    Ok(compiled)
}

pub(crate) fn views(diagnostics: &[Diagnostic]) -> Vec<DiagnosticView> {
    diagnostics.iter().map(DiagnosticView::from).collect()
}

/// Deploy a definition as a new version of its service.
///
/// The body is the YAML (`application/yaml` or `text/plain`), or JSON `{"source": "..."}`. It is
/// validated with the server's connector catalog; a definition with errors is refused with
/// every diagnostic. Its `agency` must be the caller's. A version is deployed once and never
/// changes: the same content again answers `200` with `already_deployed: true`; other content
/// under a deployed version is refused with `409 version-taken`.
#[utoipa::path(
    post, path = "/api/v1/definitions", tag = "definitions",
    request_body(
        description = "The definition's YAML, or JSON with the YAML in `source`",
        content(
            (String = "application/yaml"),
            (String = "text/plain"),
            (SourceJson = "application/json")
        )
    ),
    responses(
        (status = 201, description = "Deployed", body = Deployed),
        (status = 200, description = "This content was deployed before; nothing changed", body = Deployed),
        (status = 400, description = "The body cannot be read", body = Problem),
        (status = 403, description = "Not a designer, or the definition is another agency's", body = Problem),
        (status = 409, description = "This version is deployed with other content (`version-taken`)", body = Problem),
        (status = 422, description = "The definition has errors (`invalid-definition`)", body = InvalidDefinition,
            content_type = "application/problem+json"),
        (status = 503, body = Problem),
    ),
)]
pub async fn deploy(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, DeployError> {
    let validation = designed(&state, &who, &headers, body).await?;
    let compiled = own_valid(&who, &validation)?;
    let wf = compiled.workflow();
    let warnings = views(&validation.diagnostics);
    let deployment = state
        .engine()
        .deploy_version(&format!("{}@{}", wf.id, wf.version), compiled.source())
        .await?;
    let stored = deployment.definition;
    let location = format!(
        "/api/v1/definitions/{}/versions/{}",
        stored.workflow, stored.version
    );
    let body = Deployed {
        id: stored.workflow,
        version: stored.version,
        hash: stored.hash,
        in_force_from: stored.in_force_from,
        already_deployed: deployment.already_deployed,
        smart: compiled.smartness().into(),
        warnings,
    };
    if deployment.already_deployed {
        return Ok((StatusCode::OK, Json(body)).into_response());
    }
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

/// Validate a definition without deploying it: every error and warning, with its line and
/// column, as `daftar validate` reports them with the server's connector catalog.
#[utoipa::path(
    post, path = "/api/v1/definitions/validate", tag = "definitions",
    request_body(
        description = "The definition's YAML, or JSON with the YAML in `source`",
        content(
            (String = "application/yaml"),
            (String = "text/plain"),
            (SourceJson = "application/json")
        )
    ),
    responses(
        (status = 200, description = "Validated; `valid` says whether it could be deployed", body = ValidationReport),
        (status = 400, body = Problem),
        (status = 503, body = Problem),
    ),
)]
pub async fn validate(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<ValidationReport>> {
    let validation = designed(&state, &who, &headers, body).await?;
    let valid = !validation.has_errors() && validation.definition.is_some();
    let compiled = validation.definition.as_ref();
    Ok(Json(ValidationReport {
        valid,
        id: compiled.map(|c| c.id().to_owned()),
        version: compiled.map(CompiledDefinition::version),
        hash: compiled.map(|c| c.hash().to_owned()),
        smart: compiled.filter(|_| valid).map(|c| c.smartness().into()),
        diagnostics: views(&validation.diagnostics),
    }))
}

/// Calls `f` with the compiled form of a deployed definition: this node's, or compiled from
/// its source when this node does not have it.
pub(crate) fn with_compiled<R>(
    state: &AppState,
    stored: &StoredDefinition,
    f: impl FnOnce(&CompiledDefinition) -> R,
) -> Option<R> {
    if let Some(def) = state.engine().registry().by_hash(&stored.hash) {
        return Some(f(def.compiled()));
    }
    let name = format!("{}@{}", stored.workflow, stored.version);
    match daftar_definitions::compile(&name, &stored.source, Options::default()) {
        Ok(compiled) => Some(f(&compiled)),
        Err(_) => {
            tracing::error!(definition = %name, "a deployed definition does not compile");
            None
        }
    }
}

fn title(compiled: &CompiledDefinition) -> Label {
    Label::from(&compiled.workflow().title)
}

/// The agency's deployed definitions: every version of every service, newest version first.
#[utoipa::path(
    get, path = "/api/v1/definitions", tag = "definitions",
    responses(
        (status = 200, body = DefinitionList),
        (status = 503, body = Problem),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<DefinitionList>> {
    who.require(&[Role::Designer, Role::Officer, Role::Auditor])?;
    let mut stored = state
        .engine()
        .store()
        .definitions(Some(&who.agency))
        .await?;
    stored.sort_by(|a, b| a.workflow.cmp(&b.workflow).then(b.version.cmp(&a.version)));
    let items = stored
        .iter()
        .map(|d| DefinitionSummary {
            id: d.workflow.clone(),
            version: d.version,
            hash: d.hash.clone(),
            in_force_from: d.in_force_from,
            title: with_compiled(&state, d, title),
        })
        .collect();
    Ok(Json(DefinitionList { items }))
}

/// One deployed version of the caller's agency, or 404.
pub(crate) async fn find_version(
    state: &AppState,
    who: &Principal,
    id: &str,
    version: u32,
) -> ApiResult<StoredDefinition> {
    state
        .engine()
        .store()
        .definitions(Some(&who.agency))
        .await?
        .into_iter()
        .find(|d| d.workflow == id && d.version == version)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no version {version} of definition `{id}` is deployed in your agency"
            ))
        })
}

/// One deployed version: its metadata and the YAML it was deployed from.
#[utoipa::path(
    get, path = "/api/v1/definitions/{id}/versions/{version}", tag = "definitions",
    params(
        ("id" = String, Path, description = "The workflow (service) id"),
        ("version" = u32, Path, description = "The version"),
    ),
    responses(
        (status = 200, body = DefinitionDetail),
        (status = 400, description = "The version is not a number", body = Problem),
        (status = 404, description = "No such version in your agency", body = Problem),
        (status = 503, body = Problem),
    ),
)]
pub async fn get_version(
    State(state): State<AppState>,
    who: Principal,
    path: Result<Path<(String, u32)>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Json<DefinitionDetail>> {
    who.require(&[Role::Designer, Role::Officer, Role::Auditor])?;
    let Path((id, version)) = path.map_err(ApiError::from)?;
    let d = find_version(&state, &who, &id, version).await?;
    let title = with_compiled(&state, &d, title);
    Ok(Json(DefinitionDetail {
        id: d.workflow,
        version: d.version,
        agency: d.agency,
        hash: d.hash,
        in_force_from: d.in_force_from,
        title,
        source: d.source,
    }))
}
