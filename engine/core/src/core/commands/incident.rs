use crate::core::run::{Flow, Run};
use crate::error::{Error, Result};
use crate::events::Event;

/// An operator retries the step an incident stopped: the step is entered afresh, with a new
/// visit (so new attempts and a new idempotency key).
pub(crate) fn retry(run: &mut Run<'_>, incident: &str) -> Result<()> {
    let Some((token, step)) = run.state.incidents.get(incident).cloned() else {
        return Err(Error::Unknown {
            kind: "incident",
            id: incident.to_owned(),
        });
    };
    run.emit(Event::IncidentResolved {
        incident: incident.to_owned(),
        action: "retry".to_owned(),
    });
    run.unguarded = true;
    run.drive(token, Flow::Goto(step))
}
