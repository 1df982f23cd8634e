use crate::core::run::Run;
use crate::error::Result;
use crate::events::Event;

pub(crate) fn handle(run: &mut Run<'_>, reason: &str) -> Result<()> {
    run.cancel_all_timers();
    run.emit(Event::InstanceCancelled {
        reason: reason.to_owned(),
    });
    Ok(())
}
