//! Messages delivered over HTTP drive the example services' message waits to their end, against
//! the agency simulator (`e2e_support`): the building permit's "request changes" path, whose
//! applicant sends the revised plans by request (`POST /api/v1/requests/{id}/messages/{name}`,
//! with the mobile number they filed with), and the utility connection's `meter_installed`,
//! which the distribution company reports by its work order
//! (`POST /api/v1/messages/{name}` with the correlation key).

use daftar_testkit::e2e as e2e_support;

use daftar_api::auth::Role;
use e2e_support::applicants::CONNECTED_SMS;
use e2e_support::{Node, outcome};
use serde_json::{Value, json};

/// POSTs `body` to the node's API at `path`.
async fn post(
    node: &Node,
    path: &str,
    token: &str,
    key: Option<&str>,
    body: Value,
) -> (u16, Value) {
    node.call(reqwest::Method::POST, path, token, key, Some(body))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn building_permit_plans_revised_by_the_applicant_go_back_to_review_and_are_issued() {
    let node = Node::new().await;
    let s = node.start_building_permit().await;
    let review = json!({"structural_ok": false, "architectural_ok": true, "comments": "stairs"});
    node.complete_task(
        &s,
        "engineering_review",
        "building_engineer",
        "request_changes",
        review,
    )
    .await;
    let state = node
        .until(&s, "the wait for revised plans", |st| {
            st.tokens.values().any(|t| t.step == "await_revised_plans")
        })
        .await;
    let code = state.tracking_code.clone();
    let path = format!("/api/v1/requests/{code}/messages/plans_revised");
    let citizen = node.token("tester", "municipality", Role::Citizen);
    let plans = json!({"payload": {"plans": "rev-2"}, "mobile": "09120000000"});

    // Another mobile number than the applicant's: as if there were no such request.
    let (status, body) = post(&node, &path, &citizen, None, plans.clone()).await;
    assert_eq!(status, 404, "{body}");
    // Another agency's officer cannot reach it either.
    let elsewhere = node.token("tester", "judiciary", Role::Officer);
    let (status, body) = post(&node, &path, &elsewhere, None, json!({})).await;
    assert_eq!(status, 404, "{body}");
    // A message the request does not wait for.
    let other = format!("/api/v1/requests/{code}/messages/meter_installed");
    let officer = node.token("tester", "municipality", Role::Officer);
    let (status, body) = post(&node, &other, &officer, None, json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("not-waiting")),
        "{body}"
    );

    // The applicant, with the number they filed with (written the Persian way).
    let mut plans = plans;
    plans["mobile"] = json!("+98 ۹۱۲ ۱۲۳ ۴۵۶۷");
    let (status, body) = post(&node, &path, &citizen, Some("revision-1"), plans.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tracking_code"], json!(code));
    assert_eq!(body["duplicate"], json!(false));
    // The same delivery again is the same message: no second effect.
    let (status, body) = post(&node, &path, &citizen, Some("revision-1"), plans).await;
    assert_eq!(
        (status, body["duplicate"].as_bool()),
        (200, Some(true)),
        "{body}"
    );

    let review = json!({"structural_ok": true, "architectural_ok": true});
    node.complete_task(
        &s,
        "engineering_review",
        "building_engineer",
        "approve",
        review,
    )
    .await;
    let state = node.finished(&s).await;
    assert_eq!(outcome(&state), "issued");
    let received = node
        .history(&s)
        .await
        .into_iter()
        .filter(|e| {
            matches!(e, daftar_engine::events::Event::MessageReceived { name, .. } if name == "plans_revised")
        })
        .count();
    assert_eq!(received, 1);
    let audit = node.audit().await;
    assert_eq!(
        audit.sms_to("09121234567"),
        [
            "checking",
            "awaiting_payment",
            "engineering_review",
            "changes_requested",
            "engineering_review",
            "issued"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utility_connection_ends_when_the_crew_reports_the_meter_by_its_work_order() {
    let node = Node::new().await;
    let s = node.start_connection().await;
    let state = node.until_the_meter_wait(&s).await;
    let work_order = state.vars["work_order"].as_str().unwrap().to_owned();
    let officer = node.token("tester", "power-distribution", Role::Officer);

    // The applicant may not report the meter of their own request.
    let path = format!(
        "/api/v1/requests/{}/messages/meter_installed",
        state.tracking_code
    );
    let body = json!({"payload": {"meter_serial": "FAKE"}, "mobile": "09351234567"});
    let (status, answer) = post(
        &node,
        &path,
        &node.token("tester", "power-distribution", Role::Citizen),
        None,
        body,
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    // A work order no request waits for is kept, not dropped, and an admin finds it.
    let (status, answer) = post(
        &node,
        "/api/v1/messages/meter_installed",
        &officer,
        Some("crew-report-0"),
        json!({"correlation": "WO-NOBODY", "payload": {"meter_serial": "X"}}),
    )
    .await;
    assert_eq!(
        (status, answer["kept"].as_bool()),
        (202, Some(true)),
        "{answer}"
    );
    let kept = daftar_testkit::json_of(
        reqwest::Client::new()
            .get(format!("{}/api/v1/messages/unmatched", node.api))
            .bearer_auth(node.token("tester", "power-distribution", Role::Admin)),
    )
    .await;
    assert_eq!(kept[0]["correlation"], json!("WO-NOBODY"), "{kept}");
    // Another agency's officer with the right work order reaches nothing of this one.
    let report = json!({"correlation": work_order, "payload": {"meter_serial": "MTR-8812-0457"}});
    let (status, answer) = post(
        &node,
        "/api/v1/messages/meter_installed",
        &node.token("tester", "municipality", Role::Officer),
        None,
        report.clone(),
    )
    .await;
    assert_eq!(status, 202, "{answer}");

    // The crew's report, waiting for where it leaves the request (`Prefer: wait`): the
    // request's end comes back in the same answer.
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/messages/meter_installed", node.api))
        .bearer_auth(&officer)
        .header("Idempotency-Key", "crew-report-1")
        .header("Prefer", "wait=10")
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["preference-applied"], "wait=10");
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["request"], json!(s.instance));
    assert_eq!(answer["now"]["state"], "approved", "{answer}");
    let state = node.finished(&s).await;
    assert_eq!(outcome(&state), "approved");
    assert_eq!(state.vars["meter_serial"], json!("MTR-8812-0457"));
    let audit = node.audit().await;
    assert_eq!(audit.sms_to("09351234567"), CONNECTED_SMS);
}
