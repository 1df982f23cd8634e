//! The runtime on a real SQLite file: instances run to their end through jobs and timers,
//! resume after a restart, keep their definition version, and repeat nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use daftar_engine::connectors::scripted::Scripted;
use daftar_engine::connectors::{Connectors, Notifier, SendOutcome, Sms};
use daftar_engine::core::{Command, Wait};
use daftar_engine::events::{Actor, Event, StreamId, verify_chain};
use daftar_engine::runtime::workers::{self, Pace};
use daftar_engine::runtime::{Engine, RuntimeError};
use serde_json::json;
use tokio::sync::Mutex;

const WORKFLOW: &str = daftar_testkit::certificate_workflow!("certificate", "");

/// Records every SMS it is asked to send.
#[derive(Debug, Default)]
struct Outbox {
    sent: Mutex<Vec<Sms>>,
}

#[async_trait::async_trait]
impl Notifier for Outbox {
    async fn send(&self, sms: &Sms) -> SendOutcome {
        self.sent.lock().await.push(sms.clone());
        SendOutcome::Sent {
            gateway_id: Some(format!("g-{}", sms.reference)),
        }
    }
    async fn lookup(&self, reference: &str) -> SendOutcome {
        let sent = self.sent.lock().await;
        match sent.iter().find(|s| s.reference == reference) {
            Some(_) => SendOutcome::Sent { gateway_id: None },
            None => SendOutcome::Unknown,
        }
    }
}

fn answers(has_record: bool) -> Arc<Scripted> {
    let mut a = BTreeMap::new();
    a.insert(
        "judiciary_records.criminal_record".to_owned(),
        json!({"has_record": has_record}),
    );
    Arc::new(Scripted::new(a))
}

fn applicant() -> serde_json::Value {
    json!({"national_id": "0499370899", "mobile": "09121234567"})
}

async fn engine(db: &str, connectors: Connectors) -> Arc<Engine> {
    let store = daftar_engine::store::open(db).await.unwrap();
    Engine::open(store, connectors).await.unwrap()
}

fn fast() -> Pace {
    Pace {
        poll: Duration::from_millis(10),
        lease: Duration::from_millis(300),
        batch: 64,
    }
}

async fn until_ended(engine: &Engine, stream: &StreamId) -> daftar_engine::core::InstanceState {
    for _ in 0..500 {
        let state = engine.state(stream).await.unwrap();
        if state.ended() {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{stream} did not end: {:?}",
        engine.state(stream).await.unwrap().tokens
    );
}

/// An engine on the store `db` with `connectors`, the certificate deployed.
async fn deployed(db: &str, connectors: Connectors) -> Arc<Engine> {
    let engine = engine(db, connectors).await;
    engine.deploy("certificate.yaml", WORKFLOW).await.unwrap();
    engine
}

/// Files the applicant's request for a certificate.
async fn file(engine: &Engine) -> Result<daftar_engine::runtime::Executed, RuntimeError> {
    file_keyed(engine, None).await
}

/// [`file`] under the idempotency key `key`, if any.
async fn file_keyed(
    engine: &Engine,
    key: Option<&str>,
) -> Result<daftar_engine::runtime::Executed, RuntimeError> {
    let applicant = applicant();
    engine
        .start("judiciary", "certificate", applicant, key, Actor::Citizen)
        .await
}

/// A node's connectors: the criminal records answer `has_record`, and SMS go to `outbox`.
fn answering(has_record: bool, outbox: &Arc<Outbox>) -> Connectors {
    Connectors {
        inquiries: Some(answers(has_record)),
        notifier: Some(outbox.clone()),
        payments: None,
    }
}

/// Checks that an instance ended with `outcome`.
fn ended_with(state: &daftar_engine::core::InstanceState, outcome: daftar_engine::events::Outcome) {
    assert!(
        matches!(
            &state.ending,
            Some(daftar_engine::core::Ending::Completed { outcome: o, .. }) if *o == outcome
        ),
        "{:?}",
        state.ending
    );
}

fn db_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("daftar.db").display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_smart_service_runs_to_its_end_through_jobs_and_sends_each_sms_once() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::default());
    let engine = deployed(&db_url(&dir), answering(false, &outbox)).await;
    let _loops = workers::spawn(engine.clone(), fast());
    let started = file(&engine).await.unwrap();
    let state = until_ended(&engine, &started.stream).await;
    ended_with(&state, daftar_engine::events::Outcome::Issued);
    // Both status SMS were sent, once each, and recorded as sent.
    for _ in 0..100 {
        if engine
            .state(&started.stream)
            .await
            .unwrap()
            .notifications
            .values()
            .all(|d| *d == daftar_engine::core::Delivery::Sent)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sent = outbox.sent.lock().await.clone();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent[0].text.contains(&state.tracking_code));
    let history = engine.store().load(&started.stream).await.unwrap();
    verify_chain(&history).unwrap();
    let row = engine
        .store()
        .instance(&started.stream)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, "issued");
    assert_eq!(row.status.as_deref(), Some("issued"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_waiting_on_a_job_resumes_after_a_restart_without_repeating_a_step() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(&dir);
    // First node: no inquiry connector, so the instance waits on its inquiry job.
    let first = deployed(&url, Connectors::default()).await;
    let started = file(&first).await.unwrap();
    let state = first.state(&started.stream).await.unwrap();
    assert!(matches!(
        state.tokens[&0].wait,
        Wait::Inquiry { attempt: 1 }
    ));
    drop(first);

    // A new node on the same file finishes it.
    let outbox = Arc::new(Outbox::default());
    let second = engine(&url, answering(true, &outbox)).await;
    let _loops = workers::spawn(second.clone(), fast());
    let state = until_ended(&second, &started.stream).await;
    ended_with(&state, daftar_engine::events::Outcome::Rejected);
    let history = second.store().load(&started.stream).await.unwrap();
    let entered: Vec<&str> = history
        .iter()
        .filter_map(|e| match &e.event {
            Event::StepEntered { step, .. } => Some(step.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(entered, ["record", "decide", "refuse"], "each step once");
    assert_eq!(
        history
            .iter()
            .filter(|e| matches!(e.event, Event::InquiryRequested { .. }))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_requests_take_the_version_in_force_and_running_ones_keep_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&db_url(&dir), Connectors::default()).await;
    engine.deploy("v1.yaml", WORKFLOW).await.unwrap();
    let future = WORKFLOW
        .replace("version: 1", "version: 2")
        .replace("in_force_from: 2026-01-01", "in_force_from: 2099-01-01");
    engine.deploy("v2.yaml", &future).await.unwrap();
    let a = file(&engine).await.unwrap();
    assert_eq!(
        engine.state(&a.stream).await.unwrap().workflow_version,
        1,
        "v2 is not in force yet"
    );

    let now = WORKFLOW
        .replace("version: 1", "version: 3")
        .replace("sla: 13h", "sla: 12h");
    engine.deploy("v3.yaml", &now).await.unwrap();
    let b = file(&engine).await.unwrap();
    assert_eq!(engine.state(&b.stream).await.unwrap().workflow_version, 3);
    assert_eq!(
        engine.state(&a.stream).await.unwrap().workflow_version,
        1,
        "a running request keeps its version"
    );

    // The same version with other content is refused; the same content again is a no-op.
    assert!(
        engine
            .deploy("v3b.yaml", &now.replace("sla: 12h", "sla: 11h"))
            .await
            .is_err()
    );
    engine.deploy("v3.yaml", &now).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_with_the_same_idempotency_key_files_one_request() {
    let dir = tempfile::tempdir().unwrap();
    let engine = deployed(&db_url(&dir), Connectors::default()).await;
    let first = file_keyed(&engine, Some("portal-42")).await.unwrap();
    let again = file_keyed(&engine, Some("portal-42")).await.unwrap();
    assert_eq!(first.stream, again.stream);
    assert!(again.duplicate);
    assert_eq!(engine.store().streams().await.unwrap().len(), 1);
    assert_eq!(
        engine.store().load(&first.stream).await.unwrap().len() as u64,
        first.version
    );
}

/// A command retried under its id after it took effect is a duplicate, even though deciding it
/// again would now be refused (here: cancelling a request the first cancellation ended); a new
/// command the core refuses is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_command_is_a_duplicate_not_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let engine = deployed(&db_url(&dir), Connectors::default()).await;
    let filed = file(&engine).await.unwrap();
    let cancel = Command::Cancel {
        reason: "filed twice".into(),
    };
    let actor = Actor::Operator("op".into());
    let first = engine
        .execute(&filed.stream, &cancel, "cancel:k1", actor.clone(), None)
        .await
        .unwrap();
    assert!(!first.duplicate && !first.events.is_empty());
    let again = engine
        .execute(&filed.stream, &cancel, "cancel:k1", actor.clone(), None)
        .await
        .unwrap();
    assert!(again.duplicate && again.events.is_empty(), "{again:?}");
    assert_eq!(again.version, first.version);
    let other = engine
        .execute(&filed.stream, &cancel, "cancel:k2", actor, None)
        .await;
    assert!(
        matches!(
            other,
            Err(RuntimeError::Refused(daftar_engine::Error::Ended))
        ),
        "{other:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_nobody_waits_for_is_kept_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let engine = deployed(&db_url(&dir), Connectors::default()).await;
    let started = file(&engine).await.unwrap();
    // A bank's late answer under the message id `m-1`.
    let late = || {
        let bank = Actor::Connector("bank".into());
        engine.deliver(
            &started.stream,
            "late_answer",
            "x",
            "m-1",
            json!({"a": 1}),
            bank,
        )
    };
    let result = late().await;
    assert!(matches!(
        result,
        Err(RuntimeError::Refused(
            daftar_engine::Error::NoReceiver { .. }
        ))
    ));
    // A second delivery of the same message id is refused the same way and kept once.
    let again = late().await;
    assert!(again.is_err());
    let file = dir.path().join("daftar.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let kept: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT name, correlation, message_id FROM unmatched_messages WHERE agency = 'judiciary'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        kept,
        vec![("late_answer".to_owned(), "x".to_owned(), "m-1".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let engine = deployed(&db_url(&dir), Connectors::default()).await;
    let (t0, c0) = engine.writer_stats();
    let mut filing = Vec::new();
    for _ in 0..100 {
        let engine = engine.clone();
        filing.push(tokio::spawn(async move { file(&engine).await.unwrap() }));
    }
    for f in filing {
        f.await.unwrap();
    }
    let (t1, c1) = engine.writer_stats();
    eprintln!(
        "group commit: {} transactions for {} commits",
        t1 - t0,
        c1 - c0
    );
    assert_eq!(c1 - c0, 100, "one commit per request");
    assert!(
        t1 - t0 < 100,
        "commits were grouped: {} transactions for 100 commits",
        t1 - t0
    );
    assert_eq!(engine.store().streams().await.unwrap().len(), 100);
}

const SCHEDULED: &str = r#"
daftar: 1
id: reminders
version: 1
title: { fa: یادآوری, en: Reminders }
agency: mcls
in_force_from: 2026-01-01
sla: 1h
triggers:
  request: false
  schedules:
    - id: every_minute
      cron: "* * * * *"
      input: { batch: 10 }
input:
  schema:
    type: object
    properties:
      batch: { type: integer }
steps:
  - id: done
    end: { outcome: completed }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_starts_happen_once_per_occurrence_across_nodes_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(&dir);
    let a = engine(&url, Connectors::default()).await;
    a.deploy("reminders.yaml", SCHEDULED).await.unwrap();
    let b = engine(&url, Connectors::default()).await;
    // Both nodes look at the same occurrences (the last hour's, once a minute).
    let (first, second) = tokio::join!(workers::start_scheduled(&a), workers::start_scheduled(&b));
    let started = first.unwrap() + second.unwrap();
    assert!(
        (60..=61).contains(&started),
        "one instance per occurrence: {started}"
    );
    let streams = a.store().streams().await.unwrap();
    assert_eq!(streams.len(), started);
    for s in &streams {
        let state = a.state(s).await.unwrap();
        assert_eq!(state.input, json!({"batch": 10}));
        assert!(state.ended());
    }
    // A node that restarts finds nothing left to start for those occurrences.
    drop(a);
    let c = engine(&url, Connectors::default()).await;
    let again = workers::start_scheduled(&c).await.unwrap();
    assert!(again <= 1, "at most a new minute's occurrence: {again}");
}

/// An agency that answers only once it is told to.
#[derive(Debug)]
struct Held {
    release: tokio::sync::Semaphore,
    answers: Arc<Scripted>,
}

#[async_trait::async_trait]
impl daftar_engine::connectors::Inquiries for Held {
    async fn inquire(
        &self,
        call: &daftar_engine::connectors::InquiryCall,
    ) -> daftar_engine::core::InquiryResult {
        self.release.acquire().await.unwrap().forget();
        self.answers.inquire(call).await
    }
}

/// A node whose agencies answer only when told to, and its SMS outbox.
async fn held_node(url: &str) -> (Arc<Engine>, Arc<Held>, Arc<Outbox>) {
    let held = Arc::new(Held {
        release: tokio::sync::Semaphore::new(0),
        answers: answers(false),
    });
    let outbox = Arc::new(Outbox::default());
    let connectors = Connectors {
        inquiries: Some(held.clone()),
        notifier: Some(outbox.clone()),
        payments: None,
    };
    (engine(url, connectors).await, held, outbox)
}

/// `(lease_owner, leases)` of every job of the store.
async fn job_leases(url: &str) -> Vec<(Option<String>, i64)> {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::query_as("SELECT lease_owner, leases FROM jobs ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_running_its_job_loop_leases_the_jobs_it_creates_to_itself() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(&dir);
    // No job loop: the job is left for any node's loop to lease.
    let idle = deployed(&url, Connectors::default()).await;
    file(&idle).await.unwrap();
    let left = job_leases(&url).await;
    assert!(
        !left.is_empty() && left.iter().all(|l| *l == (None, 0)),
        "{left:?}"
    );
    drop(idle);

    let (node, held, _) = held_node(&url).await;
    // One job at a time, a lease long enough that nobody takes a job over while the agency
    // is held, and a poll so rare that the loop's lease query runs as it starts and then only
    // when a slot is free.
    let pace = Pace {
        lease: Duration::from_secs(60),
        poll: Duration::from_secs(3600),
        batch: 1,
    };
    let loops = workers::spawn(node.clone(), pace);
    let mine = (Some(node.node().to_owned()), 1);
    // Those queries lease the waiting jobs; the inquiry then holds the one slot while its
    // agency is held.
    for _ in 0..200 {
        if job_leases(&url).await == [mine.clone()] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(job_leases(&url).await, std::slice::from_ref(&mine));
    // So no query can lease a new request's jobs now: they are this node's as they are created.
    let started = file(&node).await.unwrap();
    let leases = job_leases(&url).await;
    assert!(leases.len() > 1, "{leases:?}");
    assert!(leases.iter().all(|l| *l == mine), "{leases:?}");

    held.release.add_permits(2);
    let state = until_ended(&node, &started.stream).await;
    assert!(state.ended());
    for _ in 0..200 {
        if job_leases(&url).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The SMS jobs were leased and performed the same way, each once.
    assert!(job_leases(&url).await.is_empty());
    let history = node.store().load(&started.stream).await.unwrap();
    assert_eq!(
        history
            .iter()
            .filter(|e| matches!(e.event, Event::InquiryAnswered { .. }))
            .count(),
        1
    );

    // Once the loop stops, new jobs are no longer leased to this node.
    drop(loops);
    file(&node).await.unwrap();
    assert!(job_leases(&url).await.contains(&(None, 0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answers_of_a_parallel_step_are_decided_together_in_one_commit() {
    let dir = tempfile::tempdir().unwrap();
    let mut agencies = BTreeMap::new();
    agencies.insert(
        "civil_registry.identity_match".to_owned(),
        json!({"matched": true, "is_alive": true, "first_name": "Sara", "last_name": "Ahmadi"}),
    );
    agencies.insert(
        "military_service.service_status".to_owned(),
        json!({"can_leave_country": true}),
    );
    let connectors = Connectors {
        inquiries: Some(Arc::new(Scripted::new(agencies))),
        notifier: Some(Arc::new(Outbox::default())),
        payments: None,
    };
    let node = engine(&db_url(&dir), connectors).await;
    // Two inquiries in parallel, answered at once by the in-process agencies.
    node.deploy(
        "smart.yaml",
        include_str!("../../examples/bench/smart.yaml"),
    )
    .await
    .unwrap();
    // Leases that outlast a busy machine's pauses: a job repeated after its lease ran out would
    // be a commit of its own and hide what is counted here.
    let pace = Pace {
        lease: Duration::from_secs(60),
        ..fast()
    };
    let _loops = workers::spawn(node.clone(), pace);
    let input =
        json!({"national_id": "0499370899", "mobile": "09121234567", "birth_date": "1990-01-01"});
    let mut filed = Vec::new();
    for _ in 0..20 {
        let node = node.clone();
        let input = input.clone();
        filed.push(tokio::spawn(async move {
            node.start("bench", "bench-smart", input, None, Actor::Citizen)
                .await
                .unwrap()
                .stream
        }));
    }
    let mut commands = 0;
    for request in filed {
        let stream = request.await.unwrap();
        until_ended(&node, &stream).await;
        // The SMS report is the last commit.
        let mut history = Vec::new();
        for _ in 0..500 {
            history = node.store().load(&stream).await.unwrap();
            if history
                .iter()
                .any(|e| matches!(e.event, Event::NotificationSent { .. }))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut ids: Vec<&str> = history.iter().map(|e| e.command_id.as_str()).collect();
        ids.dedup();
        // The start, each answer, the SMS report: each command's events under its own id.
        assert_eq!(ids.len(), 4, "{ids:?}");
        commands += ids.len() as u64;
    }
    // Every commit the writer wrote appended a command's events (none was decided on a
    // version the other answer had already moved past), and the two answers, performed
    // together, were one commit: 3 commits a request rather than 4 when they arrive about
    // together. The in-process agencies answer at once, but how many pairs a busy machine
    // parts (one answer's task scheduled after the other's window) is timing, so the test asks
    // only that some were decided together (each would be its own commit without it).
    let (_, commits) = node.writer_stats();
    assert!(
        commits < commands,
        "{commits} commits for {commands} commands: no answers were decided together"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_lease_ran_out_while_it_waited_for_a_slot_is_leased_again() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(&dir);
    // One slot, and leases shorter than the agency is held.
    let (node, held, outbox, _loops) = one_worker(&url, Duration::from_millis(300)).await;
    let first = file(&node).await.unwrap();
    // Once the first request's inquiry holds the slot (and no job waits for it, so that new
    // jobs are still leased as they are created)...
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = file(&node).await.unwrap();
    // ...the second's jobs wait for it, leased to this node as they were created, until their
    // lease runs out.
    tokio::time::sleep(Duration::from_millis(500)).await;
    held.release.add_permits(1);
    // They are not performed on the lease that ran out: the lease query takes them again.
    let mut leases = Vec::new();
    for _ in 0..300 {
        leases = job_leases(&url).await;
        if leases.iter().any(|(_, n)| *n >= 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(leases.iter().any(|(_, n)| *n >= 2), "{leases:?}");

    held.release.add_permits(64);
    for request in [&first, &second] {
        until_ended(&node, &request.stream).await;
        let history = node.store().load(&request.stream).await.unwrap();
        let answered = history
            .iter()
            .filter(|e| matches!(e.event, Event::InquiryAnswered { .. }))
            .count();
        assert_eq!(answered, 1);
    }
    // No SMS went out twice.
    let sent = outbox.sent.lock().await;
    let mut references: Vec<&str> = sent.iter().map(|s| s.reference.as_str()).collect();
    let all = references.len();
    references.sort_unstable();
    references.dedup();
    assert_eq!(references.len(), all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_not_leased_as_they_are_created_while_the_workers_are_behind() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(&dir);
    // One worker, held by the first request's inquiry; leases long enough not to run out.
    let (node, held, _outbox, _loops) = one_worker(&url, Duration::from_secs(60)).await;
    let mut filed = Vec::new();
    for _ in 0..4 {
        filed.push(file(&node).await.unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The first request's inquiry has the worker and the next jobs wait for it: once twice as
    // many jobs as there are workers wait, the next ones are left unleased, for the job loop
    // to lease once a worker is free, instead of waiting out a lease in this node's queue.
    let leases = job_leases(&url).await;
    assert!(leases.contains(&(None, 0)), "{leases:?}");
    assert!(
        leases.iter().filter(|(owner, _)| owner.is_some()).count() >= 2,
        "{leases:?}"
    );

    held.release.add_permits(64);
    for request in &filed {
        until_ended(&node, &request.stream).await;
    }
}

/// A node with the certificate deployed, its agency held, and one worker whose jobs are leased
/// for `lease`.
async fn one_worker(
    url: &str,
    lease: Duration,
) -> (Arc<Engine>, Arc<Held>, Arc<Outbox>, workers::Background) {
    let (node, held, outbox) = held_node(url).await;
    node.deploy("certificate.yaml", WORKFLOW).await.unwrap();
    let pace = Pace {
        poll: Duration::from_millis(20),
        lease,
        batch: 1,
    };
    let loops = workers::spawn(node.clone(), pace);
    (node, held, outbox, loops)
}
