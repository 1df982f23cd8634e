//! The engine's clock: a wait of days ends when the clock the engine was opened with says so,
//! through the node's own timer loop, and the next wait is computed from that clock's time.
//! Runs on a real SQLite file.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use daftar_engine::connectors::Connectors;
use daftar_engine::events::{Event, TimerPurpose};
use daftar_engine::runtime::workers::{self, Pace};
use daftar_engine::runtime::{Clock, Engine, TestClock};

use daftar_testkit::harness;

/// Five days of cooling off, then the end.
fn workflow() -> String {
    format!(
        "{}{}",
        harness::HEAD,
        r#"
steps:
  - id: cooling_off
    status: checking
    wait: { duration: 5d }
  - id: one_more_hour
    wait: { duration: 1h }
  - id: issue
    status: done
    end: { outcome: issued }
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_of_days_ends_when_the_engines_clock_moves_past_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = daftar_testkit::sqlite_store(dir.path()).await;
    let clock = Arc::new(TestClock::new());
    let engine = Engine::open_with_clock(store, Connectors::default(), clock.clone())
        .await
        .unwrap();
    engine.deploy("test.yaml", &workflow()).await.unwrap();
    let _loops = workers::spawn(
        engine.clone(),
        Pace {
            poll: Duration::from_millis(10),
            ..Pace::default()
        },
    );
    let stream = harness::file_applicant(&engine).await;

    // The machine's time passes; the five days do not.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let state = engine.state(&stream).await.unwrap();
    assert!(!state.ended(), "the request still waits");
    let due = state
        .timers
        .values()
        .find(|t| t.purpose == TimerPurpose::Wait)
        .expect("the wait's timer")
        .due_at;
    assert!(due > Utc::now() + chrono::Duration::days(4));

    // Four days on: still waiting.
    clock.advance(chrono::Duration::days(4));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!engine.state(&stream).await.unwrap().ended());

    // A day and a minute more: the node's timer loop fires it, and the next wait is an hour
    // from the clock's time, not the machine's.
    clock.advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    let second = wait_for(&engine, &stream, |s| {
        s.timers
            .values()
            .find(|t| t.purpose == TimerPurpose::Wait && t.due_at > due)
            .map(|t| t.due_at)
    })
    .await
    .expect("the first wait ends and the second begins");
    assert!(
        second >= due + chrono::Duration::hours(1),
        "{second} is an hour after {due}"
    );
    assert!(second > Utc::now() + chrono::Duration::days(5));

    clock.advance(chrono::Duration::hours(1));
    wait_for(&engine, &stream, |s| s.ended().then_some(()))
        .await
        .expect("the request ends once the clock is past both waits");

    // Both fires came from the timer loop (its command ids).
    let history = engine.store().load(&stream).await.unwrap();
    let fired: Vec<&str> = history
        .iter()
        .filter(|e| matches!(e.event, Event::TimerFired { .. }))
        .map(|e| e.command_id.as_str())
        .collect();
    assert!(
        fired.len() >= 2,
        "the two waits (and the SLA's timer): {fired:?}"
    );
    assert!(fired.iter().all(|id| id.starts_with("timer:")), "{fired:?}");
    assert!(clock.now() >= second);
}

/// Polls the request's state until `found` finds something (five seconds at most).
async fn wait_for<T>(
    engine: &Engine,
    stream: &daftar_engine::events::StreamId,
    found: impl Fn(&daftar_engine::core::InstanceState) -> Option<T>,
) -> Option<T> {
    for _ in 0..500 {
        if let Some(t) = found(&engine.state(stream).await.unwrap()) {
            return Some(t);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

#[test]
fn a_test_clock_only_moves_forward() {
    let clock = TestClock::new();
    let before = clock.now();
    clock.advance_to(before - chrono::Duration::days(1));
    assert!(
        clock.now() >= before,
        "advancing to the past changes nothing"
    );
    clock.advance(chrono::Duration::hours(2));
    assert!(clock.now() >= before + chrono::Duration::hours(2));
    let refused = std::panic::catch_unwind(|| clock.advance(-chrono::Duration::seconds(1)));
    assert!(refused.is_err(), "a clock does not go back");
}
