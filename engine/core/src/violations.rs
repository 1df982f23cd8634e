//! What a form's schema refuses, said in Persian for the citizen who filled it in: the JSON
//! Schema validator (`jsonschema`) says it in English only. Each kind of refusal the services'
//! forms use has its sentence; the formats daftar adds (national ID, mobile, postal code) say
//! what a right one looks like.

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind as Kind};
use serde_json::Value;

use crate::templates::persian_digits;

/// The Persian sentence for one refusal.
pub fn persian(e: &ValidationError<'_>) -> String {
    let n = |v: &Value| persian_digits(&v.to_string());
    let count = |v: u64| persian_digits(&v.to_string());
    match e.kind() {
        Kind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            format!("خانهٔ «{name}» را پر کنید.")
        }
        Kind::Type { kind } => match kind {
            TypeKind::Single(t) => format!("اینجا {} بنویسید.", type_fa(&t.to_string())),
            TypeKind::Multiple(_) => "نوع این مقدار درست نیست.".to_owned(),
        },
        Kind::Enum { .. } => "یکی از گزینه‌های پیشنهادی را برگزینید.".to_owned(),
        Kind::Constant { .. } => "این مقدار پذیرفته نیست.".to_owned(),
        Kind::Format { format } => match format.as_str() {
            "ir-national-id" => {
                "کد ملی درست نیست: ده رقم، با رقم کنترل درست (مانند ۰۴۹۹۳۷۰۸۹۹).".to_owned()
            }
            "ir-mobile" => "شمارهٔ همراه درست نیست: مانند ۰۹۱۲۱۲۳۴۵۶۷.".to_owned(),
            "ir-postal-code" => "کد پستی درست نیست: ده رقم.".to_owned(),
            "date" => "تاریخ درست نیست.".to_owned(),
            "date-time" => "زمان درست نیست.".to_owned(),
            "email" => "نشانی رایانامه درست نیست.".to_owned(),
            other => format!("قالب این مقدار درست نیست ({other})."),
        },
        Kind::Minimum { limit } => format!("دست‌کم {} باشد.", n(limit)),
        Kind::Maximum { limit } => format!("حداکثر {} باشد.", n(limit)),
        Kind::ExclusiveMinimum { limit } => format!("بیشتر از {} باشد.", n(limit)),
        Kind::ExclusiveMaximum { limit } => format!("کمتر از {} باشد.", n(limit)),
        Kind::MultipleOf { .. } => "این عدد پذیرفته نیست.".to_owned(),
        Kind::MinLength { limit } => format!("دست‌کم {} نویسه بنویسید.", count(*limit)),
        Kind::MaxLength { limit } => format!("حداکثر {} نویسه بنویسید.", count(*limit)),
        Kind::Pattern { .. } => "قالب این مقدار درست نیست.".to_owned(),
        Kind::MinItems { limit } => format!("دست‌کم {} مورد بیاورید.", count(*limit)),
        Kind::MaxItems { limit } => format!("حداکثر {} مورد بیاورید.", count(*limit)),
        Kind::AdditionalProperties { unexpected } => {
            format!("این خانه‌ها در فرم نیستند: {}.", unexpected.join("، "))
        }
        _ => "این مقدار با فرم خدمت نمی‌خواند.".to_owned(),
    }
}

fn type_fa(t: &str) -> &'static str {
    match t {
        "string" => "متن",
        "integer" => "عدد درست",
        "number" => "عدد",
        "boolean" => "بله یا خیر",
        "array" => "فهرست",
        "object" => "مجموعه‌ای از خانه‌ها",
        _ => "مقداری از نوع درست",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    fn said(schema: serde_json::Value, value: serde_json::Value) -> Vec<String> {
        let v = jsonschema::validator_for(&schema).unwrap();
        v.iter_errors(&value).map(|e| super::persian(&e)).collect()
    }

    #[test]
    fn each_refusal_is_said_in_persian() {
        let schema = json!({"type": "object", "required": ["mobile"],
            "properties": {"area": {"type": "integer", "minimum": 20},
                "kind": {"enum": ["a", "b"]}, "name": {"type": "string", "maxLength": 3}}});
        let mut all = said(schema, json!({"area": 5, "kind": "c", "name": "long"}));
        all.sort();
        assert_eq!(
            all,
            [
                "حداکثر ۳ نویسه بنویسید.",
                "خانهٔ «mobile» را پر کنید.",
                "دست‌کم ۲۰ باشد.",
                "یکی از گزینه‌های پیشنهادی را برگزینید."
            ]
        );
        assert_eq!(
            said(json!({"type": "integer"}), json!("x")),
            ["اینجا عدد درست بنویسید."]
        );
    }
}
