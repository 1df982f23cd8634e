//! The desk's sessions and headers, through its router with no socket: every page carries the
//! Content-Security-Policy; the session cookie is `HttpOnly` and `SameSite=Strict`; a form
//! without the session's CSRF token is refused; a forged or expired token is no session.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{csrf_of, form};
use daftar_api::auth::Role;
use daftar_testkit::router::Harness;

/// The status, every `Set-Cookie` whole (its attributes are what is tested), the
/// Content-Security-Policy and the body.
async fn send(app: &Router, req: Request<Body>) -> (StatusCode, Vec<String>, String, String) {
    let (status, headers, body) = common::send(app, req).await;
    let cookies = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let csp = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, cookies, csp, body)
}

fn pair(cookie: &str) -> &str {
    cookie.split(';').next().unwrap()
}

#[tokio::test]
async fn a_session_is_a_strict_http_only_cookie_and_every_form_needs_its_csrf_token() {
    let h = Harness::new().await;
    let app = common::desk(&h, None);
    let (status, cookies, csp, page) =
        send(&app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let visit = cookies
        .iter()
        .find(|c| c.starts_with("daftar_visit="))
        .unwrap();
    assert!(
        visit.contains("HttpOnly") && visit.contains("SameSite=Strict"),
        "{visit}"
    );
    let csrf = csrf_of(&page);
    let token = h.token("judiciary", &[Role::Citizen], &[]);

    // Without the token of the form, or with another visit's, signing in is refused.
    let (status, ..) = send(
        &app,
        form(
            "/sign-in",
            pair(visit),
            format!("csrf=forged&token={token}"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, ..) = send(
        &app,
        form(
            "/sign-in",
            "daftar_visit=00000000000000000000000000000000",
            format!("csrf={csrf}&token={token}"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, cookies, ..) = send(
        &app,
        form(
            "/sign-in",
            pair(visit),
            format!("csrf={csrf}&token={token}"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("daftar_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    let jar = format!("{}; {}", pair(visit), pair(session));

    let get = |uri: &str, jar: &str| {
        Request::get(uri)
            .header(header::COOKIE, jar)
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, csp, page) = send(&app, get("/services/clean-record-certificate", &jar)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(csp.contains("default-src 'self'"));
    // The form's token is the session's: the sign-in page's no longer serves.
    let signed_in_csrf = csrf_of(&page);
    assert_ne!(signed_in_csrf, csrf);
    let filing =
        "national_id=0499370899&mobile=09121234567&birth_date=1990-01-01&purpose=employment";
    let (status, ..) = send(
        &app,
        form(
            "/services/clean-record-certificate",
            &jar,
            format!("csrf={csrf}&{filing}"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, ..) = send(
        &app,
        form(
            "/services/clean-record-certificate",
            &jar,
            format!("csrf={signed_in_csrf}&{filing}"),
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "filed with the session's token"
    );

    // A forged token is no session.
    let forged = format!("{}; daftar_session={}x", pair(visit), &token);
    let (status, cookies, _, page) = send(&app, get("/services", &forged)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("/sign-in"));
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("daftar_session=;") && c.contains("Max-Age=0")),
        "the forged session is forgotten: {cookies:?}"
    );
}

/// Two nodes behind one address: a form one drew is taken by the other when both have the same
/// form secret, and refused when each drew its own key.
#[tokio::test]
async fn a_form_drawn_by_one_node_is_taken_by_another_with_the_same_secret() {
    let h = Harness::new().await;
    let secret = "a-desk-secret-of-at-least-thirty-two-characters";
    let sign_in = |app: Router| async move {
        let (_, cookies, _, page) =
            send(&app, Request::get("/").body(Body::empty()).unwrap()).await;
        let visit = cookies
            .iter()
            .find(|c| c.starts_with("daftar_visit="))
            .unwrap()
            .clone();
        (pair(&visit).to_owned(), csrf_of(&page))
    };
    let token = h.token("judiciary", &[Role::Citizen], &[]);
    for (other, expected) in [
        (Some(secret), StatusCode::SEE_OTHER),
        (None, StatusCode::FORBIDDEN),
    ] {
        let (visit, csrf) = sign_in(common::desk_with_secret(&h, None, Some(secret))).await;
        let b = common::desk_with_secret(&h, None, other);
        let (status, ..) = send(
            &b,
            form("/sign-in", &visit, format!("csrf={csrf}&token={token}")),
        )
        .await;
        assert_eq!(status, expected, "the other node with {other:?}");
    }
}
