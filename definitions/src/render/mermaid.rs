//! Mermaid flowcharts (`flowchart TD`), for Markdown pages and the console.
//!
//! The workflow's title is the diagram's title (YAML front matter). Nodes are declared first,
//! each inside the subgraph of its parallel branch, and edges after all of them: Mermaid puts
//! a node in the subgraph where it first appears, so an edge written inside a subgraph would
//! pull the nodes it names into it.
//!
//! Shapes: start `(( ))`, inquiry `[/ /]`, payment `[\ \]`, notify `> ]`, decision `{ }`, task
//! `( )`, wait `{{ }}`, parallel fork `[/ \]` and join `[\ /]`, call `[[ ]]`, set `[ ]`, end
//! `([ ])`. Steps that change the public status have a thick border (class `status`).
//!
//! Every label is quoted; quotes and the characters Mermaid could read as markup (`#`, `&`,
//! `<`, `>`, `|`, `` ` ``) are written as entity codes (`#quot;`), and line breaks within
//! the text become spaces, so that any title or expression is drawn as written.

use std::fmt::Write as _;

use super::{Diagram, Item, Shape, escape_with};
use crate::compiled::CompiledDefinition;
use crate::model::StepKind;

/// The definition as a Mermaid flowchart.
pub fn mermaid(def: &CompiledDefinition) -> String {
    render(&super::build(def))
}

fn render(d: &Diagram) -> String {
    let mut out = String::new();
    out.push_str("---\n");
    let _ = writeln!(out, "title: {}", yaml_string(&d.caption));
    out.push_str("---\nflowchart TD\n");
    let mut status = Vec::new();
    items(&mut out, &d.items, 1, &mut status);
    for e in &d.edges {
        let arrow = if e.exception { "-.->" } else { "-->" };
        let _ = match &e.label {
            Some(label) => writeln!(
                out,
                "    {} {arrow}|\"{}\"| {}",
                e.from,
                escape(label),
                e.to
            ),
            None => writeln!(out, "    {} {arrow} {}", e.from, e.to),
        };
    }
    if !status.is_empty() {
        out.push_str("    classDef status stroke-width:3px\n");
        let _ = writeln!(out, "    class {} status", status.join(","));
    }
    out
}

fn items<'a>(out: &mut String, list: &'a [Item], depth: usize, status: &mut Vec<&'a str>) {
    let pad = "    ".repeat(depth);
    for item in list {
        match item {
            Item::Node(n) => {
                let (open, close) = delimiters(n.shape);
                let label: Vec<String> = n.lines.iter().map(|l| escape(l)).collect();
                let label = label.join("<br/>");
                let _ = writeln!(out, "{pad}{}{open}\"{label}\"{close}", n.id);
                if n.status {
                    status.push(&n.id);
                }
            }
            Item::Cluster {
                id,
                title,
                items: inner,
            } => {
                let _ = writeln!(out, "{pad}subgraph {id} [\"{}\"]", escape(title));
                items(out, inner, depth + 1, status);
                let _ = writeln!(out, "{pad}end");
            }
        }
    }
}

fn delimiters(shape: Shape) -> (&'static str, &'static str) {
    match shape {
        Shape::Start => ("((", "))"),
        Shape::Step(StepKind::Inquiry) => ("[/", "/]"),
        Shape::Step(StepKind::Payment) => ("[\\", "\\]"),
        Shape::Step(StepKind::Notify) => (">", "]"),
        Shape::Step(StepKind::Decision) => ("{", "}"),
        Shape::Step(StepKind::Task) => ("(", ")"),
        Shape::Step(StepKind::Wait) => ("{{", "}}"),
        Shape::Step(StepKind::Parallel) => ("[/", "\\]"),
        Shape::Join => ("[\\", "/]"),
        Shape::Step(StepKind::Call) => ("[[", "]]"),
        Shape::Step(StepKind::Set) => ("[", "]"),
        Shape::Step(StepKind::End) => ("([", "])"),
    }
}

/// Text for inside a quoted Mermaid label.
fn escape(text: &str) -> String {
    escape_with(
        text,
        &[
            ('"', "#quot;"),
            ('#', "#35;"),
            ('&', "#amp;"),
            ('<', "#lt;"),
            ('>', "#gt;"),
            ('|', "#124;"),
            ('`', "#96;"),
        ],
    )
}

/// A YAML double-quoted scalar, for the front matter.
fn yaml_string(text: &str) -> String {
    format!(
        "\"{}\"",
        escape_with(text, &[('"', "\\\""), ('\\', "\\\\")])
    )
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_keeps_persian() {
        assert_eq!(
            escape("a \"b\" <c> & d|e #f `g`\nh"),
            "a #quot;b#quot; #lt;c#gt; #amp; d#124;e #35;f #96;g#96; h"
        );
        assert_eq!(escape("گواهی عدم سوء پیشینه"), "گواهی عدم سوء پیشینه");
    }
}
