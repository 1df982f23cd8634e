//! Revoking an issued document: the request has ended, its document stays in the history, and
//! a `DocumentRevoked` event records why, by whom and when, so that verification answers
//! "revoked" from then on. Only officers and operators revoke (the API checks the role and
//! the agency); a document is revoked once.

use crate::core::run::Run;
use crate::core::state::Ending;
use crate::error::{Error, Result};
use crate::events::{Actor, Event};

pub(crate) fn handle(run: &mut Run<'_>, reason: &str) -> Result<()> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::NotAllowed("a revocation needs a reason".into()));
    }
    let Some(Ending::Completed {
        document_id: Some(document_id),
        ..
    }) = &run.state.ending
    else {
        return Err(Error::NotAllowed(
            "the request has issued no document to revoke".into(),
        ));
    };
    if run.state.revoked.is_some() {
        return Err(Error::NotAllowed("the document is already revoked".into()));
    }
    let by = match &run.ctx.actor {
        Actor::Officer(who) | Actor::Operator(who) => who.clone(),
        other => {
            return Err(Error::NotAllowed(format!(
                "only an officer or an operator revokes a document, not {other:?}"
            )));
        }
    };
    run.emit(Event::DocumentRevoked {
        document_id: document_id.clone(),
        reason: reason.to_owned(),
        by,
        at: run.ctx.now,
    });
    Ok(())
}
