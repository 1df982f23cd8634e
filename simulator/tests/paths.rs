//! The seed drives both outcomes of every example service: for each person of the table in
//! docs/simulator.md, the inquiry that decides their path answers as documented.

use daftar_testkit::simulator as common;

use common::*;
use serde_json::{Value, json};

/// `(connector/operation, body, field, expected)`.
fn cases() -> Vec<(&'static str, Value, &'static str, Value)> {
    vec![
        // clean-record certificate
        (
            "judiciary_records/criminal_record",
            json!({"national_id": "0499370899"}),
            "has_record",
            json!(false),
        ),
        (
            "judiciary_records/criminal_record",
            json!({"national_id": "0012345679"}),
            "has_record",
            json!(true),
        ),
        (
            "civil_registry/identity_match",
            json!({"national_id": "2276543191", "birth_date": "1948-06-06"}),
            "is_alive",
            json!(false),
        ),
        // home-business permit
        (
            "shahkar/mobile_ownership",
            json!({"national_id": "0499370899", "mobile": "09121234567"}),
            "matched",
            json!(true),
        ),
        (
            "shahkar/mobile_ownership",
            json!({"national_id": "1122334451", "mobile": "09191112233"}),
            "matched",
            json!(false),
        ),
        (
            "postal_code/address_lookup",
            json!({"postal_code": "7134768139"}),
            "found",
            json!(true),
        ),
        (
            "postal_code/address_lookup",
            json!({"postal_code": "1136713341"}),
            "found",
            json!(false),
        ),
        // greenhouse permit
        (
            "civil_registry/identity_match",
            json!({"national_id": "5123498761", "birth_date": "1983-12-12"}),
            "matched",
            json!(true),
        ),
        (
            "agriculture/greenhouse_application",
            json!({"national_id": "0790419904", "registration_plate": "125/4", "area": 5000, "greenhouse_type": "polycarbonate"}),
            "inspection_required",
            json!(false),
        ),
        (
            "agriculture/greenhouse_application",
            json!({"national_id": "5123498761", "registration_plate": "210/7", "area": 3000, "greenhouse_type": "glass"}),
            "inspection_required",
            json!(true),
        ),
        (
            "agriculture/greenhouse_application",
            json!({"national_id": "6135724681", "registration_plate": "99/1", "area": 3000, "greenhouse_type": "glass"}),
            "land_eligible",
            json!(false),
        ),
        (
            "agriculture/greenhouse_application",
            json!({"national_id": "8159265352", "registration_plate": "333/2", "area": 3000, "greenhouse_type": "glass"}),
            "fee_amount",
            json!(13_130_000),
        ),
        // passport renewal
        (
            "military_service/service_status",
            json!({"national_id": "0499370899"}),
            "can_leave_country",
            json!(true),
        ),
        (
            "military_service/service_status",
            json!({"national_id": "1287654312"}),
            "can_leave_country",
            json!(false),
        ),
        (
            "passport_registry/renewal_eligibility",
            json!({"national_id": "0499370899", "passport_number": "Z12345678"}),
            "eligible",
            json!(true),
        ),
        (
            "passport_registry/renewal_eligibility",
            json!({"national_id": "3182736450", "passport_number": "Z33445566"}),
            "exit_ban",
            json!(true),
        ),
        (
            "passport_registry/renewal_eligibility",
            json!({"national_id": "7142857137", "passport_number": "Z55667788"}),
            "fee_amount",
            json!(9_990_000),
        ),
        // municipal building permit
        (
            "deeds/deed_authenticity",
            json!({"national_id": "0499370899", "deed_serial": "1402775312", "registration_plate": "3456/12"}),
            "is_owner",
            json!(true),
        ),
        (
            "deeds/deed_authenticity",
            json!({"national_id": "4261537801", "deed_serial": "1399887766", "registration_plate": "77/3"}),
            "is_seized",
            json!(true),
        ),
        (
            "deeds/deed_authenticity",
            json!({"national_id": "0012345679", "deed_serial": "1402775312"}),
            "is_owner",
            json!(false),
        ),
        (
            "deeds/deed_authenticity",
            json!({"national_id": "0499370899", "deed_serial": "1111111111"}),
            "authentic",
            json!(false),
        ),
        (
            "municipality/zoning",
            json!({"postal_code": "1417613151"}),
            "max_floors",
            json!(5),
        ),
        // utility connection
        (
            "deeds/deed_authenticity",
            json!({"national_id": "0790419904", "deed_serial": "1401223390", "registration_plate": "812/5"}),
            "is_owner",
            json!(true),
        ),
        (
            "electricity_distribution/connection_cost",
            json!({"postal_code": "8174673911", "usage": "residential", "phases": 1, "amperage": 25}),
            "network_extension_required",
            json!(true),
        ),
        // judicial asset freeze
        (
            "bank/freeze_accounts",
            json!({"national_id": "0790419904", "order_number": "1", "amount": 8_500_000_000u64}),
            "frozen_amount",
            json!(8_500_000_000u64),
        ),
        (
            "bank/freeze_accounts",
            json!({"national_id": "9162738496", "order_number": "1", "amount": 10}),
            "accounts_count",
            json!(0),
        ),
        (
            "real_estate_registry/register_seizure",
            json!({"national_id": "0790419904", "order_number": "1"}),
            "registration_plates",
            json!(["812/5"]),
        ),
        (
            "judiciary_records/file_freeze_report",
            json!({"case_number": "1403682910000417", "order_number": "1", "report": "r"}),
            "timestamp",
            Value::Null,
        ),
    ]
}

#[tokio::test]
async fn each_documented_path_answers_as_documented() {
    let base = start(quick_config()).await;
    for (i, (target, body, field, expected)) in cases().into_iter().enumerate() {
        let (status, answer) =
            post(&format!("{base}/agencies/{target}"), &format!("p{i}"), body).await;
        assert_eq!(status, 200, "{target}: {answer}");
        if expected.is_null() {
            assert!(answer.get(field).is_some(), "{target}: {answer}");
        } else {
            assert_eq!(answer[field], expected, "{target}.{field}: {answer}");
        }
    }
}

#[tokio::test]
async fn licence_reminders_run_out_once_marked() {
    let base = start(quick_config()).await;
    let due = format!("{base}/agencies/business_licences/next_due_reminder");
    let ask = json!({"licence_type": "home_business", "expiring_within_days": 30});
    let mut seen = Vec::new();
    for i in 0..3 {
        let (_, a) = post(&due, &format!("due{i}"), ask.clone()).await;
        if a["found"] == false {
            break;
        }
        assert!(
            a["expires_on_jalali"]
                .as_str()
                .is_some_and(|d| d.starts_with("14"))
        );
        let number = a["licence_number"].as_str().expect("number").to_string();
        let mark = format!("{base}/agencies/business_licences/mark_reminded");
        assert_eq!(
            post(
                &mark,
                &format!("mark{i}"),
                json!({"licence_number": number})
            )
            .await
            .0,
            200
        );
        seen.push(number);
    }
    assert_eq!(seen, ["HB-1401-00017", "HB-1401-00042"]);
}
