//! Where every step is: its pointer, its scope (the top level or a parallel branch) and its
//! position there. Shared by the checks and by the compiled form.

use std::collections::{BTreeMap, HashMap};

use crate::model::{Step, StepKind, Workflow};
use crate::source::Pointer;

/// The list of steps a step belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// The workflow's own `steps`.
    Top,
    /// A branch of a parallel step: the parallel step's place and the branch's index.
    Branch { parallel: usize, branch: usize },
}

/// One step's place.
#[derive(Clone, Debug)]
pub struct Place {
    /// The step's id.
    pub id: String,
    /// The JSON pointer of the step.
    pub pointer: Pointer,
    /// The list it belongs to.
    pub scope: Scope,
    /// Its index in that list.
    pub position: usize,
    /// Indices from the top: step, then (branch, step) pairs.
    path: Vec<usize>,
}

/// What follows a step that does not choose its own next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Continuation {
    /// This step (a place index).
    Step(usize),
    /// The step is the last of a branch: the branch completes.
    BranchComplete,
    /// The step is the last of the workflow and not an end.
    FallsOff,
    /// The step chooses its own next step (decision, task) or ends the request.
    Own,
    /// `next` names a step that does not exist.
    Unknown,
}

/// Every step of a workflow, in document order (a parallel step before its branches' steps).
#[derive(Clone, Debug, Default)]
pub struct Layout {
    places: Vec<Place>,
    by_id: HashMap<String, usize>,
    scopes: BTreeMap<Scope, Vec<usize>>,
}

impl Layout {
    /// Lays out a workflow's steps.
    pub fn build(wf: &Workflow) -> Self {
        let mut layout = Layout::default();
        let root = Pointer::root().key("steps");
        layout.add(&wf.steps, Scope::Top, &root, &[]);
        layout
    }

    fn add(&mut self, steps: &[Step], scope: Scope, base: &Pointer, path: &[usize]) {
        for (position, step) in steps.iter().enumerate() {
            let index = self.places.len();
            let mut step_path = path.to_vec();
            step_path.push(position);
            let pointer = base.index(position);
            self.places.push(Place {
                id: step.id.clone(),
                pointer: pointer.clone(),
                scope,
                position,
                path: step_path.clone(),
            });
            self.by_id.entry(step.id.clone()).or_insert(index);
            self.scopes.entry(scope).or_default().push(index);
            if let Some(par) = &step.parallel {
                for (b, branch) in par.branches.iter().enumerate() {
                    let mut branch_path = step_path.clone();
                    branch_path.push(b);
                    let branch_ptr = pointer
                        .key("parallel")
                        .key("branches")
                        .index(b)
                        .key("steps");
                    let scope = Scope::Branch {
                        parallel: index,
                        branch: b,
                    };
                    self.add(&branch.steps, scope, &branch_ptr, &branch_path);
                }
            }
        }
    }

    /// Every place, in document order.
    pub fn places(&self) -> &[Place] {
        &self.places
    }

    /// The place of a step id (the first, when ids repeat).
    pub fn get(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The places of a scope, in order.
    pub fn scope(&self, scope: Scope) -> &[usize] {
        self.scopes.get(&scope).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every scope.
    pub fn scopes(&self) -> impl Iterator<Item = Scope> + '_ {
        self.scopes.keys().copied()
    }

    /// The step at a place.
    pub fn step<'a>(&self, wf: &'a Workflow, place: usize) -> &'a Step {
        let path = &self.places[place].path;
        let mut step = &wf.steps[path[0]];
        for pair in path[1..].chunks(2) {
            let par = step
                .parallel
                .as_ref()
                .expect("a branch's parent is parallel");
            step = &par.branches[pair[0]].steps[pair[1]];
        }
        step
    }

    /// The first step of a scope.
    pub fn first(&self, scope: Scope) -> Option<usize> {
        self.scope(scope).first().copied()
    }

    /// What follows the step at `place` when it completes normally: its `next` when it has
    /// one (which [`Step::transitions`](crate::model::Step::transitions) lists too), else the
    /// following step of its list.
    pub fn continuation(&self, wf: &Workflow, place: usize) -> Continuation {
        let step = self.step(wf, place);
        let own = step.kind().is_some_and(|k| {
            matches!(
                k.kind(),
                StepKind::Decision | StepKind::Task | StepKind::End
            )
        });
        if own {
            return Continuation::Own;
        }
        if let Some(next) = &step.next {
            return self
                .get(next)
                .map_or(Continuation::Unknown, Continuation::Step);
        }
        let p = &self.places[place];
        match self.scope(p.scope).get(p.position + 1) {
            Some(following) => Continuation::Step(*following),
            None if p.scope == Scope::Top => Continuation::FallsOff,
            None => Continuation::BranchComplete,
        }
    }
}

/// The name the checks use.
pub(crate) type StepIndex = Layout;
