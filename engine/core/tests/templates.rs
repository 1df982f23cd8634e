//! The template filters: Persian digits and Jalali dates, alone and through a workflow's
//! templates.

use chrono::NaiveDate;
use daftar_core::Definition;
use daftar_core::templates::{jalali_date, jalali_datetime, persian_digits, register, to_jalali};
use daftar_definitions::{Options, compile};
use serde_json::json;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

fn env() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    register(&mut env);
    env
}

fn render(source: &str, ctx: serde_json::Value) -> Result<String, minijinja::Error> {
    env().render_str(
        source,
        minijinja::Value::from(minijinja::value::Serde(&ctx)),
    )
}

#[test]
fn known_conversions() {
    // Nowruz 1405.
    assert_eq!(to_jalali(date(2026, 3, 21)), Ok((1405, 1, 1)));
    // 1403 is a leap year: Esfand has 30 days, and 1404 starts the day after.
    assert_eq!(to_jalali(date(2025, 3, 20)), Ok((1403, 12, 30)));
    assert_eq!(to_jalali(date(2025, 3, 21)), Ok((1404, 1, 1)));
    // 1404 is not: its last day is Esfand 29.
    assert_eq!(to_jalali(date(2026, 3, 20)), Ok((1404, 12, 29)));
    assert_eq!(to_jalali(date(2024, 3, 20)), Ok((1403, 1, 1)));
    assert_eq!(to_jalali(date(2026, 12, 2)), Ok((1405, 9, 11)));
    assert_eq!(to_jalali(date(2026, 10, 23)), Ok((1405, 8, 1)));
    assert_eq!(to_jalali(date(1979, 2, 11)), Ok((1357, 11, 22)));
}

#[test]
fn dates_and_timestamps() {
    let dates = [
        ("2026-03-21", "1405/01/01"),
        // Late in the UTC day is already the next day in Tehran (UTC+03:30).
        ("2026-11-22T21:00:00Z", "1405/09/02"),
        ("2026-11-22T20:29:59Z", "1405/09/01"),
        // An offset is honoured before moving to Tehran time.
        ("2026-11-23T00:30:00+03:30", "1405/09/02"),
    ];
    for (input, expected) in dates {
        assert_eq!(jalali_date(input).as_deref(), Ok(expected), "{input}");
    }
    let datetimes = [
        ("2026-11-22T21:00:00Z", "1405/09/02 00:30"),
        ("2026-03-20T20:45:10.5Z", "1405/01/01 00:15"),
    ];
    for (input, expected) in datetimes {
        assert_eq!(jalali_datetime(input).as_deref(), Ok(expected), "{input}");
    }
}

#[test]
fn persian_digits_of_anything() {
    assert_eq!(persian_digits("0123456789"), "۰۱۲۳۴۵۶۷۸۹");
    assert_eq!(persian_digits("٠١٢٣٤٥٦٧٨٩"), "۰۱۲۳۴۵۶۷۸۹");
    assert_eq!(persian_digits("کد DF-12 ۳"), "کد DF-۱۲ ۳");
    assert_eq!(
        render("{{ n | fa_digits }}", json!({"n": 250000})).unwrap(),
        "۲۵۰۰۰۰"
    );
    assert_eq!(
        render("{{ n | fa_digits }}", json!({"n": 12.5})).unwrap(),
        "۱۲.۵"
    );
    assert_eq!(
        render("{{ code | fa_digits }}", json!({"code": "1405-000123"})).unwrap(),
        "۱۴۰۵-۰۰۰۱۲۳"
    );
}

#[test]
fn filters_in_templates() {
    let ctx = json!({"d": "2026-03-21", "t": "2026-11-22T21:00:00Z"});
    assert_eq!(
        render("{{ d | jalali }}", ctx.clone()).unwrap(),
        "۱۴۰۵/۰۱/۰۱"
    );
    assert_eq!(
        render("{{ d | jalali('latin') }}", ctx.clone()).unwrap(),
        "1405/01/01"
    );
    assert_eq!(
        render("{{ t | jalali_datetime }}", ctx.clone()).unwrap(),
        "۱۴۰۵/۰۹/۰۲ ۰۰:۳۰"
    );
    assert_eq!(
        render("{{ t | jalali_datetime('latin') }}", ctx).unwrap(),
        "1405/09/02 00:30"
    );
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    for (source, ctx) in [
        ("{{ d | jalali }}", json!({"d": "2026-02-30"})),
        ("{{ d | jalali }}", json!({"d": "yesterday"})),
        ("{{ d | jalali }}", json!({"d": 20260321})),
        ("{{ d | jalali }}", json!({"d": null})),
        ("{{ d | jalali }}", json!({})),
        ("{{ d | jalali('roman') }}", json!({"d": "2026-03-21"})),
        ("{{ d | jalali_datetime }}", json!({"d": "2026-03-21"})),
        (
            "{{ d | jalali_datetime }}",
            json!({"d": "2026-13-01T00:00:00Z"}),
        ),
    ] {
        let e = render(source, ctx.clone()).expect_err(&format!("{source} with {ctx}"));
        assert_eq!(e.kind(), minijinja::ErrorKind::InvalidOperation, "{e}");
    }
    let e = render("{{ d | jalali }}", json!({"d": "2026-02-30"})).unwrap_err();
    assert!(e.to_string().contains("2026-02-30"), "{e}");
}

const WORKFLOW: &str = r#"
daftar: 1
id: licence
version: 1
title: { fa: پروانه, en: Licence }
agency: test-agency
in_force_from: 2026-01-01
sla: 13h
input:
  schema:
    type: object
    required: [national_id, mobile, expires_on]
    properties:
      national_id: { type: string }
      mobile: { type: string, format: ir-mobile }
      expires_on: { type: string }
statuses:
  done: { fa: انجام شد, en: Done, sms: true }
templates:
  status_changed:
    fa: "درخواست {{ tracking_code | fa_digits }} در {{ instance.started_at | jalali_datetime }} ثبت شد؛ پروانه تا {{ input.expires_on | jalali }} اعتبار دارد."
    en: "Request {{ tracking_code }} of {{ instance.started_at | jalali_datetime('latin') }}: the licence is valid until {{ input.expires_on | jalali('latin') }}."
steps:
  - id: finish
    status: done
    end: { outcome: completed }
"#;

fn definition() -> Definition {
    let compiled = compile("licence.yaml", WORKFLOW, Options::default()).unwrap_or_else(|d| {
        panic!(
            "{}",
            d.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    Definition::new(compiled).expect("definition")
}

#[test]
fn a_workflow_template_renders_with_the_filters() {
    let def = definition();
    let ctx = json!({
        "tracking_code": "1405-000123",
        "status": {"fa": "انجام شد", "en": "Done"},
        "instance": {"started_at": "2026-11-22T21:00:00Z"},
        "input": {"national_id": "0499370899", "expires_on": "2027-03-20"},
    });
    assert_eq!(
        def.render("status_changed", "fa", &ctx).unwrap(),
        "درخواست ۱۴۰۵-۰۰۰۱۲۳ در ۱۴۰۵/۰۹/۰۲ ۰۰:۳۰ ثبت شد؛ پروانه تا ۱۴۰۵/۱۲/۲۹ اعتبار دارد."
    );
    assert_eq!(
        def.render("status_changed", "en", &ctx).unwrap(),
        "Request 1405-000123 of 1405/09/02 00:30: the licence is valid until 1405/12/29."
    );
}

#[test]
fn a_bad_date_in_a_workflow_template_is_an_error() {
    let def = definition();
    let ctx = json!({
        "tracking_code": "1405-000123",
        "instance": {"started_at": "2026-11-22T21:00:00Z"},
        "input": {"expires_on": "20/03/2027"},
    });
    let e = def.render("status_changed", "fa", &ctx).unwrap_err();
    assert!(
        e.contains("status_changed") && e.contains("20/03/2027"),
        "{e}"
    );
}

/// Validation knows the engine's filters from `daftar_definitions::ENGINE_FILTERS`: the engine
/// registers each of them, and no other beyond minijinja's own.
#[test]
fn the_engine_registers_exactly_the_filters_validation_knows() {
    let plain = minijinja::Environment::new();
    let engine = env();
    let unknown = |env: &minijinja::Environment<'_>, name: &str| {
        matches!(
            env.render_str(&format!("{{{{ '2026-03-21' | {name} }}}}"), ()),
            Err(e) if e.kind() == minijinja::ErrorKind::UnknownFilter
        )
    };
    for name in daftar_definitions::ENGINE_FILTERS {
        assert!(unknown(&plain, name), "`{name}` is not one of minijinja's");
        assert!(!unknown(&engine, name), "the engine registers `{name}`");
    }
    assert!(unknown(&engine, "shamsi"));
}
