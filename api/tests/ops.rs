//! Router tests of the operations endpoints and of the OpenAPI document: `/healthz`,
//! `/readyz`, `/metrics` with the engine's metrics after a request ran (and no personal data
//! in them), and `/openapi.json` naming every path.

use daftar_testkit::router as support;

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use daftar_api::auth::Role;
use daftar_api::{AppState, Config};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use support::Harness;
use tower::ServiceExt as _;

const AGENCY: &str = "judiciary";

/// The process's recorder: a global recorder can be installed once per process, so every
/// test of this file shares it.
fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).expect("the only recorder of the process");
            daftar_engine::metrics::describe();
            handle
        })
        .clone()
}

/// The harness's application, with the recorder.
fn with_metrics(h: &Harness) -> axum::Router {
    let state = AppState::new(Config {
        metrics: Some(recorder()),
        ..Config::new(Arc::clone(&h.engine), h.keys.clone())
    });
    daftar_api::app(state)
}

async fn get_text(app: &axum::Router, uri: &str) -> (StatusCode, String, String) {
    let res = app
        .clone()
        .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let content_type = daftar_testkit::router::header(&res, "content-type").unwrap_or_default();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap();
    (
        status,
        content_type,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let h = Harness::new().await;
    let (status, body) = h.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    let (status, body) = h.call(Method::GET, "/readyz", None, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ready"})));
    // Without a recorder there is nothing to render.
    let (status, body) = h.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "no-metrics");
}

#[tokio::test]
async fn metrics_count_what_requests_did() {
    let h = Harness::new().await;
    let app = with_metrics(&h);
    let citizen = h.token(AGENCY, &[Role::Citizen], &[]);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/requests")
        .header("authorization", format!("Bearer {citizen}"))
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"service": "clean-record-certificate", "input": {
                "national_id": "0499370899", "mobile": "09121234567",
                "birth_date": "1990-01-01", "purpose": "employment"}})
            .to_string(),
        ))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let filed: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let id = filed["id"].as_str().unwrap();

    let (status, content_type, text) = get_text(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(
        text.contains(r#"daftar_requests_started_total{service="clean-record-certificate"}"#),
        "{text}"
    );

    // Once the certificate is issued: the inquiries, their latency, the jobs, the outcome.
    h.wait_for(AGENCY, id, |v| v["state"] == "issued").await;
    let (_, _, text) = get_text(&app, "/metrics").await;
    for series in [
        r#"daftar_requests_completed_total{service="clean-record-certificate",outcome="issued"}"#,
        // No person acted on it: it counts towards the smart share.
        r#"daftar_requests_smart_total{service="clean-record-certificate",outcome="issued"}"#,
        r#"daftar_inquiries_total{connector="civil_registry",outcome="answered"}"#,
        r#"daftar_inquiries_total{connector="judiciary_records",outcome="answered"}"#,
        r#"daftar_inquiry_seconds_count{connector="civil_registry"}"#,
        r#"daftar_step_seconds_count{service="clean-record-certificate",kind="inquiry"}"#,
        "# HELP daftar_requests_started_total",
    ] {
        assert!(text.contains(series), "{series} is missing:\n{text}");
    }
    // Nothing that names a person or a request.
    for secret in ["0499370899", "09121234567", id] {
        assert!(!text.contains(secret), "{secret} in the metrics:\n{text}");
    }
}

#[tokio::test]
async fn metrics_count_cancellations() {
    // No workers: the request stays at its first inquiry until it is cancelled.
    let h = Harness::with(support::Options {
        workers: false,
        ..support::Options::default()
    })
    .await;
    let app = with_metrics(&h);
    let filed = h.filed_clean_record(AGENCY).await;
    let id = filed["id"].as_str().unwrap().to_owned();
    let admin = h.token(AGENCY, &[Role::Admin], &[]);
    let (status, body) = h.cancel(&id, &admin, "filed twice").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, _, text) = get_text(&app, "/metrics").await;
    assert!(
        text.contains(
            r#"daftar_requests_completed_total{service="clean-record-certificate",outcome="cancelled"}"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn every_metric_is_derived_from_the_events_of_a_commit() {
    use daftar_engine::core::InstanceState;
    use daftar_engine::events::{Event, TimerPurpose};

    let h = Harness::new().await;
    let def = h
        .engine
        .registry()
        .in_force(AGENCY, "clean-record-certificate", chrono::Utc::now())
        .unwrap();
    let now = chrono::Utc::now();
    let before = InstanceState::fold(&[
        Event::InstanceStarted {
            instance: "i-1".into(),
            workflow: "clean-record-certificate".into(),
            version: 1,
            hash: def.compiled().hash().into(),
            agency: AGENCY.into(),
            tracking_code: "T".into(),
            input: json!({"national_id": "0499370899", "mobile": "09121234567"}),
            filed_at: now,
            parent: None,
            filed_by: None,
        },
        Event::TimerScheduled {
            timer: "tm-sla".into(),
            token: 0,
            step: "identity".into(),
            due_at: now,
            purpose: TimerPurpose::Sla,
        },
    ]);
    let step = || "criminal_record".to_owned();
    let events = vec![
        Event::TimerFired {
            timer: "tm-sla".into(),
        },
        Event::InquiryFailed {
            token: 0,
            step: step(),
            attempt: 1,
            reason: "503".into(),
            retryable: true,
        },
        Event::InquiryFailed {
            token: 0,
            step: step(),
            attempt: 2,
            reason: "400".into(),
            retryable: false,
        },
        Event::InquiryOutcomeUnknown {
            token: 0,
            step: step(),
            attempt: 3,
        },
        Event::InquiryAcknowledged {
            token: 0,
            step: step(),
            attempt: 4,
        },
        Event::IncidentRaised {
            incident: "inc-1".into(),
            token: 0,
            step: "criminal_record".into(),
            reason: "retries ran out".into(),
        },
        Event::IncidentResolved {
            incident: "inc-1".into(),
            action: "retry".into(),
        },
    ];
    // A recorder of this test only: the global one is shared with the other tests.
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        daftar_engine::metrics::record(&def, &before, &events);
        // An SLA timer that fires again once breached is not a second breach.
        let breached = {
            let mut s = before.clone();
            s.apply(&events[0]);
            s
        };
        daftar_engine::metrics::record(&def, &breached, &events[..1]);
    });
    let text = handle.render();
    for series in [
        r#"daftar_sla_breaches_total{service="clean-record-certificate"} 1"#,
        r#"daftar_inquiries_total{connector="judiciary_records",outcome="transient"} 1"#,
        r#"daftar_inquiries_total{connector="judiciary_records",outcome="refused"} 1"#,
        r#"daftar_inquiries_total{connector="judiciary_records",outcome="unknown"} 1"#,
        r#"daftar_inquiries_total{connector="judiciary_records",outcome="acknowledged"} 1"#,
        r#"daftar_incidents_opened_total{service="clean-record-certificate"} 1"#,
        r#"daftar_incidents_resolved_total{service="clean-record-certificate"} 1"#,
    ] {
        assert!(text.contains(series), "{series} is missing:\n{text}");
    }
}

#[tokio::test]
async fn the_openapi_document_names_every_endpoint() {
    let h = Harness::new().await;
    let (status, doc) = h.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/definitions", "post"),
        ("/api/v1/definitions", "get"),
        ("/api/v1/definitions/validate", "post"),
        ("/api/v1/definitions/{id}/versions/{version}", "get"),
        ("/api/v1/definitions/{id}/versions/{version}/graph", "get"),
        ("/api/v1/requests/{id}/history", "get"),
        ("/api/v1/requests/{id}/state", "get"),
        ("/api/v1/audit/verify", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        let op = &paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} is missing"))[method];
        assert!(op.is_object(), "{method} {path} is missing");
        // Every error an authenticated endpoint answers is a problem body, labelled as sent.
        if path.starts_with("/api/") {
            for status in ["401", "403"] {
                let schema =
                    op["responses"][status]["content"]["application/problem+json"]["schema"]["$ref"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{method} {path} {status}"));
                assert!(schema.ends_with("/Problem"), "{method} {path} {status}");
            }
        }
    }
    let refused = &paths["/api/v1/definitions"]["post"]["responses"]["422"]["content"]["application/problem+json"]
        ["schema"]["$ref"];
    assert!(
        refused
            .as_str()
            .is_some_and(|r| r.ends_with("/InvalidDefinition")),
        "{refused}"
    );
    let schemas = &doc["components"]["schemas"];
    for name in [
        "InvalidDefinition",
        "DiagnosticView",
        "Deployed",
        "ValidationReport",
        "DefinitionList",
        "DefinitionDetail",
        "History",
        "HistoryEntry",
        "StateAt",
        "Verification",
    ] {
        assert!(schemas[name].is_object(), "schema {name} is missing");
    }
}

#[tokio::test]
async fn open_incidents_are_counted_from_the_store_at_each_scrape() {
    use daftar_engine::events::{Actor, Event, StreamId};
    use daftar_engine::store::{Commit, DefinitionRef, InstanceRow};
    let h = Harness::new().await;
    let app = with_metrics(&h);
    let row = |incidents| InstanceRow {
        workflow: "clean-record-certificate".into(),
        workflow_version: 1,
        tracking_code: "TESTCODE01".into(),
        status: Some("checking".into()),
        state: "running".into(),
        incidents,
        sla_breached: false,
        started_at: chrono::Utc::now(),
        filed_by: None,
        document_id: None,
    };
    let stream = StreamId {
        agency: AGENCY.into(),
        instance: "i-incidents".into(),
    };
    let commit = |expected, id: &str, incidents| Commit {
        stream: stream.clone(),
        expected_version: expected,
        command_id: id.into(),
        actor: Actor::System,
        definition: DefinitionRef {
            workflow: "clean-record-certificate".into(),
            version: 1,
            hash: "sha256:test".into(),
        },
        events: vec![Event::StatusChanged {
            from: None,
            to: "checking".into(),
        }],
        jobs: vec![],
        completes_job: None,
        timers: vec![],
        dropped_timers: vec![],
        instance: row(incidents),
        tasks: vec![],
        lease: None,
        joined: Vec::new(),
        payloads: Vec::new(),
    };
    let store = h.engine.store();
    store.commit(&[commit(0, "c1", 2)]).await.unwrap();
    let series = r#"daftar_incidents_open{agency="judiciary",service="clean-record-certificate"}"#;
    let (_, _, text) = get_text(&app, "/metrics").await;
    assert!(text.contains(&format!("{series} 2")), "{text}");
    // Resolved in the store: the next scrape says so, whichever node resolved them.
    store.commit(&[commit(1, "c2", 0)]).await.unwrap();
    let (_, _, text) = get_text(&app, "/metrics").await;
    assert!(text.contains(&format!("{series} 0")), "{text}");
}
