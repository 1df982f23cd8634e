//! The YAML editor: the API's `validate` as one types (htmx posts the form a moment after
//! each change and swaps in the diagnostics; without JavaScript, the Check button does the
//! same), each diagnostic at its line and column with a link to its code's page, and the
//! API's `deploy` for a new version, and its what-if: the service's recorded requests run
//! through the definition being written, before it is deployed. The code pages are
//! `docs/errors/*.md`, built into the binary.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use daftar_api::auth::{Principal, Role};
use daftar_api::routes::definitions::{
    DeployError, DiagnosticView, ValidationReport, deploy as api_deploy, get_version, validate,
};
use daftar_api::routes::whatif::{WhatIfParams, run as api_what_if};
use minijinja::context;
use serde::Deserialize;

use crate::Desk;
use crate::citizen::form;
use crate::render::{self, DeskError};
use crate::session::{Posted, Visit};

include!(concat!(env!("OUT_DIR"), "/error_pages.rs"));

/// Where the editor starts.
#[derive(Debug, Deserialize)]
pub struct Start {
    /// A deployed version to start from, `id@version`.
    pub from: Option<String>,
}

/// `GET /designer/edit[?from=id@version]`.
pub async fn page(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Query(start): Query<Start>,
) -> Result<Response, DeskError> {
    let who = visit.with_role(&[Role::Designer])?;
    let mut source = String::new();
    if let Some((id, version)) = start.from.as_deref().and_then(|f| f.split_once('@'))
        && let Ok(version) = version.parse::<u32>()
    {
        let axum::Json(d) = get_version(
            State(desk.api().clone()),
            who.clone(),
            Ok(Path((id.to_owned(), version))),
        )
        .await?;
        source = d.source;
    }
    Ok(editor(&visit, StatusCode::OK, &source, Beside::default()))
}

/// What the editor shows beside the source.
#[derive(Debug, Default)]
struct Beside {
    /// The validation's report.
    report: Option<minijinja::Value>,
    /// The version just deployed.
    deployed: Option<minijinja::Value>,
    /// The what-if's answer.
    what_if: Option<minijinja::Value>,
}

impl Beside {
    fn reported(report: minijinja::Value) -> Beside {
        Beside {
            report: Some(report),
            ..Beside::default()
        }
    }
}

fn editor(visit: &Visit, status: StatusCode, source: &str, beside: Beside) -> Response {
    let Beside {
        report,
        deployed,
        what_if,
    } = beside;
    render::page(
        visit,
        status,
        "editor.html",
        context! { source => source, report => report, deployed => deployed, what_if => what_if },
    )
}

/// How many of the service's newest requests the editor's what-if runs.
const WHAT_IF_REQUESTS: u32 = 100;

/// `POST /designer/what-if`: the service's newest recorded requests run through the definition
/// in the editor, which is not deployed: how many would go the same way, and each that would
/// not, with why.
pub async fn what_if(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Posted(submitted): Posted,
) -> Result<Response, DeskError> {
    let (who, source) = designer_source(&visit, &submitted)?;
    let checked = checked(&desk, &visit, &source).await?;
    let report = render::value(&checked);
    let Some(id) = checked.id.filter(|_| checked.valid) else {
        return Ok(refused(&visit, &source, report));
    };
    let ran = api_what_if(
        State(desk.api().clone()),
        who.clone(),
        Ok(Path(id)),
        Ok(Query(WhatIfParams {
            limit: Some(WHAT_IF_REQUESTS),
        })),
        yaml_headers(),
        Ok(Bytes::from(source.clone())),
    )
    .await;
    let what_if = match ran {
        Ok(axum::Json(r)) => render::value(&r),
        // A service never deployed has no recorded requests to run.
        Err(DeployError::Api(e)) if e.status == StatusCode::NOT_FOUND => {
            render::value(serde_json::json!({"none": true}))
        }
        Err(DeployError::Api(e)) => return Err(e.into()),
        Err(DeployError::Invalid(diagnostics)) => {
            return Ok(invalid(&visit, &source, diagnostics));
        }
    };
    let beside = Beside {
        what_if: Some(what_if),
        ..Beside::reported(report)
    };
    Ok(editor(&visit, StatusCode::OK, &source, beside))
}

/// The editor answering 422 with the report on the definition it could not take.
fn refused(visit: &Visit, source: &str, report: minijinja::Value) -> Response {
    editor(
        visit,
        StatusCode::UNPROCESSABLE_ENTITY,
        source,
        Beside::reported(report),
    )
}

/// [`refused`] with the diagnostics of an invalid definition.
fn invalid(visit: &Visit, source: &str, diagnostics: Vec<DiagnosticView>) -> Response {
    let report = render::value(Invalid {
        valid: false,
        diagnostics,
    });
    refused(visit, source, report)
}

/// The designer posting, and the definition's source they posted.
fn designer_source<'v>(
    visit: &'v Visit,
    submitted: &[(String, String)],
) -> Result<(&'v Principal, String), DeskError> {
    let who = visit.with_role(&[Role::Designer])?;
    Ok((who, form::value(submitted, "source")))
}

fn yaml_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    h
}

/// The API's validation of `source`, as a designer.
async fn checked(desk: &Desk, visit: &Visit, source: &str) -> Result<ValidationReport, DeskError> {
    let who = visit.with_role(&[Role::Designer])?;
    let axum::Json(report) = validate(
        State(desk.api().clone()),
        who.clone(),
        yaml_headers(),
        Ok(Bytes::from(source.to_owned())),
    )
    .await?;
    Ok(report)
}

async fn report(desk: &Desk, visit: &Visit, source: &str) -> Result<minijinja::Value, DeskError> {
    Ok(render::value(&checked(desk, visit, source).await?))
}

/// `POST /designer/check`: the diagnostics; only them for htmx, else the whole editor.
pub async fn check(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    headers: HeaderMap,
    Posted(submitted): Posted,
) -> Result<Response, DeskError> {
    let source = form::value(&submitted, "source");
    let report = report(&desk, &visit, &source).await?;
    if headers.contains_key("hx-request") {
        let html = render::render(&visit, "diagnostics.html", context! { report => report })
            .map_err(|e| {
                tracing::error!(error = %e, "the diagnostics did not render");
                DeskError::from(daftar_api::problem::ApiError::unavailable())
            })?;
        return Ok(Html(html).into_response());
    }
    Ok(editor(
        &visit,
        StatusCode::OK,
        &source,
        Beside::reported(report),
    ))
}

/// `POST /designer/deploy`: a new version, or the editor with every diagnostic.
pub async fn deploy(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Posted(submitted): Posted,
) -> Result<Response, DeskError> {
    let (who, source) = designer_source(&visit, &submitted)?;
    let done = api_deploy(
        State(desk.api().clone()),
        who.clone(),
        yaml_headers(),
        Ok(Bytes::from(source.clone())),
    )
    .await;
    match done {
        Ok(response) => {
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .map_err(|_| DeskError::from(daftar_api::problem::ApiError::unavailable()))?;
            let deployed: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let report = report(&desk, &visit, &source).await?;
            let beside = Beside {
                deployed: Some(render::value(&deployed)),
                ..Beside::reported(report)
            };
            Ok(editor(&visit, StatusCode::OK, &source, beside))
        }
        Err(DeployError::Invalid(diagnostics)) => Ok(invalid(&visit, &source, diagnostics)),
        Err(DeployError::Api(e)) => Err(e.into()),
    }
}

#[derive(serde::Serialize)]
struct Invalid {
    valid: bool,
    diagnostics: Vec<DiagnosticView>,
}

/// `GET /errors/{code}`: a diagnostic code's page, as written in `docs/errors/`.
pub async fn error_page(
    Extension(visit): Extension<Visit>,
    Path(code): Path<String>,
) -> Result<Response, DeskError> {
    let (code, text) = PAGES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(&code))
        .ok_or_else(DeskError::not_found)?;
    Ok(render::page(
        &visit,
        StatusCode::OK,
        "error_code.html",
        context! { code => *code, text => *text },
    ))
}
