//! The language itself: the serde types a YAML workflow deserializes into.
//!
//! These types are the single source of truth for the language. The JSON Schema that editors
//! use for autocompletion and that the structural check enforces is generated from them
//! (`crate::schema`), so a field added here is documented, completed and checked at once.

/// Serde and a JSON Schema for a type written as text: serialized by its `Display`, read by its
/// `FromStr`, and described as a string of `format`, with a description and examples.
macro_rules! written_as_text {
    ($ty:ident, $format:literal, $description:literal, [$($example:literal),* $(,)?]) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "format": $format,
                    "description": $description,
                    "examples": [$($example),*]
                })
            }
        }
    };
}

mod duration;
mod expr;
mod kinds;
mod span;
mod step;
mod workflow;

pub use duration::Duration;
pub use expr::Expr;
pub use kinds::{
    Branch, Call, Callback, Case, Channel, Decision, Document, End, Escalation, Inquiry, Join,
    Notify, OnDeadline, OnUnknown, Outcome, Parallel, PathSegment, Payment, Retry, Task,
    Transition, Wait,
};
pub use span::{Span, WorkingSpan};
pub use step::{Step, StepKind, StepKindRef};
pub use workflow::{
    Applicant, Defaults, Form, InputSpec, LANGUAGE_VERSION, Limits, Schedule, SmsSetting, Status,
    Template, Text, Triggers, Workflow,
};

/// Names that expressions read from the engine rather than from workflow variables.
///
/// A step may not write a variable with one of these names.
pub const RESERVED_NAMES: &[&str] = &[
    "input",
    "response",
    "form",
    "outcome",
    "message",
    "result",
    "instance",
    "now",
    "status",
    "tracking_code",
    "applicant",
];
