//! Listing an agency's instances: filters, order (newest first), paging, and agency isolation.

use daftar_engine::events::StreamId;
use daftar_engine::store::{InstanceQuery, InstanceRow};

use super::{Ctx, commit, started, step, stream, t};

/// Commits a started instance with the given read-model row fields.
async fn instance(ctx: &Ctx, s: &StreamId, workflow: &str, state: &str, at: &str, sla: bool) {
    let mut c = commit(s, 0, "c-1", vec![started(s), step("review")]);
    c.instance.workflow = workflow.to_owned();
    c.instance.state = state.to_owned();
    c.instance.status = Some(format!("{state}-status"));
    c.instance.started_at = t(at);
    c.instance.sla_breached = sla;
    // One of them filed by an applicant with a token of their own.
    c.instance.filed_by = (state == "issued").then(|| "zahra".to_owned());
    ctx.commit(c).await.unwrap();
}

fn ids(rows: &[(StreamId, InstanceRow)]) -> Vec<&str> {
    rows.iter().map(|(s, _)| s.instance.as_str()).collect()
}

fn all() -> InstanceQuery {
    InstanceQuery {
        limit: 100,
        ..InstanceQuery::default()
    }
}

pub async fn listings_filter_order_and_page(ctx: Ctx) {
    let health = |i| stream("health", i);
    instance(
        &ctx,
        &health("i-1"),
        "food-permit",
        "running",
        "2026-03-01T08:00:00.000001Z",
        false,
    )
    .await;
    instance(
        &ctx,
        &health("i-2"),
        "food-permit",
        "issued",
        "2026-03-02T08:00:00.000001Z",
        true,
    )
    .await;
    instance(
        &ctx,
        &health("i-3"),
        "kitchen-permit",
        "running",
        "2026-03-03T08:00:00.000001Z",
        false,
    )
    .await;
    // Another agency with the same workflow and ids: never listed for `health`.
    instance(
        &ctx,
        &stream("judiciary", "i-4"),
        "food-permit",
        "running",
        "2026-03-04T08:00:00.000001Z",
        true,
    )
    .await;

    let store = &ctx.store;
    let rows = store.instances("health", &all()).await.unwrap();
    assert_eq!(
        ids(&store
            .instances(
                "health",
                &InstanceQuery {
                    filed_by: Some("zahra".to_owned()),
                    ..all()
                },
            )
            .await
            .unwrap()),
        ["i-2"],
        "only what the applicant filed"
    );
    assert_eq!(
        ids(&rows),
        ["i-3", "i-2", "i-1"],
        "newest first, one agency"
    );
    assert_eq!(rows[1].1.state, "issued");
    assert_eq!(rows[1].1.status.as_deref(), Some("issued-status"));
    assert!(rows[1].1.sla_breached);

    let q = |f: fn(&mut InstanceQuery)| {
        let mut q = all();
        f(&mut q);
        q
    };
    let by = |query: InstanceQuery| async move { store.instances("health", &query).await.unwrap() };
    assert_eq!(
        ids(&by(q(|q| q.workflow = Some("food-permit".into()))).await),
        ["i-2", "i-1"]
    );
    assert_eq!(
        ids(&by(q(|q| q.state = Some("running".into()))).await),
        ["i-3", "i-1"]
    );
    assert_eq!(
        ids(&by(q(|q| q.status = Some("issued-status".into()))).await),
        ["i-2"]
    );
    assert_eq!(ids(&by(q(|q| q.sla_breached = Some(true))).await), ["i-2"]);
    assert_eq!(
        ids(&by(q(|q| q.sla_breached = Some(false))).await),
        ["i-3", "i-1"]
    );
    let window = q(|q| {
        q.from = Some(t("2026-03-02T08:00:00.000001Z"));
        q.to = Some(t("2026-03-03T08:00:00.000001Z"));
    });
    assert_eq!(
        ids(&by(window).await),
        ["i-2"],
        "from is inclusive, to exclusive"
    );
    let page = q(|q| {
        q.limit = 2;
        q.offset = 1;
    });
    assert_eq!(ids(&by(page).await), ["i-2", "i-1"]);
    assert!(store.instances("nobody", &all()).await.unwrap().is_empty());
}

pub async fn open_incidents_are_summed_per_agency_and_workflow(ctx: Ctx) {
    let with = |s: &StreamId, workflow: &str, incidents: u32| {
        let mut c = commit(s, 0, "c-1", vec![started(s), step("review")]);
        c.instance.workflow = workflow.to_owned();
        c.instance.incidents = incidents;
        c
    };
    let batch = [
        with(&stream("health", "i-1"), "food-permit", 2),
        with(&stream("health", "i-2"), "food-permit", 1),
        with(&stream("health", "i-3"), "kitchen-permit", 0),
        with(&stream("judiciary", "i-1"), "food-permit", 4),
    ];
    for c in batch {
        ctx.commit(c).await.unwrap();
    }
    assert_eq!(
        ctx.store.open_incidents().await.unwrap(),
        vec![
            ("health".to_owned(), "food-permit".to_owned(), 3),
            ("judiciary".to_owned(), "food-permit".to_owned(), 4),
        ]
    );
}

pub async fn kept_messages_are_listed_per_agency(ctx: Ctx) {
    let store = &ctx.store;
    let payload = serde_json::json!({"frozen": true, "amount": 1.5, "name": "زهرا"});
    store
        .keep_unmatched_message("health", "callback", "k-1", "m-1", &payload)
        .await
        .unwrap();
    store
        .keep_unmatched_message("health", "payment", "k-2", "m-2", &serde_json::json!({}))
        .await
        .unwrap();
    // Kept once, however often it comes.
    store
        .keep_unmatched_message("health", "callback", "k-1", "m-1", &payload)
        .await
        .unwrap();
    store
        .keep_unmatched_message("judiciary", "callback", "k-3", "m-3", &payload)
        .await
        .unwrap();
    let kept = store.unmatched_messages("health", 10).await.unwrap();
    let mut ids: Vec<&str> = kept.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["m-1", "m-2"]);
    let first = kept.iter().find(|m| m.message_id == "m-1").unwrap();
    assert_eq!(
        (first.name.as_str(), first.correlation.as_str()),
        ("callback", "k-1")
    );
    assert_eq!(first.payload, payload);
    assert_eq!(
        store.unmatched_messages("health", 1).await.unwrap().len(),
        1
    );
    assert!(
        store
            .unmatched_messages("nobody", 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The service report's rows: when a request ended (set once, by the commit that ended it),
/// whether it had a human task, and the filing period.
pub async fn decisions_say_when_a_request_ended_and_whether_a_person_acted(ctx: Ctx) {
    let judiciary = |i| stream("judiciary", i);
    // Smart: filed, then ended by a second commit.
    let smart = judiciary("i-1");
    ctx.commit(commit(&smart, 0, "c-1", vec![started(&smart)]))
        .await
        .unwrap();
    let mut end = commit(&smart, 1, "c-2", vec![step("issue")]);
    end.instance.state = "issued".to_owned();
    ctx.commit(end).await.unwrap();
    // A later commit (an SMS report) does not move the end.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let mut later = commit(&smart, 2, "c-3", vec![step("sms")]);
    later.instance.state = "issued".to_owned();
    ctx.commit(later).await.unwrap();
    // With a task: a person acted.
    let human = judiciary("i-2");
    let mut c = commit(&human, 0, "c-1", vec![started(&human), step("review")]);
    c.tasks = vec![daftar_engine::store::TaskRow {
        id: "t-1".to_owned(),
        step: "review".to_owned(),
        role: Some("clerk".to_owned()),
        officer: None,
        due_at: t("2026-03-03T08:00:00.000001Z"),
        open: true,
    }];
    ctx.commit(c).await.unwrap();
    // Filed later, and another agency's.
    let late = judiciary("i-3");
    let mut c = commit(&late, 0, "c-1", vec![started(&late)]);
    c.instance.started_at = t("2026-04-01T08:00:00.000001Z");
    ctx.commit(c).await.unwrap();
    let other = stream("health", "i-1");
    ctx.commit(commit(&other, 0, "c-1", vec![started(&other)]))
        .await
        .unwrap();

    let mut rows = ctx
        .store
        .decisions("judiciary", None, Some(t("2026-03-15T00:00:00Z")))
        .await
        .unwrap();
    rows.sort_by_key(|r| r.human);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (smart_row, human_row) = (&rows[0], &rows[1]);
    assert!(!smart_row.human && human_row.human, "{rows:?}");
    assert_eq!(smart_row.state, "issued");
    let ended = smart_row.ended_at.expect("the end is recorded");
    let events = ctx.store.load(&smart).await.unwrap();
    // The end is the time of the commit that ended it (version 2), not of the later one.
    assert_eq!(ended, events[1].recorded_at, "{events:?}");
    assert!(events[2].recorded_at > ended, "{events:?}");
    assert_eq!(human_row.ended_at, None);
    let all = ctx.store.decisions("judiciary", None, None).await.unwrap();
    assert_eq!(all.len(), 3);
}
