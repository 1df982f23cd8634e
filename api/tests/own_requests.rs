//! A citizen reads the requests they filed, with their own data whole: the filing answer and
//! `GET /api/v1/requests/{id}` show the applicant their national ID and mobile, so a portal
//! needs no second token. Another citizen of the same agency learns nothing, not even that
//! the request exists, and an auditor still sees the personal data masked.

use daftar_testkit::router as support;

use axum::http::StatusCode;
use daftar_api::auth::Role;
use serde_json::json;
use support::{Harness, Options, answered};

const NATIONAL_ID: &str = "0499370899";
const MOBILE: &str = "09121234567";

/// A citizen's token with its own subject.
fn citizen(h: &Harness, subject: &str) -> String {
    h.token_for(subject, "judiciary", &[Role::Citizen], &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_applicant_reads_their_request_whole_and_nobody_else_of_the_public_reads_it() {
    let h = Harness::new().await;
    let zahra = citizen(&h, "zahra");
    let filed = h.filed_clean_record_as(&zahra).await;
    assert_eq!(
        filed["input"]["national_id"], NATIONAL_ID,
        "the filing answer: {filed}"
    );
    assert_eq!(filed["input"]["mobile"], MOBILE, "{filed}");
    let id = filed["id"].as_str().unwrap();
    let code = filed["tracking_code"].as_str().unwrap();

    for by in [id, code] {
        let (status, own) = h.get(&format!("/api/v1/requests/{by}"), &zahra).await;
        assert_eq!(status, StatusCode::OK, "by {by}: {own}");
        assert_eq!(own["id"], id);
        assert_eq!(own["input"]["national_id"], NATIONAL_ID, "{own}");
    }

    // Once issued, the applicant's view carries the certificate's document ID.
    let done = h
        .wait_for("judiciary", id, |v| v["state"] == "issued")
        .await;
    let document = done["document_id"]
        .as_str()
        .expect("a document ID")
        .to_owned();
    let (_, own) = h.get(&format!("/api/v1/requests/{id}"), &zahra).await;
    assert_eq!(own["document_id"], document.as_str(), "{own}");

    // Another citizen: the same answer as for a request that does not exist.
    let other = citizen(&h, "someone-else");
    let (status, body) = h.get(&format!("/api/v1/requests/{id}"), &other).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (unknown, _) = h
        .get("/api/v1/requests/i-000000000000000000000000", &other)
        .await;
    assert_eq!(unknown, StatusCode::NOT_FOUND);

    // An auditor reads it with the applicant's data masked, as before.
    let auditor = h.token("judiciary", &[Role::Auditor], &[]);
    let (status, seen) = h.get(&format!("/api/v1/requests/{id}"), &auditor).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(seen["input"]["national_id"], NATIONAL_ID, "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_the_node_holds_in_memory_is_read_without_asking_the_store() {
    // A request that goes on (it waits for a clerk): the node holds the requests going on,
    // not those that ended.
    let h = Harness::with(Options {
        sources: vec![include_str!("fixtures/desk-review.yaml").to_owned()],
        ..Options::default()
    })
    .await;
    let zahra = citizen(&h, "zahra");
    let application = json!({"service": "desk-review",
        "input": {"national_id": NATIONAL_ID, "mobile": MOBILE}});
    let filed = answered(
        h.post("/api/v1/requests", &zahra, application).await,
        StatusCode::CREATED,
    );
    let id = filed["id"].as_str().unwrap();

    // Behind the node's back, the request's read-model row goes: a read that asked the store
    // whether the request exists would now answer 404.
    let url = format!("sqlite://{}", h.db_file().display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let gone = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DELETE FROM instances WHERE instance = '{id}'"
    )))
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(gone.rows_affected(), 1);
    pool.close().await;

    let (status, own) = h.get(&format!("/api/v1/requests/{id}"), &zahra).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "answered from the node's memory: {own}"
    );
    assert_eq!(own["id"], id);
}
