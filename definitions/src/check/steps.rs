//! Checks of each step on its own and of the declarations it names: kinds, ids, statuses,
//! templates, forms, deadlines, escalations, cron expressions and time zones.

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;

use super::Finding;
use super::index::StepIndex;
use super::suggest::{hint, list};
use crate::diagnostic::Code;
use crate::model::{RESERVED_NAMES, Step, StepKind, Workflow};
use crate::source::Pointer;

pub(crate) fn check(wf: &Workflow, index: &StepIndex, out: &mut Vec<Finding>) {
    let mut used_statuses = BTreeSet::new();
    let mut used_templates = BTreeSet::new();
    let mut used_forms = BTreeSet::new();
    let mut seen: HashMap<&str, &Pointer> = HashMap::new();

    timezone(&wf.timezone, Pointer::root().key("timezone"), out);
    for (i, schedule) in wf.triggers.schedules.iter().enumerate() {
        let at = Pointer::root().key("triggers").key("schedules").index(i);
        cron(&schedule.cron, at.key("cron"), out);
        if let Some(tz) = &schedule.timezone {
            timezone(tz, at.key("timezone"), out);
        }
        if wf.triggers.schedules[..i]
            .iter()
            .any(|s| s.id == schedule.id)
        {
            let msg = format!("schedule id `{}` is used twice", schedule.id);
            out.push(Finding::new(Code::DuplicateId, at.key("id"), msg));
        }
    }
    if let Some(r) = &wf.defaults.retry {
        retry(r, Pointer::root().key("defaults").key("retry"), out);
    }
    if !wf.triggers.request && wf.triggers.schedules.is_empty() {
        let msg = "`request: false` with no schedules: nothing can ever start this workflow";
        out.push(Finding::new(
            Code::InvalidValue,
            Pointer::root().key("triggers"),
            msg,
        ));
    }
    let no_mobile = wf.applicant_mobile().is_none();
    let no_recipient = |at: Pointer, fix: &str| {
        let msg = format!(
            "this SMS goes to the applicant, and the workflow has no applicant mobile number: add a `mobile` field to the input schema{fix}"
        );
        Finding::new(Code::NoRecipient, at, msg)
    };
    for (id, status) in &wf.statuses {
        if status.sms_template().is_some() && no_mobile {
            out.push(no_recipient(
                Pointer::root().key("statuses").key(id).key("sms"),
                " or set `applicant.mobile`",
            ));
        }
        if let Some(t) = status.sms_template() {
            used_templates.insert(t.to_owned());
            if !wf.templates.contains_key(t) {
                let at = Pointer::root().key("statuses").key(id).key("sms");
                out.push(unknown_template(wf, t, at));
            }
        }
    }

    for (pi, place) in index.places().iter().enumerate() {
        let step = index.step(wf, pi);
        let at = &place.pointer;
        if let Some(first) = seen.get(step.id.as_str()) {
            let msg = format!(
                "step id `{}` is already used by the step at {first}",
                step.id
            );
            out.push(Finding::new(Code::DuplicateId, at.key("id"), msg));
        } else {
            seen.insert(&step.id, at);
        }
        kinds(step, at, out);
        if let Some(r) = step.inquiry.as_ref().and_then(|i| i.retry.as_ref()) {
            retry(r, at.key("inquiry").key("retry"), out);
        }
        if let Some(r) = step.payment.as_ref().and_then(|p| p.retry.as_ref()) {
            retry(r, at.key("payment").key("retry"), out);
        }
        if let Some(status) = &step.status {
            used_statuses.insert(status.clone());
            if !wf.statuses.contains_key(status) {
                out.push(undeclared(
                    Code::UnknownStatus,
                    ("status", "statuses"),
                    status,
                    wf.statuses.keys(),
                    at.key("status"),
                ));
            }
        }
        if let Some(n) = &step.notify {
            if n.to.is_none() && no_mobile {
                out.push(no_recipient(
                    at.key("notify"),
                    ", set `applicant.mobile`, or give the step a `to:`",
                ));
            }
            used_templates.insert(n.template.clone());
            if !wf.templates.contains_key(&n.template) {
                out.push(unknown_template(
                    wf,
                    &n.template,
                    at.key("notify").key("template"),
                ));
            }
        }
        if let Some(t) = &step.task {
            let at = at.key("task");
            if let Some(form) = &t.form {
                used_forms.insert(form.clone());
                if !wf.forms.contains_key(form) {
                    out.push(undeclared(
                        Code::UnknownForm,
                        ("form", "forms"),
                        form,
                        wf.forms.keys(),
                        at.key("form"),
                    ));
                }
            }
            if t.role.is_none() && t.candidate_groups.is_empty() {
                let msg = "a human task needs a `role` or `candidate_groups` so that an officer can claim it";
                out.push(Finding::new(Code::TaskAssignee, at.clone(), msg));
            }
            if let Some(od) = &t.on_deadline
                && !t.outcomes.contains_key(&od.deemed)
            {
                let known: Vec<&str> = t.outcomes.keys().map(String::as_str).collect();
                let msg = format!(
                    "task `{}` is deemed `{}` when its deadline passes, but it has no such outcome; its outcomes are {}",
                    step.id,
                    od.deemed,
                    known.join(", ")
                );
                out.push(Finding::new(
                    Code::DeemedOutcome,
                    at.key("on_deadline").key("deemed"),
                    msg,
                ));
            }
            match t.due {
                None => {
                    let msg = format!(
                        "human task `{}` has no deadline; add `due:` (such as `due: 3d`) so that it cannot wait forever",
                        step.id
                    );
                    out.push(Finding::new(Code::NoDeadline, at.clone(), msg));
                }
                Some(due) => {
                    let mut last = None;
                    for (i, e) in t.escalation.iter().enumerate() {
                        if let Some(od) = &t.on_deadline
                            && e.after.compare(due).is_some_and(|o| o.is_ge())
                        {
                            let msg = format!(
                                "escalation after {} never fires: at {due} the task is deemed `{}` and closed; escalate before the deadline",
                                e.after, od.deemed
                            );
                            out.push(Finding::new(
                                Code::EscalationAfterDeemed,
                                at.key("escalation").index(i).key("after"),
                                msg,
                            ));
                        }
                        if let Some(prev) = last
                            && e.after.compare(prev).is_some_and(|o| o.is_le())
                        {
                            let msg = format!(
                                "escalation after {} comes no later than the one before it ({prev}); list escalations in the order they happen",
                                e.after
                            );
                            out.push(Finding::new(
                                Code::Escalation,
                                at.key("escalation").index(i).key("after"),
                                msg,
                            ));
                        }
                        last = Some(e.after);
                        if let Some(tpl) = &e.notify {
                            used_templates.insert(tpl.clone());
                            if !wf.templates.contains_key(tpl) {
                                let p = at.key("escalation").index(i).key("notify");
                                out.push(unknown_template(wf, tpl, p));
                            }
                        }
                    }
                }
            }
        }
        if let Some(w) = &step.wait {
            let at = at.key("wait");
            let kinds = [
                w.duration.is_some(),
                w.until.is_some(),
                w.cron.is_some(),
                w.message.is_some(),
            ];
            let n = kinds.iter().filter(|k| **k).count();
            if n != 1 {
                let msg = if n == 0 {
                    "a wait needs one of `duration`, `until`, `cron` or `message`".to_owned()
                } else {
                    "a wait waits for one thing: set only one of `duration`, `until`, `cron` and `message`".to_owned()
                };
                out.push(Finding::new(Code::WaitKind, at.clone(), msg));
            }
            if let Some(c) = &w.cron {
                cron(c, at.key("cron"), out);
            }
            if let Some(tz) = &w.timezone {
                timezone(tz, at.key("timezone"), out);
                if w.cron.is_none() {
                    let msg = "`timezone` only applies to `cron`";
                    out.push(Finding::new(Code::WaitKind, at.key("timezone"), msg));
                }
            }
            if w.message.is_some() && w.correlation.is_none() {
                let msg = "waiting for a message needs `correlation`: an expression for the key that matches the message to this request";
                out.push(Finding::new(Code::WaitKind, at.clone(), msg));
            }
            if w.message.is_none() {
                for field in ["correlation", "timeout", "on_timeout", "output"] {
                    let set = match field {
                        "correlation" => w.correlation.is_some(),
                        "timeout" => w.timeout.is_some(),
                        "output" => !w.output.is_empty(),
                        _ => w.on_timeout.is_some(),
                    };
                    if set {
                        let msg = format!("`{field}` only applies to waiting for a `message`");
                        out.push(Finding::new(Code::WaitKind, at.key(field), msg));
                    }
                }
            }
            if w.on_timeout.is_some() && w.timeout.is_none() {
                let msg = "`on_timeout` needs a `timeout`";
                out.push(Finding::new(Code::WaitKind, at.key("on_timeout"), msg));
            }
        }
        if let Some(par) = &step.parallel {
            for (b, branch) in par.branches.iter().enumerate() {
                if par.branches[..b].iter().any(|o| o.id == branch.id) {
                    let msg = format!(
                        "branch id `{}` is used twice in this parallel step",
                        branch.id
                    );
                    let p = at.key("parallel").key("branches").index(b).key("id");
                    out.push(Finding::new(Code::DuplicateId, p, msg));
                }
            }
        }
        for (field, mapping) in written(step) {
            for name in mapping {
                if RESERVED_NAMES.contains(&name.as_str()) {
                    let msg = format!(
                        "`{name}` is a reserved name that expressions read from the engine; choose another variable name"
                    );
                    let p = field.iter().fold(at.clone(), |p, k| p.key(k)).key(name);
                    out.push(Finding::new(Code::ReservedName, p, msg).at_key());
                }
            }
        }
    }

    for (kind, declared, used) in [
        (
            "status",
            wf.statuses.keys().collect::<Vec<_>>(),
            &used_statuses,
        ),
        ("template", wf.templates.keys().collect(), &used_templates),
        ("form", wf.forms.keys().collect(), &used_forms),
    ] {
        for name in declared {
            if !used.contains(name) {
                let section = format!("{kind}{}", if kind == "status" { "es" } else { "s" });
                let msg = format!("{kind} `{name}` is declared and never used");
                out.push(
                    Finding::new(
                        Code::UnusedDeclaration,
                        Pointer::root().key(&section).key(name),
                        msg,
                    )
                    .at_key(),
                );
            }
        }
    }
}

fn retry(r: &crate::model::Retry, at: Pointer, out: &mut Vec<Finding>) {
    if r.initial_interval > r.max_interval {
        let msg = format!(
            "`initial_interval` ({}) is longer than `max_interval` ({}); the first wait would already be cut to the longest",
            r.initial_interval, r.max_interval
        );
        out.push(Finding::new(
            Code::InvalidValue,
            at.key("initial_interval"),
            msg,
        ));
    }
}

fn unknown_template(wf: &Workflow, name: &str, at: Pointer) -> Finding {
    undeclared(
        Code::UnknownTemplate,
        ("template", "templates"),
        name,
        wf.templates.keys(),
        at,
    )
}

/// A `what` named `name` that is not among the keys `declared` of its `section`.
fn undeclared<'a>(
    code: Code,
    (what, section): (&str, &str),
    name: &str,
    declared: impl Iterator<Item = &'a String>,
    at: Pointer,
) -> Finding {
    let msg = format!(
        "{what} `{name}` is not declared under `{section}`{}",
        hint(name, declared.map(String::as_str))
    );
    Finding::new(code, at, msg)
}

fn kinds(step: &Step, at: &Pointer, out: &mut Vec<Finding>) {
    let kinds = step.kinds();
    match kinds.as_slice() {
        [] => {
            let keys: Vec<&str> = StepKind::ALL.iter().map(|k| k.key()).collect();
            let msg = format!(
                "step `{}` says nothing about what it does; give it one of {}",
                step.id,
                list(keys)
            );
            out.push(Finding::new(Code::StepKind, at.clone(), msg));
        }
        [one] => {
            let kind = one.kind();
            if step.next.is_some()
                && matches!(kind, StepKind::Decision | StepKind::Task | StepKind::End)
            {
                let why = match kind {
                    StepKind::Decision => "a decision goes where its cases say",
                    StepKind::Task => "a task goes where the officer's outcome says",
                    _ => "an end is the last step of its path",
                };
                let msg = format!("`next` does not apply here: {why}");
                out.push(Finding::new(Code::StepKind, at.key("next"), msg).at_key());
            }
        }
        many => {
            let keys: Vec<&str> = many.iter().map(|k| k.kind().key()).collect();
            let msg = format!(
                "step `{}` has {} kinds ({}); a step does one thing, so split it into several steps",
                step.id,
                many.len(),
                list(keys.iter().copied())
            );
            out.push(Finding::new(Code::StepKind, at.key(keys[1]), msg).at_key());
        }
    }
}

/// Every variable a step writes, with the field (relative to the step) that writes it.
pub(crate) fn written(step: &Step) -> Vec<(Vec<&'static str>, Vec<&String>)> {
    let mut out = Vec::new();
    if let Some(i) = &step.inquiry {
        out.push((vec!["inquiry", "output"], i.output.keys().collect()));
    }
    if let Some(p) = &step.payment {
        out.push((vec!["payment", "output"], p.output.keys().collect()));
    }
    if let Some(t) = &step.task {
        out.push((vec!["task", "output"], t.output.keys().collect()));
    }
    if let Some(w) = &step.wait {
        out.push((vec!["wait", "output"], w.output.keys().collect()));
    }
    if let Some(c) = &step.call {
        out.push((vec!["call", "output"], c.output.keys().collect()));
    }
    if let Some(s) = &step.set {
        out.push((vec!["set"], s.keys().collect()));
    }
    out
}

fn cron(expr: &str, at: Pointer, out: &mut Vec<Finding>) {
    if let Err(e) = parse_cron(expr) {
        let msg = format!(
            "`{expr}` is not a cron expression: {e}; write five fields (minute hour day month weekday), such as `0 10 * * Sun`"
        );
        out.push(Finding::new(Code::InvalidCron, at, msg));
    }
}

/// Parses a cron expression of five fields (minute precision) or six or seven (with seconds
/// first, and a year last), as the `cron` crate reads it.
///
/// Cron dialects disagree on weekday numbers (Unix counts Sunday as 0, the `cron` crate as 1),
/// so a five-field expression must name its weekdays (`Sat`, `Sun-Wed`); a number there would
/// silently mean another day to someone.
pub fn parse_cron(expr: &str) -> Result<cron::Schedule, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let full = match fields.len() {
        5 => {
            let weekday = fields[4];
            if weekday.chars().any(|c| c.is_ascii_digit()) && !weekday.starts_with("*/") {
                return Err(format!(
                    "the weekday field `{weekday}` uses numbers, which mean different days in different cron dialects; name the days instead, such as `Sat,Sun-Wed`"
                ));
            }
            format!("0 {expr}")
        }
        6 | 7 => expr.to_owned(),
        n => return Err(format!("it has {n} fields")),
    };
    cron::Schedule::from_str(&full).map_err(|e| {
        // The crate's message spans several lines: its own six-field text, a caret under the
        // bad field, and last what is wrong.
        let text = e.to_string();
        text.lines()
            .last()
            .unwrap_or("not a valid expression")
            .trim()
            .to_owned()
    })
}

fn timezone(tz: &str, at: Pointer, out: &mut Vec<Finding>) {
    if tz.parse::<chrono_tz::Tz>().is_err() {
        let msg = format!("`{tz}` is not an IANA time zone; Iran's is `Asia/Tehran`");
        out.push(Finding::new(Code::UnknownTimezone, at, msg));
    }
}
