//! A citizen lists the requests they filed (`GET /api/v1/requests` with a citizen's token):
//! theirs, newest first, and nobody else's; an officer still lists the agency's.

use daftar_testkit::router as support;

use axum::http::{Method, StatusCode};
use daftar_api::auth::Role;
use serde_json::Value;
use support::Harness;

/// The ids a listing answered, in order.
async fn listed(h: &Harness, token: &str) -> Vec<String> {
    let (status, body) = h
        .call(Method::GET, "/api/v1/requests", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("an id").to_owned())
        .collect()
}

fn id(filed: &Value) -> String {
    filed["id"].as_str().expect("an id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_lists_the_requests_they_filed_and_no_one_elses() {
    let h = Harness::new().await;
    let zahra = h.token_for("zahra", "judiciary", &[Role::Citizen], &[]);
    let reza = h.token_for("reza", "judiciary", &[Role::Citizen], &[]);
    let (_, first) = h.file_clean_record(&zahra).await;
    let (_, other) = h.file_clean_record(&reza).await;
    let (_, second) = h.file_clean_record(&zahra).await;
    let (first, other, second) = (id(&first), id(&other), id(&second));

    let mine = listed(&h, &zahra).await;
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert!(mine.contains(&first) && mine.contains(&second), "{mine:?}");
    assert_eq!(listed(&h, &reza).await, std::slice::from_ref(&other));

    // A citizen who filed nothing lists nothing.
    let nobody = h.token_for("nobody", "judiciary", &[Role::Citizen], &[]);
    assert!(listed(&h, &nobody).await.is_empty());

    // An officer lists every request of the agency.
    let officer = h.token("judiciary", &[Role::Officer], &[]);
    let all = listed(&h, &officer).await;
    for filed in [&first, &other, &second] {
        assert!(all.contains(filed), "{filed} in {all:?}");
    }
}
