//! Given / when / then for the pure core: `given(definition)` starts from nothing,
//! `.when(command)` decides and applies, `.then(kinds)` checks the event types, and every
//! step checks that the state folded from the whole history equals the state kept in memory.

pub mod coverage;

use std::cell::Cell;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use daftar_definitions::calendar::Calendar;
use daftar_definitions::{Options, compile};
use daftar_engine::Definition;
use daftar_engine::core::{Budget, Command, Ctx, InstanceState, decide};
use daftar_engine::events::{Actor, Event};
use serde_json::Value;

/// The agency code the scenarios' documents are issued under.
pub const DOCUMENT_CODE: &str = "TST1";

#[derive(Debug)]
pub struct Scenario {
    pub def: Definition,
    pub history: Vec<Event>,
    pub state: InstanceState,
    pub now: DateTime<Utc>,
    pub last: Vec<Event>,
    /// Who asks: the engine itself unless a test says otherwise.
    pub actor: Actor,
    pub budget: Budget,
    /// The agency's business calendar: the one daftar ships unless a test says otherwise.
    pub calendar: Arc<Calendar>,
    /// The scenario's rank among those of its test: names its line of the transitions record.
    rank: usize,
}

thread_local! {
    /// How many scenarios this test (thread) has begun.
    static SCENARIOS: Cell<usize> = const { Cell::new(0) };
}

pub fn given(yaml: &str) -> Scenario {
    let compiled = compile("test.yaml", yaml, Options::default()).unwrap_or_else(|d| {
        let lines: Vec<String> = d.iter().map(ToString::to_string).collect();
        panic!("{}", lines.join("\n"))
    });
    Scenario {
        def: Definition::new(compiled).unwrap(),
        history: Vec::new(),
        state: InstanceState::default(),
        now: DateTime::parse_from_rfc3339("2026-11-22T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
        last: Vec::new(),
        actor: Actor::System,
        budget: Budget::default(),
        calendar: Calendar::shipped(),
        rank: SCENARIOS.replace(SCENARIOS.get() + 1),
    }
}

/// The name of the running test binary (`decide` for `target/debug/deps/decide-1a2b..`).
fn test_binary() -> String {
    let exe = std::env::current_exe().unwrap();
    let stem = exe.file_stem().unwrap().to_string_lossy();
    stem.rsplit_once('-')
        .map_or(&*stem, |(name, _)| name)
        .to_owned()
}

/// A finished scenario's transitions are those its test is recorded to exercise
/// ([`coverage`]), which is how `transitions.rs` knows what the tests reach.
impl Drop for Scenario {
    fn drop(&mut self) {
        if std::thread::panicking() || self.history.is_empty() {
            return;
        }
        let thread = std::thread::current();
        let key = format!("{}#{}", thread.name().unwrap_or("main"), self.rank);
        coverage::check(&test_binary(), &key, coverage::transitions(&self.history));
    }
}

impl Scenario {
    pub fn ctx(&self) -> Ctx {
        Ctx {
            now: self.now,
            actor: self.actor.clone(),
            budget: self.budget,
            calendar: self.calendar.clone(),
            document_code: DOCUMENT_CODE.to_owned(),
        }
    }

    /// Decides and applies a command; panics if it is refused.
    pub fn when(&mut self, command: Command) -> &mut Self {
        match self.try_when(command) {
            Ok(_) => self,
            Err(e) => panic!("refused: {e}\nhistory: {:#?}", kinds(&self.history)),
        }
    }

    /// Decides and applies a command, returning the refusal if any (which must change nothing).
    pub fn try_when(&mut self, command: Command) -> Result<Vec<Event>, daftar_engine::Error> {
        let events = decide(&self.state, &self.def, &command, &self.ctx())?;
        let again = decide(&self.state, &self.def, &command, &self.ctx())?;
        assert_eq!(events, again, "decide is deterministic");
        for e in &events {
            self.state.apply(e);
        }
        self.history.extend(events.iter().cloned());
        assert_eq!(
            self.state,
            InstanceState::fold(&self.history),
            "state is the fold of history"
        );
        for e in &events {
            let stored = Event::from_stored(e.to_stored()).unwrap();
            assert_eq!(&stored, e, "events round-trip through their stored form");
        }
        self.last = events.clone();
        Ok(events)
    }

    /// The history as a node reads it once the applicant's key is erased: every personal event
    /// reads as `Erased`; the state becomes its fold.
    pub fn as_erased(&mut self) -> &mut Self {
        self.history = self
            .history
            .iter()
            .map(|e| match e.personal() {
                true => Event::Erased {
                    kind: e.kind().to_owned(),
                },
                false => e.clone(),
            })
            .collect();
        self.state = InstanceState::fold(&self.history);
        self
    }

    pub fn start(&mut self, input: Value) -> &mut Self {
        self.when(Command::Start {
            instance: "i-1".into(),
            tracking_code: "TRK1".into(),
            input,
            parent: None,
        })
    }

    pub fn then(&mut self, expected: &[&str]) -> &mut Self {
        assert_eq!(kinds(&self.last), expected, "events of the last command");
        self
    }

    pub fn advance(&mut self, by: Duration) -> &mut Self {
        self.now += by;
        self
    }

    /// The pending timer with the earliest due time.
    pub fn next_timer(&self) -> String {
        self.state
            .timers
            .iter()
            .filter(|(_, t)| t.purpose != daftar_engine::events::TimerPurpose::Sla)
            .min_by_key(|(_, t)| t.due_at)
            .map(|(id, _)| id.clone())
            .expect("a pending timer")
    }

    /// The pending SLA timer.
    pub fn sla_timer(&self) -> String {
        self.state
            .timers
            .iter()
            .find(|(_, t)| t.purpose == daftar_engine::events::TimerPurpose::Sla)
            .map(|(id, _)| id.clone())
            .expect("a pending SLA timer")
    }

    pub fn fire_next_timer(&mut self) -> &mut Self {
        let timer = self.next_timer();
        let due = self.state.timers[&timer].due_at;
        if due > self.now {
            self.now = due;
        }
        self.when(Command::FireTimer { timer })
    }

    /// The outcome the instance ended with, if it completed.
    pub fn outcome(&self) -> Option<daftar_engine::events::Outcome> {
        match &self.state.ending {
            Some(daftar_engine::core::Ending::Completed { outcome, .. }) => Some(*outcome),
            _ => None,
        }
    }

    pub fn find<'a>(&'a self, kind: &str) -> Vec<&'a Event> {
        self.history.iter().filter(|e| e.kind() == kind).collect()
    }
}

pub fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(Event::kind).collect()
}

/// The head of a workflow: metadata, an input form with national ID and mobile, statuses and
/// templates. Tests append their `steps:`.
pub const HEAD: &str = concat!(
    crate::workflow_meta!("test", "آزمون", "Test", "test-agency", "13h"),
    crate::applicant_form!(
        "      category: { type: string }",
        "      amount: { type: integer }"
    ),
    crate::checking_done_statuses!(),
    crate::status_sms_template!(),
    crate::review_form!()
);

/// Files [`applicant`] with an engine on which a workflow of [`HEAD`] (`test` of
/// `test-agency`) is deployed; answers its stream.
pub async fn file_applicant(
    engine: &daftar_engine::runtime::Engine,
) -> daftar_engine::events::StreamId {
    let started = engine.start("test-agency", "test", applicant(), None, Actor::Citizen);
    started.await.unwrap().stream
}

pub fn applicant() -> Value {
    serde_json::json!({"national_id": "0499370899", "mobile": "09121234567", "category": "food", "amount": 5000})
}

/// The test workflow of [`HEAD`] with these steps (YAML, from `steps:` on).
pub fn workflow(steps: &str) -> String {
    format!("{HEAD}{steps}")
}

/// A request of the test workflow that waits an hour, so that nothing moves it but the test.
pub fn waiting_workflow() -> String {
    workflow(
        r#"
steps:
  - id: cooling_off
    status: checking
    wait: { duration: 1h }
  - id: issue
    status: done
    end: { outcome: issued }
"#,
    )
}

/// Cancels a request as the engine, under command id `id`.
pub async fn cancel(
    engine: &daftar_engine::runtime::Engine,
    stream: &daftar_engine::events::StreamId,
    id: &str,
) {
    let cancel = Command::Cancel {
        reason: "withdrawn".to_owned(),
    };
    engine
        .execute(stream, &cancel, id, Actor::System, None)
        .await
        .unwrap();
}

/// Reports every SMS of a request still waiting for the gateway as sent, as a gateway would
/// (for nodes that run without one).
pub async fn settle_sms(
    engine: &daftar_engine::runtime::Engine,
    stream: &daftar_engine::events::StreamId,
) {
    let state = engine.state(stream).await.unwrap();
    for (reference, delivery) in &state.notifications {
        if !matches!(delivery, daftar_engine::core::Delivery::Pending) {
            continue;
        }
        let sent = Command::NotificationResult {
            reference: reference.clone(),
            sent: true,
            gateway_id: Some(format!("gw-{reference}")),
            reason: None,
        };
        engine
            .execute(
                stream,
                &sent,
                &format!("sent:{reference}"),
                Actor::System,
                None,
            )
            .await
            .unwrap();
    }
}

/// Every event of a stream, as the store reads it back.
pub async fn events(
    engine: &daftar_engine::runtime::Engine,
    stream: &daftar_engine::events::StreamId,
) -> Vec<Event> {
    engine
        .store()
        .load(stream)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

/// Files a request for the test workflow (deployed as `test` in `test-agency`) as a citizen.
pub async fn file(engine: &daftar_engine::runtime::Engine) -> daftar_engine::events::StreamId {
    engine
        .start("test-agency", "test", applicant(), None, Actor::Citizen)
        .await
        .expect("the request is filed")
        .stream
}
