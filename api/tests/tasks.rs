//! Router tests of human tasks: the worklist is scoped to the caller's task roles and agency;
//! a task is claimed by one officer, completed with a valid form and a known outcome, and
//! reassigned only by supervisors and admins.

use daftar_testkit::router as support;
use daftar_testkit::{
    closed_applicant_form, review_outcome_statuses, review_statuses, workflow_meta,
};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use daftar_api::auth::Role;
use serde_json::{Value, json};
use support::{Harness, Options, answered};

const AGENCY: &str = "test-agency";

/// A request with one clerk's task: a form with a required field, outcomes approve and reject.
const DESK_REVIEW: &str = concat!(
    workflow_meta!(
        "desk-review",
        "بررسی پرونده",
        "Desk review",
        "test-agency",
        "5d"
    ),
    closed_applicant_form!(),
    review_outcome_statuses!(),
    r#"forms:
  desk_check:
    title: { fa: بررسی مدارک, en: Document check }
    schema:
      type: object
      required: [documents_ok]
      additionalProperties: false
      properties:
        documents_ok: { type: boolean }
        notes: { type: string, maxLength: 500 }
steps:
  - id: review
    title: { fa: بررسی کارشناس, en: Clerk review }
    status: reviewing
    task:
      role: clerk
      form: desk_check
      due: 2d
      outcomes:
        approve: approve
        reject: reject
      output:
        documents_ok: form.documents_ok
  - id: approve
    status: approved
    end: { outcome: approved }
  - id: reject
    status: rejected
    end:
      outcome: rejected
      reason: { fa: مدارک کافی نیست., en: The documents are not sufficient. }
"#
);

/// A task for candidate groups instead of a role, with no form.
const GROUP_REVIEW: &str = concat!(
    workflow_meta!(
        "group-review",
        "بررسی گروهی",
        "Group review",
        "test-agency",
        "5d"
    ),
    closed_applicant_form!(),
    review_statuses!(),
    r#"steps:
  - id: panel
    status: reviewing
    task:
      candidate_groups: [licensing, inspection]
      due: 1d
      outcomes:
        approve: approve
  - id: approve
    status: approved
    end: { outcome: approved }
"#
);

async fn harness() -> Harness {
    Harness::with(Options {
        examples: vec![],
        sources: vec![DESK_REVIEW.to_owned(), GROUP_REVIEW.to_owned()],
        answers: json!({}),
        ..Options::default()
    })
    .await
}

/// An officer of the test agency named `subject`.
fn officer(h: &Harness, subject: &str, task_roles: &[&str]) -> String {
    h.keys
        .mint(
            subject,
            AGENCY,
            vec![Role::Officer],
            task_roles.iter().map(|s| s.to_string()).collect(),
            3600,
        )
        .unwrap()
}

/// One request's task, as its officers act on it.
struct Task<'a> {
    h: &'a Harness,
    id: String,
    task: String,
}

/// The clerk's approval: the documents are in order.
fn approval() -> Value {
    decided("approve", json!({"documents_ok": true}))
}

/// A completion's body: the outcome and the form.
fn decided(outcome: &str, form: Value) -> Value {
    json!({"outcome": outcome, "form": form})
}

impl Task<'_> {
    async fn claim(&self, token: &str) -> (StatusCode, Value) {
        act(self.h, Some(token), &self.id, &self.task, "claim", None).await
    }

    /// Completes the task with `body` (its outcome and form).
    async fn complete(&self, token: &str, body: Value) -> (StatusCode, Value) {
        act(
            self.h,
            Some(token),
            &self.id,
            &self.task,
            "complete",
            Some(body),
        )
        .await
    }

    /// Reassigns the task as `body` says (a role or an officer).
    async fn reassign(&self, token: &str, body: Value) -> (StatusCode, Value) {
        act(
            self.h,
            Some(token),
            &self.id,
            &self.task,
            "reassign",
            Some(body),
        )
        .await
    }
}

/// Officers of the test agency, each a subject with one task role.
fn officers<const N: usize>(h: &Harness, each: [(&str, &str); N]) -> [String; N] {
    each.map(|(subject, role)| officer(h, subject, &[role]))
}

/// Files a request of `service` and answers its id, its one task's id and that task.
async fn file<'a>(h: &'a Harness, service: &str) -> (String, String, Task<'a>) {
    let citizen = h.token(AGENCY, &[Role::Citizen], &[]);
    let (status, body) = h
        .post(
            "/api/v1/requests",
            &citizen,
            json!({
                "service": service,
                "input": {"national_id": "0499370899", "mobile": "09121234567"}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let seen = h
        .wait_for(AGENCY, &id, |v| {
            v["tasks"].as_array().is_some_and(|t| !t.is_empty())
        })
        .await;
    let task = seen["tasks"][0]["id"].as_str().unwrap().to_owned();
    let t = Task {
        h,
        id: id.clone(),
        task: task.clone(),
    };
    (id, task, t)
}

async fn worklist(h: &Harness, token: &str, query: &str) -> (StatusCode, Value) {
    h.get(&format!("/api/v1/tasks{query}"), token).await
}

fn task_ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["task_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn act(
    h: &Harness,
    token: Option<&str>,
    id: &str,
    task: &str,
    action: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    h.call(
        Method::POST,
        &format!("/api/v1/requests/{id}/tasks/{task}/{action}"),
        token,
        body,
    )
    .await
}

#[tokio::test]
async fn the_worklist_shows_tasks_to_officers_of_their_role_only() {
    let h = harness().await;
    let (id, task, t) = file(&h, "desk-review").await;
    let clerk = officer(&h, "alice", &["clerk"]);

    let (status, list) = worklist(&h, &clerk, "").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(task_ids(&list), vec![task.clone()]);
    let item = &list["items"][0];
    assert_eq!(item["request_id"], id);
    assert_eq!(item["service"], "desk-review");
    assert_eq!(item["step"], "review");
    assert_eq!(item["step_title"]["en"], "Clerk review");
    assert_eq!(item["role"], "clerk");
    assert_eq!(item["officer"], Value::Null);
    assert_eq!(item["overdue"], false);
    assert_eq!(item["form"], "desk_check");
    assert_eq!(item["form_title"]["en"], "Document check");
    assert_eq!(item["outcomes"], json!(["approve", "reject"]));
    assert!(item["tracking_code"].as_str().unwrap().len() == 10);
    assert!(item["due_at"].is_string());
    // The worklist stays light: the form's schema comes with one task.
    assert!(item.get("form_schema").is_none(), "{item}");

    // Narrowed to a role the officer holds; refused for one they do not.
    let (status, narrowed) = worklist(&h, &clerk, "?role=clerk").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(task_ids(&narrowed), vec![task.clone()]);
    let (status, refused) = worklist(&h, &clerk, "?role=supervisor").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");

    // An officer without the role sees nothing; nor does one of another agency.
    let other = officer(&h, "bob", &["cashier"]);
    let (status, none) = worklist(&h, &other, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(task_ids(&none).is_empty(), "{none}");
    let elsewhere = h.token("other-agency", &[Role::Officer], &["clerk"]);
    let (status, none) = worklist(&h, &elsewhere, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(task_ids(&none).is_empty(), "{none}");

    // Admins see every task of the agency; auditors and citizens are not officers.
    let admin = h.token(AGENCY, &[Role::Admin], &[]);
    let (_, all) = worklist(&h, &admin, "").await;
    assert_eq!(task_ids(&all), vec![task.clone()]);
    let auditor = h.token(AGENCY, &[Role::Auditor], &[]);
    assert_eq!(worklist(&h, &auditor, "").await.0, StatusCode::FORBIDDEN);

    // `mine` keeps the tasks the caller claimed.
    let (_, mine) = worklist(&h, &clerk, "?mine=true").await;
    assert!(task_ids(&mine).is_empty());
    let (status, _) = t.claim(&clerk).await;
    assert_eq!(status, StatusCode::OK);
    let (_, mine) = worklist(&h, &clerk, "?mine=true").await;
    assert_eq!(task_ids(&mine), vec![task.clone()]);
    assert_eq!(mine["items"][0]["officer"], "alice");
    let colleague = officer(&h, "carol", &["clerk"]);
    let (_, theirs) = worklist(&h, &colleague, "?mine=true").await;
    assert!(task_ids(&theirs).is_empty());
    // Claimed tasks stay on the role's worklist, with their officer.
    let (_, all) = worklist(&h, &colleague, "").await;
    assert_eq!(all["items"][0]["officer"], "alice");

    // No token, no worklist.
    let (status, _) = h.call(Method::GET, "/api/v1/tasks", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = h.get("/api/v1/tasks?mine=maybe", &clerk).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_claimed_task_is_completed_with_a_valid_form_and_the_request_ends() {
    let h = harness().await;
    let (id, _, t) = file(&h, "desk-review").await;
    let [alice, bob] = officers(&h, [("alice", "clerk"), ("bob", "clerk")]);

    let claimed = answered(t.claim(&alice).await, StatusCode::OK);
    assert_eq!(claimed["officer"], "alice");
    assert_eq!(claimed["open"], true);
    assert_eq!(
        claimed["form_schema"]["required"],
        json!(["documents_ok"]),
        "{claimed}"
    );
    // Claiming again changes nothing; another officer may not take it.
    answered(t.claim(&alice).await, StatusCode::OK);
    let taken = answered(t.claim(&bob).await, StatusCode::CONFLICT);
    assert_eq!(taken["code"], "not-allowed");
    let taken = answered(t.complete(&bob, approval()).await, StatusCode::CONFLICT);
    assert_eq!(taken["code"], "not-allowed");

    // The form must satisfy its schema; the outcome must be one of the task's.
    let bad = answered(
        t.complete(&alice, decided("approve", json!({"notes": "no decision"})))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert_eq!(bad["code"], "invalid-form");
    let bad = answered(
        t.complete(&alice, decided("escalate", json!({"documents_ok": true})))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert_eq!(bad["code"], "unknown-outcome");
    assert!(bad["detail"].as_str().unwrap().contains("approve"), "{bad}");
    let bad = answered(
        t.complete(&alice, json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert_eq!(bad["code"], "bad-body");

    let done = answered(
        t.complete(
            &alice,
            decided(
                "approve",
                json!({"documents_ok": true, "notes": "all there"}),
            ),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(done["id"], id);
    assert_eq!(done["state"], "approved");
    assert_eq!(done["status"], "approved");
    assert_eq!(done["vars"]["documents_ok"], true);
    assert_eq!(done["tasks"][0]["open"], false);

    // A closed task cannot be claimed or completed again; the worklist is empty.
    let stale = answered(t.claim(&alice).await, StatusCode::CONFLICT);
    assert!(
        stale["code"] == "stale" || stale["code"] == "ended",
        "{stale}"
    );
    let (_, list) = worklist(&h, &alice, "").await;
    assert!(task_ids(&list).is_empty(), "{list}");
}

#[tokio::test]
async fn an_unclaimed_task_is_completed_directly_and_a_retry_with_its_key_is_one_completion() {
    let h = harness().await;
    let (id, task, t) = file(&h, "desk-review").await;
    let alice = officer(&h, "alice", &["clerk"]);
    let keyed = || {
        Harness::post_builder(
            &format!("/api/v1/requests/{id}/tasks/{task}/complete"),
            &alice,
        )
        .header("idempotency-key", "desk-7")
        .body(Body::from(
            decided("reject", json!({"documents_ok": false})).to_string(),
        ))
        .unwrap()
    };
    let (status, first) = h.send(keyed()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["state"], "rejected");
    let (status, again) = h.send(keyed()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["state"], "rejected");
    assert_eq!(again["version"], first["version"]);
    // Without the key, a second completion is refused: the task is closed.
    answered(
        t.complete(&alice, decided("reject", json!({"documents_ok": false})))
            .await,
        StatusCode::CONFLICT,
    );
}

#[tokio::test]
async fn supervisors_and_admins_reassign_plain_officers_may_not() {
    let h = harness().await;
    let (_, task, t) = file(&h, "desk-review").await;
    let staff = [
        ("alice", "clerk"),
        ("dana", "senior_clerk"),
        ("sam", "supervisor"),
    ];
    let [clerk, senior, supervisor] = officers(&h, staff);

    answered(
        t.reassign(&clerk, json!({"role": "senior_clerk"})).await,
        StatusCode::FORBIDDEN,
    );

    // The clerk's claim is released when the task moves to another role.
    assert_eq!(t.claim(&clerk).await.0, StatusCode::OK);
    let (status, moved) = t
        .reassign(&supervisor, json!({"role": "senior_clerk"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["role"], "senior_clerk");
    assert_eq!(moved["officer"], Value::Null);
    let (status, _) = t.claim(&clerk).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, list) = worklist(&h, &clerk, "").await;
    assert!(task_ids(&list).is_empty(), "{list}");
    let (_, list) = worklist(&h, &senior, "").await;
    assert_eq!(task_ids(&list), vec![task.clone()]);

    // Given to an officer by an admin.
    let admin = h.token(AGENCY, &[Role::Admin], &[]);
    let given = answered(
        t.reassign(&admin, json!({"officer": "dana"})).await,
        StatusCode::OK,
    );
    assert_eq!(given["officer"], "dana");
    assert_eq!(given["role"], "senior_clerk");
    let (_, mine) = worklist(&h, &senior, "?mine=true").await;
    assert_eq!(task_ids(&mine), vec![task.clone()]);

    // A reassignment says where to.
    answered(
        t.reassign(&supervisor, json!({})).await,
        StatusCode::BAD_REQUEST,
    );
    answered(
        t.reassign(&supervisor, json!({"role": " "})).await,
        StatusCode::BAD_REQUEST,
    );

    let done = answered(t.complete(&senior, approval()).await, StatusCode::OK);
    assert_eq!(done["state"], "approved");
}

#[tokio::test]
async fn other_agencies_missing_roles_and_missing_tokens_get_nothing() {
    let h = harness().await;
    let (id, task, t) = file(&h, "desk-review").await;
    let elsewhere = h.token("other-agency", &[Role::Officer], &["clerk", "supervisor"]);
    let other_admin = h.token("other-agency", &[Role::Admin], &[]);
    for action in ["claim", "complete", "reassign"] {
        let body = json!({"outcome": "approve", "form": {"documents_ok": true}, "role": "x"});
        for token in [&elsewhere, &other_admin] {
            let (status, problem) =
                act(&h, Some(token), &id, &task, action, Some(body.clone())).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{action}: {problem}");
        }
        let (status, _) = act(&h, None, &id, &task, action, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{action}");
    }
    let (status, _) = h
        .get(&format!("/api/v1/requests/{id}/tasks/{task}"), &elsewhere)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Without the task's role: 403; an unknown task or request: 404.
    let cashier = officer(&h, "bob", &["cashier"]);
    let problem = answered(t.claim(&cashier).await, StatusCode::FORBIDDEN);
    assert!(problem["detail"].as_str().unwrap().contains("clerk"));
    let (status, _) = t.complete(&cashier, approval()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let citizen = h.token(AGENCY, &[Role::Citizen], &[]);
    assert_eq!(t.claim(&citizen).await.0, StatusCode::FORBIDDEN);
    let clerk = officer(&h, "alice", &["clerk"]);
    let (status, _) = act(&h, Some(&clerk), &id, "task-nope", "claim", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = act(&h, Some(&clerk), "i-nope", &task, "claim", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The clerk may read the task, with its form; the cashier may not.
    let (status, one) = h
        .get(&format!("/api/v1/requests/{id}/tasks/{task}"), &clerk)
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["form_schema"]["type"], "object");
    let (status, _) = h
        .get(&format!("/api/v1/requests/{id}/tasks/{task}"), &cashier)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_task_of_candidate_groups_is_worked_by_a_member_of_any() {
    let h = harness().await;
    let (_, task, t) = file(&h, "group-review").await;
    let [inspector, clerk] = officers(&h, [("ines", "inspection"), ("alice", "clerk")]);

    let (_, list) = worklist(&h, &inspector, "").await;
    assert_eq!(task_ids(&list), vec![task.clone()]);
    let item = &list["items"][0];
    assert_eq!(item["role"], Value::Null);
    assert_eq!(item["candidate_groups"], json!(["licensing", "inspection"]));
    assert_eq!(item["form"], Value::Null);
    assert_eq!(item["outcomes"], json!(["approve"]));
    let (_, list) = worklist(&h, &inspector, "?role=inspection").await;
    assert_eq!(task_ids(&list), vec![task.clone()]);
    let (_, list) = worklist(&h, &clerk, "").await;
    assert!(task_ids(&list).is_empty(), "{list}");

    let (status, _) = t.claim(&clerk).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let claimed = answered(t.claim(&inspector).await, StatusCode::OK);
    assert_eq!(claimed["officer"], "ines");
    let done = answered(
        t.complete(&inspector, json!({"outcome": "approve"})).await,
        StatusCode::OK,
    );
    assert_eq!(done["state"], "approved");
}

#[tokio::test]
async fn the_openapi_document_describes_the_task_endpoints() {
    let doc = serde_json::to_value(daftar_api::openapi::document()).unwrap();
    let paths = &doc["paths"];
    assert!(paths["/api/v1/tasks"]["get"].is_object(), "{paths}");
    assert!(paths["/api/v1/requests/{id}/tasks/{task}"]["get"].is_object());
    for action in ["claim", "complete", "reassign"] {
        let post = &paths[format!("/api/v1/requests/{{id}}/tasks/{{task}}/{action}")]["post"];
        assert!(post.is_object(), "{action}: {paths}");
        for status in ["200", "401", "403", "404", "409"] {
            assert!(post["responses"][status].is_object(), "{action} {status}");
        }
    }
    let complete = &paths["/api/v1/requests/{id}/tasks/{task}/complete"]["post"];
    assert!(complete["responses"]["422"].is_object());
    for schema in ["TaskItem", "TaskList", "CompleteTask", "ReassignTask"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

#[tokio::test]
async fn the_worklist_pages_by_cursor_and_refuses_a_cursor_it_did_not_give() {
    let h = harness().await;
    let mut requests = Vec::new();
    for _ in 0..3 {
        requests.push(file(&h, "desk-review").await.0);
    }
    let clerk = officer(&h, "alice", &["clerk"]);
    let (_, whole) = worklist(&h, &clerk, "").await;
    let all: Vec<Value> = whole["items"].as_array().unwrap().to_vec();
    assert_eq!(all.len(), 3, "{whole}");
    assert_eq!(whole["next"], Value::Null);
    assert_eq!(whole["truncated"], false);

    // Two a page: the second page holds the third task, and leads back to the first.
    let (_, first) = worklist(&h, &clerk, "?limit=2").await;
    assert_eq!(first["items"].as_array().unwrap()[..], all[..2]);
    assert_eq!(first["truncated"], true);
    assert_eq!(first["previous"], Value::Null);
    let next = first["next"].as_str().expect("a next page");
    let (status, second) = worklist(&h, &clerk, &format!("?limit=2&after={next}")).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["items"].as_array().unwrap()[..], all[2..]);
    assert_eq!(second["next"], Value::Null);
    let previous = second["previous"].as_str().expect("a previous page");
    let (_, back) = worklist(&h, &clerk, &format!("?limit=2&before={previous}")).await;
    assert_eq!(back["items"], first["items"]);

    // Another agency's officer with the same role pages through nothing of it.
    let elsewhere = h.token("other-agency", &[Role::Officer], &["clerk"]);
    let (_, none) = worklist(&h, &elsewhere, &format!("?after={next}")).await;
    assert!(task_ids(&none).is_empty(), "{none}");

    for bad in [
        "?after=%25%25".to_owned(),
        format!("?after={next}&before={next}"),
    ] {
        let (status, body) = worklist(&h, &clerk, &bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}
