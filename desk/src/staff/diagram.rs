//! The definition a request runs, drawn as an SVG picture by the definitions crate
//! ([`daftar_definitions::render::svg_marked`]) with the request's path laid over it: the steps
//! it entered, and those it waits at now. The picture is put into the page itself, so that it
//! is drawn with the page's font; its one `<style>` block is allowed by its SHA-256 in the
//! page's Content-Security-Policy, and nothing else inline is.

use axum::http::HeaderValue;
use base64::Engine as _;
use daftar_definitions::render::{Marks, svg_marked};
use daftar_engine::Definition;
use daftar_engine::core::InstanceState;
use daftar_engine::events::{Event, RecordedEvent};
use sha2::{Digest, Sha256};

/// A drawn picture and the Content-Security-Policy that lets its style through.
#[derive(Debug)]
pub struct Diagram {
    /// The `<svg>` element.
    pub svg: String,
    /// The page's policy.
    pub csp: HeaderValue,
}

/// The picture of `def` with the path of the request whose state is `s` and history `events`;
/// `None` when the layout library cannot draw it (the page then goes without).
pub fn draw(def: &Definition, s: &InstanceState, events: &[RecordedEvent]) -> Option<Diagram> {
    let mut marks = Marks::default();
    for e in events {
        if let Event::StepEntered { step, .. } = &e.event {
            marks.ran.insert(step.clone());
        }
    }
    if s.ending.is_none() {
        marks.at = s.tokens.values().map(|t| t.step.clone()).collect();
    }
    match svg_marked(def.compiled(), &marks) {
        Ok(svg) => inline(&svg),
        Err(e) => {
            tracing::warn!(error = %e, "a definition could not be drawn");
            None
        }
    }
}

/// A drawn picture made ready to put into a page, with the policy its style needs.
pub fn inline(svg: &str) -> Option<Diagram> {
    // The XML prolog has no place inside an HTML page.
    let svg = match svg.find("<svg") {
        Some(i) => svg[i..].to_owned(),
        None => return None,
    };
    let mut styles = String::new();
    let mut rest = svg.as_str();
    while let Some(open) = rest.find("<style>") {
        let body = &rest[open + "<style>".len()..];
        let Some(close) = body.find("</style>") else {
            break;
        };
        let digest = Sha256::digest(&body.as_bytes()[..close]);
        styles.push_str(&format!(
            " 'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        ));
        rest = &body[close..];
    }
    let csp = crate::CSP.replace("style-src 'self'", &format!("style-src 'self'{styles}"));
    Some(Diagram {
        svg,
        csp: HeaderValue::from_str(&csp).ok()?,
    })
}
