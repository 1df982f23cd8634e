//! The web desk in a real browser: headless Chromium, driven over WebDriver, against the real
//! `daftar serve --demo` binary and its simulator. A citizen files a clean-record request and
//! sees the certificate on the page that follows; a citizen tracks a request by code and
//! mobile; another agency's officer sees none of it.

#[path = "desk/browser.rs"]
mod browser;

use std::time::Duration;

use browser::Desk;

const NATIONAL_ID: &str = "0499370899";
const MOBILE: &str = "09121234567";

/// Signs in as the demo's citizen of the judiciary and files a clean-record request; answers
/// the request's page path and its tracking code.
async fn file_clean_record(desk: &Desk) -> (String, String) {
    desk.demo_sign_in("citizen", "judiciary").await;
    desk.open("/services/clean-record-certificate").await;
    desk.fill("f-national_id", NATIONAL_ID).await;
    desk.fill("f-mobile", MOBILE).await;
    desk.fill("f-birth_date", "1990-01-01").await;
    desk.choose("f-purpose", "employment").await;
    desk.click("file").await;
    let code = desk.text("tracking-code").await;
    (desk.path().await, code)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_citizen_files_a_clean_record_request_and_sees_the_certificate_on_the_same_page() {
    let Some(desk) = Desk::start("desk::a_citizen_files_a_clean_record_request").await else {
        return;
    };
    desk.open("/").await;
    desk.screenshot("sign-in").await;
    desk.demo_sign_in("citizen", "judiciary").await;
    assert_eq!(desk.path().await, "/services");
    assert!(desk.source().await.contains("گواهی عدم سوء پیشینه"));
    desk.screenshot("catalog").await;

    // A form with three mistakes shows all three at once, each at its field.
    desk.open("/services/clean-record-certificate").await;
    assert!(
        desk.source().await.contains("۱۳ ساعت"),
        "the expected time is published"
    );
    desk.fill("f-national_id", "1234567890").await;
    desk.fill("f-birth_date", "1990-01-01").await;
    desk.click("file").await;
    for field in ["national_id", "mobile", "purpose"] {
        let error = desk.text(&format!("f-{field}-err")).await;
        assert!(!error.is_empty(), "{field} has its error next to it");
    }
    assert!(
        desk.text("form-errors")
            .await
            .contains("هر خطا کنار خانهٔ خودش")
    );
    desk.screenshot("service-form-errors").await;

    // Corrected, it is filed and the certificate is on the page that answers.
    desk.fill("f-national_id", NATIONAL_ID).await;
    desk.fill("f-mobile", MOBILE).await;
    desk.choose("f-purpose", "employment").await;
    desk.click("file").await;
    let document = desk.text("document-id").await;
    assert!(
        document.len() >= 10 && document.chars().all(|c| c.is_ascii_digit()),
        "a national document ID: {document}"
    );
    assert_eq!(desk.text("status").await, "صادر شد");
    assert!(desk.path().await.starts_with("/requests/"));
    desk.screenshot("request-issued").await;

    // In English, the same page says the same in English, with Gregorian dates.
    let path = desk.path().await;
    desk.open(&format!("{path}?lang=en")).await;
    assert_eq!(desk.text("status").await, "Issued");
    assert!(desk.source().await.contains("dir=\"ltr\""));
    desk.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_citizen_tracks_a_request_by_code_and_mobile() {
    let Some(desk) = Desk::start("desk::a_citizen_tracks_a_request_by_code_and_mobile").await
    else {
        return;
    };
    let (_, code) = file_clean_record(&desk).await;
    desk.sign_out().await;

    // Anyone with the code and the mobile number sees the milestones.
    desk.open("/track").await;
    desk.fill("code", &code).await;
    desk.fill("mobile", "۰۹۱۲۱۲۳۴۵۶۷").await;
    desk.click("track").await;
    assert!(
        desk.text("milestones").await.contains("صادر شد"),
        "the milestones are shown"
    );
    assert!(!desk.text("document-id").await.is_empty());
    desk.screenshot("track").await;

    // Another mobile number learns nothing, not even that the code exists.
    desk.fill("code", &code).await;
    desk.fill("mobile", "09120000000").await;
    desk.click("track").await;
    assert!(!desk.text("not-found").await.is_empty());
    assert!(!desk.source().await.contains("milestones"));
    desk.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn another_agencys_officer_sees_none_of_it() {
    let Some(desk) = Desk::start("desk::another_agencys_officer_sees_none_of_it").await else {
        return;
    };
    let (path, code) = file_clean_record(&desk).await;
    desk.sign_out().await;
    desk.demo_sign_in("officer", "mcls").await;
    for page in [
        path.clone(),
        format!("/requests/{code}"),
        format!("{path}/live"),
    ] {
        desk.open(&page).await;
        assert!(
            desk.until_text("چنین صفحه‌ای نیست", Duration::from_secs(5))
                .await,
            "{page}: a 404 page"
        );
        // The address the officer typed is on the page (the language switch keeps it); the
        // page's content says nothing of the request.
        let source = desk.source().await;
        let main = desk.main_html().await;
        for secret in ["گواهی عدم سوء پیشینه", NATIONAL_ID, "document-id"] {
            assert!(!source.contains(secret), "{page} shows {secret}");
        }
        assert!(!main.contains(&code), "{page} shows the tracking code");
    }
    desk.screenshot("other-agency").await;
    desk.close().await;
}
