//! Expressions: each is compiled with CEL, and every name it reads is checked against what
//! the engine provides where the expression runs and what the workflow's steps write.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use cel::IdedExpr;
use cel::common::ast::{EntryExpr, Expr as Ast};

use super::Finding;
use super::index::StepIndex;
use super::steps::written;
use super::suggest::{hint, hint_among};
use crate::diagnostic::Code;
use crate::model::{Expr, Workflow};
use crate::source::Pointer;

/// Names every expression may read: the application form, the instance and the clock.
const ALWAYS: &[&str] = &["input", "instance", "now"];

/// The fields of `instance`.
pub(crate) const INSTANCE_FIELDS: &[&str] = &[
    "id",
    "tracking_code",
    "agency",
    "workflow",
    "version",
    "started_at",
    "status",
];

/// Values the engine provides only inside certain mappings, and where.
const CONTEXTUAL: &[(&str, &str)] = &[
    ("response", "an inquiry's or a payment's `output`"),
    ("form", "a task's `output`"),
    ("outcome", "a task's `output`"),
    ("message", "a wait's `output`"),
    ("result", "a call's `output`"),
];

/// The longest expression accepted, and the deepest bracket nesting: CEL's parser recurses,
/// so depth is bounded before it runs.
const MAX_LEN: usize = 4096;
const MAX_DEPTH: usize = 48;

/// The CEL environment: the standard library, with optional values (`input.?x`). The
/// engine evaluates with the same one, so what validates here runs there.
pub fn cel_env() -> &'static cel::Env {
    static ENV: std::sync::OnceLock<cel::Env> = std::sync::OnceLock::new();
    ENV.get_or_init(cel::Env::stdlib)
}

/// A name read by an expression: the root identifier and, when it is selected from, the
/// first field (`input.national_id` → `input`, `national_id`).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Read {
    pub root: String,
    pub field: Option<String>,
}

/// Compiles a CEL expression and lists what it reads.
pub(crate) fn analyze(source: &str) -> Result<BTreeSet<Read>, String> {
    if source.len() > MAX_LEN {
        return Err(format!(
            "it is {} characters long; the limit is {MAX_LEN}",
            source.len()
        ));
    }
    let mut depth = 0usize;
    for c in source.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(format!("it nests brackets more than {MAX_DEPTH} deep"));
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if source.trim().is_empty() {
        return Err("it is empty".to_owned());
    }
    let program = catch_unwind(AssertUnwindSafe(|| cel_env().compile(source)))
        .map_err(|_| "the expression parser failed on it".to_owned())?
        .map_err(|e| {
            e.errors
                .first()
                .map(|e| format!("{} (at column {})", parse_message(&e.msg), e.pos.1.max(1)))
                .unwrap_or_else(|| e.to_string())
        })?;
    let mut reads = BTreeSet::new();
    walk(program.expression(), &mut Vec::new(), &mut reads);
    Ok(reads)
}

/// The names an expression reads, each as `root` or `root.field` (`input.age`,
/// `identity_ok`), sorted: what a decision records beside its condition, so an auditor sees the
/// values the condition was decided on. The engine evaluates only expressions that validated,
/// so an expression that does not compile here reads nothing.
pub fn expression_reads(source: &str) -> Vec<String> {
    analyze(source)
        .map(|reads| {
            reads
                .into_iter()
                .map(|r| match r.field {
                    Some(f) => format!("{}.{f}", r.root),
                    None => r.root,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn walk(e: &IdedExpr, bound: &mut Vec<String>, out: &mut BTreeSet<Read>) {
    let free =
        |name: &str, bound: &[String]| !name.starts_with('@') && !bound.iter().any(|b| b == name);
    match &e.expr {
        Ast::Ident(name) => {
            if free(name, bound) {
                out.insert(Read {
                    root: name.clone(),
                    field: None,
                });
            }
        }
        Ast::Select(sel) => match &sel.operand.expr {
            Ast::Ident(name) if free(name, bound) => {
                out.insert(Read {
                    root: name.clone(),
                    field: Some(sel.field.clone()),
                });
            }
            _ => walk(&sel.operand, bound, out),
        },
        Ast::Call(call) => {
            if let Some(t) = &call.target {
                walk(t, bound, out);
            }
            for a in &call.args {
                walk(a, bound, out);
            }
        }
        Ast::Comprehension(c) => {
            walk(&c.iter_range, bound, out);
            walk(&c.accu_init, bound, out);
            let before = bound.len();
            bound.push(c.iter_var.clone());
            bound.extend(c.iter_var2.clone());
            bound.push(c.accu_var.clone());
            walk(&c.loop_cond, bound, out);
            walk(&c.loop_step, bound, out);
            walk(&c.result, bound, out);
            bound.truncate(before);
        }
        Ast::List(l) => {
            for x in &l.elements {
                walk(x, bound, out);
            }
        }
        Ast::Map(m) => entries(m.entries.iter().map(|e| &e.expr), bound, out),
        Ast::Struct(s) => entries(s.entries.iter().map(|e| &e.expr), bound, out),
        Ast::Literal(_) | Ast::Unspecified => {}
    }
}

fn entries<'a>(
    items: impl Iterator<Item = &'a EntryExpr>,
    bound: &mut Vec<String>,
    out: &mut BTreeSet<Read>,
) {
    for entry in items {
        match entry {
            EntryExpr::StructField(f) => walk(&f.value, bound, out),
            EntryExpr::MapEntry(m) => {
                walk(&m.key, bound, out);
                walk(&m.value, bound, out);
            }
        }
    }
}

/// The parser sometimes wraps its message in a Rust debug rendering of an inner error
/// (`OtherError(ParseError { … msg: "Recursion limit of 96 exceeded", … })`); a designer sees
/// only the inner message.
fn parse_message(msg: &str) -> String {
    if let Some(start) = msg.find("msg: \"") {
        let rest = &msg[start + 6..];
        if let Some(end) = rest.find('"') {
            return rest[..end].to_owned();
        }
    }
    msg.to_owned()
}

/// An expression in the document, where it is, and what the engine provides there.
struct Site<'a> {
    expr: &'a Expr,
    at: Pointer,
    extra: &'static [&'static str],
}

fn sites<'a>(wf: &'a Workflow, index: &StepIndex) -> Vec<Site<'a>> {
    let mut out = Vec::new();
    let map = |m: &'a std::collections::BTreeMap<String, Expr>,
               at: Pointer,
               extra: &'static [&'static str]| {
        m.iter()
            .map(|(k, e)| Site {
                expr: e,
                at: at.key(k),
                extra,
            })
            .collect::<Vec<_>>()
    };
    let root = Pointer::root();
    for (field, expr) in [
        ("national_id", &wf.applicant.national_id),
        ("mobile", &wf.applicant.mobile),
    ] {
        if let Some(expr) = expr {
            let at = root.key("applicant").key(field);
            out.push(Site {
                expr,
                at,
                extra: &[],
            });
        }
    }
    for (pi, place) in index.places().iter().enumerate() {
        let step = index.step(wf, pi);
        let at = &place.pointer;
        if let Some(i) = &step.inquiry {
            out.extend(map(&i.input, at.key("inquiry").key("input"), &[]));
            out.extend(map(
                &i.output,
                at.key("inquiry").key("output"),
                &["response"],
            ));
        }
        if let Some(p) = &step.payment {
            out.push(Site {
                expr: &p.amount,
                at: at.key("payment").key("amount"),
                extra: &[],
            });
            out.extend(map(
                &p.output,
                at.key("payment").key("output"),
                &["response"],
            ));
        }
        if let Some(n) = &step.notify
            && let Some(to) = &n.to
        {
            out.push(Site {
                expr: to,
                at: at.key("notify").key("to"),
                extra: &[],
            });
        }
        if let Some(d) = &step.decision {
            for (i, case) in d.cases.iter().enumerate() {
                let at = at.key("decision").key("cases").index(i).key("when");
                out.push(Site {
                    expr: &case.when,
                    at,
                    extra: &[],
                });
            }
        }
        if let Some(t) = &step.task {
            out.extend(map(
                &t.output,
                at.key("task").key("output"),
                &["form", "outcome"],
            ));
        }
        if let Some(w) = &step.wait {
            if let Some(u) = &w.until {
                out.push(Site {
                    expr: u,
                    at: at.key("wait").key("until"),
                    extra: &[],
                });
            }
            if let Some(c) = &w.correlation {
                out.push(Site {
                    expr: c,
                    at: at.key("wait").key("correlation"),
                    extra: &[],
                });
            }
            out.extend(map(&w.output, at.key("wait").key("output"), &["message"]));
        }
        if let Some(c) = &step.call {
            out.extend(map(&c.input, at.key("call").key("input"), &[]));
            out.extend(map(&c.output, at.key("call").key("output"), &["result"]));
        }
        if let Some(s) = &step.set {
            out.extend(map(s, at.key("set"), &[]));
        }
    }
    out
}

/// Every variable some step writes.
pub(crate) fn variables(wf: &Workflow, index: &StepIndex) -> BTreeSet<String> {
    (0..index.places().len())
        .flat_map(|p| written(index.step(wf, p)))
        .flat_map(|(_, names)| names.into_iter().cloned())
        .collect()
}

/// The top-level fields of the input schema, when it lists them.
pub(crate) fn input_fields(wf: &Workflow) -> Option<BTreeSet<String>> {
    let props = wf.input.schema.get("properties")?.as_object()?;
    Some(props.keys().cloned().collect())
}

pub(crate) fn check(wf: &Workflow, index: &StepIndex, out: &mut Vec<Finding>) {
    let vars = variables(wf, index);
    let fields = input_fields(wf);
    for site in sites(wf, index) {
        let reads = match analyze(site.expr.as_str()) {
            Ok(r) => r,
            Err(e) => {
                let msg = format!("`{}` is not a valid CEL expression: {e}", site.expr);
                out.push(Finding::new(Code::ExpressionSyntax, site.at, msg));
                continue;
            }
        };
        for read in reads {
            let root = read.root.as_str();
            if root == "input" {
                if let (Some(fields), Some(field)) = (&fields, &read.field)
                    && !fields.contains(field)
                {
                    let msg = format!(
                        "reads `input.{field}`, which the input schema does not have{}",
                        hint(field, fields.iter().map(String::as_str))
                    );
                    out.push(Finding::new(Code::UnknownInputField, site.at.clone(), msg));
                }
                continue;
            }
            if root == "instance"
                && let Some(field) = &read.field
                && !INSTANCE_FIELDS.contains(&field.as_str())
            {
                let msg = format!(
                    "reads `instance.{field}`, which does not exist{}; `instance` has {}",
                    hint(field, INSTANCE_FIELDS.iter().copied()),
                    super::suggest::list(INSTANCE_FIELDS.iter().copied())
                );
                out.push(Finding::new(Code::ContextVariable, site.at.clone(), msg));
                continue;
            }
            if ALWAYS.contains(&root) || site.extra.contains(&root) || vars.contains(root) {
                continue;
            }
            if let Some((_, place)) = CONTEXTUAL.iter().find(|(name, _)| *name == root) {
                let msg = format!("reads `{root}`, which is only available in {place}");
                out.push(Finding::new(Code::ContextVariable, site.at.clone(), msg));
                continue;
            }
            let msg = format!(
                "reads `{root}`, which no step ever sets{}; variables are set by `output` mappings and `set` steps",
                hint_among(root, &vars, ALWAYS)
            );
            out.push(Finding::new(Code::UnsetData, site.at.clone(), msg));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_roots_and_fields_but_not_bound_variables() {
        let reads = analyze("input.age >= 18 && docs.exists(d, d.valid) && has(input.x)").unwrap();
        let roots: Vec<_> = reads
            .iter()
            .map(|r| (r.root.as_str(), r.field.as_deref()))
            .collect();
        assert!(roots.contains(&("input", Some("age"))));
        assert!(roots.contains(&("input", Some("x"))));
        assert!(roots.contains(&("docs", None)));
        assert!(!roots.iter().any(|(r, _)| *r == "d"));
    }

    #[test]
    fn refuses_bad_and_hostile_expressions() {
        assert!(analyze("input.age >=").is_err());
        assert!(analyze(&"(".repeat(10_000)).is_err());
        assert!(analyze("").is_err());
    }
}
