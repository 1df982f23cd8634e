//! The agency's service catalog and each service's published conditions, read from its
//! definition: how long it takes (its SLA), what it costs (its payment steps), what the
//! citizen provides (its input schema) and which facts daftar fetches from other agencies
//! instead (its inquiries), so that nobody is asked for a paper another agency holds.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use daftar_api::auth::Role;
use daftar_definitions::model::StepKindRef;
use daftar_engine::Definition;
use minijinja::context;
use serde::Serialize;

use super::form::{self, Field};
use crate::Desk;
use crate::i18n::Lang;
use crate::render::{self, DeskError};
use crate::session::Visit;

/// A service as the catalog shows it.
#[derive(Debug, Serialize)]
pub struct Service {
    /// The workflow id.
    pub id: String,
    /// Its version in force.
    pub version: u32,
    /// Its names.
    pub title: daftar_api::views::Label,
    /// What it does, as its designer wrote it.
    pub description: Option<String>,
    /// How long it takes at most, in words.
    pub expected_time: daftar_api::views::Label,
    /// Whether no person decides an ordinary request: every step is an inquiry, a rule or a
    /// message.
    pub smart: bool,
    /// What the applicant pays.
    pub costs: Vec<Cost>,
    /// The facts fetched from other agencies.
    pub fetched: Vec<Fetched>,
}

/// A payment of a service.
#[derive(Debug, Serialize)]
pub struct Cost {
    /// What it is for.
    pub title: Option<daftar_api::views::Label>,
    /// The amount in rials when the definition fixes it; else it is set while the request is
    /// handled.
    pub rials: Option<String>,
}

/// A fact fetched from another agency.
#[derive(Debug, Serialize)]
pub struct Fetched {
    /// The step's name.
    pub title: Option<daftar_api::views::Label>,
    /// The agency asked.
    pub agency: String,
    /// The operation.
    pub operation: String,
}

/// The services of the caller's agency a citizen can file, by title.
pub fn services(desk: &Desk, agency: &str) -> Vec<Arc<Definition>> {
    let engine = desk.api().engine();
    let now = engine.now();
    let mut out: Vec<Arc<Definition>> = engine
        .registry()
        .workflows()
        .into_iter()
        .filter(|(a, _)| a == agency)
        .filter_map(|(a, w)| engine.registry().in_force(&a, &w, now))
        .filter(|d| d.compiled().workflow().triggers.request)
        .collect();
    out.sort_by(|a, b| a.compiled().workflow().id.cmp(&b.compiled().workflow().id));
    out
}

/// The catalog's view of a service.
pub fn describe(desk: &Desk, def: &Definition) -> Service {
    let wf = def.compiled().workflow();
    let mut costs = Vec::new();
    let mut fetched = Vec::new();
    let mut smart = true;
    for step in def.compiled().steps() {
        match step.kind() {
            Some(StepKindRef::Payment(p)) => costs.push(Cost {
                title: p.description.as_ref().map(Into::into),
                rials: p
                    .amount
                    .as_str()
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .map(|n| n.to_string()),
            }),
            Some(StepKindRef::Inquiry(q)) => fetched.push(Fetched {
                title: step.title.as_ref().map(Into::into),
                agency: desk
                    .api()
                    .catalog()
                    .and_then(|c| c.connectors.get(&q.connector))
                    .map_or_else(|| q.connector.clone(), |c| c.agency.clone()),
                operation: q.operation.clone(),
            }),
            Some(StepKindRef::Task(_)) => smart = false,
            _ => {}
        }
    }
    Service {
        id: wf.id.clone(),
        version: wf.version,
        title: (&wf.title).into(),
        description: wf.description.clone(),
        expected_time: span_words(wf.sla),
        smart,
        costs,
        fetched,
    }
}

/// A duration in whole days, hours or minutes, in both languages.
/// A service level as a citizen reads it: clock time, or working days and hours.
pub fn span_words(span: daftar_definitions::model::Span) -> daftar_api::views::Label {
    use daftar_definitions::model::Span;
    match span {
        Span::Fixed(d) => duration_words(d.0),
        Span::Working(w) => {
            let hours = w.minutes.div_ceil(60);
            let fa_n = |n: u32| crate::i18n::digits(Lang::Fa, &n.to_string());
            let (fa, en) = match (w.days, hours) {
                (d, 0) => (format!("{} روز کاری", fa_n(d)), format!("{d} working days")),
                (0, h) => (
                    format!("{} ساعت کاری", fa_n(h)),
                    format!("{h} working hours"),
                ),
                (d, h) => (
                    format!("{} روز و {} ساعت کاری", fa_n(d), fa_n(h)),
                    format!("{d} working days and {h} hours"),
                ),
            };
            daftar_api::views::Label { fa, en }
        }
    }
}

pub fn duration_words(d: std::time::Duration) -> daftar_api::views::Label {
    let s = d.as_secs();
    let (n, fa, en) = if s >= 86_400 && s.is_multiple_of(86_400) {
        (s / 86_400, "روز", "days")
    } else if s >= 3600 {
        (s.div_ceil(3600), "ساعت", "hours")
    } else {
        (s.div_ceil(60).max(1), "دقیقه", "minutes")
    };
    daftar_api::views::Label {
        fa: format!("{} {fa}", crate::i18n::digits(Lang::Fa, &n.to_string())),
        en: format!("{n} {en}"),
    }
}

/// `GET /services`: the catalog.
pub async fn catalog(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
) -> Result<Response, DeskError> {
    let who = visit.with_role(&[Role::Citizen])?;
    let list: Vec<Service> = services(&desk, &who.agency)
        .iter()
        .map(|d| describe(&desk, d))
        .collect();
    Ok(render::page(
        &visit,
        StatusCode::OK,
        "catalog.html",
        context! { services => crate::render::value(&list) },
    ))
}

/// The service `id` in force in the caller's agency, if a citizen can file it.
pub fn find(desk: &Desk, agency: &str, id: &str) -> Result<Arc<Definition>, DeskError> {
    let engine = desk.api().engine();
    engine
        .registry()
        .in_force(agency, id, engine.now())
        .filter(|d| d.compiled().workflow().triggers.request)
        .ok_or_else(DeskError::not_found)
}

/// `GET /services/{id}`: the conditions and the application form.
pub async fn service(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path(id): Path<String>,
) -> Result<Response, DeskError> {
    let who = visit.with_role(&[Role::Citizen])?;
    let def = find(&desk, &who.agency, &id)?;
    let fields = form::fields(&def.compiled().workflow().input.schema);
    Ok(service_page(
        &desk,
        &visit,
        &def,
        StatusCode::OK,
        &fields,
        &[],
    ))
}

/// The service's page: its conditions and its form, with the errors of a filing refused.
pub fn service_page(
    desk: &Desk,
    visit: &Visit,
    def: &Definition,
    status: StatusCode,
    fields: &[Field],
    form_errors: &[super::form::Msg],
) -> Response {
    render::page(
        visit,
        status,
        "service.html",
        context! {
            service => crate::render::value(describe(desk, def)),
            fields => crate::render::value(fields),
            form_errors => crate::render::value(form_errors),
            filing => form::filing_key(),
        },
    )
}
