//! Diagnostics: what validation says about a definition, where, and under which stable code.
//!
//! Codes never change meaning once released; each has a page `docs/errors/CODE.md`.

use std::fmt;

use serde::Serialize;

macro_rules! codes {
    ($($variant:ident = $code:literal, $severity:ident, $summary:literal;)*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $(#[doc = $summary] $variant,)*
        }

        impl Code {
            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as printed, such as `DEF012`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }

            /// Whether the code is an error (the definition is refused) or a warning.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }
        }
    };
}

codes! {
    YamlSyntax = "DEF001", Error, "the file is not valid YAML";
    UnknownField = "DEF002", Error, "a field the language does not have";
    DuplicateKey = "DEF003", Error, "a key appears twice in one mapping";
    MissingField = "DEF004", Error, "a required field is missing";
    WrongType = "DEF005", Error, "a value has the wrong type or is not one of the allowed values";
    InvalidValue = "DEF006", Error, "a value is out of range or badly formed";
    TooLarge = "DEF007", Error, "the file exceeds a size, depth or alias limit";
    LanguageVersion = "DEF008", Error, "the file is written for a language version this daftar does not read";
    StepKind = "DEF010", Error, "a step does not have exactly one kind, or has a field its kind does not use";
    WaitKind = "DEF011", Error, "a wait does not say exactly what it waits for";
    TaskAssignee = "DEF012", Error, "a human task names no role or candidate group";
    DuplicateId = "DEF020", Error, "two steps, branches or schedules share an id";
    UnknownStep = "DEF021", Error, "a transition names a step that does not exist";
    UnknownStatus = "DEF022", Error, "a step names a public status that is not declared";
    UnknownTemplate = "DEF023", Error, "a template is named that is not declared";
    UnknownForm = "DEF024", Error, "a human task names a form that is not declared";
    UnknownConnector = "DEF025", Error, "a step names a connector that is not in the catalog";
    UnknownOperation = "DEF026", Error, "an inquiry names an operation its connector does not have";
    ConnectorMapping = "DEF027", Error, "an inquiry's input does not match its operation's fields";
    UnknownWorkflow = "DEF028", Warning, "a call names a workflow that was not validated with this one";
    UnusedDeclaration = "DEF029", Warning, "a status, template or form is declared and never used";
    Unreachable = "DEF030", Error, "a step can never be reached from the start";
    NoEnd = "DEF031", Error, "from a step, no end can be reached";
    LoopWithoutWait = "DEF032", Error, "a loop passes no wait state and would spin forever";
    JoinNeverCompletes = "DEF033", Error, "a parallel step can never join";
    FallsOffEnd = "DEF034", Error, "the last step is not an end and says nothing about what follows";
    LeavesBranch = "DEF035", Error, "a transition leaves its parallel branch";
    UnboundedLoop = "DEF036", Error, "a loop waits only on automated answers and has no attempt limit";
    OutageRefused = "DEF037", Warning, "an agency that cannot be reached leads only to a refusal";
    NoDeadline = "DEF040", Error, "a human task has no deadline";
    Escalation = "DEF041", Error, "escalations are not listed in the order they happen";
    DeemedOutcome = "DEF042", Error, "a task's deemed outcome is not one of its outcomes";
    EscalationAfterDeemed = "DEF043", Warning, "an escalation comes no earlier than the deadline at which its task is deemed decided, so it never fires";
    ExpressionSyntax = "DEF050", Error, "an expression does not compile";
    UnsetData = "DEF051", Error, "an expression reads data that is never set";
    UnknownInputField = "DEF052", Error, "an expression reads a field the input form does not have";
    ContextVariable = "DEF053", Error, "an expression reads a value that is not available where it is used";
    ReservedName = "DEF054", Error, "a step writes a variable with a reserved name";
    UnguardedNull = "DEF056", Warning, "an expression computes with a field an answer may leave null, unguarded";
    NoRecipient = "DEF055", Error, "an SMS goes to the applicant, and the workflow has no applicant mobile number";
    InvalidSchema = "DEF060", Error, "a JSON Schema for a form is not valid";
    InvalidExample = "DEF061", Error, "an example input does not satisfy the input schema";
    TemplateSyntax = "DEF062", Error, "a template does not compile";
    TemplateVariable = "DEF063", Error, "a template uses a variable that is never set";
    InvalidCron = "DEF070", Error, "a cron expression is not valid";
    UnknownTimezone = "DEF071", Error, "a time zone is not a known IANA zone";
    NoCatalog = "DEF080", Warning, "no connector catalog was found, so connector names were not checked";
    InvalidCatalog = "DEF081", Error, "the connector catalog itself is not valid";
    InvalidCalendar = "DEF082", Error, "a business calendar file is not valid";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Whether a diagnostic refuses the definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The definition cannot be deployed.
    Error,
    /// Worth a look; the definition can be deployed.
    Warning,
}

/// A place in a source file. Lines and columns count from 1; columns count characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
pub struct Location {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
}

/// One problem found in a definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file, as the caller named it.
    pub file: String,
    /// Where in the file.
    #[serde(flatten)]
    pub location: Location,
    /// The stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in words that say how to mend it.
    pub message: String,
    /// The path of the value in the document, as a JSON pointer (`/steps/3/next`).
    pub pointer: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let warn = if self.severity == Severity::Warning {
            "warning: "
        } else {
            ""
        };
        write!(
            f,
            "{}:{}:{}: {} {warn}{}",
            self.file, self.location.line, self.location.column, self.code, self.message
        )
    }
}

/// Sorts diagnostics by place, then code, and drops exact repeats.
pub fn sort(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| {
        (&a.file, a.location, a.code, &a.message).cmp(&(&b.file, b.location, b.code, &b.message))
    });
    diagnostics.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert!(code.as_str().starts_with("DEF") && code.as_str().len() == 6);
        }
    }
}
