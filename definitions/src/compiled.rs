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

    /// Whether the service can be delivered with nobody acting on it (smart), and why.
    pub fn smartness(&self) -> crate::Smartness {
        crate::check::smart::assess(&self.inner.workflow, &self.inner.layout)
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

#[cfg(test)]
mod tests {
    use crate::{Next, Options, compile};

    const BLOCK: &str = r#"
daftar: 1
id: demo
version: 1
title: { fa: "نمونه", en: Demo }
agency: demo-agency
in_force_from: 2026-03-21
sla: 1d
input:
  schema:
    type: object
    properties:
      national_id: { type: string, format: ir-national-id }
      mobile: { type: string, format: ir-mobile }
      amount: { type: integer }
steps:
  - id: compute
    set:
      fee: input.amount * 2
  - id: both
    parallel:
      branches:
        - id: a
          steps:
            - id: wait_a
              wait: { duration: 1h }
        - id: b
          steps:
            - id: wait_b
              wait: { duration: 2h }
  - id: decide
    decision:
      cases:
        - when: fee > 100
          next: reject
      default: done
  - id: done
    end: { outcome: approved }
  - id: reject
    end: { outcome: rejected }
"#;

    fn compiled(text: &str) -> super::CompiledDefinition {
        compile("demo.yaml", text, Options::default()).unwrap_or_else(|d| panic!("{d:#?}"))
    }

    #[test]
    fn hash_ignores_layout_and_spelling_of_the_same_meaning() {
        let a = compiled(BLOCK);
        // The same meaning: another spelling of one day, a comment, keys in another order.
        let b_text = BLOCK.replace("sla: 1d", "sla: 24h # one day").replace(
            "version: 1\ntitle: { fa: \"نمونه\", en: Demo }",
            "title:\n  en: Demo\n  fa: نمونه\nversion: 1",
        );
        let b = compiled(&b_text);
        assert_eq!(a.hash(), b.hash());
        assert!(a.hash().starts_with("sha256:") && a.hash().len() == 71);
        assert_eq!(b.source(), b_text);
    }

    #[test]
    fn hash_changes_with_meaning() {
        let a = compiled(BLOCK);
        let b = compiled(&BLOCK.replace("fee > 100", "fee > 101"));
        let c = compiled(&BLOCK.replace("version: 1", "version: 2"));
        assert_ne!(a.hash(), b.hash());
        assert_ne!(a.hash(), c.hash());
    }

    #[test]
    fn navigation_follows_implicit_and_explicit_transitions() {
        let def = compiled(BLOCK);
        assert_eq!(def.start().id, "compute");
        assert!(matches!(def.next("compute"), Some(Next::Step(s)) if s.id == "both"));
        assert!(matches!(def.next("both"), Some(Next::Step(s)) if s.id == "decide"));
        assert_eq!(def.next("wait_a"), Some(Next::BranchComplete));
        assert_eq!(def.next("decide"), Some(Next::Chosen));
        assert_eq!(
            def.enclosing_parallel("wait_b").map(|s| s.id.as_str()),
            Some("both")
        );
        assert!(def.enclosing_parallel("decide").is_none());
        assert_eq!(def.steps().count(), 7);
        assert!(def.next("nope").is_none());
    }
}
