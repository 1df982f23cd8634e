//! Two versions of a service compared, as a designer reviews them before deploying and as an
//! auditor checks that a condition the law removed does not come back.
//!
//! [`compare`] says, besides the line-by-line difference of the YAML sources:
//! - which steps were added, removed or changed (by id; a parallel step counts as changed when
//!   one of its branches does);
//! - which **conditions** were removed or added: a decision's case is a condition (its `when`
//!   expression, at its step), and a removed one is called out, since a requirement dropped by a
//!   new law must not return in a later version;
//! - what the citizen must provide: the form's fields and its required fields;
//! - which facts are fetched from other agencies (inquiries by `connector.operation`), and
//!   which steps wait for a person (tasks, by step and role);
//! - a changed service level.
//!
//! The source lines are compared by [similar](https://crates.io/crates/similar), the diff
//! library insta already brings into the workspace.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::compiled::CompiledDefinition;
use crate::model::{Step, StepKindRef};

/// What changed from one version to another.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VersionDiff {
    /// Steps, by id.
    pub steps: StepChanges,
    /// Decision cases: the conditions a request is judged by.
    pub conditions: Changes<Condition>,
    /// Fields of the application form.
    pub fields: Changes<String>,
    /// Fields the citizen must fill in.
    pub required_fields: Changes<String>,
    /// Facts fetched from other agencies, as `connector.operation`.
    pub inquiries: Changes<String>,
    /// Steps where a person acts, as `step (role)`.
    pub tasks: Changes<String>,
    /// The service level, when it changed: `[from, to]` as written.
    pub sla: Option<[String; 2]>,
    /// The sources' difference in hunks with three lines of context.
    pub source: Vec<Hunk>,
}

/// What was added and what was removed, each sorted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Changes<T> {
    pub added: Vec<T>,
    pub removed: Vec<T>,
}

impl<T: Ord + Clone> Changes<T> {
    fn between(old: &BTreeSet<T>, new: &BTreeSet<T>) -> Self {
        Changes {
            added: new.difference(old).cloned().collect(),
            removed: old.difference(new).cloned().collect(),
        }
    }
}

/// Steps added, removed, and kept under the same id with other content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

/// One decision case: at `step`, when `when` holds, go to `next`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Condition {
    pub step: String,
    pub when: String,
    pub next: String,
    /// Why the case exists, as the designer wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A run of changed lines with their context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hunk {
    pub lines: Vec<Line>,
}

/// One line of a hunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Line {
    /// `+` added, `-` removed, ` ` kept.
    pub tag: char,
    /// Its number in the old source (1-based), unless it was added.
    pub old: Option<usize>,
    /// Its number in the new source (1-based), unless it was removed.
    pub new: Option<usize>,
    /// The line, without its line break.
    pub text: String,
}

/// What changed from `old` to `new`.
pub fn compare(old: &CompiledDefinition, new: &CompiledDefinition) -> VersionDiff {
    let (old_steps, new_steps) = (by_id(old), by_id(new));
    let ids = |m: &BTreeMap<&str, &Step>| -> BTreeSet<String> {
        m.keys().map(|k| (*k).to_owned()).collect()
    };
    let both = Changes::between(&ids(&old_steps), &ids(&new_steps));
    let changed = old_steps
        .iter()
        .filter(|(id, step)| new_steps.get(*id).is_some_and(|n| n != *step))
        .map(|(id, _)| (*id).to_owned())
        .collect();
    let (old_wf, new_wf) = (old.workflow(), new.workflow());
    let sla = (old_wf.sla != new_wf.sla).then(|| [old_wf.sla.to_string(), new_wf.sla.to_string()]);
    VersionDiff {
        steps: StepChanges {
            added: both.added,
            removed: both.removed,
            changed,
        },
        conditions: Changes::between(&conditions(old), &conditions(new)),
        fields: Changes::between(&fields(old, "properties"), &fields(new, "properties")),
        required_fields: Changes::between(&fields(old, "required"), &fields(new, "required")),
        inquiries: Changes::between(&inquiries(old), &inquiries(new)),
        tasks: Changes::between(&tasks(old), &tasks(new)),
        sla,
        source: hunks(old.source(), new.source()),
    }
}

fn by_id(def: &CompiledDefinition) -> BTreeMap<&str, &Step> {
    def.steps().map(|s| (s.id.as_str(), s)).collect()
}

fn conditions(def: &CompiledDefinition) -> BTreeSet<Condition> {
    let mut out = BTreeSet::new();
    for step in def.steps() {
        if let Some(StepKindRef::Decision(d)) = step.kind() {
            for case in &d.cases {
                out.insert(Condition {
                    step: step.id.clone(),
                    when: case.when.as_str().trim().to_owned(),
                    next: case.next.clone(),
                    reason: case.reason.clone(),
                });
            }
        }
    }
    out
}

/// The form's top-level `properties` (their names) or `required` (its items).
fn fields(def: &CompiledDefinition, key: &str) -> BTreeSet<String> {
    let schema = &def.workflow().input.schema;
    match schema.get(key) {
        Some(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => BTreeSet::new(),
    }
}

fn inquiries(def: &CompiledDefinition) -> BTreeSet<String> {
    def.steps()
        .filter_map(|s| match s.kind() {
            Some(StepKindRef::Inquiry(i)) => Some(format!("{}.{}", i.connector, i.operation)),
            _ => None,
        })
        .collect()
}

fn tasks(def: &CompiledDefinition) -> BTreeSet<String> {
    def.steps()
        .filter_map(|s| match s.kind() {
            Some(StepKindRef::Task(t)) => {
                let who = match &t.role {
                    Some(role) => role.clone(),
                    None => t.candidate_groups.join(", "),
                };
                Some(format!("{} ({who})", s.id))
            }
            _ => None,
        })
        .collect()
}

fn hunks(old: &str, new: &str) -> Vec<Hunk> {
    let diff = TextDiff::from_lines(old, new);
    diff.grouped_ops(3)
        .iter()
        .map(|group| Hunk {
            lines: group
                .iter()
                .flat_map(|op| diff.iter_changes(op))
                .map(|change| Line {
                    tag: match change.tag() {
                        ChangeTag::Insert => '+',
                        ChangeTag::Delete => '-',
                        ChangeTag::Equal => ' ',
                    },
                    old: change.old_index().map(|i| i + 1),
                    new: change.new_index().map(|i| i + 1),
                    text: change.value().trim_end_matches(['\n', '\r']).to_owned(),
                })
                .collect(),
        })
        .collect()
}
