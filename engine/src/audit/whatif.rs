//! What-if over a store: the newest recorded requests of a service run through a new
//! definition of it by the core's pure replay ([`crate::core::whatif`]), before that
//! definition is deployed. Nothing is written and no agency is called: the answers, decisions
//! and messages are the recorded ones. Behind `daftar what-if` and
//! `POST /api/v1/definitions/{id}/what-if`.

use std::sync::Arc;

use daftar_definitions::calendar::Calendar;
use serde::{Deserialize, Serialize};

use crate::Definition;
use crate::core::whatif::{Finding, Verdict, replay};
use crate::store::{InstanceQuery, MAX_LISTING, Store, StoreError};

/// What the replay of a service's recorded requests found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
// `Report` is the service report's name in the API document.
#[cfg_attr(feature = "openapi", schema(as = WhatIfReport))]
pub struct Report {
    /// The service (workflow) id whose recorded requests were run.
    pub service: String,
    /// The version of the new definition.
    pub version: u32,
    /// How many recorded requests were run through it (the newest first).
    pub examined: usize,
    /// How many would take the same path to the same outcome.
    pub same: usize,
    /// How many would take another path or end otherwise.
    pub differs: usize,
    /// How many need something the history does not hold.
    pub cannot_tell: usize,
    /// The requests that differ or cannot be told, newest first; those that are the same are
    /// only counted. Each: `instance`, `tracking_code`, `recorded_version`, `verdict`
    /// (`differs` or `cannot_tell`), `old_outcome`, `new_outcome` (null when it cannot be
    /// told), `parted` (`after`, `old_next`, `new_next`, and `decision` with the `old` and
    /// `new` evidence: the conditions tried, the values they read, the step chosen), `needs`
    /// and `why` (each `{fa, en}`).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub findings: Vec<Finding>,
}

/// Runs the newest `limit` recorded requests of `agency`'s service `service` (any version;
/// usually the one `def` defines) through `def`, with `calendar` for the due times it
/// computes. `limit` is capped at [`MAX_LISTING`].
pub async fn what_if(
    store: &Arc<dyn Store>,
    agency: &str,
    service: &str,
    def: Arc<Definition>,
    limit: u32,
    calendar: Arc<Calendar>,
) -> Result<Report, StoreError> {
    let wf = def.compiled().workflow();
    let query = InstanceQuery {
        workflow: Some(service.to_owned()),
        limit: limit.min(MAX_LISTING),
        ..InstanceQuery::default()
    };
    let mut report = Report {
        service: service.to_owned(),
        version: wf.version,
        examined: 0,
        same: 0,
        differs: 0,
        cannot_tell: 0,
        findings: Vec::new(),
    };
    let mut histories = Vec::new();
    for (stream, _) in store.instances(agency, &query).await? {
        let history = store.load(&stream).await?;
        if !history.is_empty() {
            histories.push(history);
        }
    }
    // Replaying is CPU work (a thousand requests take a while): off the async threads.
    let findings = tokio::task::spawn_blocking(move || {
        histories
            .iter()
            .map(|h| replay(h, &def, calendar.clone()))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| StoreError::Database(format!("the replay did not finish: {e}")))?;
    for finding in findings {
        report.examined += 1;
        match finding.verdict {
            Verdict::Same => {
                report.same += 1;
                continue;
            }
            Verdict::Differs => report.differs += 1,
            Verdict::CannotTell => report.cannot_tell += 1,
        }
        report.findings.push(finding);
    }
    Ok(report)
}
