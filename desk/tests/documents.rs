//! A national document's public pages, through the desk's router: the printable page carries
//! the ID and a QR code drawn as SVG, which a QR reader (`rqrr`) decodes to the verification
//! page's URL; the verification page says valid, then revoked with the reason once an officer
//! revokes it; a malformed ID is 400 and an unknown one 404, with no sign-in.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use daftar_api::auth::Role;
use daftar_engine::document;
use daftar_testkit::router::Harness;
use serde_json::json;
use tower::ServiceExt;

const AGENCY: &str = "judiciary";

async fn page(app: &Router, path: &str) -> (StatusCode, String) {
    let req = Request::get(path)
        .header(header::HOST, "daftar.example:8080")
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Reads the QR code of the page's inline SVG: `qrcode`'s SVG is one path of rectangles
/// (`M{x} {y}h{w}v{h}H{x}V{y}`), drawn here on a bitmap for the reader.
fn read_qr(html: &str) -> String {
    let svg = &html[html.find("<svg").expect("an inline SVG")..];
    let number = |s: &str, key: &str| -> usize {
        let from = s.find(key).unwrap() + key.len();
        s[from..].split('"').next().unwrap().parse().unwrap()
    };
    let (w, h) = (number(svg, "width=\""), number(svg, "height=\""));
    let d = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let mut dark = vec![false; w * h];
    for rect in d.split('M').filter(|r| !r.is_empty()) {
        let nums: Vec<usize> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().unwrap())
            .collect();
        let (x, y, rw, rh) = (nums[0], nums[1], nums[2], nums[3]);
        for yy in y..y + rh {
            for xx in x..x + rw {
                dark[yy * w + xx] = true;
            }
        }
    }
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(
            w,
            h,
            |x, y| if dark[y * w + x] { 0 } else { 255 },
        );
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the page");
    grids[0].decode().expect("a readable QR code").1
}

#[tokio::test]
async fn the_printable_document_carries_a_qr_code_of_its_verification_page() {
    let h = Harness::new().await;
    let done = h
        .issued_clean_record(&h.token(AGENCY, &[Role::Citizen], &[]))
        .await;
    let id = done["document_id"].as_str().unwrap();

    // Without a public address, the QR names the one the visitor reached.
    let app = common::desk(&h, None);
    let (status, html) = page(&app, &format!("/documents/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(id), "the ID is printed");
    assert!(html.contains("********99"), "the holder, masked");
    assert!(!html.contains("0499370899"), "never the national ID itself");
    assert!(!html.contains("<script"), "no script");
    let url = format!("http://daftar.example:8080/documents/{id}/verify");
    assert_eq!(read_qr(&html), url);

    // With one (serve --public-url), that address.
    let public = common::desk(&h, Some("https://daftar.judiciary.ir/"));
    let (_, html) = page(&public, &format!("/documents/{id}")).await;
    assert_eq!(
        read_qr(&html),
        format!("https://daftar.judiciary.ir/documents/{id}/verify")
    );

    // What the QR opens.
    let (status, html) = page(&app, &format!("/documents/{id}/verify")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"data-status="valid""#), "{html}");
    assert!(html.contains("clean-record") || html.contains("عدم سوء پیشینه"));

    let officer = h.token(AGENCY, &[Role::Officer], &[]);
    let reason = "issued on a forged identity card";
    let (status, body) = h
        .post(
            &format!("/api/v1/documents/{id}/revoke"),
            &officer,
            json!({ "reason": reason }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, html) = page(&app, &format!("/documents/{id}/verify?lang=en")).await;
    assert!(html.contains(r#"data-status="revoked""#), "{html}");
    assert!(html.contains(reason));
    let (_, html) = page(&app, &format!("/documents/{id}")).await;
    assert!(
        html.contains(r#"id="revoked""#),
        "the printed page says so too"
    );
}

#[tokio::test]
async fn a_malformed_id_is_400_and_an_unknown_one_404() {
    let h = Harness::new().await;
    let app = common::desk(&h, None);
    let (status, _) = page(&app, "/documents/not-an-id").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let unknown = document::compose("JDCR", chrono::Utc::now(), "0000000000");
    let (status, _) = page(&app, &format!("/documents/{unknown}/verify")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_permits_verification_page_shows_its_milestones_by_their_labels() {
    let (h, application) = daftar_testkit::router::home_business().await;
    let citizen = h.token("mcls", &[Role::Citizen], &[]);
    let (status, filed) = h.post("/api/v1/requests", &citizen, application).await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    let request = filed["id"].as_str().unwrap();
    let done = h
        .wait_for("mcls", request, |v| v["state"] == "issued")
        .await;
    let id = done["document_id"].as_str().unwrap();
    let (status, html) = page(
        &common::desk(&h, None),
        &format!("/documents/{id}/verify?lang=en"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let milestones = &html[html
        .find(r#"id="milestones""#)
        .expect("a permit's milestones")..];
    assert!(
        milestones.contains("Checking") && milestones.contains("Permit issued"),
        "{milestones}"
    );
    assert!(!html.contains("0499370899"), "the holder is masked");
}
