//! The audit of the SMS a store asked for against the SMS centre's own log (the simulator's
//! `/__sim/sms`), shared by the end-to-end tests ([`crate::e2e::Node::audit`]) and the crash
//! test against the SMS centre: no reference accepted twice, every SMS asked for once and
//! accepted with its recipient and text, one SMS per status change that asks for one, and no
//! SMS that nobody asked for.

use std::collections::{BTreeMap, BTreeSet};

use daftar_engine::events::{Event, NotificationPurpose, StreamId};
use serde_json::{Value, json};

/// The SMS centre's log, and the references the streams checked so far asked for.
#[derive(Debug)]
pub struct SmsAudit {
    /// Each accepted SMS, by its `client_reference`.
    pub accepted: BTreeMap<String, Value>,
    requested: BTreeSet<String>,
}

/// What one stream asked for.
#[derive(Debug, Default)]
pub struct StreamSms {
    /// The statuses it changed to that ask for an SMS, in order.
    pub wanted: Vec<String>,
    /// Each SMS, in order, as `(recipient, label)`: the status for a status change,
    /// `step:ID` for a notify step, `escalation:TASK` for an escalation of earlier versions.
    pub sent: Vec<(String, String)>,
}

impl SmsAudit {
    /// Reads the SMS centre's log: one accepted SMS per reference.
    pub fn new(log: &[Value]) -> SmsAudit {
        let mut accepted: BTreeMap<String, Value> = BTreeMap::new();
        for s in log {
            let reference = s["client_reference"].as_str().unwrap().to_owned();
            assert!(
                accepted.insert(reference.clone(), s.clone()).is_none(),
                "the SMS centre accepted {reference} twice"
            );
        }
        SmsAudit {
            accepted,
            requested: BTreeSet::new(),
        }
    }

    /// Checks a stream's SMS: each asked for once, accepted by the SMS centre with its
    /// recipient and text, and one per status change that asks for one (`asks(status)`).
    pub fn stream<'a>(
        &mut self,
        stream: &StreamId,
        history: impl IntoIterator<Item = &'a Event>,
        asks: impl Fn(&str) -> bool,
    ) -> StreamSms {
        let mut out = StreamSms::default();
        let mut asked = Vec::new();
        for event in history {
            match event {
                Event::StatusChanged { to, .. } if asks(to) => out.wanted.push(to.clone()),
                Event::NotificationRequested {
                    reference,
                    purpose,
                    recipient,
                    text,
                    ..
                } => {
                    assert!(
                        self.requested.insert(reference.clone()),
                        "{stream}: SMS {reference} asked for twice"
                    );
                    let label = match purpose {
                        NotificationPurpose::StatusChanged { status } => {
                            asked.push(status.clone());
                            status.clone()
                        }
                        NotificationPurpose::Step { step } => format!("step:{step}"),
                        NotificationPurpose::Escalation { task } => format!("escalation:{task}"),
                        NotificationPurpose::Deemed { task } => format!("deemed:{task}"),
                    };
                    let got = self.accepted.get(reference).unwrap_or_else(|| {
                        panic!("{stream}: SMS {reference} ({label}) never reached the SMS centre")
                    });
                    assert_eq!(got["mobile"], json!(recipient), "{stream}: {label}");
                    assert_eq!(got["text"], json!(text), "{stream}: {label}");
                    out.sent.push((recipient.clone(), label));
                }
                _ => {}
            }
        }
        assert_eq!(
            out.wanted, asked,
            "{stream}: one SMS per status change that asks for one"
        );
        out
    }

    /// Checks that the SMS centre accepted nothing no stream asked for.
    pub fn finish(&self) {
        let extra: Vec<&String> = self
            .accepted
            .keys()
            .filter(|r| !self.requested.contains(*r))
            .collect();
        assert!(extra.is_empty(), "SMS no instance asked for: {extra:?}");
    }
}
