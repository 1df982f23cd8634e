//! The harness of the end-to-end service tests (`services.rs`): one node per test, on a fresh
//! SQLite store, whose HTTP connectors reach an in-process agency simulator over real HTTP and
//! whose callback routes (`daftar_api::app`) the simulator calls back. Every example workflow is
//! deployed; the officer, the operator and the clock are played by the test through engine
//! commands.
//!
//! Retry timings. Every example workflow sets `defaults.retry` (and some steps their own), so
//! a connector's `retry` in the catalog never applies to them; to let retries run out in
//! milliseconds the harness rewrites the `initial_interval` and `max_interval` of every
//! `retry:` line of the YAML it deploys ([`fast_retries`]). `max_attempts`, the paths and
//! everything else stay as designed.
//!
//! What [`Node::audit`] checks after every test, over every instance of the store (sub-workflows
//! included): each hash chain verifies; each status change to a status with `sms:` asked for
//! exactly one SMS and nothing else asked for one in its name; the simulator's SMS centre
//! accepted every SMS asked for exactly once (one `client_reference` each, to the right mobile,
//! sent once: no second request for a reference) and nothing else; no inquiry step visit was
//! attempted more often than its retry policy's `max_attempts`, counted both in the events and
//! in the requests the simulator received under the visit's idempotency key.

pub use crate::golden;

use std::collections::{BTreeMap, BTreeSet};

use std::sync::Arc;
use std::time::{Duration, Instant};

use daftar_definitions::catalog::ConnectorKind;
use daftar_engine::connectors::Connectors;
use daftar_engine::connectors::http::HttpInquiries;
use daftar_engine::connectors::payments::HttpPayments;
use daftar_engine::connectors::sms::HttpSms;
use daftar_engine::core::{Command, Delivery, Ending, InstanceState, Wait};
use daftar_engine::events::{Actor, Event, StreamId, TimerPurpose};
use daftar_engine::runtime::workers::{self, Background, Pace};
use daftar_engine::runtime::{Engine, TestClock};
use daftar_simulator::{Config, Faults, FaultsPatch, PaymentOutcome, Seed, Simulator};
use serde_json::{Value, json};

use crate::sms::SmsAudit;

/// The secret the simulator sends with its callbacks.
const CALLBACK_SECRET: &str = "services-test-callback-secret";

/// The key the node's API signs its tokens with (HS256, daftar's default issuer and
/// audience).
const TOKEN_KEY: [u8; 32] = [7; 32];

/// How long any one wait of a test may take.
const PATIENCE: Duration = Duration::from_secs(20);

/// The example workflows, all deployed on every node.
pub const EXAMPLES: [&str; 9] = [
    "applicant-verification.yaml",
    "clean-record-certificate.yaml",
    "greenhouse-permit.yaml",
    "home-business-permit.yaml",
    "judicial-asset-freeze.yaml",
    "licence-renewal-reminders.yaml",
    "municipal-building-permit.yaml",
    "passport-renewal.yaml",
    "utility-connection.yaml",
];

pub use crate::root;

/// Shortens the backoff of every `retry:` line to milliseconds (see the module's doc).
pub fn fast_retries(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.lines() {
        let mut line = line.to_owned();
        if line.trim_start().starts_with("retry:") {
            for (key, value) in [("initial_interval: ", "20ms"), ("max_interval: ", "80ms")] {
                if let Some(i) = line.find(key) {
                    let start = i + key.len();
                    let end = line[start..]
                        .find([',', ' ', '}'])
                        .map_or(line.len(), |e| start + e);
                    line.replace_range(start..end, value);
                }
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The simulator's configuration: no latency, no faults, payments paid unless the seed says
/// otherwise, SMS delivery reports after 250 ms, and late answers and payment results after a
/// second, as agencies answer; an answer that overtakes the agency's `202` has its own test in
/// `services.rs`.
fn quick_config() -> Config {
    let late = FaultsPatch {
        callback_delay_ms: Some(1_000),
        ..FaultsPatch::default()
    };
    Config {
        rng_seed: 1403,
        defaults: Faults {
            latency_ms: 0,
            jitter_ms: 0,
            callback_delay_ms: 250,
            timeout_ms: 1_000,
            ..Faults::default()
        },
        agencies: ["stock_exchange", "vehicle_registry", "payment_gateway"]
            .into_iter()
            .map(|a| (a.to_owned(), late.clone()))
            .collect(),
        payment_default: PaymentOutcome::Paid,
    }
}

/// One node and its simulator.
pub struct Node {
    pub engine: Arc<Engine>,
    /// The engine's clock, which [`Node::fire_timer`] moves forward.
    pub clock: Arc<TestClock>,
    /// The simulator's base URL.
    pub sim: String,
    /// The base URL of daftar's own routes (the callbacks).
    pub api: String,
    pub simulator: Simulator,
    client: reqwest::Client,
    _loops: Background,
    _dir: tempfile::TempDir,
}

impl Node {
    pub async fn new() -> Node {
        let seed_text =
            std::fs::read_to_string(root().join("examples/simulator/seed.yaml")).unwrap();
        let simulator =
            Simulator::new(Seed::from_yaml(&seed_text).unwrap(), quick_config()).unwrap();
        simulator.set_callback_token(Some(CALLBACK_SECRET.to_owned()));
        let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = format!("http://{}", sim_listener.local_addr().unwrap());
        tokio::spawn(daftar_simulator::serve(sim_listener, simulator.clone()));

        // The example catalog, every connector pointed at the simulator, with short timeouts
        // and no circuit breakers (so that every attempt reaches the simulator and is counted).
        let text = std::fs::read_to_string(root().join("examples/connectors.yaml")).unwrap();
        let mut catalog = daftar_definitions::load_catalog("connectors.yaml", &text).unwrap();
        for (name, c) in &mut catalog.connectors {
            c.base_url = Some(if c.kind == ConnectorKind::Inquiry {
                format!("{sim}/agencies/{name}")
            } else {
                sim.clone()
            });
            c.timeout = Some("2s".parse().unwrap());
            c.circuit_breaker = None;
        }

        let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = format!("http://{}", api_listener.local_addr().unwrap());
        let secrets = daftar_api::callback_secrets(&catalog, Some(CALLBACK_SECRET)).unwrap();
        let connectors = Connectors {
            inquiries: Some(Arc::new(
                HttpInquiries::new(&catalog, Some(format!("{api}/callbacks/inquiries")))
                    .unwrap()
                    .with_callback_secrets(secrets.clone()),
            )),
            notifier: Some(Arc::new(
                HttpSms::new(&catalog, Some(format!("{api}/callbacks/sms")))
                    .unwrap()
                    .with_callback_secrets(secrets.clone()),
            )),
            payments: Some(Arc::new(
                HttpPayments::new(&catalog, Some(format!("{api}/callbacks/payments")))
                    .unwrap()
                    .with_callback_secrets(secrets.clone()),
            )),
        };
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("daftar.db").display());
        let store = daftar_engine::store::open(&db).await.unwrap();
        let clock = Arc::new(TestClock::new());
        let engine = Engine::open_with_clock(store, connectors, clock.clone())
            .await
            .unwrap();
        engine.set_catalog(catalog.clone());
        for name in EXAMPLES {
            let source =
                std::fs::read_to_string(root().join("examples/workflows").join(name)).unwrap();
            let fast = fast_retries(&source);
            assert_ne!(fast, source, "{name} has a retry policy to shorten");
            engine.deploy(name, &fast).await.unwrap();
        }

        let keys = token_keys();
        let mut config = daftar_api::Config::new(engine.clone(), keys);
        config.callback_secrets = secrets;
        let router = daftar_api::app(daftar_api::AppState::new(config));
        tokio::spawn(async move { axum::serve(api_listener, router).await });

        let loops = workers::spawn(
            engine.clone(),
            Pace {
                poll: Duration::from_millis(20),
                ..Pace::default()
            },
        );
        Node {
            engine,
            clock,
            sim,
            api,
            simulator,
            client: reqwest::Client::new(),
            _loops: loops,
            _dir: dir,
        }
    }

    /// Files a request as the applicant.
    pub async fn start(&self, agency: &str, workflow: &str, input: Value) -> StreamId {
        self.engine
            .start(agency, workflow, input, None, Actor::Citizen)
            .await
            .unwrap()
            .stream
    }

    /// Takes an agency down (`error_rate: 1.0`: every request answered 503, nothing done)
    /// through `PUT /__sim/config`, or brings it back.
    pub async fn set_down(&self, connector: &str, down: bool) {
        let faults = if down {
            json!({"error_rate": 1.0})
        } else {
            json!({})
        };
        self.set_faults(connector, faults).await;
    }

    /// Replaces an agency's faults and delays through `PUT /__sim/config`.
    pub async fn set_faults(&self, connector: &str, faults: Value) {
        let url = format!("{}/__sim/config", self.sim);
        let mut config: Value = self.get(&url).await;
        config["agencies"][connector] = faults;
        let res = self.client.put(&url).json(&config).send().await.unwrap();
        assert!(res.status().is_success(), "{}", res.status());
    }

    /// Posts an agency's answer to daftar's callback route, as the agency would: with its
    /// connector's secret and the callback token daftar sent it for this key.
    pub async fn post_callback(&self, path: &str, key: &str, body: Value) -> u16 {
        let connector = path.rsplit('/').next().unwrap();
        let token = daftar_engine::connectors::callback::token(
            CALLBACK_SECRET,
            daftar_engine::connectors::callback::Kind::Inquiry,
            connector,
            key,
        );
        self.client
            .post(format!("{}{path}", self.api))
            .header("Idempotency-Key", key)
            .header("X-Callback-Token", token)
            .bearer_auth(CALLBACK_SECRET)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn get(&self, url: &str) -> Value {
        crate::json_of(self.client.get(url)).await
    }

    /// The simulator's SMS log.
    pub async fn sms_log(&self) -> Vec<Value> {
        let v = self.get(&format!("{}/__sim/sms", self.sim)).await;
        v.as_array().cloned().unwrap()
    }

    /// Every request the simulator received.
    pub async fn requests(&self) -> Vec<Value> {
        let v = self.get(&format!("{}/__sim/requests", self.sim)).await;
        v.as_array().cloned().unwrap()
    }

    /// Waits until `done` holds for the instance; panics with its tokens after [`PATIENCE`].
    pub async fn until(
        &self,
        stream: &StreamId,
        what: &str,
        done: impl Fn(&InstanceState) -> bool,
    ) -> InstanceState {
        self.until_within(stream, what, PATIENCE, done).await
    }

    /// [`Node::until`] with a patience of its own.
    pub async fn until_within(
        &self,
        stream: &StreamId,
        what: &str,
        patience: Duration,
        done: impl Fn(&InstanceState) -> bool,
    ) -> InstanceState {
        let deadline = Instant::now() + patience;
        loop {
            let state = self.engine.state(stream).await.unwrap();
            if done(&state) {
                return state;
            }
            if Instant::now() >= deadline {
                let reasons: Vec<String> = self
                    .history(stream)
                    .await
                    .into_iter()
                    .filter_map(|e| match e {
                        Event::IncidentRaised { step, reason, .. } => {
                            Some(format!("{step}: {reason}"))
                        }
                        _ => None,
                    })
                    .collect();
                let callbacks = self.get(&format!("{}/__sim/callbacks", self.sim)).await;
                panic!(
                    "{stream} never got to {what}: status {:?}, tokens {:?}, incidents {reasons:?}; \
                     the simulator's callbacks: {callbacks}",
                    state.status, state.tokens
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the instance has ended and every SMS of every instance of the store has
    /// been reported delivered (delivery reports come back by callback).
    pub async fn finished(&self, stream: &StreamId) -> InstanceState {
        let state = self.until(stream, "its end", InstanceState::ended).await;
        let deadline = Instant::now() + PATIENCE;
        loop {
            let mut pending = Vec::new();
            for s in self.engine.store().streams().await.unwrap() {
                let st = self.engine.state(&s).await.unwrap();
                for (reference, d) in &st.notifications {
                    if *d != Delivery::Delivered {
                        pending.push(format!("{reference}: {d:?}"));
                    }
                }
            }
            if pending.is_empty() {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "SMS never reported delivered: {pending:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for an incident on the instance and returns it with the step it stopped.
    pub async fn incident(&self, stream: &StreamId) -> (String, String) {
        let state = self
            .until(stream, "an incident", |s| !s.incidents.is_empty())
            .await;
        assert!(
            !state.ended(),
            "an instance with an incident goes no further"
        );
        let (id, (_, step)) = state.incidents.iter().next().unwrap();
        (id.clone(), step.clone())
    }

    /// An operator retries the incident's step.
    pub async fn retry_incident(&self, stream: &StreamId, incident: &str) {
        self.engine
            .execute(
                stream,
                &Command::RetryIncident {
                    incident: incident.to_owned(),
                },
                &format!("operator-retry:{incident}"),
                Actor::Operator("operator-1".into()),
                None,
            )
            .await
            .unwrap();
    }

    /// Waits for the task of `step`, checks it is offered to `role` with the form `form_id`,
    /// then claims and completes it as an officer of that role would.
    pub async fn complete_task(
        &self,
        stream: &StreamId,
        step: &str,
        role: &str,
        outcome: &str,
        form: Value,
    ) {
        let state = self
            .until(stream, &format!("the task of `{step}`"), |s| {
                s.tokens.values().any(|t| {
                    t.step == step && matches!(&t.wait, Wait::Task { task } if s.tasks[task].open)
                })
            })
            .await;
        let task = state
            .tokens
            .values()
            .find_map(|t| match &t.wait {
                Wait::Task { task } if t.step == step => Some(task.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(state.tasks[&task].role.as_deref(), Some(role), "{step}");
        let officer = format!("{role}-officer");
        self.engine
            .execute(
                stream,
                &Command::ClaimTask {
                    task: task.clone(),
                    officer: officer.clone(),
                },
                &format!("claim:{task}"),
                Actor::Officer(officer.clone()),
                None,
            )
            .await
            .unwrap();
        self.engine
            .execute(
                stream,
                &Command::CompleteTask {
                    task: task.clone(),
                    officer: officer.clone(),
                    outcome: outcome.to_owned(),
                    form,
                },
                &format!("complete:{task}"),
                Actor::Officer(officer),
                None,
            )
            .await
            .unwrap();
    }

    /// Moves the engine's clock to the due time of the pending timer of `purpose` of the token
    /// at `step`, and waits for the node's timer loop to fire it (for waits of days that a test
    /// cannot sit out).
    pub async fn fire_timer(&self, stream: &StreamId, step: &str, purpose: TimerPurpose) {
        let pending = |s: &InstanceState| {
            s.timers
                .iter()
                .find(|(_, t)| {
                    t.purpose == purpose && s.tokens.get(&t.token).is_some_and(|k| k.step == step)
                })
                .map(|(id, t)| (id.clone(), t.due_at))
        };
        let state = self
            .until(stream, &format!("a {purpose:?} timer at `{step}`"), |s| {
                pending(s).is_some()
            })
            .await;
        let (timer, due) = pending(&state).unwrap();
        self.clock.advance_to(due);
        self.until(stream, &format!("timer `{timer}` fired"), |s| {
            !s.timers.contains_key(&timer)
        })
        .await;
    }

    /// With `DAFTAR_BLESS=1`, writes every stream of this node's store, as the store keeps
    /// it, to `tests/golden/histories/{name}.jsonl` (see `golden.rs`); otherwise nothing.
    pub async fn record_golden(&self, name: &str) {
        if !golden::blessing() {
            return;
        }
        let store = self.engine.store();
        let last = store.last_position().await.unwrap();
        let mut text = String::new();
        let mut after = 0;
        while after < last {
            let page = store.read_stored(after, last, 1024).await.unwrap();
            for e in &page {
                text.push_str(&golden::line(e));
                text.push('\n');
                after = e.position;
            }
        }
        std::fs::write(golden::dir().join(format!("{name}.jsonl")), text).unwrap();
    }

    /// The history of an instance.
    pub async fn history(&self, stream: &StreamId) -> Vec<Event> {
        crate::harness::events(&self.engine, stream).await
    }

    /// Checks every instance of the store against the simulator's logs (see the module's
    /// doc) and returns what it found.
    pub async fn audit(&self) -> Audit {
        let sms_log = self.sms_log().await;
        let requests = self.requests().await;
        let mut audit = Audit::default();

        // The SMS centre: one accepted SMS per reference, each asked for once.
        let mut sms = SmsAudit::new(&sms_log);
        let mut sends: BTreeMap<String, usize> = BTreeMap::new();
        let mut inquiry_requests: BTreeMap<String, usize> = BTreeMap::new();
        for r in &requests {
            match (r["connector"].as_str(), r["operation"].as_str()) {
                (Some("sms_gateway"), _) => {
                    let reference = r["body"]["client_reference"].as_str().unwrap_or_default();
                    *sends.entry(reference.to_owned()).or_default() += 1;
                }
                (Some("payment_gateway"), _) | (None, _) => {}
                (Some(_), _) => {
                    let key = r["idempotency_key"].as_str().unwrap_or_default();
                    *inquiry_requests.entry(key.to_owned()).or_default() += 1;
                }
            }
        }
        for (reference, n) in &sends {
            assert_eq!(
                *n, 1,
                "SMS {reference} was sent to the SMS centre {n} times"
            );
        }

        let mut keys_requested: BTreeSet<String> = BTreeSet::new();
        for stream in self.engine.store().streams().await.unwrap() {
            let recorded = self.engine.store().load(&stream).await.unwrap();
            daftar_engine::events::verify_chain(&recorded).unwrap();
            let state = self.engine.state(&stream).await.unwrap();
            let definition = self.engine.definition_of(&state).unwrap();
            let compiled = definition.compiled();
            let workflow = compiled.workflow();

            // A cancellation tells the applicant by SMS unless the workflow declares a
            // `cancelled` status of its own (then its `sms:` decides).
            let asks = |to: &str| {
                workflow
                    .statuses
                    .get(to)
                    .map_or(to == daftar_engine::core::CANCELLED, |s| {
                        s.sms_template().is_some()
                    })
            };
            for (recipient, label) in sms
                .stream(&stream, recorded.iter().map(|e| &e.event), asks)
                .sent
            {
                audit.sms.entry(recipient).or_default().push(label);
            }

            // Attempts per step visit, in the order the visits began.
            let mut attempts: Vec<((String, String), u32)> = Vec::new();
            for e in &recorded {
                if let Event::InquiryRequested {
                    step,
                    idempotency_key,
                    ..
                } = &e.event
                {
                    let visit = (step.clone(), idempotency_key.clone());
                    match attempts.iter_mut().find(|(v, _)| *v == visit) {
                        Some((_, n)) => *n += 1,
                        None => attempts.push((visit, 1)),
                    }
                }
            }
            // Attempts per step visit, in the events and at the simulator.
            for ((step, key), n) in attempts {
                let spec = compiled.step(&step).unwrap();
                let own = spec.inquiry.as_ref().and_then(|i| i.retry.as_ref());
                let max = own
                    .or(workflow.defaults.retry.as_ref())
                    .map_or(3, |r| r.max_attempts);
                assert!(
                    n <= max,
                    "{stream}: {n} attempts at `{step}`, at most {max}"
                );
                let sent = inquiry_requests.get(&key).copied().unwrap_or(0);
                assert!(
                    sent <= n as usize,
                    "{stream}: `{step}` reached the agency {sent} times in {n} attempts"
                );
                audit
                    .attempts
                    .entry(step.clone())
                    .or_default()
                    .push((n, sent));
                keys_requested.insert(key);
            }
            audit.streams.push((stream.clone(), state));
        }
        for key in inquiry_requests.keys() {
            assert!(
                keys_requested.contains(key),
                "the simulator was asked under {key}, which no step visit requested"
            );
        }
        sms.finish();
        audit
    }
}

impl Node {
    /// A token of `subject` at `agency` with one role, valid for ten minutes, signed as the
    /// node's API expects.
    pub fn token(&self, subject: &str, agency: &str, role: daftar_api::auth::Role) -> String {
        token_keys()
            .mint(subject, agency, vec![role], vec![], 600)
            .unwrap()
    }

    /// Calls the node's API at `path` with `token`, an `Idempotency-Key` when `key` is given
    /// and a JSON body when `body` is; answers the status and the JSON answer (`Null` when
    /// there is none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.api))
            .bearer_auth(token);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Waits until a utility connection has been costed, paid and scheduled, with every SMS
    /// so far reported delivered.
    pub async fn until_scheduled(&self, stream: &StreamId) -> InstanceState {
        self.until(stream, "the scheduled visit", |st| {
            st.status.as_deref() == Some("scheduled")
                && st.notifications.values().all(|d| *d == Delivery::Delivered)
        })
        .await
    }

    /// Plays the clock for a utility connection's wait until the visit morning (two days
    /// ahead), then waits for the wait for the meter; answers the request's state there.
    pub async fn until_the_meter_wait(&self, stream: &StreamId) -> InstanceState {
        self.fire_timer(stream, "until_visit_day", TimerPurpose::Wait)
            .await;
        self.until(stream, "the wait for the meter", |st| {
            st.tokens.values().any(|t| t.step == "meter_installed")
        })
        .await
    }
}

impl Node {
    /// Files [`applicants::connection`] with the power distribution company.
    pub async fn start_connection(&self) -> StreamId {
        let input = applicants::connection();
        self.start("power-distribution", "utility-connection", input)
            .await
    }

    /// Files [`applicants::four_floors`] with the municipality.
    pub async fn start_building_permit(&self) -> StreamId {
        let input = applicants::four_floors();
        self.start("municipality", "municipal-building-permit", input)
            .await
    }
}

/// The keys the node's API checks tokens with, for routers built over its engine (the desk's).
pub fn token_keys() -> daftar_api::auth::Keys {
    daftar_api::auth::Keys::hs256(&TOKEN_KEY, "daftar", "daftar-api").unwrap()
}

/// The idempotency key of the first inquiry of `connector` in a history.
pub fn inquiry_key<'a>(
    history: impl IntoIterator<Item = &'a Event>,
    connector: &str,
) -> Option<String> {
    history.into_iter().find_map(|e| match e {
        Event::InquiryRequested {
            connector: c,
            idempotency_key,
            ..
        } if c == connector => Some(idempotency_key.clone()),
        _ => None,
    })
}

/// Applicants of the example services whom several tests file.
pub mod applicants {
    use serde_json::{Value, json};

    /// A four-floor residential building permit, which the registries find nothing against.
    pub fn four_floors() -> Value {
        json!({
            "national_id": "0499370899", "mobile": "09121234567", "birth_date": "1990-01-01",
            "postal_code": "1417613151", "deed_serial": "1402775312", "registration_plate": "3456/12",
            "floors": 4, "built_area": 620, "usage": "residential"
        })
    }

    /// The SMS the applicant of a utility connection receives until the visit is scheduled.
    pub const SCHEDULED_SMS: [&str; 4] =
        ["checking", "awaiting_payment", "scheduling", "scheduled"];

    /// The SMS the applicant of a utility connection receives until the meter is installed.
    pub const CONNECTED_SMS: [&str; 6] = [
        "checking",
        "awaiting_payment",
        "scheduling",
        "scheduled",
        "step:remind_visit",
        "connected",
    ];

    /// A single-phase utility connection by the owner of the property.
    pub fn connection() -> Value {
        json!({
            "national_id": "0790419904", "mobile": "09351234567", "postal_code": "3813967111",
            "deed_serial": "1401223390", "registration_plate": "812/5", "usage": "residential",
            "phases": 1, "amperage": 25
        })
    }
}

/// What [`Node::audit`] found.
#[derive(Debug, Default)]
pub struct Audit {
    /// Every instance with its state.
    pub streams: Vec<(StreamId, InstanceState)>,
    /// The SMS each mobile number received, in order: the status for a status change,
    /// `step:ID` for a notify step.
    pub sms: BTreeMap<String, Vec<String>>,
    /// Per inquiry step, each visit's attempts in the events and requests at the simulator.
    pub attempts: BTreeMap<String, Vec<(u32, usize)>>,
}

impl Audit {
    /// The SMS a mobile number received.
    pub fn sms_to(&self, mobile: &str) -> Vec<&str> {
        self.sms
            .get(mobile)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Each visit of an inquiry step: (attempts in the events, requests at the simulator).
    pub fn visits(&self, step: &str) -> Vec<(u32, usize)> {
        self.attempts.get(step).cloned().unwrap_or_default()
    }
}

/// The outcome of an ended instance.
pub fn outcome(state: &InstanceState) -> String {
    match &state.ending {
        Some(Ending::Completed { outcome, .. }) => serde_json::to_value(outcome)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned(),
        Some(Ending::Cancelled { reason }) => format!("cancelled: {reason}"),
        None => "running".to_owned(),
    }
}
