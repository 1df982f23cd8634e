//! What-if replay: a recorded request run again through another definition (the next version
//! of its service), driven only by what came into it from outside (the agencies' answers,
//! the officers' decisions, messages, payments, timers), never by calling anyone. The answer
//! says whether the new definition would have taken the same path to the same outcome, and
//! where not, the first step where the paths part, the decision that went the other way with
//! the values it read, and the old and new outcomes. Where the new definition asks for
//! something the history does not hold (a new inquiry, a new task, an answer to a question
//! asked differently), it says what it needs instead of guessing.
//!
//! Inputs are given in the order they were recorded; one the new run does not wait for (yet)
//! is held back and given as soon as something waits for it at the same step, so a new
//! definition that asks two agencies in the other order still gets both answers. Timers fire
//! when the history's did, not when the new definition's durations would have them.

mod inputs;

use std::collections::BTreeMap;
use std::sync::Arc;

use daftar_definitions::calendar::Calendar;
use serde::{Deserialize, Serialize};

use super::state::{Ending, InstanceState, Wait};
use super::{Budget, Ctx, decide};
use crate::definition::Definition;
use crate::events::{DecisionEvidence, Event, RecordedEvent, Sentence};
use inputs::{Asked, Held, Input};

/// What the replay found for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The same path to the same outcome.
    Same,
    /// Another path, another outcome, or both.
    Differs,
    /// The new definition needs something the history does not hold.
    CannotTell,
}

/// One recorded request run through the new definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The request (instance) id.
    pub instance: String,
    /// Its tracking code.
    pub tracking_code: String,
    /// The version of the service that decided it.
    pub recorded_version: u32,
    /// Same, differs, or cannot tell.
    pub verdict: Verdict,
    /// How it ended: an outcome (`issued`, `rejected`, …), `cancelled`, or `running`.
    pub old_outcome: String,
    /// How it would end under the new definition; none when that cannot be told.
    pub new_outcome: Option<String>,
    /// Where the paths part, when they do.
    pub parted: Option<Parting>,
    /// What the new definition asks that the history does not hold (empty unless
    /// `cannot_tell`).
    pub needs: Vec<Sentence>,
    /// The finding in a sentence or two.
    pub why: Sentence,
}

/// The first step where the two paths part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parting {
    /// The last step both took before they part (none: they part at the first step).
    pub after: Option<String>,
    /// The step the recorded request took next (none: it went no further).
    pub old_next: Option<String>,
    /// The step the new definition takes next (none: it goes no further).
    pub new_next: Option<String>,
    /// When `after` is a decision: how it went then and how it goes now.
    pub decision: Option<DecisionChange>,
}

/// A decision taken one way in the history and another under the new definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionChange {
    /// The decision step.
    pub step: String,
    /// As recorded: the conditions tried, the values they read, the step chosen.
    pub old: DecisionEvidence,
    /// Under the new definition.
    pub new: DecisionEvidence,
}

/// Runs the recorded request `history` (its events, in order) through `def`, with `calendar`
/// for the due times the new run computes.
pub fn replay(history: &[RecordedEvent], def: &Definition, calendar: Arc<Calendar>) -> Finding {
    let old: Vec<&Event> = history.iter().map(|e| &e.event).collect();
    let old_state = InstanceState::fold(old.iter().copied());
    let (filed, mut held) = inputs::read(history);
    let mut finding = Finding {
        instance: old_state.instance.clone(),
        tracking_code: old_state.tracking_code.clone(),
        recorded_version: old_state.workflow_version,
        verdict: Verdict::CannotTell,
        old_outcome: outcome(&old_state),
        new_outcome: None,
        parted: None,
        needs: Vec::new(),
        why: Sentence {
            fa: String::new(),
            en: String::new(),
        },
    };
    let Some(filed) = filed else {
        finding.needs.push(Sentence {
            fa: "سابقه‌ای که با ثبت درخواست آغاز شود".into(),
            en: "a history that begins with the request's filing".into(),
        });
        finding.why = why(&finding);
        return finding;
    };
    // The agency's document code, as the recorded document ID carries it (a replay that
    // issues again issues the same ID), else the code made up from the agency's name.
    let document_code = match &old_state.ending {
        Some(Ending::Completed {
            document_id: Some(id),
            ..
        }) if id.len() == 20 && crate::document::is_code(&id[..4]) => id[..4].to_owned(),
        _ => crate::document::unregistered_code(&old_state.agency),
    };
    let mut ctx = Ctx {
        now: filed.at,
        actor: filed.actor.clone(),
        budget: Budget::default(),
        calendar,
        document_code,
    };
    let mut state = InstanceState::default();
    let mut new: Vec<Event> = Vec::new();
    let mut refused: Vec<Sentence> = Vec::new();
    let take = |events: Vec<Event>, state: &mut InstanceState, new: &mut Vec<Event>| {
        for e in events {
            state.apply(&e);
            new.push(e);
        }
    };
    match decide(&state, def, &filed.command, &ctx) {
        Ok(events) => take(events, &mut state, &mut new),
        Err(e) => {
            finding.needs.push(Sentence {
                fa: format!("درخواستی که با فرم تازه بخواند: {e}"),
                en: format!("an application the new form accepts: {e}"),
            });
            finding.why = why(&finding);
            return finding;
        }
    }
    while !state.ended() {
        let asked = asked(&new);
        let Some((i, command)) = held
            .iter()
            .enumerate()
            .find_map(|(i, h)| h.command(&state, &asked).map(|c| (i, c)))
        else {
            break;
        };
        let Held { input, at, actor } = held.remove(i);
        ctx.now = at;
        ctx.actor = actor;
        match decide(&state, def, &command, &ctx) {
            Ok(events) => take(events, &mut state, &mut new),
            Err(e) => refused.push(Sentence {
                fa: format!("{} ثبت‌شده را تعریف تازه نپذیرفت: {e}", describe(&input).fa),
                en: format!(
                    "the recorded {} is refused by the new definition: {e}",
                    describe(&input).en
                ),
            }),
        }
    }
    compare(&mut finding, &old, &old_state, &new, &state, refused);
    finding
}

/// What the new run's inquiries asked, by token (the last request of each).
fn asked(new: &[Event]) -> BTreeMap<u32, Asked> {
    let mut out = BTreeMap::new();
    for e in new {
        if let Event::InquiryRequested {
            token,
            connector,
            operation,
            request,
            ..
        } = e
        {
            out.insert(
                *token,
                Asked {
                    connector: connector.clone(),
                    operation: operation.clone(),
                    request: request.clone(),
                },
            );
        }
    }
    out
}

/// How a state ended, as the finding names it.
fn outcome(s: &InstanceState) -> String {
    match &s.ending {
        Some(Ending::Completed { outcome, .. }) => serde_json::to_value(outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        Some(Ending::Cancelled { .. }) => "cancelled".to_owned(),
        None => "running".to_owned(),
    }
}

/// The steps entered, in order.
fn path<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<&'a str> {
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::StepEntered { step, .. } => Some(step.as_str()),
            _ => None,
        })
        .collect()
}

/// The `n`th decision (from 0) recorded at `step`.
fn decision<'a>(
    events: impl IntoIterator<Item = &'a Event>,
    step: &str,
    n: usize,
) -> Option<DecisionEvidence> {
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::DecisionTaken { step: s, evidence } if s == step => Some(evidence.clone()),
            _ => None,
        })
        .nth(n)
}

fn compare(
    finding: &mut Finding,
    old: &[&Event],
    old_state: &InstanceState,
    new: &[Event],
    state: &InstanceState,
    refused: Vec<Sentence>,
) {
    let old_path = path(old.iter().copied());
    let new_path = path(new);
    let parted_at = old_path
        .iter()
        .zip(&new_path)
        .position(|(a, b)| a != b)
        .unwrap_or(old_path.len().min(new_path.len()));
    // Still waiting where the recorded request still waits lacks nothing.
    let stuck = !state.ended() && (old_path != new_path || old_state.ended());
    let prefix_of_old = parted_at == new_path.len() && new_path.len() < old_path.len();
    if old_path != new_path && !(stuck && prefix_of_old) {
        let after = parted_at.checked_sub(1).map(|i| new_path[i].to_owned());
        let change = after.as_deref().and_then(|step| {
            let n = new_path[..parted_at].iter().filter(|s| **s == step).count() - 1;
            Some(DecisionChange {
                step: step.to_owned(),
                old: decision(old.iter().copied(), step, n)?,
                new: decision(new, step, n)?,
            })
        });
        finding.parted = Some(Parting {
            after,
            old_next: old_path.get(parted_at).map(|s| (*s).to_owned()),
            new_next: new_path.get(parted_at).map(|s| (*s).to_owned()),
            decision: change,
        });
    }
    if stuck {
        finding.verdict = Verdict::CannotTell;
        finding.needs = waits(state, new);
        finding.needs.extend(refused);
    } else {
        let new_outcome = outcome(state);
        finding.verdict = if new_outcome == finding.old_outcome && finding.parted.is_none() {
            Verdict::Same
        } else {
            Verdict::Differs
        };
        finding.new_outcome = Some(new_outcome);
    }
    finding.why = why(finding);
}

/// What the new run waits for, which the history did not give.
fn waits(state: &InstanceState, new: &[Event]) -> Vec<Sentence> {
    let mut out = Vec::new();
    for t in state.tokens.values() {
        let step = &t.step;
        let (fa, en) = match &t.wait {
            Wait::Running | Wait::Join { .. } => continue,
            Wait::Inquiry { .. } | Wait::Retry { .. } | Wait::Callback { .. } => (
                format!("پاسخ استعلام مرحلهٔ «{step}»"),
                format!("the agency's answer to the inquiry of step `{step}`"),
            ),
            Wait::PaymentRequest { .. } | Wait::PaymentOpen { .. } => (
                format!("پرداخت مرحلهٔ «{step}»"),
                format!("the payment of step `{step}`"),
            ),
            Wait::Task { .. } => (
                format!("تصمیم کارشناس در کار مرحلهٔ «{step}»"),
                format!("an officer's decision on the task of step `{step}`"),
            ),
            Wait::Timer => (
                format!("سررسید زمان‌سنج مرحلهٔ «{step}»"),
                format!("the timer of step `{step}`"),
            ),
            Wait::Message { name, .. } => (
                format!("پیام «{name}» در مرحلهٔ «{step}»"),
                format!("the message `{name}` at step `{step}`"),
            ),
            Wait::Call => (
                format!("نتیجهٔ زیرفرایند مرحلهٔ «{step}»"),
                format!("the result of the sub-workflow of step `{step}`"),
            ),
            Wait::Incident { incident } => {
                let reason = new
                    .iter()
                    .rev()
                    .find_map(|e| match e {
                        Event::IncidentRaised {
                            incident: i,
                            reason,
                            ..
                        } if i == incident => Some(reason.as_str()),
                        _ => None,
                    })
                    .unwrap_or_default();
                (
                    format!("رفع خطای مرحلهٔ «{step}»: تعریف تازه در این مرحله متوقف شد ({reason})"),
                    format!(
                        "an operator: the new definition stops at step `{step}` with an incident ({reason})"
                    ),
                )
            }
        };
        out.push(Sentence { fa, en });
    }
    out
}

/// An input named for a sentence.
fn describe(input: &Input) -> Sentence {
    let (fa, en) = match input {
        Input::Inquiry { step, .. } => (
            format!("پاسخ استعلام «{step}»"),
            format!("answer of `{step}`"),
        ),
        Input::PaymentRequest { step, .. } => {
            (format!("پرداخت «{step}»"), format!("payment of `{step}`"))
        }
        Input::Timer { .. } => ("زمان‌سنج".to_owned(), "timer".to_owned()),
        Input::Message { step, .. } => (format!("پیام «{step}»"), format!("message of `{step}`")),
        Input::Claim { step, .. } | Input::Complete { step, .. } | Input::Reassign { step, .. } => {
            (
                format!("تصمیم کارشناس در «{step}»"),
                format!("officer's action on `{step}`"),
            )
        }
        Input::Call { step, .. } => (format!("نتیجهٔ «{step}»"), format!("result of `{step}`")),
        Input::Cancel { .. } => ("لغو".to_owned(), "cancellation".to_owned()),
        Input::RetryIncident { step } => {
            (format!("تلاش دوباره «{step}»"), format!("retry of `{step}`"))
        }
    };
    Sentence { fa, en }
}

/// The finding in words.
fn why(f: &Finding) -> Sentence {
    let mut fa = Vec::new();
    let mut en = Vec::new();
    match (&f.verdict, &f.new_outcome) {
        (Verdict::Same, _) => {
            fa.push(format!("همان مسیر و همان نتیجه ({})", f.old_outcome));
            en.push(format!(
                "The same path and the same outcome ({})",
                f.old_outcome
            ));
        }
        (Verdict::Differs, Some(new)) if *new != f.old_outcome => {
            fa.push(format!("نتیجه تغییر می‌کند: {} ← {}", new, f.old_outcome));
            en.push(format!("The outcome changes: {} → {new}", f.old_outcome));
        }
        (Verdict::Differs, _) => {
            fa.push(format!("همان نتیجه ({}) از مسیری دیگر", f.old_outcome));
            en.push(format!(
                "The same outcome ({}) by another path",
                f.old_outcome
            ));
        }
        (Verdict::CannotTell, _) => {
            let needs_fa: Vec<&str> = f.needs.iter().map(|n| n.fa.as_str()).collect();
            let needs_en: Vec<&str> = f.needs.iter().map(|n| n.en.as_str()).collect();
            fa.push(format!("نمی‌توان گفت؛ لازم است: {}", needs_fa.join("؛ ")));
            en.push(format!("Cannot tell: needs {}", needs_en.join("; ")));
        }
    }
    if let Some(p) = &f.parted {
        let step = |s: &Option<String>| s.clone().unwrap_or_else(|| "—".to_owned());
        match &p.after {
            Some(after) => {
                fa.push(format!(
                    "مسیرها پس از «{after}» جدا می‌شوند: پیش‌تر «{}»، اکنون «{}»",
                    step(&p.old_next),
                    step(&p.new_next)
                ));
                en.push(format!(
                    "the paths part after `{after}`: recorded `{}`, now `{}`",
                    step(&p.old_next),
                    step(&p.new_next)
                ));
            }
            None => {
                fa.push("مسیرها از نخستین مرحله جدا هستند".to_owned());
                en.push("the paths differ from the first step".to_owned());
            }
        }
        if let Some(d) = &p.decision {
            let (old, now) = (d.old.explain(&d.step), d.new.explain(&d.step));
            fa.push(format!("پیش‌تر: {} اکنون: {}", old.fa, now.fa));
            en.push(format!("Recorded: {} Now: {}", old.en, now.en));
        }
    }
    Sentence {
        fa: crate::templates::persian_digits(&format!("{}.", fa.join("؛ "))),
        en: format!("{}.", en.join("; ")),
    }
}
