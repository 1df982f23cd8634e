//! Router tests of national documents: a clean-record certificate's ID has the national layout;
//! its public verification (no token) says only what it may, signed with the agency's key, and
//! a changed answer fails the signature; an officer of the agency revokes it with a reason, and
//! verification and the history say so; no reason, another agency's token, a citizen, a
//! malformed and an unknown ID are each refused as documented.

use daftar_testkit::router as support;

use axum::http::{Method, StatusCode};
use daftar_api::auth::Role;
use daftar_engine::audit::document::DocumentStatus;
use daftar_engine::document;
use serde_json::{Value, json};
use support::{DOCUMENT_CODE, Harness, document_key};

const AGENCY: &str = "judiciary";

/// Files a clean-record request and waits for its certificate: its id and document ID.
async fn issued(h: &Harness) -> (String, String) {
    let done = h
        .issued_clean_record(&h.token(AGENCY, &[Role::Citizen], &[]))
        .await;
    let document = done["document_id"].as_str().unwrap();
    (done["id"].as_str().unwrap().to_owned(), document.to_owned())
}

async fn verify(h: &Harness, id: &str) -> (StatusCode, Value) {
    h.call(Method::GET, &format!("/api/v1/documents/{id}"), None, None)
        .await
}

async fn revoke(h: &Harness, id: &str, token: &str, body: Value) -> (StatusCode, Value) {
    h.post(&format!("/api/v1/documents/{id}/revoke"), token, body)
        .await
}

#[tokio::test]
async fn a_certificate_is_verified_by_anyone_and_the_answer_is_signed() {
    let h = Harness::new().await;
    let (_, id) = issued(&h).await;
    let parts = document::parse(&id).expect("a national document ID");
    assert_eq!(id.len(), 20);
    assert_eq!(parts.code, DOCUMENT_CODE);

    let (status, body) = verify(&h, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["document_id"], id.as_str());
    assert_eq!(body["status"], "valid");
    assert_eq!(body["agency"], AGENCY);
    assert_eq!(body["service"], "clean-record-certificate");
    assert_eq!(body["holder"], "********99");
    // Nothing else: not the national ID, the mobile number, the tracking code or the form.
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "agency",
            "answered_at",
            "document_id",
            "holder",
            "issued_at",
            "key_id",
            "service",
            "signature",
            "status"
        ]
    );
    let text = body.to_string();
    assert!(
        !text.contains("0499370899") && !text.contains("09121234567"),
        "{text}"
    );
    // The minute in the ID is the minute of issue.
    let issued_at = chrono::DateTime::parse_from_rfc3339(body["issued_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert_eq!(parts.issued_at.timestamp(), issued_at - issued_at % 60);

    // Checked offline with the public key; any change fails.
    let answer: DocumentStatus = serde_json::from_value(body.clone()).unwrap();
    answer
        .verify(&document_key().verifying_key())
        .expect("the agency's signature");
    for (field, value) in [
        ("status", json!("revoked")),
        ("holder", json!("********98")),
        ("issued_at", json!("2020-01-01T00:00:00Z")),
    ] {
        let mut tampered = body.clone();
        tampered[field] = value;
        let tampered: DocumentStatus = serde_json::from_value(tampered).unwrap();
        let err = tampered
            .verify(&document_key().verifying_key())
            .unwrap_err();
        assert!(err.contains("altered"), "{field}: {err}");
    }

    // Any case is the same ID.
    let (status, lower) = verify(&h, &id.to_lowercase()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lower["document_id"], id.as_str());
}

#[tokio::test]
async fn malformed_ids_are_400_and_unknown_ones_404() {
    let h = Harness::new().await;
    let (_, id) = issued(&h).await;
    let mut typo = id.clone().into_bytes();
    typo[12] = if typo[12] == b'7' { b'8' } else { b'7' };
    let typo = String::from_utf8(typo).unwrap();
    for bad in [
        "short",
        "JDCR0WHNY77K2M9XQ4RKX",
        "JDCR-WHNY77K2M9XQ4RK",
        typo.as_str(),
    ] {
        let (status, body) = verify(&h, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["status"], 400);
    }
    // Well formed, issued by nobody.
    let unknown = document::compose(DOCUMENT_CODE, chrono::Utc::now(), "0000000000");
    let (status, body) = verify(&h, &unknown).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn an_officer_of_the_agency_revokes_with_a_reason_and_verification_says_so() {
    let h = Harness::new().await;
    let (request, id) = issued(&h).await;
    let officer = h.token(AGENCY, &[Role::Officer], &[]);

    // Refused: a citizen (403), another agency's admin (404, as an unknown ID), no reason (400).
    let citizen = h.token(AGENCY, &[Role::Citizen], &[]);
    let (status, _) = revoke(&h, &id, &citizen, json!({"reason": "x"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let stranger = h.token("mcls", &[Role::Admin], &[]);
    let (status, body) = revoke(&h, &id, &stranger, json!({"reason": "x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    for body in [json!({}), json!({"reason": "  "})] {
        let (status, answer) = revoke(&h, &id, &officer, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    }
    let (_, still) = verify(&h, &id).await;
    assert_eq!(still["status"], "valid", "nothing refused changed it");

    let reason = "صادر شده با کارت ملی جعلی";
    let (status, body) = revoke(&h, &id, &officer, json!({"reason": reason})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "revoked");

    let (status, seen) = verify(&h, &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["status"], "revoked");
    assert_eq!(seen["reason"], reason);
    assert!(seen["revoked_at"].is_string(), "{seen}");
    let answer: DocumentStatus = serde_json::from_value(seen).unwrap();
    answer
        .verify(&document_key().verifying_key())
        .expect("the revoked answer is signed too");

    // Once: a second revocation is refused.
    let (status, body) = revoke(&h, &id, &officer, json!({"reason": "again"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // The request's history shows it.
    let auditor = h.token(AGENCY, &[Role::Auditor], &[]);
    let (status, history) = h
        .get(&format!("/api/v1/requests/{request}/history"), &auditor)
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let text = history.to_string();
    assert!(
        text.contains("DocumentRevoked") && text.contains(reason),
        "{text}"
    );
}

#[tokio::test]
async fn a_permits_verification_shows_its_milestones_and_the_holder_masked() {
    let (h, application) = support::home_business().await;
    let citizen = h.token("mcls", &[Role::Citizen], &[]);
    let (status, filed) = h.post("/api/v1/requests", &citizen, application).await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    let done = h
        .wait_for("mcls", filed["id"].as_str().unwrap(), |v| {
            v["state"] == "issued"
        })
        .await;
    let id = done["document_id"].as_str().unwrap();
    let (status, seen) = verify(&h, id).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["holder"], "********99");
    let statuses: Vec<&str> = seen["milestones"]
        .as_array()
        .expect("a permit's milestones")
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["checking", "issued"], "{seen}");
    let text = seen.to_string();
    assert!(
        !text.contains("Karimi") && !text.contains("1417613151"),
        "{text}"
    );
    let answer: DocumentStatus = serde_json::from_value(seen).unwrap();
    answer
        .verify(&document_key().verifying_key())
        .expect("the milestones are signed too");
}
