//! daftar's engine: each citizen request is an instance whose every state transition is an
//! event, and whose state is the fold of those events.
//!
//! - [`events`]: the versioned event types and the stored envelope with its hash chain;
//! - [`core`]: the pure state machine, `decide` and `apply`;
//! - [`definition`]: a compiled definition prepared to run (CEL programs, validators,
//!   templates).
//!
//! Stores, the runtime (commands, jobs, timers, outbox) and the connectors build on these.

pub mod core;
pub mod definition;
pub mod error;
pub mod events;

pub use definition::Definition;
pub use error::{Error, Result};
