//! The connector catalog: which connectors an agency has and what their operations take and
//! answer. Definitions name connectors and operations only, never URLs; validation checks the
//! names and the fields against this catalog (`examples/connectors.yaml`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Every connector, by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "daftar connector catalog")]
pub struct Catalog {
    /// Connectors by name, such as `civil_registry`.
    pub connectors: BTreeMap<String, Connector>,
}

/// What a connector is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    /// Another agency's web service, asked by inquiry steps.
    Inquiry,
    /// A payment gateway, used by payment steps.
    Payment,
    /// An SMS gateway, used for notifications.
    Sms,
}

/// One connector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Connector {
    /// The agency that runs the service behind it.
    pub agency: String,
    /// What it is for.
    pub kind: ConnectorKind,
    /// A description for designers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its operations, by name.
    #[serde(default)]
    pub operations: BTreeMap<String, Operation>,
    /// Where the service is: an `http` or `https` URL. `${VAR}` and `${VAR:-default}` are read
    /// from the environment, so one catalog serves the simulator and the real agencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// How daftar authenticates; secrets are read from the environment, never written here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    /// The variable holding the secret this service must send with its callbacks (late
    /// answers, payment results, delivery reports) as `Authorization: Bearer <secret>`.
    /// Left out, daftar uses `$DAFTAR_CALLBACK_TOKEN`; with neither, it accepts no callbacks
    /// from this service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_secret_env: Option<String>,
    /// How long one call may take before its outcome is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<crate::model::Duration>,
    /// The most calls in flight at once to this service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_concurrency: Option<u32>,
    /// The retry policy of steps that do not set their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<crate::model::Retry>,
    /// When to stop calling a failing service for a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreaker>,
}

/// How daftar authenticates to a service. Each names environment variables holding secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The variable holding the token.
        token_env: String,
    },
    /// HTTP basic authentication.
    Basic {
        /// The variable holding the user name.
        user_env: String,
        /// The variable holding the password.
        password_env: String,
    },
    /// A key in a header of the agency's choosing.
    ApiKey {
        /// The header, such as `X-Api-Key`.
        header: String,
        /// The variable holding the key.
        value_env: String,
    },
}

/// A circuit breaker: after `failures` failures in a row (5xx, connection errors, timeouts),
/// calls fail at once for `open_for`, then one call is let through to test the service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreaker {
    /// Consecutive failures that open the circuit.
    #[schemars(range(min = 1))]
    pub failures: u32,
    /// How long it stays open.
    pub open_for: crate::model::Duration,
}

/// One operation of a connector.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// Request fields that must be given.
    #[serde(default)]
    pub input: Vec<String>,
    /// Request fields that may be given.
    #[serde(default)]
    pub optional: Vec<String>,
    /// Fields of the answer, readable as `response.<field>`.
    #[serde(default)]
    pub output: Vec<String>,
    /// Fields of the answer that may be `null` in an ordinary answer (a registry that does
    /// not know a national ID answers `matched: false` and no names). An output expression
    /// that computes with one must guard it (DEF056).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nullable: Vec<String>,
    /// Whether the agency answers later, by calling back.
    #[serde(default)]
    pub callback: bool,
    /// The HTTP method; `POST` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<HttpMethod>,
    /// The path after the connector's `base_url`; `/<operation>` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// The methods an operation may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// A query in the URL.
    Get,
    /// A JSON body.
    Post,
}
