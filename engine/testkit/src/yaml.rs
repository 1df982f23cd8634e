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

/// [`review_statuses!`] and `rejected`, for a review that can end either way.
#[macro_export]
macro_rules! review_outcome_statuses {
    () => {
        concat!(
            $crate::review_statuses!(),
            "  rejected: { fa: رد شد, en: Rejected, sms: false }\n",
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

/// The statuses `checking` and `done`, each with an SMS.
#[macro_export]
macro_rules! checking_done_statuses {
    () => {
        concat!(
            "statuses:\n  checking: { fa: در حال بررسی, en: Checking, sms: true }\n",
            "  done: { fa: انجام شد, en: Done, sms: true }\n",
        )
    };
}

/// The form `review`: a required, non-empty `note`.
#[macro_export]
macro_rules! review_form {
    () => {
        r#"forms:
  review:
    schema:
      type: object
      required: [note]
      properties:
        note: { type: string, minLength: 1 }
"#
    };
}

/// The identity inquiry at step `identity`, with the status `checking`: sets `alive`, tries
/// three times a second apart, and goes to `refused` when the registry says no.
#[macro_export]
macro_rules! identity_step {
    () => {
        r#"  - id: identity
    status: checking
    inquiry:
      connector: civil_registry
      operation: identity_match
      input: { national_id: input.national_id }
      output: { alive: response.alive }
      retry: { max_attempts: 3, initial_interval: 1s }
      on_failure: refused
"#
    };
}

/// The health officer's task at step `review` with the form `review`, due in three days and
/// escalated to `supervisor` after two; outcome `approve` goes to `$approve`, `reject` to
/// `$reject`; sets `note`.
#[macro_export]
macro_rules! review_task {
    ($approve:literal, $reject:literal) => {
        concat!(
            "  - id: review\n    task:\n      role: health_officer\n      form: review\n",
            "      due: 3d\n      escalation:\n        - { after: 2d, to: supervisor }\n",
            "      outcomes: { approve: ",
            $approve,
            ", reject: ",
            $reject,
            " }\n      output: { note: form.note }\n"
        )
    };
}

/// The wait at step `await_answer` for the applicant's answer, correlated by the tracking
/// code, for seven days (then to `expired`); sets `answer`.
#[macro_export]
macro_rules! answer_wait {
    () => {
        r#"  - id: await_answer
    wait:
      message: applicant_answer
      correlation: instance.tracking_code
      timeout: 7d
      on_timeout: expired
      output: { answer: message.text }
"#
    };
}

/// The parallel step `checks` joined by `$join`: a civil branch that waits an hour and a
/// military one that waits two.
#[macro_export]
macro_rules! parallel_waits {
    ($join:literal) => {
        concat!(
            "  - id: checks\n    parallel:\n      join: ",
            $join,
            "\n      branches:\n",
            "        - id: civil\n          steps:\n            - id: civil_wait\n",
            "              wait: { duration: 1h }\n",
            "        - id: military\n          steps:\n            - id: military_wait\n",
            "              wait: { duration: 2h }\n"
        )
    };
}
