//! Human tasks: the worklist of the caller's task roles (`GET /api/v1/tasks`), one task with
//! its form (`GET /api/v1/requests/{id}/tasks/{task}`), and claiming, completing and
//! reassigning a task (`POST …/tasks/{task}/claim|complete|reassign`).
//!
//! Who may work a task: an admin of the agency, or an officer holding the task's role in the
//! token's `task_roles`. A task whose step names `candidate_groups` instead of a role (and that
//! has not been escalated or reassigned to a role since) may be worked by an officer holding
//! any of the groups as a task role. Reassigning needs an admin or an officer holding the task
//! role [`SUPERVISOR`].
//!
//! Writes honour `Idempotency-Key`: the same key for the same task and action is one command
//! (`task:{task}:{action}:{key}`), so a retried call changes nothing twice.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use daftar_engine::Definition;
use daftar_engine::core::{Command, InstanceState, TaskState};
use daftar_engine::events::{Actor, StreamId};
use daftar_engine::store::{Seek, TaskKey, WorkQuery};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use crate::auth::{Principal, Role};
use crate::lookup::load_request;
use crate::openapi::NeedsToken;
use crate::problem::{ApiError, ApiResult, ErrorCode, Problem};
use crate::state::AppState;
use crate::views::{Label, RequestView};

/// The task role that may reassign any task of the agency (admins may too).
pub const SUPERVISOR: &str = "supervisor";

/// How many worklist items an answer holds when the caller does not say.
const DEFAULT_LIMIT: u32 = 200;

/// The OpenAPI part of this module.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(worklist, get_task, claim, complete, reassign),
    components(schemas(TaskItem, TaskList, CompleteTask, ReassignTask)),
    modifiers(&NeedsToken, &NoSuchTask)
)]
pub struct Doc;

/// Every route of one task answers 404 when the request or the task is not found: said once
/// here rather than in each handler's annotation.
#[derive(Debug)]
struct NoSuchTask;

impl Modify for NoSuchTask {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            if !path.contains("/tasks/{task}") {
                continue;
            }
            for op in crate::openapi::operations(item) {
                op.responses.responses.insert(
                    "404".to_owned(),
                    RefOr::T(crate::openapi::problem(
                        "No such request in your agency, or no such task",
                    )),
                );
            }
        }
    }
}

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tasks", get(worklist))
        .route("/api/v1/requests/{id}/tasks/{task}", get(get_task))
        .route("/api/v1/requests/{id}/tasks/{task}/claim", post(claim))
        .route(
            "/api/v1/requests/{id}/tasks/{task}/complete",
            post(complete),
        )
        .route(
            "/api/v1/requests/{id}/tasks/{task}/reassign",
            post(reassign),
        )
}

/// A task, with what a UI needs to show it and render its form.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskItem {
    /// The request id.
    pub request_id: String,
    /// The request's tracking code.
    pub tracking_code: String,
    /// The service (workflow id).
    pub service: String,
    /// The version of the service the request runs.
    pub service_version: u32,
    /// The step the task belongs to.
    pub step: String,
    /// The step's title, when the definition gives one.
    pub step_title: Option<Label>,
    /// The task id, unique in its request.
    pub task_id: String,
    /// The role that may work it now; `null` when the step names candidate groups instead.
    pub role: Option<String>,
    /// The groups that may work it when it has no role.
    pub candidate_groups: Vec<String>,
    /// The officer who claimed it (or was given it).
    pub officer: Option<String>,
    /// The deadline.
    pub due_at: DateTime<Utc>,
    /// Whether the deadline has passed.
    pub overdue: bool,
    /// How many times it was escalated.
    pub escalations: u32,
    /// What its last escalation tells the officers it moved to (the escalation's `notify`
    /// template, in Persian): officers are told here, not by SMS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// Whether it is still open.
    pub open: bool,
    /// The id of the form to fill in, if the task has one.
    pub form: Option<String>,
    /// The form's title, when the definition gives one.
    pub form_title: Option<Label>,
    /// The form's JSON Schema. Only in the answers about one task (not in the worklist).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub form_schema: Option<Value>,
    /// The outcomes an officer may choose.
    pub outcomes: Vec<String>,
}

/// A worklist.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskList {
    /// Open tasks, earliest deadline first.
    pub items: Vec<TaskItem>,
    /// Whether more tasks follow this page.
    pub truncated: bool,
    /// The cursor of the next page (give it as `after`), when more tasks follow.
    pub next: Option<String>,
    /// The cursor of the previous page (give it as `before`), when tasks come before this one.
    pub previous: Option<String>,
}

/// Filters of the worklist.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorklistParams {
    /// Only the tasks claimed by the caller.
    pub mine: Option<bool>,
    /// Only the tasks of this task role, which the caller must hold.
    pub role: Option<String>,
    /// At most this many (default 200, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The page after this cursor (a worklist's `next`).
    pub after: Option<String>,
    /// The page before this cursor (a worklist's `previous`).
    pub before: Option<String>,
}

/// The completion of a task.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CompleteTask {
    /// One of the task's outcomes.
    pub outcome: String,
    /// The filled form; checked against the form's schema. Left out, an empty object.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub form: Value,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// Where a task goes: to another role (its claim is released), to an officer, or both.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReassignTask {
    /// The task role that may work it from now on.
    pub role: Option<String>,
    /// The officer who holds it from now on.
    pub officer: Option<String>,
}

/// The request and the task of a route's path, as the document names them.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TaskPath {
    /// The request id or its tracking code
    pub id: String,
    /// The task id
    pub task: String,
}

/// Whether `who` may work `task`: an admin, or an officer holding its role (or, for a task
/// without a role, one of its candidate groups).
pub fn may_work(who: &Principal, task: &TaskState) -> bool {
    match &task.role {
        Some(role) => who.holds_task_role(role),
        None => {
            who.roles.contains(&Role::Admin)
                || task.candidate_groups.iter().any(|g| who.holds_task_role(g))
        }
    }
}

/// The task roles that may work `task` now.
fn eligible_roles(task: &TaskState) -> Vec<&str> {
    match &task.role {
        Some(role) => vec![role.as_str()],
        None => task.candidate_groups.iter().map(String::as_str).collect(),
    }
}

/// The caller's worklist: the open tasks of their agency that their task roles let them work
/// (every open task for an admin), earliest deadline first.
///
/// `mine=true` keeps the tasks the caller has claimed; `role` keeps those of one task role the
/// caller holds.
#[utoipa::path(
    get, path = "/api/v1/tasks", tag = "tasks",
    params(WorklistParams),
    responses(
        (status = 200, body = TaskList),
        (status = 400, description = "A malformed query", body = Problem),
        (status = 403, description = "Not an officer, or `role` is not one of the caller's task roles", body = Problem),
    ),
)]
pub async fn worklist(
    State(state): State<AppState>,
    who: Principal,
    params: Result<Query<WorklistParams>, QueryRejection>,
) -> ApiResult<Json<TaskList>> {
    who.require(&[Role::Officer])?;
    let Query(p) = params.map_err(ApiError::from)?;
    if let Some(role) = &p.role
        && !who.holds_task_role(role)
    {
        return Err(ApiError::forbidden(format!(
            "the token does not hold the task role `{role}`"
        )));
    }
    let limit = crate::paging::limit(p.limit, DEFAULT_LIMIT)? as usize;
    let seek = crate::paging::seek::<TaskKey>(p.after.as_deref(), p.before.as_deref())?;
    let admin = who.roles.contains(&Role::Admin);
    if !admin && who.task_roles.is_empty() {
        return Ok(Json(TaskList {
            items: Vec::new(),
            truncated: false,
            next: None,
            previous: None,
        }));
    }
    let mine = p.mine.unwrap_or(false);
    let engine = state.engine();
    let now = engine.now();
    let forward = !matches!(seek, Some(Seek::Before(_)));
    let by_cursor = seek.is_some();
    // The store narrows by role and officer; what only the instance knows (candidate groups,
    // a claim newer than the row) is checked on each row, a chunk of rows at a time, until
    // the page is full and one more is found.
    let mut query = WorkQuery {
        roles: match (&p.role, admin) {
            (Some(role), _) => Some(vec![role.clone()]),
            (None, true) => None,
            (None, false) => Some(who.task_roles.clone()),
        },
        officer: mine.then(|| who.subject.clone()),
        open_only: true,
        seek,
        limit: limit as u32 + 1,
    };
    let mut loaded: HashMap<StreamId, (InstanceState, Option<Arc<Definition>>)> = HashMap::new();
    let mut items: Vec<(TaskKey, TaskItem)> = Vec::new();
    let mut more = false;
    'chunks: loop {
        let mut rows = engine
            .store()
            .worklist_page(&who.agency, &query)
            .await
            .map_err(ApiError::from)?;
        let full = rows.len() == query.limit as usize;
        // In the order the page is read: forwards, or backwards from a `before`.
        if !forward {
            rows.reverse();
        }
        let Some(last) = rows.last() else {
            break;
        };
        let resume = last.key();
        for row in rows {
            if !loaded.contains_key(&row.stream) {
                let s = engine.state(&row.stream).await?;
                let def = engine.definition_of(&s).ok();
                loaded.insert(row.stream.clone(), (s, def));
            }
            let Some((s, def)) = loaded.get(&row.stream) else {
                continue;
            };
            let Some(t) = s.tasks.get(&row.task.id) else {
                continue;
            };
            if !t.open || !may_work(&who, t) {
                continue;
            }
            if let Some(wanted) = &p.role
                && !eligible_roles(t).contains(&wanted.as_str())
            {
                continue;
            }
            if mine && t.officer.as_deref() != Some(who.subject.as_str()) {
                continue;
            }
            if items.len() == limit {
                more = true;
                break 'chunks;
            }
            let key = row.key();
            items.push((
                key,
                item(&row.stream, s, def.as_deref(), &row.task.id, t, now, false),
            ));
        }
        if !full {
            break;
        }
        query.seek = Some(if forward {
            Seek::After(resume)
        } else {
            Seek::Before(resume)
        });
    }
    if !forward {
        items.reverse();
    }
    let cursor = |i: Option<&(TaskKey, TaskItem)>| i.map(|(k, _)| crate::paging::cursor(k));
    let (next, previous) = if forward {
        (
            cursor(items.last()).filter(|_| more),
            cursor(items.first()).filter(|_| by_cursor),
        )
    } else {
        (cursor(items.last()), cursor(items.first()).filter(|_| more))
    };
    Ok(Json(TaskList {
        truncated: next.is_some() && forward,
        items: items.into_iter().map(|(_, i)| i).collect(),
        next,
        previous,
    }))
}

/// One task of a request, with its form's schema.
#[utoipa::path(
    get, path = "/api/v1/requests/{id}/tasks/{task}", tag = "tasks",
    params(
        TaskPath,
    ),
    responses(
        (status = 200, body = TaskItem),
        (status = 403, description = "The caller may not work this task and is no supervisor", body = Problem),
    ),
)]
pub async fn get_task(
    State(state): State<AppState>,
    who: Principal,
    path: Result<Path<TaskPath>, PathRejection>,
) -> ApiResult<Json<TaskItem>> {
    who.require(&[Role::Officer])?;
    let Path(TaskPath { id, task }) = path.map_err(ApiError::from)?;
    let (stream, s) = load_request(&state, &who, &id).await?;
    let t = find_task(&s, &task)?;
    if !may_work(&who, t) && !who.holds_task_role(SUPERVISOR) {
        return Err(no_role(t));
    }
    Ok(Json(answer(&state, &stream, &s, &task)?))
}

/// Claim a task for the caller. Claiming a task one already holds changes nothing.
#[utoipa::path(
    post, path = "/api/v1/requests/{id}/tasks/{task}/claim", tag = "tasks",
    params(
        TaskPath,
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried claim one command"),
    ),
    responses(
        (status = 200, description = "Claimed by the caller", body = TaskItem),
        (status = 400, description = "A malformed Idempotency-Key", body = Problem),
        (status = 403, description = "The caller does not hold the task's role", body = Problem),
        (status = 409, description = "Claimed by another officer (`not-allowed`), closed (`stale`) or the request ended (`ended`)", body = Problem),
        (status = 422, description = "The Idempotency-Key was used for another command on this task (`idempotency-key-reused`)", body = Problem),
    ),
)]
pub async fn claim(
    State(state): State<AppState>,
    who: Principal,
    path: Result<Path<TaskPath>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult<Json<TaskItem>> {
    who.require(&[Role::Officer])?;
    let Path(TaskPath { id, task }) = path.map_err(ApiError::from)?;
    crate::idempotency::header(&headers)?;
    let (stream, s) = load_request(&state, &who, &id).await?;
    let t = find_task(&s, &task)?;
    if !may_work(&who, t) {
        return Err(no_role(t));
    }
    let command = Command::ClaimTask {
        task: task.clone(),
        officer: who.subject.clone(),
    };
    let s = run(&state, &who, &headers, &stream, &command, &task, "claim").await?;
    Ok(Json(answer(&state, &stream, &s, &task)?))
}

/// Complete a task with an outcome and its form; the request moves on.
///
/// A task nobody claimed may be completed directly (the completion names the caller as the
/// officer); one claimed by another officer may not.
#[utoipa::path(
    post, path = "/api/v1/requests/{id}/tasks/{task}/complete", tag = "tasks",
    params(
        TaskPath,
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried completion one command"),
        ("Prefer" = Option<String>, Header, description = "`wait=N` (RFC 7240): answer when the request ends or comes to rest again, or after N seconds (at most 30)"),
    ),
    request_body = CompleteTask,
    responses(
        (status = 200, description = "Completed; the request as it is now (with `Prefer: wait=N`, once it ended, came to rest or the wait ran out)", body = RequestView,
         headers(("Preference-Applied" = String, description = "`wait=N` when the wait was honoured"))),
        (status = 400, description = "A malformed body or Idempotency-Key", body = Problem),
        (status = 403, description = "The caller does not hold the task's role", body = Problem),
        (status = 409, description = "Claimed by another officer (`not-allowed`), closed (`stale`) or the request ended (`ended`)", body = Problem),
        (status = 422, description = "The outcome is not one of the task's (`unknown-outcome`), the form fails its schema (`invalid-form`), the body is not a `CompleteTask` (`bad-body`), or the Idempotency-Key was used for another command on this task (`idempotency-key-reused`)", body = Problem),
    ),
)]
pub async fn complete(
    State(state): State<AppState>,
    who: Principal,
    path: Result<Path<TaskPath>, PathRejection>,
    headers: HeaderMap,
    body: Result<Json<CompleteTask>, JsonRejection>,
) -> ApiResult<Response> {
    who.require(&[Role::Officer])?;
    let Path(TaskPath { id, task }) = path.map_err(ApiError::from)?;
    let Json(body) = body.map_err(ApiError::from)?;
    crate::idempotency::header(&headers)?;
    let (stream, s) = load_request(&state, &who, &id).await?;
    let t = find_task(&s, &task)?;
    if !may_work(&who, t) {
        return Err(no_role(t));
    }
    let engine = state.engine();
    if t.open {
        let def = engine.definition_of(&s)?;
        let outcomes = outcomes_of(&def, &t.step);
        if !outcomes.contains(&body.outcome) {
            return Err(ApiError::new(
                ErrorCode::UnknownOutcome,
                format!(
                    "task `{task}` has no outcome `{}`; choose one of: {}",
                    body.outcome,
                    outcomes.join(", ")
                ),
            ));
        }
        if let Some(form) = t
            .form
            .as_ref()
            .and_then(|f| def.compiled().workflow().forms.get(f))
        {
            crate::numbers::check(&form.schema, &body.form, ErrorCode::InvalidForm)?;
        }
    }
    // An officer's command is never charged to an SMS budget: a citizen filing with someone's
    // mobile number must not be able to stop the officers working that person's case.
    let command = Command::CompleteTask {
        task: task.clone(),
        officer: who.subject.clone(),
        outcome: body.outcome,
        form: body.form,
    };
    let wait = crate::wait::preferred(&headers);
    let s = run(&state, &who, &headers, &stream, &command, &task, "complete").await?;
    let Some(wait) = wait else {
        return Ok(Json(crate::views::view(&state, &who, &stream, &s)).into_response());
    };
    let s = crate::wait::settle(engine, &stream, wait).await?;
    let view = crate::views::view(&state, &who, &stream, &s);
    Ok(([crate::wait::applied(wait)], Json(view)).into_response())
}

/// Give a task to another task role (releasing its claim), to an officer, or both.
/// For admins and officers holding the task role `supervisor`.
#[utoipa::path(
    post, path = "/api/v1/requests/{id}/tasks/{task}/reassign", tag = "tasks",
    params(
        TaskPath,
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried reassignment one command"),
    ),
    request_body = ReassignTask,
    responses(
        (status = 200, description = "Reassigned", body = TaskItem),
        (status = 400, description = "Neither `role` nor `officer`, or a malformed body", body = Problem),
        (status = 403, description = "Neither an admin nor a supervisor", body = Problem),
        (status = 409, description = "The task is closed (`stale`) or the request ended (`ended`)", body = Problem),
        (status = 422, description = "The body is not a `ReassignTask` (`bad-body`), or the Idempotency-Key was used for another command on this task (`idempotency-key-reused`)", body = Problem),
    ),
)]
pub async fn reassign(
    State(state): State<AppState>,
    who: Principal,
    path: Result<Path<TaskPath>, PathRejection>,
    headers: HeaderMap,
    body: Result<Json<ReassignTask>, JsonRejection>,
) -> ApiResult<Json<TaskItem>> {
    who.require(&[Role::Officer])?;
    if !who.holds_task_role(SUPERVISOR) {
        return Err(ApiError::forbidden(format!(
            "reassigning a task needs an admin or the task role `{SUPERVISOR}`"
        )));
    }
    let Path(TaskPath { id, task }) = path.map_err(ApiError::from)?;
    let Json(body) = body.map_err(ApiError::from)?;
    crate::idempotency::header(&headers)?;
    let clean = |v: Option<String>| v.map(|s| s.trim().to_owned());
    let (role, officer) = (clean(body.role), clean(body.officer));
    if role.is_none() && officer.is_none() {
        return Err(ApiError::new(
            ErrorCode::BadBody,
            "give the task's new `role`, its new `officer`, or both",
        ));
    }
    if role.as_deref().is_some_and(str::is_empty) || officer.as_deref().is_some_and(str::is_empty) {
        return Err(ApiError::new(
            ErrorCode::BadBody,
            "`role` and `officer` may not be empty",
        ));
    }
    let (stream, s) = load_request(&state, &who, &id).await?;
    find_task(&s, &task)?;
    let command = Command::ReassignTask {
        task: task.clone(),
        role,
        officer,
    };
    let s = run(&state, &who, &headers, &stream, &command, &task, "reassign").await?;
    Ok(Json(answer(&state, &stream, &s, &task)?))
}

/// Executes `command` on the task under `task:{task}:{action}:{key}` (the same key repeats the
/// same command, which has one effect) and answers the request's state after it.
/// Runs a task command under the caller's `Idempotency-Key`, if any (the key and the command
/// together: the same key with another command on this request is refused).
async fn run(
    state: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    stream: &StreamId,
    command: &Command,
    task: &str,
    action: &str,
) -> ApiResult<InstanceState> {
    let prefix = format!("task:{task}:{action}");
    let id = crate::idempotency::command_id(state, who, headers, stream, &prefix, command).await?;
    let engine = state.engine();
    engine
        .execute(stream, command, &id, actor(who), None)
        .await?;
    Ok(engine.state(stream).await?)
}

fn find_task<'s>(s: &'s InstanceState, task: &str) -> ApiResult<&'s TaskState> {
    s.tasks
        .get(task)
        .ok_or_else(|| ApiError::not_found(format!("request has no task `{task}`")))
}

fn no_role(t: &TaskState) -> ApiError {
    let roles = eligible_roles(t);
    ApiError::forbidden(if roles.len() == 1 {
        format!("this task needs the task role `{}`", roles[0])
    } else {
        format!("this task needs one of the task roles {}", roles.join(", "))
    })
}

/// The view of one task, with its form's schema.
fn answer(
    state: &AppState,
    stream: &StreamId,
    s: &InstanceState,
    task: &str,
) -> ApiResult<TaskItem> {
    let t = find_task(s, task)?;
    let def = state.engine().definition_of(s).ok();
    Ok(item(
        stream,
        s,
        def.as_deref(),
        task,
        t,
        state.engine().now(),
        true,
    ))
}

fn item(
    stream: &StreamId,
    s: &InstanceState,
    def: Option<&Definition>,
    id: &str,
    t: &TaskState,
    now: DateTime<Utc>,
    with_schema: bool,
) -> TaskItem {
    let step = def.and_then(|d| d.compiled().step(&t.step));
    let form = def.and_then(|d| d.compiled().workflow().forms.get(t.form.as_ref()?));
    TaskItem {
        request_id: stream.instance.clone(),
        tracking_code: s.tracking_code.clone(),
        service: s.workflow.clone(),
        service_version: s.workflow_version,
        step: t.step.clone(),
        step_title: step.and_then(|st| st.title.as_ref()).map(Label::from),
        task_id: id.to_owned(),
        role: t.role.clone(),
        candidate_groups: t.candidate_groups.clone(),
        officer: t.officer.clone(),
        due_at: t.due_at,
        overdue: t.open && (t.overdue || t.due_at <= now),
        escalations: t.escalations,
        notice: t.notice.clone(),
        open: t.open,
        form: t.form.clone(),
        form_title: form.and_then(|f| f.title.as_ref()).map(Label::from),
        form_schema: if with_schema {
            form.map(|f| f.schema.clone())
        } else {
            None
        },
        outcomes: def.map(|d| outcomes_of(d, &t.step)).unwrap_or_default(),
    }
}

/// The outcomes of the task step `step`.
fn outcomes_of(def: &Definition, step: &str) -> Vec<String> {
    def.compiled()
        .step(step)
        .and_then(|s| s.task.as_ref())
        .map(|t| t.outcomes.keys().cloned().collect())
        .unwrap_or_default()
}

/// Who the history names: an officer (admins who are not officers act as operators).
fn actor(who: &Principal) -> Actor {
    if who.roles.contains(&Role::Officer) {
        Actor::Officer(who.subject.clone())
    } else {
        Actor::Operator(who.subject.clone())
    }
}
