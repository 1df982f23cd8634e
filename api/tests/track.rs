//! Router tests of public tracking: no token; the right tracking code and mobile number show
//! the public milestones and nothing personal; anything else is one and the same 404; lookups
//! of a code are rate-limited.

use daftar_testkit::router as support;

use axum::http::{Method, StatusCode};
use daftar_api::auth::Role;
use daftar_api::routes::track::LOOKUPS_PER_MINUTE;
use daftar_engine::runtime::tracking;
use serde_json::Value;
use support::Harness;

const AGENCY: &str = "judiciary";
const NATIONAL_ID: &str = "0499370899";
const MOBILE: &str = "09121234567";

/// Files a clean-record request; answers its id and tracking code.
async fn file(h: &Harness) -> (String, String) {
    let body = h.filed_clean_record(AGENCY).await;
    (
        body["id"].as_str().unwrap().to_owned(),
        body["tracking_code"].as_str().unwrap().to_owned(),
    )
}

async fn track(h: &Harness, code: &str, mobile: Option<&str>) -> (StatusCode, Value) {
    let uri = match mobile {
        Some(m) => format!("/api/v1/track/{code}?mobile={m}"),
        None => format!("/api/v1/track/{code}"),
    };
    h.call(Method::GET, &uri, None, None).await
}

#[tokio::test]
async fn the_applicant_tracks_their_request_to_its_certificate() {
    let h = Harness::new().await;
    let (id, code) = file(&h).await;
    let done = h.wait_for(AGENCY, &id, |v| v["state"] == "issued").await;

    let (status, seen) = track(&h, &code, Some(MOBILE)).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["tracking_code"], code);
    assert_eq!(seen["service"], "clean-record-certificate");
    assert_eq!(seen["service_title"]["en"], "Clean-record certificate");
    assert_eq!(seen["service_title"]["fa"], "گواهی عدم سوء پیشینه");
    assert_eq!(seen["status"], "issued");
    assert_eq!(seen["status_label"]["en"], "Issued");
    assert_eq!(seen["status_label"]["fa"], "صادر شد");
    assert_eq!(seen["ended"], true);
    assert_eq!(seen["outcome"], "issued");
    assert!(seen["ended_at"].is_string(), "{seen}");
    assert!(seen["filed_at"].is_string(), "{seen}");
    let document = seen["document_id"].as_str().expect("a document id");
    assert!(!document.is_empty());
    let milestones = seen["milestones"].as_array().unwrap();
    let statuses: Vec<&str> = milestones
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["checking", "issued"], "{seen}");
    assert_eq!(milestones[0]["label"]["en"], "Checking records");
    assert_eq!(milestones[0]["label"]["fa"], "در حال استعلام");
    assert_eq!(milestones[1]["label"]["en"], "Issued");
    assert!(milestones.iter().all(|m| m["at"].is_string()));
    assert!(milestones[0]["at"].as_str() <= milestones[1]["at"].as_str());

    // Nothing personal, nothing internal.
    let text = seen.to_string();
    for secret in [
        NATIONAL_ID,
        MOBILE,
        "1234567",
        "Sara",
        "Ahmadi",
        "JR-1",
        "i-",
    ] {
        assert!(!text.contains(secret), "`{secret}` in {text}");
    }
    for key in ["input", "vars", "id", "tasks", "national_id", "mobile"] {
        assert!(seen.get(key).is_none(), "`{key}` in {seen}");
    }
    assert_eq!(done["tracking_code"], code);

    // The code in lower case, the number in international form or Persian digits.
    let (status, again) = track(&h, &code.to_lowercase(), Some("%2B989121234567")).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["status"], "issued");
    let persian = "۰۹۱۲۱۲۳۴۵۶۷"
        .bytes()
        .map(|b| format!("%{b:02X}"))
        .collect::<String>();
    let (status, _) = track(&h, &code, Some(&persian)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_or_missing_mobile_answers_like_an_unknown_code() {
    let h = Harness::new().await;
    let (_, code) = file(&h).await;

    let (status, wrong) = track(&h, &code, Some("09350000000")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{wrong}");
    let (status, missing) = track(&h, &code, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, empty) = track(&h, &code, Some("")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let mut unknown_code = tracking::new_code();
    while unknown_code == code {
        unknown_code = tracking::new_code();
    }
    let (status, unknown) = track(&h, &unknown_code, Some(MOBILE)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A malformed code (a typo breaks the check character) is the same 404.
    let mut typo = code.clone().into_bytes();
    typo[0] = if typo[0] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap();
    assert!(!tracking::is_valid(&typo));
    let (status, invalid) = track(&h, &typo, Some(MOBILE)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, garbage) = track(&h, "not-a-code", Some(MOBILE)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    for other in [&missing, &empty, &unknown, &invalid, &garbage] {
        assert_eq!(&wrong, other);
    }
    assert_eq!(wrong["code"], "not-found");
    assert!(!wrong.to_string().contains(&code));

    // No token is needed, and one changes nothing.
    let officer = h.token(AGENCY, &[Role::Officer], &[]);
    let (status, with_token) = h
        .get(
            &format!("/api/v1/track/{code}?mobile=09350000000"),
            &officer,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(with_token, wrong);
}

#[tokio::test]
async fn lookups_of_one_code_are_rate_limited() {
    let h = Harness::new().await;
    let (_, code) = file(&h).await;

    // Someone guessing the mobile number of a known code runs out of tries…
    for i in 0..LOOKUPS_PER_MINUTE.get() {
        let (status, _) = track(&h, &code, Some(&format!("0912000{i:04}"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    // …and then even the right number is refused for a while.
    let (status, limited) = track(&h, &code, Some(MOBILE)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{limited}");
    assert_eq!(limited["code"], "rate-limited");

    // Unknown codes are limited alike (the limit tells nothing about existence); other codes
    // are not affected.
    let unknown = tracking::new_code();
    for _ in 0..LOOKUPS_PER_MINUTE.get() {
        assert_eq!(
            track(&h, &unknown, Some(MOBILE)).await.0,
            StatusCode::NOT_FOUND
        );
    }
    let (status, limited) = track(&h, &unknown, Some(MOBILE)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited["code"], "rate-limited");
    let (status, _) = track(&h, &tracking::new_code(), Some(MOBILE)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_openapi_document_describes_tracking_without_a_token() {
    let doc = serde_json::to_value(daftar_api::openapi::document()).unwrap();
    let get = &doc["paths"]["/api/v1/track/{tracking_code}"]["get"];
    assert!(get.is_object(), "{doc}");
    assert!(get.get("security").is_none(), "{get}");
    for status in ["200", "404", "429"] {
        assert!(get["responses"][status].is_object(), "{status}: {get}");
    }
    assert!(doc["components"]["schemas"]["TrackView"].is_object());
    assert!(doc["components"]["schemas"]["Milestone"].is_object());
}
