//! Why a decision went the way it did, in words: the sentence the auditor's timeline and the
//! desk's record page show for a `DecisionTaken`, Persian first with English. Built from the
//! evidence alone (the conditions as written, the values they read, the definition's
//! `reason`), so a history explains itself without the definition, and a caller that masks
//! personal values in the evidence first gets a sentence with them masked.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::DecisionEvidence;
use crate::templates::persian_digits;

/// A sentence in Persian and English.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sentence {
    /// Persian.
    pub fa: String,
    /// English.
    pub en: String,
}

/// Comparison operators, longest first so that `<=` is not read as `<`.
const OPERATORS: [(&str, &str, &str); 6] = [
    ("<=", "at most", "حداکثر"),
    (">=", "at least", "دست‌کم"),
    ("==", "equal to", "برابر با"),
    ("!=", "not", "مخالف"),
    ("<", "under", "کمتر از"),
    (">", "over", "بیشتر از"),
];

impl DecisionEvidence {
    /// The decision of step `step` as a sentence a citizen can follow: each condition tried,
    /// whether it held and on what values, the step taken and the definition's reason. The
    /// values are what the evidence holds: mask it first for a reader who may not see them.
    pub fn explain(&self, step: &str) -> Sentence {
        let mut fa = Vec::new();
        let mut en = Vec::new();
        for (i, (when, result)) in self.cases.iter().enumerate() {
            let held = result == &Value::Bool(true);
            let read = self.read_of(i, when);
            let (f, e) = clause(when, held, &read);
            fa.push(f);
            en.push(e);
        }
        let next = &self.next;
        let (fa_end, en_end) = match self.chosen {
            Some(_) => (
                format!("پس درخواست به مرحلهٔ «{next}» رفت"),
                format!("so the request went on to step `{next}`"),
            ),
            None if self.cases.is_empty() => (
                format!("درخواست به مرحلهٔ پیش‌فرض «{next}» رفت"),
                format!("the request went on to the default step `{next}`"),
            ),
            None => (
                format!("هیچ شرطی برقرار نبود، پس درخواست به مرحلهٔ پیش‌فرض «{next}» رفت"),
                format!("none held, so the request went on to the default step `{next}`"),
            ),
        };
        fa.push(fa_end);
        en.push(en_end);
        let mut fa = persian_digits(&format!("تصمیم «{step}»: {}.", fa.join("؛ ")));
        let mut en = format!("Decision `{step}`: {}.", en.join("; "));
        // The definition's reason is quoted as written, in whatever language it is.
        if let Some(reason) = &self.reason {
            fa.push_str(&format!(" دلیل: {reason}"));
            en.push_str(&format!(" Reason: {reason}"));
        }
        Sentence { fa, en }
    }

    /// The values case `i` read: recorded with it, or, in a decision recorded before daftar
    /// kept them, the variables of `inputs` its condition names (the application's fields
    /// were not kept then).
    fn read_of(&self, i: usize, when: &str) -> BTreeMap<String, Value> {
        if let Some(read) = self.read.get(i) {
            return read.clone();
        }
        daftar_definitions::expression_reads(when)
            .into_iter()
            .filter_map(|name| self.inputs.get(&name).map(|v| (name, v.clone())))
            .collect()
    }
}

/// One condition as words: `input.age < 18` that held on 17 is "input.age 17 is under 18";
/// `!identity_ok` that held is "identity_ok is false"; anything else names the condition and
/// lists the values it read.
fn clause(when: &str, held: bool, read: &BTreeMap<String, Value>) -> (String, String) {
    let w = when.trim();
    // `name` or `!name`: a yes/no fact.
    let bare = w.strip_prefix('!').map_or(w, str::trim);
    if let Some(value) = read.get(bare) {
        let (fa, en) = shown(value);
        let verb = if held {
            ""
        } else {
            " (the condition did not hold)"
        };
        let fa_verb = if held {
            ""
        } else {
            " (شرط برقرار نبود)"
        };
        return (
            format!("{bare} {fa} بود{fa_verb}"),
            format!("{bare} was {en}{verb}"),
        );
    }
    // `name OP literal`.
    for (op, en_op, fa_op) in OPERATORS {
        if let Some((left, right)) = w.split_once(op) {
            let (left, right) = (left.trim(), right.trim());
            if right.starts_with('=') {
                continue;
            }
            if let Some(value) = read.get(left) {
                let (fa_v, en_v) = shown(value);
                let (fa_is, en_is) = if held {
                    ("است", "is")
                } else {
                    ("نیست", "is not")
                };
                return (
                    format!("{left} {fa_v} {fa_op} {right} {fa_is}"),
                    format!("{left} {en_v} {en_is} {en_op} {right}"),
                );
            }
        }
    }
    let values_en: Vec<String> = read
        .iter()
        .map(|(k, v)| format!("{k} = {}", shown(v).1))
        .collect();
    let values_fa: Vec<String> = read
        .iter()
        .map(|(k, v)| format!("{k} = {}", shown(v).0))
        .collect();
    let (fa_held, en_held) = if held {
        ("برقرار بود", "held")
    } else {
        ("برقرار نبود", "did not hold")
    };
    if read.is_empty() {
        (
            format!("شرط «{w}» {fa_held}"),
            format!("the condition `{w}` {en_held}"),
        )
    } else {
        (
            format!("شرط «{w}» {fa_held} ({})", values_fa.join("، ")),
            format!("the condition `{w}` {en_held} ({})", values_en.join(", ")),
        )
    }
}

/// A value as the sentence shows it, in Persian and English.
fn shown(value: &Value) -> (String, String) {
    match value {
        Value::Bool(true) => ("«درست»".to_owned(), "true".to_owned()),
        Value::Bool(false) => ("«نادرست»".to_owned(), "false".to_owned()),
        Value::Null => ("«تعیین‌نشده»".to_owned(), "not set".to_owned()),
        Value::String(s) => (format!("«{s}»"), format!("\"{s}\"")),
        other => (other.to_string(), other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn evidence(
        cases: Vec<(&str, bool)>,
        chosen: Option<usize>,
        read: Vec<Value>,
    ) -> DecisionEvidence {
        DecisionEvidence {
            cases: cases
                .into_iter()
                .map(|(w, b)| (w.to_owned(), Value::Bool(b)))
                .collect(),
            chosen,
            next: "refused".into(),
            inputs: BTreeMap::new(),
            read: read
                .into_iter()
                .map(|v| serde_json::from_value(v).unwrap())
                .collect(),
            reason: chosen.map(|_| "Applicants must be adults.".to_owned()),
        }
    }

    #[test]
    fn a_comparison_that_held_reads_as_a_sentence_with_its_value() {
        let e = evidence(
            vec![("input.age < 18", true)],
            Some(0),
            vec![json!({"input.age": 17})],
        );
        let s = e.explain("age_check");
        assert_eq!(
            s.en,
            "Decision `age_check`: input.age 17 is under 18; so the request went on to step \
             `refused`. Reason: Applicants must be adults."
        );
        assert!(
            s.fa.starts_with("تصمیم «age_check»: input.age ۱۷ کمتر از ۱۸ است"),
            "{}",
            s.fa
        );
    }

    #[test]
    fn a_fact_that_did_not_hold_and_the_default_are_named() {
        let e = evidence(
            vec![("!identity_ok", false)],
            None,
            vec![json!({"identity_ok": true})],
        );
        let s = e.explain("check");
        assert_eq!(
            s.en,
            "Decision `check`: identity_ok was true (the condition did not hold); none held, so \
             the request went on to the default step `refused`."
        );
    }

    #[test]
    fn an_old_decision_without_read_values_takes_them_from_its_variables() {
        let mut e = evidence(vec![("!identity_ok", true)], Some(0), vec![]);
        e.inputs.insert("identity_ok".into(), Value::Bool(false));
        assert!(e.explain("check").en.contains("identity_ok was false"));
    }
}
