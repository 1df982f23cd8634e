//! The crash test: `daftar work` on one SQLite file, SIGKILLed at random moments more than
//! twenty times while it files requests and drives them through an SMS, an inquiry, a timer,
//! a decision and a second SMS; then restarted once more until everything has ended. Every
//! instance, acknowledged or not, must have ended exactly once, entered each step once,
//! fired its timer once and sent each SMS exactly once, with every hash chain intact.

use daftar_testkit::process as support;

use std::time::{Duration, Instant};

use support::{Files, Node, Rng, check, kill_at_random};

/// Requests to file across all runs.
const TOTAL: usize = 40;
/// Kills before the final run.
const KILLS: usize = 22;
/// Short leases, so that a restarted node soon takes over what the dead one had leased.
const LEASE_MS: u64 = 300;
/// The pause between starts, so that starts and work in flight span many kills.
const START_EVERY_MS: u64 = 150;
/// How long each side effect's answer takes, so that kills often land between performing a
/// side effect and recording it.
const EFFECT_DELAY_MS: u64 = 25;

#[test]
fn sigkilled_at_random_moments_a_node_loses_nothing_and_repeats_nothing() {
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path());
    let db = format!("sqlite://{}", dir.path().join("daftar.db").display());
    let mut rng = Rng::seeded("crash test");
    // A node that files `remaining` requests, at this test's pace.
    let spawn = |remaining, name: &str| {
        Node::spawn(
            &files,
            &db,
            remaining,
            START_EVERY_MS,
            LEASE_MS,
            EFFECT_DELAY_MS,
            name,
        )
    };
    let mut acknowledged = kill_at_random(KILLS, TOTAL, (50, 650), &mut rng, &spawn);
    eprintln!(
        "{KILLS} kills, {} starts acknowledged, {:?}",
        acknowledged.len(),
        began.elapsed()
    );

    let rt = daftar_testkit::process::runtime();
    let remaining = TOTAL.saturating_sub(acknowledged.len());
    let mut last = spawn(remaining, "final");
    let report = rt.block_on(async {
        // Wait for the acknowledgments of the final run, then for every instance to end.
        let (patience, settle) = (Duration::from_secs(30), Duration::from_secs(45));
        let store = last.finish(remaining, patience, &db, settle).await;
        acknowledged.extend(last.kill());
        assert_eq!(acknowledged.len(), TOTAL);
        check(store.as_ref(), &files.log, &acknowledged, false).await
    });
    eprintln!(
        "crash test: {report:?}, {} acknowledged, {:?}",
        acknowledged.len(),
        began.elapsed()
    );
    assert!(report.streams >= TOTAL);
}
