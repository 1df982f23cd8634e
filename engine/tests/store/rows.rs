//! The contract of what commits imply besides events: jobs and their leases, timers, the
//! read model (instances, tasks, tracking codes), scheduled occurrences, unmatched messages
//! and deployed definitions. Each case takes a fresh store; the macro in `store_contract.rs`
//! runs every case on both backends.

use std::time::Duration;

use chrono::TimeDelta;
use daftar_engine::events::Event;
use daftar_engine::events::{Actor, StreamId, verify_chain};
use daftar_engine::store::{
    JobKind, JobLease, Joined, NewJob, NewTimer, StoreError, StoredDefinition, TaskRow,
};
use serde_json::json;

use super::{Ctx, commit, started, step, stream, t};

pub async fn jobs_are_leased_once_until_the_lease_expires(ctx: Ctx) {
    let s = stream("judiciary", "i-1");
    let job = |v: u64, kind| NewJob {
        id: format!("{s}/{v}"),
        kind,
        payload: json!({"type": "x", "v": v}),
    };
    let mut c = commit(&s, 0, "c-1", vec![started(&s), step("ask"), step("pay")]);
    c.jobs = vec![job(2, JobKind::Inquiry), job(3, JobKind::Payment)];
    ctx.commit(c).await.unwrap();
    let mut c = commit(&s, 3, "c-2", vec![step("notify")]);
    c.jobs = vec![job(4, JobKind::Notification)];
    ctx.commit(c).await.unwrap();

    let lease = Duration::from_millis(1000);
    let first = ctx.store.lease_jobs("w-1", 2, lease).await.unwrap();
    let now = ctx.store.now().await.unwrap();
    assert_eq!(
        first.iter().map(|j| j.id.clone()).collect::<Vec<_>>(),
        [format!("{s}/2"), format!("{s}/3")]
    );
    assert_eq!(
        (first[0].kind, first[0].leases, first[0].stream.clone()),
        (JobKind::Inquiry, 1, s.clone())
    );
    assert_eq!(first[1].payload, json!({"type": "x", "v": 3}));
    assert!(
        first[0].lease_until > now && first[0].lease_until <= now + TimeDelta::milliseconds(1000)
    );
    let rest = ctx.store.lease_jobs("w-2", 10, lease).await.unwrap();
    assert_eq!(
        rest.iter().map(|j| j.id.clone()).collect::<Vec<_>>(),
        [format!("{s}/4")]
    );
    assert!(
        ctx.store
            .lease_jobs("w-2", 10, lease)
            .await
            .unwrap()
            .is_empty()
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = ctx
        .store
        .lease_jobs("w-2", 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(again.len(), 3);
    assert!(again.iter().all(|j| j.leases == 2));
    // A worker's report completes its job in the same transaction as its events.
    let mut report = commit(&s, 4, "c-3", vec![]);
    report.completes_job = Some(format!("{s}/2"));
    ctx.commit(report).await.unwrap();
    assert_eq!(ctx.count("jobs").await, 2);
    assert_eq!(
        ctx.scalar(&format!(
            "SELECT COUNT(*) FROM jobs WHERE lease_owner = 'w-2' AND id = '{s}/3'"
        ))
        .await,
        1
    );
}

pub async fn commands_joined_in_one_commit_keep_their_ids_and_complete_their_jobs(ctx: Ctx) {
    let s = stream("judiciary", "i-1");
    let job = |v: u64| NewJob {
        id: format!("{s}/{v}"),
        kind: JobKind::Inquiry,
        payload: json!({"type": "x", "v": v}),
    };
    let mut c = commit(&s, 0, "c-1", vec![started(&s), step("ask")]);
    c.jobs = vec![job(2), job(3), job(4)];
    ctx.commit(c).await.unwrap();
    // Three reports in one commit: the first has two events, the second none (refused), the
    // third one.
    let mut c = commit(&s, 2, "job:2", vec![step("a"), step("b"), step("c")]);
    c.actor = Actor::Connector("registry".to_owned());
    c.completes_job = Some(format!("{s}/2"));
    c.joined = vec![
        Joined {
            first: 2,
            command_id: "job:3".to_owned(),
            actor: Actor::Connector("police".to_owned()),
            completes_job: Some(format!("{s}/3")),
        },
        Joined {
            first: 2,
            command_id: "job:4".to_owned(),
            actor: Actor::Connector("army".to_owned()),
            completes_job: Some(format!("{s}/4")),
        },
    ];
    assert_eq!(ctx.commit(c).await.unwrap().version, 5);
    let history = ctx.store.load(&s).await.unwrap();
    let by: Vec<(u64, &str, Actor)> = history
        .iter()
        .map(|e| (e.version, e.command_id.as_str(), e.actor.clone()))
        .collect();
    let connector = |c: &str| Actor::Connector(c.to_owned());
    assert_eq!(
        by[2..],
        [
            (3, "job:2", connector("registry")),
            (4, "job:2", connector("registry")),
            (5, "job:4", connector("army")),
        ]
    );
    assert_eq!(
        ctx.count("jobs").await,
        0,
        "every joined report completes its job"
    );
    assert_eq!(ctx.count("commands").await, 2, "one command row a commit");
    assert_eq!(
        verify_chain(&history),
        Ok(()),
        "the chain holds across the joined commands"
    );
}

pub async fn jobs_leased_as_they_are_created_wait_out_their_lease(ctx: Ctx) {
    let s = stream("judiciary", "i-1");
    let mut c = commit(&s, 0, "c-1", vec![started(&s), step("ask")]);
    c.jobs = vec![NewJob {
        id: format!("{s}/2"),
        kind: JobKind::Inquiry,
        payload: json!({"type": "x", "v": 2}),
    }];
    c.lease = Some(JobLease {
        owner: "node-a".to_owned(),
        duration: Duration::from_millis(1000),
    });
    ctx.commit(c).await.unwrap();
    assert_eq!(
        ctx.scalar(&format!(
            "SELECT COUNT(*) FROM jobs WHERE lease_owner = 'node-a' AND leases = 1 AND id = '{s}/2'"
        ))
        .await,
        1
    );
    // Another node's loop does not take it while the lease holds…
    let lease = Duration::from_secs(60);
    assert!(
        ctx.store
            .lease_jobs("node-b", 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    // …and takes it over once it has expired, as from a node that died.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let taken = ctx.store.lease_jobs("node-b", 10, lease).await.unwrap();
    assert_eq!(
        taken
            .iter()
            .map(|j| (j.id.clone(), j.leases))
            .collect::<Vec<_>>(),
        [(format!("{s}/2"), 2)]
    );
}

pub async fn timers_fire_by_the_clock_the_engine_passes(ctx: Ctx) {
    let s = stream("judiciary", "i-1");
    let now = ctx.store.now().await.unwrap();
    let mut c = commit(&s, 0, "c-1", vec![started(&s)]);
    c.timers = vec![
        NewTimer {
            id: "later".into(),
            due_at: now + TimeDelta::hours(1),
        },
        NewTimer {
            id: "due-2".into(),
            due_at: now - TimeDelta::seconds(1),
        },
        NewTimer {
            id: "due-1".into(),
            due_at: now - TimeDelta::minutes(5),
        },
        NewTimer {
            id: "soon".into(),
            due_at: now + TimeDelta::milliseconds(1000),
        },
    ];
    ctx.commit(c).await.unwrap();
    let due = ctx.store.due_timers(now, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["due-1", "due-2"]
    );
    assert_eq!(due[0].stream, s);
    assert_eq!(
        due[0].due_at.timestamp_micros(),
        (now - TimeDelta::minutes(5)).timestamp_micros()
    );
    // The clock the caller passes decides, not the database's: a second later, `soon` is due.
    assert_eq!(ctx.store.due_timers(now, 1).await.unwrap().len(), 1);
    let later = now + TimeDelta::milliseconds(1100);
    assert_eq!(ctx.store.due_timers(later, 10).await.unwrap().len(), 3);
    let mut c = commit(
        &s,
        1,
        "c-2",
        vec![Event::TimerFired {
            timer: "due-1".into(),
        }],
    );
    c.dropped_timers = vec!["due-1".into(), "due-2".into()];
    ctx.commit(c).await.unwrap();
    let due = ctx.store.due_timers(later, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["soon"]
    );
    assert_eq!(ctx.count("timers").await, 2);
}

pub async fn read_model_rows_are_upserted(ctx: Ctx) {
    let s = stream("judiciary", "i-1");
    let task = |open, officer: Option<&str>| TaskRow {
        id: "task-1".into(),
        step: "review".into(),
        role: Some("clerk".into()),
        officer: officer.map(str::to_owned),
        due_at: t("2026-03-09T17:00:00.000001Z"),
        open,
    };
    let mut c = commit(&s, 0, "c-1", vec![started(&s)]);
    c.tasks = vec![task(true, None)];
    ctx.commit(c.clone()).await.unwrap();
    assert_eq!(
        ctx.store.instance(&s).await.unwrap(),
        Some(c.instance.clone())
    );

    let mut c2 = commit(&s, 1, "c-2", vec![step("done")]);
    c2.instance.status = Some("issued".into());
    c2.instance.state = "issued".into();
    c2.instance.incidents = 2;
    c2.instance.sla_breached = true;
    c2.tasks = vec![
        task(false, Some("officer-7")),
        TaskRow {
            id: "task-2".into(),
            ..task(true, None)
        },
    ];
    ctx.commit(c2.clone()).await.unwrap();
    assert_eq!(ctx.store.instance(&s).await.unwrap(), Some(c2.instance));
    assert_eq!(ctx.count("tasks").await, 2);
    assert_eq!(
        ctx.scalar(
            "SELECT COUNT(*) FROM tasks WHERE open = TRUE AND officer IS NULL AND id = 'task-2'"
        )
        .await,
        1
    );
    assert_eq!(ctx.scalar("SELECT COUNT(*) FROM tasks WHERE open = FALSE AND officer = 'officer-7' AND role = 'clerk'").await, 1);
    assert_eq!(
        ctx.store
            .instance(&stream("judiciary", "nope"))
            .await
            .unwrap(),
        None
    );
}

pub async fn tracking_codes_find_their_stream(ctx: Ctx) {
    let (a, b) = (stream("judiciary", "i-1"), stream("health", "i-2"));
    ctx.commit(commit(&a, 0, "c-1", vec![started(&a)]))
        .await
        .unwrap();
    ctx.commit(commit(&b, 0, "c-1", vec![started(&b)]))
        .await
        .unwrap();
    assert_eq!(
        ctx.store
            .find_tracking_code("TRK-health-i-2")
            .await
            .unwrap(),
        Some(b)
    );
    assert_eq!(
        ctx.store
            .find_tracking_code("TRK-judiciary-i-1")
            .await
            .unwrap(),
        Some(a)
    );
    assert_eq!(
        ctx.store.find_tracking_code("TRK-none").await.unwrap(),
        None
    );
}

/// The row of a request that issued a document names it, and the index finds the request; a
/// later commit of the same request (a revocation) keeps it.
pub async fn documents_find_their_stream(ctx: Ctx) {
    let (a, b) = (stream("judiciary", "i-1"), stream("health", "i-2"));
    let issued = |s: &StreamId, version, id: &str, document: &str| {
        let mut c = commit(s, version, id, vec![started(s)]);
        c.instance.state = "issued".into();
        c.instance.document_id = Some(document.into());
        c
    };
    ctx.commit(issued(&a, 0, "c-1", "JDCR0WHNY77K2M9XQ4RK"))
        .await
        .unwrap();
    ctx.commit(commit(&b, 0, "c-1", vec![started(&b)]))
        .await
        .unwrap();
    let found = |id: &'static str| ctx.store.find_document(id);
    assert_eq!(
        found("JDCR0WHNY77K2M9XQ4RK").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(found("JDCR0WHNY77K2M9XQ4RX").await.unwrap(), None);
    let mut later = commit(&a, 1, "c-2", vec![started(&a)]);
    later.instance.state = "issued".into();
    ctx.commit(later).await.unwrap();
    assert_eq!(
        found("JDCR0WHNY77K2M9XQ4RK").await.unwrap(),
        Some(a.clone())
    );
    // Unique: another request cannot name the same document.
    let again = ctx
        .store
        .commit(&[issued(&b, 1, "c-2", "JDCR0WHNY77K2M9XQ4RK")])
        .await;
    assert!(
        again.map_or(true, |r| r.iter().all(Result::is_err)),
        "a second request named the same document"
    );
    assert_eq!(found("JDCR0WHNY77K2M9XQ4RK").await.unwrap(), Some(a));
}

pub async fn occurrences_messages_and_definitions(ctx: Ctx) {
    let at = t("2026-03-01T00:00:00Z");
    assert!(
        ctx.store
            .claim_occurrence("judiciary", "permit", "daily", at)
            .await
            .unwrap()
    );
    assert!(
        !ctx.store
            .claim_occurrence("judiciary", "permit", "daily", at)
            .await
            .unwrap()
    );
    assert!(
        ctx.store
            .claim_occurrence("judiciary", "permit", "daily", at + TimeDelta::days(1))
            .await
            .unwrap()
    );
    assert!(
        ctx.store
            .claim_occurrence("health", "permit", "daily", at)
            .await
            .unwrap()
    );

    let payload = json!({"paid": true});
    for _ in 0..2 {
        ctx.store
            .keep_unmatched_message("judiciary", "payment", "ref-1", "m-1", &payload)
            .await
            .unwrap();
    }
    ctx.store
        .keep_unmatched_message("health", "payment", "ref-1", "m-1", &payload)
        .await
        .unwrap();
    assert_eq!(ctx.count("unmatched_messages").await, 2);

    let d = StoredDefinition {
        agency: "judiciary".into(),
        workflow: "permit".into(),
        version: 2,
        hash: "sha256:aa".into(),
        in_force_from: chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
        source: "id: permit\n".into(),
    };
    ctx.store.deploy(&d).await.unwrap();
    ctx.store.deploy(&d).await.unwrap();
    let changed = StoredDefinition {
        hash: "sha256:bb".into(),
        ..d.clone()
    };
    assert_eq!(
        ctx.store.deploy(&changed).await,
        Err(StoreError::VersionTaken {
            workflow: "permit".into(),
            version: 2
        })
    );
    let v1 = StoredDefinition {
        version: 1,
        ..changed.clone()
    };
    let other = StoredDefinition {
        agency: "health".into(),
        ..d.clone()
    };
    ctx.store.deploy(&v1).await.unwrap();
    ctx.store.deploy(&other).await.unwrap();
    assert_eq!(
        ctx.store.definitions(Some("judiciary")).await.unwrap(),
        vec![v1.clone(), d.clone()]
    );
    assert_eq!(
        ctx.store.definitions(None).await.unwrap(),
        vec![other, v1, d]
    );
    assert!(
        ctx.store
            .definitions(Some("nobody"))
            .await
            .unwrap()
            .is_empty()
    );
}
