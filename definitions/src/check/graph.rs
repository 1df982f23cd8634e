//! The step graph: references, reachability, ends, loops and joins, with petgraph.
//!
//! Each scope (the top level, and each branch of each parallel step) is its own graph: a
//! transition may not leave its scope, a parallel step continues only when its join can
//! complete, and a branch "ends" when it completes (falls off its last step).

use std::collections::{HashMap, HashSet};

use petgraph::algo::kosaraju_scc;
use petgraph::graphmap::DiGraphMap;
use petgraph::visit::{Bfs, Reversed, Walker};

use super::Finding;
use super::index::{Continuation, Scope, StepIndex};
use super::suggest::hint;
use crate::diagnostic::Code;
use crate::model::{Join, StepKind, Workflow};

/// A node of a scope's graph: a step, or the completion of the branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Node {
    Step(usize),
    Complete,
}

/// Checks that every transition names a step, in the same scope.
pub(crate) fn check_references(
    wf: &Workflow,
    index: &StepIndex,
    dropped: &std::collections::BTreeSet<String>,
    out: &mut Vec<Finding>,
) {
    if let Some(start) = &wf.start
        && index
            .get(start)
            .is_none_or(|p| index.places()[p].scope != Scope::Top)
    {
        let msg = format!(
            "`start` names `{start}`, which is not a step of the top level{}",
            hint(start, top_ids(wf))
        );
        out.push(Finding::new(
            Code::UnknownStep,
            crate::source::Pointer::root().key("start"),
            msg,
        ));
    }
    for (pi, place) in index.places().iter().enumerate() {
        let step = index.step(wf, pi);
        for t in step.transitions() {
            let at = place.pointer.join(&t.field);
            match index.get(t.target) {
                None if dropped.contains(t.target) => {}
                None => {
                    let ids = index
                        .scope(place.scope)
                        .iter()
                        .map(|p| index.places()[*p].id.as_str());
                    let msg = format!("there is no step `{}`{}", t.target, hint(t.target, ids));
                    out.push(Finding::new(Code::UnknownStep, at, msg));
                }
                Some(target) if index.places()[target].scope != place.scope => {
                    let msg = format!(
                        "`{}` is in {}, and this step is in {}; a transition cannot leave or enter a parallel branch (let the branch end, and continue after the parallel step)",
                        t.target,
                        describe(wf, index, index.places()[target].scope),
                        describe(wf, index, place.scope)
                    );
                    out.push(Finding::new(Code::LeavesBranch, at, msg));
                }
                Some(_) => {}
            }
        }
    }
}

fn top_ids(wf: &Workflow) -> impl Iterator<Item = &str> {
    wf.steps.iter().map(|s| s.id.as_str())
}

fn describe(wf: &Workflow, index: &StepIndex, scope: Scope) -> String {
    match scope {
        Scope::Top => "the top level".to_owned(),
        Scope::Branch { parallel, branch } => {
            let par = index.step(wf, parallel);
            let b = &par.parallel.as_ref().expect("parallel").branches[branch];
            format!("branch `{}` of `{}`", b.id, par.id)
        }
    }
}

/// Reachability, ends, loops and joins.
pub(crate) fn check(wf: &Workflow, index: &StepIndex, out: &mut Vec<Finding>) {
    // Whether each parallel step's join can complete, innermost first: a branch can only be
    // judged once the parallel steps inside it are.
    let mut joins: HashMap<usize, bool> = HashMap::new();
    let mut scopes: Vec<Scope> = index.scopes().collect();
    scopes.sort_by_key(|s| std::cmp::Reverse(depth(index, *s)));
    for scope in scopes {
        let graph = build(wf, index, scope, &joins);
        let places = index.scope(scope);
        let Some(first) = places.first().copied() else {
            continue;
        };
        let start = match (scope, &wf.start) {
            (Scope::Top, Some(id)) => index
                .get(id)
                .filter(|p| index.places()[*p].scope == Scope::Top)
                .unwrap_or(first),
            _ => first,
        };

        let reached: HashSet<Node> = Bfs::new(&graph, Node::Step(start)).iter(&graph).collect();
        for p in places {
            if !reached.contains(&Node::Step(*p)) {
                let msg = format!(
                    "step `{}` can never be reached: no step leads to it{}",
                    index.places()[*p].id,
                    if scope == Scope::Top {
                        ""
                    } else {
                        " within its branch"
                    }
                );
                out.push(Finding::new(
                    Code::Unreachable,
                    index.places()[*p].pointer.clone(),
                    msg,
                ));
            }
        }

        // Nodes from which an end (or, in a branch, the branch's completion) can be reached.
        let mut targets: Vec<Node> = places
            .iter()
            .filter(|p| index.step(wf, **p).end.is_some())
            .map(|p| Node::Step(*p))
            .collect();
        if scope != Scope::Top {
            targets.push(Node::Complete);
        }
        let reversed = Reversed(&graph);
        let mut can_end: HashSet<Node> = HashSet::new();
        for t in targets {
            if graph.contains_node(t) {
                can_end.extend(Bfs::new(reversed, t).iter(reversed));
            }
        }
        if let Scope::Branch { parallel, .. } = scope {
            // A branch completes only by reaching its own end; a path that ends the whole
            // request never joins.
            let completes = graph.contains_node(Node::Complete)
                && Bfs::new(reversed, Node::Complete)
                    .iter(reversed)
                    .any(|n| n == Node::Step(first));
            let entry = joins
                .entry(parallel)
                .or_insert(match join_kind(wf, index, parallel) {
                    Join::All => true,
                    Join::Any => false,
                });
            match join_kind(wf, index, parallel) {
                Join::All => *entry &= completes,
                Join::Any => *entry |= completes,
            }
        }
        for p in places {
            let node = Node::Step(*p);
            let step = index.step(wf, *p);
            let blocked_join = step.parallel.is_some() && joins.get(p) == Some(&false);
            if reached.contains(&node) && !can_end.contains(&node) && !blocked_join {
                let goal = if scope == Scope::Top {
                    "an end step"
                } else {
                    "the end of its branch or an end step"
                };
                let msg = format!("from step `{}` no path leads to {goal}", step.id);
                out.push(Finding::new(
                    Code::NoEnd,
                    index.places()[*p].pointer.clone(),
                    msg,
                ));
            }
        }

        for component in kosaraju_scc(&graph) {
            let steps: Vec<usize> = component
                .iter()
                .filter_map(|n| match *n {
                    Node::Step(p) => Some(p),
                    Node::Complete => None,
                })
                .collect();
            let cyclic = steps.len() > 1
                || steps
                    .first()
                    .is_some_and(|p| graph.contains_edge(Node::Step(*p), Node::Step(*p)));
            if !cyclic || steps.iter().any(|p| waits(wf, index, *p)) {
                continue;
            }
            out.push(Finding::on_loop(Code::LoopWithoutWait, index, &steps, |ids| {
                format!(
                    "steps {ids} form a loop that passes no wait state (an inquiry, payment, task, wait or call), so it would spin forever"
                )
            }));
        }
    }
    for (parallel, completes) in joins {
        if !completes {
            let step = index.step(wf, parallel);
            let how = match join_kind(wf, index, parallel) {
                Join::All => {
                    "at least one branch can never complete (every path in it ends the request or never ends)"
                }
                Join::Any => "no branch can ever complete",
            };
            let msg = format!("parallel step `{}` can never join: {how}", step.id);
            out.push(Finding::new(
                Code::JoinNeverCompletes,
                index.places()[parallel].pointer.key("parallel"),
                msg,
            ));
        }
    }
}

pub(super) fn depth(index: &StepIndex, scope: Scope) -> usize {
    match scope {
        Scope::Top => 0,
        Scope::Branch { parallel, .. } => 1 + depth(index, index.places()[parallel].scope),
    }
}

pub(super) fn join_kind(wf: &Workflow, index: &StepIndex, parallel: usize) -> Join {
    index
        .step(wf, parallel)
        .parallel
        .as_ref()
        .map(|p| p.join)
        .unwrap_or_default()
}

/// Whether an instance can stop at this step to wait; a parallel step waits when any of its
/// branches holds a step that waits.
fn waits(wf: &Workflow, index: &StepIndex, place: usize) -> bool {
    let step = index.step(wf, place);
    match step.kind().map(|k| k.kind()) {
        Some(StepKind::Parallel) => index.places().iter().enumerate().any(|(p, pl)| {
            matches!(pl.scope, Scope::Branch { parallel, .. } if parallel == place)
                && waits(wf, index, p)
        }),
        Some(k) => k.waits(),
        None => false,
    }
}

fn build(
    wf: &Workflow,
    index: &StepIndex,
    scope: Scope,
    joins: &HashMap<usize, bool>,
) -> DiGraphMap<Node, ()> {
    build_without(wf, index, scope, joins, |_| false)
}

/// The scope's graph, with the steps `left_out` says have no way in or out.
pub(super) fn build_without(
    wf: &Workflow,
    index: &StepIndex,
    scope: Scope,
    joins: &HashMap<usize, bool>,
    left_out: impl Fn(usize) -> bool,
) -> DiGraphMap<Node, ()> {
    let mut g = DiGraphMap::new();
    for p in index.scope(scope) {
        let from = Node::Step(*p);
        g.add_node(from);
        if left_out(*p) {
            continue;
        }
        let step = index.step(wf, *p);
        for t in step.transitions() {
            if let Some(target) = index.get(t.target)
                && index.places()[target].scope == scope
                && !left_out(target)
            {
                g.add_edge(from, Node::Step(target), ());
            }
        }
        if step.parallel.is_some() && joins.get(p) == Some(&false) {
            continue;
        }
        match index.continuation(wf, *p) {
            Continuation::Step(target)
                if index.places()[target].scope == scope && !left_out(target) =>
            {
                g.add_edge(from, Node::Step(target), ());
            }
            Continuation::BranchComplete => {
                g.add_edge(from, Node::Complete, ());
            }
            _ => {}
        }
    }
    g
}

/// Checks that the last step of the top level says what follows it.
pub(crate) fn check_falls_off(wf: &Workflow, index: &StepIndex, out: &mut Vec<Finding>) {
    for (pi, place) in index.places().iter().enumerate() {
        if index.continuation(wf, pi) == Continuation::FallsOff {
            let msg = format!(
                "step `{}` is the last step and is not an `end`; add `next:` or an end step after it",
                place.id
            );
            out.push(Finding::new(Code::FallsOffEnd, place.pointer.clone(), msg));
        }
    }
}
