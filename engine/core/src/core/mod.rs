//! The pure core: `decide` and `apply`. Synchronous, no I/O, no clock: the time and the actor
//! arrive in [`Ctx`]; ids are derived from the stream version. Given the same state,
//! definition, command and context, `decide` returns the same events, and folding them with
//! `apply` gives the same state, which is what lets history be replayed and audited.

mod command;
mod commands;
mod enter;
mod run;
mod state;
pub mod whatif;

pub use command::{Budget, Command, Ctx, InquiryResult, PaymentRequestResult};
pub use commands::cancel::{CANCELLED, CANCELLED_EN, CANCELLED_FA};
pub use commands::message::{CALLBACK, PAYMENT};
pub use run::{sms_reference_instance, visit_key_instance};
pub use state::{
    Delivery, Ending, InstanceState, Revocation, StoppedClock, TaskState, TimerState, Token, Wait,
};

use crate::definition::Definition;
use crate::error::{Error, Result};
use crate::events::Event;

/// Decides what a command causes: runs the instance forward until every token waits, and
/// returns the events. An error means the command changes nothing.
pub fn decide(
    state: &InstanceState,
    def: &Definition,
    command: &Command,
    ctx: &Ctx,
) -> Result<Vec<Event>> {
    let compiled = def.compiled();
    if state.started() {
        if state.hash != compiled.hash() {
            return Err(Error::WrongDefinition {
                expected: state.hash.clone(),
                found: compiled.hash().to_owned(),
            });
        }
        // What an ended request still hears: the gateway's word on its SMS, and the
        // revocation of the document it issued.
        let after_end = matches!(
            command,
            Command::NotificationResult { .. }
                | Command::DeliveryReport { .. }
                | Command::RevokeDocument { .. }
        );
        if let Command::Erase { authority, by } = command {
            return erase(state, authority, by);
        }
        if state.ended() && !after_end {
            return Err(Error::Ended);
        }
    } else if !matches!(command, Command::Start { .. }) {
        return Err(Error::NotStarted);
    }
    let mut run = run::Run::new(def, ctx, state);
    match command {
        Command::Start {
            instance,
            tracking_code,
            input,
            parent,
        } => commands::start::handle(&mut run, instance, tracking_code, input, parent.as_ref())?,
        Command::InquiryResult {
            token,
            attempt,
            result,
        } => commands::inquiry::handle(&mut run, *token, *attempt, result)?,
        Command::PaymentRequestResult {
            token,
            attempt,
            result,
        } => commands::payment::handle(&mut run, *token, *attempt, result)?,
        Command::FireTimer { timer } => commands::timer::handle(&mut run, timer)?,
        Command::DeliverMessage {
            name,
            correlation,
            message_id,
            payload,
        } => commands::message::handle(&mut run, name, correlation, message_id, payload)?,
        Command::ClaimTask { task, officer } => commands::task::claim(&mut run, task, officer)?,
        Command::CompleteTask {
            task,
            officer,
            outcome,
            form,
        } => commands::task::complete(&mut run, task, officer, outcome, form)?,
        Command::ReassignTask {
            task,
            role,
            officer,
        } => commands::task::reassign(&mut run, task, role.as_ref(), officer.as_ref())?,
        Command::NotificationResult {
            reference,
            sent,
            gateway_id,
            reason,
        } => commands::notification::handle(
            &mut run,
            reference,
            *sent,
            gateway_id.as_ref(),
            reason.as_ref(),
        )?,
        Command::DeliveryReport {
            reference,
            status,
            at,
        } => commands::notification::delivered(&mut run, reference, status, at.as_ref())?,
        Command::CallResult {
            token,
            succeeded,
            result,
        } => commands::call::handle(&mut run, *token, *succeeded, result)?,
        Command::Cancel { reason } => commands::cancel::handle(&mut run, reason)?,
        Command::RevokeDocument { reason } => commands::revoke::handle(&mut run, reason)?,
        Command::RetryIncident { incident } => commands::incident::retry(&mut run, incident)?,
        Command::Erase { .. } => unreachable!("an erasure is decided before the run"),
    }
    commands::clock::settle(&mut run);
    Ok(run.events)
}

/// An erasure: only of a request that has ended (a running one still needs its data), and
/// once; an erasure asked again changes nothing.
fn erase(state: &InstanceState, authority: &str, by: &str) -> Result<Vec<Event>> {
    if state.erased.is_some() {
        return Ok(Vec::new());
    }
    if !state.ended() {
        return Err(Error::NotAllowed(
            "the request is still running: its applicant's data can be erased once it has ended"
                .to_owned(),
        ));
    }
    if state
        .notifications
        .values()
        .any(|d| matches!(d, crate::core::Delivery::Pending))
    {
        return Err(Error::NotAllowed(
            "an SMS to the applicant is still being sent: erase once the gateway has answered"
                .to_owned(),
        ));
    }
    if authority.trim().is_empty() {
        return Err(Error::NotAllowed(
            "an erasure names its legal authority".to_owned(),
        ));
    }
    Ok(vec![Event::ApplicantErased {
        authority: authority.to_owned(),
        by: by.to_owned(),
    }])
}

/// Applies an event to a state (the fold step).
pub fn apply(mut state: InstanceState, event: &Event) -> InstanceState {
    state.apply(event);
    state
}
