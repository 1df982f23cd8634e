//! SMS templates: each is compiled with minijinja, and every variable it uses must be one the
//! engine provides or one a step sets.

use super::Finding;
use super::data::variables;
use super::index::StepIndex;
use super::suggest::hint;
use crate::diagnostic::Code;
use crate::model::Workflow;
use crate::source::Pointer;

/// What every template can use besides the workflow's variables.
pub const TEMPLATE_CONTEXT: &[&str] = &[
    "tracking_code",
    "status",
    "instance",
    "input",
    "document",
    "payment",
    "task",
];

pub(crate) fn check(wf: &Workflow, index: &StepIndex, out: &mut Vec<Finding>) {
    let vars = variables(wf, index);
    let env = minijinja::Environment::new();
    for (id, template) in &wf.templates {
        for (lang, text) in [("fa", &template.fa), ("en", &template.en)] {
            let at = Pointer::root().key("templates").key(id).key(lang);
            let compiled = match env.template_from_str(text) {
                Ok(t) => t,
                Err(e) => {
                    let line = e
                        .line()
                        .map(|l| format!(" on line {l} of the template"))
                        .unwrap_or_default();
                    let msg = format!(
                        "template `{id}` ({lang}) does not compile{line}: {}",
                        e.detail().unwrap_or("syntax error")
                    );
                    out.push(Finding::new(Code::TemplateSyntax, at, msg));
                    continue;
                }
            };
            let mut used: Vec<String> = compiled.undeclared_variables(false).into_iter().collect();
            used.sort();
            for name in used {
                if TEMPLATE_CONTEXT.contains(&name.as_str()) || vars.contains(&name) {
                    continue;
                }
                let candidates = vars
                    .iter()
                    .map(String::as_str)
                    .chain(TEMPLATE_CONTEXT.iter().copied());
                let msg = format!(
                    "template `{id}` ({lang}) uses `{name}`, which no step sets and the engine does not provide{}",
                    hint(&name, candidates)
                );
                out.push(Finding::new(Code::TemplateVariable, at.clone(), msg));
            }
        }
    }
}
