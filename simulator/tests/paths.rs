//! The seed drives both outcomes of every example service: for each person of the table in
//! docs/simulator.md, the inquiry that decides their path answers as documented.

use daftar_testkit::simulator as common;

use common::*;
use serde_json::{Value, json};

/// Each documented path: the service it decides, the inquiry (`connector/operation`) and its
/// body, the field of the answer that decides it and the value expected (`null`: any value).
fn cases() -> Vec<Value> {
    serde_json::from_str(include_str!("fixtures/paths.json")).unwrap()
}

#[tokio::test]
async fn each_documented_path_answers_as_documented() {
    let base = start(quick_config()).await;
    for (i, case) in cases().into_iter().enumerate() {
        let (service, target) = (&case["service"], case["target"].as_str().unwrap());
        let (field, expected) = (case["field"].as_str().unwrap(), &case["expected"]);
        let url = format!("{base}/agencies/{target}");
        let (status, answer) = post(&url, &format!("p{i}"), case["body"].clone()).await;
        assert_eq!(status, 200, "{service}, {target}: {answer}");
        if expected.is_null() {
            assert!(answer.get(field).is_some(), "{service}, {target}: {answer}");
        } else {
            assert_eq!(
                &answer[field], expected,
                "{service}, {target}.{field}: {answer}"
            );
        }
    }
}

#[tokio::test]
async fn licence_reminders_run_out_once_marked() {
    let base = start(quick_config()).await;
    let due = format!("{base}/agencies/business_licences/next_due_reminder");
    let ask = json!({"licence_type": "home_business", "expiring_within_days": 30});
    let mut seen = Vec::new();
    for i in 0..3 {
        let (_, a) = post(&due, &format!("due{i}"), ask.clone()).await;
        if a["found"] == false {
            break;
        }
        assert!(
            a["expires_on_jalali"]
                .as_str()
                .is_some_and(|d| d.starts_with("14"))
        );
        let number = a["licence_number"].as_str().expect("number").to_string();
        let mark = format!("{base}/agencies/business_licences/mark_reminded");
        assert_eq!(
            post(
                &mark,
                &format!("mark{i}"),
                json!({"licence_number": number})
            )
            .await
            .0,
            200
        );
        seen.push(number);
    }
    assert_eq!(seen, ["HB-1401-00017", "HB-1401-00042"]);
}
