//! The language itself: the serde types a YAML workflow deserializes into.
//!
//! These types are the single source of truth for the language. The JSON Schema that editors
//! use for autocompletion and that the structural check enforces is generated from them
//! (`crate::schema`), so a field added here is documented, completed and checked at once.

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
