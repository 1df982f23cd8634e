//! A definition ready to run: the compiled definition, plus what the engine builds from it
//! once (compiled CEL programs, the input and form validators, the SMS templates).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock, RwLock};

use chrono::{DateTime, Utc};
use daftar_definitions::CompiledDefinition;
use serde_json::Value;

use crate::error::Violation;

/// A definition the engine runs. Share it behind an `Arc`.
#[derive(Debug)]
pub struct Definition {
    compiled: CompiledDefinition,
    input: jsonschema::Validator,
    forms: BTreeMap<String, jsonschema::Validator>,
    templates: minijinja::Environment<'static>,
    programs: RwLock<HashMap<String, Arc<cel::Program>>>,
    reads: RwLock<HashMap<String, Arc<[String]>>>,
}

/// What an expression can read.
#[derive(Debug, Default)]
pub struct Scope<'a> {
    /// The application form.
    pub input: Option<&'a Value>,
    /// `instance`: id, tracking code, agency, workflow, version, started_at, status.
    pub instance: Option<Value>,
    /// The clock.
    pub now: Option<DateTime<Utc>>,
    /// Variables set by steps.
    pub vars: Option<&'a BTreeMap<String, Value>>,
    /// Values available only in some mappings: `response`, `form`, `outcome`, `message`,
    /// `result`.
    pub extra: Vec<(&'static str, Value)>,
}

fn cel_env() -> Arc<cel::Env> {
    static ENV: OnceLock<Arc<cel::Env>> = OnceLock::new();
    ENV.get_or_init(|| Arc::new(cel::Env::stdlib())).clone()
}

impl Definition {
    /// Prepares a compiled definition to run.
    pub fn new(compiled: CompiledDefinition) -> Result<Self, String> {
        let wf = compiled.workflow();
        let options = daftar_definitions::formats::options;
        let input = options()
            .build(&wf.input.schema)
            .map_err(|e| format!("input schema: {e}"))?;
        let mut forms = BTreeMap::new();
        for (id, form) in &wf.forms {
            let v = options()
                .build(&form.schema)
                .map_err(|e| format!("form {id}: {e}"))?;
            forms.insert(id.clone(), v);
        }
        let mut templates = minijinja::Environment::new();
        crate::templates::register(&mut templates);
        for (id, t) in &wf.templates {
            for (lang, text) in [("fa", &t.fa), ("en", &t.en)] {
                templates
                    .add_template_owned(format!("{id}.{lang}"), text.clone())
                    .map_err(|e| format!("template {id}.{lang}: {e}"))?;
            }
        }
        Ok(Definition {
            compiled,
            input,
            forms,
            templates,
            programs: RwLock::new(HashMap::new()),
            reads: RwLock::new(HashMap::new()),
        })
    }

    /// The compiled definition.
    pub fn compiled(&self) -> &CompiledDefinition {
        &self.compiled
    }

    /// Checks an application against the input schema.
    pub fn validate_input(&self, input: &Value) -> Result<(), Vec<Violation>> {
        all_errors(&self.input, input)
    }

    /// Checks a task's form payload against its schema.
    pub fn validate_form(&self, form: &str, payload: &Value) -> Result<(), Vec<Violation>> {
        match self.forms.get(form) {
            Some(v) => all_errors(v, payload),
            None => Err(vec![Violation {
                pointer: String::new(),
                message: format!("the definition has no form `{form}`"),
                fa: format!("این تعریف فرمی به نام `{form}` ندارد."),
            }]),
        }
    }

    fn program(&self, source: &str) -> Result<Arc<cel::Program>, String> {
        if let Some(p) = self.programs.read().expect("lock").get(source) {
            return Ok(p.clone());
        }
        let program = Arc::new(
            daftar_definitions::on_big_stack(|| cel_env().compile(source))
                .map_err(|e| e.to_string())?,
        );
        self.programs
            .write()
            .expect("lock")
            .insert(source.to_owned(), program.clone());
        Ok(program)
    }

    /// The names an expression reads (`input.age`, `identity_ok`), parsed once per
    /// expression: what a decision records with the values it read.
    pub fn reads(&self, source: &str) -> Arc<[String]> {
        if let Some(r) = self.reads.read().expect("lock").get(source) {
            return r.clone();
        }
        let reads: Arc<[String]> =
            daftar_definitions::on_big_stack(|| daftar_definitions::expression_reads(source))
                .into();
        self.reads
            .write()
            .expect("lock")
            .insert(source.to_owned(), reads.clone());
        reads
    }

    /// Evaluates a CEL expression. Errors are messages for an incident.
    pub fn eval(&self, source: &str, scope: &Scope<'_>) -> Result<Value, String> {
        self.evaluator(scope).eval(source)
    }

    /// Prepares a scope once for several expressions (a mapping, the cases of a decision):
    /// the variables are converted to CEL values once, not once per expression.
    pub fn evaluator(&self, scope: &Scope<'_>) -> Evaluator<'_> {
        let mut ctx = cel::Context::with_env(cel_env());
        let mut add =
            |name: &str, value: &Value| ctx.add_variable_from_value(name.to_owned(), to_cel(value));
        if let Some(vars) = scope.vars {
            for (k, v) in vars {
                add(k, v);
            }
        }
        if let Some(input) = scope.input {
            add("input", input);
        }
        if let Some(instance) = &scope.instance {
            add("instance", instance);
        }
        for (k, v) in &scope.extra {
            add(k, v);
        }
        if let Some(now) = scope.now {
            ctx.add_variable_from_value("now", cel::Value::Timestamp(now.fixed_offset()));
        }
        Evaluator {
            definition: self,
            ctx,
        }
    }

    /// The applicant's mobile number and national ID, read from an application form by the
    /// workflow's `applicant` expressions (each `None` when the workflow has none, or it does
    /// not give a string).
    pub fn applicant(&self, input: &Value) -> (Option<String>, Option<String>) {
        let wf = self.compiled().workflow();
        let scope = Scope {
            input: Some(input),
            ..Scope::default()
        };
        let read = |e: Option<daftar_definitions::model::Expr>| match e {
            Some(e) => match self.eval(e.as_str(), &scope) {
                Ok(Value::String(s)) => Some(s),
                _ => None,
            },
            None => None,
        };
        (
            read(wf.applicant_mobile()),
            read(wf.applicant_national_id()),
        )
    }

    /// Renders an SMS template in a language (`fa` or `en`).
    pub fn render(&self, template: &str, lang: &str, context: &Value) -> Result<String, String> {
        let t = self
            .templates
            .get_template(&format!("{template}.{lang}"))
            .map_err(|e| e.to_string())?;
        t.render(minijinja::Value::from(minijinja::value::Serde(context)))
            .map_err(|e| format!("template `{template}`: {e}"))
    }
}

/// JSON to CEL. Integers stay `int` (serde would make positive ones `uint`, and CEL has no
/// `uint * int`, so `input.amount * 2` would fail); only integers above `i64::MAX` are `uint`.
fn to_cel(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => cel::Value::Int(i),
            (None, Some(u)) => cel::Value::UInt(u),
            _ => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(items) => cel::Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => {
            let entries: HashMap<cel::objects::Key, cel::Value> = map
                .iter()
                .map(|(k, v)| (cel::objects::Key::String(Arc::new(k.clone())), to_cel(v)))
                .collect();
            cel::Value::Map(cel::objects::Map {
                map: Arc::new(entries),
            })
        }
    }
}

/// A scope ready to evaluate expressions in.
pub struct Evaluator<'d> {
    definition: &'d Definition,
    ctx: cel::Context<'static, 'static>,
}

impl std::fmt::Debug for Evaluator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator").finish_non_exhaustive()
    }
}

impl Evaluator<'_> {
    /// Evaluates one expression in this scope.
    pub fn eval(&self, source: &str) -> Result<Value, String> {
        let program = self.definition.program(source)?;
        let value = on_enough_stack(source, || program.execute(&self.ctx))
            .map_err(|e| format!("`{source}` failed: {e}"))?;
        value
            .json()
            .map_err(|e| format!("`{source}` gave a value that is not JSON: {e}"))
    }
}

/// Stack an evaluation may use per character of its expression: it cannot nest deeper than
/// the expression is long (validation caps expressions at 4,096 characters).
const STACK_PER_CHAR: usize = 16 * 1024;

/// Runs an evaluation of `source` on this thread's stack when at least [`STACK_PER_CHAR`] per
/// character of it is left (with a margin), else on a stack of its own as validation does.
/// Allocating and releasing that stack (`mmap`, `mprotect`, `munmap`) for every expression
/// was an eighth of the engine's CPU under load (docs/benchmarks.md); the expressions of real
/// definitions are short. Debug builds, whose frames are many times larger, always switch.
fn on_enough_stack<R>(source: &str, f: impl FnOnce() -> R) -> R {
    if cfg!(debug_assertions) {
        return daftar_definitions::on_big_stack(f);
    }
    let needed = 256 * 1024 + source.len().saturating_mul(STACK_PER_CHAR);
    stacker::maybe_grow(needed, daftar_definitions::STACK, f)
}

/// Every way `value` fails the schema, each with the JSON pointer of the value at fault, so
/// that a citizen mends a form once rather than once per mistake.
fn all_errors(validator: &jsonschema::Validator, value: &Value) -> Result<(), Vec<Violation>> {
    let errors: Vec<Violation> = validator
        .iter_errors(value)
        .map(|e| Violation {
            pointer: e.instance_path().as_str().to_owned(),
            message: e.to_string(),
            fa: crate::violations::persian(&e),
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
