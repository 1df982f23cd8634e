//! The crash test against the SMS centre: `daftar work` runs the clean-record example with its
//! HTTP connectors against `daftar simulate` (both real processes), on one SQLite file, and is
//! SIGKILLed at random moments while it files requests and drives them through two inquiries
//! and two status SMS; then restarted until every request has ended. Each agency's answer and
//! the SMS centre's acknowledgment are held back 60 ms after they arrive (`--effect-delay-ms`),
//! so kills often land between an SMS being accepted and its acceptance being recorded.
//!
//! Then, from the simulator's own log (`/__sim/sms`): no `client_reference` twice, and every
//! status change that asks for an SMS got exactly one, to the applicant; no SMS that nobody
//! asked for; and `daftar verify` passes on the store.
//!
//! The same nodes push every filing, status change and end to the simulator's national
//! follow-up system, which refuses the first deliveries: after the kills, each request's four
//! events arrived, once each after dropping repeats by id, in the order of the log.

use daftar_testkit::process as support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use daftar_engine::events::{Event, verify_chain};
use daftar_testkit::sms::{SmsAudit, StreamSms};
use serde_json::Value;
use support::{Node, Rng, kill_at_random};

/// Requests to file across all runs.
const TOTAL: usize = 24;
/// Kills before the final run.
const KILLS: usize = 12;
/// Short leases, so that a restarted node soon takes over what the dead one had leased.
const LEASE_MS: u64 = 300;
/// The pause between starts, so that starts and work in flight span many kills.
const START_EVERY_MS: u64 = 100;
/// How long each agency's answer is held back after it arrived.
const EFFECT_DELAY_MS: u64 = 60;
/// The callback secret the simulator and the nodes share.
const TOKEN: &str = "crash-sms-callback-secret";
/// An applicant the clean-record service issues a certificate to.
const INPUT: &str = r#"{"national_id": "0499370899", "mobile": "09121234567", "birth_date": "1990-01-01", "purpose": "employment"}"#;
const MOBILE: &str = "09121234567";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn workflow() -> PathBuf {
    root().join("examples/workflows/clean-record-certificate.yaml")
}

/// `daftar simulate` on a free port, killed when dropped.
struct Simulator {
    child: Child,
    url: String,
    _stdout: BufReader<ChildStdout>,
}

impl Simulator {
    fn start(dir: &Path) -> Simulator {
        // A little latency, no faults, quick callbacks.
        let config = dir.join("simulator.yaml");
        std::fs::write(
            &config,
            "rng_seed: 7\ndefaults: { latency_ms: 2, jitter_ms: 5, callback_delay_ms: 100 }\n",
        )
        .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_daftar"))
            .arg("simulate")
            .args(["--port", "0", "--callback-token", TOKEN])
            .arg("--config")
            .arg(&config)
            .arg("--seed")
            .arg(root().join("examples/simulator/seed.yaml"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("simulate.err")).unwrap())
            .spawn()
            .expect("spawn daftar simulate");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let url = first
            .trim()
            .strip_prefix("daftar simulate listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "unexpected first line {first:?}: {}",
                    std::fs::read_to_string(dir.join("simulate.err")).unwrap_or_default()
                )
            })
            .to_owned();
        Simulator {
            child,
            url,
            _stdout: stdout,
        }
    }

    async fn get(&self, path: &str) -> Vec<Value> {
        let v: Value = reqwest::get(format!("{}{path}", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v.as_array().cloned().unwrap()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `daftar work --connectors` against the simulator, filing `start` requests.
fn spawn(dir: &Path, sim: &Simulator, db: &str, start: usize, name: &str) -> Node {
    let mut command = Command::new(env!("CARGO_BIN_EXE_daftar"));
    command
        .arg("work")
        .args(["--db", db])
        .arg("--workflow")
        .arg(workflow())
        .arg("--connectors")
        .arg(root().join("examples/connectors.yaml"))
        .args(["--input", INPUT])
        .args(["--start", &start.to_string()])
        .args(["--start-every-ms", &START_EVERY_MS.to_string()])
        .args(["--lease-ms", &LEASE_MS.to_string()])
        .args(["--effect-delay-ms", &EFFECT_DELAY_MS.to_string()])
        .env("DAFTAR_AGENCIES_URL", &sim.url)
        .env("DAFTAR_CALLBACK_TOKEN", TOKEN);
    Node::from_command(command, dir.join(format!("{name}.err")))
}

#[test]
fn sigkilled_nodes_send_each_status_sms_exactly_once_through_the_sms_centre() {
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("daftar.db").display());
    let sim = Simulator::start(dir.path());
    let rt = daftar_testkit::process::runtime();
    rt.block_on(subscribe(&sim, &db));
    let mut rng = Rng::seeded("crash_sms");
    let mut acknowledged = kill_at_random(KILLS, TOTAL, (100, 600), &mut rng, |remaining, name| {
        spawn(dir.path(), &sim, &db, remaining, name)
    });

    let remaining = TOTAL.saturating_sub(acknowledged.len());
    let mut last = spawn(dir.path(), &sim, &db, remaining, "final");
    rt.block_on(async {
        let patience = Duration::from_secs(20);
        last.finish(remaining, patience, &db, patience).await;
        followed_up(&sim, &db).await;
    });
    acknowledged.extend(last.kill());
    assert_eq!(acknowledged.len(), TOTAL);
    let unique: BTreeSet<&String> = acknowledged.iter().collect();
    assert_eq!(unique.len(), TOTAL, "a start was acknowledged twice");

    rt.block_on(check(&sim, &db, &acknowledged));

    let verify = Command::new(env!("CARGO_BIN_EXE_daftar"))
        .args(["verify", "--db", &db])
        .env_remove("DAFTAR_DB")
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "daftar verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    eprintln!("crash_sms: {KILLS} kills, {:?}", began.elapsed());
}

/// Checks the store against the simulator's logs.
async fn check(sim: &Simulator, db: &str, acknowledged: &[String]) {
    let source = std::fs::read_to_string(workflow()).unwrap();
    let definition =
        daftar_definitions::compile("w.yaml", &source, daftar_definitions::Options::default())
            .unwrap();
    let statuses = &definition.workflow().statuses;
    let sms_statuses: BTreeSet<&str> = statuses
        .iter()
        .filter(|(_, s)| s.sms_template().is_some())
        .map(|(id, _)| id.as_str())
        .collect();

    // The SMS centre's log: one entry per reference.
    let log = sim.get("/__sim/sms").await;
    let mut sms = SmsAudit::new(&log);
    // What reached it: a reference sent again after a kill is answered from the first.
    // (A node that restarts asks the SMS centre about a reference before sending it again, so
    // a resend is rare.) An inquiry sent again is answered from the agency's record.
    let mut sends: BTreeMap<String, usize> = BTreeMap::new();
    let mut inquiries_again = 0;
    for r in sim.get("/__sim/requests").await {
        if r["connector"] == "sms_gateway" {
            let reference = r["body"]["client_reference"].as_str().unwrap_or_default();
            *sends.entry(reference.to_owned()).or_default() += 1;
        } else if r["replayed"] == true {
            inquiries_again += 1;
        }
    }

    let store = daftar_engine::store::open(db).await.unwrap();
    let streams = store.streams().await.unwrap();
    let names: BTreeSet<String> = streams.iter().map(ToString::to_string).collect();
    for a in acknowledged {
        assert!(names.contains(a), "acknowledged {a} is not in the store");
    }
    let mut status_changes = 0;
    for s in &streams {
        let history = store.load(s).await.unwrap();
        if let Err(e) = verify_chain(&history) {
            panic!("{s}: hash chain broken: {e:?}");
        }
        let events: Vec<&Event> = history.iter().map(|e| &e.event).collect();
        let StreamSms { wanted, sent } =
            sms.stream(s, events.iter().copied(), |to| sms_statuses.contains(to));
        let mut completed = Vec::new();
        for e in events {
            match e {
                Event::NotificationFailed { reference, reason } => {
                    panic!("{s}: SMS {reference} failed: {reason}")
                }
                Event::InstanceCompleted { step, .. } => completed.push(step.clone()),
                _ => {}
            }
        }
        for (recipient, _) in &sent {
            assert_eq!(recipient, MOBILE);
        }
        assert_eq!(completed, ["issue"], "{s}: ended once, with a certificate");
        assert_eq!(wanted, ["checking", "issued"], "{s}: its status changes");
        status_changes += wanted.len();
    }
    sms.finish();
    assert_eq!(sms.accepted.len(), status_changes);
    let resent = sends.values().filter(|n| **n > 1).count();
    eprintln!(
        "crash_sms: {} instances, {} SMS, {resent} of them sent again after a kill and \
         answered from the first; {inquiries_again} inquiries sent again after a kill",
        streams.len(),
        sms.accepted.len()
    );
}

/// Subscribes the simulator's follow-up system to the store's requests, from the start of the
/// log; it checks signatures and refuses the first three deliveries.
async fn subscribe(sim: &Simulator, db: &str) {
    let store = daftar_engine::store::open(db).await.unwrap();
    let subscription = daftar_testkit::simulator::followup_subscription(&sim.url);
    let secret = subscription.secret.clone();
    store.add_subscription(&subscription).await.unwrap();
    let res = reqwest::Client::new()
        .put(format!("{}/__sim/followup", sim.url))
        .json(&serde_json::json!({"secret": secret, "fail_next": 3}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
}

/// Waits until the follow-up system holds every request's filing, two status changes and end,
/// then checks them against the store: once each by id, in log order per request.
async fn followed_up(sim: &Simulator, db: &str) {
    let store = daftar_engine::store::open(db).await.unwrap();
    let streams = store.streams().await.unwrap();
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in &streams {
        for e in store.load(s).await.unwrap() {
            if daftar_engine::runtime::followup::kind(&e.event).is_some() {
                let id = daftar_engine::runtime::followup::event_id(&e);
                expected.entry(s.instance.clone()).or_default().push(id);
            }
        }
    }
    let total: usize = expected.values().map(Vec::len).sum();
    assert_eq!(total, 4 * streams.len());
    let deadline = Instant::now() + Duration::from_secs(30);
    let seen = loop {
        let v: Value = reqwest::get(format!("{}/__sim/followup", sim.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["events"].as_array().is_some_and(|e| e.len() >= total) || Instant::now() > deadline {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut arrived: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in seen["events"].as_array().unwrap() {
        let subject = e["subject"].as_str().unwrap().to_owned();
        arrived
            .entry(subject)
            .or_default()
            .push(e["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        arrived, expected,
        "what the follow-up system kept, per request, in order"
    );
    let refused = daftar_testkit::simulator::followup_refusals(&seen);
    assert_eq!(
        refused, 3,
        "the follow-up system refused its first three deliveries"
    );
}
