//! Listening to one request: a caller waiting on one request (file-and-wait, a watch) hears
//! that request's commits and no other's, and the listener's entry goes with the last
//! listener. Runs on a real SQLite file.

use std::time::Duration;

use daftar_engine::connectors::Connectors;
use daftar_engine::runtime::Engine;

use daftar_testkit::harness;

use harness::{cancel, waiting_workflow as workflow};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_hears_its_own_requests_commits_and_no_others() {
    let dir = tempfile::tempdir().unwrap();
    let store = daftar_testkit::sqlite_store(dir.path()).await;
    let engine = Engine::open(store, Connectors::default()).await.unwrap();
    engine.deploy("test.yaml", &workflow()).await.unwrap();
    let mine = harness::file(&engine).await;
    let other = harness::file(&engine).await;

    let mut listener = engine.listen(&mine);
    let mut second = engine.listen(&mine);
    cancel(&engine, &other, "cancel-other").await;
    cancel(&engine, &mine, "cancel-mine").await;

    for heard in [&mut listener, &mut second] {
        let commit = tokio::time::timeout(Duration::from_secs(5), heard.recv())
            .await
            .expect("the request's commit is heard")
            .unwrap();
        assert_eq!(
            commit.stream, mine,
            "the other request's commit is not heard"
        );
        assert_eq!(commit.command_id, "cancel-mine");
        assert_eq!(commit.version, engine.state(&mine).await.unwrap().version);
        assert!(!commit.events.is_empty());
    }
    // Nothing else arrives: the other request's commit never reached this listener.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), listener.recv())
            .await
            .is_err()
    );

    // With every listener gone, a new one hears only what comes after it.
    drop(listener);
    drop(second);
    let mut late = engine.listen(&other);
    assert!(
        tokio::time::timeout(Duration::from_millis(200), late.recv())
            .await
            .is_err(),
        "a listener hears no commit made before it listened"
    );
}
