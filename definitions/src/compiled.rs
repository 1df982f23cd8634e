//! The compiled form: an immutable, validated definition with a content hash.
//!
//! The hash is SHA-256 over the canonical JSON of the typed model (keys sorted, durations
//! normalized), so two files that say the same thing in different layouts share a hash, and
//! any change of meaning changes it. Every instance records the hash of the definition that
//! decided it, which lets an auditor prove which exact rules applied.

use std::fmt::Write as _;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::check::index::{Continuation, Layout, Scope};
use crate::model::{Step, Workflow};

/// A validated definition, ready to run. Cheap to clone.
#[derive(Clone, Debug)]
pub struct CompiledDefinition {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    workflow: Workflow,
    layout: Layout,
    hash: String,
    source: String,
}

/// What follows a step that completed normally.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Next<'a> {
    /// Go on with this step.
    Step(&'a Step),
    /// The step was the last of a parallel branch: the branch is complete.
    BranchComplete,
    /// The step chooses its own successor (a decision or a task) or ends the request.
    Chosen,
}

impl CompiledDefinition {
    /// Compiles a workflow that has passed validation. `source` is the text it was read from.
    pub(crate) fn new(workflow: Workflow, source: &str) -> Self {
        let hash = content_hash(&workflow);
        let layout = Layout::build(&workflow);
        CompiledDefinition {
            inner: Arc::new(Inner {
                workflow,
                layout,
                hash,
                source: source.to_owned(),
            }),
        }
    }

    /// The definition.
    pub fn workflow(&self) -> &Workflow {
        &self.inner.workflow
    }

    /// `sha256:` and the hex digest of the canonical definition.
    pub fn hash(&self) -> &str {
        &self.inner.hash
    }

    /// The YAML text it was compiled from, kept for auditors.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// The workflow's id.
    pub fn id(&self) -> &str {
        &self.inner.workflow.id
    }

    /// The workflow's version.
    pub fn version(&self) -> u32 {
        self.inner.workflow.version
    }

    /// A step by id, wherever it is (top level or inside a branch).
    pub fn step(&self, id: &str) -> Option<&Step> {
        let place = self.inner.layout.get(id)?;
        Some(self.inner.layout.step(&self.inner.workflow, place))
    }

    /// The first step.
    pub fn start(&self) -> &Step {
        let wf = &self.inner.workflow;
        wf.start
            .as_deref()
            .and_then(|id| self.step(id))
            .unwrap_or(&wf.steps[0])
    }

    /// What follows a step that completed normally (`next`, or the following step).
    pub fn next(&self, id: &str) -> Option<Next<'_>> {
        let layout = &self.inner.layout;
        let place = layout.get(id)?;
        Some(match layout.continuation(&self.inner.workflow, place) {
            Continuation::Step(p) => Next::Step(layout.step(&self.inner.workflow, p)),
            Continuation::BranchComplete => Next::BranchComplete,
            // Validation refuses definitions where these remain.
            Continuation::Own | Continuation::FallsOff | Continuation::Unknown => Next::Chosen,
        })
    }

    /// The id of the parallel step whose branch holds `id`, if any.
    pub fn enclosing_parallel(&self, id: &str) -> Option<&Step> {
        let layout = &self.inner.layout;
        match layout.places()[layout.get(id)?].scope {
            Scope::Top => None,
            Scope::Branch { parallel, .. } => Some(layout.step(&self.inner.workflow, parallel)),
        }
    }

    /// Every step, in document order (a parallel step before the steps of its branches).
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        let layout = &self.inner.layout;
        (0..layout.places().len()).map(move |p| layout.step(&self.inner.workflow, p))
    }
}

/// The content hash of a workflow: `sha256:` and 64 hex digits.
pub fn content_hash(workflow: &Workflow) -> String {
    // serde_json's map is ordered by key, so this is canonical.
    let value = serde_json::to_value(workflow).expect("a workflow serializes to JSON");
    let bytes = serde_json::to_vec(&value).expect("JSON serializes");
    let digest = Sha256::digest(&bytes);
    digest.iter().fold(String::from("sha256:"), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
