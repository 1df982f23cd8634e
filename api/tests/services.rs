//! The example services end to end over real HTTP against the agency simulator: for each
//! service an applicant who is approved, one who is refused (the seed's `note` says which), and
//! one whose request meets an agency that is down (every request answered 503) and goes, after
//! its retries, down the designed failure path or stops on an incident that an operator
//! retries once the agency is back.
//!
//! Clean-record (all three cases), passport (approved, refused) and the asset freeze (approved
//! with callbacks) are covered in `faults.rs`, `tests/e2e.rs` and `callbacks.rs`; here are the
//! rest. Each test has its own node and simulator (`e2e_support`), so that an agency taken down
//! in one test is up in every other. After each, [`Node::audit`](e2e_support::Node::audit)
//! checks every instance against the simulator: one SMS per status change that asks for one
//! (and per notify step), none sent twice, and no inquiry attempted more often than its retry
//! policy allows; the test then checks the SMS each applicant received and the attempts of
//! the step whose agency was down.
//!
//! Officers are played through engine commands (claim, then complete with a form that
//! satisfies the step's form schema), the field crew by delivering its message, and the clock,
//! for waits of days (the utility visit, the depository's three-day callback timeout), by
//! firing the pending timer as the timer loop would once due.

use daftar_testkit::e2e as e2e_support;

use daftar_engine::core::InstanceState;
use daftar_engine::events::{Event, StreamId, TimerPurpose};
use e2e_support::applicants::{CONNECTED_SMS, SCHEDULED_SMS, connection, four_floors};
use e2e_support::{Node, inquiry_key, outcome};
use serde_json::{Value, json};

/// The services of this file, each as its agency and workflow.
const HOME_BUSINESS: (&str, &str) = ("mcls", "home-business-permit");
const GREENHOUSE: (&str, &str) = ("national-permits-portal", "greenhouse-permit");
const BUILDING: (&str, &str) = ("municipality", "municipal-building-permit");
const UTILITY: (&str, &str) = ("power-distribution", "utility-connection");
const FREEZE: (&str, &str) = ("judiciary", "judicial-asset-freeze");
const PASSPORT: (&str, &str) = ("police-passport", "passport-renewal");

/// The step an instance ended at.
async fn end_step(node: &Node, stream: &StreamId) -> String {
    node.history(stream)
        .await
        .into_iter()
        .find_map(|e| match e {
            Event::InstanceCompleted { step, .. } => Some(step),
            _ => None,
        })
        .unwrap()
}

/// Waits for the instance's end, checks it ended as `expected`, and answers its state and the
/// simulator's audit after it.
async fn ended_as(
    node: &Node,
    s: &StreamId,
    expected: &str,
) -> (InstanceState, e2e_support::Audit) {
    let state = node.finished(s).await;
    assert_eq!(outcome(&state), expected);
    (state, node.audit().await)
}

/// Files a request, has an officer of `role` decide the task of `step` with `outcome` and
/// `form`, and checks that the request is then issued; answers its state and the audit.
async fn issued_after_task(
    node: &Node,
    (agency, workflow): (&str, &str),
    input: Value,
    (step, role, outcome, form): (&str, &str, &str, Value),
) -> (InstanceState, e2e_support::Audit) {
    let s = node.start(agency, workflow, input).await;
    node.complete_task(&s, step, role, outcome, form).await;
    ended_as(node, &s, "issued").await
}

/// Checks that the inquiry step `step` was visited twice: `attempts` times (every attempt of
/// its policy, each reaching the agency, no more), then once more for the operator's retry.
fn retried_once_after(audit: &e2e_support::Audit, step: &str, attempts: u32) {
    assert_eq!(
        audit.visits(step),
        [(attempts, attempts as usize), (1, 1)],
        "{step}: every attempt of the policy reached the agency, no more; then the operator's retry"
    );
}

/// [`retried_after_outage`], then waits for the request's end as `outcome`; answers its state
/// and the audit.
async fn ended_after_outage(
    node: &Node,
    (connector, step): (&str, &str),
    service: (&str, &str),
    input: Value,
    outcome: &str,
) -> (InstanceState, e2e_support::Audit) {
    let s = retried_after_outage(node, connector, service, input, step).await;
    ended_as(node, &s, outcome).await
}

/// Takes `connector` down, files a request, checks that it stops on an incident at `step`
/// (an agency that is down is not an agency saying no), brings the connector back and has an
/// operator retry the step.
async fn retried_after_outage(
    node: &Node,
    connector: &str,
    (agency, workflow): (&str, &str),
    input: Value,
    step: &str,
) -> StreamId {
    node.set_down(connector, true).await;
    let s = node.start(agency, workflow, input).await;
    let (incident, stopped_at) = node.incident(&s).await;
    assert_eq!(stopped_at, step);
    node.set_down(connector, false).await;
    node.retry_incident(&s, &incident).await;
    s
}

// ---- Refusals, one for each service -----------------------------------------------------------

/// A well-formed national ID of nobody: the registry answers `matched: false` with no names,
/// an ordinary answer that must lead to a refusal, not an incident.
const NOBODY: &str = "1000000001";

/// Each service refuses an applicant it must refuse: the case, the service (agency and
/// workflow), the applicant, the step the request ends at, the SMS the applicant receives, and
/// the golden history recorded of it. Each case has its own node and simulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_refuses_the_applicants_it_must_refuse_at_the_designed_step() {
    let rejected: &[&str] = &["checking", "rejected"];
    let cases = [
        (
            "home business: Shahkar has the mobile under someone else",
            HOME_BUSINESS,
            tutor_with_someone_elses_mobile(),
            "mobile_not_owned",
            rejected,
            Some("home-business-permit.refused"),
        ),
        (
            "home business: the registry does not know the applicant",
            HOME_BUSINESS,
            handicrafts(NOBODY),
            "not_verified",
            rejected,
            None,
        ),
        (
            "greenhouse: land that is not eligible",
            GREENHOUSE,
            ineligible_land(),
            "land_rejected",
            &["checking", "at_agriculture", "rejected"],
            Some("greenhouse-permit.refused"),
        ),
        (
            "greenhouse: the called verification does not know the applicant",
            GREENHOUSE,
            polycarbonate(NOBODY),
            "not_verified",
            rejected,
            None,
        ),
        (
            "building permit: a seized property",
            BUILDING,
            seized_property(),
            "deed_seized",
            rejected,
            Some("municipal-building-permit.refused"),
        ),
        (
            "utility connection: someone who does not own the property",
            UTILITY,
            not_the_owner(),
            "not_owner",
            rejected,
            Some("utility-connection.refused"),
        ),
    ];
    for (case, (agency, workflow), input, step, sms, golden) in cases {
        let node = Node::new().await;
        let mobile = input["mobile"].as_str().unwrap().to_owned();
        let s = node.start(agency, workflow, input).await;
        let (_, audit) = ended_as(&node, &s, "rejected").await;
        assert_eq!(end_step(&node, &s).await, step, "{case}");
        assert_eq!(audit.sms_to(&mobile), sms, "{case}");
        if let Some(name) = golden {
            node.record_golden(name).await;
        }
    }
}

fn tutor_with_someone_elses_mobile() -> Value {
    json!({
        "national_id": "1122334451", "mobile": "09191112233", "birth_date": "1995-05-05",
        "postal_code": "1417613151", "category": "tutoring", "business_title": "Math tutoring"
    })
}

fn ineligible_land() -> Value {
    json!({
        "national_id": "6135724681", "mobile": "09133334444", "birth_date": "1970-01-20",
        "registration_plate": "99/1", "area": 2000, "greenhouse_type": "plastic_film",
        "latitude": 32.1, "longitude": 51.9, "water_right_id": "W-11-0087"
    })
}

fn seized_property() -> Value {
    json!({
        "national_id": "4261537801", "mobile": "09125556677", "birth_date": "1975-04-04",
        "postal_code": "1966713411", "deed_serial": "1399887766", "registration_plate": "77/3",
        "floors": 3, "built_area": 900, "usage": "residential"
    })
}

fn not_the_owner() -> Value {
    let mut input = connection();
    input["national_id"] = json!("0012345679");
    input["mobile"] = json!("09123334455");
    input
}

// ---- Home-business permit -------------------------------------------------------------------

/// A handicrafts business of `national_id`.
fn handicrafts(national_id: &str) -> Value {
    json!({
        "national_id": national_id, "mobile": "09121234567", "birth_date": "1990-01-01",
        "postal_code": "1417613151", "category": "handicrafts", "business_title": "سفال‌گری"
    })
}

fn home_food() -> Value {
    json!({
        "national_id": "0790419904", "mobile": "09351234567", "birth_date": "1985-07-14",
        "postal_code": "7134768139", "category": "home_food",
        "business_title": "Homemade pickles and jams", "health_card_number": "HC-1402-55817"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_business_home_food_is_issued_after_the_health_inspector_approves() {
    let node = Node::new().await;
    let visit = json!({"visited": true, "health_card_valid": true, "notes": "Clean kitchen."});
    let decision = ("kitchen_review", "health_inspector", "approve", visit);
    let (state, audit) = issued_after_task(&node, HOME_BUSINESS, home_food(), decision).await;
    assert_eq!(state.vars["kitchen_visited"], json!(true));
    assert_eq!(state.vars["full_name"], json!("رضا کریمی"));
    assert_eq!(
        audit.sms_to("09351234567"),
        ["checking", "health_review", "issued"]
    );
    node.record_golden("home-business-permit.issued").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_business_with_shahkar_down_is_never_refused_but_stops_on_an_incident_an_operator_retries()
 {
    let node = Node::new().await;
    // An applicant who is otherwise issued a permit at once.
    let input = handicrafts("0499370899");
    // Shahkar being down is not Shahkar saying no: no refusal, an incident.
    let outage = ("shahkar", "mobile_owner");
    let (_, audit) = ended_after_outage(&node, outage, HOME_BUSINESS, input, "issued").await;
    retried_once_after(&audit, "mobile_owner", 5);
    assert!(!audit.sms_to("09121234567").contains(&"rejected"));
}

// ---- Greenhouse permit (calls applicant-verification) ----------------------------------------

/// A polycarbonate greenhouse of `national_id`.
fn polycarbonate(national_id: &str) -> Value {
    json!({
        "national_id": national_id, "mobile": "09131234567", "birth_date": "1985-07-14",
        "registration_plate": "125/4", "area": 5000, "greenhouse_type": "polycarbonate",
        "latitude": 32.61, "longitude": 51.52, "water_right_id": "W-10-4471"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greenhouse_is_issued_after_payment_and_a_site_inspection() {
    let node = Node::new().await;
    let input = json!({
        "national_id": "5123498761", "mobile": "09131112222", "birth_date": "1983-12-12",
        "registration_plate": "210/7", "area": 5000, "greenhouse_type": "glass",
        "latitude": 32.61, "longitude": 51.52, "water_right_id": "W-10-5512"
    });
    let inspection = json!({"site_suitable": true, "measured_area": 4950});
    let decision = (
        "site_inspection",
        "agriculture_inspector",
        "submit",
        inspection,
    );
    let (state, audit) = issued_after_task(&node, GREENHOUSE, input, decision).await;
    assert_eq!(state.vars["applicant_name"], json!("فاطمه کاظمی"));
    assert_eq!(state.vars["fee_amount"], json!(15_000_000));
    assert!(
        state.vars["payment_reference"].is_string(),
        "{:?}",
        state.vars
    );
    assert!(state.vars["permit_number"].is_string(), "{:?}", state.vars);
    // The verification ran as a sub-workflow of its own, and ended approved.
    assert_eq!(audit.streams.len(), 2);
    assert!(
        audit
            .streams
            .iter()
            .any(|(_, st)| st.workflow == "applicant-verification" && outcome(st) == "approved")
    );
    assert_eq!(
        audit.sms_to("09131112222"),
        [
            "checking",
            "at_agriculture",
            "awaiting_payment",
            "inspection",
            "issued"
        ]
    );
    node.record_golden("greenhouse-permit.issued").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greenhouse_with_agriculture_down_stops_on_an_incident_an_operator_retries() {
    let node = Node::new().await;
    let input = polycarbonate("0790419904");
    // The hand-off has no failure path: after its ten attempts, an operator is needed.
    let outage = ("agriculture", "hand_off");
    let (_, audit) = ended_after_outage(&node, outage, GREENHOUSE, input, "issued").await;
    retried_once_after(&audit, "hand_off", 10);
    assert_eq!(
        audit.sms_to("09131234567"),
        ["checking", "at_agriculture", "awaiting_payment", "issued"]
    );
}

// ---- Municipal building permit ----------------------------------------------------------------

/// The engineer's approval of the four floors.
fn engineering_approval() -> Value {
    json!({"structural_ok": true, "architectural_ok": true, "comments": "OK"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn building_permit_is_issued_after_payment_and_an_engineering_review() {
    let node = Node::new().await;
    let decision = (
        "engineering_review",
        "building_engineer",
        "approve",
        engineering_approval(),
    );
    let (state, audit) = issued_after_task(&node, BUILDING, four_floors(), decision).await;
    assert_eq!(state.vars["permitted_floors"], json!(4));
    assert!(
        state.vars["payment_reference"].is_string(),
        "{:?}",
        state.vars
    );
    assert_eq!(
        audit.sms_to("09121234567"),
        [
            "checking",
            "awaiting_payment",
            "engineering_review",
            "issued"
        ]
    );
    node.record_golden("municipal-building-permit.issued").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn building_permit_with_the_deeds_registry_down_is_never_refused_but_retried_by_an_operator()
{
    let node = Node::new().await;
    let s = retried_after_outage(&node, "deeds", BUILDING, four_floors(), "deed").await;
    node.complete_task(
        &s,
        "engineering_review",
        "building_engineer",
        "approve",
        engineering_approval(),
    )
    .await;
    let (_, audit) = ended_as(&node, &s, "issued").await;
    retried_once_after(&audit, "deed", 5);
    assert!(!audit.sms_to("09121234567").contains(&"rejected"));
}

// ---- Utility connection -----------------------------------------------------------------------

/// From payment to the meter: the visit is two days ahead, so the test plays the clock for the
/// wait until the visit morning, then the field crew reports the meter by its message.
async fn until_connected(node: &Node, s: &StreamId) {
    let state = node.until_the_meter_wait(s).await;
    let work_order = state.vars["work_order"].as_str().unwrap();
    node.engine
        .deliver(
            s,
            "meter_installed",
            work_order,
            &format!("crew-report-{work_order}"),
            json!({"meter_serial": "MTR-8812-0457"}),
            daftar_engine::events::Actor::Connector("electricity_distribution".into()),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utility_connection_is_approved_once_the_meter_is_installed() {
    let node = Node::new().await;
    let s = node.start_connection().await;
    until_connected(&node, &s).await;
    let (state, audit) = ended_as(&node, &s, "approved").await;
    assert_eq!(state.vars["meter_serial"], json!("MTR-8812-0457"));
    assert_eq!(audit.sms_to("09351234567"), CONNECTED_SMS);
    node.record_golden("utility-connection.approved").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utility_connection_with_the_distribution_company_down_is_retried_by_an_operator() {
    let node = Node::new().await;
    let company = "electricity_distribution";
    let s = retried_after_outage(&node, company, UTILITY, connection(), "cost").await;
    // After the retry the request is costed, paid and scheduled (the approved test follows
    // it from the visit on).
    let state = node.until_scheduled(&s).await;
    assert!(state.vars["work_order"].is_string(), "{:?}", state.vars);
    assert!(
        state.vars["payment_reference"].is_string(),
        "{:?}",
        state.vars
    );
    let audit = node.audit().await;
    retried_once_after(&audit, "cost", 5);
    assert_eq!(audit.visits("schedule"), [(1, 1)]);
    assert_eq!(audit.sms_to("09351234567"), SCHEDULED_SMS);
}

// ---- Judicial asset freeze --------------------------------------------------------------------

/// Files the freeze order of `debtor` with the judiciary.
async fn freeze(node: &Node, debtor: &str) -> StreamId {
    let (agency, workflow) = FREEZE;
    node.start(agency, workflow, freeze_order(debtor)).await
}

fn freeze_order(debtor: &str) -> Value {
    json!({
        "case_number": "1403682910000417", "order_number": "140309870001234",
        "debtor_national_id": debtor, "amount": 8_500_000_000_i64,
        "judge_national_id": "0499370899", "judge_mobile": "09121234567"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asset_freeze_of_a_debtor_with_nothing_finds_nothing_and_tells_the_judge() {
    let node = Node::new().await;
    let s = freeze(&node, "9162738496").await;
    let (state, audit) = ended_as(&node, &s, "completed").await;
    for var in [
        "bank_frozen_amount",
        "bank_accounts_count",
        "properties_count",
        "securities_frozen_value",
        "vehicles_count",
    ] {
        assert_eq!(state.vars[var], json!(0), "{var}");
    }
    assert_eq!(state.vars["securities_answered"], json!(true));
    // Its statuses send no SMS; the judge gets the report of the notify step.
    assert_eq!(audit.sms_to("09121234567"), ["step:notify_judge"]);
    node.record_golden("judicial-asset-freeze.completed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asset_freeze_whose_depository_never_calls_back_takes_the_callback_timeout_path() {
    let node = Node::new().await;
    let s = freeze(&node, "2736451988").await;
    // The depository acknowledged and stays silent; the three-day callback timeout is played.
    node.until(&s, "the other branches", |st| {
        st.vars.contains_key("vehicles_count") && st.vars.contains_key("bank_frozen_amount")
    })
    .await;
    node.fire_timer(&s, "freeze_securities", TimerPurpose::Timeout)
        .await;
    let (state, audit) = ended_as(&node, &s, "completed").await;
    assert_eq!(state.vars["securities_answered"], json!(false));
    assert_eq!(state.vars["vehicles_count"], json!(1));
    assert_eq!(audit.sms_to("09121234567"), ["step:notify_judge"]);
    let log = node.sms_log().await;
    assert!(
        log[0]["text"]
            .as_str()
            .unwrap()
            .contains("سپرده‌گذاری مرکزی هنوز پاسخ نداده است"),
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asset_freeze_with_the_central_bank_down_stops_on_an_incident_an_operator_retries() {
    let node = Node::new().await;
    let order = freeze_order("0790419904");
    let outage = ("bank", "freeze_bank_accounts");
    let (state, audit) = ended_after_outage(&node, outage, FREEZE, order, "completed").await;
    assert_eq!(state.vars["bank_frozen_amount"], json!(8_500_000_000_i64));
    retried_once_after(&audit, "freeze_bank_accounts", 6);
    assert_eq!(audit.sms_to("09121234567"), ["step:notify_judge"]);
}

/// An agency's callback can overtake its own `202`: here the securities depository takes 1.5 s
/// to acknowledge the order (and, for this debtor, never calls back itself), and its answer
/// reaches daftar's callback route while the step still waits for the acknowledgment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_that_overtakes_the_agencys_acknowledgment_is_not_lost() {
    let node = Node::new().await;
    node.set_faults("stock_exchange", json!({"latency_ms": 1500}))
        .await;
    let s = freeze(&node, "2736451988").await;
    let key = loop {
        if let Some(k) = inquiry_key(&node.history(&s).await, "stock_exchange") {
            break k;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let answer = json!({"frozen_value": 300_000_000, "holdings_count": 2});
    let status = node
        .post_callback(
            "/callbacks/inquiries/judiciary/stock_exchange",
            &key,
            answer,
        )
        .await;
    assert!((200..300).contains(&status), "{status}");
    let state = node
        .until_within(
            &s,
            "its end, with the depository's answer",
            std::time::Duration::from_secs(8),
            |st| st.ended(),
        )
        .await;
    assert_eq!(state.vars["securities_answered"], json!(true));
    assert_eq!(state.vars["securities_frozen_value"], json!(300_000_000));
}

// ---- Passport renewal -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passport_with_conscription_down_stops_on_an_incident_an_operator_retries() {
    let node = Node::new().await;
    let input = json!({
        "national_id": "0499370899", "mobile": "09121234567", "birth_date": "1990-01-01",
        "passport_number": "Z12345678", "delivery_postal_code": "1966713411"
    });
    // The incident stops the conscription branch; the civil registry's branch goes on.
    let outage = ("military_service", "ask_military_service");
    let (state, audit) = ended_after_outage(&node, outage, PASSPORT, input, "issued").await;
    assert!(state.vars["new_passport_number"].is_string());
    retried_once_after(&audit, "ask_military_service", 6);
    assert_eq!(audit.visits("ask_civil_registry"), [(1, 1)]);
    assert_eq!(
        audit.sms_to("09121234567"),
        ["checking", "awaiting_payment", "printing", "posted"]
    );
}
