//! What each agency answers: one function per operation of the catalog, reading the seed.
//!
//! An answer is the operation's `output` fields (the server adds `timestamp`); an unknown
//! record is answered as such (`matched: false`, `found: false`, zero counts) when the
//! operation can say so, else as [`Answer::NotFound`] (`404`).

use chrono::{Duration, Utc};
use serde_json::{Map, Value, json};

use crate::journal::Journal;
use crate::seed::{Seed, to_jalali};

/// An agency's answer.
#[derive(Debug)]
pub enum Answer {
    /// `200` with these fields.
    Ok(Value),
    /// `404`: the agency has no such record.
    NotFound(String),
}

/// The request body's field as text (a number is written out).
fn text(body: &Map<String, Value>, field: &str) -> String {
    match body.get(field) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

/// The request body's field as a number (text holding a number is read).
fn number(body: &Map<String, Value>, field: &str) -> f64 {
    match body.get(field) {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Answers `connector.operation` for `body`.
pub fn answer(
    seed: &Seed,
    journal: &mut Journal,
    connector: &str,
    operation: &str,
    body: &Map<String, Value>,
) -> Answer {
    let t = |f: &str| text(body, f);
    // The debtor's holdings, for the seizure operations.
    let holdings = || {
        seed.holdings(&t("national_id"))
            .cloned()
            .unwrap_or_default()
    };
    match (connector, operation) {
        ("civil_registry", "identity_match") => {
            let Some(p) = seed.person(&t("national_id")) else {
                return Answer::Ok(json!({
                    "matched": false, "first_name": null, "last_name": null,
                    "father_name": null, "gender": null, "is_alive": false
                }));
            };
            let names_agree = [
                ("first_name", &p.first_name),
                ("last_name", &p.last_name),
                ("father_name", &p.father_name),
            ]
            .iter()
            .all(|(f, v)| {
                body.get(*f)
                    .is_none_or(|g| g.is_null() || g.as_str() == Some(v))
            });
            Answer::Ok(json!({
                "matched": p.birth_date == t("birth_date") && names_agree,
                "first_name": p.first_name, "last_name": p.last_name,
                "father_name": p.father_name, "gender": p.gender, "is_alive": p.alive
            }))
        }
        ("shahkar", "mobile_ownership") => {
            let owned = seed
                .person(&t("national_id"))
                .is_some_and(|p| p.mobiles.contains(&t("mobile")));
            Answer::Ok(json!({ "matched": owned }))
        }
        ("postal_code", "address_lookup") => match seed.address(&t("postal_code")) {
            None => Answer::Ok(json!({
                "found": false, "province": null, "city": null, "locality": null, "street": null,
                "building_number": null, "floor": null, "unit": null, "address": null,
                "latitude": null, "longitude": null
            })),
            Some(a) => {
                let mut address = format!(
                    "{}، {}، {}، {}، پلاک {}",
                    a.province, a.city, a.locality, a.street, a.building_number
                );
                if let Some(f) = &a.floor {
                    address.push_str(&format!("، طبقه {f}"));
                }
                if let Some(u) = &a.unit {
                    address.push_str(&format!("، واحد {u}"));
                }
                Answer::Ok(json!({
                    "found": true, "province": a.province, "city": a.city,
                    "locality": a.locality, "street": a.street,
                    "building_number": a.building_number, "floor": a.floor, "unit": a.unit,
                    "address": address, "latitude": a.latitude, "longitude": a.longitude
                }))
            }
        },
        ("deeds", "deed_authenticity") => {
            let plate = t("registration_plate");
            match seed.deed(&t("deed_serial")) {
                Some(d) if plate.is_empty() || plate == d.registration_plate => {
                    let owner = d.owners.contains(&t("national_id"));
                    Answer::Ok(json!({
                        "authentic": true, "is_owner": owner,
                        "ownership_share": if owner { d.ownership_share } else { 0.0 },
                        "registration_plate": d.registration_plate, "land_area": d.land_area,
                        "usage": d.usage, "is_seized": d.seized, "has_mortgage": d.mortgaged
                    }))
                }
                _ => Answer::Ok(json!({
                    "authentic": false, "is_owner": false, "ownership_share": 0.0,
                    "registration_plate": null, "land_area": null, "usage": null,
                    "is_seized": false, "has_mortgage": false
                })),
            }
        }
        ("judiciary_records", "criminal_record") => match seed.person(&t("national_id")) {
            None => Answer::NotFound(format!("no person with national ID {}", t("national_id"))),
            Some(p) => Answer::Ok(json!({
                "has_record": p.criminal_record,
                "inquiry_id": format!("JR-{:08}", journal.next()),
            })),
        },
        ("judiciary_records", "file_freeze_report") => {
            Answer::Ok(json!({ "filed_at": crate::toolkit::agency_now() }))
        }
        ("military_service", "service_status") => {
            match seed
                .person(&t("national_id"))
                .and_then(|p| p.military.as_ref())
            {
                None => Answer::NotFound(format!(
                    "no military-service file for national ID {}",
                    t("national_id")
                )),
                Some(m) => Answer::Ok(json!({
                    "status": m.status, "can_leave_country": m.can_leave_country,
                    "exit_permit_required": m.exit_permit_required
                })),
            }
        }
        ("tax", "tax_clearance") => {
            match seed.person(&t("national_id")).and_then(|p| p.tax.as_ref()) {
                None => {
                    Answer::NotFound(format!("no tax file for national ID {}", t("national_id")))
                }
                Some(x) => Answer::Ok(json!({
                    "cleared": x.cleared, "outstanding_debt": x.outstanding_debt,
                    "certificate_number": x.cleared.then(|| format!("TC-{:08}", journal.next())),
                })),
            }
        }
        ("passport_registry", "renewal_eligibility") => {
            match seed.passport(&t("passport_number")) {
                None => Answer::NotFound(format!("no passport {}", t("passport_number"))),
                Some(p) => {
                    let own = p.national_id == t("national_id");
                    Answer::Ok(json!({
                        "eligible": own && p.eligible && !p.exit_ban, "exit_ban": p.exit_ban,
                        "fee_amount": p.fee_amount, "current_expires_on": p.expires_on
                    }))
                }
            }
        }
        ("passport_registry", "issue_passport") => match seed.passport(&t("passport_number")) {
            Some(p) if p.national_id == t("national_id") => {
                let n = journal.next();
                let expires = (Utc::now() + Duration::days(5 * 365)).date_naive();
                Answer::Ok(json!({
                    "new_passport_number": format!("Y{:08}", 10_000_000 + n),
                    "expires_on": expires.to_string(),
                    "post_tracking_number": format!("{:020}", 1_402_000_000_000_000_000u64 + n),
                }))
            }
            _ => Answer::NotFound(format!(
                "no passport {} for this person",
                t("passport_number")
            )),
        },
        ("agriculture", "greenhouse_application") => {
            let file_number = format!("GH-{:06}", journal.next());
            journal
                .files
                .insert(file_number.clone(), Value::Object(body.clone()));
            let land = seed.land(&t("registration_plate"));
            Answer::Ok(json!({
                "file_number": file_number,
                "land_eligible": land.is_some_and(|l| l.land_eligible),
                "inspection_required": land.is_some_and(|l| l.inspection_required),
                "fee_amount": land.map_or(0, |l| l.fee_amount),
                "rejection_reason": match land {
                    None => Some("پلاک در سامانه جهاد کشاورزی ثبت نشده است".to_string()),
                    Some(l) => l.rejection_reason.clone(),
                },
            }))
        }
        ("agriculture", "greenhouse_decision") => {
            if !journal.files.contains_key(&t("file_number")) {
                return Answer::NotFound(format!("no greenhouse file {}", t("file_number")));
            }
            let approved = t("decision") == "approved";
            Answer::Ok(json!({
                "permit_number": approved.then(|| format!("GHP-{:06}", journal.next())),
                "recorded_at": crate::toolkit::agency_now(),
            }))
        }
        ("business_licences", "next_due_reminder") => {
            let within = number(body, "expiring_within_days") as i64;
            let due = seed.business_licences.iter().find(|l| {
                l.licence_type == t("licence_type")
                    && l.expires_in_days <= within
                    && !journal.reminded.contains(&l.licence_number)
            });
            match due {
                None => Answer::Ok(json!({
                    "found": false, "licence_number": null, "holder_name": null,
                    "holder_mobile": null, "expires_on": null, "expires_on_jalali": null
                })),
                Some(l) => {
                    let d = (Utc::now() + Duration::days(l.expires_in_days)).date_naive();
                    let (jy, jm, jd) = {
                        use chrono::Datelike;
                        to_jalali(d.year().into(), d.month().into(), d.day().into())
                    };
                    Answer::Ok(json!({
                        "found": true, "licence_number": l.licence_number,
                        "holder_name": l.holder_name, "holder_mobile": l.holder_mobile,
                        "expires_on": d.to_string(),
                        "expires_on_jalali": format!("{jy:04}/{jm:02}/{jd:02}"),
                    }))
                }
            }
        }
        ("business_licences", "mark_reminded") => {
            let n = t("licence_number");
            let known = seed.business_licences.iter().any(|l| l.licence_number == n);
            if !known {
                return Answer::NotFound(format!("no licence {n}"));
            }
            journal.reminded.insert(n);
            Answer::Ok(json!({ "recorded": true }))
        }
        ("municipality", "zoning") => {
            match seed
                .address(&t("postal_code"))
                .and_then(|a| a.zoning.clone())
            {
                Some(z) => Answer::Ok(z),
                None => {
                    Answer::NotFound(format!("no detailed-plan parcel for {}", t("postal_code")))
                }
            }
        }
        ("municipality", "building_permit_fee") => {
            let rate = if t("usage") == "residential" {
                1_500_000.0
            } else {
                3_000_000.0
            };
            let amount = (number(body, "built_area") * rate * number(body, "floors").max(1.0) / 4.0)
                .round() as u64;
            let n = journal.next();
            Answer::Ok(json!({
                "amount": amount, "bill_id": format!("{:013}", 1_234_567_000_000u64 + n),
                "payment_id": format!("{:010}", 40_000_000u64 + n),
            }))
        }
        ("electricity_distribution", "connection_cost") => match seed.address(&t("postal_code")) {
            None => Answer::NotFound(format!("no network record for {}", t("postal_code"))),
            Some(a) => {
                let amount = (number(body, "phases").max(1.0)
                    * number(body, "amperage").max(1.0)
                    * 2_000_000.0) as u64
                    + if a.network_extension_required {
                        50_000_000
                    } else {
                        0
                    };
                Answer::Ok(json!({
                    "amount": amount,
                    "bill_id": format!("{:013}", 9_876_543_000_000u64 + journal.next()),
                    "network_extension_required": a.network_extension_required,
                }))
            }
        },
        ("electricity_distribution", "schedule_installation") => {
            let day = (Utc::now() + Duration::days(2)).date_naive();
            let starts = day.and_hms_opt(5, 30, 0).map(|d| d.and_utc());
            Answer::Ok(json!({
                "work_order": format!("WO-{:06}", journal.next()),
                "visit_starts_at": starts.map(|s| s.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                "visit_window": format!("{day} ساعت ۹ تا ۱۲"),
            }))
        }
        ("bank", "freeze_accounts") => {
            let h = holdings();
            let frozen = h.bank_balance.min(number(body, "amount") as u64);
            Answer::Ok(json!({ "frozen_amount": frozen, "accounts_count": h.bank_accounts }))
        }
        ("real_estate_registry", "register_seizure") => {
            let h = holdings();
            Answer::Ok(json!({
                "properties_count": h.property_plates.len(),
                "registration_plates": h.property_plates,
            }))
        }
        ("stock_exchange", "freeze_securities") => {
            let h = holdings();
            Answer::Ok(json!({
                "frozen_value": h.securities_value, "holdings_count": h.securities_holdings
            }))
        }
        ("vehicle_registry", "register_vehicle_seizure") => {
            let h = holdings();
            Answer::Ok(json!({
                "vehicles_count": h.vehicle_plates.len(), "plate_numbers": h.vehicle_plates
            }))
        }
        _ => Answer::NotFound(format!(
            "the simulator does not play {connector}.{operation}"
        )),
    }
}

/// Whether the seed says `connector` never calls back for this request.
pub fn withheld(seed: &Seed, connector: &str, body: &Map<String, Value>) -> bool {
    seed.holdings(&text(body, "national_id"))
        .is_some_and(|h| h.silent.iter().any(|s| s == connector))
}
