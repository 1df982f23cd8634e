//! How long a deadline is: a fixed span of clock time (`3d`, `13h`) or a span of working time
//! (`5 working days`, `3 working hours`) counted only in an agency's working hours.
//!
//! The language stays pure: a working span is only a count here. The engine turns it into a
//! due instant with the agency's business calendar ([`crate::calendar::Calendar`]) when the
//! deadline starts, and records the instant, so that replay never depends on the calendar.

use std::fmt;
use std::str::FromStr;

use super::Duration;

/// A deadline's length: where the language accepts one, a task's `due`, an escalation's
/// `after`, a wait's `duration` and the workflow's `sla`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Span {
    /// Clock time: `3d` is 72 hours whatever the days are.
    Fixed(Duration),
    /// Working time, counted only in working hours of working days.
    Working(WorkingSpan),
}

/// A span of working time: whole working days (each as long as the calendar's working day)
/// and working minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkingSpan {
    /// Working days.
    pub days: u32,
    /// Working minutes besides the days.
    pub minutes: u32,
}

impl Span {
    /// At least how much clock time the span takes: itself when fixed; when working, its
    /// minutes plus an hour a day (no calendar daftar accepts has a shorter working day), which
    /// is what the checks that a loop cannot spin need.
    pub fn at_least(self) -> std::time::Duration {
        match self {
            Span::Fixed(d) => d.get(),
            Span::Working(w) => {
                std::time::Duration::from_secs(u64::from(w.days) * 3600 + u64::from(w.minutes) * 60)
            }
        }
    }

    /// The order of two spans of the same kind; spans of different kinds cannot be compared
    /// without a calendar.
    pub fn compare(self, other: Span) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Span::Fixed(a), Span::Fixed(b)) => Some(a.cmp(&b)),
            // A working day's length is the calendar's, so only a span that is no shorter in
            // both parts is known to be no shorter.
            (Span::Working(a), Span::Working(b)) => {
                match (a.days.cmp(&b.days), a.minutes.cmp(&b.minutes)) {
                    (x, y) if x == y => Some(x),
                    (std::cmp::Ordering::Equal, y) => Some(y),
                    (x, std::cmp::Ordering::Equal) => Some(x),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

impl From<Duration> for Span {
    fn from(d: Duration) -> Self {
        Span::Fixed(d)
    }
}

const UNITS: &str = "write working time like `5 working days`, `3 working hours` or `1 working day 30 working minutes`";

fn parse_working(s: &str) -> Result<WorkingSpan, String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    if !words.len().is_multiple_of(3) {
        return Err(format!("`{s}` is not a span of working time; {UNITS}"));
    }
    let (mut days, mut minutes) = (0u64, 0u64);
    for term in words.chunks(3) {
        let n: u64 = term[0]
            .parse()
            .map_err(|_| format!("`{}` in `{s}` is not a whole number; {UNITS}", term[0]))?;
        if term[1] != "working" {
            return Err(format!("`{s}` mixes working time with clock time; {UNITS}"));
        }
        match term[2] {
            "day" | "days" => days += n,
            "hour" | "hours" => minutes += n * 60,
            "minute" | "minutes" => minutes += n,
            unit => {
                return Err(format!(
                    "`working {unit}` is not a unit of working time; {UNITS}"
                ));
            }
        }
        // Ten thousand working days is some forty years: far past any law's deadline.
        if days > 10_000 || minutes > 10_000 * 24 * 60 {
            return Err(format!("`{s}` is longer than any deadline daftar keeps"));
        }
    }
    if days == 0 && minutes == 0 {
        return Err(format!("`{s}` is zero; a duration must be positive"));
    }
    Ok(WorkingSpan {
        days: days as u32,
        minutes: minutes as u32,
    })
}

impl FromStr for Span {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.split_whitespace().any(|w| w == "working") {
            parse_working(s.trim()).map(Span::Working)
        } else {
            s.parse().map(Span::Fixed)
        }
    }
}

fn plural(n: u32, one: &str) -> String {
    if n == 1 {
        format!("1 working {one}")
    } else {
        format!("{n} working {one}s")
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Span::Fixed(d) => d.fmt(f),
            Span::Working(w) => {
                let (hours, minutes) = (w.minutes / 60, w.minutes % 60);
                let parts: Vec<String> = [(w.days, "day"), (hours, "hour"), (minutes, "minute")]
                    .into_iter()
                    .filter(|(n, _)| *n > 0)
                    .map(|(n, unit)| plural(n, unit))
                    .collect();
                f.write_str(&parts.join(" "))
            }
        }
    }
}

written_as_text!(
    Span,
    "span",
    "A deadline: clock time such as `13h` or `3d`, or working time counted in the agency's working hours, such as `5 working days`, `3 working hours` or `1 working day 30 working minutes`.",
    ["13h", "3d", "5 working days", "3 working hours"]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_working_and_fixed_spans() {
        let s: Span = "5 working days".parse().unwrap();
        assert_eq!(
            s,
            Span::Working(WorkingSpan {
                days: 5,
                minutes: 0
            })
        );
        assert_eq!(s.to_string(), "5 working days");
        let s: Span = "1 working day  90 working minutes".parse().unwrap();
        assert_eq!(
            s.to_string(),
            "1 working day 1 working hour 30 working minutes"
        );
        let s: Span = "3d".parse().unwrap();
        assert_eq!(s.to_string(), "3days");
        for bad in [
            "5 working weeks",
            "working days",
            "0 working hours",
            "5 working",
            "x working days",
            "2 working days 3h",
        ] {
            assert!(bad.parse::<Span>().is_err(), "{bad} is refused");
        }
    }

    #[test]
    fn compares_only_spans_of_one_kind() {
        let s = |t: &str| t.parse::<Span>().unwrap();
        assert_eq!(s("1d").compare(s("2d")), Some(std::cmp::Ordering::Less));
        assert_eq!(
            s("2 working days").compare(s("3 working days")),
            Some(std::cmp::Ordering::Less)
        );
        assert_eq!(s("1d").compare(s("1 working day")), None);
    }
}
