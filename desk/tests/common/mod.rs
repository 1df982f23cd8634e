//! What the desk's tests share: the desk's router over a harness's API.

use axum::Router;
use daftar_testkit::router::Harness;

/// The desk over `h`'s API, as `daftar serve` builds it (no demo, cookies without `Secure`),
/// with `public_url` for the links printed on documents.
pub fn desk(h: &Harness, public_url: Option<&str>) -> Router {
    desk_with_secret(h, public_url, None)
}

/// [`desk`] with the secret its forms' tokens are made with.
pub fn desk_with_secret(h: &Harness, public_url: Option<&str>, secret: Option<&str>) -> Router {
    daftar_desk::router(daftar_desk::Config {
        api: h.state.clone(),
        demo: None,
        secure_cookies: false,
        public_url: public_url.map(str::to_owned),
        form_secret: secret.map(str::to_owned),
    })
}
