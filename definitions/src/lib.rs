//! The daftar workflow language: YAML service definitions that process designers can trust.
//!
//! A definition goes through four stages, one module each:
//! - [`source`] reads the YAML into JSON while remembering where every value was written,
//!   and refuses hostile input (huge files, deep nesting, alias bombs, binary) early;
//! - `check` validates it: first against the language's JSON Schema ([`schema`], generated
//!   from the [`model`] types), then semantically (references, the step graph, expressions,
//!   templates, form schemas, connectors), reporting every problem at once as a
//!   [`Diagnostic`] with a stable [`Code`], a line and a column;
//! - [`compiled`] turns a valid definition into an immutable [`CompiledDefinition`] with a
//!   content hash;
//! - [`render`] draws it as Mermaid, DOT or an SVG picture, and [`diff`] compares two versions.
//!
//! This crate does no I/O: callers hand it text and get values back.

pub mod calendar;
pub mod catalog;
pub(crate) mod check;
pub mod compiled;
pub mod diagnostic;
pub mod diff;
pub mod formats;
pub mod model;
pub mod render;
pub mod schema;
pub mod source;

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use catalog::Catalog;
pub use check::data::expression_reads;
pub use check::index::{Continuation, Layout, Scope};
pub use check::smart::Smartness;
pub use check::steps::parse_cron;
pub use check::templates::ENGINE_FILTERS;
pub use compiled::{CompiledDefinition, Next};
pub use diagnostic::{Code, Diagnostic, Location, Severity};
pub use model::Workflow;

use check::Finding;
use source::{Limits, SourceMap};

/// What the validator is told besides the text.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    /// The connector catalog; without one, connector names are not checked (and a warning
    /// says so).
    pub catalog: Option<&'a Catalog>,
    /// The ids of the workflows validated together with this one, for `call` steps; without
    /// them, called workflows are not checked.
    pub workflows: Option<&'a BTreeSet<String>>,
}

/// The result of validating one file.
#[derive(Clone, Debug)]
pub struct Validation {
    /// Every problem found, sorted by place.
    pub diagnostics: Vec<Diagnostic>,
    /// The compiled definition, when there were no errors.
    pub definition: Option<CompiledDefinition>,
}

impl Validation {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// The stack validation runs on. Some libraries it calls recurse as deep as their input
/// nests (CEL's parser, notably, uses well over 100 KB a level in a debug build), and a
/// stack overflow aborts the process where no error can be reported; so validation always runs
/// on a stack of its own, allocated on the heap and touched only as far as it is used.
pub const STACK: usize = 256 * 1024 * 1024;

/// Runs `f` on a stack of [`STACK`] bytes.
pub fn on_big_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::grow(STACK, f)
}

/// Validates one definition.
pub fn validate(file: &str, text: &str, options: Options<'_>) -> Validation {
    on_big_stack(|| validate_here(file, text, options))
}

fn validate_here(file: &str, text: &str, options: Options<'_>) -> Validation {
    let read = read::<Workflow>(
        file,
        text,
        schema::language_validator(),
        schema::language_schema(),
        |value| language_version(value).into_iter().collect(),
    );
    let mut diagnostics = read.diagnostics;
    let mut definition = None;
    if let Some((wf, map)) = read.value {
        let findings = check::semantic(&wf, options, read.structural_ok, &read.dropped);
        diagnostics.extend(findings.into_iter().map(|f| place(file, &map, f)));
        diagnostic::sort(&mut diagnostics);
        if !diagnostics.iter().any(|d| d.severity == Severity::Error) {
            let mut wf = wf;
            if let Some(catalog) = options.catalog {
                connector_retry_defaults(&mut wf, catalog);
            }
            definition = Some(CompiledDefinition::new(wf, text));
        }
    }
    diagnostic::sort(&mut diagnostics);
    Validation {
        diagnostics,
        definition,
    }
}

/// Gives each inquiry step that has no retry policy of its own, in a workflow without
/// `defaults.retry`, its connector's default policy from the catalog. The policy in force is
/// then part of the compiled definition, and of its hash: an auditor sees the retries that ran.
fn connector_retry_defaults(wf: &mut Workflow, catalog: &Catalog) {
    fn walk(steps: &mut [model::Step], catalog: &Catalog) {
        for step in steps {
            if let Some(inquiry) = &mut step.inquiry
                && inquiry.retry.is_none()
            {
                inquiry.retry = catalog
                    .connectors
                    .get(&inquiry.connector)
                    .and_then(|c| c.retry.clone());
            }
            if let Some(parallel) = &mut step.parallel {
                for branch in &mut parallel.branches {
                    walk(&mut branch.steps, catalog);
                }
            }
        }
    }
    if wf.defaults.retry.is_none() {
        walk(&mut wf.steps, catalog);
    }
}

/// Validates several definitions together, so that `call` steps can be checked against each
/// other. Files are `(name, text)`; results come back in the same order.
pub fn validate_all(files: &[(String, String)], catalog: Option<&Catalog>) -> Vec<Validation> {
    let ids: BTreeSet<String> = files
        .iter()
        .filter_map(|(_, text)| {
            let (doc, _) = source::load(text, Limits::default());
            doc?.value.get("id")?.as_str().map(str::to_owned)
        })
        .collect();
    let options = Options {
        catalog,
        workflows: Some(&ids),
    };
    files
        .iter()
        .map(|(name, text)| validate(name, text, options))
        .collect()
}

/// Compiles a definition, or returns its diagnostics when it has errors.
pub fn compile(
    file: &str,
    text: &str,
    options: Options<'_>,
) -> Result<CompiledDefinition, Vec<Diagnostic>> {
    let v = validate(file, text, options);
    v.definition.ok_or(v.diagnostics)
}

/// Reads and checks a connector catalog file. Problems are reported under `DEF081` with the
/// catalog's own lines and columns.
pub fn load_catalog(file: &str, text: &str) -> Result<Catalog, Vec<Diagnostic>> {
    static VALIDATOR: std::sync::OnceLock<(Value, jsonschema::Validator)> =
        std::sync::OnceLock::new();
    let (value, _) = read_config::<Catalog>(file, text, &VALIDATOR, Code::InvalidCatalog)?;
    Ok(value)
}

/// Reads and checks a business calendar file ([`calendar::CalendarFile`]). Problems are
/// reported under `DEF082` with the file's own lines and columns.
pub fn load_calendar(file: &str, text: &str) -> Result<calendar::Calendar, Vec<Diagnostic>> {
    static VALIDATOR: std::sync::OnceLock<(Value, jsonschema::Validator)> =
        std::sync::OnceLock::new();
    let (written, map) =
        read_config::<calendar::CalendarFile>(file, text, &VALIDATOR, Code::InvalidCalendar)?;
    calendar::Calendar::from_file(&written)
        .map_err(|findings| findings.into_iter().map(|f| place(file, &map, f)).collect())
}

/// Reads an operator's configuration file (a catalog, a calendar) against the JSON Schema of
/// its type: every problem but unreadable YAML is reported under `code`, its message ending
/// with the code the same problem has in a definition.
fn read_config<T: DeserializeOwned + schemars::JsonSchema>(
    file: &str,
    text: &str,
    cell: &'static std::sync::OnceLock<(Value, jsonschema::Validator)>,
    code: Code,
) -> Result<(T, SourceMap), Vec<Diagnostic>> {
    let (schema, validator) = cell.get_or_init(|| {
        let schema = schema::schema_of::<T>();
        let validator = formats::options()
            .build(&schema)
            .expect("a configuration schema is valid");
        (schema, validator)
    });
    let read = read::<T>(file, text, validator, schema, |_| Vec::new());
    let mut diagnostics = read.diagnostics;
    for d in &mut diagnostics {
        if d.code != Code::YamlSyntax && d.code != Code::TooLarge {
            d.message = format!("{} ({})", d.message, d.code);
            d.code = code;
            d.severity = Severity::Error;
        }
    }
    match read.value {
        Some(read) if diagnostics.is_empty() => Ok(read),
        _ => Err(diagnostics),
    }
}

struct Read<T> {
    value: Option<(T, SourceMap)>,
    diagnostics: Vec<Diagnostic>,
    structural_ok: bool,
    /// Ids of steps left out because they could not be read.
    dropped: BTreeSet<String>,
}

/// What could be read of a document.
struct Salvaged<T> {
    value: Option<T>,
    /// Ids of steps left out because they could not be read.
    dropped: BTreeSet<String>,
    /// The first thing that could not be read: its JSON pointer and serde's message.
    first_error: Option<(String, String)>,
}

/// Reads the typed value, leaving out the innermost list items that cannot be read (a step
/// missing its id, a case missing `next`), so that the semantic checks can still run on the
/// rest of a document that failed the structural check.
fn salvage<T: DeserializeOwned>(mut value: Value) -> Salvaged<T> {
    use serde_path_to_error::Segment;
    let mut out = Salvaged {
        value: None,
        dropped: BTreeSet::new(),
        first_error: None,
    };
    for _ in 0..64 {
        let err = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(v) => {
                out.value = Some(v);
                return out;
            }
            Err(e) => e,
        };
        let mut pointer = source::Pointer::root();
        let mut cut = None;
        for seg in err.path().iter() {
            match seg {
                Segment::Seq { index } => {
                    cut = Some((pointer.to_string(), *index));
                    pointer = pointer.index(*index);
                }
                Segment::Map { key } => pointer = pointer.key(key),
                Segment::Enum { variant } => pointer = pointer.key(variant),
                Segment::Unknown => {}
            }
        }
        out.first_error
            .get_or_insert_with(|| (pointer.to_string(), err.into_inner().to_string()));
        let Some((list, index)) = cut else { return out };
        let Some(items) = value.pointer_mut(&list).and_then(Value::as_array_mut) else {
            return out;
        };
        if index >= items.len() {
            return out;
        }
        let removed = items.remove(index);
        if let Some(id) = removed.get("id").and_then(Value::as_str) {
            out.dropped.insert(id.to_owned());
        }
    }
    out
}

/// Text → typed value: load, check against the schema, deserialize what can be.
fn read<T: DeserializeOwned>(
    file: &str,
    text: &str,
    validator: &jsonschema::Validator,
    schema: &Value,
    early: impl Fn(&Value) -> Vec<Finding>,
) -> Read<T> {
    let (doc, problems) = source::load(text, Limits::default());
    let mut diagnostics: Vec<Diagnostic> = problems
        .into_iter()
        .map(|p| Diagnostic {
            file: file.to_owned(),
            location: p.location,
            code: p.code,
            severity: p.code.severity(),
            message: p.message,
            pointer: p.pointer,
        })
        .collect();
    let Some(doc) = doc else {
        return Read {
            value: None,
            diagnostics,
            structural_ok: false,
            dropped: BTreeSet::new(),
        };
    };
    let early_findings = early(&doc.value);
    if !early_findings.is_empty() {
        diagnostics.extend(early_findings.into_iter().map(|f| place(file, &doc.map, f)));
        return Read {
            value: None,
            diagnostics,
            structural_ok: false,
            dropped: BTreeSet::new(),
        };
    }
    let (findings, repaired) = check::structure::check(validator, schema, &doc.value);
    let structural_ok = findings.is_empty() && diagnostics.is_empty();
    diagnostics.extend(findings.into_iter().map(|f| place(file, &doc.map, f)));
    let salvaged = salvage::<T>(repaired);
    let mut structural_ok = structural_ok;
    if structural_ok && let Some((pointer, message)) = salvaged.first_error {
        // The schema accepted what the types cannot read (`version: 1.0`, say).
        structural_ok = false;
        let code = if message.starts_with("invalid value") {
            Code::InvalidValue
        } else {
            Code::WrongType
        };
        let message = if message.starts_with("invalid value: integer") {
            format!(
                "{} is out of range",
                message
                    .trim_start_matches("invalid value: ")
                    .split(',')
                    .next()
                    .unwrap_or_default()
            )
        } else {
            message
        };
        let finding = Finding::new(
            code,
            source::Pointer::from(pointer.as_str()),
            format!(
                "this value cannot be read: {}",
                message.replace("expected u32", "expected a whole number")
            ),
        );
        diagnostics.push(place(file, &doc.map, finding));
    }
    let dropped = salvaged.dropped;
    let value = salvaged.value.map(|v| (v, doc.map));
    Read {
        value,
        diagnostics,
        structural_ok,
        dropped,
    }
}

/// `daftar: N` must name a language version this crate reads; checked before anything else
/// because a file for another version would otherwise drown in unrelated diagnostics.
fn language_version(value: &Value) -> Option<Finding> {
    let v = value.get("daftar")?;
    let ok = v.as_u64() == Some(u64::from(model::LANGUAGE_VERSION));
    (!ok && (v.is_number() || v.is_string())).then(|| {
        Finding::new(
            Code::LanguageVersion,
            source::Pointer::root().key("daftar"),
            format!(
                "this file is written for language version {v}; this daftar reads version {}",
                model::LANGUAGE_VERSION
            ),
        )
    })
}

fn place(file: &str, map: &SourceMap, f: Finding) -> Diagnostic {
    Diagnostic {
        file: file.to_owned(),
        location: map.locate(f.pointer.as_str(), f.at_key),
        code: f.code,
        severity: f.code.severity(),
        message: f.message,
        pointer: f.pointer.to_string(),
    }
}
