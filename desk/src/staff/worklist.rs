//! `GET /tasks`: the tasks of the officer's task roles, as the API's worklist gives them
//! (earliest deadline first, at most 200 a page), each with its due time, a countdown and
//! its escalations.

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

/// The worklist's filters.
#[derive(Debug, Deserialize)]
pub struct Filter {
    /// Only the tasks the officer claimed.
    pub mine: Option<bool>,
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
            limit: None,
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
    Ok(render::page(
        &visit,
        StatusCode::OK,
        "worklist.html",
        context! { tasks => rows, truncated => list.truncated, mine => filter.mine.unwrap_or(false) },
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
