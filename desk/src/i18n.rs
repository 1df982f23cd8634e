//! Persian first, English on request: the language of a visit and the template functions
//! that pick a text, write digits and dates in it.
//!
//! In Persian, numbers are written in Persian digits and times as Jalali dates in Tehran
//! time, with the engine's own helpers ([`daftar_engine::templates`], ICU4X's Persian
//! calendar); in English, as Gregorian dates in Tehran time.

use chrono::{DateTime, Utc};
use daftar_engine::templates::{jalali_datetime, persian_digits};
use minijinja::{Environment, State, Value};

/// The language of the pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// Persian, right to left: the default.
    #[default]
    Fa,
    /// English, left to right.
    En,
}

impl Lang {
    /// Reads `fa` or `en`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "fa" => Some(Lang::Fa),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// `fa` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fa => "fa",
            Lang::En => "en",
        }
    }

    /// The writing direction.
    pub fn dir(self) -> &'static str {
        match self {
            Lang::Fa => "rtl",
            Lang::En => "ltr",
        }
    }

    /// One of two texts.
    pub fn pick<'a>(self, fa: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Fa => fa,
            Lang::En => en,
        }
    }
}

/// The language of the page being rendered (its `lang` variable).
fn lang_of(state: &State) -> Lang {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Lang::parse))
        .unwrap_or_default()
}

/// Registers `tr(fa, en)`, `label(x)` (an object with `fa` and `en`), and the filters `num`
/// (digits in the page's language) and `when` (an RFC 3339 time as a date and time).
pub fn register(env: &mut Environment<'_>) {
    env.add_function("tr", |state: &State, fa: String, en: String| {
        lang_of(state).pick(&fa, &en).to_owned()
    });
    env.add_function("label", |state: &State, text: Value| -> String {
        let key = lang_of(state).code();
        match text.get_attr(key) {
            Ok(v) if !v.is_undefined() && !v.is_none() => v.to_string(),
            _ => text.to_string(),
        }
    });
    env.add_filter("num", |state: &State, v: Value| -> String {
        digits(lang_of(state), &v.to_string())
    });
    env.add_filter("when", |state: &State, v: Value| -> String {
        when(lang_of(state), &v.to_string())
    });
}

/// `text` with its digits in `lang`'s.
pub fn digits(lang: Lang, text: &str) -> String {
    match lang {
        Lang::Fa => persian_digits(text),
        Lang::En => text.to_owned(),
    }
}

/// A time typed as a person in Iran writes it, `1405/09/14 10:30` (Jalali, Tehran's clock;
/// Persian digits too; no time: the day's start), as RFC 3339 in UTC; `None` for anything else.
pub fn jalali_instant(typed: &str) -> Option<String> {
    use chrono::TimeZone as _;
    let typed = ascii_digits(typed.trim());
    let (date, time) = match typed.split_once(' ') {
        Some((d, t)) => (d, Some(t.trim())),
        None => (typed.as_str(), None),
    };
    let (y, m, d) = ymd(date).filter(|(y, _, _)| *y < GREGORIAN_FROM)?;
    let day = daftar_engine::templates::from_jalali(y, m, d).ok()?;
    let time = match time {
        Some(t) => chrono::NaiveTime::parse_from_str(t, "%H:%M")
            .or_else(|_| chrono::NaiveTime::parse_from_str(t, "%H:%M:%S"))
            .ok()?,
        None => chrono::NaiveTime::MIN,
    };
    let local = chrono_tz::Asia::Tehran
        .from_local_datetime(&day.and_time(time))
        .earliest()?;
    Some(
        local
            .with_timezone(&Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

/// The first year read as Gregorian where a date could be either: Jalali years are about 621
/// behind, so a year before this one is Jalali.
pub const GREGORIAN_FROM: i32 = 1700;

/// A date's year, month and day as typed (ASCII digits): `YYYY/MM/DD`, `YYYY-MM-DD` or
/// `YYYY.MM.DD`, in whichever calendar.
pub fn ymd(date: &str) -> Option<(i32, u8, u8)> {
    let parts: Vec<&str> = date.split(['/', '-', '.']).collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    Some((y.parse().ok()?, m.parse().ok()?, d.parse().ok()?))
}

/// Persian and Arabic-Indic digits as ASCII ones.
pub fn ascii_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            _ => c,
        })
        .collect()
}

/// An RFC 3339 time as a date and time in Tehran: Jalali in Persian, Gregorian in English. A
/// text that is not a time is shown as it is.
pub fn when(lang: Lang, rfc3339: &str) -> String {
    match lang {
        Lang::Fa => jalali_datetime(rfc3339)
            .map(|s| persian_digits(&s))
            .unwrap_or_else(|_| rfc3339.to_owned()),
        Lang::En => match rfc3339.parse::<DateTime<Utc>>() {
            Ok(t) => t
                .with_timezone(&chrono_tz::Asia::Tehran)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            Err(_) => rfc3339.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jalali_time_in_tehran_is_read_as_an_instant() {
        // 14 Azar 1405 is 5 December 2026; Tehran is UTC+3:30 all year.
        assert_eq!(
            jalali_instant("۱۴۰۵/۰۹/۱۴ ۱۰:۳۰").as_deref(),
            Some("2026-12-05T07:00:00Z")
        );
        assert_eq!(
            jalali_instant("1405/9/14").as_deref(),
            Some("2026-12-04T20:30:00Z")
        );
        for other in [
            "12",
            "2026-12-05T07:00:00Z",
            "1405/13/01",
            "1405/09/14 25:00",
        ] {
            assert_eq!(jalali_instant(other), None, "{other}");
        }
    }

    #[test]
    fn times_are_jalali_with_persian_digits_in_persian_and_gregorian_in_english() {
        // 2026-03-21 is Nowruz 1405; 08:00 UTC is 11:30 in Tehran.
        assert_eq!(when(Lang::Fa, "2026-03-21T08:00:00Z"), "۱۴۰۵/۰۱/۰۱ ۱۱:۳۰");
        assert_eq!(when(Lang::En, "2026-03-21T08:00:00Z"), "2026-03-21 11:30");
        assert_eq!(digits(Lang::Fa, "HC-1402"), "HC-۱۴۰۲");
        assert_eq!(when(Lang::Fa, "soon"), "soon");
    }
}
