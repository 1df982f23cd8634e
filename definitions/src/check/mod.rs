//! Validation: every check a definition must pass, each reporting findings with a stable code.
//!
//! Checks run in two passes. The structural pass validates the document against the language's
//! JSON Schema (unknown and missing fields, types, formats). The semantic pass runs on the typed
//! model: references, the graph, expressions, templates, schemas and connectors. When the
//! structural pass finds problems, unknown fields are dropped and the semantic pass still runs,
//! so that a designer sees every problem at once; only the graph checks, whose answers depend
//! on the fields that were dropped, are then left out.

pub(crate) mod bounds;
pub(crate) mod connectors;
pub(crate) mod data;
pub(crate) mod graph;
pub(crate) mod index;
pub(crate) mod outage;
pub(crate) mod schemas;
pub(crate) mod smart;
pub(crate) mod steps;
pub(crate) mod structure;
pub(crate) mod suggest;
pub(crate) mod templates;

use crate::diagnostic::Code;
use crate::model::Workflow;
use crate::source::Pointer;

/// A problem found by a check, placed by its JSON pointer; `at_key` places it at the key
/// rather than at the value (for unknown fields, say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Finding {
    pub code: Code,
    pub message: String,
    pub pointer: Pointer,
    pub at_key: bool,
}

impl Finding {
    pub fn new(code: Code, pointer: Pointer, message: impl Into<String>) -> Self {
        Finding {
            code,
            message: message.into(),
            pointer,
            at_key: false,
        }
    }

    pub fn at_key(mut self) -> Self {
        self.at_key = true;
        self
    }

    /// A finding about a loop of the steps at `places`, placed at its first step; `message`
    /// gets the list of their ids ("`a`, `b` and `c`").
    pub fn on_loop(
        code: Code,
        index: &index::StepIndex,
        places: &[usize],
        message: impl FnOnce(String) -> String,
    ) -> Self {
        let first = *places.iter().min().expect("a loop has steps");
        let mut ids: Vec<&str> = places
            .iter()
            .map(|p| index.places()[*p].id.as_str())
            .collect();
        ids.sort_unstable();
        Finding::new(
            code,
            index.places()[first].pointer.clone(),
            message(suggest::list(ids)),
        )
    }
}

/// Runs every semantic check. `graph` is false when structural problems were found, so that
/// graph checks do not report consequences of fields that were dropped.
pub(crate) fn semantic(
    wf: &Workflow,
    options: crate::Options<'_>,
    graph: bool,
    dropped: &std::collections::BTreeSet<String>,
) -> Vec<Finding> {
    let index = index::StepIndex::build(wf);
    let mut out = Vec::new();
    steps::check(wf, &index, &mut out);
    schemas::check(wf, &mut out);
    templates::check(wf, &index, &mut out);
    data::check(wf, &index, &mut out);
    connectors::check(wf, &index, options, &mut out);
    graph::check_references(wf, &index, dropped, &mut out);
    graph::check_falls_off(wf, &index, &mut out);
    if graph {
        graph::check(wf, &index, &mut out);
        bounds::check(wf, &index, &mut out);
        outage::check(wf, &index, &mut out);
    }
    out
}
