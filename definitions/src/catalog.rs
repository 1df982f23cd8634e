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
    /// Whether the agency answers later, by calling back.
    #[serde(default)]
    pub callback: bool,
}
