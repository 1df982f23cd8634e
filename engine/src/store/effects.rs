//! What a commit's events imply: jobs, timers and read-model rows. Pure, so that the same
//! events always write the same rows, whichever node commits them.

use crate::core::{Ending, InstanceState};
use crate::events::{Event, StreamId};

use super::{InstanceRow, JobKind, NewJob, NewTimer, TaskRow};

/// The jobs, timers and rows implied by `events`, appended to a stream that was at version
/// `from_version`, leaving the instance in `state`.
#[derive(Debug)]
pub struct Effects {
    /// Jobs to create.
    pub jobs: Vec<NewJob>,
    /// Timers to create.
    pub timers: Vec<NewTimer>,
    /// Timers to delete.
    pub dropped_timers: Vec<String>,
    /// The instance row.
    pub instance: InstanceRow,
    /// The instance's task rows.
    pub tasks: Vec<TaskRow>,
}

/// Derives the effects of a commit.
pub fn effects(
    stream: &StreamId,
    from_version: u64,
    events: &[Event],
    state: &InstanceState,
) -> Effects {
    let mut jobs = Vec::new();
    let mut timers = Vec::new();
    let mut dropped_timers = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let version = from_version + i as u64 + 1;
        let kind = match event {
            Event::InquiryRequested { .. } => Some(JobKind::Inquiry),
            Event::PaymentRequested { .. } => Some(JobKind::Payment),
            Event::NotificationRequested { .. } => Some(JobKind::Notification),
            Event::CallRequested { .. } => Some(JobKind::Call),
            Event::TimerScheduled { timer, due_at, .. } => {
                timers.push(NewTimer {
                    id: timer.clone(),
                    due_at: *due_at,
                });
                None
            }
            Event::TimerFired { timer } | Event::TimerCancelled { timer } => {
                // A timer set and dropped within one commit is never written.
                if let Some(pos) = timers.iter().position(|t| &t.id == timer) {
                    timers.remove(pos);
                } else {
                    dropped_timers.push(timer.clone());
                }
                None
            }
            _ => None,
        };
        if let Some(kind) = kind {
            jobs.push(NewJob {
                id: format!("{stream}/{version}"),
                kind,
                payload: event.to_stored(),
            });
        }
    }
    Effects {
        jobs,
        timers,
        dropped_timers,
        instance: instance_row(state),
        tasks: task_rows(state),
    }
}

/// The tasks of a state, as the worklist keeps them.
pub fn task_rows(state: &InstanceState) -> Vec<TaskRow> {
    state
        .tasks
        .iter()
        .map(|(id, t)| TaskRow {
            id: id.clone(),
            step: t.step.clone(),
            role: t.role.clone(),
            officer: t.officer.clone(),
            due_at: t.due_at,
            open: t.open,
        })
        .collect()
}

/// The read-model row of a state.
pub fn instance_row(state: &InstanceState) -> InstanceRow {
    InstanceRow {
        workflow: state.workflow.clone(),
        workflow_version: state.workflow_version,
        tracking_code: state.tracking_code.clone(),
        status: state.status.clone(),
        state: match &state.ending {
            None => super::RUNNING.to_owned(),
            Some(Ending::Completed { outcome, .. }) => serde_json::to_value(outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "completed".to_owned()),
            Some(Ending::Cancelled { .. }) => "cancelled".to_owned(),
        },
        incidents: state.incidents.len() as u32,
        sla_breached: state.sla_breached,
        started_at: state.filed_at.unwrap_or_default(),
        // The token's subject names the applicant: gone with their erasure.
        filed_by: match state.erased {
            Some(_) => None,
            None => state.filed_by.clone(),
        },
        document_id: match &state.ending {
            Some(Ending::Completed { document_id, .. }) => document_id.clone(),
            _ => None,
        },
    }
}
