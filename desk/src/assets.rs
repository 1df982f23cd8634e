//! The files the pages load, built into the binary: the style sheet, the Vazirmatn font
//! (regular and bold, from its npm package, with its SIL Open Font License) so that Persian
//! renders on a machine with no fonts installed, and htmx with its Server-Sent Events
//! extension (from npm, unmodified), which keeps a request's timeline live. Nothing else is
//! script: every page works as plain HTML forms without it.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Every asset: (name, content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "desk.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/desk.css"),
    ),
    (
        "vazirmatn-regular.woff2",
        "font/woff2",
        include_bytes!("../assets/fonts/Vazirmatn-Regular.woff2"),
    ),
    (
        "vazirmatn-bold.woff2",
        "font/woff2",
        include_bytes!("../assets/fonts/Vazirmatn-Bold.woff2"),
    ),
    (
        "vazirmatn-OFL.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../assets/fonts/OFL.txt"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/htmx.min.js"),
    ),
    (
        "htmx.LICENSE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../assets/htmx.LICENSE.txt"),
    ),
    (
        "htmx-sse.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/htmx-sse.min.js"),
    ),
    (
        "htmx-sse.LICENSE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../assets/htmx-sse.LICENSE.txt"),
    ),
];

/// The route of the assets.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/assets/{name}", get(asset))
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, bytes)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
