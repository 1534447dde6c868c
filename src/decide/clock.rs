//! The node's clock: wall-clock [`Timestamp`]s for the pure cores, tokio [`Instant`]s for
//! timers.
//!
//! In production ([`Clock::system`]) `now` is the system's wall clock, because probes stamp
//! observations with theirs and staleness compares the two; an anchor taken at start would
//! drift from it over weeks or jump after a VM resume. Tests use [`Clock::new`], anchored to
//! tokio's clock so that a paused clock drives both timers and `now`.

use crate::model::Timestamp;
use tokio::time::Instant;

/// Maps between tokio instants and wall-clock timestamps.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    /// The system wall clock.
    System,
    /// `base_ts` at tokio instant `base`, advancing with tokio's (pausable) clock.
    Anchored {
        /// Timestamp at the anchor.
        base_ts: Timestamp,
        /// Tokio instant at the anchor.
        base: Instant,
    },
}

impl Clock {
    /// A clock that reads `base_ts` now and follows tokio's clock from here (tests).
    pub fn new(base_ts: Timestamp) -> Self {
        Clock::Anchored {
            base_ts,
            base: Instant::now(),
        }
    }

    /// The system wall clock (production).
    pub fn system() -> Self {
        Clock::System
    }

    /// The current time as a timestamp.
    pub fn now(&self) -> Timestamp {
        match self {
            Clock::System => Timestamp::now(),
            Clock::Anchored { base_ts, base } => {
                base_ts.add(Instant::now().saturating_duration_since(*base))
            }
        }
    }

    /// The tokio instant at which `at` falls (now, if `at` is already past).
    pub fn instant_at(&self, at: Timestamp) -> Instant {
        Instant::now() + at.since(self.now())
    }
}

/// Resolves at `at`, or never without one (an optional timer in a `select!`).
pub(crate) async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn anchored_follows_the_paused_clock() {
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

    #[test]
    fn system_reads_the_wall_clock() {
        let before = Timestamp::now();
        let now = Clock::system().now();
        assert!(now >= before && now.since(before) < Duration::from_secs(60));
    }
}
