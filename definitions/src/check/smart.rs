//! Whether a service is smart: whether a request can be delivered with nobody acting on it (no
//! officer's task, and no wait for a message from the applicant or an agency's staff, which is
//! how a visit or an upload enters a workflow), the kind of service the Seventh Plan's
//! Article 107 counts. It is judged on the step graph alone: a service is smart when some path
//! from its start to an end that issues, approves or completes passes no such step.

use std::collections::{HashMap, HashSet};

use petgraph::visit::{Bfs, Reversed, Walker};
use serde::Serialize;

use super::graph::{Node, build_without, depth, join_kind};
use super::index::{Scope, StepIndex};
use crate::model::{Join, Outcome, StepKind, Workflow};

/// Whether a service can be delivered with no person acting on it, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Smartness {
    /// Whether some path from the start to an end that issues, approves or completes passes
    /// no officer's task and waits for no message.
    pub smart: bool,
    /// Why, in a sentence that begins `smart:` or `not smart:`.
    pub reason: String,
    /// The steps where a person acts on the ways to such an end (empty when it is smart).
    pub human_steps: Vec<String>,
}

/// Where a person acts: an officer's task, or a wait for a message (an applicant's revised
/// plans, a field team's report).
fn human(wf: &Workflow, index: &StepIndex, place: usize) -> bool {
    let step = index.step(wf, place);
    match step.kind().map(|k| k.kind()) {
        Some(StepKind::Task) => true,
        Some(StepKind::Wait) => step.wait.as_ref().is_some_and(|w| w.message.is_some()),
        _ => false,
    }
}

fn delivers(wf: &Workflow, index: &StepIndex, place: usize) -> Option<Outcome> {
    let end = index.step(wf, place).end.as_ref()?;
    matches!(
        end.outcome,
        Outcome::Issued | Outcome::Approved | Outcome::Completed
    )
    .then_some(end.outcome)
}

/// Judges a validated workflow.
pub fn assess(wf: &Workflow, index: &StepIndex) -> Smartness {
    // Whether each parallel step can join with nobody acting, innermost first.
    let mut joins: HashMap<usize, bool> = HashMap::new();
    let mut scopes: Vec<Scope> = index.scopes().collect();
    scopes.sort_by_key(|s| std::cmp::Reverse(depth(index, *s)));
    for scope in scopes.iter().copied() {
        let Scope::Branch { parallel, .. } = scope else {
            continue;
        };
        let Some(first) = index.first(scope) else {
            continue;
        };
        let graph = build_without(wf, index, scope, &joins, |p| human(wf, index, p));
        let completes = Bfs::new(&graph, Node::Step(first))
            .iter(&graph)
            .any(|n| n == Node::Complete);
        let all = join_kind(wf, index, parallel) == Join::All;
        let entry = joins.entry(parallel).or_insert(all);
        *entry = if all {
            *entry && completes
        } else {
            *entry || completes
        };
    }

    let top = index.scope(Scope::Top);
    let Some(first) = top.first().copied() else {
        return not_smart("it has no steps", Vec::new());
    };
    let start = wf
        .start
        .as_deref()
        .and_then(|id| index.get(id))
        .filter(|p| index.places()[*p].scope == Scope::Top)
        .unwrap_or(first);
    let ends: Vec<usize> = top
        .iter()
        .copied()
        .filter(|p| delivers(wf, index, *p).is_some())
        .collect();
    if ends.is_empty() {
        return not_smart("no end issues, approves or completes", Vec::new());
    }

    let unattended = build_without(wf, index, Scope::Top, &joins, |p| human(wf, index, p));
    let reached: HashSet<Node> = Bfs::new(&unattended, Node::Step(start))
        .iter(&unattended)
        .collect();
    if let Some(end) = ends.iter().find(|p| reached.contains(&Node::Step(**p))) {
        let outcome = delivers(wf, index, *end).expect("a delivering end");
        return Smartness {
            smart: true,
            reason: format!(
                "smart: it can reach `{}` ({}) with no officer's task and no wait for a message",
                index.places()[*end].id,
                outcome.as_str()
            ),
            human_steps: Vec::new(),
        };
    }

    // Not smart: the steps where a person acts on the ways from the start to such an end.
    let every = build_without(wf, index, Scope::Top, &HashMap::new(), |_| false);
    let from_start: HashSet<Node> = Bfs::new(&every, Node::Step(start)).iter(&every).collect();
    let reversed = Reversed(&every);
    let to_end: HashSet<Node> = ends
        .iter()
        .flat_map(|e| Bfs::new(reversed, Node::Step(*e)).iter(reversed))
        .collect();
    let on_the_way =
        |p: usize| from_start.contains(&Node::Step(p)) && to_end.contains(&Node::Step(p));
    let mut steps = Vec::new();
    for (p, place) in index.places().iter().enumerate() {
        let counts = match place.scope {
            Scope::Top => on_the_way(p),
            // A person in a branch holds up a join that cannot complete without them.
            Scope::Branch { parallel, .. } => {
                outermost(index, parallel).is_some_and(on_the_way)
                    && joins.get(&parallel) == Some(&false)
            }
        };
        if counts && human(wf, index, p) {
            steps.push(place.id.clone());
        }
    }
    let list = steps
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ");
    not_smart(
        &format!(
            "every way to an end that issues, approves or completes passes a person (where a person acts on those ways: {list})"
        ),
        steps,
    )
}

/// The top-level step a place is inside of (itself when it is at the top).
fn outermost(index: &StepIndex, place: usize) -> Option<usize> {
    match index.places().get(place)?.scope {
        Scope::Top => Some(place),
        Scope::Branch { parallel, .. } => outermost(index, parallel),
    }
}

fn not_smart(reason: &str, human_steps: Vec<String>) -> Smartness {
    Smartness {
        smart: false,
        reason: format!("not smart: {reason}"),
        human_steps,
    }
}
