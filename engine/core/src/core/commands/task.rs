use serde_json::Value;

use daftar_definitions::model::OnDeadline;

use crate::core::run::{Flow, Run};
use crate::core::state::TaskState;
use crate::error::{Error, Result};
use crate::events::{Event, NotificationPurpose};

fn open_task<'r>(run: &'r Run<'_>, task: &str) -> Result<&'r crate::core::state::TaskState> {
    match run.state.tasks.get(task) {
        None => Err(Error::Unknown {
            kind: "task",
            id: task.to_owned(),
        }),
        Some(t) if !t.open => Err(Error::Stale(format!("task `{task}` is closed"))),
        Some(t) => Ok(t),
    }
}

pub(crate) fn claim(run: &mut Run<'_>, task: &str, officer: &str) -> Result<()> {
    let t = open_task(run, task)?;
    match &t.officer {
        Some(o) if o == officer => return Ok(()),
        Some(o) => {
            return Err(Error::NotAllowed(format!(
                "task `{task}` is claimed by {o}"
            )));
        }
        None => {}
    }
    run.emit(Event::TaskClaimed {
        task: task.to_owned(),
        officer: officer.to_owned(),
    });
    Ok(())
}

pub(crate) fn complete(
    run: &mut Run<'_>,
    task: &str,
    officer: &str,
    outcome: &str,
    form: &Value,
) -> Result<()> {
    let t = open_task(run, task)?.clone();
    if let Some(holder) = &t.officer
        && holder != officer
    {
        return Err(Error::NotAllowed(format!(
            "task `{task}` is claimed by {holder}"
        )));
    }
    let step = run.step(&t.step);
    let spec = step.task.as_ref().expect("a task step");
    let Some(next) = spec.outcomes.get(outcome) else {
        let known: Vec<&str> = spec.outcomes.keys().map(String::as_str).collect();
        return Err(Error::NotAllowed(format!(
            "task `{task}` has no outcome `{outcome}`; it has {}",
            known.join(", ")
        )));
    };
    if let Some(form_id) = &spec.form {
        run.def
            .validate_form(form_id, form)
            .map_err(Error::InvalidForm)?;
    }
    run.emit(Event::TaskCompleted {
        task: task.to_owned(),
        officer: officer.to_owned(),
        outcome: outcome.to_owned(),
        form: form.clone(),
    });
    let extra = vec![
        ("form", form.clone()),
        ("outcome", Value::String(outcome.to_owned())),
    ];
    let flow = match run.set_output(t.token, &t.step, &spec.output, extra) {
        Some(flow) => flow,
        None => {
            run.cancel_timers(t.token);
            run.emit(Event::StepCompleted {
                token: t.token,
                step: t.step.clone(),
            });
            Flow::Goto(next.clone())
        }
    };
    run.drive(t.token, flow)
}

/// Deemed approval: the task's deadline passed with no decision and the law takes the silence as
/// its `on_deadline` outcome. No officer filled the form, so the task's `output` is not
/// evaluated; the applicant is told the outcome and the legal reason by SMS.
pub(crate) fn deemed(run: &mut Run<'_>, task: &str, t: &TaskState, od: &OnDeadline) -> Flow {
    let step = run.step(&t.step);
    let spec = step.task.as_ref().expect("a task step");
    let Some(next) = spec.outcomes.get(&od.deemed).cloned() else {
        // Validation refuses this (DEF042); a definition that got past it stops here.
        let reason = format!(
            "task `{task}` is deemed `{}`, which it has no outcome for",
            od.deemed
        );
        return run.incident(t.token, &t.step, reason);
    };
    run.emit(Event::TaskDeemed {
        task: task.to_owned(),
        outcome: od.deemed.clone(),
        law: od.law.clone(),
    });
    tell_applicant(run, task, &od.deemed, &od.law);
    run.cancel_timers(t.token);
    run.emit(Event::StepCompleted {
        token: t.token,
        step: t.step.clone(),
    });
    Flow::Goto(next)
}

/// The SMS of a deemed decision, in Persian and English, to the applicant's mobile number (a
/// request with none gets none; the status SMS of the step that follows still goes out).
fn tell_applicant(run: &mut Run<'_>, task: &str, outcome: &str, law: &str) {
    let Some(recipient) = run.applicant_recipient() else {
        return;
    };
    let code = run.state.tracking_code.clone();
    let text = format!(
        "درخواست {code}: مهلت قانونی بررسی گذشت و به حکم قانون «{outcome}» تلقی شد ({law}). Request {code}: the legal deadline passed and the law deems it `{outcome}` ({law})."
    );
    let purpose = NotificationPurpose::Deemed {
        task: task.to_owned(),
    };
    run.request_sms(purpose, DEEMED, recipient, text);
}

/// What a deemed decision's SMS is about, in its reference.
const DEEMED: &str = "deemed";

pub(crate) fn reassign(
    run: &mut Run<'_>,
    task: &str,
    role: Option<&String>,
    officer: Option<&String>,
) -> Result<()> {
    open_task(run, task)?;
    if role.is_none() && officer.is_none() {
        return Err(Error::NotAllowed(
            "reassigning needs a role or an officer".to_owned(),
        ));
    }
    run.emit(Event::TaskReassigned {
        task: task.to_owned(),
        role: role.cloned(),
        officer: officer.cloned(),
    });
    Ok(())
}
