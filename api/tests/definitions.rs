//! Router tests of `/api/v1/definitions`: deploying (new, the same again, a version taken by
//! other content, another agency's), validating with line and column, listing, reading a
//! version's source and its Mermaid graph; who may do what.

use daftar_testkit::router as support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use daftar_api::auth::Role;
use serde_json::{Value, json};
use support::{Harness, answered, root};
use tower::ServiceExt as _;

const AGENCY: &str = "judiciary";
const YAML: &str = "application/yaml";

/// The example definition the harness deploys (version 1).
fn example() -> String {
    std::fs::read_to_string(root().join("examples/workflows/clean-record-certificate.yaml"))
        .unwrap()
}

/// The example as another version.
fn version(v: u32) -> String {
    let text = example().replacen("\nversion: 1\n", &format!("\nversion: {v}\n"), 1);
    assert!(text.contains(&format!("\nversion: {v}\n")));
    text
}

/// The 1-based line and column where `needle` first appears in `text`.
fn place_of(text: &str, needle: &str) -> (u64, u64) {
    for (i, line) in text.lines().enumerate() {
        if let Some(col) = line.find(needle) {
            return (i as u64 + 1, line[..col].chars().count() as u64 + 1);
        }
    }
    panic!("`{needle}` is not in the text");
}

/// The URI of version `v` of the example.
fn version_uri(v: u32) -> String {
    format!("/api/v1/definitions/clean-record-certificate/versions/{v}")
}

/// Deploys `body`, sent as `content_type`, with `token`.
async fn deploy(
    h: &Harness,
    token: &str,
    content_type: &str,
    body: impl Into<Body>,
) -> (StatusCode, Value) {
    let uri = "/api/v1/definitions";
    h.call_text(Method::POST, uri, Some(token), content_type, body)
        .await
}

/// Validates `yaml` with `token`.
async fn validate(h: &Harness, token: &str, yaml: impl Into<Body>) -> (StatusCode, Value) {
    let uri = "/api/v1/definitions/validate";
    h.call_text(Method::POST, uri, Some(token), YAML, yaml)
        .await
}

/// A harness with the example deployed, and a designer's token of its agency.
async fn with_designer() -> (Harness, String) {
    let h = Harness::new().await;
    let designer = h.token(AGENCY, &[Role::Designer], &[]);
    (h, designer)
}

fn diagnostics(body: &Value) -> &Vec<Value> {
    body["diagnostics"].as_array().expect("diagnostics")
}

#[tokio::test]
async fn a_version_is_deployed_once_and_never_changes() {
    let (h, designer) = with_designer().await;
    let uri = "/api/v1/definitions";

    let first = answered(
        deploy(&h, &designer, YAML, version(2)).await,
        StatusCode::CREATED,
    );
    assert_eq!(first["id"], "clean-record-certificate");
    assert_eq!(first["version"], 2);
    assert_eq!(first["in_force_from"], "2026-03-21");
    assert_eq!(first["already_deployed"], false);
    let hash = first["hash"].as_str().unwrap().to_owned();
    assert!(hash.starts_with("sha256:"), "{first}");

    // The same content again changes nothing.
    let again = answered(
        deploy(&h, &designer, "text/plain", version(2)).await,
        StatusCode::OK,
    );
    assert_eq!(again["already_deployed"], true);
    assert_eq!(again["hash"], hash);

    // The version the harness deployed, sent as JSON: also already there.
    let one = answered(
        h.post(uri, &designer, json!({"source": example()})).await,
        StatusCode::OK,
    );
    assert_eq!(one["version"], 1);
    assert_eq!(one["already_deployed"], true);

    // Other content under a deployed version is refused.
    let changed = version(2).replacen("en: Clean-record certificate", "en: Clean record", 1);
    assert_ne!(changed, version(2));
    let taken = answered(
        deploy(&h, &designer, YAML, changed.clone()).await,
        StatusCode::CONFLICT,
    );
    assert_eq!(taken["code"], "version-taken");
    // As a new version it is welcome.
    let three = answered(
        deploy(
            &h,
            &designer,
            YAML,
            changed.replacen("\nversion: 2\n", "\nversion: 3\n", 1),
        )
        .await,
        StatusCode::CREATED,
    );
    assert_ne!(three["hash"], hash);

    // The listing: newest version first, with titles; officers may read it.
    let officer = h.token(AGENCY, &[Role::Officer], &[]);
    let list = answered(h.get(uri, &officer).await, StatusCode::OK);
    let items = list["items"].as_array().unwrap();
    let versions: Vec<u64> = items
        .iter()
        .filter(|i| i["id"] == "clean-record-certificate")
        .map(|i| i["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [3, 2, 1]);
    assert_eq!(items[0]["title"]["en"], "Clean record");
    assert_eq!(items[1]["title"]["en"], "Clean-record certificate");
    assert_eq!(items[1]["title"]["fa"], "گواهی عدم سوء پیشینه");
    assert_eq!(items[1]["hash"], hash);

    // One version: its source byte for byte.
    let auditor = h.token(AGENCY, &[Role::Auditor], &[]);
    let detail = answered(h.get(&version_uri(2), &auditor).await, StatusCode::OK);
    assert_eq!(detail["source"], version(2));
    assert_eq!(detail["hash"], hash);
    assert_eq!(detail["agency"], AGENCY);
    assert_eq!(detail["title"]["en"], "Clean-record certificate");

    // Its graph, as Mermaid text.
    let req = Request::builder()
        .uri("/api/v1/definitions/clean-record-certificate/versions/2/graph")
        .header("authorization", format!("Bearer {designer}"))
        .body(Body::empty())
        .unwrap();
    let res = h.app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let mermaid = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(mermaid.contains("flowchart TD"), "{mermaid}");
    assert!(mermaid.contains("s_criminal_record"), "{mermaid}");
    // The same diagram `daftar graph` draws.
    let compiled =
        daftar_definitions::compile("x", &version(2), daftar_definitions::Options::default())
            .unwrap();
    assert_eq!(mermaid, daftar_definitions::render::mermaid(&compiled));

    // The new version is in force: requests can be filed with it.
    let citizen = h.token(AGENCY, &[Role::Citizen], &[]);
    let filed = answered(h.file_clean_record(&citizen).await, StatusCode::CREATED);
    assert_eq!(filed["service_version"], 3);
}

#[tokio::test]
async fn invalid_definitions_are_refused_with_every_diagnostic() {
    let (h, designer) = with_designer().await;

    // Not YAML at all.
    let broken = "daftar: 1\nid: broken\nversion: [1,\n  title: {fa: x\n";
    let body = answered(
        deploy(&h, &designer, YAML, broken).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert_eq!(body["code"], "invalid-definition");
    assert_eq!(
        body["type"],
        "https://daftar.dev/problems/invalid-definition"
    );
    assert_eq!(body["title"], "Unprocessable Entity");
    assert_eq!(body["status"], 422);
    let first = &diagnostics(&body)[0];
    assert_eq!(first["code"], "DEF001", "{body}");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["file"], "definition.yaml");
    assert!(first["line"].as_u64().unwrap() >= 3, "{body}");
    assert!(first["column"].as_u64().unwrap() >= 1, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("DEF001"),
        "{body}"
    );

    // Valid YAML, a transition to a step that does not exist, and a connector the server's
    // catalog does not have: both reported, at their lines and columns.
    let text = version(4)
        .replacen("next: refer_to_office", "next: nowhere", 1)
        .replacen(
            "connector: judiciary_records",
            "connector: no_such_registry",
            1,
        );
    assert!(text.contains("nowhere") && text.contains("no_such_registry"));
    let body = answered(
        deploy(&h, &designer, YAML, text.clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    let found = diagnostics(&body);
    let unknown_step = found
        .iter()
        .find(|d| d["code"] == "DEF021")
        .unwrap_or_else(|| panic!("{body}"));
    let (line, column) = place_of(&text, "nowhere");
    assert_eq!(unknown_step["line"], line, "{body}");
    assert_eq!(unknown_step["column"], column, "{body}");
    assert!(
        unknown_step["message"]
            .as_str()
            .unwrap()
            .contains("nowhere"),
        "{body}"
    );
    let unknown_connector = found
        .iter()
        .find(|d| d["code"] == "DEF025")
        .unwrap_or_else(|| panic!("the server's catalog is used: {body}"));
    assert_eq!(
        unknown_connector["line"],
        place_of(&text, "no_such_registry").0
    );
    // Nothing was deployed.
    let (status, _) = h.get(&version_uri(4), &designer).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Validation alone says the same, with 200, and deploys nothing.
    let report = answered(validate(&h, &designer, text).await, StatusCode::OK);
    assert_eq!(report["valid"], false);
    assert!(diagnostics(&report).iter().any(|d| d["code"] == "DEF021"));
    assert_eq!(report["hash"], Value::Null);

    // A valid definition with a warning (a status declared and never used).
    let warned = version(5).replacen(
        "statuses:\n",
        "statuses:\n  spare: { fa: یدک, en: Spare }\n",
        1,
    );
    let report = answered(
        h.post(
            "/api/v1/definitions/validate",
            &designer,
            json!({"source": warned}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["id"], "clean-record-certificate");
    assert_eq!(report["version"], 5);
    let warning = diagnostics(&report)
        .iter()
        .find(|d| d["code"] == "DEF029")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(warning["severity"], "warning");
    assert_eq!(warning["line"], place_of(&warned, "spare:").0);
    let (status, _) = h.get(&version_uri(5), &designer).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "validation deploys nothing");
    // Deploying it answers the warning too, and the hash validation announced.
    let deployed = answered(
        deploy(&h, &designer, YAML, warned).await,
        StatusCode::CREATED,
    );
    assert_eq!(deployed["hash"], report["hash"]);
    assert!(
        deployed["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "DEF029"),
        "{deployed}"
    );

    // Bodies that are not definitions.
    let body = answered(
        deploy(
            &h,
            &designer,
            YAML,
            vec![b'i', b'd', b':', b' ', 0xff, 0xfe, b'\n'],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert_eq!(diagnostics(&body)[0]["line"], 1);
    assert_eq!(diagnostics(&body)[0]["column"], 5);
    let body = answered(
        deploy(&h, &designer, "image/png", version(6)).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    );
    assert_eq!(body["code"], "unsupported-media-type");
    let body = answered(
        h.post("/api/v1/definitions", &designer, json!({"yaml": "x"}))
            .await,
        StatusCode::BAD_REQUEST,
    );
    assert_eq!(body["code"], "bad-body");
}

#[tokio::test]
async fn only_designers_deploy_and_only_for_their_agency() {
    let h = Harness::new().await;
    let endpoints = [
        (Method::POST, "/api/v1/definitions"),
        (Method::POST, "/api/v1/definitions/validate"),
        (Method::GET, "/api/v1/definitions"),
        (
            Method::GET,
            "/api/v1/definitions/clean-record-certificate/versions/1",
        ),
        (
            Method::GET,
            "/api/v1/definitions/clean-record-certificate/versions/1/graph",
        ),
    ];
    for (method, uri) in &endpoints {
        let (status, body) = h
            .call_text(method.clone(), uri, None, YAML, version(2))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {body}");
    }
    // Citizens get none of it; officers and auditors read but do not deploy or validate.
    let citizen = h.token(AGENCY, &[Role::Citizen], &[]);
    for (method, uri) in &endpoints {
        let (status, body) = h
            .call_text(method.clone(), uri, Some(&citizen), YAML, version(2))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}: {body}");
    }
    for role in [Role::Officer, Role::Auditor] {
        let token = h.token(AGENCY, &[role], &[]);
        for (method, uri) in &endpoints {
            let (status, body) = h
                .call_text(method.clone(), uri, Some(&token), YAML, version(2))
                .await;
            let expected = if *method == Method::POST {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::OK
            };
            assert_eq!(status, expected, "{role} {method} {uri}: {body}");
        }
    }
    // An admin is a designer too.
    let admin = h.token(AGENCY, &[Role::Admin], &[]);
    answered(
        deploy(&h, &admin, YAML, version(2)).await,
        StatusCode::CREATED,
    );

    // A definition of another agency is not deployed by this one.
    let designer = h.token(AGENCY, &[Role::Designer], &[]);
    let theirs = version(7).replacen("agency: judiciary", "agency: municipality", 1);
    let body = answered(
        deploy(&h, &designer, YAML, theirs.clone()).await,
        StatusCode::FORBIDDEN,
    );
    assert_eq!(body["code"], "wrong-agency");

    // The other agency sees none of this agency's definitions.
    let other = h.token("municipality", &[Role::Designer], &[]);
    let (status, list) = h.get("/api/v1/definitions", &other).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"], json!([]));
    for uri in [
        "/api/v1/definitions/clean-record-certificate/versions/1",
        "/api/v1/definitions/clean-record-certificate/versions/1/graph",
    ] {
        let (status, body) = h.get(uri, &other).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
    }
    // …and deploys its own, under the same id, without touching this agency's.
    answered(deploy(&h, &other, YAML, theirs).await, StatusCode::CREATED);
    let (_, mine) = h.get("/api/v1/definitions", &designer).await;
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["version"] != 7),
        "{mine}"
    );

    // Unknown versions and malformed paths.
    for (uri, expected) in [
        (
            "/api/v1/definitions/clean-record-certificate/versions/99",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/definitions/no-such-service/versions/1/graph",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/definitions/clean-record-certificate/versions/latest",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, body) = h.get(uri, &designer).await;
        assert_eq!(status, expected, "{uri}: {body}");
    }
}
