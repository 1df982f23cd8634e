//! Router tests of the audit endpoints: a request's history (personal data masked for
//! auditors), its state at a version or a time, and the verification of every hash chain of
//! the agency, which passes on an intact store and names the event altered in the database.

use daftar_testkit::router as support;

use axum::http::{Method, StatusCode};
use daftar_api::auth::Role;
use serde_json::{Value, json};
use support::Harness;

const AGENCY: &str = "judiciary";
const NATIONAL_ID: &str = "0499370899";
const MOBILE: &str = "09121234567";

/// Files a request and waits until its certificate is issued; answers its id and tracking
/// code.
async fn issued(h: &Harness) -> (String, String) {
    let done = h
        .issued_clean_record(&h.token(AGENCY, &[Role::Citizen], &[]))
        .await;
    let code = done["tracking_code"].as_str().unwrap();
    (done["id"].as_str().unwrap().to_owned(), code.to_owned())
}

fn events(history: &Value) -> &Vec<Value> {
    history["events"].as_array().expect("events")
}

#[tokio::test]
async fn history_is_whole_chained_and_masked_for_auditors() {
    let h = Harness::new().await;
    let (id, code) = issued(&h).await;
    let uri = format!("/api/v1/requests/{id}/history");
    let auditor = h.token(AGENCY, &[Role::Auditor], &[]);
    let (status, history) = h.get(&uri, &auditor).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(history["id"], id);
    let list = events(&history);
    assert!(list.len() > 5, "{history}");
    let first = &list[0];
    assert_eq!(first["type"], "InstanceStarted");
    assert_eq!(first["event"]["type"], "InstanceStarted");
    assert_eq!(first["event"]["v"], 1);
    assert_eq!(first["prev_hash"], "");
    // Filed by a citizen with a token of their own: the applicant, by the token's subject,
    // which is personal (an identity provider may use the national ID as it): masked here.
    assert_eq!(first["actor"]["kind"], "applicant");
    assert_eq!(first["actor"]["id"], "****er", "{first}");
    assert_eq!(first["event"]["filed_by"], "****er", "{first}");
    assert!(first["command_id"].as_str().unwrap().starts_with("start:"));
    assert_eq!(first["definition"]["id"], "clean-record-certificate");
    assert_eq!(first["definition"]["version"], 1);
    assert!(
        first["definition"]["hash"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(first["recorded_at"].is_string());
    for (i, e) in list.iter().enumerate() {
        assert_eq!(e["version"], i as u64 + 1);
        assert!(e["position"].as_u64().unwrap() >= 1);
        if i > 0 {
            assert_eq!(e["prev_hash"], list[i - 1]["hash"], "the chain links");
        }
    }
    assert_eq!(list.last().unwrap()["type"], "InstanceCompleted");
    assert!(
        list.iter()
            .any(|e| e["type"] == "InquiryAnswered" && e["actor"]["kind"] == "connector")
    );
    // The applicant's national ID and mobile are masked everywhere for an auditor: in the
    // form, in the inquiries' requests, in the SMS recipients.
    let text = history.to_string();
    assert!(!text.contains(NATIONAL_ID), "{text}");
    assert!(!text.contains(MOBILE), "{text}");
    assert_eq!(first["event"]["input"]["national_id"], "********99");
    assert_eq!(first["event"]["input"]["mobile"], "*********67");
    assert_eq!(first["event"]["input"]["purpose"], "employment");

    // An admin sees them, as officers do; by tracking code too.
    let admin = h.token(AGENCY, &[Role::Admin], &[]);
    let (status, whole) = h
        .get(&format!("/api/v1/requests/{code}/history"), &admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{whole}");
    assert_eq!(events(&whole).len(), list.len());
    assert_eq!(
        events(&whole)[0]["event"]["input"]["national_id"],
        NATIONAL_ID
    );
    assert_eq!(events(&whole)[0]["hash"], first["hash"]);

    // Nobody else.
    let (status, _) = h.call(Method::GET, &uri, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for role in [Role::Officer, Role::Designer, Role::Citizen] {
        let token = h.token(AGENCY, &[role], &["clerk"]);
        let (status, body) = h.get(&uri, &token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {body}");
    }
    let other = h.token("municipality", &[Role::Auditor, Role::Admin], &[]);
    let (status, body) = h.get(&uri, &other).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = h
        .get(
            "/api/v1/requests/i-000000000000000000000000/history",
            &auditor,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_state_at_a_version_or_a_time_is_the_fold_up_to_there() {
    let h = Harness::new().await;
    let (id, _) = issued(&h).await;
    let auditor = h.token(AGENCY, &[Role::Auditor], &[]);
    let (_, history) = h
        .get(&format!("/api/v1/requests/{id}/history"), &auditor)
        .await;
    let list = events(&history);
    let n = list.len() as u64;
    let at = |q: String| {
        let h = &h;
        let auditor = auditor.clone();
        let id = id.clone();
        async move {
            h.get(&format!("/api/v1/requests/{id}/state{q}"), &auditor)
                .await
        }
    };

    // The first event: filed, running, masked.
    let (status, one) = at("?at=1".into()).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["id"], id);
    assert_eq!(one["version"], 1);
    assert_eq!(one["recorded_at"], list[0]["recorded_at"]);
    assert_eq!(one["state"]["version"], 1);
    assert_eq!(one["request"]["state"], "running");
    assert_eq!(one["request"]["version"], 1);
    assert_eq!(one["state"]["input"]["national_id"], "********99");
    assert!(!one.to_string().contains(NATIONAL_ID), "{one}");
    assert!(!one.to_string().contains(MOBILE), "{one}");

    // Now, and at the last version: issued.
    let (status, now) = at(String::new()).await;
    assert_eq!(status, StatusCode::OK, "{now}");
    assert_eq!(now["version"], n);
    assert_eq!(now["request"]["state"], "issued");
    let (_, last) = at(format!("?at={n}")).await;
    assert_eq!(last["state"], now["state"]);

    // By time: the events recorded at or before it.
    let t = list[2]["recorded_at"].as_str().unwrap().to_owned();
    let expected = list
        .iter()
        .filter(|e| e["recorded_at"].as_str().unwrap() <= t.as_str())
        .count() as u64;
    let (status, then) = at(format!("?at={t}")).await;
    assert_eq!(status, StatusCode::OK, "{then}");
    assert_eq!(then["version"], expected);
    assert!(expected >= 3);
    assert_eq!(
        then["recorded_at"],
        list[expected as usize - 1]["recorded_at"]
    );
    let (status, later) = at("?at=2999-01-01T00:00:00Z".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(later["version"], n);
    // An offset whose `+` arrived as a space still reads.
    let (status, offset) = at("?at=2999-01-01T03:30:00+03:30".into()).await;
    assert_eq!(status, StatusCode::OK, "{offset}");

    // An admin sees the personal data.
    let admin = h.token(AGENCY, &[Role::Admin], &[]);
    let (_, whole) = h
        .get(&format!("/api/v1/requests/{id}/state?at=1"), &admin)
        .await;
    assert_eq!(whole["state"]["input"]["national_id"], NATIONAL_ID);

    // Beyond or before the history, and nonsense.
    for q in [
        format!("?at={}", n + 1),
        "?at=0".to_owned(),
        "?at=2000-01-01T00:00:00Z".to_owned(),
    ] {
        let (status, body) = at(q.clone()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{q}: {body}");
    }
    for q in ["?at=yesterday", "?at=-3", "?at=2026-13-01T00:00:00Z"] {
        let (status, body) = at(q.to_owned()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {body}");
        assert_eq!(body["code"], "bad-at");
    }

    // Roles and agencies.
    let uri = format!("/api/v1/requests/{id}/state");
    let (status, _) = h.call(Method::GET, &uri, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let officer = h.token(AGENCY, &[Role::Officer], &["clerk"]);
    let (status, _) = h.get(&uri, &officer).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other = h.token("municipality", &[Role::Auditor], &[]);
    let (status, _) = h.get(&uri, &other).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn verify_passes_an_intact_store_and_names_an_altered_event() {
    let h = Harness::new().await;
    let auditor = h.token(AGENCY, &[Role::Auditor], &[]);
    let uri = "/api/v1/audit/verify";

    // A fresh store: nothing to check, nothing wrong.
    let (status, empty) = h.get(uri, &auditor).await;
    assert_eq!(status, StatusCode::OK, "{empty}");
    assert_eq!(
        empty,
        json!({"ok": true, "streams": 0, "events": 0, "failure": null})
    );

    let (id, _) = issued(&h).await;
    let (_, history) = h
        .get(&format!("/api/v1/requests/{id}/history"), &auditor)
        .await;
    let n = events(&history).len() as u64;
    let (status, ok) = h.get(uri, &auditor).await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    assert_eq!(
        ok,
        json!({"ok": true, "streams": 1, "events": n, "failure": null})
    );

    // Another agency's auditor walks only their own (empty) agency.
    let other = h.token("municipality", &[Role::Auditor], &[]);
    let (_, theirs) = h.get(uri, &other).await;
    assert_eq!(theirs["streams"], 0);
    assert_eq!(theirs["ok"], true);

    // Roles.
    let (status, _) = h.call(Method::GET, uri, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for role in [Role::Officer, Role::Designer] {
        let token = h.token(AGENCY, &[role], &[]);
        let (status, _) = h.get(uri, &token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
    }
    let admin = h.token(AGENCY, &[Role::Admin], &[]);
    let (status, _) = h.get(uri, &admin).await;
    assert_eq!(status, StatusCode::OK);

    // Someone with access to the database rewrites the purpose in the filed form.
    let url = format!("sqlite://{}", h.db_file().display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let changed = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "UPDATE events SET payload = replace(payload, 'employment', 'education') \
         WHERE instance = '{id}' AND version = 1"
    )))
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    pool.close().await;

    let (status, bad) = h.get(uri, &auditor).await;
    assert_eq!(status, StatusCode::OK, "{bad}");
    assert_eq!(bad["ok"], false, "{bad}");
    assert_eq!(bad["streams"], 1);
    assert_eq!(bad["events"], n);
    assert_eq!(bad["failure"]["stream"], format!("{AGENCY}/{id}"));
    assert_eq!(bad["failure"]["version"], 1);
    assert!(
        bad["failure"]["reason"]
            .as_str()
            .unwrap()
            .contains("altered"),
        "{bad}"
    );
    // The history shows what is stored now; verification is what tells it apart.
    let (_, history) = h
        .get(&format!("/api/v1/requests/{id}/history"), &auditor)
        .await;
    assert_eq!(
        events(&history)[0]["event"]["input"]["purpose"],
        "education"
    );
}
