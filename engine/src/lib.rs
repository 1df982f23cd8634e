//! daftar's engine: each citizen request is an instance whose every state transition is an
//! event, and whose state is the fold of those events.
//!
//! The pure parts live in the `daftar-core` crate (`engine/core/`), which has no I/O, and are
//! re-exported here under their old names: [`events`], [`core`], [`definition`],
//! [`templates`] and [`error`]. This crate adds what touches the world:
//!
//! - [`store`]: the event store contract, and what a commit implies (jobs, timers, rows);
//! - [`runtime`]: the engine node: single writer with group commit, job workers, timers,
//!   scheduled starts, versions in force, tracking codes;
//! - [`connectors`]: the contracts of inquiries, SMS and payments;
//! - [`audit`]: verifying every hash chain of a store, in parallel;
//! - [`metrics`]: counters and histograms of requests, inquiries, jobs, incidents and SLAs;
//! - [`report`]: the service report: the share of requests decided with no person (Article 107).

pub mod audit;
pub mod connectors;
pub mod metrics;
pub mod privacy;
pub mod report;
pub mod runtime;
pub mod store;

pub use daftar_core::{Definition, Error, Result, Violation};
pub use daftar_core::{core, definition, document, error, events, templates};
