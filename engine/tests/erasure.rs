//! Erasure that keeps the chain: with a keyring, an applicant's personal data is sealed in the
//! store; erasing them makes it unreadable (in the store's file too), refuses while any of
//! their requests runs, and leaves every hash chain, checkpoint and receipt verifying. Runs on
//! a real SQLite file and a real keyring file.

use std::path::Path;
use std::sync::Arc;

use daftar_engine::audit::{checkpoint, receipt, signing, verify_store};
use daftar_engine::connectors::Connectors;
use daftar_engine::events::{Actor, Event, StreamId};
use daftar_engine::privacy::Keyring;
use daftar_engine::runtime::Engine;
use daftar_engine::runtime::erase::EraseError;

use daftar_testkit::harness;

/// The applicant's national id in every request filed here: what must not be found once
/// sealed.
const NATIONAL_ID: &str = "0499370899";
/// And their mobile number.
const MOBILE: &str = "09121234567";

async fn open(dir: &Path) -> Arc<Engine> {
    let store = daftar_testkit::sqlite_store(dir).await;
    let engine = Engine::open(store, Connectors::default()).await.unwrap();
    let keyring = Keyring::open(&dir.join("keys.db")).await.unwrap();
    engine.use_keyring(Arc::new(keyring));
    engine
}

async fn file(engine: &Engine, actor: Actor) -> StreamId {
    engine
        .start("test-agency", "test", harness::applicant(), None, actor)
        .await
        .unwrap()
        .stream
}

async fn cancel(engine: &Engine, stream: &StreamId) {
    harness::cancel(engine, stream, &format!("cancel:{}", stream.instance)).await;
}

/// Every byte the event store keeps on disk (its file and its write-ahead log).
fn store_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in ["daftar.db", "daftar.db-wal"] {
        if let Ok(b) = std::fs::read(dir.join(name)) {
            bytes.extend(b);
        }
    }
    bytes
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

async fn texts(engine: &Engine, stream: &StreamId) -> (Vec<Event>, String) {
    let events = harness::events(engine, stream).await;
    let text = serde_json::to_string(&events).unwrap();
    (events, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_applicant_is_unreadable_everywhere_and_every_chain_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    engine
        .deploy("test.yaml", &harness::waiting_workflow())
        .await
        .unwrap();
    let applicant = Actor::Applicant("citizen-7".to_owned());
    let first = file(&engine, applicant.clone()).await;
    let second = file(&engine, applicant).await;
    let other = file(&engine, Actor::Citizen).await;

    // Sealed on disk, readable through the store.
    let (events, text) = texts(&engine, &first).await;
    assert!(matches!(events[0], Event::InstanceStarted { .. }));
    assert!(text.contains(NATIONAL_ID), "the store opens what it sealed");
    let bytes = store_bytes(dir.path());
    assert!(
        !holds(&bytes, NATIONAL_ID),
        "the national id is nowhere in the store's files"
    );
    // Nor the mobile number, which the SMS jobs waiting for a gateway also carry.
    assert!(
        !holds(&bytes, MOBILE),
        "the mobile number is nowhere in the store's files"
    );

    // A running request of the applicant refuses the erasure, and nothing is erased.
    let refused = engine.erase(&first, "court order 1405/123", "dpo").await;
    assert!(
        matches!(refused, Err(EraseError::Running(_))),
        "{refused:?}"
    );
    assert!(texts(&engine, &first).await.1.contains(NATIONAL_ID));

    // A checkpoint from before the erasure.
    let key = signing::new_signing_key_pem().unwrap().0;
    let before = checkpoint::take_all(engine.store(), &key).await.unwrap();
    assert_eq!(before.len(), 1);

    cancel(&engine, &first).await;
    cancel(&engine, &second).await;
    // While the cancellation's SMS awaits the gateway, its text is still needed.
    let waiting = engine.erase(&first, "court order 1405/123", "dpo").await;
    assert!(
        matches!(&waiting, Err(EraseError::SmsPending(_))),
        "{waiting:?}"
    );
    harness::settle_sms(&engine, &first).await;
    harness::settle_sms(&engine, &second).await;
    let erased = engine
        .erase(&first, "court order 1405/123", "dpo")
        .await
        .unwrap();
    assert!(erased.now);
    let mut requests = erased.requests.clone();
    requests.sort();
    let mut expected = vec![first.instance.clone(), second.instance.clone()];
    expected.sort();
    assert_eq!(
        requests, expected,
        "every request of the applicant, no other"
    );

    for stream in [&first, &second] {
        let (events, text) = texts(&engine, stream).await;
        assert!(!text.contains(NATIONAL_ID), "{text}");
        assert!(
            matches!(&events[0], Event::Erased { kind } if kind == "InstanceStarted"),
            "{:?}",
            events[0]
        );
        assert!(events.iter().any(|e| matches!(
            e,
            Event::ApplicantErased { authority, by } if authority == "court order 1405/123" && by == "dpo"
        )));
        // Where the request went stays readable.
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::StatusChanged { to, .. } if to == "cancelled"))
        );
        let row = engine.store().instance(stream).await.unwrap().unwrap();
        assert_eq!(
            row.filed_by, None,
            "the read model forgets the applicant too"
        );
        assert_eq!(row.state, "cancelled");
    }
    assert!(
        texts(&engine, &other).await.1.contains(NATIONAL_ID),
        "another applicant's data is untouched"
    );

    // Every chain and row still verifies; a checkpoint after the erasure extends the one before,
    // and the receipt of an erased request proves its (sealed) events.
    let report = verify_store(engine.store().clone(), 2, None).await.unwrap();
    assert_eq!(report.failure, None);
    let after = checkpoint::take_all(engine.store(), &key).await.unwrap();
    let proof =
        checkpoint::consistency(engine.store(), "test-agency", before[0].size, after[0].size)
            .await
            .unwrap()
            .expect("both checkpoints are kept");
    checkpoint::verify_consistency(&proof, &key.verifying_key()).unwrap();
    let r = receipt::receipt(engine.store(), &first).await.unwrap();
    receipt::verify_receipt(&r, &key.verifying_key()).unwrap();
    assert!(!serde_json::to_string(&r).unwrap().contains(NATIONAL_ID));

    // The erased request takes no command; asking again changes nothing.
    let again = engine
        .erase(&first, "court order 1405/123", "dpo")
        .await
        .unwrap();
    assert!(!again.now);
    assert_eq!(again.erased_at, erased.erased_at);

    // Opened anew from its files, the node still cannot read the erased, and still can the rest.
    drop(engine);
    let engine = open(dir.path()).await;
    assert!(!texts(&engine, &second).await.1.contains(NATIONAL_ID));
    assert!(texts(&engine, &other).await.1.contains(NATIONAL_ID));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_a_keyring_writes_in_the_clear_and_cannot_erase() {
    let dir = tempfile::tempdir().unwrap();
    let store = daftar_testkit::sqlite_store(dir.path()).await;
    let engine = Engine::open(store, Connectors::default()).await.unwrap();
    engine
        .deploy("test.yaml", &harness::waiting_workflow())
        .await
        .unwrap();
    let stream = file(&engine, Actor::Citizen).await;
    cancel(&engine, &stream).await;
    let refused = engine.erase(&stream, "court order", "dpo").await;
    assert!(matches!(refused, Err(EraseError::NoKeyring)), "{refused:?}");
    assert!(texts(&engine, &stream).await.1.contains(NATIONAL_ID));
}
