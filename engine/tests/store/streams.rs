//! The contract of streams: appends, the hash chain, conditional and idempotent commits,
//! batches, positions, tampering and concurrent writers. Each case takes a fresh store; the
//! macro in `store_contract.rs` runs every case on both backends.

use std::collections::BTreeSet;

use chrono::TimeDelta;
use daftar_engine::events::{Actor, Chains, Event, verify_chain};
use daftar_engine::store::{self, Committed, JobKind, NewJob, NewTimer, StoreError, TaskRow};
use serde_json::json;

use super::{Ctx, commit, data, started, step, stream, t};

pub async fn append_and_load_round_trip(ctx: Ctx) {
    let s = stream("judiciary", "i-1");
    let first = vec![
        started(&s),
        step("review"),
        data("review", "fee", json!(12.5)),
    ];
    let done = ctx
        .commit(commit(&s, 0, "c-1", first.clone()))
        .await
        .unwrap();
    assert_eq!(
        done,
        Committed {
            version: 3,
            duplicate: false
        }
    );
    let second = vec![
        step("approve"),
        data("approve", "ok", json!({"by": "قاضی", "at": null})),
    ];
    let done = ctx
        .commit(commit(&s, 3, "c-2", second.clone()))
        .await
        .unwrap();
    assert_eq!(
        done,
        Committed {
            version: 5,
            duplicate: false
        }
    );

    let events = ctx.store.load(&s).await.unwrap();
    verify_chain(&events).expect("the chain verifies");
    let payloads: Vec<Event> = events.iter().map(|e| e.event.clone()).collect();
    assert_eq!(payloads, [first, second].concat());
    assert_eq!(
        events.iter().map(|e| e.version).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert!(events.windows(2).all(|w| w[0].position < w[1].position));
    let e = &events[0];
    assert_eq!(
        (e.stream.clone(), e.command_id.as_str(), e.actor.clone()),
        (s.clone(), "c-1", Actor::Officer("officer-7".into()))
    );
    assert_eq!(
        (
            e.workflow.as_str(),
            e.workflow_version,
            e.definition_hash.as_str()
        ),
        ("permit", 3, "sha256:d3f1")
    );
    assert_eq!(events[4].command_id, "c-2");
    // One time per batch, from the database clock, kept to the microsecond.
    assert_eq!(events[0].recorded_at, events[2].recorded_at);
    assert!(events[3].recorded_at >= events[2].recorded_at);
    assert_eq!(events[0].recorded_at.timestamp_subsec_nanos() % 1000, 0);
    let now = ctx.store.now().await.unwrap();
    assert!((now - events[4].recorded_at).abs() < TimeDelta::seconds(60));
    assert_eq!(ctx.store.streams().await.unwrap(), vec![s.clone()]);
    assert!(
        ctx.store
            .load(&stream("judiciary", "nope"))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn stale_expected_version_conflicts_and_writes_nothing(ctx: Ctx) {
    let s = stream("judiciary", "i-1");
    let mut first = commit(&s, 0, "c-1", vec![started(&s)]);
    first.jobs.push(NewJob {
        id: format!("{s}/1"),
        kind: JobKind::Call,
        payload: json!({}),
    });
    ctx.commit(first).await.unwrap();
    let before = ctx.store.instance(&s).await.unwrap();
    for expected in [0, 2, 7] {
        let mut c = commit(
            &s,
            expected,
            &format!("c-stale-{expected}"),
            vec![step("x")],
        );
        c.jobs.push(NewJob {
            id: format!("{s}/2"),
            kind: JobKind::Inquiry,
            payload: json!({"q": 1}),
        });
        c.timers.push(NewTimer {
            id: "t-1".into(),
            due_at: t("2026-03-02T00:00:00Z"),
        });
        c.tasks.push(TaskRow {
            id: "task-1".into(),
            step: "x".into(),
            role: None,
            officer: None,
            due_at: t("2026-03-09T00:00:00Z"),
            open: true,
        });
        c.instance.state = "cancelled".into();
        // A conflicting report does not complete its job: it will be decided again.
        c.completes_job = Some(format!("{s}/1"));
        let err = ctx.commit(c).await.unwrap_err();
        assert_eq!(
            err,
            StoreError::Conflict {
                stream: s.to_string(),
                expected,
                actual: 1
            }
        );
    }
    assert_eq!(ctx.store.load(&s).await.unwrap().len(), 1);
    for (table, rows) in [
        ("events", 1),
        ("jobs", 1),
        ("timers", 0),
        ("tasks", 0),
        ("commands", 1),
        ("instances", 1),
    ] {
        assert_eq!(ctx.count(table).await, rows, "{table}");
    }
    assert_eq!(ctx.store.instance(&s).await.unwrap(), before);
}

pub async fn retried_command_appends_nothing(ctx: Ctx) {
    let s = stream("judiciary", "i-1");
    let mut c = commit(&s, 0, "c-1", vec![started(&s), step("a")]);
    c.jobs.push(NewJob {
        id: format!("{s}/2"),
        kind: JobKind::Payment,
        payload: json!({"amount": 5}),
    });
    assert_eq!(
        ctx.commit(c.clone()).await.unwrap(),
        Committed {
            version: 2,
            duplicate: false
        }
    );
    // The retry (even decided on an older version, with other events) appends nothing, and
    // still completes the job it reports.
    let mut retry = commit(&s, 0, "c-1", vec![step("b")]);
    retry.completes_job = Some(format!("{s}/2"));
    assert_eq!(
        ctx.commit(retry).await.unwrap(),
        Committed {
            version: 2,
            duplicate: true
        }
    );
    assert_eq!(ctx.store.load(&s).await.unwrap().len(), 2);
    assert_eq!(ctx.count("jobs").await, 0);
    // A command that changed nothing is remembered too.
    assert_eq!(
        ctx.commit(commit(&s, 2, "c-2", vec![])).await.unwrap(),
        Committed {
            version: 2,
            duplicate: false
        }
    );
    assert_eq!(
        ctx.commit(commit(&s, 2, "c-2", vec![])).await.unwrap(),
        Committed {
            version: 2,
            duplicate: true
        }
    );
    assert_eq!(ctx.count("commands").await, 2);
}

pub async fn a_conflict_does_not_stop_the_batch(ctx: Ctx) {
    let (a, b, c) = (
        stream("judiciary", "a"),
        stream("judiciary", "b"),
        stream("health", "c"),
    );
    ctx.commit(commit(&b, 0, "b-1", vec![started(&b)]))
        .await
        .unwrap();
    let batch = [
        commit(&a, 0, "a-1", vec![started(&a)]),
        commit(&b, 0, "b-2", vec![step("late")]),
        commit(&c, 0, "c-1", vec![started(&c), step("s")]),
        commit(&a, 1, "a-2", vec![step("next")]),
        commit(&c, 2, "c-1", vec![step("dup")]),
    ];
    let results = ctx.store.commit(&batch).await.unwrap();
    assert_eq!(
        results,
        vec![
            Ok(Committed {
                version: 1,
                duplicate: false
            }),
            Err(StoreError::Conflict {
                stream: b.to_string(),
                expected: 0,
                actual: 1
            }),
            Ok(Committed {
                version: 2,
                duplicate: false
            }),
            Ok(Committed {
                version: 2,
                duplicate: false
            }),
            Ok(Committed {
                version: 2,
                duplicate: true
            }),
        ]
    );
    assert_eq!(ctx.store.load(&a).await.unwrap().len(), 2);
    assert_eq!(ctx.store.load(&b).await.unwrap().len(), 1);
    assert_eq!(ctx.store.load(&c).await.unwrap().len(), 2);
    assert!(ctx.store.commit(&[]).await.unwrap().is_empty());
}

pub async fn positions_increase_and_read_all_pages(ctx: Ctx) {
    let streams = [
        stream("judiciary", "b"),
        stream("health", "z"),
        stream("judiciary", "a"),
    ];
    let mut version = [0u64; 3];
    for round in 0..4 {
        for (i, s) in streams.iter().enumerate() {
            let events: Vec<Event> = (0..=(round + i) % 3)
                .map(|n| step(&format!("r{round}n{n}")))
                .collect();
            let n = events.len() as u64;
            ctx.commit(commit(s, version[i], &format!("c-{round}"), events))
                .await
                .unwrap();
            version[i] += n;
        }
    }
    let all = ctx.store.read_all(0, 1000).await.unwrap();
    assert_eq!(all.len() as u64, version.iter().sum::<u64>());
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = ctx.store.read_all(after, 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = page.last().unwrap().position;
        paged.extend(page);
    }
    assert_eq!(paged, all);
    let last = all.last().unwrap().position;
    assert!(ctx.store.read_all(last, 10).await.unwrap().is_empty());
    let mut sorted = streams.to_vec();
    sorted.sort();
    assert_eq!(ctx.store.streams().await.unwrap(), sorted);

    // The same events with their payloads as stored, by range of positions.
    assert_eq!(ctx.store.last_position().await.unwrap(), last);
    let stored = ctx.store.read_stored(0, last, 1000).await.unwrap();
    assert_eq!(stored.len(), all.len());
    for (raw, decoded) in stored.iter().zip(&all) {
        assert_eq!(
            (
                &raw.stream,
                raw.version,
                raw.position,
                &raw.hash,
                &raw.actor
            ),
            (
                &decoded.stream,
                decoded.version,
                decoded.position,
                &decoded.hash,
                &decoded.actor
            )
        );
        let payload: serde_json::Value = serde_json::from_str(&raw.event.payload).unwrap();
        assert_eq!(Event::from_stored(payload).unwrap(), decoded.event);
        assert_eq!(
            raw.compute_hash(),
            raw.hash,
            "the stored text is what was hashed"
        );
    }
    let middle = stored[3].position;
    let range = ctx
        .store
        .read_stored(stored[1].position, middle, 1000)
        .await
        .unwrap();
    assert_eq!(range, stored[2..4].to_vec(), "positions in (after, until]");
    assert_eq!(
        ctx.store.read_stored(0, last, 2).await.unwrap(),
        stored[..2].to_vec()
    );
    // Checked in ranges cut anywhere, then joined in order: every chain is intact.
    for cut in 0..stored.len() {
        let mut left = Chains::default();
        let mut right = Chains::default();
        for (i, e) in stored.iter().enumerate() {
            if i < cut {
                left.check(e)
            } else {
                right.check(e)
            }
            .unwrap();
        }
        let (streams, events) = left.then(right).unwrap().finish().unwrap();
        assert_eq!((streams, events), (3, all.len() as u64));
    }
    let empty = Chains::default().finish().unwrap();
    assert_eq!(empty, (0, 0));
}

pub async fn tampering_breaks_the_chain(ctx: Ctx) {
    let s = stream("judiciary", "i-1");
    ctx.commit(commit(
        &s,
        0,
        "c-1",
        vec![started(&s), step("review"), step("approve")],
    ))
    .await
    .unwrap();
    verify_chain(&ctx.store.load(&s).await.unwrap()).unwrap();
    let set = match ctx.backend {
        super::Backend::Sqlite => "payload = replace(payload, 'review', 'reviex')",
        super::Backend::Postgres => "payload = replace(payload::text, 'review', 'reviex')::json",
    };
    let changed = ctx.exec(&format!("UPDATE events SET {set} WHERE agency = 'judiciary' AND instance = 'i-1' AND version = 2")).await;
    assert_eq!(changed, 1);
    let events = ctx.store.load(&s).await.unwrap();
    assert_eq!(events[1].event, step("reviex"));
    let err = verify_chain(&events).unwrap_err();
    assert_eq!(err.version, 2, "{err}");

    // An unreadable payload is reported as corrupt, never as a database error.
    let set = match ctx.backend {
        super::Backend::Sqlite => "payload = '{\"type\":\"Nope\",\"v\":1}'",
        super::Backend::Postgres => "payload = '{\"type\":\"Nope\",\"v\":1}'::json",
    };
    ctx.exec(&format!("UPDATE events SET {set} WHERE version = 3"))
        .await;
    match ctx.store.load(&s).await {
        Err(StoreError::Corrupt {
            stream, version: 3, ..
        }) => assert_eq!(stream, s.to_string()),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

pub async fn concurrent_commits_one_wins(ctx: Ctx) {
    let s = stream("judiciary", "i-1");
    ctx.commit(commit(&s, 0, "c-0", vec![started(&s)]))
        .await
        .unwrap();
    // A second store on the same database, as a second node (or process) would have.
    let other = store::open(&ctx.url).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..8 {
        let st = if n % 2 == 0 {
            ctx.store.clone()
        } else {
            other.clone()
        };
        let c = commit(
            &s,
            1,
            &format!("c-{}", n + 1),
            vec![step(&format!("s{n}")), step("t")],
        );
        tasks.push(tokio::spawn(async move {
            st.commit(&[c]).await.unwrap().remove(0)
        }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(c) => {
                assert_eq!(
                    c,
                    Committed {
                        version: 3,
                        duplicate: false
                    }
                );
                won += 1;
            }
            Err(StoreError::Conflict {
                expected: 1,
                actual: 3,
                ..
            }) => {}
            Err(e) => panic!("expected a conflict, got {e}"),
        }
    }
    assert_eq!(won, 1);
    let events = ctx.store.load(&s).await.unwrap();
    assert_eq!(events.len(), 3);
    verify_chain(&events).unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| e.command_id.as_str())
            .collect::<BTreeSet<_>>()
            .len(),
        2
    );
}
