//! One file per command: each checks that the command applies to the state it finds, and
//! emits what it causes through [`Run`](super::run::Run).

pub(crate) mod call;
pub(crate) mod cancel;
pub(crate) mod clock;
pub(crate) mod incident;
pub(crate) mod inquiry;
pub(crate) mod message;
pub(crate) mod notification;
pub(crate) mod payment;
pub(crate) mod revoke;
pub(crate) mod start;
pub(crate) mod task;
pub(crate) mod timer;
