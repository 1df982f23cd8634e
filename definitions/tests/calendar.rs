//! The business calendar: the shipped file, working-time arithmetic over weekends, holidays and
//! working hours, and the diagnostics of a wrong file.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use daftar_definitions::calendar::{Calendar, SHIPPED, from_jalali, ymd};
use daftar_definitions::model::Span;
use daftar_definitions::{Code, load_calendar};

fn tehran(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Tehran
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("Tehran keeps one offset")
        .with_timezone(&Utc)
}

fn span(s: &str) -> Span {
    s.parse().expect("a span")
}

#[test]
fn the_shipped_calendar_knows_nowruz_and_the_weekend() {
    let cal = Calendar::shipped();
    let nowruz = from_jalali(1405, 1, 1).unwrap();
    assert_eq!(nowruz, NaiveDate::from_ymd_opt(2026, 3, 21).unwrap());
    assert!(!cal.is_working_day(nowruz));
    assert_eq!(
        cal.holiday(nowruz).map(|h| h.1.starts_with("Nowruz")),
        Some(true)
    );
    // 1405-01-05 (Wednesday 25 March 2026) and Thursday are worked; Friday, the weekend, is
    // not.
    assert!(cal.is_working_day(NaiveDate::from_ymd_opt(2026, 3, 25).unwrap()));
    assert!(cal.is_working_day(NaiveDate::from_ymd_opt(2026, 3, 26).unwrap()));
    assert!(!cal.is_working_day(NaiveDate::from_ymd_opt(2026, 3, 27).unwrap()));
    let (first, last) = cal.covers();
    assert_eq!(first, nowruz);
    assert_eq!(last, from_jalali(1407, 1, 1).unwrap().pred_opt().unwrap());
    // Iran keeps +03:30 all year since 2022: no summer time in June.
    assert_eq!(
        tehran(2026, 6, 23, 10, 0).to_rfc3339(),
        "2026-06-23T06:30:00+00:00"
    );
}

#[test]
fn an_agency_that_closes_on_thursday_says_so_in_its_copy() {
    // What docs/operations.md tells an agency to do: its copy of the shipped file with
    // Thursday added to the weekend.
    let shipped = include_str!("../calendars/iran.yaml");
    assert!(shipped.contains("\nweekend: [friday]\n"));
    let own = shipped.replace("\nweekend: [friday]\n", "\nweekend: [thursday, friday]\n");
    let cal = load_calendar("agency.yaml", &own).expect("a valid calendar");
    let thursday = NaiveDate::from_ymd_opt(2026, 3, 26).unwrap();
    assert!(!cal.is_working_day(thursday));
    assert!(Calendar::shipped().is_working_day(thursday));
    // Wednesday 8 July 2026 at 14:00: one working hour ends on Thursday by the shipped
    // calendar, on Saturday by the agency's.
    let from = tehran(2026, 7, 8, 14, 0);
    assert_eq!(
        Calendar::shipped().add(from, span("1 working hour")),
        tehran(2026, 7, 9, 8, 0)
    );
    assert_eq!(
        cal.add(from, span("1 working hour")),
        tehran(2026, 7, 11, 8, 0)
    );
}

#[test]
fn working_days_skip_a_holiday_and_the_weekend() {
    let cal = Calendar::shipped();
    // Tuesday 23 June 2026, 10:00. Wednesday is Tasua (1405-04-03), Thursday Ashura and the
    // weekend, Friday the weekend: the two working days are the rest of Tuesday, Saturday,
    // and Sunday until 10:00.
    let due = cal.add(tehran(2026, 6, 23, 10, 0), span("2 working days"));
    assert_eq!(due, tehran(2026, 6, 28, 10, 0));
    // Clock time does not care.
    let due = cal.add(tehran(2026, 6, 23, 10, 0), span("2d"));
    assert_eq!(due, tehran(2026, 6, 25, 10, 0));
}

#[test]
fn working_hours_start_at_opening_and_carry_over_at_closing() {
    let cal = Calendar::shipped();
    // Saturday 4 July 2026. Filed at 06:00, before opening: the hour starts at 07:30.
    assert_eq!(
        cal.add(tehran(2026, 7, 4, 6, 0), span("1 working hour")),
        tehran(2026, 7, 4, 8, 30)
    );
    // Filed at 14:00: half an hour on Saturday, the rest from Sunday's opening.
    assert_eq!(
        cal.add(tehran(2026, 7, 4, 14, 0), span("3 working hours")),
        tehran(2026, 7, 5, 10, 0)
    );
    // Filed on a Friday evening: a whole working day is Saturday's, to its close.
    assert_eq!(
        cal.add(tehran(2026, 7, 3, 19, 0), span("1 working day")),
        tehran(2026, 7, 4, 14, 30)
    );
    // Exactly at closing time, the deadline is closing time, not the next opening.
    assert_eq!(
        cal.add(tehran(2026, 7, 4, 7, 30), span("7 working hours")),
        tehran(2026, 7, 4, 14, 30)
    );
}

#[test]
fn working_time_between_two_instants() {
    let cal = Calendar::shipped();
    let from = tehran(2026, 6, 23, 10, 0);
    let to = tehran(2026, 6, 28, 10, 0);
    assert_eq!(cal.working_between(from, to), chrono::Duration::hours(14));
    assert_eq!(cal.working_between(to, from), chrono::Duration::zero());
    // Counting forward by what lies between gives the same instant back.
    assert_eq!(cal.add_working(from, cal.working_between(from, to)), to);
}

#[test]
fn a_wrong_calendar_is_refused_where_it_is_wrong() {
    let text = "\
time_zone: Asia/Tehran
weekend: [friday]
hours: { from: \"07:30\", to: \"14:30\" }
years: [1405]
holidays:
  - { date: 1405-01-01, fa: نوروز, en: Nowruz }
  - { date: 1405-07-31, fa: نادرست, en: Wrong }
  - { date: 1406-01-01, fa: نوروز, en: Nowruz }
";
    let errors = load_calendar("agency.yaml", text).expect_err("refused");
    let found: Vec<(Code, usize, &str)> = errors
        .iter()
        .map(|d| (d.code, d.location.line, d.message.as_str()))
        .collect();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found.iter().all(|(c, ..)| *c == Code::InvalidCalendar));
    assert_eq!(found[0].1, 7);
    assert!(
        found[0].2.contains("1405-07-31 is not a Jalali date"),
        "{}",
        found[0].2
    );
    assert_eq!(found[1].1, 8);
    assert!(
        found[1].2.contains("which `years` does not list"),
        "{}",
        found[1].2
    );

    let text = "weekend: [caturday]\nhours: { from: \"14:30\", to: \"07:30\" }\nyears: [1405]\n";
    let errors = load_calendar("agency.yaml", text).expect_err("refused");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].code, Code::InvalidCalendar);
    assert_eq!(errors[0].location.line, 1);
    let text = "weekend: [friday]\nhours: { from: \"14:30\", to: \"07:30\" }\nyears: [1405]\n";
    let errors = load_calendar("agency.yaml", text).expect_err("refused");
    assert!(
        errors[0].message.contains("less than an hour"),
        "{errors:#?}"
    );
}

/// Each lunar holiday of the shipped file is written on a Jalali day within two days of its
/// Hijri date by ICU4X's Umm al-Qura calendar: a typo of a month or a year is caught, and the
/// day or two by which Iran's sighting of the moon may differ is not.
#[test]
fn the_shipped_lunar_holidays_fall_near_their_hijri_dates() {
    use icu_calendar::Date;
    use icu_calendar::cal::Hijri;
    let hijri = Hijri::new_umm_al_qura();
    let mut lunar = 0;
    for line in SHIPPED.lines() {
        let Some(h) = line.split("hijri: ").nth(1) else {
            continue;
        };
        lunar += 1;
        let (_, hm, hd) = ymd(&h[..10]).expect("a Hijri date");
        let date = line.split("date: ").nth(1).expect("a date");
        let (y, m, d) = ymd(&date[..10]).expect("a Jalali date");
        let day = from_jalali(y, m, d).expect("a Jalali date");
        let near = (-2..=2).any(|k| {
            let g = day + chrono::Duration::days(k);
            use chrono::Datelike;
            let iso = Date::try_new_iso(g.year(), g.month() as u8, g.day() as u8).unwrap();
            let h = iso.to_calendar(hijri);
            let last = h.day_of_month().0 == h.days_in_month();
            h.month().ordinal == hm && (h.day_of_month().0 == hd || (hd == 30 && last))
        });
        assert!(
            near,
            "{line}: no day within two of it is Hijri {}",
            &h[..10]
        );
    }
    assert!(
        lunar >= 30,
        "both years' lunar holidays are listed ({lunar})"
    );
}

const PERMIT: &str = r#"daftar: 1
id: kiosk-permit
version: 1
title: { fa: مجوز کیوسک, en: Kiosk permit }
agency: tehran-municipality
in_force_from: 2026-03-21
sla: SLA
input:
  schema:
    type: object
    required: [national_id, mobile]
    properties:
      national_id: { type: string, format: ir-national-id }
      mobile: { type: string, format: ir-mobile }
steps:
  - id: review
    task:
      role: kiosk_officer
      due: DUE
      outcomes: { approve: approve, reject: reject }
  - id: reject
    end: { outcome: rejected }
  - id: approve
    end: { outcome: approved }
"#;

fn diagnostics(sla: &str, due: &str) -> Vec<String> {
    let text = PERMIT.replace("SLA", sla).replace("DUE", due);
    daftar_definitions::validate("permit.yaml", &text, Default::default())
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn working_time_is_a_deadline_and_a_wrong_one_is_placed() {
    assert_eq!(
        diagnostics("10 working days", "3 working hours"),
        Vec::<String>::new()
    );
    assert_eq!(
        diagnostics("10 working days", "5 working weeks"),
        [
            "permit.yaml:19:12: DEF006 `working weeks` is not a unit of working time; write working time like `5 working days`, `3 working hours` or `1 working day 30 working minutes`"
        ]
    );
    assert_eq!(
        diagnostics("10 working days", "2 working days 3h"),
        [
            "permit.yaml:19:12: DEF006 `2 working days 3h` is not a span of working time; write working time like `5 working days`, `3 working hours` or `1 working day 30 working minutes`"
        ]
    );
    // Where a machine's time is meant (a timeout), working time is refused with why.
    let text = PERMIT
        .replace("SLA", "13h")
        .replace("DUE", "3d")
        .replace("defaults:", "")
        .replacen(
            "steps:\n",
            "defaults:\n  timeout: 2 working hours\nsteps:\n",
            1,
        );
    let found: Vec<String> = daftar_definitions::validate("permit.yaml", &text, Default::default())
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains("DEF006") && found[0].contains("counts only for a deadline"),
        "{found:#?}"
    );
}
