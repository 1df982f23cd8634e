//! Pages: the templates built into the binary (minijinja, autoescaped HTML), the context every
//! page shares, and the error page.

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use daftar_api::problem::ApiError;
use minijinja::{AutoEscape, Environment, Value, context};

use crate::session::Visit;

/// The templates named, each with its text from `templates/`.
macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = templates![
    "base.html",
    "macros.html",
    "sign_in.html",
    "error.html",
    "catalog.html",
    "service.html",
    "request.html",
    "timeline.html",
    "track.html",
    "document.html",
    "receipt.html",
    "document_verify.html",
    "worklist.html",
    "task.html",
    "record.html",
    "requests.html",
    "verify.html",
    "designer.html",
    "editor.html",
    "diagnostics.html",
    "error_code.html",
    "version.html",
    "diff.html",
    "manage.html",
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    daftar_engine::templates::register(&mut env);
    crate::i18n::register(&mut env);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("the desk's template {name} does not parse: {e}"));
    }
    env
});

/// Renders `template` with `ctx` and what every page has: the language, the signed-in caller,
/// the CSRF token, the path for the language switch.
pub fn page(visit: &Visit, status: StatusCode, template: &str, ctx: Value) -> Response {
    match render(visit, template, ctx) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, template, "a desk page did not render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be drawn",
            )
                .into_response()
        }
    }
}

/// Renders a template to text, for a page or a fragment sent live.
pub fn render(visit: &Visit, template: &str, ctx: Value) -> Result<String, minijinja::Error> {
    let who = visit.who.as_ref().map(|p| {
        context! {
            subject => p.subject.clone(),
            agency => p.agency.clone(),
            roles => p.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        }
    });
    let (path, query) = visit.path.split_once('?').unwrap_or((&visit.path, ""));
    // The switch keeps the page's own query, less its language.
    let keep: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("lang="))
        .collect();
    let switch = |lang: &str| {
        let mut q = keep.clone();
        let l = format!("lang={lang}");
        q.push(&l);
        format!("{path}?{}", q.join("&"))
    };
    let base = context! {
        lang => visit.lang.code(),
        dir => visit.lang.dir(),
        csrf => visit.csrf(),
        who => who,
        to_fa => switch("fa"),
        to_en => switch("en"),
    };
    ENV.get_template(template)?
        .render(context! { ..ctx, ..base })
}

/// An error a page answers with, drawn as a page in the visitor's language by
/// [`crate::session::visit`].
#[derive(Clone, Debug)]
pub struct DeskError {
    /// The status.
    pub status: StatusCode,
    /// The Persian text.
    pub fa: String,
    /// The English text.
    pub en: String,
    /// What the API said, when it said more.
    pub detail: Option<String>,
}

impl DeskError {
    /// An error with its texts.
    pub fn new(status: StatusCode, fa: &str, en: &str) -> DeskError {
        DeskError {
            status,
            fa: fa.to_owned(),
            en: en.to_owned(),
            detail: None,
        }
    }

    /// The same error, with what the API said.
    pub fn detail(mut self, detail: impl Into<String>) -> DeskError {
        self.detail = Some(detail.into());
        self
    }

    /// 404 with nothing about what was asked: the same for what does not exist and for what
    /// is another agency's or another citizen's.
    pub fn not_found() -> DeskError {
        DeskError::new(
            StatusCode::NOT_FOUND,
            "چنین صفحه‌ای نیست.",
            "There is no such page.",
        )
    }

    /// 401: sign in first.
    pub fn sign_in() -> DeskError {
        DeskError::new(
            StatusCode::UNAUTHORIZED,
            "برای دیدن این صفحه وارد شوید.",
            "Sign in to see this page.",
        )
    }
}

impl From<ApiError> for DeskError {
    fn from(e: ApiError) -> DeskError {
        let base = match e.status {
            StatusCode::NOT_FOUND => DeskError::not_found(),
            StatusCode::UNAUTHORIZED => DeskError::sign_in(),
            StatusCode::FORBIDDEN => DeskError::new(
                e.status,
                "نقش شما اجازهٔ این کار را نمی‌دهد.",
                "Your role does not allow this.",
            ),
            StatusCode::TOO_MANY_REQUESTS => DeskError::new(
                e.status,
                "درخواست‌های زیادی فرستاده شده است؛ کمی بعد دوباره تلاش کنید.",
                "Too many requests were sent; try again a little later.",
            ),
            status if status.is_server_error() => DeskError::new(
                status,
                "سامانه اکنون پاسخ نمی‌دهد؛ کمی بعد دوباره تلاش کنید.",
                "The service is not answering right now; try again shortly.",
            ),
            status => DeskError::new(status, "این کار انجام نشد.", "This could not be done."),
        };
        // A 404's detail names what was asked: it is not repeated.
        if e.status == StatusCode::NOT_FOUND || e.status.is_server_error() {
            base
        } else {
            base.detail(e.detail)
        }
    }
}

impl IntoResponse for DeskError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut response = (status, self.en.clone()).into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// The error page of `e` for `visit`.
pub fn error_page(visit: &Visit, e: &DeskError) -> Response {
    page(
        visit,
        e.status,
        "error.html",
        context! {
            status => e.status.as_u16(),
            message => visit.lang.pick(&e.fa, &e.en),
            detail => e.detail.clone(),
            sign_in => e.status == StatusCode::UNAUTHORIZED,
        },
    )
}

/// A serializable value for a template's context.
pub fn value<T: serde::Serialize>(v: T) -> Value {
    Value::from(minijinja::value::Serde(v))
}

#[cfg(test)]
mod tests {
    /// A template written but not listed is found missing only when its page is first drawn.
    #[test]
    fn every_template_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".html") {
                assert!(
                    super::TEMPLATES.iter().any(|(n, _)| *n == name),
                    "templates/{name} is not in TEMPLATES"
                );
            }
        }
    }
}
