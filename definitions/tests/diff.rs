//! Two versions of a service compared: the steps, the conditions (a removed one is what the
//! national permits portal must see never comes back), what the citizen provides, and the
//! sources' lines.

use daftar_definitions::diff::{Condition, compare};
use daftar_definitions::{CompiledDefinition, Options, compile};

const CLEAN_RECORD: &str = include_str!("../../examples/workflows/clean-record-certificate.yaml");

fn compiled(name: &str, text: &str) -> CompiledDefinition {
    compile(name, text, Options::default()).unwrap_or_else(|d| panic!("{name}: {d:?}"))
}

/// Version 2 drops the identity check's condition, asks for a postal code, and allows 1 day.
fn version_two() -> String {
    let text = CLEAN_RECORD
        .replace("version: 1", "version: 2")
        .replace("sla: 13h", "sla: 1d")
        .replace(
            "required: [national_id, mobile, birth_date, purpose]",
            "required: [national_id, mobile, birth_date, purpose, postal_code]",
        )
        .replace(
            "      purpose:\n",
            "      postal_code: { type: string, pattern: \"^[0-9]{10}$\" }\n      purpose:\n",
        )
        .replace("purpose: employment }", "purpose: employment, postal_code: \"1234567890\" }")
        .replace("purpose: emigration }", "purpose: emigration, postal_code: \"1234567890\" }")
        .replace(
            "        - when: \"!identity_ok\"\n          next: identity_not_verified\n          reason: The national ID and birth date do not match a living person at the civil registry.\n",
            "        - when: \"false\"\n          next: identity_not_verified\n",
        );
    assert_ne!(text, CLEAN_RECORD, "the edits must apply");
    text
}

#[test]
fn a_removed_condition_and_a_new_requirement_are_called_out() {
    let old = compiled("v1.yaml", CLEAN_RECORD);
    let new = compiled("v2.yaml", &version_two());
    let diff = compare(&old, &new);

    assert_eq!(
        diff.conditions.removed,
        vec![Condition {
            step: "check_identity".into(),
            when: "!identity_ok".into(),
            next: "identity_not_verified".into(),
            reason: Some(
                "The national ID and birth date do not match a living person at the civil registry."
                    .into()
            ),
        }]
    );
    assert_eq!(diff.conditions.added.len(), 1);
    assert_eq!(diff.conditions.added[0].when, "false");
    assert_eq!(diff.required_fields.added, vec!["postal_code".to_owned()]);
    assert_eq!(diff.fields.added, vec!["postal_code".to_owned()]);
    assert!(diff.required_fields.removed.is_empty());
    assert_eq!(diff.sla, Some(["13h".to_owned(), "1day".to_owned()]));
    assert_eq!(diff.steps.changed, vec!["check_identity".to_owned()]);
    assert!(diff.steps.added.is_empty() && diff.steps.removed.is_empty());
    assert!(diff.inquiries.added.is_empty() && diff.inquiries.removed.is_empty());

    // The source lines: the removed `when` line is a `-` at its number in version 1.
    let lines: Vec<_> = diff.source.iter().flat_map(|h| &h.lines).collect();
    let removed = lines
        .iter()
        .find(|l| l.tag == '-' && l.text.contains("!identity_ok"))
        .expect("the removed condition's line");
    let number = CLEAN_RECORD
        .lines()
        .position(|l| l.contains("when: \"!identity_ok\""))
        .expect("in version 1")
        + 1;
    assert_eq!(removed.old, Some(number));
    assert_eq!(removed.new, None);
    assert!(
        lines
            .iter()
            .any(|l| l.tag == '+' && l.text.contains("postal_code"))
    );
}

#[test]
fn a_version_compared_with_itself_has_no_changes() {
    let def = compiled("v1.yaml", CLEAN_RECORD);
    let diff = compare(&def, &def);
    assert!(diff.source.is_empty());
    assert!(diff.conditions.added.is_empty() && diff.conditions.removed.is_empty());
    assert!(diff.steps.changed.is_empty());
    assert_eq!(diff.sla, None);
}
