use serde_json::Value;

use crate::core::run::{Flow, Run};
use crate::core::state::Wait;
use crate::error::{Error, Result};
use crate::events::Event;

pub(crate) fn handle(run: &mut Run<'_>, token: u32, succeeded: bool, result: &Value) -> Result<()> {
    let id = run.token_step(token)?;
    if run.state.tokens[&token].wait != Wait::Call {
        return Err(Error::Stale(format!(
            "token {token} is not waiting for a sub-workflow"
        )));
    }
    run.emit(Event::CallCompleted {
        token,
        step: id.clone(),
        succeeded,
        result: result.clone(),
    });
    let call = run.step(&id).call.as_ref().expect("a call step");
    let flow = if succeeded {
        run.set_output(token, &id, &call.output, vec![("result", result.clone())])
            .unwrap_or(Flow::Complete)
    } else {
        run.path_or_incident(
            token,
            &id,
            call.on_failure.as_ref(),
            "the sub-workflow did not succeed".to_owned(),
        )
    };
    run.drive(token, flow)
}
