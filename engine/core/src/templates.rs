//! The filters every SMS template can use: Persian digits and Jalali (Solar Hijri) dates.
//!
//! - `fa_digits`: renders any value as text and writes its digits (ASCII or Arabic-Indic) as
//!   Persian digits `۰`–`۹`;
//! - `jalali`: an RFC 3339 timestamp (taken in the Asia/Tehran time zone) or a `YYYY-MM-DD`
//!   date, as a Jalali date `۱۴۰۵/۰۸/۰۱`; with the argument `"latin"`, in Latin digits;
//! - `jalali_datetime`: an RFC 3339 timestamp as a Jalali date and the time `HH:MM` in Tehran.
//!
//! The calendar arithmetic is ICU4X's Persian calendar (`icu_calendar`), the time zone is
//! `chrono-tz`'s. A filter given what it cannot read fails the render with a message, which the
//! engine turns into an incident; it never panics.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Timelike};
use chrono_tz::Asia::Tehran;
use icu_calendar::{Date, cal::Persian};
use minijinja::{Environment, Error, ErrorKind, Value};

/// Registers `fa_digits`, `jalali` and `jalali_datetime` on a template environment.
pub fn register(env: &mut Environment<'_>) {
    env.add_filter("fa_digits", fa_digits_filter);
    env.add_filter("jalali", jalali_filter);
    env.add_filter("jalali_datetime", jalali_datetime_filter);
}

/// Writes the ASCII (`0`–`9`) and Arabic-Indic (`٠`–`٩`) digits of a text as Persian digits
/// (`۰`–`۹`); everything else is kept.
pub fn persian_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' => persian_digit(c as u32 - '0' as u32),
            '\u{0660}'..='\u{0669}' => persian_digit(c as u32 - 0x0660),
            _ => c,
        })
        .collect()
}

fn persian_digit(n: u32) -> char {
    char::from_u32(0x06F0 + n).unwrap_or('?')
}

/// A Jalali (Solar Hijri) date: `(year, month, day)`, month and day from 1.
pub fn to_jalali(date: NaiveDate) -> Result<(i32, u8, u8), String> {
    use chrono::Datelike;
    let month = u8::try_from(date.month()).map_err(|e| e.to_string())?;
    let day = u8::try_from(date.day()).map_err(|e| e.to_string())?;
    let iso = Date::try_new_iso(date.year(), month, day)
        .map_err(|e| format!("{date} cannot be converted: {e}"))?;
    let p = iso.to_calendar(Persian);
    Ok((
        p.year().extended_year(),
        p.month().ordinal,
        p.day_of_month().0,
    ))
}

/// The Gregorian date of the Jalali (Solar Hijri) date `year/month/day`; an error for a date
/// the Jalali calendar does not have (month 13, Esfand 30 of a common year).
pub fn from_jalali(year: i32, month: u8, day: u8) -> Result<NaiveDate, String> {
    let not_one = || format!("{year:04}/{month:02}/{day:02} is not a Jalali date");
    let p = Date::try_new_persian(year, month, day).map_err(|_| not_one())?;
    let iso = p.to_calendar(icu_calendar::Iso);
    let date = NaiveDate::from_ymd_opt(
        iso.year().extended_year(),
        u32::from(iso.month().ordinal),
        u32::from(iso.day_of_month().0),
    )
    .ok_or_else(not_one)?;
    // A day past the month's end would roll over: it must come back as written.
    if to_jalali(date)? != (year, month, day) {
        return Err(not_one());
    }
    Ok(date)
}

/// What a `jalali` filter reads: a calendar date, or an instant (read in Tehran time).
fn parse(value: &str) -> Result<(NaiveDate, Option<NaiveDateTime>), String> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        let local = t.with_timezone(&Tehran).naive_local();
        return Ok((local.date(), Some(local)));
    }
    if let Ok(d) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok((d, None));
    }
    Err(format!(
        "`{value}` is neither an RFC 3339 timestamp nor a YYYY-MM-DD date"
    ))
}

/// Whether the digits are Persian (the default) or Latin (`"latin"`).
fn persian(filter: &str, digits: Option<&str>) -> Result<bool, Error> {
    match digits {
        None | Some("persian") | Some("fa") => Ok(true),
        Some("latin") => Ok(false),
        Some(other) => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("{filter}: the argument is \"latin\" or nothing, not `{other}`"),
        )),
    }
}

fn format_date(date: NaiveDate) -> Result<String, String> {
    let (y, m, d) = to_jalali(date)?;
    Ok(format!("{y:04}/{m:02}/{d:02}"))
}

/// `value` (an RFC 3339 timestamp, or a `YYYY-MM-DD` date) as a Jalali date `YYYY/MM/DD` in
/// Latin digits; a timestamp is taken in the Asia/Tehran time zone.
pub fn jalali_date(value: &str) -> Result<String, String> {
    let (date, _) = parse(value)?;
    format_date(date)
}

/// `value` (an RFC 3339 timestamp) as a Jalali date and time `YYYY/MM/DD HH:MM` in Tehran, in
/// Latin digits.
pub fn jalali_datetime(value: &str) -> Result<String, String> {
    match parse(value)? {
        (date, Some(t)) => Ok(format!(
            "{} {:02}:{:02}",
            format_date(date)?,
            t.hour(),
            t.minute()
        )),
        (_, None) => Err(format!(
            "`{}` is a date without a time: use `jalali`",
            value.trim()
        )),
    }
}

fn text(filter: &str, value: &Value) -> Result<String, Error> {
    value.as_str().map(str::to_owned).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("{filter} needs a date as text, not `{value}`"),
        )
    })
}

fn finish(filter: &str, result: Result<String, String>, persian: bool) -> Result<String, Error> {
    match result {
        Ok(s) if persian => Ok(persian_digits(&s)),
        Ok(s) => Ok(s),
        Err(e) => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("{filter}: {e}"),
        )),
    }
}

fn fa_digits_filter(value: &Value) -> String {
    persian_digits(&value.to_string())
}

fn jalali_filter(value: &Value, digits: Option<&str>) -> Result<String, Error> {
    let persian = persian("jalali", digits)?;
    let value = text("jalali", value)?;
    finish("jalali", jalali_date(&value), persian)
}

fn jalali_datetime_filter(value: &Value, digits: Option<&str>) -> Result<String, Error> {
    let persian = persian("jalali_datetime", digits)?;
    let value = text("jalali_datetime", value)?;
    finish("jalali_datetime", jalali_datetime(&value), persian)
}
