//! `verify_store` on either backend: scoped to an agency, it reads only that agency's streams and
//! rows, and a row edited in another agency fails only that agency's verification and the
//! whole store's.

use daftar_engine::audit::verify_store;

use super::{Ctx, commit, started, step, stream};

pub async fn verify_is_scoped_to_an_agency_and_checks_its_rows(ctx: Ctx) {
    let (a, b) = (stream("judiciary", "i-1"), stream("municipality", "i-1"));
    for s in [&a, &b] {
        ctx.commit(commit(s, 0, "start", vec![started(s), step("review")]))
            .await
            .unwrap();
        ctx.commit(commit(s, 2, "next", vec![step("approve")]))
            .await
            .unwrap();
    }
    let ledger = ctx.store.ledger(Some("judiciary")).await.unwrap();
    assert_eq!(ledger.streams, vec![(a.clone(), 3, 3)]);
    assert_eq!(ledger.commands, vec![(a.clone(), 3)]);
    assert_eq!(ledger.instances, vec![a.clone()]);
    assert_eq!(ctx.store.ledger(None).await.unwrap().streams.len(), 2);

    let report = |agency: Option<&'static str>| {
        let store = ctx.store.clone();
        async move { verify_store(store, 3, agency).await.unwrap() }
    };
    let whole = report(None).await;
    assert_eq!((whole.streams, whole.events, whole.failure), (2, 6, None));
    let one = report(Some("judiciary")).await;
    assert_eq!((one.streams, one.events, one.failure), (1, 3, None));

    ctx.exec("UPDATE instances SET state = 'rejected' WHERE agency = 'municipality'")
        .await;
    assert_eq!(report(Some("judiciary")).await.failure, None);
    for agency in [Some("municipality"), None] {
        let found = report(agency).await;
        let failure = found.failure.expect("the edited row is found");
        assert_eq!(failure.stream, "municipality/i-1");
        assert!(failure.reason.contains("state"), "{failure}");
        assert!(found.events >= 3);
    }

    // The last event of the other agency's stream deleted: its commands reached further.
    ctx.exec("UPDATE instances SET state = 'running' WHERE agency = 'municipality'")
        .await;
    assert_eq!(report(None).await.failure, None);
    ctx.exec("DELETE FROM events WHERE agency = 'municipality' AND version = 3")
        .await;
    assert_eq!(report(Some("judiciary")).await.failure, None);
    let failure = report(Some("municipality")).await.failure.unwrap();
    assert_eq!(
        (failure.stream.as_str(), failure.version),
        ("municipality/i-1", 3)
    );
    assert!(failure.reason.contains("deleted"), "{failure}");
}
