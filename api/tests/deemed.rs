//! Deemed approval end to end: a request filed through the API waits on an officer's review
//! due in working days; no officer decides, the engine's clock passes the deadline, and the
//! request is approved by law, the history showing the legal reason with the system as actor
//! and the applicant receiving the reason by SMS at the simulator's SMS centre.

use daftar_testkit::e2e as e2e_support;
use daftar_testkit::{closed_applicant_form, review_outcome_statuses, workflow_meta};

use daftar_api::auth::Role;
use daftar_engine::events::{StreamId, TimerPurpose};
use e2e_support::Node;
use serde_json::{Value, json};

const LAW: &str = "ماده ۷ قانون تسهیل صدور مجوزهای کسب‌وکار";

const KIOSK: &str = concat!(
    workflow_meta!(
        "kiosk-permit",
        "مجوز کیوسک",
        "Kiosk permit",
        "municipality",
        "10 working days"
    ),
    closed_applicant_form!(),
    review_outcome_statuses!(),
    r#"steps:
  - id: review
    status: reviewing
    task:
      role: kiosk_officer
      due: 5 working days
      on_deadline: { deemed: approve, law: "LAW" }
      outcomes: { approve: approve, reject: reject }
  - id: approve
    status: approved
    end: { outcome: approved }
  - id: reject
    status: rejected
    end: { outcome: rejected }
"#
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_left_past_its_working_day_deadline_is_approved_by_law_and_the_applicant_told_why()
{
    let node = Node::new().await;
    node.engine
        .deploy("kiosk-permit.yaml", &KIOSK.replace("LAW", LAW))
        .await
        .unwrap();
    let citizen = node.token("0499370899", "municipality", Role::Citizen);
    let input = json!({"national_id": "0499370899", "mobile": "09121234567"});
    let (status, filed) = node
        .call(
            reqwest::Method::POST,
            "/api/v1/requests",
            &citizen,
            None,
            Some(json!({"service": "kiosk-permit", "input": input})),
        )
        .await;
    assert_eq!(status, 201, "{filed}");
    let id = filed["id"].as_str().unwrap().to_owned();
    let stream = StreamId {
        agency: "municipality".into(),
        instance: id.clone(),
    };
    let state = node
        .until(&stream, "the review task", |s| !s.tasks.is_empty())
        .await;
    let (task, t) = state.tasks.iter().next().unwrap();
    // Five working days of the shipped calendar from now (35 working hours): far more than
    // 35 hours of clock time, and on a working day of the agency.
    let filed_at = state.filed_at.unwrap();
    let calendar = node.engine.calendar("municipality");
    assert!(
        t.due_at - filed_at >= chrono::Duration::days(4),
        "{}",
        t.due_at
    );
    let local = t.due_at.with_timezone(&calendar.time_zone());
    assert!(calendar.is_working_day(local.date_naive()), "{local}");
    assert_eq!(
        t.due_at,
        node.engine
            .calendar("municipality")
            .add(filed_at, "5 working days".parse().unwrap())
    );

    node.fire_timer(
        &stream,
        "review",
        TimerPurpose::TaskDue { task: task.clone() },
    )
    .await;
    let done = node
        .until(&stream, "the approval by law", |s| s.ended())
        .await;
    assert_eq!(e2e_support::outcome(&done), "approved");

    // The history, as an auditor reads it through the API.
    let auditor = node.token("auditor-1", "municipality", Role::Auditor);
    let (status, history) = node
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/requests/{id}/history"),
            &auditor,
            None,
            None,
        )
        .await;
    assert_eq!(status, 200, "{history}");
    let events = history["events"].as_array().unwrap();
    let deemed: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "TaskDeemed")
        .collect();
    assert_eq!(deemed.len(), 1, "{history}");
    assert_eq!(deemed[0]["event"]["outcome"], "approve");
    assert_eq!(deemed[0]["event"]["law"], LAW);
    assert_eq!(
        deemed[0]["actor"]["kind"], "system",
        "the law decides, not an officer"
    );
    assert!(events.iter().all(|e| e["type"] != "TaskCompleted"));

    // The applicant's SMS, as the simulator's SMS centre received it.
    let about_law = |m: &&Value| m["text"].as_str().is_some_and(|t| t.contains(LAW));
    let mut sms = node.sms_log().await;
    for _ in 0..200 {
        if sms.iter().any(|m| about_law(&m)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        sms = node.sms_log().await;
    }
    let told: Vec<&Value> = sms.iter().filter(about_law).collect();
    assert_eq!(told.len(), 1, "{sms:?}");
    assert_eq!(told[0]["mobile"], "09121234567");
    assert!(
        told[0]["text"]
            .as_str()
            .unwrap()
            .contains(&done.tracking_code)
    );
}
