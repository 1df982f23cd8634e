//! Every loop must be bounded (DEF036): each turn must wait on a person (an officer's task, an
//! applicant who pays), on a message, or on a timer of at least [`MIN_PAUSE`], or enter a step
//! with `max_visits`. A loop whose only waits are automated answers (an inquiry, a declined
//! payment, a call) may turn as fast as an agency answers: a declined payment that is asked
//! again at once sends an SMS every second, forever.
//!
//! The check removes every transition that is so bounded from each scope's graph; whatever
//! cycle is left, if it passes a wait state at all (DEF032 reports those that do not), is an
//! unbounded loop.

use chrono::{DateTime, Utc};
use petgraph::algo::kosaraju_scc;
use petgraph::graphmap::DiGraphMap;

use super::Finding;
use super::index::{Continuation, StepIndex};
use crate::diagnostic::Code;
use crate::model::{Span, Step, StepKind, Workflow};

/// The shortest timer that bounds a loop: a loop may turn at most once an hour unattended.
pub const MIN_PAUSE: std::time::Duration = std::time::Duration::from_secs(3600);

pub(crate) fn check(wf: &Workflow, index: &StepIndex, out: &mut Vec<Finding>) {
    for scope in index.scopes() {
        let mut g: DiGraphMap<usize, ()> = DiGraphMap::new();
        for &p in index.scope(scope) {
            g.add_node(p);
            let step = index.step(wf, p);
            let mut edges: Vec<(usize, Option<String>)> = step
                .transitions()
                .iter()
                .filter_map(|t| {
                    let last = match t.field.last() {
                        Some(crate::model::PathSegment::Key(k)) => Some(k.clone()),
                        _ => None,
                    };
                    index.get(t.target).map(|target| (target, last))
                })
                .collect();
            if let Continuation::Step(s) = index.continuation(wf, p) {
                edges.push((s, Some("next".to_owned())));
            }
            for (target, field) in edges {
                if index.places()[target].scope != scope {
                    continue;
                }
                let limited = index.step(wf, target).max_visits.is_some();
                if !limited && !bounded(step, field.as_deref().unwrap_or("next")) {
                    g.add_edge(p, target, ());
                }
            }
        }
        for component in kosaraju_scc(&g) {
            let cyclic =
                component.len() > 1 || component.first().is_some_and(|p| g.contains_edge(*p, *p));
            let waits = component.iter().any(|p| {
                index
                    .step(wf, *p)
                    .kind()
                    .is_some_and(|k| k.kind().waits() || k.kind() == StepKind::Parallel)
            });
            if !cyclic || !waits {
                continue;
            }
            out.push(Finding::on_loop(Code::UnboundedLoop, index, &component, |ids| {
                format!(
                    "steps {ids} form a loop whose only waits are automated answers (an inquiry, a declined payment, a call), so it could turn as fast as an agency answers, forever; give a step in it `max_visits` (with `on_max_visits`), or wait in it on a person, a message or a timer of at least 1h"
                )
            }));
        }
    }
}

fn long(d: Option<impl Into<std::time::Duration>>) -> bool {
    d.is_some_and(|d| d.into() >= MIN_PAUSE)
}

/// Whether leaving `step` by the transition written at `field` (`next` for the normal way on)
/// only ever happens after a person acted, a message came or a long enough timer ran.
fn bounded(step: &Step, field: &str) -> bool {
    if step.task.is_some() {
        return true;
    }
    if let Some(w) = &step.wait {
        return match field {
            "on_timeout" => long(w.timeout),
            _ if w.message.is_some() => true,
            _ if w.duration.is_some() => long(w.duration.map(Span::at_least)),
            _ => w.cron.as_deref().is_some_and(cron_is_slow),
        };
    }
    if let Some(p) = &step.payment {
        return match field {
            // The applicant paid: a person acted.
            "next" => true,
            "on_timeout" => long(Some(p.timeout)),
            _ => false,
        };
    }
    if let Some(i) = &step.inquiry {
        return field == "on_timeout" && long(i.callback.as_ref().map(|c| c.timeout));
    }
    if let Some(par) = &step.parallel {
        // The join waits for its branches: a branch that waits on a person bounds it.
        return field == "next"
            && par.branches.iter().any(|b| {
                b.steps.iter().any(|s| {
                    s.task.is_some()
                        || s.wait.as_ref().is_some_and(|w| {
                            w.message.is_some() || long(w.duration.map(Span::at_least))
                        })
                })
            });
    }
    false
}

/// Whether a cron expression never occurs twice within [`MIN_PAUSE`] (checked over a year of
/// occurrences from a fixed day, which covers every field's cycle).
fn cron_is_slow(cron: &str) -> bool {
    let Ok(schedule) = super::steps::parse_cron(cron) else {
        return false;
    };
    let from: DateTime<Utc> = DateTime::from_timestamp(1_767_225_600, 0).expect("a valid time");
    let min = chrono::Duration::from_std(MIN_PAUSE).expect("an hour");
    let mut last: Option<DateTime<Utc>> = None;
    for t in schedule.after(&from).take(10_000) {
        if let Some(prev) = last
            && t - prev < min
        {
            return false;
        }
        last = Some(t);
    }
    true
}
