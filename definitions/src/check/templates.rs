//! SMS templates: each is compiled with minijinja, every filter it applies must be one the
//! engine has (minijinja's own or [`ENGINE_FILTERS`]), and every variable it uses must be one
//! the engine provides or one a step sets.

use super::Finding;
use super::data::variables;
use super::index::StepIndex;
use super::suggest::{hint, hint_among};
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

/// The filters the engine adds to minijinja's built-in ones. The engine registers exactly
/// these (its tests hold it to this list), so that what validates is what renders.
pub const ENGINE_FILTERS: &[&str] = &["fa_digits", "jalali", "jalali_datetime"];

/// The filters a compiled template applies, in order of appearance.
fn filters<'a>(template: &minijinja::Template<'a, 'a>) -> Vec<&'a str> {
    use minijinja::machinery::{Instruction, get_compiled_template};
    let compiled = get_compiled_template(template);
    let mut out = Vec::new();
    let code = std::iter::once(&compiled.instructions).chain(compiled.blocks.values());
    for instructions in code {
        let mut i = 0;
        while let Some(instruction) = instructions.get(i) {
            if let Instruction::ApplyFilter(name, ..) = instruction {
                out.push(*name);
            }
            i += 1;
        }
    }
    out
}

/// Whether minijinja has a built-in filter of this name: applying an unknown one fails with
/// `UnknownFilter`, whatever the value.
fn builtin(env: &minijinja::Environment<'_>, name: &str) -> bool {
    let probe = format!("{{{{ '' | {name} }}}}");
    !matches!(
        env.render_str(&probe, ()),
        Err(e) if e.kind() == minijinja::ErrorKind::UnknownFilter
    )
}

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
            let mut unknown: Vec<&str> = filters(&compiled)
                .into_iter()
                .filter(|f| !ENGINE_FILTERS.contains(f) && !builtin(&env, f))
                .collect();
            unknown.dedup();
            for name in unknown {
                let msg = format!(
                    "template `{id}` ({lang}) uses the filter `{name}`, which daftar does not have{}; its own are {}, besides minijinja's built-in ones",
                    hint(name, ENGINE_FILTERS.iter().copied()),
                    super::suggest::list(ENGINE_FILTERS.iter().copied())
                );
                out.push(Finding::new(Code::TemplateSyntax, at.clone(), msg));
            }
            let mut used: Vec<String> = compiled.undeclared_variables(false).into_iter().collect();
            used.sort();
            for name in used {
                if TEMPLATE_CONTEXT.contains(&name.as_str()) || vars.contains(&name) {
                    continue;
                }
                let msg = format!(
                    "template `{id}` ({lang}) uses `{name}`, which no step sets and the engine does not provide{}",
                    hint_among(&name, &vars, TEMPLATE_CONTEXT)
                );
                out.push(Finding::new(Code::TemplateVariable, at.clone(), msg));
            }
        }
    }
}
