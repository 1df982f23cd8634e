//! Sessions: who is at the desk, in which language, and the CSRF token of their forms.
//!
//! A session is the agency's own token (the same RS256 or HS256 token the API takes as a
//! bearer token), kept in an `HttpOnly`, `SameSite=Strict` cookie and checked with the API's
//! keys on every page: an expired or forged token is no session. The desk holds no session
//! table, so a node restart or a second node changes nothing for the person signed in.
//!
//! Every visitor also gets a random visit id (a cookie too). The CSRF token of a form is an
//! HMAC of the visit id and the session's token under a key of this process: a page of
//! another site cannot read it, and signing in or out changes it.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine as _;
use daftar_api::auth::{Principal, Role};
use hmac::{KeyInit, Mac};
use serde::Deserialize;

use crate::Desk;
use crate::i18n::Lang;
use crate::render::{self, DeskError};

/// The cookie that holds the session's token.
pub const SESSION_COOKIE: &str = "daftar_session";
/// The cookie that holds the visit id.
pub const VISIT_COOKIE: &str = "daftar_visit";
/// The cookie that holds the chosen language.
pub const LANG_COOKIE: &str = "daftar_lang";

/// How long a demo sign-in lasts.
const DEMO_TTL_SECS: u64 = 8 * 3600;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Who is at the desk: read from the cookies by [`visit`] before every page.
#[derive(Clone, Debug)]
pub struct Visit {
    /// The visit id.
    pub id: String,
    /// The language of the pages.
    pub lang: Lang,
    /// The signed-in caller, if any.
    pub who: Option<Principal>,
    token: Option<String>,
    csrf_key: [u8; 32],
    /// The path and query of the page, for the language switch.
    pub path: String,
}

impl Visit {
    /// The CSRF token of this visit's forms.
    pub fn csrf(&self) -> String {
        let mac = self.mac().finalize().into_bytes();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
    }

    /// Refuses a form whose CSRF token is not this visit's.
    pub fn check_csrf(&self, given: &str) -> Result<(), DeskError> {
        let given = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(given.trim())
            .unwrap_or_default();
        self.mac().verify_slice(&given).map_err(|_| {
            DeskError::new(
                StatusCode::FORBIDDEN,
                "این فرم کهنه است یا از جای دیگری آمده است؛ صفحه را دوباره باز کنید و بفرستید.",
                "This form is stale or came from elsewhere; open the page again and resend it.",
            )
        })
    }

    fn mac(&self) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.csrf_key).expect("any key length");
        mac.update(self.id.as_bytes());
        mac.update(&[0]);
        mac.update(self.token.as_deref().unwrap_or("").as_bytes());
        mac
    }

    /// The signed-in caller, or a redirect to the sign-in page.
    pub fn signed_in(&self) -> Result<&Principal, DeskError> {
        self.who.as_ref().ok_or_else(DeskError::sign_in)
    }

    /// The signed-in caller if they have one of `roles` (as the API's
    /// [`Principal::require`] decides), else 403.
    pub fn with_role(&self, roles: &[Role]) -> Result<&Principal, DeskError> {
        let who = self.signed_in()?;
        who.require(roles).map_err(DeskError::from)?;
        Ok(who)
    }
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// Reads the cookies into a [`Visit`] for the page, sets the cookies that changed, and turns
/// a [`DeskError`] the page answered into an error page in the visitor's language.
pub async fn visit(
    State(desk): State<Desk>,
    jar: CookieJar,
    mut req: Request,
    next: Next,
) -> Response {
    let mut jar_out = CookieJar::new();
    let id = match jar.get(VISIT_COOKIE).map(Cookie::value) {
        Some(id) if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) => id.to_owned(),
        _ => {
            let id = hex(&rand::random::<[u8; 16]>());
            jar_out = jar_out.add(cookie(&desk, VISIT_COOKIE, id.clone()));
            id
        }
    };
    let asked = axum::extract::Query::<LangQuery>::try_from_uri(req.uri())
        .ok()
        .and_then(|q| q.0.lang)
        .and_then(|l| Lang::parse(&l));
    let lang = match asked {
        Some(lang) => {
            jar_out = jar_out.add(cookie(&desk, LANG_COOKIE, lang.code().to_owned()));
            lang
        }
        None => jar
            .get(LANG_COOKIE)
            .and_then(|c| Lang::parse(c.value()))
            .unwrap_or_default(),
    };
    let (who, token) = match jar.get(SESSION_COOKIE).map(Cookie::value) {
        Some(token) => match desk.api().keys().verify(token) {
            Ok(p) => (Some(p), Some(token.to_owned())),
            Err(_) => {
                jar_out = jar_out.add(removal(&desk));
                (None, None)
            }
        },
        None => (None, None),
    };
    let path = req
        .uri()
        .path_and_query()
        .map_or("/".to_owned(), |p| p.as_str().to_owned());
    let visit = Visit {
        id,
        lang,
        who,
        token,
        csrf_key: *desk.csrf_key(),
        path,
    };
    req.extensions_mut().insert(visit.clone());
    let response = next.run(req).await;
    let response = match response.extensions().get::<DeskError>().cloned() {
        Some(e) => render::error_page(&visit, &e),
        None => response,
    };
    (jar_out, response).into_response()
}

fn cookie(desk: &Desk, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(desk.secure_cookies())
        .build()
}

/// The cookie that ends the session (empty, expired).
fn removal(desk: &Desk) -> Cookie<'static> {
    let mut c = cookie(desk, SESSION_COOKIE, String::new());
    c.make_removal();
    c
}

/// The routes of signing in and out.
pub fn routes() -> Router<Desk> {
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
}

/// Where each role starts.
fn start_page(who: &Principal) -> &'static str {
    if who.roles.contains(&Role::Admin) {
        "/manage"
    } else if who.has(Role::Officer) {
        "/tasks"
    } else if who.has(Role::Auditor) {
        "/requests"
    } else if who.has(Role::Designer) {
        "/designer"
    } else {
        "/services"
    }
}

async fn home(State(desk): State<Desk>, Extension(visit): Extension<Visit>) -> Response {
    match &visit.who {
        Some(who) => Redirect::to(start_page(who)).into_response(),
        None => sign_in_page(State(desk), Extension(visit)).await,
    }
}

/// One demo sign-in button.
#[derive(Debug, serde::Serialize)]
pub(crate) struct DemoLoginView {
    agency: String,
    role: &'static str,
    fa: &'static str,
    en: &'static str,
}

async fn sign_in_page(State(desk): State<Desk>, Extension(visit): Extension<Visit>) -> Response {
    render::page(
        &visit,
        StatusCode::OK,
        "sign_in.html",
        minijinja::context! { demo => crate::render::value(demo_logins(&desk)) },
    )
}

/// The sign-in form: a token, or one of the demo's people.
#[derive(Debug, Deserialize)]
pub struct SignIn {
    csrf: String,
    token: Option<String>,
    demo: Option<String>,
    agency: Option<String>,
}

async fn sign_in(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    jar: CookieJar,
    Form(form): Form<SignIn>,
) -> Result<Response, DeskError> {
    visit.check_csrf(&form.csrf)?;
    let token = match (&form.token, &form.demo) {
        (Some(token), _) if !token.trim().is_empty() => token.trim().to_owned(),
        (_, Some(role)) => demo_token(&desk, role, form.agency.as_deref())?,
        _ => {
            return Err(DeskError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "توکن ورود را وارد کنید.",
                "Paste your sign-in token.",
            ));
        }
    };
    let who = desk.api().keys().verify(&token).map_err(|e| {
        DeskError::new(
            StatusCode::UNAUTHORIZED,
            "این توکن پذیرفته نشد.",
            "This token was not accepted.",
        )
        .detail(e.detail)
    })?;
    let jar = jar.add(cookie(&desk, SESSION_COOKIE, token));
    Ok((jar, Redirect::to(start_page(&who))).into_response())
}

/// A token for one of the demo's people; only with `serve --demo`.
fn demo_token(desk: &Desk, role: &str, agency: Option<&str>) -> Result<String, DeskError> {
    let Some(demo) = desk.demo() else {
        return Err(DeskError::not_found());
    };
    let agency = agency.unwrap_or(&demo.agency);
    let Some(agency_roles) = demo.task_roles.get(agency) else {
        return Err(DeskError::not_found());
    };
    // The manager is the agency's administrator: the API has no narrower role for it.
    let (role, task_roles) = match role {
        "manager" => (Role::Admin, Vec::new()),
        "officer" => (Role::Officer, agency_roles.clone()),
        other => (
            Role::parse(other).ok_or_else(DeskError::not_found)?,
            Vec::new(),
        ),
    };
    desk.api()
        .keys()
        .mint(
            &format!("demo-{role}-{agency}"),
            agency,
            vec![role],
            task_roles,
            DEMO_TTL_SECS,
        )
        .map_err(|e| {
            DeskError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ورود نمایشی با این کلید ممکن نیست.",
                "The demo cannot sign in with this key.",
            )
            .detail(e)
        })
}

/// The demo's sign-in buttons, for the sign-in page.
fn demo_logins(desk: &Desk) -> Vec<DemoLoginView> {
    let Some(demo) = desk.demo() else {
        return Vec::new();
    };
    let mut out: Vec<DemoLoginView> = [
        ("citizen", "شهروند", "Citizen"),
        ("officer", "کارشناس", "Officer"),
        ("designer", "طراح فرایند", "Designer"),
        ("auditor", "حسابرس", "Auditor"),
        ("manager", "مدیر", "Manager"),
    ]
    .into_iter()
    .map(|(role, fa, en)| DemoLoginView {
        agency: demo.agency.clone(),
        role,
        fa,
        en,
    })
    .collect();
    for agency in demo.task_roles.keys().filter(|a| **a != demo.agency) {
        for (role, fa, en) in [
            ("citizen", "شهروند", "Citizen"),
            ("officer", "کارشناس", "Officer"),
        ] {
            out.push(DemoLoginView {
                agency: agency.clone(),
                role,
                fa,
                en,
            });
        }
    }
    out
}

#[derive(Debug, Deserialize)]
struct SignOut {
    csrf: String,
}

async fn sign_out(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    jar: CookieJar,
    Form(form): Form<SignOut>,
) -> Result<Response, DeskError> {
    visit.check_csrf(&form.csrf)?;
    Ok((jar.add(removal(&desk)), Redirect::to("/")).into_response())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
