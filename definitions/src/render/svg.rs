//! The diagram as an SVG picture, laid out and drawn by [layout-rs](https://crates.io/crates/layout-rs):
//! a pure-Rust implementation of Graphviz's layered layout, so a server draws a definition
//! without a Graphviz binary and a browser shows it without JavaScript.
//!
//! layout-rs has fewer shapes than Graphviz and no clusters, so the picture tells a step's kind
//! by its colour and its corners (and by the kind line of its label, as the other formats do),
//! and a parallel branch's steps stand between the fork and the join without a box around them.
//! Steps that change the public status have a thick border.
//!
//! [`Marks`] lay a request's path over the picture: the steps it ran are filled green, the steps
//! it waits at amber, and the rest are drawn faint. Every step's group carries
//! `id="step-<node id>"` and a class (`ran`, `at` or `not-ran`), so a page can point at a step.

use std::collections::{BTreeSet, HashMap};

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;

use super::{Diagram, Item, Node, START, Shape, node_id};
use crate::compiled::CompiledDefinition;
use crate::model::StepKind;

/// A request's path, to lay over the picture: step ids, as in the definition.
#[derive(Clone, Debug, Default)]
pub struct Marks {
    /// Steps the request entered.
    pub ran: BTreeSet<String>,
    /// Steps the request waits at now (a task, a timer, an inquiry in flight).
    pub at: BTreeSet<String>,
}

/// Why a definition could not be drawn: the layout library refused the graph.
#[derive(Debug, thiserror::Error)]
#[error("the diagram could not be laid out: {0}")]
pub struct SvgError(String);

/// The definition as an SVG picture.
pub fn svg(def: &CompiledDefinition) -> Result<String, SvgError> {
    svg_marked(def, &Marks::default())
}

/// The definition as an SVG picture, with a request's path laid over it.
pub fn svg_marked(def: &CompiledDefinition, marks: &Marks) -> Result<String, SvgError> {
    let diagram = super::build(def);
    // layout-rs asserts on graphs it cannot lay out; a definition that passed validation
    // should never be one, but a picture is not worth a worker thread.
    std::panic::catch_unwind(|| draw(&diagram, marks)).map_err(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("the layout library panicked");
        SvgError(why.to_owned())
    })
}

/// How a node stands in relation to the marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    /// No marks were given: the plain picture.
    Plain,
    Ran,
    At,
    NotRan,
}

impl Mark {
    fn class(self) -> &'static str {
        match self {
            Mark::Plain => "step",
            Mark::Ran => "step ran",
            Mark::At => "step at",
            Mark::NotRan => "step not-ran",
        }
    }
}

fn draw(d: &Diagram, marks: &Marks) -> String {
    let marked = !marks.ran.is_empty() || !marks.at.is_empty();
    let ran: BTreeSet<String> = marks.ran.iter().map(|s| node_id(s)).collect();
    let at: BTreeSet<String> = marks.at.iter().map(|s| node_id(s)).collect();
    let mut graph = VisualGraph::new(Orientation::TopToBottom);
    let mut handles = HashMap::new();
    let mut nodes = Vec::new();
    flatten(&d.items, &mut nodes);
    for node in nodes {
        let mark = match () {
            _ if !marked => Mark::Plain,
            _ if at.contains(&node.id) => Mark::At,
            _ if ran.contains(&node.id) || node.id == START => Mark::Ran,
            _ => Mark::NotRan,
        };
        let label = node.lines.join("\n");
        let shape = match node.shape {
            Shape::Start => ShapeKind::new_circle(&label),
            Shape::Step(StepKind::End) => ShapeKind::new_double_circle(&label),
            _ => ShapeKind::new_box(&label),
        };
        let look = look(node, mark);
        let size = layout::std_shapes::render::get_shape_size(
            Orientation::TopToBottom,
            &shape,
            look.font_size,
            false,
        );
        let attrs = format!("id=\"step-{}\" class=\"{}\"", node.id, mark.class());
        let element =
            Element::create_with_properties(shape, look, Orientation::TopToBottom, size, attrs);
        handles.insert(node.id.clone(), graph.add_node(element));
    }
    for e in &d.edges {
        let (Some(&from), Some(&to)) = (handles.get(&e.from), handles.get(&e.to)) else {
            continue;
        };
        let style = if e.exception {
            LineStyleKind::Dashed
        } else {
            LineStyleKind::Normal
        };
        let mut look = StyleAttr::simple();
        look.line_width = 1;
        look.font_size = 11;
        let arrow = Arrow::new(
            LineEndKind::None,
            LineEndKind::Arrow,
            style,
            e.label.as_deref().unwrap_or(""),
            &look,
            &None,
            &None,
        );
        graph.add_edge(arrow, from, to);
    }
    let mut out = SVGWriter::new();
    graph.do_it(false, false, false, &mut out);
    // The writer names a serif Latin face; the desk embeds Vazirmatn, which also covers Latin.
    let svg = out.finalize().replace(
        "font-family: Times, serif",
        "font-family: Vazirmatn, Tahoma, sans-serif",
    );
    sorted_styles(&svg)
}

/// The picture with the lines of its `<style>` block sorted: the writer keeps its font classes
/// in a hash map, so their order changes from run to run, and a picture should be the same
/// bytes each time it is drawn (to cache it, to compare it).
fn sorted_styles(svg: &str) -> String {
    let (Some(open), Some(close)) = (svg.find("<style>"), svg.find("</style>")) else {
        return svg.to_owned();
    };
    let open = open + "<style>".len();
    if close < open {
        return svg.to_owned();
    }
    let mut lines: Vec<&str> = svg[open..close].lines().filter(|l| !l.is_empty()).collect();
    lines.sort_unstable();
    format!("{}\n{}\n{}", &svg[..open], lines.join("\n"), &svg[close..])
}

fn flatten<'a>(items: &'a [Item], out: &mut Vec<&'a Node>) {
    for item in items {
        match item {
            Item::Node(n) => out.push(n),
            Item::Cluster { items, .. } => flatten(items, out),
        }
    }
}

/// A node's colours: its kind's fill, or the mark's when a path is laid over the picture.
fn look(node: &Node, mark: Mark) -> StyleAttr {
    let fill = match mark {
        Mark::Plain => kind_fill(node.shape),
        Mark::Ran => 0xd9f2d9,
        Mark::At => 0xffe08a,
        Mark::NotRan => 0xf4f4f4,
    };
    let line = match mark {
        Mark::NotRan => 0x9a9a9a,
        Mark::Ran => 0x1e6b1e,
        Mark::At => 0x8a5a00,
        Mark::Plain => 0x333333,
    };
    let rounded = match node.shape {
        Shape::Step(StepKind::Task | StepKind::Wait | StepKind::End) => 12,
        _ => 0,
    };
    let width = if node.status { 3 } else { 1 };
    StyleAttr::new(rgb(line), width, Some(rgb(fill)), rounded, 13)
}

/// The fill that tells a step's kind: people's steps warm, agencies' steps blue, logic grey.
fn kind_fill(shape: Shape) -> u32 {
    match shape {
        Shape::Start | Shape::Join | Shape::Step(StepKind::Parallel) => 0xeeeeee,
        Shape::Step(StepKind::Inquiry | StepKind::Call) => 0xdceaf7,
        Shape::Step(StepKind::Payment) => 0xe6dcf5,
        Shape::Step(StepKind::Notify) => 0xdff3f1,
        Shape::Step(StepKind::Decision | StepKind::Set) => 0xffffff,
        Shape::Step(StepKind::Task) => 0xfde7d2,
        Shape::Step(StepKind::Wait) => 0xfdf3c8,
        Shape::Step(StepKind::End) => 0xe8e8e8,
    }
}

fn rgb(hex: u32) -> Color {
    Color::new((hex << 8) | 0xff)
}
