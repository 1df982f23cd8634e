//! daftar's core: what a citizen request is, with no I/O. This crate depends on no database,
//! HTTP client or async runtime, so the compiler, not a convention, keeps the decider pure.
//!
//! - [`events`]: the versioned event types and the stored envelope with its hash chain;
//! - [`core`]: the pure state machine, `decide` and `apply`;
//! - [`document`]: national document IDs (Shams), their layout and check character;
//! - [`definition`]: a compiled definition prepared to run (CEL programs, validators,
//!   templates);
//! - [`templates`]: the filters SMS templates can use (Persian digits, Jalali dates);
//! - [`error`]: why a command was refused.

pub mod core;
pub mod definition;
pub mod document;
pub mod error;
pub mod events;
pub mod templates;
pub mod violations;

pub use definition::Definition;
pub use error::{Error, Result, Violation};
