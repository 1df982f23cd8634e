//! Counting working time: from an instant, how far a working span reaches, and how much working
//! time lies between two instants (what a stopped clock gives back).
//!
//! Working time passes only between the opening and closing time of a working day, in the
//! calendar's time zone. A working day of a span is as long as the calendar's working day, so
//! `1 working day` from 10:00 on a Wednesday falls at 10:00 on the next working day, and from a
//! Friday it falls at the close of Saturday.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};

use super::Calendar;
use crate::model::Span;

/// How many days a count may walk before giving up: forty years, far past any deadline the
/// language accepts (10,000 working days).
const MAX_DAYS: u32 = 40 * 366;

impl Calendar {
    /// The instant a span started at `from` ends: clock time is added as it is, working time
    /// is counted in working hours.
    pub fn add(&self, from: DateTime<Utc>, span: Span) -> DateTime<Utc> {
        match span {
            Span::Fixed(d) => from + Duration::from_std(d.get()).unwrap_or(Duration::MAX),
            Span::Working(w) => {
                let amount =
                    self.day_length() * w.days as i32 + Duration::minutes(i64::from(w.minutes));
                self.add_working(from, amount)
            }
        }
    }

    /// The instant `amount` of working time after `from`.
    pub fn add_working(&self, from: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        let mut left = amount;
        let local = from.with_timezone(&self.tz).naive_local();
        let mut day = local.date();
        let mut at = local.time();
        for _ in 0..MAX_DAYS {
            if self.is_working_day(day) {
                let start = at.max(self.open);
                if start < self.close {
                    let room = self.close - start;
                    if left <= room {
                        return self.instant(day.and_time(start) + left);
                    }
                    left -= room;
                }
            }
            day = match day.succ_opt() {
                Some(d) => d,
                None => break,
            };
            at = self.open;
        }
        DateTime::<Utc>::MAX_UTC
    }

    /// The working time between two instants (zero when `to` is not after `from`).
    pub fn working_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        let a = from.with_timezone(&self.tz).naive_local();
        let b = to.with_timezone(&self.tz).naive_local();
        let mut total = Duration::zero();
        let mut day: NaiveDate = a.date();
        for _ in 0..MAX_DAYS {
            if day > b.date() {
                break;
            }
            if self.is_working_day(day) {
                let start = day.and_time(self.open).max(a);
                let end = day.and_time(self.close).min(b);
                if end > start {
                    total += end - start;
                }
            }
            day = match day.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        total
    }

    /// A local time of the calendar's zone as an instant. Iran has kept standard time all year
    /// since 2022; where a zone still moves its clocks, a skipped time is read as UTC rather
    /// than failing a deadline.
    fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| local.and_utc())
    }
}
