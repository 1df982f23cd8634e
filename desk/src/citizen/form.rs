//! A form generated from a JSON Schema (a service's input, a task's form): one labelled field
//! per property, the submitted text read back into JSON by the property's type, and the
//! schema's violations (from the engine's own validator) placed next to their fields, all at
//! once.

use serde::Serialize;
use serde_json::{Map, Value};

/// One field of a generated form.
#[derive(Clone, Debug, Serialize)]
pub struct Field {
    /// The property's name, the field's `name`.
    pub name: String,
    /// Its label in Persian.
    pub fa: String,
    /// Its label in English.
    pub en: String,
    /// The schema's description, if any.
    pub hint: Option<String>,
    /// Whether it is a date (`format: date`): typed in the Jalali calendar, or as an ISO date.
    pub date: bool,
    /// `text`, `number`, `select` or `checkbox`.
    pub kind: &'static str,
    /// The browser's input mode (`numeric`, `tel`, `decimal`), a hint for phone keyboards.
    pub inputmode: Option<&'static str>,
    /// Whether it must be filled.
    pub required: bool,
    /// A `select`'s choices.
    pub options: Vec<String>,
    /// What was typed, to fill the field again after a refusal.
    pub value: String,
    /// What is wrong with it.
    pub errors: Vec<Msg>,
}

/// A message in both languages (the schema validator's in English, with daftar's Persian).
#[derive(Clone, Debug, Serialize)]
pub struct Msg {
    /// Persian.
    pub fa: String,
    /// English.
    pub en: String,
}

impl Msg {
    pub(crate) fn new(fa: &str, en: &str) -> Msg {
        Msg {
            fa: fa.to_owned(),
            en: en.to_owned(),
        }
    }
}

/// Names daftar's example services use, with their labels; other properties are labelled by
/// their `title` or their name.
const KNOWN: &[(&str, &str, &str)] = &[
    ("national_id", "کد ملی", "National ID"),
    ("mobile", "شماره همراه", "Mobile number"),
    ("birth_date", "تاریخ تولد", "Date of birth"),
    ("purpose", "هدف درخواست", "Purpose"),
    ("postal_code", "کد پستی", "Postal code"),
    ("category", "دسته", "Category"),
    ("business_title", "عنوان کسب‌وکار", "Business name"),
    (
        "health_card_number",
        "شماره کارت بهداشت",
        "Health card number",
    ),
    ("area", "مساحت (متر مربع)", "Area (square metres)"),
    ("latitude", "عرض جغرافیایی", "Latitude"),
    ("longitude", "طول جغرافیایی", "Longitude"),
    ("registration_plate", "پلاک ثبتی", "Registration plate"),
    ("water_right_id", "شناسه حق‌آبه", "Water right ID"),
    ("notes", "یادداشت", "Notes"),
    ("reason", "دلیل", "Reason"),
];

/// The fields of `schema`'s properties, in the schema's order.
pub fn fields(schema: &Value) -> Vec<Field> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    // The schema's own order is lost in reading it: the required fields come first, in the
    // order `required` names them, then the others by name.
    let mut names: Vec<&String> = props.keys().collect();
    names.sort_by_key(|n| {
        (
            required.iter().position(|r| r == n).unwrap_or(usize::MAX),
            n.as_str(),
        )
    });
    names
        .into_iter()
        .map(|name| (name, &props[name]))
        .map(|(name, p)| {
            let (fa, en) = match KNOWN.iter().find(|(n, _, _)| n == name) {
                Some((_, fa, en)) => ((*fa).to_owned(), (*en).to_owned()),
                None => {
                    let t = p
                        .get("title")
                        .and_then(Value::as_str)
                        .map_or_else(|| name.replace('_', " "), str::to_owned);
                    (t.clone(), t)
                }
            };
            let options: Vec<String> = p
                .get("enum")
                .and_then(Value::as_array)
                .map(|e| {
                    e.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let ty = type_of(p);
            let format = p.get("format").and_then(Value::as_str).unwrap_or("");
            let (kind, inputmode) = if !options.is_empty() {
                ("select", None)
            } else {
                match (ty, format) {
                    ("integer", _) => ("text", Some("numeric")),
                    ("number", _) => ("text", Some("decimal")),
                    ("boolean", _) => ("checkbox", None),
                    (_, "ir-mobile") => ("text", Some("tel")),
                    (_, "ir-national-id" | "ir-postal-code") => ("text", Some("numeric")),
                    _ => ("text", None),
                }
            };
            Field {
                name: name.clone(),
                fa,
                en,
                hint: p
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                kind,
                inputmode,
                date: format == "date",
                required: required.contains(&name.as_str()),
                options,
                value: String::new(),
                errors: Vec::new(),
            }
        })
        .collect()
}

fn type_of(p: &Value) -> &str {
    match p.get("type") {
        Some(Value::String(t)) => t,
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string"),
        _ => "string",
    }
}

/// What a submitted form says, read by `schema`: its JSON, and the fields filled in again
/// with what was typed and the errors found in reading it (a required field left empty, a
/// number that is not one).
pub fn read(schema: &Value, submitted: &[(String, String)]) -> (Value, Vec<Field>) {
    let mut fields = fields(schema);
    let mut out = Map::new();
    let props = schema.get("properties").and_then(Value::as_object);
    for f in &mut fields {
        let raw = submitted
            .iter()
            .find(|(k, _)| *k == f.name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default();
        f.value.clone_from(&raw);
        let p = props.and_then(|p| p.get(&f.name)).unwrap_or(&Value::Null);
        if f.kind == "checkbox" {
            out.insert(f.name.clone(), Value::Bool(!raw.is_empty()));
            continue;
        }
        if raw.is_empty() {
            if f.required {
                f.errors.push(required_text());
            }
            continue;
        }
        let ascii = ascii_digits(&raw);
        let value = match type_of(p) {
            "integer" => match ascii.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    f.errors
                        .push(Msg::new("یک عدد صحیح بنویسید.", "Write a whole number."));
                    continue;
                }
            },
            "number" => match ascii
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
            {
                Some(n) => Value::Number(n),
                None => {
                    f.errors
                        .push(Msg::new("یک عدد بنویسید.", "Write a number."));
                    continue;
                }
            },
            _ => match p.get("format").and_then(Value::as_str) {
                Some("ir-mobile") => Value::String(daftar_api::mobile::normalize(&raw)),
                Some("date") => match date(&ascii) {
                    Some(d) => Value::String(d),
                    None => {
                        f.errors.push(Msg::new(
                            "تاریخ را خورشیدی بنویسید، مانند ۱۳۶۹/۱۰/۱۱.",
                            "Write the date in the Jalali calendar, as 1369/10/11, or as 1990-12-31.",
                        ));
                        continue;
                    }
                },
                Some("ir-national-id" | "ir-postal-code") => Value::String(ascii),
                _ => Value::String(raw),
            },
        };
        out.insert(f.name.clone(), value);
    }
    (Value::Object(out), fields)
}

/// A date as typed (digits already ASCII), in the Jalali calendar when its year is before
/// [`crate::i18n::GREGORIAN_FROM`], else Gregorian; answered as the ISO date the schema's
/// `format: date` wants.
fn date(typed: &str) -> Option<String> {
    let (y, m, d) = crate::i18n::ymd(typed)?;
    let date = if y < crate::i18n::GREGORIAN_FROM {
        daftar_engine::templates::from_jalali(y, m, d).ok()?
    } else {
        chrono::NaiveDate::from_ymd_opt(y, u32::from(m), u32::from(d))?
    };
    Some(date.format("%Y-%m-%d").to_string())
}

fn required_text() -> Msg {
    Msg::new("این خانه را پر کنید.", "Fill in this field.")
}

/// Places the schema's violations (JSON pointer, message) next to their fields; the ones of
/// no field (or about a required field already marked) are returned for the top of the form.
pub fn place(fields: &mut [Field], violations: &[(String, Msg)]) -> Vec<Msg> {
    let mut rest = Vec::new();
    for (pointer, message) in violations {
        let name = pointer
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("");
        match fields
            .iter_mut()
            .find(|f| !name.is_empty() && f.name == name)
        {
            Some(f) => f.errors.push(message.clone()),
            None => {
                // A missing required property is reported at the root; its field says so.
                let marked = fields.iter().any(|f| {
                    !f.errors.is_empty() && message.en.contains(&format!("\"{}\"", f.name))
                });
                if !marked {
                    rest.push(message.clone());
                }
            }
        }
    }
    rest
}

/// A schema violation of the engine's, as (JSON pointer, message in both languages).
pub fn violation(v: &daftar_engine::Violation) -> (String, Msg) {
    (v.pointer.clone(), Msg::new(&v.fa, &v.message))
}

/// The schema violations an API error lists, as (JSON pointer, message in both languages).
pub fn violations(e: &daftar_api::problem::ApiError) -> Vec<(String, Msg)> {
    e.errors
        .iter()
        .map(|f| (f.pointer.clone(), Msg::new(&f.detail_fa, &f.detail)))
        .collect()
}

/// Persian and Arabic-Indic digits as ASCII, as citizens type them on Persian keyboards.
fn ascii_digits(s: &str) -> String {
    crate::i18n::ascii_digits(s)
}

/// The value a submitted form gives `name`, or nothing.
pub fn value(submitted: &[(String, String)], name: &str) -> String {
    submitted
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// A fresh key that makes a form's filing happen once however often it is sent.
pub fn filing_key() -> String {
    rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_form_is_read_by_its_schema_and_every_error_is_placed() {
        let schema = json!({"type": "object", "required": ["national_id", "area", "mobile"],
            "properties": {"national_id": {"type": "string", "format": "ir-national-id"},
                "mobile": {"type": "string", "format": "ir-mobile"},
                "area": {"type": "integer"}, "kind": {"type": "string", "enum": ["a", "b"]}}});
        let (value, mut fields) = read(
            &schema,
            &[
                ("national_id".into(), "۰۴۹۹۳۷۰۸۹۹".into()),
                ("area".into(), "many".into()),
                ("mobile".into(), "".into()),
            ],
        );
        assert_eq!(value, json!({"national_id": "0499370899"}));
        let by = |n: &str| fields.iter().find(|f| f.name == n).unwrap().errors.len();
        assert_eq!((by("area"), by("mobile"), by("kind")), (1, 1, 0));
        let msg = |en: &str| Msg::new("فارسی", en);
        let rest = place(
            &mut fields,
            &[
                ("/kind".into(), msg("\"c\" is not one of")),
                ("".into(), msg("\"mobile\" is a required property")),
                ("".into(), msg("something else")),
            ],
        );
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].en, "something else");
        assert_eq!(
            fields
                .iter()
                .find(|f| f.name == "kind")
                .unwrap()
                .errors
                .len(),
            1
        );
        assert_eq!(
            fields.iter().find(|f| f.name == "kind").unwrap().kind,
            "select"
        );
    }

    #[test]
    fn a_date_is_typed_in_the_jalali_calendar_or_as_an_iso_date() {
        let schema = json!({"type": "object",
            "properties": {"birth_date": {"type": "string", "format": "date"}}});
        let read_date = |typed: &str| {
            let (value, fields) = read(&schema, &[("birth_date".into(), typed.into())]);
            (
                value["birth_date"].as_str().map(str::to_owned),
                fields[0].errors.len(),
            )
        };
        // 11 Dey 1369 is 1 January 1991; Nowruz 1403 is 20 March 2024.
        assert_eq!(read_date("۱۳۶۹/۱۰/۱۱"), (Some("1991-01-01".into()), 0));
        assert_eq!(read_date("1403/1/1"), (Some("2024-03-20".into()), 0));
        assert_eq!(read_date("1990-01-01"), (Some("1990-01-01".into()), 0));
        // 1403 is a leap year: Esfand has 30 days; 1402 is not.
        assert_eq!(read_date("1403/12/30"), (Some("2025-03-20".into()), 0));
        for bad in [
            "1402/12/30",
            "1369/13/01",
            "1369/10",
            "1990-02-30",
            "yesterday",
        ] {
            assert_eq!(read_date(bad), (None, 1), "{bad}");
        }
        assert!(fields(&schema)[0].date);
    }
}
