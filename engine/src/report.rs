//! The service report: per service and for the agency, over the requests filed in a period,
//! how many were decided with no person acting on them. Article 107 of the Seventh Plan asks
//! each agency to make at least 20% of its e-services smart every year; this is how it is
//! counted.
//!
//! A request counts as **smart** when it ended with an outcome (not cancelled) and no human
//! task was opened on it: no officer claimed, decided or was asked anything. daftar takes no
//! uploads and needs no visit (facts come from inquiries, forms are data), so the only human
//! step a request can have is a task. The **share** is smart requests over requests ended with
//! an outcome; running and cancelled requests are counted apart. **Time to decision** is from
//! filing to the end, over requests ended with an outcome (median and 90th percentile, by
//! nearest rank).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::store::{Decided, RUNNING};

/// The state of a cancelled request.
const CANCELLED: &str = "cancelled";

/// An agency's report over a period.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    /// The agency.
    pub agency: String,
    /// Requests filed at or after this time (none: from the first).
    pub from: Option<DateTime<Utc>>,
    /// Requests filed before this time (none: until now).
    pub to: Option<DateTime<Utc>>,
    /// Every service of the agency with requests in the period, by id.
    pub services: Vec<ServiceFigures>,
    /// The agency as a whole (`service` is `*`).
    pub total: ServiceFigures,
}

/// The figures of one service (or of the agency, as `*`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceFigures {
    /// The service (workflow) id, or `*` for the agency.
    pub service: String,
    /// Requests filed in the period.
    pub filed: u64,
    /// Of those, still running.
    pub running: u64,
    /// Ended with an outcome (issued, approved, rejected, …).
    pub completed: u64,
    /// Cancelled.
    pub cancelled: u64,
    /// Ended with an outcome and no human task: delivered smartly.
    pub smart: u64,
    /// `smart / completed`, from 0 to 1; none when nothing completed.
    pub share: Option<f64>,
    /// Median time from filing to the end of completed requests, in seconds.
    pub decision_p50_seconds: Option<f64>,
    /// The 90th percentile of the same, in seconds.
    pub decision_p90_seconds: Option<f64>,
    /// Requests whose SLA passed before they ended (or that are running past it).
    pub sla_breaches: u64,
    /// Requests with an open incident.
    pub with_incidents: u64,
}

/// The report of `agency` over `rows` (the requests filed in `[from, to)`).
pub fn report(
    agency: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    rows: &[Decided],
) -> Report {
    let mut by_service: std::collections::BTreeMap<&str, Vec<&Decided>> = Default::default();
    for row in rows {
        by_service.entry(&row.workflow).or_default().push(row);
    }
    let services = by_service
        .into_iter()
        .map(|(service, rows)| figures(service, &rows))
        .collect();
    let all: Vec<&Decided> = rows.iter().collect();
    Report {
        agency: agency.to_owned(),
        from,
        to,
        services,
        total: figures("*", &all),
    }
}

fn figures(service: &str, rows: &[&Decided]) -> ServiceFigures {
    let mut f = ServiceFigures {
        service: service.to_owned(),
        filed: rows.len() as u64,
        ..ServiceFigures::default()
    };
    let mut decision = Vec::new();
    for row in rows {
        match row.state.as_str() {
            RUNNING => f.running += 1,
            CANCELLED => f.cancelled += 1,
            _ => {
                f.completed += 1;
                if !row.human {
                    f.smart += 1;
                }
                if let Some(end) = row.ended_at {
                    decision.push((end - row.started_at).as_seconds_f64().max(0.0));
                }
            }
        }
        f.sla_breaches += u64::from(row.sla_breached);
        f.with_incidents += u64::from(row.incidents > 0);
    }
    f.share = (f.completed > 0).then(|| f.smart as f64 / f.completed as f64);
    decision.sort_by(f64::total_cmp);
    f.decision_p50_seconds = nearest_rank(&decision, 50);
    f.decision_p90_seconds = nearest_rank(&decision, 90);
    f
}

/// The `p`th percentile of sorted values by the nearest-rank method.
fn nearest_rank(sorted: &[f64], p: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(workflow: &str, state: &str, minutes: Option<i64>, human: bool) -> Decided {
        let start = DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        Decided {
            workflow: workflow.to_owned(),
            state: state.to_owned(),
            started_at: start,
            ended_at: minutes.map(|m| start + chrono::Duration::minutes(m)),
            sla_breached: false,
            incidents: 0,
            human,
        }
    }

    #[test]
    fn the_share_is_smart_over_completed() {
        let rows = [
            row("a", "issued", Some(1), false),
            row("a", "rejected", Some(2), false),
            row("a", "issued", Some(60), true),
            row("a", "running", None, false),
            row("a", "cancelled", Some(5), false),
            row("b", "approved", Some(600), true),
        ];
        let r = report("x", None, None, &rows);
        let a = &r.services[0];
        assert_eq!(
            (a.filed, a.completed, a.smart, a.running, a.cancelled),
            (5, 3, 2, 1, 1)
        );
        assert_eq!(a.share, Some(2.0 / 3.0));
        assert_eq!(a.decision_p50_seconds, Some(120.0));
        assert_eq!(a.decision_p90_seconds, Some(3600.0));
        assert_eq!(r.services[1].share, Some(0.0));
        assert_eq!((r.total.filed, r.total.completed, r.total.smart), (6, 4, 2));
        assert_eq!(r.total.share, Some(0.5));
    }

    #[test]
    fn percentiles_are_by_nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 50), Some(5.0));
        assert_eq!(nearest_rank(&v, 90), Some(9.0));
        assert_eq!(nearest_rank(&[7.0], 90), Some(7.0));
        assert_eq!(nearest_rank(&[], 50), None);
    }
}
