//! Erasing an applicant: the `ApplicantErased` event in each of their requests, then their key
//! (see [`crate::privacy`]).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Engine, RuntimeError};
use crate::core::Command;
use crate::events::{Actor, StreamId};
use crate::store::{InstanceQuery, MAX_LISTING, StoreError};

/// What an erasure did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Erased {
    /// The applicant's requests in the agency, each now with `ApplicantErased` in its history.
    pub requests: Vec<String>,
    /// When the key was erased.
    pub erased_at: DateTime<Utc>,
    /// Whether this call erased it (false: it had been erased before).
    pub now: bool,
}

/// Why an erasure was refused.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// The node keeps no keyring: nothing was sealed, so nothing can be erased by a key.
    #[error("this node keeps no keyring (serve --keyring): personal data is not sealed")]
    NoKeyring,
    /// One of the applicant's requests is still running.
    #[error("request {0} of the same applicant is still running: erase once it has ended")]
    Running(String),
    /// An SMS to the applicant still awaits the gateway's answer (its text is still needed).
    #[error(
        "an SMS to the applicant of request {0} is still being sent: erase once the gateway has answered"
    )]
    SmsPending(String),
    /// An authority is required.
    #[error("an erasure names its legal authority")]
    NoAuthority,
    /// The engine failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

impl Engine {
    /// Erases the personal data of the applicant of `stream` under `authority`: every request
    /// of theirs in the agency (all must have ended) records `ApplicantErased`, then their key
    /// is erased, so that each of those requests' sealed events reads as `Erased` from then
    /// on. Asked again, it completes what a crash left undone and changes nothing else.
    pub async fn erase(
        &self,
        stream: &StreamId,
        authority: &str,
        by: &str,
    ) -> Result<Erased, EraseError> {
        let keyring = self.keyring().cloned().ok_or(EraseError::NoKeyring)?;
        if authority.trim().is_empty() {
            return Err(EraseError::NoAuthority);
        }
        let state = self.state(stream).await?;
        if state.erased.is_some() && !state.started_readably() {
            // Erased before, key and all: what it did then is in the history.
            return Ok(Erased {
                requests: vec![stream.instance.clone()],
                erased_at: self.erased_at(stream).await?,
                now: false,
            });
        }
        let applicant = crate::privacy::applicant(stream, state.filed_by.as_deref());
        let mut streams = vec![stream.clone()];
        if let Some(subject) = &state.filed_by {
            let query = InstanceQuery {
                filed_by: Some(subject.clone()),
                limit: MAX_LISTING,
                ..InstanceQuery::default()
            };
            for (other, _) in self
                .store()
                .instances(&stream.agency, &query)
                .await
                .map_err(RuntimeError::from)?
            {
                if other != *stream {
                    streams.push(other);
                }
            }
        }
        // All or none: a running request refuses the whole erasure before anything is written.
        for s in &streams {
            let state = self.state(s).await?;
            if !state.ended() {
                return Err(EraseError::Running(s.instance.clone()));
            }
            if state
                .notifications
                .values()
                .any(|d| matches!(d, crate::core::Delivery::Pending))
            {
                return Err(EraseError::SmsPending(s.instance.clone()));
            }
        }
        let command = Command::Erase {
            authority: authority.to_owned(),
            by: by.to_owned(),
        };
        for s in &streams {
            let id = format!("erase:{}", s.instance);
            self.execute(s, &command, &id, Actor::Operator(by.to_owned()), None)
                .await?;
        }
        let erasure = keyring
            .erase(&stream.agency, &applicant, authority, by)
            .await
            .map_err(|e| RuntimeError::from(StoreError::Database(e.to_string())))?;
        // Cached states hold what was just erased.
        for s in &streams {
            self.cache.forget(s);
        }
        // `None`: the applicant had nothing sealed (no personal event was ever written).
        let now = erasure.is_none_or(|e| e.now);
        let erased_at = self.erased_at(stream).await?;
        Ok(Erased {
            requests: streams.into_iter().map(|s| s.instance).collect(),
            erased_at,
            now,
        })
    }

    /// When the history of `stream` recorded its erasure.
    async fn erased_at(&self, stream: &StreamId) -> Result<DateTime<Utc>, RuntimeError> {
        let history = self.store().load(stream).await?;
        Ok(history
            .iter()
            .rev()
            .find(|e| matches!(e.event, crate::events::Event::ApplicantErased { .. }))
            .map_or_else(|| self.now(), |e| e.recorded_at))
    }
}
