//! An admin's commands over real HTTP against the agency simulator.
//!
//! A cancelled request tells its applicant: an admin cancels a utility connection that waits
//! for its visit day; public tracking then says `cancelled` (in Persian and English, as its
//! last milestone, no longer "scheduled"), and the simulator's SMS centre received one SMS
//! saying so, however often the cancel is sent.
//!
//! Incidents are listed (`GET /api/v1/incidents`, the admin's agency only) and retried
//! (`POST /api/v1/incidents/{id}/retry`) through the API.

use daftar_testkit::e2e as e2e_support;

use daftar_api::auth::Role;
use e2e_support::Node;
use e2e_support::applicants::SCHEDULED_SMS;
use serde_json::{Value, json};

fn admin(node: &Node) -> String {
    node.token("admin-1", "power-distribution", Role::Admin)
}

async fn get(node: &Node, path: &str, token: &str) -> (u16, Value) {
    node.call(reqwest::Method::GET, path, token, None, None)
        .await
}

async fn post(node: &Node, path: &str, token: &str) -> (u16, Value) {
    node.call(reqwest::Method::POST, path, token, None, None)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_list_their_agencys_incidents_and_retry_them_over_the_api() {
    let node = Node::new().await;
    node.set_down("electricity_distribution", true).await;
    let s = node.start_connection().await;
    let (incident, _) = node.incident(&s).await;

    let (status, listed) = get(&node, "/api/v1/incidents", &admin(&node)).await;
    assert_eq!(status, 200, "{listed}");
    let id = format!("{}:{incident}", s.instance);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], json!(id));
    assert_eq!(listed[0]["step"], json!("cost"));
    assert_eq!(listed[0]["service"], json!("utility-connection"));
    assert!(listed[0]["reason"].as_str().unwrap().len() > 5, "{listed}");
    // Another agency's admin sees none and cannot retry it; an officer may do neither.
    let other = node.token("admin-1", "municipality", Role::Admin);
    assert_eq!(get(&node, "/api/v1/incidents", &other).await.1, json!([]));
    let retry = format!("/api/v1/incidents/{id}/retry");
    assert_eq!(post(&node, &retry, &other).await.0, 404);
    let officer = node.token("admin-1", "power-distribution", Role::Officer);
    assert_eq!(get(&node, "/api/v1/incidents", &officer).await.0, 403);
    assert_eq!(post(&node, &retry, &officer).await.0, 403);

    node.set_down("electricity_distribution", false).await;
    let (status, body) = post(&node, &retry, &admin(&node)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&node, &retry, &admin(&node)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("not-open")),
        "{body}"
    );
    node.until(&s, "the scheduled visit", |st| {
        st.status.as_deref() == Some("scheduled")
    })
    .await;
    assert_eq!(
        get(&node, "/api/v1/incidents", &admin(&node)).await.1,
        json!([])
    );
    let history = node.history(&s).await;
    assert!(history.iter().any(|e| matches!(
        e,
        daftar_engine::events::Event::IncidentResolved { action, .. } if action == "retry"
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_request_is_tracked_as_cancelled_and_its_applicant_gets_one_sms() {
    let node = Node::new().await;
    let s = node.start_connection().await;
    let state = node.until_scheduled(&s).await;
    let client = reqwest::Client::new();
    for (attempt, expected) in [(1, 200), (2, 409)] {
        let res = client
            .post(format!(
                "{}/api/v1/requests/{}/cancel",
                node.api, s.instance
            ))
            .bearer_auth(admin(&node))
            .header("Idempotency-Key", format!("cancel-{attempt}"))
            .json(&json!({"reason": "the applicant moved"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), expected, "cancel #{attempt}");
    }
    let state_after = node.finished(&s).await;
    assert_eq!(state_after.status.as_deref(), Some("cancelled"));

    let tracked = daftar_testkit::json_of(client.get(format!(
        "{}/api/v1/track/{}?mobile=09351234567",
        node.api, state.tracking_code
    )))
    .await;
    assert_eq!(tracked["status"], json!("cancelled"), "{tracked}");
    assert_eq!(
        tracked["status_label"],
        json!({"fa": "لغو شد", "en": "Cancelled"})
    );
    assert_eq!(tracked["outcome"], json!("cancelled"));
    let last = tracked["milestones"].as_array().unwrap().last().unwrap();
    assert_eq!(last["status"], json!("cancelled"), "{tracked}");

    let audit = node.audit().await;
    let cancelled = [&SCHEDULED_SMS[..], &["cancelled"]].concat();
    assert_eq!(audit.sms_to("09351234567"), cancelled);
}
