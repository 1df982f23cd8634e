//! "The agency said no" and "the agency could not be reached" are different outcomes: an
//! outage must lead to an incident, a later retry or an officer, not to a refusal the citizen
//! did nothing to earn. A path taken when an agency cannot be reached that leads only to
//! `outcome: rejected` ends is legal (the designer wrote it) but warned about (DEF037).

use std::collections::HashSet;

use super::Finding;
use super::index::{Continuation, StepIndex};
use crate::diagnostic::Code;
use crate::model::{OnUnknown, Outcome, Workflow};
use crate::source::Pointer;

pub(crate) fn check(wf: &Workflow, index: &StepIndex, out: &mut Vec<Finding>) {
    for (place, at) in index.places().iter().enumerate() {
        let Some(inq) = &index.step(wf, place).inquiry else {
            continue;
        };
        let mut paths: Vec<(&str, Pointer, &str)> = Vec::new();
        let base = at.pointer.key("inquiry");
        if let Some(t) = &inq.on_unreachable {
            paths.push((t, base.key("on_unreachable"), "`on_unreachable`"));
        }
        if let Some(t) = inq.callback.as_ref().and_then(|c| c.on_timeout.as_ref()) {
            let why = "`callback.on_timeout` (no answer came)";
            paths.push((t, base.key("callback").key("on_timeout"), why));
        }
        if inq.on_unknown == OnUnknown::Failure
            && let Some(t) = &inq.on_failure
        {
            let why = "`on_failure`, which `on_unknown: failure` takes when an attempt times out,";
            paths.push((t, base.key("on_failure"), why));
        }
        for (target, pointer, why) in paths {
            if only_refusals(wf, index, target) {
                let msg = format!(
                    "when `{}` cannot be reached, {why} leads only to a rejection: the citizen would be refused for the agency's outage; lead it to an officer's task or leave it out (an incident, retried by an operator once the agency is back)",
                    inq.connector
                );
                out.push(Finding::new(Code::OutageRefused, pointer, msg));
            }
        }
    }
}

/// Whether every end reachable from `start` (within its scope) rejects the request, and at
/// least one is reachable. Completing a branch counts as not refusing.
fn only_refusals(wf: &Workflow, index: &StepIndex, start: &str) -> bool {
    let Some(first) = index.get(start) else {
        return false;
    };
    let mut seen = HashSet::from([first]);
    let mut todo = vec![first];
    let mut any_end = false;
    while let Some(p) = todo.pop() {
        let step = index.step(wf, p);
        if let Some(end) = &step.end {
            if end.outcome != Outcome::Rejected {
                return false;
            }
            any_end = true;
            continue;
        }
        let mut next: Vec<usize> = step
            .transitions()
            .iter()
            .filter_map(|t| index.get(t.target))
            .collect();
        match index.continuation(wf, p) {
            Continuation::Step(s) => next.push(s),
            Continuation::BranchComplete => return false,
            _ => {}
        }
        for n in next {
            if seen.insert(n) {
                todo.push(n);
            }
        }
    }
    any_end
}
