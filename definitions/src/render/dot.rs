//! Graphviz DOT, for `dot -Tsvg` and other Graphviz tools.
//!
//! Each parallel branch is a `cluster_` subgraph (drawn as a dashed box), nested as the
//! branches are. Shapes: start `circle`, inquiry `parallelogram`, payment `parallelogram` with
//! a double border, notify `cds`, decision `diamond`, task rounded `box`, wait `hexagon`,
//! parallel fork `trapezium` and join `invtrapezium`, call `component`, set `box`, end a
//! grey terminal (a rounded `box` with a double border). Steps that change the public status
//! have a thick border.
//!
//! Strings are quoted with backslash escapes (`\"`, `\\`, so that no Graphviz escape such as
//! `\N` or `\l` can be written by accident), `&` is written `&amp;` because Graphviz reads
//! entities in labels, and line breaks within the text become spaces.

use std::fmt::Write as _;

use super::{Diagram, Item, Shape, escape_with};
use crate::compiled::CompiledDefinition;
use crate::model::StepKind;

/// The definition as a Graphviz `digraph`.
pub fn dot(def: &CompiledDefinition) -> String {
    render(def.id(), &super::build(def))
}

fn render(id: &str, d: &Diagram) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", escape(id));
    let _ = writeln!(
        out,
        "    graph [label=\"{}\", labelloc=t, fontname=\"Helvetica\"];",
        escape(&d.caption)
    );
    out.push_str("    node [fontname=\"Helvetica\", fontsize=11];\n");
    out.push_str("    edge [fontname=\"Helvetica\", fontsize=10];\n");
    items(&mut out, &d.items, 1);
    for e in &d.edges {
        let mut attrs = Vec::new();
        if let Some(label) = &e.label {
            attrs.push(format!("label=\"{}\"", escape(label)));
        }
        if e.exception {
            attrs.push("style=dashed".to_owned());
        }
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attrs.join(", "))
        };
        let _ = writeln!(out, "    {} -> {}{attrs};", e.from, e.to);
    }
    out.push_str("}\n");
    out
}

fn items(out: &mut String, list: &[Item], depth: usize) {
    let pad = "    ".repeat(depth);
    for item in list {
        match item {
            Item::Node(n) => {
                let label: Vec<String> = n.lines.iter().map(|l| escape(l)).collect();
                let label = label.join("\\n");
                let thick = if n.status { ", penwidth=2.5" } else { "" };
                let _ = writeln!(
                    out,
                    "{pad}{} [{}, label=\"{label}\"{thick}];",
                    n.id,
                    shape(n.shape)
                );
            }
            Item::Cluster {
                id,
                title,
                items: inner,
            } => {
                let _ = writeln!(out, "{pad}subgraph {id} {{");
                let _ = writeln!(out, "{pad}    label=\"{}\";", escape(title));
                let _ = writeln!(out, "{pad}    style=dashed;");
                items(out, inner, depth + 1);
                let _ = writeln!(out, "{pad}}}");
            }
        }
    }
}

fn shape(shape: Shape) -> &'static str {
    match shape {
        Shape::Start => "shape=circle",
        Shape::Step(StepKind::Inquiry) => "shape=parallelogram",
        Shape::Step(StepKind::Payment) => "shape=parallelogram, peripheries=2",
        Shape::Step(StepKind::Notify) => "shape=cds",
        Shape::Step(StepKind::Decision) => "shape=diamond",
        Shape::Step(StepKind::Task) => "shape=box, style=rounded",
        Shape::Step(StepKind::Wait) => "shape=hexagon",
        Shape::Step(StepKind::Parallel) => "shape=trapezium",
        Shape::Join => "shape=invtrapezium",
        Shape::Step(StepKind::Call) => "shape=component",
        Shape::Step(StepKind::Set) => "shape=box",
        Shape::Step(StepKind::End) => {
            "shape=box, style=\"rounded,filled\", fillcolor=gray92, peripheries=2"
        }
    }
}

/// Text for inside a quoted DOT string.
fn escape(text: &str) -> String {
    escape_with(text, &[('"', "\\\""), ('\\', "\\\\"), ('&', "&amp;")])
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_quotes_backslashes_and_entities() {
        assert_eq!(
            escape("a \"b\" \\N & <c>\r\nd"),
            "a \\\"b\\\" \\\\N &amp; <c>  d"
        );
    }
}
