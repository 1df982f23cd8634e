//! `daftar report --agency A [--from T] [--to T] [--json]`: the service report, as
//! `GET /api/v1/reports/services` answers it, read from the store: per service, the requests
//! filed in the period, how many were delivered smartly (no person acted on them) and the share,
//! time to decision, SLA breaches and incidents. How each figure is counted is in
//! `daftar_engine::report`.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use chrono::{DateTime, NaiveDate, Utc};
use daftar_engine::report::{ServiceFigures, report};

/// Prints the report of `agency` for requests filed in `[from, to)`.
pub async fn run(
    db: &str,
    agency: &str,
    from: Option<&str>,
    to: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let from = from.map(instant).transpose().context("--from")?;
    let to = to.map(instant).transpose().context("--to")?;
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        bail!("--from must be before --to");
    }
    let store = super::db::open_existing(db).await?;
    let rows = store.decisions(agency, from, to).await?;
    let report = report(agency, from, to, &rows);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<32} {:>7} {:>9} {:>7} {:>7} {:>10} {:>10} {:>5} {:>9}",
        "service", "filed", "completed", "smart", "share", "p50", "p90", "SLA", "incidents"
    );
    for f in report.services.iter().chain([&report.total]) {
        println!("{}", line(f));
    }
    if report.total.filed == 0 {
        eprintln!("no request of `{agency}` was filed in the period");
    }
    Ok(ExitCode::SUCCESS)
}

fn line(f: &ServiceFigures) -> String {
    let share = f
        .share
        .map_or_else(|| "-".to_owned(), |s| format!("{:.1}%", s * 100.0));
    format!(
        "{:<32} {:>7} {:>9} {:>7} {:>7} {:>10} {:>10} {:>5} {:>9}",
        f.service,
        f.filed,
        f.completed,
        f.smart,
        share,
        seconds(f.decision_p50_seconds),
        seconds(f.decision_p90_seconds),
        f.sla_breaches,
        f.with_incidents
    )
}

/// A duration in seconds as people read it: `850ms`, `42s`, `3.5h`, `2.1d`.
fn seconds(s: Option<f64>) -> String {
    match s {
        None => "-".to_owned(),
        Some(s) if s < 1.0 => format!("{:.0}ms", s * 1000.0),
        Some(s) if s < 120.0 => format!("{s:.1}s"),
        Some(s) if s < 7200.0 => format!("{:.1}m", s / 60.0),
        Some(s) if s < 172_800.0 => format!("{:.1}h", s / 3600.0),
        Some(s) => format!("{:.1}d", s / 86_400.0),
    }
}

/// An RFC 3339 time, or a date (its midnight in UTC).
fn instant(text: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .with_context(|| format!("`{text}` is neither an RFC 3339 time nor a date (YYYY-MM-DD)"))?;
    Ok(date.and_time(chrono::NaiveTime::MIN).and_utc())
}
