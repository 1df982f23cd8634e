//! Watch a request (`GET /api/v1/requests/{id}/events`, Server-Sent Events): a portal hears
//! where the request stands, then each public milestone as it is committed, up to its end,
//! without polling; a client that reconnects with `Last-Event-ID` misses nothing and gets
//! nothing twice; nobody outside the agency or below an officer may watch.

use daftar_testkit::router as support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use daftar_api::auth::Role;
use serde_json::{Value, json};
use support::{Harness, Options};
use tokio_stream::StreamExt;
use tower::ServiceExt;

const DESK_REVIEW: &str = include_str!("fixtures/desk-review.yaml");

/// One server-sent event.
#[derive(Debug)]
struct Sent {
    id: u64,
    event: String,
    data: Value,
}

/// The events of one watch as they arrive, read from the response body.
struct Watch {
    body: axum::body::BodyDataStream,
    buffer: String,
}

impl Watch {
    async fn open(h: &Harness, id: &str, token: &str, last: Option<&str>) -> (StatusCode, Watch) {
        let mut req = Request::builder()
            .method(Method::GET)
            .uri(format!("/api/v1/requests/{id}/events"))
            .header("authorization", format!("Bearer {token}"));
        if let Some(l) = last {
            req = req.header("last-event-id", l);
        }
        let res = h
            .app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        if status == StatusCode::OK {
            assert_eq!(res.headers()["content-type"], "text/event-stream");
        }
        let watch = Watch {
            body: res.into_body().into_data_stream(),
            buffer: String::new(),
        };
        (status, watch)
    }

    /// The next event (keep-alive comments skipped); `None` once the server closed the stream.
    async fn next(&mut self) -> Option<Sent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, None, None);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().parse().unwrap());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = Some(serde_json::from_str(v.trim()).unwrap());
                    }
                }
                if let (Some(id), Some(event), Some(data)) = (id, event, data) {
                    return Some(Sent { id, event, data });
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.body.next())
                .await
                .expect("an event or the end within 10 s")?;
            self.buffer
                .push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
        }
    }
}

async fn desk() -> Harness {
    Harness::with(Options {
        examples: vec![],
        sources: vec![DESK_REVIEW.to_owned()],
        answers: json!({}),
        ..Options::default()
    })
    .await
}

/// Files a desk review; its id and its task.
async fn file(h: &Harness) -> (String, String) {
    let citizen = h.token("judiciary", &[Role::Citizen], &[]);
    let (status, filed) = h
        .post(
            "/api/v1/requests",
            &citizen,
            json!({"service": "desk-review", "input": {
                "national_id": "0499370899", "mobile": "09121234567"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    let id = filed["id"].as_str().unwrap().to_owned();
    let view = h
        .wait_for("judiciary", &id, |v| {
            v["tasks"].as_array().is_some_and(|t| !t.is_empty())
        })
        .await;
    (id, view["tasks"][0]["id"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_hears_where_the_request_stands_then_each_milestone_to_its_end() {
    let h = desk().await;
    let (id, task) = file(&h).await;
    let officer = h.token("judiciary", &[Role::Officer], &["clerk"]);
    let (status, mut watch) = Watch::open(&h, &id, &officer, None).await;
    assert_eq!(status, StatusCode::OK);

    let first = watch.next().await.expect("where it stands");
    assert_eq!(first.event, "state");
    assert_eq!(first.data["status"], "reviewing", "{:?}", first.data);
    assert_eq!(first.data["ended"], false);
    assert_eq!(first.data["state"], "running", "{:?}", first.data);

    // The officer approves while the portal watches: it hears the new status and the end.
    let (status, body) = h
        .post(
            &format!("/api/v1/requests/{id}/tasks/{task}/complete"),
            &officer,
            json!({"outcome": "approve", "form": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut seen = Vec::new();
    while let Some(e) = watch.next().await {
        seen.push(e);
    }
    let kinds: Vec<&str> = seen.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(kinds, ["status", "ended"], "{seen:?}");
    assert_eq!(seen[0].data["status"], "approved");
    assert_eq!(seen[0].data["label"]["en"], "Approved");
    assert_eq!(seen[1].data["outcome"], "approved");
    assert!(first.id < seen[0].id && seen[0].id < seen[1].id, "{seen:?}");

    // Reconnecting after the first event replays the same milestones from the history, with
    // the same ids, and closes at the end.
    let (status, mut again) = Watch::open(&h, &id, &officer, Some(&first.id.to_string())).await;
    assert_eq!(status, StatusCode::OK);
    let mut replayed = Vec::new();
    while let Some(e) = again.next().await {
        replayed.push((e.id, e.event));
    }
    let live: Vec<(u64, String)> = seen.iter().map(|e| (e.id, e.event.clone())).collect();
    assert_eq!(replayed, live);

    // After the last one, nothing is left: an ended request's watch says where it stands and
    // closes.
    let (_, mut done) = Watch::open(&h, &id, &officer, None).await;
    let last = done.next().await.unwrap();
    assert_eq!(
        (last.event.as_str(), &last.data["ended"]),
        ("state", &json!(true))
    );
    assert_eq!(last.data["state"], "approved", "{:?}", last.data);
    assert!(done.next().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_agencys_officers_and_auditors_and_the_filer_may_watch_and_a_bad_resume_point_is_refused()
 {
    let h = desk().await;
    let (id, _) = file(&h).await;
    let filer = h.token("judiciary", &[Role::Citizen], &[]);
    let citizen = h.token_for("someone-else", "judiciary", &[Role::Citizen], &[]);
    let other = h.token("registry", &[Role::Officer], &["clerk"]);
    let auditor = h.token("judiciary", &[Role::Auditor], &[]);
    // Another citizen learns nothing, not even that the request exists.
    assert_eq!(
        Watch::open(&h, &id, &citizen, None).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, mut own) = Watch::open(&h, &id, &filer, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the applicant watches their own request"
    );
    assert_eq!(own.next().await.unwrap().event, "state");
    assert_eq!(
        Watch::open(&h, &id, &other, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        Watch::open(&h, &id, &auditor, Some("yesterday")).await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, mut watch) = Watch::open(&h, &id, &auditor, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(watch.next().await.unwrap().event, "state");
}
