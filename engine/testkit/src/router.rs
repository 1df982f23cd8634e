//! Router tests: the whole application over a real SQLite store in a temporary folder, called
//! with `tower::ServiceExt::oneshot` (no socket). Tokens are minted with the test's HS256 key.
//! Automated steps use scripted answers (the HTTP connectors have their own tests against the
//! simulator); background workers run so that requests move on as they would in a server.

pub mod conformance;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use daftar_api::auth::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, Keys, Role};
use daftar_api::{AppState, Config, RateLimits};
use daftar_engine::connectors::Connectors;
use daftar_engine::connectors::scripted::Scripted;
use daftar_engine::runtime::Engine;
use daftar_engine::runtime::workers::{self, Background, Pace};
use serde_json::Value;
use tower::ServiceExt as _;

/// The test's HS256 secret.
pub const SECRET: &[u8] = b"router-tests-secret-0123456789abcdef";

/// The callback secret of every connector in these tests.
pub const CALLBACK_SECRET: &str = "callback-secret-of-the-tests";

pub use crate::root;

/// The text of a file under `api/tests/fixtures/`.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join("api/tests/fixtures").join(name)).unwrap()
}

/// A running application.
pub struct Harness {
    pub app: Router,
    pub state: AppState,
    pub engine: Arc<Engine>,
    pub keys: Keys,
    _loops: Option<Background>,
    _dir: tempfile::TempDir,
}

/// The judiciary's registered document code in the harness.
pub const DOCUMENT_CODE: &str = "JDCR";

/// The key that signs the harness's document verifications.
pub fn document_key() -> daftar_engine::audit::signing::SigningKey {
    daftar_engine::audit::signing::SigningKey::from_bytes(&[42; 32])
}

/// The key that signs the harness's checkpoints (the API publishes its public half).
pub fn checkpoint_key() -> daftar_engine::audit::signing::SigningKey {
    daftar_engine::audit::signing::SigningKey::from_bytes(&[7; 32])
}

/// A harness with the home-business permit, whose agencies' scripted answers issue a
/// handicrafts permit at once, and the application that gets one.
pub async fn home_business() -> (Harness, Value) {
    let h = Harness::with(Options {
        examples: vec!["home-business-permit.yaml"],
        answers: serde_json::json!({
            "civil_registry.identity_match":
                {"matched": true, "is_alive": true, "first_name": "Reza", "last_name": "Karimi"},
            "shahkar.mobile_ownership": {"matched": true},
            "postal_code.address_lookup":
                {"found": true, "address": "Tehran", "province": "Tehran"},
        }),
        ..Default::default()
    })
    .await;
    let application = serde_json::json!({"service": "home-business-permit", "input": {
        "national_id": "0499370899", "mobile": "09121234567", "birth_date": "1990-01-01",
        "postal_code": "1417613151", "category": "handicrafts", "business_title": "سفال‌گری"
    }});
    (h, application)
}

/// The national permits portal, whose applicant verification is deployed.
pub const PORTAL: &str = "national-permits-portal";

/// The applicant verification as the examples deploy it.
pub fn verification() -> String {
    std::fs::read_to_string(root().join("examples/workflows/applicant-verification.yaml")).unwrap()
}

/// Version 2 of the applicant verification, without its Shahkar condition: the removed
/// condition of the what-if tests.
pub fn verification_without_shahkar() -> String {
    let v1 = verification();
    let v2 = v1.replacen("version: 1", "version: 2", 1).replacen(
        "        - when: \"!mobile_owned\"\n          next: not_verified\n          reason: The mobile number is not registered to this national ID in Shahkar.\n",
        "",
        1,
    );
    assert_ne!(v1, v2, "the edit applies");
    v2
}

/// A harness with the portal's verification deployed, the civil registry matching the
/// applicant and Shahkar saying the mobile is not theirs, and one request that the Shahkar
/// condition refused; answers the harness and that request's view.
pub async fn portal_with_a_refusal() -> (Harness, Value) {
    let h = Harness::with(Options {
        examples: vec!["applicant-verification.yaml"],
        answers: serde_json::json!({
            "civil_registry.identity_match":
                {"matched": true, "is_alive": true, "first_name": "Sara", "last_name": "Ahmadi"},
            "shahkar.mobile_ownership": {"matched": false},
        }),
        ..Default::default()
    })
    .await;
    let citizen = h.token(PORTAL, &[Role::Citizen], &[]);
    let (status, filed) = h
        .post(
            "/api/v1/requests",
            &citizen,
            serde_json::json!({"service": "applicant-verification", "input":
                {"national_id": "0790419904", "mobile": "09131234567", "birth_date": "1985-07-14"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    let id = filed["id"].as_str().unwrap().to_owned();
    h.wait_for(PORTAL, &id, |v| v["state"] == "rejected").await;
    (h, filed)
}

/// Options of a harness.
pub struct Options {
    /// Example workflows (file names under examples/workflows) to deploy.
    pub examples: Vec<&'static str>,
    /// Extra definitions' YAML to deploy.
    pub sources: Vec<String>,
    /// Scripted agency answers, by `connector.operation`.
    pub answers: Value,
    /// Rate limits.
    pub limits: RateLimits,
    /// Whether background workers run (without them a request stays where it was filed).
    pub workers: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            examples: vec!["clean-record-certificate.yaml"],
            sources: Vec::new(),
            answers: serde_json::from_str(
                &std::fs::read_to_string(
                    root().join("examples/answers/clean-record-certificate.json"),
                )
                .unwrap(),
            )
            .unwrap(),
            limits: RateLimits::default(),
            workers: true,
        }
    }
}

impl Harness {
    pub async fn new() -> Harness {
        Self::with(Options::default()).await
    }

    pub async fn with(options: Options) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("daftar.db").display());
        let store = daftar_engine::store::open(&url).await.unwrap();
        let answers: BTreeMap<String, Value> = serde_json::from_value(options.answers).unwrap();
        let scripted = Arc::new(Scripted::new(answers));
        let connectors = Connectors {
            inquiries: Some(scripted.clone()),
            notifier: None,
            payments: Some(scripted),
        };
        let engine = Engine::open(store, connectors).await.unwrap();
        engine
            .set_document_code("judiciary", DOCUMENT_CODE)
            .unwrap();
        for name in &options.examples {
            let source =
                std::fs::read_to_string(root().join("examples/workflows").join(name)).unwrap();
            engine.deploy(name, &source).await.unwrap();
        }
        for (i, source) in options.sources.iter().enumerate() {
            engine
                .deploy(&format!("source-{i}.yaml"), source)
                .await
                .unwrap();
        }
        let keys = Keys::hs256(SECRET, DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
        let catalog = daftar_definitions::load_catalog(
            "connectors.yaml",
            &std::fs::read_to_string(root().join("examples/connectors.yaml")).unwrap(),
        )
        .ok();
        let callback_secrets = catalog
            .iter()
            .flat_map(|c| c.connectors.keys())
            .map(|name| (name.clone(), CALLBACK_SECRET.to_owned()))
            .collect();
        let state = AppState::new(Config {
            engine: engine.clone(),
            keys: keys.clone(),
            catalog,
            callback_secrets,
            metrics: None,
            limits: options.limits,
        })
        .with_document_key(document_key())
        .with_checkpoint_key(checkpoint_key().verifying_key());
        let loops = options.workers.then(|| {
            workers::spawn(
                engine.clone(),
                Pace {
                    poll: Duration::from_millis(20),
                    ..Pace::default()
                },
            )
        });
        Harness {
            app: daftar_api::app(state.clone()),
            state,
            engine,
            keys,
            _loops: loops,
            _dir: dir,
        }
    }

    /// A token of `agency` with `roles` (and, for officers, `task_roles`).
    pub fn token(&self, agency: &str, roles: &[Role], task_roles: &[&str]) -> String {
        self.token_for("tester", agency, roles, task_roles)
    }

    /// [`Harness::token`] for a subject of its own.
    pub fn token_for(
        &self,
        subject: &str,
        agency: &str,
        roles: &[Role],
        task_roles: &[&str],
    ) -> String {
        self.keys
            .mint(
                subject,
                agency,
                roles.to_vec(),
                task_roles.iter().map(|s| s.to_string()).collect(),
                3600,
            )
            .unwrap()
    }

    /// [`Harness::call`] for a GET with a token.
    pub async fn get(&self, uri: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, uri, Some(token), None).await
    }

    /// [`Harness::call`] for a POST of a JSON body with a token.
    pub async fn post(&self, uri: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, uri, Some(token), Some(body)).await
    }

    /// Files a clean-record certificate for the example applicant with `citizen`'s token;
    /// answers the status and the body.
    pub async fn file_clean_record(&self, citizen: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/api/v1/requests",
            Some(citizen),
            Some(
                serde_json::json!({"service": "clean-record-certificate", "input": {
                "national_id": "0499370899", "mobile": "09121234567",
                "birth_date": "1990-01-01", "purpose": "employment"}}),
            ),
        )
        .await
    }

    /// Files a clean-record certificate with `citizen`'s token and waits for its answer
    /// (`Prefer: wait=10`): the certificate must be issued; answers the request's view.
    pub async fn issued_clean_record(&self, citizen: &str) -> Value {
        let application = serde_json::json!({"service": "clean-record-certificate", "input": {
            "national_id": "0499370899", "mobile": "09121234567",
            "birth_date": "1990-01-01", "purpose": "employment"}});
        let req = Self::post_builder("/api/v1/requests", citizen)
            .header("prefer", "wait=10")
            .body(Body::from(application.to_string()))
            .unwrap();
        let filed = answered(self.send(req).await, StatusCode::CREATED);
        assert_eq!(filed["state"], "issued", "{filed}");
        filed
    }

    /// Files a clean-record certificate with a citizen's token of `agency`, which must be
    /// accepted; answers the filed request's view.
    pub async fn filed_clean_record(&self, agency: &str) -> Value {
        let citizen = self.token(agency, &[Role::Citizen], &[]);
        self.filed_clean_record_as(&citizen).await
    }

    /// [`Harness::filed_clean_record`] with the citizen's token `citizen`.
    pub async fn filed_clean_record_as(&self, citizen: &str) -> Value {
        let (status, body) = self.file_clean_record(citizen).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Cancels the request `id` with `token`, giving `reason`.
    pub async fn cancel(&self, id: &str, token: &str, reason: &str) -> (StatusCode, Value) {
        let uri = format!("/api/v1/requests/{id}/cancel");
        self.post(&uri, token, serde_json::json!({ "reason": reason }))
            .await
    }

    /// A POST of JSON to `uri` with the bearer `token`, to which a test adds its own headers
    /// and body before [`Harness::send`].
    pub fn post_builder(uri: &str, token: &str) -> axum::http::request::Builder {
        Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
    }

    /// Calls the application; answers the status and the body as JSON (`Null` when empty,
    /// a string when it is not JSON).
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        self.send(req).await
    }

    /// Sends a built request.
    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let (method, uri) = (req.method().to_string(), req.uri().to_string());
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let problem = res.headers().get("content-type").is_some_and(|v| {
            v.to_str()
                .unwrap_or_default()
                .starts_with("application/problem+json")
        });
        let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        conformance::check(&method, &uri, status.as_u16(), &body);
        if status.is_client_error() || status.is_server_error() {
            assert!(problem, "{status} must carry a problem body, got {body}");
            assert_eq!(body["status"], status.as_u16(), "{body}");
            assert!(
                body["code"].is_string() && body["detail"].is_string(),
                "{body}"
            );
        }
        (status, body)
    }

    /// Waits until `check` holds for the request `id`'s view (as an admin of `agency` sees
    /// it), at most 10 seconds.
    pub async fn wait_for(&self, agency: &str, id: &str, check: impl Fn(&Value) -> bool) -> Value {
        let admin = self.token(agency, &[Role::Admin], &[]);
        let mut last = Value::Null;
        for _ in 0..500 {
            let (status, body) = self
                .call(
                    Method::GET,
                    &format!("/api/v1/requests/{id}"),
                    Some(&admin),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            if check(&body) {
                return body;
            }
            last = body;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("request {id} never got there; last seen: {last}");
    }
}

impl Harness {
    /// The SQLite file of the harness's store (to tamper with in audit tests).
    pub fn db_file(&self) -> PathBuf {
        self._dir.path().join("daftar.db")
    }

    /// Calls the application with a body of `content_type` sent as is (YAML, plain text).
    pub async fn call_text(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<Body>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", content_type);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        self.send(req.body(body.into()).unwrap()).await
    }
}

/// One operation of the API's OpenAPI document that documents its responses.
pub struct Operation<'a> {
    pub path: &'a str,
    pub method: &'a str,
    pub op: &'a Value,
    pub responses: &'a serde_json::Map<String, Value>,
}

impl<'a> Operation<'a> {
    /// Each documented response that has content: its status and its content by media type.
    pub fn contents(&self) -> impl Iterator<Item = (&'a str, &'a serde_json::Map<String, Value>)> {
        self.responses.iter().filter_map(|(status, response)| {
            let content = response.get("content").and_then(Value::as_object)?;
            Some((status.as_str(), content))
        })
    }
}

/// Every operation of the OpenAPI document `doc` that documents its responses.
pub fn operations(doc: &Value) -> Vec<Operation<'_>> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(responses) = op.get("responses").and_then(Value::as_object) {
                found.push(Operation {
                    path,
                    method,
                    op,
                    responses,
                });
            }
        }
    }
    found
}

/// GETs `uri` from `app` with the bearer `token`, without the checks of [`Harness::send`]
/// (for routers a test builds itself).
pub async fn get_from(app: Router, uri: &str, token: &str) -> axum::response::Response {
    let req = Request::builder()
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.oneshot(req).await.unwrap()
}

/// The value of a response's header `name`, if it has one.
pub fn header(res: &axum::response::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// The JSON body of a response from a router called directly.
pub async fn json_body(res: axum::response::Response) -> Value {
    let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Checks an answer's status (showing its body when it is another) and answers the body.
pub fn answered((status, body): (StatusCode, Value), expected: StatusCode) -> Value {
    assert_eq!(status, expected, "{body}");
    body
}

/// Admin claims of `agency`, valid for ten minutes, as daftar's own tokens name them.
pub fn claims(agency: &str) -> daftar_api::auth::Claims {
    let now = jsonwebtoken::get_current_timestamp();
    daftar_api::auth::Claims {
        sub: "portal".into(),
        agency: agency.into(),
        roles: vec![Role::Admin],
        task_roles: vec![],
        iss: DEFAULT_ISSUER.into(),
        aud: DEFAULT_AUDIENCE.into(),
        exp: now + 600,
        iat: now,
    }
}

/// `claims` signed with HS256 and `key`.
pub fn sign(claims: &daftar_api::auth::Claims, key: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .unwrap()
}

/// `claims` as an unsigned token (`alg: none`, empty signature): a forgery.
pub fn unsigned(claims: &daftar_api::auth::Claims) -> String {
    fn b64(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
    format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(serde_json::to_string(claims).unwrap().as_bytes())
    )
}
