//! What the desk's tests share: the desk's router over a harness's API, and a visitor's
//! requests to it with no socket.

#![allow(dead_code)] // each test file uses its own part of it

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use daftar_api::AppState;
use daftar_testkit::router::Harness;
use tower::ServiceExt;

/// The desk over `h`'s API, as `daftar serve` builds it (no demo, cookies without `Secure`),
/// with `public_url` for the links printed on documents.
pub fn desk(h: &Harness, public_url: Option<&str>) -> Router {
    desk_with_secret(h, public_url, None)
}

/// [`desk`] with the secret its forms' tokens are made with.
pub fn desk_with_secret(h: &Harness, public_url: Option<&str>, secret: Option<&str>) -> Router {
    desk_over(h.state.clone(), public_url, secret)
}

/// The desk over an API's state.
pub fn desk_over(api: AppState, public_url: Option<&str>, secret: Option<&str>) -> Router {
    daftar_desk::router(daftar_desk::Config {
        api,
        demo: None,
        secure_cookies: false,
        public_url: public_url.map(str::to_owned),
        form_secret: secret.map(str::to_owned),
    })
}

/// Sends a request to the desk: its status, headers and body.
pub async fn send(app: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let body = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// The `name=value` of each cookie a response sets.
pub fn cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect()
}

/// A visit signed in with `token`: the cookies to send (the visit's, and the session's, which
/// is the token itself).
pub async fn signed_in(app: &Router, token: &str) -> String {
    let (_, headers, _) = send(app, Request::get("/").body(Body::empty()).unwrap()).await;
    let visit = cookies(&headers)
        .into_iter()
        .find(|c| c.starts_with("daftar_visit="))
        .expect("a visit cookie");
    format!("{visit}; daftar_session={token}")
}

/// A GET with these cookies.
pub fn get(path: &str, jar: &str) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, jar)
        .body(Body::empty())
        .unwrap()
}

/// A form POST with these cookies.
pub fn form(path: &str, jar: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header(header::COOKIE, jar)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

/// The CSRF token of the page's first form.
pub fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with its CSRF token")
        + 19;
    page[at..].split('"').next().unwrap().to_owned()
}
