use serde_json::Value;

use crate::core::run::{Flow, Run};
use crate::error::{Error, Result};
use crate::events::{Actor, Event, TimerPurpose};

pub(crate) fn handle(
    run: &mut Run<'_>,
    instance: &str,
    tracking_code: &str,
    input: &Value,
    parent: Option<&crate::events::ParentRef>,
) -> Result<()> {
    if run.state.started() {
        return Err(Error::AlreadyStarted);
    }
    let def = run.def.compiled();
    let wf = def.workflow();
    // A workflow that takes no requests (a scheduled batch) starts only by its schedule or
    // as another workflow's `call`: a citizen filing it would set it off on their say-so.
    let by_engine = matches!(run.ctx.actor, crate::events::Actor::System);
    if !wf.triggers.request && parent.is_none() && !by_engine {
        return Err(Error::NotRequestable {
            workflow: wf.id.clone(),
        });
    }
    run.def.validate_input(input).map_err(Error::InvalidInput)?;
    run.emit(Event::InstanceStarted {
        instance: instance.to_owned(),
        workflow: wf.id.clone(),
        version: wf.version,
        hash: def.hash().to_owned(),
        agency: wf.agency.clone(),
        tracking_code: tracking_code.to_owned(),
        input: input.clone(),
        filed_at: run.ctx.now,
        parent: parent.cloned(),
        filed_by: match &run.ctx.actor {
            Actor::Applicant(subject) => Some(subject.clone()),
            _ => None,
        },
    });
    let sla_at = run.ctx.calendar.add(run.ctx.now, wf.sla);
    let start = def.start().id.clone();
    run.timer(0, &start, sla_at, TimerPurpose::Sla);
    run.drive(0, Flow::Goto(start))
}
