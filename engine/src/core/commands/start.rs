use serde_json::Value;

use crate::core::run::{Flow, Run};
use crate::error::{Error, Result};
use crate::events::{Event, TimerPurpose};

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
    run.def.validate_input(input).map_err(Error::InvalidInput)?;
    let def = run.def.compiled();
    let wf = def.workflow();
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
    });
    let sla = chrono::Duration::from_std(wf.sla.get()).unwrap_or(chrono::Duration::MAX);
    let start = def.start().id.clone();
    run.timer(0, &start, run.ctx.now + sla, TimerPurpose::Sla);
    run.drive(0, Flow::Goto(start))
}
