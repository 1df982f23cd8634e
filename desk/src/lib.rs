//! daftar's web desk: the pages citizens, officers and auditors use in a browser, served by
//! `daftar serve` at `/`, on the same origin as the API.
//!
//! - Server-rendered HTML ([`render`]), Persian first and right to left, with an English
//!   switch ([`i18n`]); templates, the Vazirmatn font and the one script library (htmx, for the
//!   live timeline only) are embedded in the binary ([`assets`]): no front-end build.
//! - A session is the agency's own token, checked with the API's keys
//!   ([`daftar_api::auth::Keys`]) on every page and kept in an `HttpOnly`,
//!   `SameSite=Strict` cookie; every form carries a CSRF token tied to the session
//!   ([`session`]). Every page sends a Content-Security-Policy with no inline script.
//! - Pages call the API's own handlers and access rules ([`daftar_api::views::may_read`],
//!   [`daftar_api::lookup`]) and the engine, never HTTP to themselves, so the desk shows a
//!   caller exactly what the API would give them.
//!
//! The pages: [`citizen`] (catalog, form, filing and waiting, the request's live timeline,
//! tracking by code and mobile) and [`staff`] (the officer's worklist and tasks, the
//! request's record with evidence and history, the auditor's state at a version and
//! verification), [`designer`] (definitions, pictures, diffs, the editor and deploy) and
//! [`manager`] (per service figures, open incidents with retry, officers' load).

pub mod assets;
pub mod citizen;
pub mod designer;
pub mod i18n;
pub mod manager;
pub mod render;
pub mod session;
pub mod staff;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use daftar_api::AppState;

/// The pages' Content-Security-Policy: nothing but this origin, no inline script or style.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                       img-src 'self' data:; font-src 'self'; connect-src 'self'; \
                       frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// How to build the desk.
#[derive(Debug, Clone)]
pub struct Config {
    /// The API's state: the engine, the token keys, the rate limits.
    pub api: AppState,
    /// With `serve --demo`: the one-click sign-ins.
    pub demo: Option<Demo>,
    /// Whether the session cookie is marked `Secure` (the server is reached over HTTPS).
    pub secure_cookies: bool,
    /// The address the public reaches this server at, for the verification URL a document's QR
    /// code encodes; without one, the address each visitor reached.
    pub public_url: Option<String>,
    /// The secret the forms' CSRF tokens are made with, the same on every node behind one
    /// address, so that a form drawn by one node (or before a restart) is taken by another;
    /// without one, a key is drawn when the process starts.
    pub form_secret: Option<String>,
}

/// The demo's one-click sign-ins: who they are and the task roles of each agency.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The agency the citizen, officer, designer, auditor and manager belong to.
    pub agency: String,
    /// Every agency's task roles, so that a demo officer holds all of their agency's.
    pub task_roles: BTreeMap<String, Vec<String>>,
}

/// What every page shares; cheap to clone.
#[derive(Debug, Clone)]
pub struct Desk {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    csrf_key: [u8; 32],
}

impl Desk {
    /// The API's state.
    pub fn api(&self) -> &AppState {
        &self.inner.config.api
    }

    /// The demo's sign-ins, with `serve --demo`.
    pub fn demo(&self) -> Option<&Demo> {
        self.inner.config.demo.as_ref()
    }

    pub(crate) fn csrf_key(&self) -> &[u8; 32] {
        &self.inner.csrf_key
    }

    pub(crate) fn public_url(&self) -> Option<&str> {
        self.inner.config.public_url.as_deref()
    }

    pub(crate) fn secure_cookies(&self) -> bool {
        self.inner.config.secure_cookies
    }
}

/// The desk's routes, to merge with the API's router at `/`.
pub fn router(config: Config) -> Router {
    let desk = Desk {
        inner: Arc::new(Inner {
            // Without a shared secret, a key per process: a form rendered before a restart, or
            // by another node, must be sent again.
            csrf_key: config
                .form_secret
                .as_deref()
                .map_or_else(rand::random, |secret| {
                    use sha2::Digest as _;
                    sha2::Sha256::new()
                        .chain_update(b"daftar-desk-csrf\0")
                        .chain_update(secret.as_bytes())
                        .finalize()
                        .into()
                }),
            config,
        }),
    };
    Router::new()
        .merge(session::routes())
        .merge(citizen::routes())
        .merge(staff::routes())
        .merge(designer::routes())
        .merge(manager::routes())
        .layer(axum::middleware::from_fn_with_state(
            desk.clone(),
            session::visit,
        ))
        .merge(assets::routes())
        .layer(axum::middleware::map_response(security_headers))
        .with_state(desk)
}

/// The headers every page of the desk carries.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    // A page that holds an inline picture sets its own policy, allowing that picture's style.
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
