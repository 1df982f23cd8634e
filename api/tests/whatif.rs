//! Router tests of `POST /api/v1/definitions/{id}/what-if` (a new definition run against the
//! recorded requests of its service) and of the reasons the history gives for each automated
//! decision, with the personal values a decision read masked for auditors.

use daftar_testkit::harness;
use daftar_testkit::router as support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use daftar_api::auth::Role;
use serde_json::{Value, json};
use support::{Harness, Options, PORTAL, verification, verification_without_shahkar};

async fn what_if(h: &Harness, query: &str, token: &str, yaml: &str) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!(
            "/api/v1/definitions/applicant-verification/what-if{query}"
        ))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/yaml")
        .body(Body::from(yaml.to_owned()))
        .unwrap();
    h.send(req).await
}

#[tokio::test]
async fn the_portals_removed_condition_names_the_request_whose_outcome_would_change() {
    let (h, filed) = support::portal_with_a_refusal().await;
    let id = filed["id"].as_str().unwrap().to_owned();

    let designer = h.token(PORTAL, &[Role::Designer], &[]);
    // The deployed definition itself: nothing would differ.
    let (status, same) = what_if(&h, "", &designer, &verification()).await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(
        (same["examined"].clone(), same["same"].clone()),
        (json!(1), json!(1)),
        "{same}"
    );
    assert_eq!(same["findings"], json!([]));

    // Without the Shahkar condition, the rejected applicant would have been verified.
    let (status, report) =
        what_if(&h, "?limit=10", &designer, &verification_without_shahkar()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["service"], "applicant-verification");
    assert_eq!(report["version"], 2);
    assert_eq!(
        (report["examined"].clone(), report["differs"].clone()),
        (json!(1), json!(1))
    );
    let f = &report["findings"][0];
    assert_eq!(f["instance"], id);
    assert_eq!(f["verdict"], "differs");
    assert_eq!(
        (f["old_outcome"].clone(), f["new_outcome"].clone()),
        (json!("rejected"), json!("approved"))
    );
    assert_eq!(f["parted"]["after"], "decide");
    assert_eq!(f["parted"]["old_next"], "not_verified");
    assert_eq!(f["parted"]["new_next"], "verified");
    let old = &f["parted"]["decision"]["old"];
    assert_eq!(old["cases"][1], json!(["!mobile_owned", true]));
    assert_eq!(old["read"][1], json!({"mobile_owned": false}));
    assert!(
        f["why"]["en"]
            .as_str()
            .unwrap()
            .contains("rejected → approved"),
        "{f}"
    );
    assert!(
        f["why"]["fa"].as_str().unwrap().contains("mobile_owned"),
        "{f}"
    );

    // An admin of the agency may; an officer may not; another agency does not see the service.
    let admin = h.token(PORTAL, &[Role::Admin], &[]);
    assert_eq!(
        what_if(&h, "", &admin, &verification()).await.0,
        StatusCode::OK
    );
    let officer = h.token(PORTAL, &[Role::Officer], &["clerk"]);
    assert_eq!(
        what_if(&h, "", &officer, &verification()).await.0,
        StatusCode::FORBIDDEN
    );
    let other = h.token("judiciary", &[Role::Designer, Role::Admin], &[]);
    let (status, body) = what_if(&h, "", &other, &verification()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Out-of-range limits and a broken definition are refused with a reason.
    for limit in ["?limit=0", "?limit=1001", "?limit=x"] {
        let (status, body) = what_if(&h, limit, &designer, &verification()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{limit}: {body}");
    }
    let (status, body) =
        what_if(&h, "", &designer, "daftar: 1\nid: applicant-verification\n").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid-definition");
    let (status, _) = h
        .call(
            Method::POST,
            "/api/v1/definitions/applicant-verification/what-if",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A decision that reads the applicant's national ID and the amount asked.
const ELIGIBILITY: &str = "steps:
  - id: eligibility
    decision:
      cases:
        - when: \"input.national_id == '0000000000'\"
          next: refused
          reason: The national ID is on the list of blocked applicants.
        - when: input.amount > 1000
          next: refused
          reason: Amounts over 1000 need a licence.
      default: granted
  - id: granted
    end: { outcome: approved }
  - id: refused
    end:
      outcome: rejected
      reason: { fa: درخواست رد شد., en: The request was refused. }
";

#[tokio::test]
async fn the_timeline_says_why_each_decision_went_its_way_masking_personal_values() {
    let h = Harness::with(Options {
        examples: vec![],
        sources: vec![harness::workflow(ELIGIBILITY)],
        ..Options::default()
    })
    .await;
    let stream = harness::file(&h.engine).await;
    h.wait_for("test-agency", &stream.instance, |v| {
        v["state"] == "rejected"
    })
    .await;
    let uri = format!("/api/v1/requests/{}/history", stream.instance);
    let why = |history: &Value| {
        history["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == "DecisionTaken")
            .map(|e| e["why"].clone())
            .unwrap()
    };

    let auditor = h.token("test-agency", &[Role::Auditor], &[]);
    let (status, history) = h.get(&uri, &auditor).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let masked = why(&history);
    assert_eq!(
        masked["en"],
        "Decision `eligibility`: input.national_id \"********99\" is not equal to \
         '0000000000'; input.amount 5000 is over 1000; so the request went on to step \
         `refused`. Reason: Amounts over 1000 need a licence.",
        "{masked}"
    );
    assert!(
        masked["fa"]
            .as_str()
            .unwrap()
            .starts_with("تصمیم «eligibility»"),
        "{masked}"
    );
    assert!(
        masked["fa"]
            .as_str()
            .unwrap()
            .contains("۵۰۰۰ بیشتر از ۱۰۰۰ است"),
        "{masked}"
    );
    assert!(
        !history.to_string().contains("0499370899"),
        "masked everywhere"
    );

    // An admin sees the value, as officers do.
    let admin = h.token("test-agency", &[Role::Admin], &[]);
    let (_, whole) = h.get(&uri, &admin).await;
    assert!(
        why(&whole)["en"]
            .as_str()
            .unwrap()
            .contains("\"0499370899\"")
    );
}
