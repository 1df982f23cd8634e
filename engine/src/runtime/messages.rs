//! Messages from outside (a field crew's report, an applicant's revised plans), delivered to the
//! request that waits for them: by the request, or by the correlation key the wait names.
//!
//! No index maps a correlation key to its request: a key that is the request's tracking code
//! is found directly, any other by reading the agency's running requests (their states are
//! cached). A message no request waits for is kept, never dropped. A repeated message id has
//! no second effect; once its request has ended, a repeat is kept like any late message.

use serde_json::Value;

use super::{Engine, Executed, RuntimeError};
use crate::core::{InstanceState, Wait};
use crate::events::{Actor, StreamId};
use crate::store::{InstanceQuery, MAX_LISTING};

/// What became of a message delivered by its correlation key.
#[derive(Clone, Debug, PartialEq)]
pub enum Delivered {
    /// A request waited for it and took it.
    To(Executed),
    /// No request of the agency waits for it now: it was kept (see the unmatched messages).
    Kept,
}

/// The correlation keys under which `state` waits for the message `name`.
pub fn awaited<'a>(state: &'a InstanceState, name: &str) -> Vec<&'a str> {
    state
        .tokens
        .values()
        .filter_map(|t| match &t.wait {
            Wait::Message {
                name: n,
                correlation,
            } if n == name => Some(correlation.as_str()),
            _ => None,
        })
        .collect()
}

impl Engine {
    /// The running request of `agency` that waits for the message `name` under `correlation`,
    /// or that took the message `message_id` already (a repeat then finds where it went).
    pub async fn awaiting(
        &self,
        agency: &str,
        name: &str,
        correlation: &str,
        message_id: &str,
    ) -> Result<Option<StreamId>, RuntimeError> {
        let waits = |s: &InstanceState| {
            s.messages.contains(message_id) || awaited(s, name).contains(&correlation)
        };
        let code = correlation.to_ascii_uppercase();
        if super::tracking::is_valid(&code)
            && let Some(stream) = self.store.find_tracking_code(&code).await?
            && stream.agency == agency
            && waits(&self.state(&stream).await?)
        {
            return Ok(Some(stream));
        }
        let mut offset = 0;
        loop {
            let query = InstanceQuery {
                state: Some("running".to_owned()),
                limit: MAX_LISTING,
                offset,
                ..InstanceQuery::default()
            };
            let rows = self.store.instances(agency, &query).await?;
            for (stream, _) in &rows {
                if waits(&self.state(stream).await?) {
                    return Ok(Some(stream.clone()));
                }
            }
            if (rows.len() as u32) < MAX_LISTING {
                return Ok(None);
            }
            offset += MAX_LISTING;
        }
    }

    /// Delivers the message `name` to the request of `agency` that waits for it under
    /// `correlation`, or keeps it when none does. The same `message_id` twice has one effect.
    pub async fn deliver_by_correlation(
        &self,
        agency: &str,
        name: &str,
        correlation: &str,
        message_id: &str,
        payload: Value,
        actor: Actor,
    ) -> Result<Delivered, RuntimeError> {
        let found = self.awaiting(agency, name, correlation, message_id).await?;
        let Some(stream) = found else {
            self.store
                .keep_unmatched_message(agency, name, correlation, message_id, &payload)
                .await?;
            return Ok(Delivered::Kept);
        };
        match self
            .deliver(&stream, name, correlation, message_id, payload, actor)
            .await
        {
            Ok(done) => Ok(Delivered::To(done)),
            // The wait ended between the lookup and the delivery: `deliver` kept it.
            Err(RuntimeError::Refused(crate::Error::NoReceiver { .. } | crate::Error::Ended)) => {
                Ok(Delivered::Kept)
            }
            Err(e) => Err(e),
        }
    }
}
