use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A CEL expression, kept as source text in the model.
///
/// YAML scalars that are not strings (`true`, `42`, `1.5`) are accepted as the literal
/// expressions they spell, so `amount: 120000` is a valid mapping. Expressions are compiled
/// and checked during validation (`crate::check::data`), never here, so that every problem in
/// a file is reported together with its line and column.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Expr(pub String);

impl Expr {
    /// The CEL source text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Expr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            B(bool),
            I(i64),
            F(f64),
        }
        Ok(Expr(match Raw::deserialize(d)? {
            Raw::S(s) => s,
            Raw::B(b) => b.to_string(),
            Raw::I(i) => i.to_string(),
            Raw::F(f) => format!("{f:?}"),
        }))
    }
}

impl JsonSchema for Expr {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Expression".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": ["string", "number", "boolean"],
            "description": "A CEL expression (https://cel.dev), for example `input.age >= 18`.",
        })
    }
}
