//! The engine's errors.

/// Why a command was refused. A refused command changes nothing.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Error {
    /// The application form does not satisfy the definition's input schema: every way it
    /// fails, each with its place.
    #[error("the application is not valid: {}", list(.0))]
    InvalidInput(Vec<Violation>),
    /// A completed task's form does not satisfy its schema: every way it fails.
    #[error("the form is not valid: {}", list(.0))]
    InvalidForm(Vec<Violation>),
    /// The workflow says `triggers.request: false`: nobody may file it; it starts only on its
    /// schedule or from another workflow.
    #[error(
        "workflow `{workflow}` cannot be requested: it starts only on its schedule or from another workflow (`triggers.request: false`)"
    )]
    NotRequestable { workflow: String },
    /// The instance already exists.
    #[error("the instance has already started")]
    AlreadyStarted,
    /// The instance does not exist.
    #[error("the instance has not started")]
    NotStarted,
    /// The instance has ended.
    #[error("the instance has ended")]
    Ended,
    /// The command is about a wait the instance is no longer in: a stale worker, a second
    /// delivery, a timer already cancelled.
    #[error("stale: {0}")]
    Stale(String),
    /// No waiting token matches a message.
    #[error("no step is waiting for message `{name}` with key `{correlation}`")]
    NoReceiver { name: String, correlation: String },
    /// A callback or payment result came through another connector than the one the waiting
    /// step called (or from someone who is not a connector): an agency answering for another.
    #[error("the step waiting for `{correlation}` did not ask connector `{found}`")]
    WrongConnector {
        correlation: String,
        expected: String,
        found: String,
    },
    /// A task, timer, incident or notification that does not exist.
    #[error("unknown {kind} `{id}`")]
    Unknown { kind: &'static str, id: String },
    /// The command is not allowed now (claiming a task someone else holds, an outcome the
    /// task does not have).
    #[error("{0}")]
    NotAllowed(String),
    /// The definition is not the one the instance started with.
    #[error("the instance runs definition {expected}, not {found}")]
    WrongDefinition { expected: String, found: String },
    /// The instance ran too many steps without reaching a wait (validation forbids loops
    /// without a wait state; this guards the engine all the same).
    #[error("the instance ran more than {0} steps without waiting")]
    Runaway(usize),
}

/// One way a form fails its schema.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// The JSON pointer of the value at fault (`/national_id`); empty for the whole form.
    pub pointer: String,
    /// What is wrong with it.
    pub message: String,
    /// The same in Persian, for the citizen who filled the form in.
    pub fa: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pointer.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.pointer, self.message)
        }
    }
}

fn list(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The engine's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
