//! What a step's node says: its title, what it does, and the public status it enters.

use super::{Node, Shape, node_id};
use crate::model::{Duration, Span, Step, StepKind, StepKindRef, Workflow};

/// A step's node: shaped by its kind, labelled with its title (English) or id, the kind and
/// what it talks to, and the public status it enters, if any.
pub(super) fn step_node(wf: &Workflow, step: &Step) -> Node {
    let title = match &step.title {
        Some(t) if !t.en.trim().is_empty() => t.en.clone(),
        _ => step.id.clone(),
    };
    let (shape, kind) = match step.kind() {
        Some(k) => (Shape::Step(k.kind()), describe(k)),
        None => (Shape::Step(StepKind::Set), "step".to_owned()),
    };
    let mut lines = vec![title, kind];
    if let Some(status) = &step.status {
        let label = wf.statuses.get(status).map_or(status.as_str(), |s| &s.en);
        lines.push(format!("status: {label}"));
    }
    Node {
        id: node_id(&step.id),
        shape,
        lines,
        status: step.status.is_some(),
    }
}

/// The line that says what the step does.
fn describe(kind: StepKindRef<'_>) -> String {
    match kind {
        StepKindRef::Inquiry(i) => {
            let callback = if i.callback.is_some() {
                " (callback)"
            } else {
                ""
            };
            format!("inquiry: {}.{}{callback}", i.connector, i.operation)
        }
        StepKindRef::Payment(p) => format!("payment: {}", p.connector),
        StepKindRef::Notify(n) => format!("notify: {}", n.template),
        StepKindRef::Decision(_) => "decision".to_owned(),
        StepKindRef::Task(t) => {
            let who = match &t.role {
                Some(role) => role.clone(),
                None => t.candidate_groups.join(", "),
            };
            format!("task: {who}")
        }
        StepKindRef::Wait(w) => {
            let what = if let Some(d) = w.duration {
                match d {
                    Span::Fixed(d) => short(d),
                    working => working.to_string(),
                }
            } else if let Some(until) = &w.until {
                format!("until {until}")
            } else if let Some(cron) = &w.cron {
                format!("cron {cron}")
            } else if let Some(message) = &w.message {
                format!("message {message}")
            } else {
                String::new()
            };
            format!("wait: {what}")
        }
        StepKindRef::Parallel(_) => "parallel".to_owned(),
        StepKindRef::Call(c) => {
            let version = c.version.map(|v| format!(" v{v}")).unwrap_or_default();
            format!("call: {}{version}", c.workflow)
        }
        StepKindRef::Set(vars) => {
            let names: Vec<&str> = vars.keys().map(String::as_str).collect();
            format!("set: {}", names.join(", "))
        }
        StepKindRef::End(e) => format!("end: {}", e.outcome.as_str()),
    }
}

/// A duration as designers write it: `3d`, `1h 30m`, `500ms`.
fn short(d: Duration) -> String {
    let d = d.get();
    let secs = d.as_secs();
    let parts = [
        (secs / 86_400, "d"),
        (secs / 3600 % 24, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
        (u64::from(d.subsec_millis()), "ms"),
    ];
    let words: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if words.is_empty() {
        "0s".to_owned()
    } else {
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::short;
    use crate::model::Duration;

    #[test]
    fn durations_are_short() {
        let d = |s: &str| short(s.parse::<Duration>().expect("a duration"));
        assert_eq!(d("36h"), "1d 12h");
        assert_eq!(d("90m"), "1h 30m");
        assert_eq!(d("1500ms"), "1s 500ms");
        assert_eq!(d("90d"), "90d");
    }
}
