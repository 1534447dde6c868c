//! The node's clock: wall-clock [`Timestamp`]s derived from tokio's (pausable) [`Instant`].
//!
//! The pure cores take `now` as a [`Timestamp`]; timers run on tokio's clock. Anchoring one to
//! the other at start keeps them consistent, and lets tests drive both with a paused clock.

use crate::model::Timestamp;
use tokio::time::Instant;

/// Maps between tokio instants and wall-clock timestamps.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    base_ts: Timestamp,
    base: Instant,
}

impl Clock {
    /// Anchor `base_ts` (usually [`Timestamp::now`]) to tokio's current instant.
    pub fn new(base_ts: Timestamp) -> Self {
        Self {
            base_ts,
            base: Instant::now(),
        }
    }

    /// A clock anchored at the wall clock now.
    pub fn system() -> Self {
        Self::new(Timestamp::now())
    }

    /// The current time as a timestamp.
    pub fn now(&self) -> Timestamp {
        self.base_ts
            .add(Instant::now().saturating_duration_since(self.base))
    }

    /// The tokio instant at which `at` falls (now, if `at` is already past).
    pub fn instant_at(&self, at: Timestamp) -> Instant {
        let now = Instant::now();
        now + at.since(self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn follows_the_paused_clock() {
        let c = Clock::new(Timestamp(1_000));
        assert_eq!(c.now(), Timestamp(1_000));
        tokio::time::advance(Duration::from_millis(250)).await;
        assert_eq!(c.now(), Timestamp(1_250));
        assert_eq!(
            c.instant_at(Timestamp(1_500)),
            Instant::now() + Duration::from_millis(250)
        );
        assert_eq!(c.instant_at(Timestamp(10)), Instant::now());
    }
}
