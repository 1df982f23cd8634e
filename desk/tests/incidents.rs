//! A manager retries an incident from the desk, through its router over a node whose agency is
//! down (the simulator, over real HTTP): the manager's page lists the open incident with its
//! retry form; another agency's admin and an officer cannot retry it; once the agency is back,
//! the form retries it, the request goes on, and the page lists no incident.

mod common;

use axum::Router;
use axum::http::StatusCode;
use common::{get, signed_in};
use daftar_api::auth::Role;
use daftar_testkit::e2e::{Node, token_keys};

const AGENCY: &str = "power-distribution";

fn desk(node: &Node) -> Router {
    let api = daftar_api::AppState::new(daftar_api::Config::new(node.engine.clone(), token_keys()));
    common::desk_over(api, None, None)
}

/// Sends the retry form of incident `id` with the CSRF token of the visit's manager page.
async fn retry(app: &Router, jar: &str, id: &str) -> (StatusCode, String) {
    let (_, _, page) = common::send(app, get("/manage", jar)).await;
    let path = format!("/manage/incidents/{id}/retry");
    let body = format!("csrf={}", common::csrf_of(&page));
    let (status, _, body) = common::send(app, common::form(&path, jar, body)).await;
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_retries_an_incident_from_the_desk_once_the_agency_is_back() {
    let node = Node::new().await;
    let app = desk(&node);
    node.set_down("electricity_distribution", true).await;
    let s = node.start_connection().await;
    let (incident, _) = node.incident(&s).await;
    let id = format!("{}:{incident}", s.instance);

    let manager = signed_in(&app, &node.token("admin-1", AGENCY, Role::Admin)).await;
    let (status, _, page) = common::send(&app, get("/manage", &manager)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let form = format!("action=\"/manage/incidents/{id}/retry\"");
    assert!(
        page.contains(&form),
        "the incident with its retry form: {page}"
    );

    // Another agency's admin does not see it and cannot retry it; an officer may not.
    let stranger = signed_in(&app, &node.token("admin-1", "municipality", Role::Admin)).await;
    let (_, _, theirs) = common::send(&app, get("/manage", &stranger)).await;
    assert!(!theirs.contains(&id), "{theirs}");
    assert_eq!(retry(&app, &stranger, &id).await.0, StatusCode::NOT_FOUND);
    let officer = signed_in(&app, &node.token("officer-1", AGENCY, Role::Officer)).await;
    assert_eq!(retry(&app, &officer, &id).await.0, StatusCode::FORBIDDEN);

    node.set_down("electricity_distribution", false).await;
    let (status, body) = retry(&app, &manager, &id).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    node.until_scheduled(&s).await;
    let (_, _, page) = common::send(&app, get("/manage", &manager)).await;
    assert!(!page.contains(&form), "no incident is open: {page}");
}
