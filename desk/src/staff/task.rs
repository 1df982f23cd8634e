//! One task: its request, due time and escalations, the claim, the form generated from the
//! task's schema, its outcomes (one button each), and reassignment within the agency. Each
//! action is the API's own handler, called with the officer's principal.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use daftar_api::auth::Role;
use daftar_api::routes::tasks::{
    CompleteTask, ReassignTask, SUPERVISOR, TaskItem, TaskPath, claim as api_claim,
    complete as api_complete, get_task, reassign as api_reassign,
};
use minijinja::context;

use crate::Desk;
use crate::citizen::form::{self, Field};
use crate::render::{self, DeskError};
use crate::session::{Posted, Visit};

fn task_path(id: &str, task: &str) -> TaskPath {
    TaskPath {
        id: id.to_owned(),
        task: task.to_owned(),
    }
}

async fn load(desk: &Desk, visit: &Visit, id: &str, task: &str) -> Result<TaskItem, DeskError> {
    let who = visit.with_role(&[Role::Officer])?;
    let Json(item) = get_task(
        State(desk.api().clone()),
        who.clone(),
        Ok(Path(task_path(id, task))),
    )
    .await?;
    Ok(item)
}

/// `GET /requests/{id}/tasks/{task}`.
pub async fn page(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path((id, task)): Path<(String, String)>,
) -> Result<Response, DeskError> {
    let item = load(&desk, &visit, &id, &task).await?;
    let fields = item
        .form_schema
        .as_ref()
        .map(form::fields)
        .unwrap_or_default();
    Ok(task_page(
        &desk,
        &visit,
        &item,
        StatusCode::OK,
        &fields,
        &[],
    ))
}

fn task_page(
    desk: &Desk,
    visit: &Visit,
    item: &TaskItem,
    status: StatusCode,
    fields: &[Field],
    form_errors: &[crate::citizen::form::Msg],
) -> Response {
    let who = visit.who.as_ref();
    let now = desk.api().engine().now();
    render::page(
        visit,
        status,
        "task.html",
        context! {
            task => render::value(item),
            left => super::worklist::countdown(visit.lang, item.due_at, now),
            fields => render::value(fields),
            form_errors => render::value(form_errors),
            mine => who.is_some_and(|w| item.officer.as_deref() == Some(w.subject.as_str())),
            supervisor => who.is_some_and(|w| w.holds_task_role(SUPERVISOR)),
            roles => who.map(|w| w.task_roles.clone()).unwrap_or_default(),
        },
    )
}

/// `POST …/claim`.
pub async fn claim(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path((id, task)): Path<(String, String)>,
    _checked: Posted,
) -> Result<Response, DeskError> {
    let who = visit.with_role(&[Role::Officer])?;
    let _claimed = api_claim(
        State(desk.api().clone()),
        who.clone(),
        Ok(Path(task_path(&id, &task))),
        HeaderMap::new(),
    )
    .await?;
    Ok(Redirect::to(&format!("/requests/{id}/tasks/{task}")).into_response())
}

/// `POST …/complete`: the form, read by the task's schema, and the outcome of the button.
pub async fn complete(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path((id, task)): Path<(String, String)>,
    Posted(submitted): Posted,
) -> Result<Response, DeskError> {
    let item = load(&desk, &visit, &id, &task).await?;
    let who = visit.with_role(&[Role::Officer])?;
    let schema = item.form_schema.clone().unwrap_or_default();
    let (data, mut fields) = form::read(&schema, &submitted);
    if fields.iter().any(|f| !f.errors.is_empty()) {
        return Ok(task_page(
            &desk,
            &visit,
            &item,
            StatusCode::UNPROCESSABLE_ENTITY,
            &fields,
            &[],
        ));
    }
    let body = CompleteTask {
        outcome: form::value(&submitted, "outcome"),
        form: data,
    };
    let done = api_complete(
        State(desk.api().clone()),
        who.clone(),
        Ok(Path(task_path(&id, &task))),
        HeaderMap::new(),
        Ok(Json(body)),
    )
    .await;
    match done {
        Ok(_) => Ok(Redirect::to("/tasks").into_response()),
        Err(e) if !e.errors.is_empty() => {
            let rest = form::place(&mut fields, &form::violations(&e));
            Ok(task_page(
                &desk,
                &visit,
                &item,
                StatusCode::UNPROCESSABLE_ENTITY,
                &fields,
                &rest,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST …/reassign`: to another task role of the agency, or to an officer.
pub async fn reassign(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Path((id, task)): Path<(String, String)>,
    Posted(submitted): Posted,
) -> Result<Response, DeskError> {
    let who = visit.with_role(&[Role::Officer])?;
    let some = |name: &str| Some(form::value(&submitted, name)).filter(|v| !v.trim().is_empty());
    let _moved = api_reassign(
        State(desk.api().clone()),
        who.clone(),
        Ok(Path(task_path(&id, &task))),
        HeaderMap::new(),
        Ok(Json(ReassignTask {
            role: some("role"),
            officer: some("officer"),
        })),
    )
    .await?;
    Ok(Redirect::to("/tasks").into_response())
}
