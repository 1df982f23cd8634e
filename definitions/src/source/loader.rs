use std::borrow::Cow;
use std::collections::HashMap;

use saphyr::Scalar;
use saphyr_parser::{Event, Parser, Span};
use serde_json::{Map, Value};

use super::{Document, LoadProblem, SourceMap, Spot, escape};
use crate::diagnostic::{Code, Location};

/// Bounds on what a definition may be, so that hostile input is refused quickly.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The largest file, in bytes.
    pub max_bytes: usize,
    /// The deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// The most values, counting each expansion of an alias in full.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // The largest of the example services is about 20 KB and 1,500 values; these bounds
        // leave fifty times that room and still answer within milliseconds.
        Limits {
            max_bytes: 1024 * 1024,
            max_depth: 64,
            max_nodes: 100_000,
        }
    }
}

enum Frame {
    Seq {
        items: Vec<Value>,
        pointer: String,
        anchor: usize,
        nodes_at_start: usize,
    },
    Map {
        map: Map<String, Value>,
        pointer: String,
        anchor: usize,
        nodes_at_start: usize,
        key: Option<String>,
    },
}

struct Loader {
    limits: Limits,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Value, usize)>,
    nodes: usize,
    root: Option<Value>,
    map: SourceMap,
    problems: Vec<LoadProblem>,
}

fn location(span: &Span) -> Location {
    Location {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

fn problem(code: Code, message: impl Into<String>, location: Location) -> LoadProblem {
    LoadProblem {
        code,
        message: message.into(),
        location,
        pointer: String::new(),
    }
}

/// Reads a definition's text into a JSON value and a source map.
///
/// Returns the document when the text could be read as YAML (possibly with non-fatal problems
/// such as duplicate keys), and every problem found.
pub fn load(text: &str, limits: Limits) -> (Option<Document>, Vec<LoadProblem>) {
    let start = Location { line: 1, column: 1 };
    if text.len() > limits.max_bytes {
        let msg = format!(
            "the file is {} bytes; a definition may be at most {} bytes",
            text.len(),
            limits.max_bytes
        );
        return (None, vec![problem(Code::TooLarge, msg, start)]);
    }
    if let Some(at) = text.find('\0') {
        // YAML breaks lines at \n, \r\n and a lone \r.
        let before = text[..at].replace("\r\n", "\n").replace('\r', "\n");
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let msg = "the file contains a NUL byte; a definition is text, not binary";
        return (
            None,
            vec![problem(Code::YamlSyntax, msg, Location { line, column })],
        );
    }
    let mut loader = Loader {
        limits,
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
        map: SourceMap::default(),
        problems: Vec::new(),
    };
    let mut parser = Parser::new_from_str(text);
    let mut documents = 0;
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(e) => e,
            Err(e) => {
                let at = Location {
                    line: e.marker().line(),
                    column: e.marker().col() + 1,
                };
                let message = format!("{}{}", e.info(), quoting_hint(text, at.line));
                loader.problems.push(problem(Code::YamlSyntax, message, at));
                return (None, loader.problems);
            }
        };
        let fatal = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    let msg = "a definition is one YAML document; this file has more than one";
                    Some(problem(Code::YamlSyntax, msg, location(&span)))
                } else {
                    None
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                loader.scalar(text, style, anchor, tag.as_deref(), &span)
            }
            Event::SequenceStart(anchor, _) => loader.open(false, anchor, &span),
            Event::MappingStart(anchor, _) => loader.open(true, anchor, &span),
            Event::SequenceEnd | Event::MappingEnd => loader.close(),
            Event::Alias(id) => loader.alias(id, &span),
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => None,
        };
        if let Some(p) = fatal {
            loader.problems.push(p);
            return (None, loader.problems);
        }
    }
    let value = loader.root.take().unwrap_or(Value::Null);
    (
        Some(Document {
            value,
            map: loader.map,
        }),
        loader.problems,
    )
}

/// CEL expressions often start with characters that YAML gives a meaning (`!` a tag, `[` a
/// list, `*` an alias, `|` a block of text); when the line of a syntax error holds such a
/// value, the fix is almost always to quote it.
fn quoting_hint(text: &str, line: usize) -> String {
    let Some(src) = text.lines().nth(line.saturating_sub(1)) else {
        return String::new();
    };
    let value = src
        .split_once(": ")
        .map_or(src.trim_start().trim_start_matches("- "), |(_, v)| v)
        .trim_start();
    let risky = value.starts_with(['!', '*', '&', '|', '>', '@', '`', '%'])
        || (value.starts_with(['[', '{']) && value.contains(['=', '<', '>', '&', '|']))
        || value.contains(": ");
    if risky && !value.starts_with(['"', '\'']) {
        format!(
            "; if `{}` is an expression, put it in quotes",
            value.trim_end()
        )
    } else {
        String::new()
    }
}

impl Loader {
    /// The pointer a new value gets, and the key's text when its parent is a mapping.
    fn child_pointer(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Seq { items, pointer, .. }) => format!("{pointer}/{}", items.len()),
            Some(Frame::Map { pointer, key, .. }) => {
                format!("{pointer}/{}", escape(key.as_deref().unwrap_or("")))
            }
        }
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    fn count(&mut self, n: usize, span: &Span) -> Option<LoadProblem> {
        self.nodes += n;
        (self.nodes > self.limits.max_nodes).then(|| {
            let msg = format!(
                "the document expands to more than {} values (aliases count each time they are \
                 used); a definition this large is refused",
                self.limits.max_nodes
            );
            problem(Code::TooLarge, msg, location(span))
        })
    }

    fn scalar(
        &mut self,
        text: Cow<'_, str>,
        style: saphyr_parser::ScalarStyle,
        anchor: usize,
        tag: Option<&saphyr_parser::Tag>,
        span: &Span,
    ) -> Option<LoadProblem> {
        if let Some(p) = self.count(1, span) {
            return Some(p);
        }
        if self.expecting_key() {
            let key = text.into_owned();
            let pointer = match self.stack.last() {
                Some(Frame::Map { pointer, .. }) => format!("{pointer}/{}", escape(&key)),
                _ => String::new(),
            };
            if let Some(Frame::Map { map, key: k, .. }) = self.stack.last_mut() {
                if map.contains_key(&key) {
                    let msg =
                        format!("`{key}` appears twice in this mapping; YAML keys must be unique");
                    let mut p = problem(Code::DuplicateKey, msg, location(span));
                    p.pointer = pointer;
                    self.problems.push(p);
                    // The second value is read into a place no one looks at.
                    *k = Some(format!("\u{0}duplicate:{}", self.nodes));
                    return None;
                }
                *k = Some(key);
            }
            self.map.insert(
                pointer,
                Spot {
                    key: Some(location(span)),
                    value: location(span),
                },
            );
            return None;
        }
        if let Some(t) = tag.filter(|t| !t.is_yaml_core_schema()) {
            // Most often a CEL negation written without quotes: `when: !approved`.
            let written = format!("{}{}", t.handle, t.suffix);
            let msg = format!(
                "YAML reads `{written}` as a tag, not as text; if it is an expression, put it in quotes: \"{written}{}\"",
                if text.is_empty() {
                    String::new()
                } else {
                    format!(" {text}")
                }
            );
            let mut p = problem(Code::YamlSyntax, msg, location(span));
            p.pointer = self.child_pointer();
            self.problems.push(p);
            // Keep what was written, so later checks see the intended text and add no noise.
            let sep = if text.is_empty() { "" } else { " " };
            self.place(
                Value::String(format!("{written}{sep}{text}")),
                location(span),
            );
            return None;
        }
        let tag_ref: Option<Cow<'_, saphyr_parser::Tag>> = tag.map(Cow::Borrowed);
        let value = match Scalar::parse_from_cow_and_metadata(text.clone(), style, tag_ref.as_ref())
        {
            Some(Scalar::Null) => Value::Null,
            Some(Scalar::Boolean(b)) => Value::Bool(b),
            Some(Scalar::Integer(i)) => Value::from(i),
            Some(Scalar::FloatingPoint(f)) => serde_json::Number::from_f64(f.into_inner())
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(text.clone().into_owned())),
            Some(Scalar::String(s)) => Value::String(s.into_owned()),
            None => {
                let tag = tag
                    .map(|t| format!("{}{}", t.handle, t.suffix))
                    .unwrap_or_default();
                let msg = format!("`{text}` cannot be read as `{tag}`");
                let mut p = problem(Code::WrongType, msg, location(span));
                p.pointer = self.child_pointer();
                self.problems.push(p);
                Value::String(text.into_owned())
            }
        };
        if anchor > 0 {
            self.anchors.insert(anchor, (value.clone(), 1));
        }
        self.place(value, location(span));
        None
    }

    fn open(&mut self, mapping: bool, anchor: usize, span: &Span) -> Option<LoadProblem> {
        if let Some(p) = self.count(1, span) {
            return Some(p);
        }
        if self.expecting_key() {
            let msg = "a key must be plain text, not a mapping or a sequence";
            return Some(problem(Code::YamlSyntax, msg, location(span)));
        }
        if self.stack.len() >= self.limits.max_depth {
            let msg = format!(
                "the document is nested more than {} levels deep",
                self.limits.max_depth
            );
            return Some(problem(Code::TooLarge, msg, location(span)));
        }
        let pointer = self.child_pointer();
        let spot_key = self.map.key_at(&pointer);
        self.map.insert(
            pointer.clone(),
            Spot {
                key: spot_key,
                value: location(span),
            },
        );
        let nodes_at_start = self.nodes - 1;
        self.stack.push(if mapping {
            Frame::Map {
                map: Map::new(),
                pointer,
                anchor,
                nodes_at_start,
                key: None,
            }
        } else {
            Frame::Seq {
                items: Vec::new(),
                pointer,
                anchor,
                nodes_at_start,
            }
        });
        None
    }

    fn close(&mut self) -> Option<LoadProblem> {
        let (value, anchor, nodes_at_start, pointer) = match self.stack.pop()? {
            Frame::Seq {
                items,
                anchor,
                nodes_at_start,
                pointer,
            } => (Value::Array(items), anchor, nodes_at_start, pointer),
            Frame::Map {
                map,
                anchor,
                nodes_at_start,
                pointer,
                ..
            } => (Value::Object(map), anchor, nodes_at_start, pointer),
        };
        if anchor > 0 {
            self.anchors
                .insert(anchor, (value.clone(), self.nodes - nodes_at_start));
        }
        let _ = pointer;
        self.insert(value);
        None
    }

    fn alias(&mut self, id: usize, span: &Span) -> Option<LoadProblem> {
        let Some((value, size)) = self.anchors.get(&id).cloned() else {
            return Some(problem(
                Code::YamlSyntax,
                "an alias names an unknown anchor",
                location(span),
            ));
        };
        if self.expecting_key() {
            let msg = "a key must be plain text, not an alias";
            return Some(problem(Code::YamlSyntax, msg, location(span)));
        }
        if let Some(p) = self.count(size, span) {
            return Some(p);
        }
        self.place(value, location(span));
        None
    }

    /// Records where a finished value was written and puts it in its parent.
    fn place(&mut self, value: Value, at: Location) {
        let pointer = self.child_pointer();
        let key = self.map.key_at(&pointer);
        self.map.insert(pointer, Spot { key, value: at });
        self.insert(value);
    }

    fn insert(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(value);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, key, .. }) => {
                if let Some(k) = key.take()
                    && !k.starts_with('\u{0}')
                {
                    map.insert(k, value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Document {
        let (doc, problems) = load(text, Limits::default());
        assert!(problems.is_empty(), "{problems:?}");
        doc.unwrap()
    }

    #[test]
    fn maps_pointers_to_lines_and_columns() {
        let doc = ok("id: a\nsteps:\n  - id: x\n    next: y\n");
        assert_eq!(doc.value["steps"][0]["next"], "y");
        let spot = doc.map.spot("/steps/0/next");
        assert_eq!(spot.key, Some(Location { line: 4, column: 5 }));
        assert_eq!(
            spot.value,
            Location {
                line: 4,
                column: 11
            }
        );
    }

    #[test]
    fn resolves_scalars_by_the_core_schema() {
        let doc = ok("a: 1\nb: '1'\nc: true\nd: yes\ne: ~\nf: 1.5\n");
        assert_eq!(doc.value["a"], 1);
        assert_eq!(doc.value["b"], "1");
        assert_eq!(doc.value["c"], true);
        assert_eq!(doc.value["d"], "yes");
        assert!(doc.value["e"].is_null());
        assert_eq!(doc.value["f"], 1.5);
    }

    #[test]
    fn reports_duplicate_keys_and_keeps_the_first() {
        let (doc, problems) = load("a: 1\nb: 2\na: 3\n", Limits::default());
        assert_eq!(doc.unwrap().value["a"], 1);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, Code::DuplicateKey);
        assert_eq!(problems[0].location, Location { line: 3, column: 1 });
    }

    #[test]
    fn explains_unquoted_negations() {
        let (_, problems) = load("when: !approved\n", Limits::default());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, Code::YamlSyntax);
        assert!(
            problems[0].message.contains("\"!approved\""),
            "{}",
            problems[0].message
        );
        assert_eq!(problems[0].location, Location { line: 1, column: 7 });
    }

    #[test]
    fn hints_at_quoting_expressions_that_break_yaml() {
        let (_, problems) = load("when: !ok || late\n", Limits::default());
        assert!(
            problems[0]
                .message
                .ends_with("if `!ok || late` is an expression, put it in quotes"),
            "{}",
            problems[0].message
        );
        let (_, problems) = load("a: [1, 2\n", Limits::default());
        assert!(!problems[0].message.contains("quotes"));
    }

    #[test]
    fn refuses_alias_bombs() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let (doc, problems) = load(&text, Limits::default());
        assert!(doc.is_none());
        assert_eq!(problems[0].code, Code::TooLarge);
    }

    #[test]
    fn refuses_deep_nesting() {
        let text: String = (0..100)
            .map(|i| format!("{}a:\n", "  ".repeat(i)))
            .collect();
        let (doc, problems) = load(&text, Limits::default());
        assert!(doc.is_none());
        assert_eq!(problems[0].code, Code::TooLarge);
        assert_eq!(problems[0].location.line, 65);

        // Flow nesting is bounded by the parser itself, which reports a syntax error.
        let text = "[".repeat(10_000) + &"]".repeat(10_000);
        let (doc, problems) = load(&text, Limits::default());
        assert!(doc.is_none());
        assert!(matches!(
            problems[0].code,
            Code::TooLarge | Code::YamlSyntax
        ));
    }

    #[test]
    fn reports_syntax_errors_with_their_place() {
        let (doc, problems) = load("a: [1, 2\nb: 3\n", Limits::default());
        assert!(doc.is_none());
        assert_eq!(problems[0].code, Code::YamlSyntax);
        assert!(problems[0].location.line >= 1);
    }
}
