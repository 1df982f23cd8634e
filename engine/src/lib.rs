//! daftar's engine: each citizen request is an instance whose every state transition is an
//! event, and whose state is the fold of those events.
//!
//! - [`events`]: the versioned event types and the stored envelope with its hash chain;
//! - [`core`]: the pure state machine, `decide` and `apply`;
//! - [`definition`]: a compiled definition prepared to run (CEL programs, validators,
//!   templates);
//! - [`templates`]: the filters SMS templates can use (Persian digits, Jalali dates).
//!
//! - [`store`]: the event store contract, and what a commit implies (jobs, timers, rows);
//! - [`runtime`]: the engine node: single writer with group commit, job workers, timers,
//!   scheduled starts, versions in force, tracking codes;
//! - [`connectors`]: the contracts of inquiries, SMS and payments;
//! - [`audit`]: verifying every hash chain of a store, in parallel;
//! - [`metrics`]: counters and histograms of requests, inquiries, jobs, incidents and SLAs.

pub mod audit;
pub mod connectors;
pub mod core;
pub mod definition;
pub mod error;
pub mod events;
pub mod metrics;
pub mod runtime;
pub mod store;
pub mod templates;

pub use definition::Definition;
pub use error::{Error, Result, Violation};
