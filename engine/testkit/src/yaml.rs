//! Pieces of workflow YAML that many tests write the same way, as macros that expand to string
//! literals so that a test's workflow stays a `const` (`concat!` of the pieces and its own
//! text).

/// The metadata every test workflow starts with: `daftar: 1`, its id, version 1, its title,
/// agency, in force from 2026-01-01, and its SLA.
#[macro_export]
macro_rules! workflow_meta {
    ($id:literal, $fa:literal, $en:literal, $agency:literal, $sla:literal) => {
        concat!(
            "\ndaftar: 1\nid: ",
            $id,
            "\nversion: 1\ntitle: { fa: ",
            $fa,
            ", en: ",
            $en,
            " }\nagency: ",
            $agency,
            "\nin_force_from: 2026-01-01\nsla: ",
            $sla,
            "\n"
        )
    };
}

/// The applicant's form: a national ID and a mobile number, both required; `extra` adds
/// properties, each a line indented by six spaces.
#[macro_export]
macro_rules! applicant_form {
    ($($extra:literal),*) => {
        concat!(
            "input:\n  schema:\n    type: object\n    required: [national_id, mobile]\n",
            "    properties:\n      national_id: { type: string, format: ir-national-id }\n",
            "      mobile: { type: string, format: ir-mobile }\n",
            $($extra, "\n",)*
        )
    };
}

/// [`applicant_form!`] that takes no other property (`additionalProperties: false`).
#[macro_export]
macro_rules! closed_applicant_form {
    () => {
        concat!(
            "input:\n  schema:\n    type: object\n    required: [national_id, mobile]\n",
            "    additionalProperties: false\n",
            "    properties:\n      national_id: { type: string, format: ir-national-id }\n",
            "      mobile: { type: string, format: ir-mobile }\n",
        )
    };
}

/// The statuses of a review: `reviewing` and `approved`, neither with an SMS.
#[macro_export]
macro_rules! review_statuses {
    () => {
        concat!(
            "statuses:\n  reviewing: { fa: در حال بررسی, en: Under review, sms: false }\n",
            "  approved: { fa: تأیید شد, en: Approved, sms: false }\n",
        )
    };
}

/// The template of the SMS sent on a status change.
#[macro_export]
macro_rules! status_sms_template {
    () => {
        concat!(
            "templates:\n  status_changed:\n",
            "    fa: \"درخواست {{ tracking_code }}: {{ status.fa }}\"\n",
            "    en: \"Request {{ tracking_code }}: {{ status.en }}\"\n"
        )
    };
}

/// The criminal-record inquiry at step `record`, which sets `clean`, with the status
/// `checking`.
#[macro_export]
macro_rules! criminal_record_step {
    () => {
        concat!(
            "  - id: record\n    status: checking\n    inquiry:\n",
            "      connector: judiciary_records\n      operation: criminal_record\n",
            "      input: { national_id: input.national_id }\n",
            "      output: { clean: \"!response.has_record\" }\n"
        )
    };
}

/// A clean-record certificate of the judiciary with the id `$id`: the criminal-record
/// inquiry, then `$between` (more steps, or nothing), a decision on `clean`, and the
/// certificate issued or refused; statuses `checking` and `issued`, each with an SMS.
#[macro_export]
macro_rules! certificate_workflow {
    ($id:literal, $between:literal) => {
        concat!(
            $crate::workflow_meta!($id, "گواهی", "Certificate", "judiciary", "13h"),
            $crate::applicant_form!(),
            "statuses:\n  checking: { fa: در حال بررسی, en: Checking, sms: true }\n",
            "  issued: { fa: صادر شد, en: Issued, sms: true }\n",
            $crate::status_sms_template!(),
            "steps:\n",
            $crate::criminal_record_step!(),
            $between,
            r#"  - id: decide
    decision:
      cases:
        - when: clean
          next: issue
      default: refuse
  - id: issue
    status: issued
    end: { outcome: issued, document: { type: clean_record_certificate } }
  - id: refuse
    end: { outcome: rejected }
"#
        )
    };
}
