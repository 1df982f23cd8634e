//! The engine's clock: the business time commands are decided at, timers fall due by,
//! scheduled starts occur at and versions come into force at.
//!
//! Production runs on [`SystemClock`]. Tests run on a [`TestClock`] and move it forward, so a
//! timer of five days fires through the same timer loop, with the same command id, as it would
//! after five real days. Job leases and connector timeouts are machine time (how long a worker
//! may hold a job, how long an agency may take to answer) and keep the machine's clock.

use std::fmt::Debug;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// Where the engine reads the time.
pub trait Clock: Debug + Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The machine's clock moved forward by however far a test has moved it: time still passes
/// (retry backoffs and timeouts run as they would), and a wait of five days is over as soon as
/// the test says so.
#[derive(Debug, Default)]
pub struct TestClock {
    ahead: Mutex<chrono::Duration>,
}

impl TestClock {
    /// A clock that reads the machine's time until it is moved.
    pub fn new() -> Self {
        TestClock::default()
    }

    /// Moves the clock forward by `by` (a negative duration is refused: time does not go back).
    pub fn advance(&self, by: chrono::Duration) {
        assert!(by >= chrono::Duration::zero(), "a clock does not go back");
        *self.ahead.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }

    /// Moves the clock forward to `t`, if `t` is later than now.
    pub fn advance_to(&self, t: DateTime<Utc>) {
        let mut ahead = self.ahead.lock().unwrap_or_else(|e| e.into_inner());
        let now = Utc::now() + *ahead;
        if t > now {
            *ahead += t - now;
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.ahead.lock().unwrap_or_else(|e| e.into_inner())
    }
}
