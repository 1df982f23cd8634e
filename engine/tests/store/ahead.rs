//! The writer's pipeline (`prepare`, then `write`): a batch prepared while the one before it
//! is not yet written chains onto what that one leaves behind, and a batch whose streams moved
//! behind its back after it was prepared still gets the answers `commit` would give.

use daftar_engine::events::{StreamId, verify_chain};
use daftar_engine::store::{self, Commit, Committed, StoreError};
use serde_json::json;

use super::{Ctx, commit, data, started, step, stream};

/// Prepares and writes one batch; the batch itself must succeed.
async fn write(ctx: &Ctx, batch: Vec<Commit>) -> Vec<Result<Committed, StoreError>> {
    let prepared = ctx.store.prepare(batch).await;
    let (_, results) = ctx.store.write(prepared).await;
    results.expect("the batch writes")
}

fn done(version: u64) -> Result<Committed, StoreError> {
    Ok(Committed {
        version,
        duplicate: false,
    })
}

fn again(version: u64) -> Result<Committed, StoreError> {
    Ok(Committed {
        version,
        duplicate: true,
    })
}

fn conflict(s: &StreamId, expected: u64, actual: u64) -> Result<Committed, StoreError> {
    Err(StoreError::Conflict {
        stream: s.to_string(),
        expected,
        actual,
    })
}

/// Another writer of the same database moves a stream on from `version` by one event.
async fn move_behind(other: &dyn store::Store, s: &StreamId, version: u64, command: &str) {
    let moved = other
        .commit(&[commit(s, version, command, vec![step("elsewhere")])])
        .await
        .unwrap();
    assert_eq!(moved, vec![done(version + 1)]);
}

pub async fn a_batch_prepared_before_the_last_is_written_chains_onto_it(ctx: Ctx) {
    let s = stream("judiciary", "p-1");
    let other = stream("judiciary", "p-2");
    let first = ctx
        .store
        .prepare(vec![commit(
            &s,
            0,
            "c-1",
            vec![started(&s), step("review")],
        )])
        .await;
    // Prepared while the first is not written: its heads and command ids are the first's.
    let second = ctx
        .store
        .prepare(vec![
            commit(&s, 2, "c-2", vec![data("review", "fee", json!(7))]),
            commit(&s, 0, "c-1", vec![started(&s), step("review")]),
            commit(&s, 0, "c-3", vec![step("late")]),
            commit(&other, 0, "c-4", vec![started(&other)]),
        ])
        .await;
    let (_, first) = ctx.store.write(first).await;
    assert_eq!(first.unwrap(), vec![done(2)]);
    let (_, second) = ctx.store.write(second).await;
    assert_eq!(
        second.unwrap(),
        vec![done(3), again(2), conflict(&s, 0, 3), done(1)]
    );
    let events = ctx.store.load(&s).await.unwrap();
    verify_chain(&events).expect("the chain verifies");
    assert_eq!(
        events.iter().map(|e| e.version).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(ctx.count("commands").await, 3);
}

pub async fn a_stream_moved_after_its_batch_was_prepared_is_a_conflict(ctx: Ctx) {
    let s = stream("judiciary", "m-1");
    let quiet = stream("judiciary", "m-2");
    let setup = vec![
        commit(&s, 0, "c-1", vec![started(&s)]),
        commit(&quiet, 0, "c-q", vec![started(&quiet)]),
    ];
    assert_eq!(write(&ctx, setup).await, vec![done(1), done(1)]);
    let other = store::open(&ctx.url).await.unwrap();

    // Prepared on version 1; then another writer of the database moves the stream on.
    let prepared = ctx
        .store
        .prepare(vec![
            commit(&s, 1, "c-2", vec![step("review")]),
            commit(&quiet, 1, "c-q2", vec![step("review")]),
        ])
        .await;
    move_behind(&*other, &s, 1, "c-x").await;
    let (_, results) = ctx.store.write(prepared).await;
    assert_eq!(results.unwrap(), vec![conflict(&s, 1, 2), done(2)]);

    // A commit with no events writes no event row to collide with: it is checked all the same.
    let mut nothing = commit(&s, 2, "c-3", Vec::new());
    nothing.instance.state = "stale".to_owned();
    let prepared = ctx.store.prepare(vec![nothing]).await;
    move_behind(&*other, &s, 2, "c-y").await;
    let (_, results) = ctx.store.write(prepared).await;
    assert_eq!(results.unwrap(), vec![conflict(&s, 2, 3)]);
    let stale = ctx
        .scalar("SELECT COUNT(*) FROM instances WHERE state = 'stale'")
        .await;
    assert_eq!(stale, 0, "a refused commit wrote its instance row");
    assert_eq!(ctx.count("commands").await, 5);

    // And the pipeline goes on, two batches in flight again.
    assert_eq!(
        write(&ctx, vec![commit(&s, 3, "c-4", vec![step("after")])]).await,
        vec![done(4)]
    );
    let first = ctx
        .store
        .prepare(vec![commit(&s, 4, "c-5", vec![step("one")])])
        .await;
    let second = ctx
        .store
        .prepare(vec![commit(&s, 5, "c-6", vec![step("two")])])
        .await;
    assert_eq!(ctx.store.write(first).await.1.unwrap(), vec![done(5)]);
    assert_eq!(ctx.store.write(second).await.1.unwrap(), vec![done(6)]);
    let events = ctx.store.load(&s).await.unwrap();
    verify_chain(&events).expect("the chain verifies");
    assert_eq!(events.len(), 6);
}
