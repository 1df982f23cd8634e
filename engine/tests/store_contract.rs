//! The store contract: one suite, written once against the `Store` trait, run against a fresh
//! SQLite file and a fresh PostgreSQL schema (see `store/mod.rs` for how each is made and when
//! PostgreSQL is skipped). Every case in `store/streams.rs` and `store/rows.rs` becomes two tests,
//! `sqlite::<case>` and `postgres::<case>`; the property test below runs random sequences of
//! commits (duplicates, stale versions, batches) against both and checks what reads back.

mod store;

use daftar_engine::events::{Event, StreamId, verify_chain};
use daftar_engine::store::{Committed, Store, StoreError};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

use store::{Backend, commit, data, step, stream, unique};

macro_rules! contract {
    ($($module:ident::$case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    crate::store::run(crate::store::Backend::Sqlite, crate::store::$module::$case).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    crate::store::run(crate::store::Backend::Postgres, crate::store::$module::$case).await;
                }
            )*
        }
    };
}

/// On SQLite, whose batches are prepared ahead: a batch prepared while the one before it is in
/// flight goes in as prepared (its heads came from the batch in flight, not a second try), and
/// one whose stream another writer moved does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_batches_go_in_as_prepared_unless_a_stream_moved() {
    use daftar_engine::store::sqlite::SqliteStore;
    use std::sync::Arc;
    for (case, missed) in [(0, 0), (1, 2)] {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("daftar.db").display());
        let mine = SqliteStore::open(&url).await.unwrap();
        let ctx = store::Ctx {
            backend: Backend::Sqlite,
            store: Arc::new(mine.clone()),
            url,
        };
        match case {
            0 => {
                store::ahead::a_batch_prepared_before_the_last_is_written_chains_onto_it(ctx).await
            }
            _ => store::ahead::a_stream_moved_after_its_batch_was_prepared_is_a_conflict(ctx).await,
        }
        assert_eq!(mine.missed_predictions(), missed, "case {case}");
    }
}

contract!(
    ahead::a_batch_prepared_before_the_last_is_written_chains_onto_it,
    ahead::a_stream_moved_after_its_batch_was_prepared_is_a_conflict,
    streams::append_and_load_round_trip,
    streams::stale_expected_version_conflicts_and_writes_nothing,
    streams::retried_command_appends_nothing,
    streams::a_conflict_does_not_stop_the_batch,
    streams::positions_increase_and_read_all_pages,
    streams::tampering_breaks_the_chain,
    streams::concurrent_commits_one_wins,
    audit::verify_is_scoped_to_an_agency_and_checks_its_rows,
    rows::jobs_are_leased_once_until_the_lease_expires,
    rows::jobs_leased_as_they_are_created_wait_out_their_lease,
    rows::commands_joined_in_one_commit_keep_their_ids_and_complete_their_jobs,
    rows::timers_fire_by_the_clock_the_engine_passes,
    rows::read_model_rows_are_upserted,
    rows::tracking_codes_find_their_stream,
    rows::documents_find_their_stream,
    rows::occurrences_messages_and_definitions,
    worklist::worklists_filter_by_agency_role_and_open,
    worklist::an_escalated_task_moves_between_worklists,
    listing::listings_filter_order_and_page,
    listing::open_incidents_are_summed_per_agency_and_workflow,
    listing::kept_messages_are_listed_per_agency,
    listing::decisions_say_when_a_request_ended_and_whether_a_person_acted,
    pages::request_pages_neither_repeat_nor_skip_under_inserts,
    pages::worklist_pages_neither_repeat_nor_skip_under_inserts,
    pages::the_managers_counts_come_from_the_store,
    subscriptions::a_subscription_is_leased_to_one_node_at_a_time,
);

/// One command of a random history.
#[derive(Clone, Debug)]
struct Op {
    /// Which of three streams.
    stream: usize,
    /// Its events: a step (true) or a data event, with a number.
    events: Vec<(bool, u8)>,
    /// 0: retry an earlier command of the stream; 1: decide on a stale version; else: fresh.
    mode: u8,
    /// Which earlier command, or which stale version.
    pick: u8,
    /// Whether this command starts a new batch.
    new_batch: bool,
}

fn op() -> impl Strategy<Value = Op> {
    (
        0..3usize,
        prop::collection::vec((any::<bool>(), any::<u8>()), 0..4),
        0..6u8,
        any::<u8>(),
        any::<bool>(),
    )
        .prop_map(|(stream, events, mode, pick, new_batch)| Op {
            stream,
            events,
            mode,
            pick,
            new_batch,
        })
}

/// What a stream should hold.
#[derive(Clone, Debug, Default)]
struct Model {
    version: u64,
    /// Each accepted event with its command id.
    events: Vec<(Event, String)>,
    /// Each accepted command id with the version it left.
    commands: Vec<(String, u64)>,
}

fn event((is_step, n): (bool, u8)) -> Event {
    if is_step {
        step(&format!("s{n}"))
    } else {
        data(
            "d",
            &format!("k{}", n % 4),
            json!({"n": n, "third": f64::from(n) / 3.0}),
        )
    }
}

/// Replays `ops` against the store, batch by batch, checking each result against the model,
/// then checks what each stream reads back.
async fn check(store: &dyn Store, ops: Vec<Op>) {
    let agency = format!("prop{}", unique());
    let streams: Vec<StreamId> = (0..3).map(|i| stream(&agency, &format!("i-{i}"))).collect();
    let mut models = vec![Model::default(); 3];
    let (mut batch, mut expected) = (Vec::new(), Vec::new());
    for (n, op) in ops.into_iter().enumerate() {
        if op.new_batch && !batch.is_empty() {
            let results = store.commit(&batch).await.unwrap();
            assert_eq!(results, expected, "batch {batch:#?}");
            (batch, expected) = (Vec::new(), Vec::new());
        }
        let (s, m) = (&streams[op.stream], &mut models[op.stream]);
        let events: Vec<Event> = op.events.iter().copied().map(event).collect();
        let fresh = format!("cmd-{n}");
        if op.mode == 0 && !m.commands.is_empty() {
            let (command, version) = m.commands[usize::from(op.pick) % m.commands.len()].clone();
            batch.push(commit(s, m.version, &command, events));
            expected.push(Ok(Committed {
                version,
                duplicate: true,
            }));
        } else if op.mode == 1 {
            let stale = if m.version > 0 {
                u64::from(op.pick) % m.version
            } else {
                1 + u64::from(op.pick % 3)
            };
            batch.push(commit(s, stale, &fresh, events));
            expected.push(Err(StoreError::Conflict {
                stream: s.to_string(),
                expected: stale,
                actual: m.version,
            }));
        } else {
            batch.push(commit(s, m.version, &fresh, events.clone()));
            m.version += events.len() as u64;
            m.events
                .extend(events.into_iter().map(|e| (e, fresh.clone())));
            m.commands.push((fresh, m.version));
            expected.push(Ok(Committed {
                version: m.version,
                duplicate: false,
            }));
        }
    }
    if !batch.is_empty() {
        assert_eq!(store.commit(&batch).await.unwrap(), expected);
    }
    for (s, m) in streams.iter().zip(&models) {
        let events = store.load(s).await.unwrap();
        let got: Vec<(Event, String)> = events
            .iter()
            .map(|e| (e.event.clone(), e.command_id.clone()))
            .collect();
        assert_eq!(got, m.events, "{s}");
        assert!(
            events
                .iter()
                .enumerate()
                .all(|(i, e)| e.version == i as u64 + 1),
            "versions have gaps"
        );
        verify_chain(&events).unwrap();
    }
}

fn random_histories(backend: Backend) {
    let rt = daftar_testkit::process::two_thread_runtime();
    let Some((ctx, _guard)) = rt.block_on(store::setup(backend)) else {
        return;
    };
    let config = Config {
        cases: 16,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new(config)
        .run(&prop::collection::vec(op(), 1..16), |ops| {
            rt.block_on(check(ctx.store.as_ref(), ops));
            Ok(())
        })
        .unwrap();
}

daftar_testkit::on_both_stores!(random_histories: sqlite_random_histories_read_back_as_accepted, postgres_random_histories_read_back_as_accepted);
