//! The contract of subscriptions' leases: one node at a time delivers a subscription, another
//! takes over once the lease runs out, and the position moves only from where its holder found
//! it (a replay made meanwhile stands).

use daftar_engine::store::Subscription;

use super::{Ctx, t};

fn subscription(agency: &str, id: &str) -> Subscription {
    Subscription {
        agency: agency.to_owned(),
        id: id.to_owned(),
        url: "http://127.0.0.1:9/followup/events".to_owned(),
        types: Vec::new(),
        services: Vec::new(),
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
        position: 7,
        created_at: t("2026-12-05T08:00:00.000001Z"),
    }
}

pub async fn a_subscription_is_leased_to_one_node_at_a_time(ctx: Ctx) {
    let store = &ctx.store;
    store
        .add_subscription(&subscription("judiciary", "sub-1"))
        .await
        .unwrap();
    store
        .add_subscription(&subscription("post", "sub-1"))
        .await
        .unwrap();
    let now = t("2026-12-05T09:00:00.000001Z");
    let until = t("2026-12-05T09:00:30.000001Z");

    // The first node takes it, with its position; the second is refused until the lease runs
    // out; the holder renews it.
    let a = store.lease_subscription("judiciary", "sub-1", "node-a", now, until);
    assert_eq!(a.await.unwrap(), Some(7));
    let b = store.lease_subscription("judiciary", "sub-1", "node-b", now, until);
    assert_eq!(b.await.unwrap(), None);
    let later = t("2026-12-05T09:00:20.000001Z");
    let renewed = store.lease_subscription(
        "judiciary",
        "sub-1",
        "node-a",
        later,
        t("2026-12-05T09:00:50.000001Z"),
    );
    assert_eq!(renewed.await.unwrap(), Some(7));
    let b = store.lease_subscription(
        "judiciary",
        "sub-1",
        "node-b",
        t("2026-12-05T09:00:40.000001Z"),
        until,
    );
    assert_eq!(b.await.unwrap(), None, "the renewed lease runs to 09:00:50");
    // Another agency's subscription of the same id is its own; an unknown one is none.
    let other = store.lease_subscription("post", "sub-1", "node-b", now, until);
    assert_eq!(other.await.unwrap(), Some(7));
    let none = store.lease_subscription("judiciary", "sub-2", "node-a", now, until);
    assert_eq!(none.await.unwrap(), None);

    // Only the holder moves it on, and only from where it found it.
    assert!(
        !store
            .advance_subscription("judiciary", "sub-1", "node-b", 7, 12)
            .await
            .unwrap()
    );
    assert!(
        !store
            .advance_subscription("judiciary", "sub-1", "node-a", 6, 12)
            .await
            .unwrap()
    );
    assert!(
        store
            .advance_subscription("judiciary", "sub-1", "node-a", 7, 12)
            .await
            .unwrap()
    );
    // A replay moves it back meanwhile: the holder's next move from 12 does not undo it.
    assert!(
        store
            .move_subscription("judiciary", "sub-1", 0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .advance_subscription("judiciary", "sub-1", "node-a", 12, 20)
            .await
            .unwrap()
    );

    // Once the lease has run out, the other node takes it over, from the replayed position,
    // and the first no longer moves it.
    let over = t("2026-12-05T09:00:50.000001Z");
    let b = store.lease_subscription(
        "judiciary",
        "sub-1",
        "node-b",
        over,
        t("2026-12-05T09:01:20.000001Z"),
    );
    assert_eq!(b.await.unwrap(), Some(0));
    assert!(
        !store
            .advance_subscription("judiciary", "sub-1", "node-a", 0, 5)
            .await
            .unwrap()
    );
    assert!(
        store
            .advance_subscription("judiciary", "sub-1", "node-b", 0, 5)
            .await
            .unwrap()
    );
    let a = store.lease_subscription("judiciary", "sub-1", "node-a", over, until);
    assert_eq!(a.await.unwrap(), None);
    let listed = store.subscriptions(Some("judiciary")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].position, 5);
}
