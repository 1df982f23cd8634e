//! The worklist read model: an agency's tasks joined with their instances, filtered by role
//! and openness, ordered by deadline, then stream, then task id. Each case takes a fresh store;
//! the macro in `store_contract.rs` runs every case on both backends.

use chrono::{DateTime, Utc};
use daftar_engine::events::StreamId;
use daftar_engine::store::{TaskRow, WorkItem};

use super::{Ctx, commit, started, step, stream, t};

fn task(id: &str, role: Option<&str>, due: DateTime<Utc>, open: bool) -> TaskRow {
    TaskRow {
        id: id.to_owned(),
        step: "review".to_owned(),
        role: role.map(str::to_owned),
        officer: None,
        due_at: due,
        open,
    }
}

/// Commits a started instance of `workflow` with its worklist rows.
async fn instance(ctx: &Ctx, s: &StreamId, workflow: &str, tasks: Vec<TaskRow>) {
    let mut c = commit(s, 0, "c-1", vec![started(s), step("review")]);
    c.instance.workflow = workflow.to_owned();
    c.tasks = tasks;
    ctx.commit(c).await.unwrap();
}

/// What a worklist shows, in order: (instance, task id).
fn keys(items: &[WorkItem]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|w| (w.stream.instance.clone(), w.task.id.clone()))
        .collect()
}

fn key(instance: &str, task: &str) -> (String, String) {
    (instance.to_owned(), task.to_owned())
}

pub async fn worklists_filter_by_agency_role_and_open(ctx: Ctx) {
    let (early, mid, late) = (
        t("2026-03-02T08:00:00.000001Z"),
        t("2026-03-02T09:00:00.000002Z"),
        t("2026-03-02T10:00:00.000003Z"),
    );
    // "i-B" sorts before "i-a" byte by byte, as the engine orders streams.
    let (a, b) = (stream("health", "i-a"), stream("health", "i-B"));
    instance(
        &ctx,
        &a,
        "food-permit",
        vec![
            task("t-1", Some("clerk"), late, true),
            task("t-2", Some("judge"), mid, true),
            task("t-3", Some("clerk"), early, false),
        ],
    )
    .await;
    instance(
        &ctx,
        &b,
        "kitchen-permit",
        vec![
            // Same deadline as a's t-1: ordered by stream, then by task id ("t-10" < "t-9").
            task("t-9", Some("clerk"), late, true),
            task("t-10", Some("clerk"), late, true),
            task("t-4", None, mid, true),
        ],
    )
    .await;
    // Another agency, with the same roles and instance ids.
    let other = stream("judiciary", "i-a");
    instance(
        &ctx,
        &other,
        "certificate",
        vec![
            task("t-1", Some("clerk"), early, true),
            task("t-2", Some("judge"), early, false),
        ],
    )
    .await;
    let store = &ctx.store;

    let all = store.worklist("health", None, false).await.unwrap();
    assert_eq!(
        keys(&all),
        [
            key("i-a", "t-3"),
            key("i-B", "t-4"),
            key("i-a", "t-2"),
            key("i-B", "t-10"),
            key("i-B", "t-9"),
            key("i-a", "t-1"),
        ]
    );
    assert!(all.iter().all(|w| w.stream.agency == "health"));
    assert_eq!(
        all[0],
        WorkItem {
            stream: a.clone(),
            task: task("t-3", Some("clerk"), early, false),
            workflow: "food-permit".to_owned(),
            tracking_code: "TRK-health-i-a".to_owned(),
        }
    );
    assert_eq!(all[1].workflow, "kitchen-permit");
    assert_eq!(all[1].tracking_code, "TRK-health-i-B");
    assert_eq!(all[1].task, task("t-4", None, mid, true));

    let open = store.worklist("health", None, true).await.unwrap();
    assert_eq!(
        keys(&open),
        [
            key("i-B", "t-4"),
            key("i-a", "t-2"),
            key("i-B", "t-10"),
            key("i-B", "t-9"),
            key("i-a", "t-1"),
        ]
    );
    let clerk = store
        .worklist("health", Some("clerk"), false)
        .await
        .unwrap();
    assert_eq!(
        keys(&clerk),
        [
            key("i-a", "t-3"),
            key("i-B", "t-10"),
            key("i-B", "t-9"),
            key("i-a", "t-1"),
        ]
    );
    let clerk_open = store.worklist("health", Some("clerk"), true).await.unwrap();
    assert_eq!(
        keys(&clerk_open),
        [key("i-B", "t-10"), key("i-B", "t-9"), key("i-a", "t-1")]
    );
    let judge = store.worklist("health", Some("judge"), true).await.unwrap();
    assert_eq!(keys(&judge), [key("i-a", "t-2")]);
    assert_eq!(judge[0].task.due_at, mid, "times read back exactly");
    assert!(
        store
            .worklist("health", Some("nobody"), false)
            .await
            .unwrap()
            .is_empty()
    );

    // The other agency sees only its own tasks, and nobody else's.
    let theirs = store.worklist("judiciary", None, false).await.unwrap();
    assert_eq!(keys(&theirs), [key("i-a", "t-1"), key("i-a", "t-2")]);
    assert!(theirs.iter().all(|w| w.stream == other));
    assert_eq!(theirs[0].workflow, "certificate");
    assert_eq!(
        keys(
            &store
                .worklist("judiciary", Some("clerk"), true)
                .await
                .unwrap()
        ),
        [key("i-a", "t-1")]
    );
    assert!(
        store
            .worklist("judiciary", Some("judge"), true)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .worklist("nowhere", None, false)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn an_escalated_task_moves_between_worklists(ctx: Ctx) {
    let s = stream("health", "i-1");
    let due = t("2026-03-04T08:00:00.250000Z");
    instance(
        &ctx,
        &s,
        "food-permit",
        vec![task("t-1", Some("clerk"), due, true)],
    )
    .await;
    let store = &ctx.store;
    let list = |role: &'static str, open_only: bool| async move {
        keys(
            &store
                .worklist("health", Some(role), open_only)
                .await
                .unwrap(),
        )
    };
    assert_eq!(list("clerk", true).await, [key("i-1", "t-1")]);
    assert!(list("supervisor", true).await.is_empty());

    // Escalated: the same task, now for the supervisor.
    let mut c = commit(&s, 2, "c-2", vec![step("escalated")]);
    c.instance.workflow = "food-permit".to_owned();
    c.tasks = vec![task("t-1", Some("supervisor"), due, true)];
    ctx.commit(c).await.unwrap();
    assert!(list("clerk", true).await.is_empty());
    assert!(list("clerk", false).await.is_empty());
    assert_eq!(list("supervisor", true).await, [key("i-1", "t-1")]);
    let all = store.worklist("health", None, false).await.unwrap();
    assert_eq!(keys(&all), [key("i-1", "t-1")], "one row per task");
    assert_eq!(all[0].task.role.as_deref(), Some("supervisor"));

    // Claimed, then completed: it leaves the open worklist and stays in the full one.
    let mut c = commit(&s, 3, "c-3", vec![step("claimed")]);
    let mut claimed = task("t-1", Some("supervisor"), due, true);
    claimed.officer = Some("officer-7".to_owned());
    c.tasks = vec![claimed.clone()];
    ctx.commit(c).await.unwrap();
    assert_eq!(
        store
            .worklist("health", Some("supervisor"), true)
            .await
            .unwrap()[0]
            .task,
        claimed
    );
    let mut c = commit(&s, 4, "c-4", vec![step("done")]);
    claimed.open = false;
    c.tasks = vec![claimed.clone()];
    ctx.commit(c).await.unwrap();
    assert!(list("supervisor", true).await.is_empty());
    assert_eq!(list("supervisor", false).await, [key("i-1", "t-1")]);
    assert!(
        store
            .worklist("health", None, true)
            .await
            .unwrap()
            .is_empty()
    );
}
