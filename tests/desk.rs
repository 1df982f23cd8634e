//! The web desk in a real browser: headless Chromium, driven over WebDriver, against the real
//! `daftar serve --demo` binary and its simulator. A citizen files a clean-record request and
//! sees the certificate on the page that follows; a citizen tracks a request by code and
//! mobile; an officer finds, claims and completes a home-food inspection while the citizen's
//! open page moves by itself; an auditor opens a request's record, its state at a version,
//! runs verify and opens its receipt, checked against a signed checkpoint; a designer pastes a broken definition, sees each error at its line and column
//! as they type, fixes it and deploys a version; another agency's officer sees none of it; an
//! officer walks to the second page of the worklist and back.

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
    assert_eq!(desk.until_path("/services").await, "/services");
    assert!(desk.source().await.contains("گواهی عدم سوء پیشینه"));
    desk.screenshot("catalog").await;

    // A form with three mistakes shows all three at once, each at its field.
    desk.open("/services/clean-record-certificate").await;
    assert!(
        desk.source().await.contains("۱۳ ساعت"),
        "the expected time is published"
    );
    desk.fill("f-national_id", "1234567890").await;
    // The birth date in the Jalali calendar and Persian digits: 11 Dey 1368 is 1 January 1990,
    // the date the civil registry holds, or the identity check would fail.
    desk.fill("f-birth_date", "۱۳۶۸/۱۰/۱۱").await;
    desk.click("file").await;
    for field in ["national_id", "mobile", "purpose"] {
        let error = desk.text(&format!("f-{field}-err")).await;
        assert!(!error.is_empty(), "{field} has its error next to it");
    }
    // In Persian: the schema's refusal of the national ID says what a right one is.
    let error = desk.text("f-national_id-err").await;
    assert!(error.contains("کد ملی درست نیست"), "{error}");
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
        daftar_engine::document::parse(&document).is_some(),
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

#[tokio::test(flavor = "multi_thread")]
async fn an_officer_completes_a_home_food_inspection_and_the_citizens_timeline_moves() {
    let Some(citizen) = Desk::start("desk::an_officer_completes_a_home_food_inspection").await
    else {
        return;
    };
    citizen.demo_sign_in("citizen", "mcls").await;
    citizen.open("/services/home-business-permit").await;
    citizen.fill("f-national_id", "0790419904").await;
    citizen.fill("f-mobile", "09351234567").await;
    citizen.fill("f-birth_date", "1985-07-14").await;
    citizen.fill("f-postal_code", "7134768139").await;
    citizen.choose("f-category", "home_food").await;
    citizen.fill("f-business_title", "ترشی و مربای خانگی").await;
    citizen.fill("f-health_card_number", "HC-1402-55817").await;
    citizen.click("file").await;
    let code = citizen.text("tracking-code").await;
    assert!(
        citizen
            .until_text("در انتظار بررسی بهداشتی", Duration::from_secs(20))
            .await,
        "the request waits for the health review"
    );

    // The officer, in another browser, finds the task by its tracking code and claims it.
    let officer = citizen.second().await;
    officer.demo_sign_in("officer", "mcls").await;
    assert_eq!(officer.until_path("/tasks").await, "/tasks");
    let row = officer.text("tasks").await;
    assert!(row.contains(&code), "the worklist lists the request: {row}");
    assert!(row.contains("مانده"), "with a countdown: {row}");
    officer.screenshot("worklist").await;
    officer
        .browser
        .find(fantoccini::Locator::XPath(&format!(
            "//tr[td[contains(., '{code}')]]//a[@class='task-link']"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    officer.click("claim").await;
    assert!(
        officer
            .until_text("demo-officer-mcls</dd>", Duration::from_secs(10))
            .await,
        "the task is the officer's"
    );
    officer.click("f-visited").await;
    officer.click("f-health_card_valid").await;
    officer.screenshot("task").await;
    officer.click("outcome-approve").await;
    assert_eq!(officer.until_path("/tasks").await, "/tasks");

    // The citizen's page, left open, moves to the permit by itself.
    let document = citizen
        .text_within("document-id", Duration::from_secs(20))
        .await;
    assert!(!document.is_empty());
    assert_eq!(citizen.text("status").await, "مجوز صادر شد");
    citizen.screenshot("request-live").await;

    // The officer's record of the request shows the agencies' answers as evidence.
    officer.open(&format!("/requests/{code}/record")).await;
    let evidence = officer.text("evidence").await;
    assert!(evidence.contains("civil-registration-org"), "{evidence}");
    assert!(
        officer.source().await.contains("TaskCompleted"),
        "the history has the completion"
    );
    officer.close().await;
    citizen.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_auditor_opens_a_requests_record_and_runs_verify() {
    let Some(desk) = Desk::start("desk::an_auditor_opens_a_requests_record").await else {
        return;
    };
    let (_, code) = file_clean_record(&desk).await;
    desk.sign_out().await;
    desk.demo_sign_in("auditor", "judiciary").await;
    assert_eq!(desk.until_path("/requests").await, "/requests");
    desk.browser
        .find(fantoccini::Locator::LinkText(&code))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let steps = desk.text("steps").await;
    let record = desk.path().await;
    for step in [
        "identity",
        "check_identity",
        "criminal_record",
        "decide",
        "issue",
    ] {
        assert!(steps.contains(step), "{step} ran: {steps}");
    }
    assert!(steps.contains("→"), "a decision's branch is shown: {steps}");
    // And why, in words, with the value its condition read.
    assert!(
        steps.contains("identity_ok «درست» بود (شرط برقرار نبود)")
            || steps.contains("identity_ok was true (the condition did not hold)"),
        "the decision's reason is shown: {steps}"
    );
    let hashes = desk
        .browser
        .find_all(fantoccini::Locator::Css("#evidence code.hash"))
        .await
        .unwrap();
    assert!(!hashes.is_empty());
    for h in hashes {
        assert_eq!(h.text().await.unwrap().len(), 64, "a SHA-256 in hex");
    }
    // The service's picture, with the steps that ran marked, its style let through the
    // page's Content-Security-Policy by its hash (blocked, the labels would be 16px).
    let ran = desk
        .browser
        .find_all(fantoccini::Locator::Css("#diagram g.ran"))
        .await
        .unwrap();
    assert!(
        ran.len() >= 5,
        "the steps that ran are marked: {}",
        ran.len()
    );
    let label = desk
        .browser
        .find(fantoccini::Locator::Css("#diagram text.a13"))
        .await
        .unwrap();
    assert_eq!(label.css_value("font-size").await.unwrap(), "13px");
    // The auditor sees no personal data.
    assert!(!desk.source().await.contains(NATIONAL_ID));
    desk.screenshot("record").await;

    desk.fill("at", "2").await;
    desk.click("state-at").await;
    assert!(
        desk.text("state").await.contains("۲"),
        "the state at version 2"
    );
    // And at a time typed as an auditor in Iran writes it: tomorrow, in Jalali, Tehran's clock.
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let jalali = daftar_engine::templates::jalali_date(&tomorrow).unwrap();
    desk.fill("at", &format!("{jalali} 09:00")).await;
    desk.click("state-at").await;
    let state = desk.text("state").await;
    assert!(state.contains("issued"), "the state by then: {state}");

    desk.click("verify").await;
    let result = desk.text("verify-result").await;
    assert!(result.contains("همهٔ زنجیره‌ها سالم است"), "{result}");
    desk.screenshot("verify").await;

    // The request's receipt, checked against the signed checkpoint that followed it.
    desk.open(&record).await;
    desk.click("receipt-link").await;
    let receipt = desk.path().await;
    let mut checked = false;
    for _ in 0..30 {
        if desk.source().await.contains("id=\"checked\"") {
            checked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        desk.open(&receipt).await;
    }
    assert!(
        checked,
        "a checkpoint signed the request: {}",
        desk.main_html().await
    );
    let text = desk.text("checked").await;
    assert!(text.contains("وارسی شد"), "{text}");
    assert!(!desk.source().await.contains(NATIONAL_ID));
    assert!(desk.text("events").await.contains("InstanceCompleted"));
    desk.screenshot("receipt").await;
    desk.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_designer_pastes_a_broken_yaml_sees_the_error_at_its_line_fixes_it_and_deploys() {
    let Some(desk) = Desk::start("desk::a_designer_pastes_a_broken_yaml").await else {
        return;
    };
    desk.demo_sign_in("designer", "judiciary").await;
    assert_eq!(desk.until_path("/designer").await, "/designer");
    desk.open("/designer/edit?from=clean-record-certificate@1")
        .await;
    let source = desk
        .browser
        .find(fantoccini::Locator::Id("source"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(source.contains("id: clean-record-certificate"));
    let fixed = source.replacen("version: 1", "version: 2", 1);
    // A decision that goes to a step that does not exist.
    let broken = fixed.replacen("next: identity_not_verified", "next: nowhere", 1);
    assert_ne!(broken, fixed);
    let (line, column) = broken
        .lines()
        .enumerate()
        .find_map(|(i, l)| Some((i + 1, l.find("nowhere")? + 1)))
        .unwrap();

    // Pasted, it is checked as it is typed: no button is pressed.
    desk.fill("source", &broken).await;
    let diagnostics = desk
        .text_within("diagnostic-list", Duration::from_secs(15))
        .await;
    assert!(
        diagnostics.contains(&format!("سطر {line}, ستون {column}")),
        "the error is at line {line}: {diagnostics}"
    );
    assert!(diagnostics.contains("nowhere"), "{diagnostics}");
    desk.screenshot("editor-errors").await;
    // Its code links to the code's page.
    let code = desk
        .browser
        .find(fantoccini::Locator::Css("#diagnostic-list a.code"))
        .await
        .unwrap();
    let href = code.attr("href").await.unwrap().unwrap_or_default();
    assert!(href.starts_with("/errors/DEF"), "{href}");

    // Fixed, it is valid and deploys as version 2.
    desk.fill("source", &fixed).await;
    assert!(
        !desk
            .text_within("valid", Duration::from_secs(15))
            .await
            .is_empty()
    );
    desk.click("deploy").await;
    let deployed = desk.text("deployed").await;
    assert!(
        deployed.contains("clean-record-certificate@2"),
        "{deployed}"
    );

    // The diff of the two versions, and the code's page.
    desk.open("/designer/clean-record-certificate/diff?from=1&to=2")
        .await;
    assert!(desk.source().await.contains("version: 2"));
    desk.open(&href).await;
    assert!(desk.source().await.contains(&href["/errors/".len()..]));
    desk.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manager_sees_each_services_figures_and_the_officers_load() {
    let Some(desk) = Desk::start("desk::a_manager_sees_each_services_figures").await else {
        return;
    };
    let (_, _) = file_clean_record(&desk).await;
    desk.sign_out().await;
    desk.demo_sign_in("manager", "judiciary").await;
    assert_eq!(desk.until_path("/manage").await, "/manage");
    let services = desk.text("services").await;
    let row = services
        .lines()
        .find(|l| l.contains("clean-record-certificate"))
        .unwrap_or_else(|| panic!("the service has its row: {services}"));
    // Filed 1, in progress 0, ended 1 (issued), cancelled 0, all of it smart.
    assert!(row.contains("۱ ۰ issued ۱ ۰ ۱۰۰٪"), "{row}");
    assert!(
        desk.text("period").await.contains("این ماه"),
        "the figures say they count this month"
    );
    assert!(!desk.text("no-incidents").await.is_empty());
    desk.screenshot("manage").await;
    desk.close().await;
}

/// Files a home-food permit through the API, as a portal would; answers its tracking code.
async fn file_home_food(token: &str, url: &str) -> String {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{url}/api/v1/requests"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "service": "home-business-permit",
            "input": {
                "national_id": "0790419904",
                "mobile": "09351234567",
                "birth_date": "1985-07-14",
                "postal_code": "7134768139",
                "category": "home_food",
                "business_title": "ترشی و مربای خانگی",
                "health_card_number": "HC-1402-55817",
            },
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["tracking_code"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_officer_walks_to_the_second_page_of_the_worklist_and_back() {
    let Some(officer) = Desk::start("desk::an_officer_walks_to_the_second_page").await else {
        return;
    };
    let keys = daftar_api::auth::Keys::hs256(
        browser::SECRET.as_bytes(),
        daftar_api::auth::DEFAULT_ISSUER,
        daftar_api::auth::DEFAULT_AUDIENCE,
    )
    .unwrap();
    let citizen = keys
        .mint(
            "portal",
            "mcls",
            vec![daftar_api::auth::Role::Citizen],
            vec![],
            600,
        )
        .unwrap();
    let codes = [
        file_home_food(&citizen, &officer.url).await,
        file_home_food(&citizen, &officer.url).await,
    ];
    officer.demo_sign_in("officer", "mcls").await;
    // One task a page: once both requests wait for the health review, there is a second.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        officer.open("/tasks?limit=1").await;
        if officer.source().await.contains("id=\"page-next\"") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "both requests reach the review"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let which = |table: &str| codes.iter().position(|c| table.contains(c.as_str()));
    let first = officer.text("tasks").await;
    let on_first = which(&first).unwrap_or_else(|| panic!("one of the tasks: {first}"));
    assert!(!officer.source().await.contains("id=\"page-previous\""));
    officer.click("page-next").await;
    assert!(
        officer
            .until_text("id=\"page-previous\"", Duration::from_secs(10))
            .await,
        "the second page links back"
    );
    let second = officer.text("tasks").await;
    assert_eq!(
        which(&second),
        Some(1 - on_first),
        "the other task, not the first again: {second}"
    );
    assert!(officer.path().await.starts_with("/tasks"));
    assert!(
        !officer.source().await.contains("id=\"page-next\""),
        "no third page"
    );
    officer.screenshot("worklist-page-2").await;
    officer.click("page-previous").await;
    assert!(
        officer
            .until_text(&codes[on_first], Duration::from_secs(10))
            .await,
        "the first page again"
    );
    let back = officer.text("tasks").await;
    assert_eq!(which(&back), Some(on_first), "and only its task: {back}");
    officer.close().await;
}
