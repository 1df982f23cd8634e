//! A manager retries an incident from the desk, through its router over a node whose agency is
//! down (the simulator, over real HTTP): the manager's page lists the open incident with its
//! retry form; another agency's admin and an officer cannot retry it; once the agency is back,
//! the form retries it, the request goes on, and the page lists no incident.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use daftar_api::auth::Role;
use daftar_testkit::e2e::{Node, token_keys};
use tower::ServiceExt;

const AGENCY: &str = "power-distribution";

fn desk(node: &Node) -> Router {
    let api = daftar_api::AppState::new(daftar_api::Config::new(node.engine.clone(), token_keys()));
    daftar_desk::router(daftar_desk::Config {
        api,
        demo: None,
        secure_cookies: false,
        public_url: None,
        form_secret: None,
    })
}

/// A visit signed in with `token`: its cookies.
async fn visit(app: &Router, token: &str) -> String {
    let res = app
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let visit = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("daftar_visit="))
        .unwrap();
    format!(
        "{}; daftar_session={token}",
        visit.split(';').next().unwrap()
    )
}

async fn call(app: &Router, req: Request<Body>) -> (StatusCode, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn get(path: &str, cookies: &str) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, cookies)
        .body(Body::empty())
        .unwrap()
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a form") + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

/// Sends the retry form of incident `id` with the CSRF token of the visit's manager page.
async fn retry(app: &Router, cookies: &str, id: &str) -> (StatusCode, String) {
    let (_, page) = call(app, get("/manage", cookies)).await;
    let csrf = csrf_of(&page);
    let req = Request::post(format!("/manage/incidents/{id}/retry"))
        .header(header::COOKIE, cookies)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf={csrf}")))
        .unwrap();
    call(app, req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_retries_an_incident_from_the_desk_once_the_agency_is_back() {
    let node = Node::new().await;
    let app = desk(&node);
    node.set_down("electricity_distribution", true).await;
    let s = node.start_connection().await;
    let (incident, _) = node.incident(&s).await;
    let id = format!("{}:{incident}", s.instance);

    let manager = visit(&app, &node.token("admin-1", AGENCY, Role::Admin)).await;
    let (status, page) = call(&app, get("/manage", &manager)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let form = format!("action=\"/manage/incidents/{id}/retry\"");
    assert!(
        page.contains(&form),
        "the incident with its retry form: {page}"
    );

    // Another agency's admin does not see it and cannot retry it; an officer may not.
    let stranger = visit(&app, &node.token("admin-1", "municipality", Role::Admin)).await;
    let (_, theirs) = call(&app, get("/manage", &stranger)).await;
    assert!(!theirs.contains(&id), "{theirs}");
    assert_eq!(retry(&app, &stranger, &id).await.0, StatusCode::NOT_FOUND);
    let officer = visit(&app, &node.token("officer-1", AGENCY, Role::Officer)).await;
    assert_eq!(retry(&app, &officer, &id).await.0, StatusCode::FORBIDDEN);

    node.set_down("electricity_distribution", false).await;
    let (status, body) = retry(&app, &manager, &id).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    node.until_scheduled(&s).await;
    let (_, page) = call(&app, get("/manage", &manager)).await;
    assert!(!page.contains(&form), "no incident is open: {page}");
}
