//! Background loops of a node: job workers, the timer loop and scheduled starts.
//!
//! Every loop turns what it finds into a command with a stable id (`job:<id>`,
//! `timer:<id>`, `schedule:<…>`), so that when two nodes, or one node before and after a
//! crash, act on the same job, timer or occurrence, the store keeps the first and the second
//! appends nothing.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::Engine;
pub use super::jobs::perform;
use super::jobs::perform_together;
use crate::core::Command;
use crate::events::Actor;
use crate::store::{Job, JobKind, JobLease};

/// How the loops pace themselves.
#[derive(Clone, Debug)]
pub struct Pace {
    /// How often to look for jobs and due timers when nothing wakes the loops.
    pub poll: Duration,
    /// How long a leased job is this node's before another may take it.
    pub lease: Duration,
    /// The most jobs leased at once, which is also the most in flight: each waits for its
    /// agency and then for a group commit, so this bounds jobs per second to about
    /// `batch / (agency time + commit time)` (docs/benchmarks.md). Each connector still has
    /// its own concurrency limit towards its agency.
    pub batch: u32,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            poll: Duration::from_millis(200),
            lease: Duration::from_secs(60),
            batch: 512,
        }
    }
}

/// The loops of a node; dropping it stops them.
#[derive(Debug)]
pub struct Background {
    handles: Vec<JoinHandle<()>>,
    engine: Arc<Engine>,
    handoff: u64,
}

impl Drop for Background {
    fn drop(&mut self) {
        // New jobs are no longer leased to this node's loop as they are created.
        self.engine.handoff().close(self.handoff);
        for h in &self.handles {
            h.abort();
        }
    }
}

/// Starts the job, timer and schedule loops of a node. From now on the jobs this node's
/// commits create are leased to it as they are created and performed at once; the job loop
/// leases the others (created while no loop ran, or by another node, or whose lease expired).
pub fn spawn(engine: Arc<Engine>, pace: Pace) -> Background {
    let slots = Arc::new(tokio::sync::Semaphore::new(pace.batch as usize));
    let (handoff, handed) = engine.handoff().open(pace.lease, pace.batch as usize);
    let own = tokio::spawn(own_jobs(engine.clone(), handed, slots.clone()));
    let jobs = tokio::spawn(job_loop(engine.clone(), pace.clone(), slots));
    let timers = tokio::spawn(timer_loop(engine.clone(), pace.clone()));
    let pushes = tokio::spawn(super::followup::deliver_loop(
        engine.clone(),
        pace.poll,
        pace.lease,
    ));
    let schedules = tokio::spawn(schedule_loop(engine.clone(), pace));
    Background {
        handles: vec![own, jobs, timers, schedules, pushes],
        engine,
        handoff,
    }
}

/// Performs the jobs leased to this node as its commits created them, each as soon as a
/// slot is free; a commit's several inquiries (a parallel step's branches) together.
async fn own_jobs(
    engine: Arc<Engine>,
    mut handed: tokio::sync::mpsc::UnboundedReceiver<Vec<Job>>,
    slots: Arc<tokio::sync::Semaphore>,
) {
    while let Some(jobs) = handed.recv().await {
        let (inquiries, others): (Vec<_>, Vec<_>) =
            jobs.into_iter().partition(|j| j.kind == JobKind::Inquiry);
        let alone = if inquiries.len() > 1 {
            let n = inquiries.len();
            if !together_in_slots(&engine, &slots, inquiries).await {
                return;
            }
            engine.handoff().taken(n);
            others
        } else {
            inquiries.into_iter().chain(others).collect()
        };
        for job in alone {
            if !in_a_slot(&engine, &slots, job).await {
                return;
            }
            engine.handoff().taken(1);
        }
    }
}

/// Performs jobs of one commit together, a slot each, once the slots are free; false once
/// the slots are closed. As for one job, leases that ran out meanwhile are left alone.
async fn together_in_slots(
    engine: &Arc<Engine>,
    slots: &Arc<tokio::sync::Semaphore>,
    jobs: Vec<Job>,
) -> bool {
    let Ok(permits) = slots.clone().acquire_many_owned(jobs.len() as u32).await else {
        return false;
    };
    let now = Utc::now();
    let (live, stale): (Vec<_>, Vec<_>) = jobs.into_iter().partition(|j| j.lease_until > now);
    for job in stale {
        tracing::warn!(job = %job.id, "a job's lease ran out before a worker was free");
    }
    let engine = engine.clone();
    tokio::spawn(async move {
        perform_together(engine, live).await;
        drop(permits);
    });
    true
}

/// Performs a job in its own task once a slot is free; false once the slots are closed. A job
/// whose lease ran out while it waited for a slot is left alone: it may be another node's by
/// now, and the lease query takes it again (counting the lease, so an SMS is looked up before
/// it is sent again), as it takes a dead node's jobs.
async fn in_a_slot(engine: &Arc<Engine>, slots: &Arc<tokio::sync::Semaphore>, job: Job) -> bool {
    let Ok(permit) = slots.clone().acquire_owned().await else {
        return false;
    };
    if job.lease_until <= Utc::now() {
        tracing::warn!(job = %job.id, "a job's lease ran out before a worker was free");
        return true;
    }
    let engine = engine.clone();
    tokio::spawn(async move {
        perform(&engine, job).await;
        drop(permit);
    });
    true
}

async fn idle(engine: &Engine, pace: &Pace) {
    let _ = tokio::time::timeout(pace.poll, engine.wake.notified()).await;
}

/// Leases jobs for the slots that are free and performs each as soon as it is leased: a slow
/// agency holds one slot, never the others. A job must finish well within its lease (the
/// lease should exceed the connectors' timeouts), or another node may take it over.
async fn job_loop(engine: Arc<Engine>, pace: Pace, slots: Arc<tokio::sync::Semaphore>) {
    loop {
        let free = slots.available_permits() as u32;
        if free == 0 {
            // Every slot is busy: wait for one to free up.
            let _ = slots.clone().acquire_owned().await;
            continue;
        }
        match engine
            .store()
            .lease_jobs(engine.node(), free, pace.lease)
            .await
        {
            Ok(jobs) if !jobs.is_empty() => {
                // Until when each lease holds as this node's clock tells it (the database's
                // clock may be set apart from it).
                let until = JobLease {
                    owner: engine.node().to_owned(),
                    duration: pace.lease,
                }
                .until(Utc::now());
                for mut job in jobs {
                    job.lease_until = until;
                    if !in_a_slot(&engine, &slots, job).await {
                        return;
                    }
                }
            }
            Ok(_) => idle(&engine, &pace).await,
            Err(e) => {
                tracing::warn!(error = %e, "leasing jobs failed");
                idle(&engine, &pace).await;
            }
        }
    }
}

async fn timer_loop(engine: Arc<Engine>, pace: Pace) {
    loop {
        match engine.store().due_timers(engine.now(), 256).await {
            Ok(timers) if !timers.is_empty() => {
                for t in timers {
                    let command = Command::FireTimer {
                        timer: t.id.clone(),
                    };
                    let id = format!("timer:{}", t.id);
                    if let Err(e) = engine
                        .execute(&t.stream, &command, &id, Actor::System, None)
                        .await
                    {
                        tracing::debug!(timer = %t.id, stream = %t.stream, error = %e, "a timer changed nothing");
                    }
                }
            }
            Ok(_) => tokio::time::sleep(pace.poll).await,
            Err(e) => {
                tracing::warn!(error = %e, "reading due timers failed");
                tokio::time::sleep(pace.poll).await;
            }
        }
    }
}

/// How far back a node looks for scheduled occurrences it missed (while it was down).
const CATCH_UP: chrono::Duration = chrono::Duration::hours(1);

async fn schedule_loop(engine: Arc<Engine>, pace: Pace) {
    loop {
        if let Err(e) = start_scheduled(&engine).await {
            tracing::warn!(error = %e, "scheduled starts failed");
        }
        tokio::time::sleep(pace.poll.max(Duration::from_secs(1))).await;
    }
}

/// Starts one instance per occurrence of every schedule of every workflow in force, for the
/// occurrences of the last hour that no node has claimed yet.
pub async fn start_scheduled(engine: &Engine) -> Result<usize, super::RuntimeError> {
    let now = engine.now();
    let mut started = 0;
    for (agency, workflow) in engine.registry().workflows() {
        let Some(def) = engine.registry().in_force(&agency, &workflow, now) else {
            continue;
        };
        let wf = def.compiled().workflow();
        for schedule in &wf.triggers.schedules {
            let Ok(cron) = daftar_definitions::parse_cron(&schedule.cron) else {
                continue;
            };
            let tz: chrono_tz::Tz = schedule
                .timezone
                .as_deref()
                .unwrap_or(&wf.timezone)
                .parse()
                .unwrap_or(chrono_tz::Asia::Tehran);
            let from = (now - CATCH_UP).with_timezone(&tz);
            for occurrence in cron
                .after(&from)
                .take_while(|t| t.with_timezone(&Utc) <= now)
            {
                let occurrence = occurrence.with_timezone(&Utc);
                if !engine
                    .store()
                    .claim_occurrence(&agency, &workflow, &schedule.id, occurrence)
                    .await?
                {
                    continue;
                }
                let key = format!("schedule:{}:{}", schedule.id, occurrence.to_rfc3339());
                let input = schedule
                    .input
                    .clone()
                    .unwrap_or_else(|| Value::Object(Default::default()));
                engine
                    .start(&agency, &workflow, input, Some(&key), Actor::System)
                    .await?;
                started += 1;
            }
        }
    }
    Ok(started)
}
