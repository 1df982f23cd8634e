//! The model test: for random command sequences, the state folded from what was appended and
//! read back equals the state computed in memory, on both stores.
//!
//! Each case takes a fresh store (a new SQLite file, or a new PostgreSQL schema; see
//! `store/mod.rs`, which also skips PostgreSQL loudly unless `DAFTAR_REQUIRE_POSTGRES=1`), opens
//! an [`Engine`] on it with no background loops, deploys [`WORKFLOW`] and files one request.
//! It then drives the instance itself: each generated choice becomes a command that is
//! plausible at that point (an answer, failure or unknown outcome of the current inquiry
//! attempt, a pending timer firing, a task claimed or completed with a random outcome and form,
//! a matching or non-matching message, an SMS report, an incident retried, a cancel, an
//! earlier command repeated with its id) or one that must be refused (a stale attempt, an
//! unknown task or timer). After every command:
//!
//! - the state kept in memory (the start's events, then the events of each accepted command,
//!   applied in order) equals `engine.state(..)`;
//! - it equals the fold of the events read back through a second store handle on the same
//!   database (no cache), whose hash chain verifies, and whose tail is what the command
//!   returned;
//! - a refused command, and a repeated command id, appended nothing;
//! - the read-model rows (instance, worklist, timers) agree with the state.

mod store;

use std::sync::Arc;

use chrono::{DurationRound, TimeDelta};
use daftar_engine::Error;
use daftar_engine::connectors::Connectors;
use daftar_engine::core::{Command, Delivery, InquiryResult, InstanceState, TaskState, Wait};
use daftar_engine::events::{Actor, InquiryEvidence, StreamId, verify_chain};
use daftar_engine::runtime::{Engine, Executed, RuntimeError};
use daftar_engine::store::{Store, TaskRow};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

use store::{Backend, Ctx, setup};

const AGENCY: &str = "model-agency";

/// An inquiry with retry, a decision, a task with a form, outcomes and an escalation, a wait
/// for a message with a timeout, a parallel step with two branches, and three ends.
const WORKFLOW: &str = concat!(
    daftar_testkit::workflow_meta!("permit", "مجوز", "Permit", "model-agency", "13h"),
    daftar_testkit::applicant_form!(),
    daftar_testkit::checking_done_statuses!(),
    daftar_testkit::status_sms_template!(),
    daftar_testkit::review_form!(),
    "steps:\n",
    daftar_testkit::identity_step!(),
    r#"  - id: decide
    decision:
      cases:
        - when: alive
          next: review
      default: refused
"#,
    daftar_testkit::review_task!("await_answer", "refused"),
    daftar_testkit::answer_wait!(),
    daftar_testkit::parallel_waits!("all"),
    r#"  - id: issue
    status: done
    end: { outcome: issued, document: { type: certificate } }
  - id: refused
    end: { outcome: rejected }
  - id: expired
    end: { outcome: expired }
"#
);

/// One generated choice; what it means depends on the state when it is used.
#[derive(Clone, Copy, Debug)]
struct Choice {
    /// Which kind of command.
    kind: u8,
    /// Which candidate of that kind.
    pick: u8,
    /// A variant: an outcome, an officer, a flag.
    flag: u8,
}

fn choice() -> impl Strategy<Value = Choice> {
    (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(kind, pick, flag)| Choice {
        kind,
        pick,
        flag,
    })
}

/// What the test expects of a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Accepted or refused: either way the stores must agree with the model.
    Either,
    /// Must be refused.
    Refused,
    /// A command id seen before: must append nothing.
    Repeat,
}

#[derive(Clone, Debug)]
struct Planned {
    command: Command,
    id: String,
    actor: Actor,
    expect: Expect,
}

fn answered(alive: bool) -> InquiryResult {
    InquiryResult::Answered {
        evidence: InquiryEvidence {
            response: json!({"alive": alive}),
            sha256: "00".into(),
            agency_time: None,
            latency_ms: 7,
        },
    }
}

fn pick<T: Clone>(items: &[T], n: u8) -> Option<T> {
    (!items.is_empty()).then(|| items[usize::from(n) % items.len()].clone())
}

/// The command a choice stands for in state `st`, or `None` when nothing of that kind is
/// possible now.
fn plan(st: &InstanceState, c: Choice, n: usize, done: &[Planned]) -> Option<Planned> {
    let fresh = format!("cmd-{n}");
    let system = |command: Command, expect: Expect| Planned {
        command,
        id: fresh.clone(),
        actor: Actor::System,
        expect,
    };
    let officer = format!("o{}", c.flag % 2 + 1);
    let inquiries: Vec<(u32, u32)> = st
        .tokens
        .iter()
        .filter_map(|(token, t)| match t.wait {
            Wait::Inquiry { attempt } => Some((*token, attempt)),
            _ => None,
        })
        .collect();
    let open_tasks: Vec<String> = st
        .tasks
        .iter()
        .filter(|(_, t)| t.open)
        .map(|(id, _)| id.clone())
        .collect();
    match c.kind % 16 {
        // The current inquiry attempt: answered (mostly yes), failed, refused, or unknown.
        0..=3 => {
            let (token, attempt) = pick(&inquiries, c.pick)?;
            let result = match c.flag % 8 {
                0..=3 => answered(true),
                4 => answered(false),
                5 => InquiryResult::Transient {
                    reason: "503".into(),
                },
                6 => InquiryResult::Unknown,
                _ => InquiryResult::Refused {
                    reason: "400".into(),
                },
            };
            Some(system(
                Command::InquiryResult {
                    token,
                    attempt,
                    result,
                },
                Expect::Either,
            ))
        }
        // A pending timer fires: mostly the earliest due, as the clock would have it.
        4 | 5 => {
            let timer = if c.flag.is_multiple_of(4) {
                let timers: Vec<String> = st.timers.keys().cloned().collect();
                pick(&timers, c.pick)?
            } else {
                st.timers
                    .iter()
                    .min_by_key(|(id, t)| (t.due_at, (*id).clone()))
                    .map(|(id, _)| id.clone())?
            };
            Some(system(Command::FireTimer { timer }, Expect::Either))
        }
        // A task is claimed, or completed with a random outcome and a form that may be invalid.
        6..=8 => {
            let task = pick(&open_tasks, c.pick)?;
            let command = if c.kind % 16 == 6 {
                Command::ClaimTask { task, officer }
            } else {
                let outcome = ["approve", "approve", "approve", "reject", "maybe"]
                    [usize::from(c.flag / 2) % 5];
                let form = if c.flag.is_multiple_of(7) {
                    json!({})
                } else {
                    json!({"note": format!("note {n}")})
                };
                Command::CompleteTask {
                    task,
                    officer,
                    outcome: outcome.to_owned(),
                    form,
                }
            };
            Some(Planned {
                command,
                id: fresh,
                actor: Actor::Officer(format!("o{}", c.flag % 2 + 1)),
                expect: Expect::Either,
            })
        }
        // A message: the one awaited, or one with another name or correlation.
        9..=11 => {
            let (name, correlation) = match c.flag % 6 {
                0..=3 => ("applicant_answer".to_owned(), st.tracking_code.clone()),
                4 => ("applicant_answer".to_owned(), "OTHER".to_owned()),
                _ => ("other_message".to_owned(), st.tracking_code.clone()),
            };
            let message_id = format!("m{}", c.pick % 3);
            Some(Planned {
                command: Command::DeliverMessage {
                    name,
                    correlation,
                    message_id: message_id.clone(),
                    payload: json!({"text": format!("answer {n}")}),
                },
                id: format!("message:{message_id}"),
                actor: Actor::Citizen,
                expect: Expect::Either,
            })
        }
        // The gateway reports on an SMS, or an operator retries an incident.
        12 => {
            if c.flag.is_multiple_of(2) {
                let pending: Vec<String> = st
                    .notifications
                    .iter()
                    .filter(|(_, d)| **d == Delivery::Pending)
                    .map(|(r, _)| r.clone())
                    .collect();
                let reference = pick(&pending, c.pick)?;
                let sent = c.flag.is_multiple_of(4);
                Some(system(
                    Command::NotificationResult {
                        reference,
                        sent,
                        gateway_id: sent.then(|| format!("g-{n}")),
                        reason: (!sent).then(|| "no route".to_owned()),
                    },
                    Expect::Either,
                ))
            } else {
                let incidents: Vec<String> = st.incidents.keys().cloned().collect();
                let incident = pick(&incidents, c.pick)?;
                Some(system(Command::RetryIncident { incident }, Expect::Either))
            }
        }
        // Cancel (rarely).
        13 => (c.flag.is_multiple_of(8)).then(|| {
            system(
                Command::Cancel {
                    reason: "withdrawn".into(),
                },
                Expect::Either,
            )
        }),
        // Invalid: a stale attempt, an unknown task, an unknown timer.
        14 => {
            let command = match c.flag % 4 {
                0 => {
                    let (token, attempt) = pick(&inquiries, c.pick)?;
                    let stale = if c.pick.is_multiple_of(2) || attempt == 0 {
                        attempt + 1 + u32::from(c.pick % 3)
                    } else {
                        attempt - 1
                    };
                    Command::InquiryResult {
                        token,
                        attempt: stale,
                        result: answered(true),
                    }
                }
                1 => Command::ClaimTask {
                    task: format!("no-such-task-{}", c.pick),
                    officer,
                },
                2 => Command::CompleteTask {
                    task: format!("no-such-task-{}", c.pick),
                    officer,
                    outcome: "approve".into(),
                    form: json!({"note": "x"}),
                },
                _ => Command::FireTimer {
                    timer: format!("no-such-timer-{}", c.pick),
                },
            };
            Some(system(command, Expect::Refused))
        }
        // An earlier command again, with its id.
        _ => {
            let earlier = pick(done, c.pick)?;
            Some(Planned {
                expect: Expect::Repeat,
                ..earlier
            })
        }
    }
}

/// The instance's timers as the store holds them.
async fn stored_timers(ctx: &Ctx) -> i64 {
    ctx.count("timers").await
}

/// Checks that the engine, the events read back through `reader`, and the read model agree
/// with `model`.
async fn check(
    ctx: &Ctx,
    engine: &Engine,
    reader: &dyn Store,
    stream: &StreamId,
    model: &InstanceState,
    what: &str,
) {
    let cached = engine.state(stream).await.unwrap();
    assert_eq!(&cached, model, "engine state after {what}");
    let events = reader.load(stream).await.unwrap();
    assert_eq!(
        events.len() as u64,
        model.version,
        "stream length after {what}"
    );
    verify_chain(&events).unwrap_or_else(|e| panic!("chain after {what}: {e:?}"));
    let folded = InstanceState::fold(events.iter().map(|e| &e.event));
    assert_eq!(&folded, model, "state folded from the store after {what}");

    let row = reader
        .instance(stream)
        .await
        .unwrap()
        .expect("instance row");
    assert_eq!(row.tracking_code, model.tracking_code);
    assert_eq!(row.status, model.status, "status after {what}");
    assert_eq!(row.incidents as usize, model.incidents.len());
    assert_eq!(
        row.state == "running",
        !model.ended(),
        "row state after {what}"
    );
    let micros =
        |t: chrono::DateTime<chrono::Utc>| t.duration_trunc(TimeDelta::microseconds(1)).unwrap();
    // The row the store should keep of each task of the model, its deadline to the
    // microsecond as the databases keep time.
    let row = |(id, task): (&String, &TaskState)| {
        let TaskState {
            step,
            role,
            officer,
            due_at,
            open,
            ..
        } = task.clone();
        let (id, due_at) = (id.clone(), micros(due_at));
        TaskRow {
            id,
            step,
            role,
            officer,
            due_at,
            open,
        }
    };
    let mut expected: Vec<TaskRow> = model.tasks.iter().map(row).collect();
    expected.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
    let worklist: Vec<TaskRow> = reader
        .worklist(AGENCY, None, false)
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.task)
        .collect();
    assert_eq!(worklist, expected, "worklist after {what}");
    assert_eq!(
        stored_timers(ctx).await,
        model.timers.len() as i64,
        "stored timers after {what}"
    );
}

/// An engine on the case's store, with no connectors, and [`WORKFLOW`] deployed.
async fn deployed(ctx: &Ctx) -> Arc<Engine> {
    let engine = Engine::open(ctx.store.clone(), Connectors::default())
        .await
        .unwrap();
    engine.deploy("permit.yaml", WORKFLOW).await.unwrap();
    engine
}

/// One case: a fresh store, an engine on it, one request, and `choices` driven through it.
async fn run_case(backend: Backend, choices: Vec<Choice>) {
    let Some((ctx, _guard)) = setup(backend).await else {
        return;
    };
    let engine = deployed(&ctx).await;
    // A second handle on the same database: reads what was stored, never the engine's cache.
    let reader: Arc<dyn Store> = daftar_engine::store::open(&ctx.url).await.unwrap();
    let started = engine
        .start(
            AGENCY,
            "permit",
            json!({"national_id": "0499370899", "mobile": "09121234567"}),
            Some("model-1"),
            Actor::Citizen,
        )
        .await
        .unwrap();
    let stream = started.stream.clone();
    let mut model = InstanceState::default();
    for e in &started.events {
        model.apply(e);
    }
    check(&ctx, &engine, reader.as_ref(), &stream, &model, "start").await;

    let mut done: Vec<Planned> = Vec::new();
    for (n, c) in choices.into_iter().enumerate() {
        let Some(p) = plan(&model, c, n, &done) else {
            continue;
        };
        let what = format!("command {n}: {:?} ({}, {:?})", p.command, p.id, p.expect);
        let before = model.version;
        let result = engine
            .execute(&stream, &p.command, &p.id, p.actor.clone(), None)
            .await;
        match (&result, p.expect) {
            // Refused (a repeat decided again on a later state may be): nothing changed, which
            // `check` below verifies.
            (Err(RuntimeError::Refused(_)), _) => {}
            (Err(e), _) => panic!("{what} failed: {e}"),
            (Ok(x), Expect::Refused) => panic!("{what} must be refused, got {x:?}"),
            (
                Ok(Executed {
                    duplicate: true,
                    events,
                    version,
                    ..
                }),
                _,
            ) => {
                assert!(events.is_empty(), "{what}: a repeat returned events");
                // A repeat reports the version its first execution left the stream at.
                assert!(*version <= before, "{what}: a repeat moved the stream");
            }
            (Ok(x), Expect::Repeat) => panic!("{what}: a repeated command id appended {x:?}"),
            (Ok(x), Expect::Either) => {
                assert_eq!(x.version, before + x.events.len() as u64, "{what}");
                for e in &x.events {
                    model.apply(e);
                }
                let stored = reader.load(&stream).await.unwrap();
                let tail: Vec<_> = stored[before as usize..]
                    .iter()
                    .map(|e| e.event.clone())
                    .collect();
                assert_eq!(tail, x.events, "{what}: what was appended");
                assert!(
                    stored[before as usize..]
                        .iter()
                        .all(|e| e.command_id == p.id),
                    "{what}: command ids"
                );
                done.push(p.clone());
            }
        }
        check(&ctx, &engine, reader.as_ref(), &stream, &model, &what).await;
    }
}

fn random_sequences(backend: Backend) {
    let rt = daftar_testkit::process::two_thread_runtime();
    // Probe once, so that an unreachable PostgreSQL skips (loudly) before any case runs.
    if rt.block_on(setup(backend)).is_none() {
        return;
    }
    // 12 cases per store; more with DAFTAR_MODEL_CASES (each case takes a fresh database).
    let cases = std::env::var("DAFTAR_MODEL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(12);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new(config)
        .run(&prop::collection::vec(choice(), 1..64), |choices| {
            rt.block_on(run_case(backend, choices));
            Ok(())
        })
        .unwrap();
}

daftar_testkit::on_both_stores!(random_sequences: sqlite_state_read_back_equals_state_in_memory, postgres_state_read_back_equals_state_in_memory);

/// Retrying a command with the same id appends nothing the second time: whether the core
/// decides it again to events (a claim released by an escalation, claimed again), to nothing
/// (a claim by its holder), or would refuse it (an inquiry answer already taken: the retry is
/// answered as the duplicate it is).
async fn repeats_append_nothing(backend: Backend) {
    let Some((ctx, _guard)) = setup(backend).await else {
        return;
    };
    let engine = deployed(&ctx).await;
    let input = json!({"national_id": "0499370899", "mobile": "09121234567"});
    let first = engine
        .start(AGENCY, "permit", input.clone(), Some("k"), Actor::Citizen)
        .await
        .unwrap();
    let stream = first.stream.clone();
    let again = engine
        .start(AGENCY, "permit", input, Some("k"), Actor::Citizen)
        .await
        .unwrap();
    assert!(again.duplicate && again.events.is_empty());
    assert_eq!(
        (again.stream.clone(), again.version),
        (stream.clone(), first.version)
    );

    let length = |engine: &Engine| {
        let (store, stream) = (engine.store().clone(), stream.clone());
        async move { store.load(&stream).await.unwrap().len() as u64 }
    };
    let answer = Command::InquiryResult {
        token: 0,
        attempt: 1,
        result: answered(true),
    };
    let answered = engine
        .execute(&stream, &answer, "job:answer", Actor::System, None)
        .await
        .unwrap();
    assert!(!answered.events.is_empty());
    let n = length(&engine).await;
    assert_eq!(n, answered.version);
    // Decided again, the answer would be refused as stale; its id was seen: a duplicate.
    let repeated = engine
        .execute(&stream, &answer, "job:answer", Actor::System, None)
        .await
        .unwrap();
    assert!(
        repeated.duplicate && repeated.events.is_empty(),
        "{repeated:?}"
    );
    assert_eq!((repeated.version, length(&engine).await), (n, n));
    // The same answer under a new id is refused as stale.
    let other = engine
        .execute(&stream, &answer, "job:other", Actor::System, None)
        .await;
    assert!(
        matches!(other, Err(RuntimeError::Refused(Error::Stale(_)))),
        "{other:?}"
    );
    assert_eq!(length(&engine).await, n);

    let state = engine.state(&stream).await.unwrap();
    let task = state.tasks.keys().next().expect("a task").clone();
    let claim = Command::ClaimTask {
        task: task.clone(),
        officer: "o1".into(),
    };
    let officer = Actor::Officer("o1".into());
    let claimed = engine
        .execute(&stream, &claim, "claim-1", officer.clone(), None)
        .await
        .unwrap();
    assert_eq!(claimed.events.len(), 1);
    let n = length(&engine).await;
    let repeated = engine
        .execute(&stream, &claim, "claim-1", officer.clone(), None)
        .await
        .unwrap();
    assert!(repeated.duplicate && repeated.events.is_empty());
    assert_eq!((repeated.version, length(&engine).await), (n, n));

    // The escalation releases the claim; the same claim command, decided again, would claim
    // again, but its id was seen: nothing is appended.
    let state = engine.state(&stream).await.unwrap();
    let escalation = state
        .timers
        .iter()
        .find(|(_, t)| {
            matches!(
                t.purpose,
                daftar_engine::events::TimerPurpose::Escalation { .. }
            )
        })
        .map(|(id, _)| id.clone())
        .expect("an escalation timer");
    let fired = engine
        .execute(
            &stream,
            &Command::FireTimer { timer: escalation },
            "timer:escalation",
            Actor::System,
            None,
        )
        .await
        .unwrap();
    assert!(!fired.events.is_empty());
    let state = engine.state(&stream).await.unwrap();
    assert_eq!(state.tasks[&task].officer, None);
    let n = length(&engine).await;
    let repeated = engine
        .execute(&stream, &claim, "claim-1", officer, None)
        .await
        .unwrap();
    assert!(repeated.duplicate && repeated.events.is_empty());
    assert_eq!(length(&engine).await, n);
    let reader = daftar_engine::store::open(&ctx.url).await.unwrap();
    let events = reader.load(&stream).await.unwrap();
    verify_chain(&events).unwrap();
    let folded = InstanceState::fold(events.iter().map(|e| &e.event));
    assert_eq!(folded, engine.state(&stream).await.unwrap());
    assert_eq!(
        folded.tasks[&task].officer, None,
        "the repeat claimed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_repeated_command_id_appends_nothing() {
    repeats_append_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_repeated_command_id_appends_nothing() {
    repeats_append_nothing(Backend::Postgres).await;
}
