//! `GET /tasks`: the tasks of the officer's task roles, as the API's worklist gives them
//! (earliest deadline first, [`PAGE`] a page, paged through the store by cursor), each with
//! its due time, a countdown and its escalations.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use daftar_api::auth::Role;
use daftar_api::routes::tasks::{WorklistParams, worklist};
use minijinja::context;
use serde::Deserialize;

use crate::Desk;
use crate::i18n::{Lang, digits};
use crate::render::{self, DeskError};
use crate::session::Visit;

/// How many tasks a page holds, unless the address says otherwise.
pub const PAGE: u32 = 25;

/// The worklist's filters and page.
#[derive(Debug, Deserialize)]
pub struct Filter {
    /// Only the tasks the officer claimed.
    pub mine: Option<bool>,
    /// Tasks a page (1 to 1000, as the API allows).
    pub limit: Option<u32>,
    /// The page after this cursor.
    pub after: Option<String>,
    /// The page before this cursor.
    pub before: Option<String>,
}

/// The worklist page.
pub async fn page(
    State(desk): State<Desk>,
    Extension(visit): Extension<Visit>,
    Query(filter): Query<Filter>,
) -> Result<Response, DeskError> {
    let who = visit.with_role(&[Role::Officer])?;
    let axum::Json(list) = worklist(
        State(desk.api().clone()),
        who.clone(),
        Ok(Query(WorklistParams {
            mine: filter.mine,
            role: None,
            limit: Some(filter.limit.unwrap_or(PAGE)),
            after: filter.after.clone(),
            before: filter.before.clone(),
        })),
    )
    .await?;
    let now = desk.api().engine().now();
    let rows: Vec<minijinja::Value> = list
        .items
        .iter()
        .map(|t| {
            context! {
                task => render::value(t),
                left => countdown(visit.lang, t.due_at, now),
            }
        })
        .collect();
    // Every link keeps the filter and the page size.
    let mine = filter.mine.unwrap_or(false);
    let href = |cursor: Option<(&str, &str)>| {
        let mut q = Vec::new();
        if mine {
            q.push("mine=true".to_owned());
        }
        if let Some(n) = filter.limit {
            q.push(format!("limit={n}"));
        }
        if let Some((name, c)) = cursor {
            q.push(format!("{name}={c}"));
        }
        if q.is_empty() {
            "/tasks".to_owned()
        } else {
            format!("/tasks?{}", q.join("&"))
        }
    };
    let paged = filter.after.is_some() || filter.before.is_some();
    Ok(render::page(
        &visit,
        StatusCode::OK,
        "worklist.html",
        context! {
            tasks => rows,
            mine => mine,
            next => list.next.as_deref().map(|c| href(Some(("after", c)))),
            previous => list.previous.as_deref().map(|c| href(Some(("before", c)))),
            first => paged.then(|| href(None)),
        },
    ))
}

/// How long until `due` (or how long past it), in hours and minutes, in `lang`.
pub fn countdown(lang: Lang, due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (due - now).num_minutes();
    let m = minutes.unsigned_abs();
    let (d, h, min) = (m / 1440, (m % 1440) / 60, m % 60);
    let text = match lang {
        Lang::Fa => {
            let amount = if d > 0 {
                format!("{d} روز و {h} ساعت")
            } else {
                format!("{h} ساعت و {min} دقیقه")
            };
            if minutes >= 0 {
                format!("{amount} مانده")
            } else {
                format!("{amount} گذشته")
            }
        }
        Lang::En => {
            let amount = if d > 0 {
                format!("{d} d {h} h")
            } else {
                format!("{h} h {min} min")
            };
            if minutes >= 0 {
                format!("{amount} left")
            } else {
                format!("{amount} overdue")
            }
        }
    };
    digits(lang, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_countdown_says_what_is_left_or_how_late() {
        let now: DateTime<Utc> = "2026-04-01T08:00:00Z".parse().unwrap();
        let later: DateTime<Utc> = "2026-04-03T11:30:00Z".parse().unwrap();
        assert_eq!(countdown(Lang::En, later, now), "2 d 3 h left");
        assert_eq!(countdown(Lang::En, now, later), "2 d 3 h overdue");
        let soon: DateTime<Utc> = "2026-04-01T09:05:00Z".parse().unwrap();
        assert_eq!(countdown(Lang::Fa, soon, now), "۱ ساعت و ۵ دقیقه مانده");
    }
}
