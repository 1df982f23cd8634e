//! An agency's business calendar: its weekend, its official holidays and its working hours, which
//! is what turns a working span (`5 working days`) into a due instant.
//!
//! A calendar is a YAML file ([`CalendarFile`], read by [`crate::load_calendar`] with the same
//! loader and diagnostics as definitions). Holidays are written as Jalali dates, as the official
//! calendar announces them; they are converted with ICU4X's Persian calendar (`icu_calendar`),
//! never by hand. daftar ships Iran's calendar for the Jalali years 1405 and 1406
//! ([`Calendar::shipped`], from `definitions/calendars/iran.yaml`); an agency names its own
//! file to `daftar serve --calendar`.
//!
//! The arithmetic ([`work`]) is pure: the engine passes the calendar to the decider with the
//! time, and the decider records the instants it computes, so replaying a history never asks
//! the calendar again.

mod work;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use chrono::{NaiveDate, NaiveTime, Weekday};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::check::Finding;
use crate::diagnostic::Code;
use crate::source::Pointer;

/// The calendar daftar ships: Iran's official holidays of the Jalali years 1405 and 1406, a
/// Friday weekend and the working hours of the executive agencies.
pub const SHIPPED: &str = include_str!("../../calendars/iran.yaml");

/// A calendar file as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "daftar business calendar")]
pub struct CalendarFile {
    /// The IANA time zone working hours are in.
    #[serde(default = "tehran")]
    pub time_zone: String,
    /// The days of the weekend: `friday`, and `thursday` too where the agency closes then.
    #[schemars(length(min = 1, max = 6))]
    pub weekend: Vec<Day>,
    /// The working hours of a working day.
    pub hours: Hours,
    /// The Jalali years whose holidays this file lists in full.
    #[schemars(length(min = 1))]
    pub years: Vec<i32>,
    /// The official holidays.
    #[serde(default)]
    pub holidays: Vec<Holiday>,
}

fn tehran() -> String {
    "Asia/Tehran".to_owned()
}

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Day {
    Saturday,
    Sunday,
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
}

impl From<Day> for Weekday {
    fn from(d: Day) -> Weekday {
        match d {
            Day::Saturday => Weekday::Sat,
            Day::Sunday => Weekday::Sun,
            Day::Monday => Weekday::Mon,
            Day::Tuesday => Weekday::Tue,
            Day::Wednesday => Weekday::Wed,
            Day::Thursday => Weekday::Thu,
            Day::Friday => Weekday::Fri,
        }
    }
}

/// Working hours, `HH:MM` in the calendar's time zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    /// When work starts, such as `07:30`.
    #[schemars(regex(pattern = r"^[0-2][0-9]:[0-5][0-9]$"))]
    pub from: String,
    /// When work ends, such as `14:30`.
    #[schemars(regex(pattern = r"^[0-2][0-9]:[0-5][0-9]$"))]
    pub to: String,
}

/// An official holiday.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    /// The Jalali date, `YYYY-MM-DD`, such as `1405-01-01`.
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub date: String,
    /// Its name in Persian.
    pub fa: String,
    /// Its name in English.
    pub en: String,
    /// For a holiday of the lunar (Hijri) calendar, its Hijri date `YYYY-MM-DD`: the Jalali date
    /// of these moves every year and is the one the Calendar Center announces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub hijri: Option<String>,
}

/// A checked calendar, ready to count working time.
#[derive(Clone, Debug, PartialEq)]
pub struct Calendar {
    tz: chrono_tz::Tz,
    /// By `Weekday::num_days_from_monday`.
    weekend: [bool; 7],
    open: NaiveTime,
    close: NaiveTime,
    holidays: BTreeMap<NaiveDate, (String, String)>,
    /// The Gregorian days the listed years cover, first and last.
    covers: (NaiveDate, NaiveDate),
}

/// The Gregorian date of a Jalali one, by ICU4X's Persian calendar.
pub fn from_jalali(year: i32, month: u8, day: u8) -> Result<NaiveDate, String> {
    let persian = icu_calendar::Date::try_new_persian(year, month, day)
        .map_err(|e| {
            format!(
                "{year}-{month:02}-{day:02} is not a Jalali date (the {} is {}; it must be from {} to {})",
                e.field, e.value, e.min, e.max
            )
        })?;
    let iso = persian.to_calendar(icu_calendar::Iso);
    NaiveDate::from_ymd_opt(
        iso.year().extended_year(),
        u32::from(iso.month().ordinal),
        u32::from(iso.day_of_month().0),
    )
    .ok_or_else(|| format!("{year}-{month:02}-{day:02} is out of range"))
}

/// Reads `YYYY-MM-DD` into its numbers.
pub fn ymd(text: &str) -> Option<(i32, u8, u8)> {
    let mut parts = text.split('-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((y, m, d))
}

impl Calendar {
    /// The calendar daftar ships (see [`SHIPPED`]).
    pub fn shipped() -> Arc<Calendar> {
        static SHIPPED_CALENDAR: OnceLock<Arc<Calendar>> = OnceLock::new();
        SHIPPED_CALENDAR
            .get_or_init(|| {
                Arc::new(
                    crate::load_calendar("iran.yaml", SHIPPED)
                        .expect("the shipped calendar is valid (checked by its tests)"),
                )
            })
            .clone()
    }

    /// Checks a calendar file; what is wrong is reported where it is written.
    pub(crate) fn from_file(file: &CalendarFile) -> Result<Calendar, Vec<Finding>> {
        let mut out = Vec::new();
        let root = Pointer::root();
        let tz = file.time_zone.parse::<chrono_tz::Tz>().map_err(|_| {
            let msg = format!(
                "`{}` is not a known IANA time zone, such as `Asia/Tehran`",
                file.time_zone
            );
            Finding::new(Code::InvalidCalendar, root.key("time_zone"), msg)
        });
        let time = |field: &str, text: &str| {
            NaiveTime::parse_from_str(text, "%H:%M").map_err(|_| {
                let msg =
                    format!("`{text}` is not a time of day; write it as HH:MM, such as 07:30");
                Finding::new(Code::InvalidCalendar, root.key("hours").key(field), msg)
            })
        };
        let open = time("from", &file.hours.from);
        let close = time("to", &file.hours.to);
        if let (Ok(open), Ok(close)) = (&open, &close)
            && *close - *open < chrono::Duration::hours(1)
        {
            let msg = format!(
                "working hours {}–{} are less than an hour; `to` must be at least an hour after `from`",
                file.hours.from, file.hours.to
            );
            out.push(Finding::new(Code::InvalidCalendar, root.key("hours"), msg));
        }
        let mut weekend = [false; 7];
        for d in &file.weekend {
            weekend[Weekday::from(*d).num_days_from_monday() as usize] = true;
        }
        if weekend.iter().all(|w| *w) {
            let msg = "every day is in the weekend; a calendar needs working days";
            out.push(Finding::new(
                Code::InvalidCalendar,
                root.key("weekend"),
                msg,
            ));
        }
        let mut years = file.years.clone();
        years.sort_unstable();
        let bounds = (|| {
            let first = *years.first()?;
            let last = *years.last()?;
            let start = from_jalali(first, 1, 1).ok()?;
            let next = from_jalali(last + 1, 1, 1).ok()?;
            Some((start, next.pred_opt()?))
        })();
        if bounds.is_none() {
            let msg = "`years` must list the Jalali years the holidays cover, such as [1405, 1406]";
            out.push(Finding::new(Code::InvalidCalendar, root.key("years"), msg));
        }
        let mut holidays = BTreeMap::new();
        for (i, h) in file.holidays.iter().enumerate() {
            let at = root.key("holidays").index(i).key("date");
            let date = ymd(&h.date)
                .ok_or_else(|| format!("`{}` is not a date; write it as YYYY-MM-DD", h.date))
                .and_then(|(y, m, d)| {
                    if !years.contains(&y) {
                        return Err(format!(
                            "{} is in Jalali year {y}, which `years` does not list",
                            h.date
                        ));
                    }
                    from_jalali(y, m, d)
                });
            match date {
                // Two holidays on one day (a lunar one on a solar one) are one day off, named
                // for both.
                Ok(date) => {
                    holidays
                        .entry(date)
                        .and_modify(|(fa, en): &mut (String, String)| {
                            *fa = format!("{fa}؛ {}", h.fa);
                            *en = format!("{en}; {}", h.en);
                        })
                        .or_insert((h.fa.clone(), h.en.clone()));
                }
                Err(msg) => out.push(Finding::new(Code::InvalidCalendar, at, msg)),
            }
        }
        match (tz, open, close, bounds) {
            (Ok(tz), Ok(open), Ok(close), Some(covers)) if out.is_empty() => Ok(Calendar {
                tz,
                weekend,
                open,
                close,
                holidays,
                covers,
            }),
            (tz, open, close, _) => {
                out.extend(tz.err());
                out.extend(open.err());
                out.extend(close.err());
                Err(out)
            }
        }
    }

    /// The calendar's time zone.
    pub fn time_zone(&self) -> chrono_tz::Tz {
        self.tz
    }

    /// The Gregorian days the calendar's holidays cover, first and last: past them only
    /// weekends count, so an agency updates its file before the last one.
    pub fn covers(&self) -> (NaiveDate, NaiveDate) {
        self.covers
    }

    /// The holiday on a (Gregorian) day, if it is one: its Persian and English names.
    pub fn holiday(&self, day: NaiveDate) -> Option<(&str, &str)> {
        self.holidays
            .get(&day)
            .map(|(fa, en)| (fa.as_str(), en.as_str()))
    }

    /// Whether a day is worked: not in the weekend and not a holiday.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        use chrono::Datelike;
        !self.weekend[day.weekday().num_days_from_monday() as usize]
            && !self.holidays.contains_key(&day)
    }

    /// How long a working day is.
    pub fn day_length(&self) -> chrono::Duration {
        self.close - self.open
    }
}
