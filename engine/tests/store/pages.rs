//! Keyset pages and bounded counts, what the desk reads: a page boundary neither repeats nor
//! skips a row while requests are filed and tasks opened between two pages, a page read
//! backwards from a key is the page before it, and the manager's counts come from the store.

use chrono::{DateTime, Duration, Utc};
use daftar_engine::events::StreamId;
use daftar_engine::store::{InstanceQuery, Load, Seek, TaskRow, WorkItem, WorkQuery};

use super::{Ctx, commit, started, step, stream, t};

/// Files a request of `workflow` at `at`, in `state`, with `tasks`.
async fn file(ctx: &Ctx, s: &StreamId, at: DateTime<Utc>, state: &str, tasks: Vec<TaskRow>) {
    let mut c = commit(s, 0, "c-1", vec![started(s), step("review")]);
    c.instance.started_at = at;
    c.instance.state = state.to_owned();
    c.instance.incidents = u32::from(s.instance.ends_with('!'));
    c.instance.sla_breached = s.instance.contains('x');
    c.tasks = tasks;
    ctx.commit(c).await.unwrap();
}

fn task(id: &str, role: Option<&str>, officer: Option<&str>, due: DateTime<Utc>) -> TaskRow {
    TaskRow {
        id: id.to_owned(),
        step: "review".to_owned(),
        role: role.map(str::to_owned),
        officer: officer.map(str::to_owned),
        due_at: due,
        open: true,
    }
}

fn base() -> DateTime<Utc> {
    t("2026-03-01T08:00:00.000001Z")
}

/// Every page of a listing of `health`, each `size` long, read by following the last row's
/// key; `between` files more requests after the first page is read.
async fn instance_pages(ctx: &Ctx, size: u32, between: impl AsyncFnOnce()) -> Vec<String> {
    let mut query = InstanceQuery {
        limit: size,
        ..InstanceQuery::default()
    };
    let mut seen = Vec::new();
    let mut between = Some(between);
    loop {
        let page = ctx.store.instances("health", &query).await.unwrap();
        seen.extend(page.iter().map(|(s, _)| s.instance.clone()));
        // Pages that never end read rows again: fail instead of reading forever.
        assert!(seen.len() <= 50, "the pages repeat rows: {seen:?}");
        if let Some(f) = between.take() {
            f().await;
        }
        let Some((s, row)) = page.last() else { break };
        if page.len() < size as usize {
            break;
        }
        query.seek = Some(Seek::After(row.key(&s.instance)));
    }
    seen
}

pub async fn request_pages_neither_repeat_nor_skip_under_inserts(ctx: Ctx) {
    // Seven requests, two pairs filed at the same instant (ordered by id, newest first).
    let at = |m: i64| base() + Duration::minutes(m);
    for (id, m) in [
        ("i-1", 1),
        ("i-2", 2),
        ("i-3", 2),
        ("i-4", 3),
        ("i-5", 4),
        ("i-6", 4),
        ("i-7", 5),
    ] {
        file(&ctx, &stream("health", id), at(m), "running", vec![]).await;
    }
    // Another agency's request, filed in the middle: never on a page of `health`.
    file(&ctx, &stream("judiciary", "i-35"), at(3), "running", vec![]).await;
    let expected = ["i-7", "i-6", "i-5", "i-4", "i-3", "i-2", "i-1"];
    // Between the first page and the second, three requests are filed: newer than every row
    // (an offset would show i-5 again), and one between the pages' rows (already read past).
    let seen = instance_pages(&ctx, 3, async || {
        for (id, m) in [("i-8", 6), ("i-9", 7), ("i-45", 3)] {
            file(&ctx, &stream("health", id), at(m), "running", vec![]).await;
        }
    })
    .await;
    let mut want: Vec<&str> = expected.to_vec();
    // i-45 was filed at i-4's instant with a larger id: it comes after i-5, before i-4, on
    // the second page, which had not been read.
    want.insert(3, "i-45");
    assert_eq!(
        seen, want,
        "each request once, in order, none of another agency"
    );

    // The page before the second page's first row is the first page again.
    let first = ctx
        .store
        .instances(
            "health",
            &InstanceQuery {
                limit: 3,
                seek: Some(Seek::Before(daftar_engine::store::InstanceKey {
                    started_at: at(3),
                    instance: "i-45".to_owned(),
                })),
                ..InstanceQuery::default()
            },
        )
        .await
        .unwrap();
    let ids: Vec<&str> = first.iter().map(|(s, _)| s.instance.as_str()).collect();
    assert_eq!(ids, ["i-7", "i-6", "i-5"], "newest first, read backwards");

    // Only the requests with an open incident, paged the same way.
    file(&ctx, &stream("health", "i-10!"), at(8), "running", vec![]).await;
    file(&ctx, &stream("health", "i-11!"), at(9), "running", vec![]).await;
    file(
        &ctx,
        &stream("judiciary", "i-12!"),
        at(9),
        "running",
        vec![],
    )
    .await;
    let q = |seek| InstanceQuery {
        limit: 1,
        with_incidents: true,
        seek,
        ..InstanceQuery::default()
    };
    let one = ctx.store.instances("health", &q(None)).await.unwrap();
    assert_eq!(one[0].0.instance, "i-11!");
    let key = one[0].1.key(&one[0].0.instance);
    let two = ctx
        .store
        .instances("health", &q(Some(Seek::After(key))))
        .await
        .unwrap();
    assert_eq!(two.len(), 1);
    assert_eq!(two[0].0.instance, "i-10!");
}

/// The (instance, task) of each item.
fn keys(items: &[WorkItem]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|w| (w.stream.instance.clone(), w.task.id.clone()))
        .collect()
}

pub async fn worklist_pages_neither_repeat_nor_skip_under_inserts(ctx: Ctx) {
    let due = |h: i64| base() + Duration::hours(h);
    let h = |i: &str| stream("health", i);
    file(
        &ctx,
        &h("i-a"),
        base(),
        "running",
        vec![
            task("t-1", Some("clerk"), None, due(1)),
            task("t-2", Some("judge"), None, due(2)),
            task("t-3", None, None, due(3)),
        ],
    )
    .await;
    // Ties on the deadline: by instance, then task id, byte by byte ("i-B" < "i-a").
    file(
        &ctx,
        &h("i-B"),
        base(),
        "running",
        vec![
            task("t-9", Some("clerk"), Some("sara"), due(2)),
            task("t-10", Some("clerk"), None, due(2)),
            task("t-4", Some("clerk"), None, due(5)),
        ],
    )
    .await;
    file(
        &ctx,
        &stream("judiciary", "i-a"),
        base(),
        "running",
        vec![task("t-1", Some("clerk"), None, due(1))],
    )
    .await;
    let clerk = WorkQuery {
        roles: Some(vec!["clerk".to_owned()]),
        open_only: true,
        limit: 2,
        ..WorkQuery::default()
    };
    let page1 = ctx.store.worklist_page("health", &clerk).await.unwrap();
    assert_eq!(
        keys(&page1),
        [("i-a".into(), "t-1".into()), ("i-B".into(), "t-10".into())]
    );
    // Meanwhile a task falls due before every other (an offset would show t-10 again), and
    // one after the page's last row at its very deadline.
    file(
        &ctx,
        &h("i-c"),
        base(),
        "running",
        vec![
            task("t-0", Some("clerk"), None, due(0)),
            task("t-1", Some("clerk"), None, due(2)),
        ],
    )
    .await;
    let mut next = WorkQuery {
        seek: Some(Seek::After(page1[1].key())),
        ..clerk.clone()
    };
    let page2 = ctx.store.worklist_page("health", &next).await.unwrap();
    assert_eq!(
        keys(&page2),
        [("i-B".into(), "t-9".into()), ("i-c".into(), "t-1".into())],
        "none twice, and the new task at the boundary's deadline after it"
    );
    next.seek = Some(Seek::After(page2[1].key()));
    let page3 = ctx.store.worklist_page("health", &next).await.unwrap();
    assert_eq!(
        keys(&page3),
        [("i-a".into(), "t-3".into()), ("i-B".into(), "t-4".into())],
        "the role's tasks and those with no role, not the judge's"
    );
    next.seek = Some(Seek::After(page3[1].key()));
    assert!(
        ctx.store
            .worklist_page("health", &next)
            .await
            .unwrap()
            .is_empty()
    );
    // Backwards from the third page: the second.
    next.seek = Some(Seek::Before(page3[0].key()));
    assert_eq!(
        keys(&ctx.store.worklist_page("health", &next).await.unwrap()),
        keys(&page2)
    );
    // An officer's own tasks; another agency's never.
    let sara = WorkQuery {
        officer: Some("sara".to_owned()),
        open_only: true,
        limit: 10,
        ..WorkQuery::default()
    };
    assert_eq!(
        keys(&ctx.store.worklist_page("health", &sara).await.unwrap()),
        [("i-B".into(), "t-9".into())]
    );
    let theirs = ctx
        .store
        .worklist_page("judiciary", &WorkQuery { limit: 10, ..clerk })
        .await
        .unwrap();
    assert_eq!(keys(&theirs), [("i-a".into(), "t-1".into())]);
}

pub async fn the_managers_counts_come_from_the_store(ctx: Ctx) {
    let at = |d: i64| base() + Duration::days(d);
    let due = base() + Duration::hours(5);
    let h = |i: &str| stream("health", i);
    file(&ctx, &h("i-1"), at(0), "issued", vec![]).await;
    file(&ctx, &h("i-2x"), at(1), "issued", vec![]).await;
    let mut reviewed = task("t-1", Some("clerk"), Some("sara"), due);
    reviewed.open = false;
    file(&ctx, &h("i-3"), at(1), "issued", vec![reviewed]).await;
    file(
        &ctx,
        &h("i-4!"),
        at(2),
        "running",
        vec![task("t-1", Some("clerk"), Some("sara"), due)],
    )
    .await;
    file(
        &ctx,
        &h("i-5"),
        at(2),
        "running",
        vec![task("t-1", Some("clerk"), None, at(9))],
    )
    .await;
    file(&ctx, &h("i-6"), at(40), "rejected", vec![]).await;
    file(
        &ctx,
        &stream("judiciary", "i-7"),
        at(1),
        "issued",
        vec![task("t-1", Some("clerk"), None, due)],
    )
    .await;

    let counts = ctx
        .store
        .service_counts("health", Some(at(0)), Some(at(30)))
        .await
        .unwrap();
    let got: Vec<(&str, u64, u64, u64, u64)> = counts
        .iter()
        .map(|c| {
            (
                c.state.as_str(),
                c.requests,
                c.sla_breaches,
                c.with_incidents,
                c.human,
            )
        })
        .collect();
    // The rejection was filed after the period.
    assert_eq!(got, [("issued", 3, 1, 0, 1), ("running", 2, 0, 1, 2)]);
    assert!(counts.iter().all(|c| c.workflow == "permit"));
    let all = ctx
        .store
        .service_counts("health", None, None)
        .await
        .unwrap();
    assert_eq!(all.iter().map(|c| c.requests).sum::<u64>(), 6);

    // At day 1, sara's open task is late; the unclaimed one is not; the closed one is gone.
    let load = ctx.store.officers_load("health", at(1)).await.unwrap();
    let unclaimed = Load {
        officer: None,
        role: Some("clerk".to_owned()),
        open: 1,
        late: 0,
    };
    let sara = Load {
        officer: Some("sara".to_owned()),
        role: Some("clerk".to_owned()),
        open: 1,
        late: 1,
    };
    assert_eq!(load.len(), 2);
    assert!(
        load.contains(&unclaimed) && load.contains(&sara),
        "{load:?}"
    );
}
