//! daftar's engine: each citizen request an event stream.
//!
//! This crate will hold the events, the pure instance state machine (`decide` / `apply`), the
//! SQLite and PostgreSQL event stores, the runtime (commands, jobs, timers, outbox), the
//! connectors, projections, replay and audit. It is built by the engine issue on top of
//! `daftar-definitions`, whose [`CompiledDefinition`](daftar_definitions::CompiledDefinition)
//! is what every instance runs.
