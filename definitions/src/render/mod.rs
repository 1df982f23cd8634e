//! Diagrams of a compiled definition: [`mermaid`] (a Mermaid flowchart), [`dot`] (Graphviz) and
//! [`svg`] (a picture, with a request's path laid over it by [`svg_marked`]).
//!
//! Both are written by this module rather than by petgraph's `Dot`, whose output is a
//! debugging aid that may change between versions: ours is stable byte for byte, so that it can
//! be kept in golden files and diffed in reviews.
//!
//! Both formats draw the same diagram, built here once:
//!
//! - a `start` node points at the first step;
//! - every step is a node, in document order, shaped by its kind (a decision is a diamond, an
//!   end a terminal, a human task a rounded box, …) and labelled with its title (English) or
//!   its id, its kind and what it talks to (a connector's operation, a task's role, a wait's
//!   timer or message), and, when the step changes the public status, that status;
//! - a parallel step is a fork; each branch is a cluster holding its steps; the branches'
//!   completions meet at a join node that continues where the parallel step does;
//! - edges follow each step's transitions in [`Step::transitions`] order, then the implicit
//!   continuation (the following step, or the join at the end of a branch). The `next` edge
//!   is unlabelled; the others say why they are taken: `failure`, `timeout`, a decision
//!   case's expression, `default`, a task's outcome. Failure and timeout edges are dashed.
//!
//! Node ids are derived from step ids (`s_<id>`), and from a hex encoding (`h_<hex>`) for an
//! id that is not already a plain identifier, so that they are always valid in both languages
//! and never a keyword (Mermaid's `end`, DOT's `node`). Every label is escaped by the format's
//! own rules.

mod dot;
mod label;
mod mermaid;
mod svg;

use std::fmt::Write as _;

pub use dot::dot;
pub use mermaid::mermaid;
pub use svg::{Marks, SvgError, svg, svg_marked};

use crate::check::index::{Continuation, Layout, Scope};
use crate::compiled::CompiledDefinition;
use crate::model::{Join, PathSegment, Step, StepKind, Workflow};
use label::step_node;

/// What both formats draw.
#[derive(Debug)]
struct Diagram {
    /// The workflow's title (English), id and version, for the diagram's caption.
    caption: String,
    /// The nodes and clusters of the top level, in document order (the start node first).
    items: Vec<Item>,
    /// Every edge, in order.
    edges: Vec<Edge>,
}

#[derive(Debug)]
enum Item {
    Node(Node),
    /// A parallel branch.
    Cluster {
        id: String,
        title: String,
        items: Vec<Item>,
    },
}

#[derive(Debug)]
struct Node {
    id: String,
    shape: Shape,
    /// Lines of the label, unescaped.
    lines: Vec<String>,
    /// Whether entering this step changes the public status.
    status: bool,
}

/// How a node is drawn: as the start, as its step's kind (a `parallel` step forks), or as the
/// join of a parallel step's branches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Start,
    Step(StepKind),
    Join,
}

#[derive(Debug)]
struct Edge {
    from: String,
    to: String,
    label: Option<String>,
    /// A failure or a timeout: drawn dashed.
    exception: bool,
}

/// The id of the start node; step nodes start with `s_` or `h_`, so it cannot clash.
const START: &str = "start";

/// The node id of a step: `s_` and the id when it is a plain identifier, else `h_` and the
/// hex of its bytes. Injective, and a valid identifier in Mermaid and DOT.
fn node_id(step: &str) -> String {
    let plain = step.starts_with(|c: char| c.is_ascii_lowercase())
        && step
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        return format!("s_{step}");
    }
    step.bytes().fold(String::from("h_"), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The node id of a parallel step's join.
fn join_id(step: &str) -> String {
    format!("join_{}", node_id(step))
}

/// The id of a branch's cluster; DOT draws a subgraph as a box only when its name starts with
/// `cluster`. The branch index ends the id, so ids of different parallel steps cannot clash.
fn cluster_id(parallel: &str, branch: usize) -> String {
    format!("cluster_{}_{branch}", node_id(parallel))
}

fn build(def: &CompiledDefinition) -> Diagram {
    let wf = def.workflow();
    let layout = Layout::build(wf);
    let mut items = vec![Item::Node(Node {
        id: START.to_owned(),
        shape: Shape::Start,
        lines: vec!["start".to_owned()],
        status: false,
    })];
    items.extend(scope_items(wf, &wf.steps));
    let mut edges = vec![edge(START, node_id(&def.start().id), None, false)];
    for (place, at) in layout.places().iter().enumerate() {
        let step = layout.step(wf, place);
        // A parallel step continues from its join.
        let from = match &step.parallel {
            Some(par) => {
                for branch in &par.branches {
                    if let Some(first) = branch.steps.first() {
                        edges.push(edge(node_id(&step.id), node_id(&first.id), None, false));
                    }
                }
                join_id(&step.id)
            }
            None => node_id(&step.id),
        };
        for t in step.transitions() {
            let implicit = matches!(t.field.as_slice(), [PathSegment::Key(k)] if k == "next");
            let exception = matches!(
                t.field.last(),
                Some(PathSegment::Key(k)) if matches!(
                    k.as_str(),
                    "on_failure" | "on_timeout" | "on_unreachable" | "on_max_visits"
                )
            );
            // An empty label would not parse in Mermaid, and would hide the outcome anyway.
            let label = match t.label {
                _ if implicit => None,
                l if l.trim().is_empty() => Some(format!("\"{l}\"")),
                l => Some(l),
            };
            edges.push(edge(&from, node_id(t.target), label, exception));
        }
        if step.next.is_some() {
            continue; // already drawn as the `next` transition
        }
        match layout.continuation(wf, place) {
            Continuation::Step(p) => {
                edges.push(edge(&from, node_id(&layout.places()[p].id), None, false));
            }
            Continuation::BranchComplete => {
                if let Scope::Branch { parallel, .. } = at.scope {
                    let join = join_id(&layout.places()[parallel].id);
                    edges.push(edge(&from, join, None, false));
                }
            }
            Continuation::Own | Continuation::FallsOff | Continuation::Unknown => {}
        }
    }
    Diagram {
        caption: format!("{} ({} v{})", wf.title.en, wf.id, wf.version),
        items,
        edges,
    }
}

fn edge(from: impl Into<String>, to: String, label: Option<String>, exception: bool) -> Edge {
    Edge {
        from: from.into(),
        to,
        label,
        exception,
    }
}

/// The nodes of a list of steps, with each parallel step's branches and join after it.
fn scope_items(wf: &Workflow, steps: &[Step]) -> Vec<Item> {
    let mut items = Vec::new();
    for step in steps {
        items.push(Item::Node(step_node(wf, step)));
        if let Some(par) = &step.parallel {
            for (b, branch) in par.branches.iter().enumerate() {
                items.push(Item::Cluster {
                    id: cluster_id(&step.id, b),
                    title: format!("branch {}", branch.id),
                    items: scope_items(wf, &branch.steps),
                });
            }
            let how = match par.join {
                Join::All => "join: all branches",
                Join::Any => "join: first branch",
            };
            items.push(Item::Node(Node {
                id: join_id(&step.id),
                shape: Shape::Join,
                lines: vec![how.to_owned()],
                status: false,
            }));
        }
    }
    items
}

/// Text with every control character and line or paragraph separator (newlines included)
/// turned into a space, so that a label's lines are only the ones the renderer puts there.
fn one_line(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().map(|c| {
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            ' '
        } else {
            c
        }
    })
}

/// `text` on one line with each character of `table` written as its replacement.
fn escape_with(text: &str, table: &[(char, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in one_line(text) {
        match table.iter().find(|(from, _)| *from == c) {
            Some((_, to)) => out.push_str(to),
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{cluster_id, join_id, node_id};

    #[test]
    fn node_ids_are_identifiers_and_never_keywords() {
        assert_eq!(node_id("end"), "s_end");
        assert_eq!(node_id("node"), "s_node");
        assert_eq!(node_id("Bad-id"), "h_4261642d6964");
        assert_eq!(join_id("checks"), "join_s_checks");
        assert_eq!(cluster_id("checks", 1), "cluster_s_checks_1");
    }
}
