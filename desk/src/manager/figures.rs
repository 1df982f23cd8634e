//! The manager's figures per service, from the store's counts by service and state
//! ([`ReadModels::service_counts`](daftar_engine::store::ReadModels::service_counts)) over a
//! period: this Jalali month in Tehran unless the manager asks for every request. Counting
//! every request the agency ever had grows with the store; a month is what a service report
//! covers, and what keeps the page's cost bounded (docs/console.md).

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveTime, TimeZone, Utc};
use chrono_tz::Asia::Tehran;
use daftar_engine::store::{RUNNING, ServiceCount};
use daftar_engine::templates::jalali_date;
use serde::Serialize;

/// The state of a cancelled request.
const CANCELLED: &str = "cancelled";

/// The start of the Jalali month `now` falls in, at midnight in Tehran.
pub fn month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.with_timezone(&Tehran).date_naive();
    let day: u64 = jalali_date(&today.format("%Y-%m-%d").to_string())
        .ok()
        .and_then(|d| d.rsplit('/').next().and_then(|d| d.parse().ok()))
        .unwrap_or(1);
    let first = today
        .checked_sub_days(Days::new(day.saturating_sub(1)))
        .unwrap_or(today);
    Tehran
        .from_local_datetime(&first.and_time(NaiveTime::MIN))
        .earliest()
        .map_or(now, |t| t.with_timezone(&Utc))
}

/// One service's row on the manager's page.
#[derive(Debug, Default, Serialize)]
pub struct Row {
    /// The service.
    pub service: String,
    /// Requests filed in the period.
    pub filed: u64,
    /// Of those, still running.
    pub running: u64,
    /// Ended, by outcome (cancelled apart).
    pub outcomes: BTreeMap<String, u64>,
    /// Cancelled.
    pub cancelled: u64,
    /// Ended with an outcome and no human task, over those ended with an outcome, in percent.
    pub smart_percent: Option<u64>,
    /// Whose SLA passed.
    pub sla_breaches: u64,
    /// With an open incident.
    pub with_incidents: u64,
}

/// The rows of the services, by id, from the store's counts.
pub fn rows(counts: &[ServiceCount]) -> Vec<Row> {
    let mut by: BTreeMap<&str, (Row, u64, u64)> = BTreeMap::new();
    for c in counts {
        let (row, ended, smart) = by.entry(&c.workflow).or_default();
        row.filed += c.requests;
        row.sla_breaches += c.sla_breaches;
        row.with_incidents += c.with_incidents;
        match c.state.as_str() {
            RUNNING => row.running += c.requests,
            CANCELLED => row.cancelled += c.requests,
            outcome => {
                *row.outcomes.entry(outcome.to_owned()).or_default() += c.requests;
                *ended += c.requests;
                *smart += c.requests.saturating_sub(c.human);
            }
        }
    }
    by.into_iter()
        .map(|(service, (mut row, ended, smart))| {
            row.service = service.to_owned();
            row.smart_percent = (ended > 0).then(|| (smart * 100 + ended / 2) / ended);
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_starts_on_the_first_of_the_jalali_month_in_tehran() {
        // 2026-12-04 is 13 Azar 1405; 1 Azar was 2026-11-22, whose midnight in Tehran
        // (UTC+3:30) is 20:30 UTC the day before.
        let now: DateTime<Utc> = "2026-12-04T10:00:00Z".parse().unwrap();
        assert_eq!(month_start(now).to_rfc3339(), "2026-11-21T20:30:00+00:00");
        // Late on the last evening of Aban in UTC is already 1 Azar in Tehran.
        let eve: DateTime<Utc> = "2026-11-21T21:00:00Z".parse().unwrap();
        assert_eq!(month_start(eve).to_rfc3339(), "2026-11-21T20:30:00+00:00");
    }

    #[test]
    fn rows_add_up_states_and_count_the_smart_share_of_ended_requests() {
        let c = |state: &str, requests, human| ServiceCount {
            workflow: "permit".to_owned(),
            state: state.to_owned(),
            requests,
            sla_breaches: 1,
            with_incidents: 0,
            human,
        };
        let rows = rows(&[
            c("issued", 6, 1),
            c("rejected", 2, 2),
            c("running", 3, 1),
            c("cancelled", 1, 0),
        ]);
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(
            (r.filed, r.running, r.cancelled, r.sla_breaches),
            (12, 3, 1, 4)
        );
        assert_eq!(r.outcomes["issued"], 6);
        // 5 of the 8 ended with an outcome had no human task.
        assert_eq!(r.smart_percent, Some(63));
    }
}
