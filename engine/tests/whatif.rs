//! What-if replay in the core (`daftar_engine::core::whatif`): recorded histories run through
//! the same definition find no difference, and through a changed one name the request whose
//! outcome or path changes, where the paths part, the decision and the values it read, or what
//! the new definition needs that the history does not hold. The histories are the golden ones
//! of the example services and ones recorded here by the core itself.

use daftar_testkit::golden;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use daftar_definitions::calendar::Calendar;
use daftar_definitions::{Options, compile};
use daftar_engine::Definition;
use daftar_engine::core::whatif::{Verdict, replay};
use daftar_engine::core::{Budget, Command, Ctx, InquiryResult, InstanceState, decide};
use daftar_engine::events::{Actor, Event, InquiryEvidence, RecordedEvent, StreamId};
use serde_json::{Value, json};

const VERIFICATION: &str = include_str!("../../examples/workflows/applicant-verification.yaml");
/// The verification's condition on Shahkar's answer.
const SHAHKAR_CASE: &str = "        - when: \"!mobile_owned\"\n          next: not_verified\n          reason: The mobile number is not registered to this national ID in Shahkar.\n";
const GREENHOUSE: &str = include_str!("../../examples/workflows/greenhouse-permit.yaml");

fn definition(yaml: &str) -> Definition {
    let compiled = compile("test.yaml", yaml, Options::default()).unwrap_or_else(|d| {
        panic!(
            "{:?}",
            d.iter().map(ToString::to_string).collect::<Vec<_>>()
        )
    });
    Definition::new(compiled).unwrap()
}

/// `text` with `from` replaced by `to`, which must be there.
fn edited(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the edit must apply: {from}");
    text.replacen(from, to, 1)
}

/// The golden histories of a service, one per request, decoded.
fn golden_requests(file: &str) -> Vec<Vec<RecordedEvent>> {
    let text = std::fs::read_to_string(golden::dir().join(file)).unwrap();
    let mut streams: BTreeMap<String, Vec<RecordedEvent>> = BTreeMap::new();
    for line in text.lines() {
        let stored = golden::parse(line);
        let event = stored.decode().unwrap();
        let e = stored.map(|_| event);
        streams.entry(e.stream.to_string()).or_default().push(e);
    }
    streams.into_values().collect()
}

fn answered(response: Value) -> InquiryResult {
    InquiryResult::Answered {
        evidence: InquiryEvidence {
            response,
            sha256: "00".into(),
            agency_time: None,
            latency_ms: 5,
        },
    }
}

/// Records a request of `def` the way a node would: each command decided at its own time by
/// its actor, its events kept with their envelope. A command is given to the token waiting
/// on an inquiry: the inquiries here answer in order.
fn record(def: &Definition, input: Value, answers: &[(&str, Value)]) -> Vec<RecordedEvent> {
    let mut state = InstanceState::default();
    let mut out: Vec<RecordedEvent> = Vec::new();
    let mut now: DateTime<Utc> = "2026-11-22T08:00:00Z".parse().unwrap();
    let mut commands = vec![(
        Actor::Citizen,
        Command::Start {
            instance: "i-1".into(),
            tracking_code: "TRK1".into(),
            input,
            parent: None,
        },
    )];
    let mut answers = answers.iter();
    let mut n = 0;
    while let Some((actor, command)) = commands.pop() {
        let ctx = Ctx {
            now,
            actor: actor.clone(),
            budget: Budget::default(),
            calendar: Calendar::shipped(),
            document_code: daftar_testkit::harness::DOCUMENT_CODE.to_owned(),
        };
        n += 1;
        for event in decide(&state, def, &command, &ctx).unwrap() {
            state.apply(&event);
            out.push(RecordedEvent {
                stream: StreamId {
                    agency: "national-permits-portal".into(),
                    instance: "i-1".into(),
                },
                version: state.version,
                position: state.version,
                recorded_at: now,
                workflow: state.workflow.clone(),
                workflow_version: state.workflow_version,
                definition_hash: state.hash.clone(),
                actor: actor.clone(),
                command_id: format!("c{n}"),
                prev_hash: String::new(),
                hash: String::new(),
                event,
            });
        }
        now += Duration::seconds(3);
        let waiting = state.tokens.iter().find_map(|(token, t)| match t.wait {
            daftar_engine::core::Wait::Inquiry { attempt } => Some((*token, attempt)),
            _ => None,
        });
        if let (Some((token, attempt)), Some((connector, response))) = (waiting, answers.next()) {
            commands.push((
                Actor::Connector((*connector).to_owned()),
                Command::InquiryResult {
                    token,
                    attempt,
                    result: answered(response.clone()),
                },
            ));
        }
    }
    out
}

/// An applicant whose identity matches at the civil registry but whose mobile is not theirs.
fn mobile_not_owned(def: &Definition) -> Vec<RecordedEvent> {
    let history = record(
        def,
        json!({"national_id": "0790419904", "mobile": "09131234567", "birth_date": "1985-07-14"}),
        &[
            (
                "civil_registry",
                json!({"matched": true, "is_alive": true, "first_name": "Sara", "last_name": "Ahmadi"}),
            ),
            ("shahkar", json!({"matched": false})),
        ],
    );
    let last = &history.last().unwrap().event;
    assert!(
        matches!(last, Event::InstanceCompleted { step, .. } if step == "not_verified"),
        "recorded as rejected: {last:?}"
    );
    history
}

#[test]
fn every_golden_history_through_its_own_definition_is_the_same() {
    let sources: BTreeMap<&str, &str> = [
        ("applicant-verification", VERIFICATION),
        ("greenhouse-permit", GREENHOUSE),
        (
            "clean-record-certificate",
            include_str!("../../examples/workflows/clean-record-certificate.yaml"),
        ),
        (
            "home-business-permit",
            include_str!("../../examples/workflows/home-business-permit.yaml"),
        ),
        (
            "municipal-building-permit",
            include_str!("../../examples/workflows/municipal-building-permit.yaml"),
        ),
        (
            "passport-renewal",
            include_str!("../../examples/workflows/passport-renewal.yaml"),
        ),
        (
            "utility-connection",
            include_str!("../../examples/workflows/utility-connection.yaml"),
        ),
        (
            "judicial-asset-freeze",
            include_str!("../../examples/workflows/judicial-asset-freeze.yaml"),
        ),
    ]
    .into();
    let definitions: BTreeMap<&str, Definition> =
        sources.iter().map(|(k, v)| (*k, definition(v))).collect();
    let mut checked = 0;
    for entry in std::fs::read_dir(golden::dir()).unwrap() {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        for history in golden_requests(&file) {
            let def = &definitions[history[0].workflow.as_str()];
            let f = replay(&history, def, Calendar::shipped());
            assert_eq!(f.verdict, Verdict::Same, "{file} {}: {:#?}", f.instance, f);
            assert_eq!(f.new_outcome.as_deref(), Some(f.old_outcome.as_str()));
            assert!(f.parted.is_none() && f.needs.is_empty());
            checked += 1;
        }
    }
    assert!(
        checked >= 15,
        "every request of every golden history: {checked}"
    );
}

#[test]
fn a_removed_condition_names_the_request_whose_outcome_changes_and_why() {
    let old = definition(VERIFICATION);
    let history = mobile_not_owned(&old);
    // The same definition: nothing differs.
    assert_eq!(
        replay(&history, &old, Calendar::shipped()).verdict,
        Verdict::Same
    );

    let new = definition(&edited(VERIFICATION, SHAHKAR_CASE, ""));
    let f = replay(&history, &new, Calendar::shipped());
    assert_eq!(f.verdict, Verdict::Differs, "{f:#?}");
    assert_eq!(
        (f.old_outcome.as_str(), f.new_outcome.as_deref()),
        ("rejected", Some("approved"))
    );
    let parted = f.parted.as_ref().expect("the paths part");
    assert_eq!(parted.after.as_deref(), Some("decide"));
    assert_eq!(parted.old_next.as_deref(), Some("not_verified"));
    assert_eq!(parted.new_next.as_deref(), Some("verified"));
    let d = parted
        .decision
        .as_ref()
        .expect("the decision that went the other way");
    // As recorded: the second case held on the value it read, with the definition's reason.
    assert_eq!(d.old.chosen, Some(1));
    assert_eq!(
        d.old.cases[1],
        ("!mobile_owned".to_owned(), Value::Bool(true))
    );
    assert_eq!(d.old.read[1]["mobile_owned"], Value::Bool(false));
    assert_eq!(
        d.old.reason.as_deref(),
        Some("The mobile number is not registered to this national ID in Shahkar.")
    );
    // Now: the one case left does not hold, and the default is taken.
    assert_eq!(d.new.chosen, None);
    assert_eq!(d.new.next, "verified");
    assert!(f.why.en.contains("rejected → approved"), "{}", f.why.en);
    assert!(f.why.en.contains("mobile_owned was false"), "{}", f.why.en);
    assert!(f.why.fa.starts_with("نتیجه تغییر می‌کند"), "{}", f.why.fa);
}

#[test]
fn a_removed_required_inquiry_parts_the_paths_where_it_was() {
    let old = definition(VERIFICATION);
    let history = mobile_not_owned(&old);
    let without_shahkar = edited(
        &edited(
            VERIFICATION,
            "  - id: mobile_owner\n    inquiry:\n      connector: shahkar\n      operation: mobile_ownership\n      input:\n        national_id: input.national_id\n        mobile: input.mobile\n      output:\n        mobile_owned: response.matched\n      on_failure: not_verified\n\n",
            "",
        ),
        SHAHKAR_CASE,
        "",
    );
    let f = replay(&history, &definition(&without_shahkar), Calendar::shipped());
    assert_eq!(f.verdict, Verdict::Differs, "{f:#?}");
    assert_eq!(f.new_outcome.as_deref(), Some("approved"));
    let parted = f.parted.as_ref().unwrap();
    assert_eq!(
        (
            parted.after.as_deref(),
            parted.old_next.as_deref(),
            parted.new_next.as_deref()
        ),
        (Some("identity"), Some("mobile_owner"), Some("decide"))
    );
    assert!(
        parted.decision.is_none(),
        "an inquiry, not a decision, parts them"
    );
}

#[test]
fn what_the_history_does_not_hold_is_named_not_guessed() {
    // The national permits portal's refused greenhouse: Agriculture Jihad found the land not
    // eligible. Without the land check, the request goes on to a payment it never made, of a
    // fee the agency never set.
    let history = golden_requests("greenhouse-permit.refused.jsonl")
        .into_iter()
        .find(|h| h[0].workflow == "greenhouse-permit")
        .unwrap();
    let new = definition(&edited(
        GREENHOUSE,
        "        - when: \"!land_eligible\"\n          next: land_rejected\n          reason: Agriculture Jihad found the land not eligible for a greenhouse.\n",
        "        - when: \"false\"\n          next: land_rejected\n",
    ));
    let f = replay(&history, &new, Calendar::shipped());
    assert_eq!(f.verdict, Verdict::CannotTell, "{f:#?}");
    assert_eq!(f.old_outcome, "rejected");
    assert_eq!(f.new_outcome, None);
    let parted = f
        .parted
        .as_ref()
        .expect("the paths part before it is stuck");
    assert_eq!(
        (
            parted.after.as_deref(),
            parted.old_next.as_deref(),
            parted.new_next.as_deref()
        ),
        (Some("land_check"), Some("land_rejected"), Some("pay_fee"))
    );
    let d = parted.decision.as_ref().unwrap();
    assert_eq!(
        d.new.read[0].get("land_eligible"),
        None,
        "`false` reads nothing"
    );
    // The recorded decision predates `read`: its values come from its variables.
    assert!(d.old.read.is_empty());
    assert!(f.why.en.contains("land_eligible was false"), "{}", f.why.en);
    // Agriculture Jihad set no fee for land it refused: the new definition would stop there.
    assert_eq!(f.needs.len(), 1, "{:?}", f.needs);
    assert_eq!(
        f.needs[0].en,
        "an operator: the new definition stops at step `pay_fee` with an incident (the amount \
         `fee_amount` is 0, not a positive number of rials)"
    );
    assert!(
        f.why.en.starts_with("Cannot tell: needs an operator"),
        "{}",
        f.why.en
    );

    // A new inquiry: no agency was ever asked it.
    let asks_more = edited(
        VERIFICATION,
        "  - id: decide\n",
        "  - id: address\n    inquiry:\n      connector: post\n      operation: address_lookup\n      input:\n        postal_code: \"'1234567890'\"\n      output:\n        address: response.address\n\n  - id: decide\n",
    );
    let f = replay(
        &mobile_not_owned(&definition(VERIFICATION)),
        &definition(&asks_more),
        Calendar::shipped(),
    );
    assert_eq!(f.verdict, Verdict::CannotTell, "{f:#?}");
    assert_eq!(
        f.needs[0].en,
        "the agency's answer to the inquiry of step `address`"
    );
}

#[test]
fn a_decision_records_its_condition_the_values_it_read_and_its_reason() {
    let history = mobile_not_owned(&definition(VERIFICATION));
    let evidence = history
        .iter()
        .find_map(|e| match &e.event {
            Event::DecisionTaken { evidence, .. } => Some(evidence.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        evidence.cases,
        vec![
            ("!identity_ok".to_owned(), Value::Bool(false)),
            ("!mobile_owned".to_owned(), Value::Bool(true))
        ]
    );
    assert_eq!(
        serde_json::to_value(&evidence.read).unwrap(),
        json!([{"identity_ok": true}, {"mobile_owned": false}])
    );
    let stored = Event::DecisionTaken {
        step: "decide".into(),
        evidence,
    }
    .to_stored();
    assert_eq!(stored["evidence"]["read"][1]["mobile_owned"], json!(false));
    assert!(
        stored["evidence"]["reason"]
            .as_str()
            .unwrap()
            .contains("Shahkar")
    );
}

#[test]
fn an_old_decision_without_the_values_still_folds_and_explains_itself() {
    // Recorded before decisions kept `read` and `reason`.
    let old = json!({"type": "DecisionTaken", "v": 1, "step": "check_identity",
        "evidence": {"cases": [["!identity_ok", false]], "chosen": null,
                     "inputs": {"identity_ok": true}, "next": "criminal_record"}});
    let event = Event::from_stored(old.clone()).unwrap();
    assert_eq!(event.to_stored(), old, "written back byte for byte");
    let mut state = InstanceState::default();
    state.apply(&event);
    let Event::DecisionTaken { evidence, step } = event else {
        unreachable!()
    };
    assert!(evidence.read.is_empty() && evidence.reason.is_none());
    let s = evidence.explain(&step);
    assert_eq!(
        s.en,
        "Decision `check_identity`: identity_ok was true (the condition did not hold); none \
         held, so the request went on to the default step `criminal_record`."
    );
}
