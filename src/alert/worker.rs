//! One [`Worker`] per sink: delivers its spooled events in order, retrying each with
//! exponential backoff and jitter until the sink acknowledges it or it is older than the
//! sink's `max_age` (then dead-lettered, with an error line). It runs beside the decision
//! loop and the enactors, never in their way: a sink that hangs delays only its own queue.

use super::event::AlertEvent;
use super::sink::Sink;
use super::spool::{Entry, Spool};
use crate::model::Timestamp;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The first retry waits about this long.
pub const BACKOFF_MIN: Duration = Duration::from_millis(500);
/// Retries never wait longer than this.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// The wait before retry number `attempt` (0 = first retry): doubling from [`BACKOFF_MIN`]
/// up to [`BACKOFF_MAX`], then "equal jitter": a random point in its upper half (`unit` in
/// [0, 1)), so nodes retrying one receiver do not retry in step.
pub fn backoff(attempt: u32, unit: f64) -> Duration {
    let full = BACKOFF_MIN
        .saturating_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX))
        .min(BACKOFF_MAX);
    full.div_f64(2.0) + full.div_f64(2.0).mul_f64(unit.clamp(0.0, 1.0))
}

/// What a worker does with the wall clock; tests pass a fixed one.
pub type WallClock = fn() -> Timestamp;

/// Delivers one sink's spool.
pub struct Worker {
    /// The sink.
    pub sink: Arc<Sink>,
    /// Its spool, shared with the feed that appends to it (`None`: the spool could not be
    /// opened; events are kept in memory only).
    pub spool: Option<Arc<Mutex<Spool>>>,
    /// Entries waiting, oldest first.
    pub queue: VecDeque<Entry>,
    /// New entries from the feed.
    pub incoming: mpsc::UnboundedReceiver<Entry>,
    /// The wall clock (ages for dead-lettering).
    pub now: WallClock,
}

/// What happened to one delivered or abandoned event (for logs and tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The sink acknowledged it after this many failed attempts.
    Delivered(u32),
    /// Given up after `max_age`.
    Dead(String),
}

impl Worker {
    fn with_spool(&self, f: impl FnOnce(&mut Spool) -> Result<(), super::spool::SpoolError>) {
        if let Some(s) = &self.spool {
            let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = f(&mut s) {
                tracing::error!(sink = %self.sink.cfg.name, error = %e,
                    "alert spool write failed; delivery goes on from memory");
            }
        }
    }

    /// Deliver until `shutdown`; what is left stays in the spool for the next start.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let name = self.sink.cfg.name.clone();
        loop {
            while let Ok(e) = self.incoming.try_recv() {
                self.queue.push_back(e);
            }
            let Some(head) = self.queue.front().cloned() else {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    e = self.incoming.recv() => match e {
                        Some(e) => self.queue.push_back(e),
                        None => return,
                    },
                }
                continue;
            };
            let Some(outcome) = self.one(&head, &shutdown).await else {
                return;
            };
            self.queue.pop_front();
            let e = &head.event;
            match outcome {
                Outcome::Delivered(failures) => tracing::info!(sink = %name, key = %e.key,
                    action = e.action.as_str(), failures, "alert delivered"),
                Outcome::Dead(why) => tracing::error!(sink = %name, key = %e.key,
                    action = e.action.as_str(), error = %why,
                    "alert undeliverable for longer than max_age; moved to dead.jsonl"),
            }
        }
    }

    /// Deliver `entry`, retrying; `None` when shut down first.
    async fn one(&mut self, entry: &Entry, shutdown: &CancellationToken) -> Option<Outcome> {
        let mut failures = 0u32;
        loop {
            let attempt = self.sink.deliver(&entry.event);
            let result = tokio::select! {
                () = shutdown.cancelled() => return None,
                r = attempt => r,
            };
            match result {
                Ok(()) => {
                    let seq = entry.seq;
                    self.with_spool(|s| s.ack(seq));
                    return Some(Outcome::Delivered(failures));
                }
                Err(err) => {
                    let age = (self.now)().since(entry.spooled_at);
                    if age >= self.sink.cfg.max_age {
                        let why = err.to_string();
                        let now = (self.now)();
                        self.with_spool(|s| s.dead_letter(entry, &why, now));
                        return Some(Outcome::Dead(why));
                    }
                    let wait = backoff(failures, rand::random::<f64>());
                    failures += 1;
                    // The first failure and then every tenth are logged: a sink that is down
                    // for hours must not flood the log.
                    if failures == 1 || failures.is_multiple_of(10) {
                        tracing::warn!(sink = %self.sink.cfg.name, key = %entry.event.key,
                            failures, retry_in_ms = wait.as_millis() as u64, error = %err,
                            "alert delivery failed; retrying");
                    }
                    tokio::select! {
                        () = shutdown.cancelled() => return None,
                        () = tokio::time::sleep(wait) => {}
                    }
                    while let Ok(e) = self.incoming.try_recv() {
                        self.queue.push_back(e);
                    }
                }
            }
        }
    }
}

/// A test event for `alert test`: a notice (or its resolve) through every sink.
pub fn test_event(
    sink: &str,
    node: &crate::model::NodeId,
    at: Timestamp,
    resolve: bool,
) -> AlertEvent {
    use super::event::Action;
    AlertEvent::new(
        "test",
        "test",
        if resolve {
            Action::Resolve
        } else {
            Action::Trigger
        },
        format!("test/{sink}"),
        crate::config::Severity::Critical,
        format!("switchback alert test from {node} through sink {sink}"),
        node.clone(),
        at,
    )
    .reason("an operator ran `switchback alert test` to prove the pager wiring")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::sink::Scripted;
    use crate::config::{AlertFilter, AlertSink, SinkKind};

    fn sink(max_age: Duration, script: &Scripted) -> Arc<Sink> {
        let cfg = AlertSink {
            name: "s".into(),
            kind: SinkKind::Exec {
                command: vec!["unused".into()],
            },
            filter: AlertFilter::default(),
            timeout: Duration::from_secs(1),
            max_age,
        };
        Arc::new(Sink::scripted(cfg, script.clone()))
    }

    fn entry(seq: u64, key: &str) -> Entry {
        Entry {
            seq,
            spooled_at: Timestamp(0),
            event: test_event(key, &"n1".into(), Timestamp(0), false),
        }
    }

    // The paused clock's wall-clock stand-in: ms since the test started.
    fn paused_now() -> Timestamp {
        thread_local!(static START: tokio::time::Instant = tokio::time::Instant::now());
        START.with(|s| Timestamp(s.elapsed().as_millis() as u64))
    }

    #[tokio::test(start_paused = true)]
    async fn retries_back_off_exponentially_and_keep_order() {
        let script = Scripted::default();
        script
            .answers
            .lock()
            .expect("lock")
            .extend([false, false, false, true]);
        let (tx, incoming) = mpsc::unbounded_channel();
        let w = Worker {
            sink: sink(Duration::from_secs(3600), &script),
            spool: None,
            queue: VecDeque::from([entry(0, "a"), entry(0, "b")]),
            incoming,
            now: paused_now,
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(w.run(shutdown.clone()));
        // Let it work through its script; the paused clock jumps over the backoff sleeps.
        while script.asked.lock().expect("lock").len() < 5 {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        shutdown.cancel();
        task.await.expect("worker");
        drop(tx);
        let asked = script.asked.lock().expect("lock").clone();
        let keys: Vec<&str> = asked.iter().map(|(_, k)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["test/a", "test/a", "test/a", "test/a", "test/b"],
            "in order"
        );
        let gaps: Vec<Duration> = asked.windows(2).map(|w| w[1].0 - w[0].0).collect();
        for (i, gap) in gaps.iter().take(3).enumerate() {
            let lo = backoff(i as u32, 0.0);
            let hi = backoff(i as u32, 1.0) + Duration::from_millis(20);
            assert!(
                *gap >= lo && *gap <= hi,
                "retry {i}: {gap:?} not in [{lo:?}, {hi:?}]"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_event_older_than_max_age_is_dead_lettered_and_the_queue_moves_on() {
        let script = Scripted::default();
        script
            .answers
            .lock()
            .expect("lock")
            .extend(std::iter::repeat_n(false, 100));
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut spool, _) = Spool::open(dir.path()).expect("spool");
        let entries = spool
            .append(vec![entry(0, "x").event], Timestamp(0))
            .expect("append");
        let (_tx, incoming) = mpsc::unbounded_channel();
        let w = Worker {
            sink: sink(Duration::from_secs(10), &script),
            spool: Some(Arc::new(Mutex::new(spool))),
            queue: VecDeque::from(entries),
            incoming,
            now: paused_now,
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(w.run(shutdown.clone()));
        let dead = dir.path().join("dead.jsonl");
        while !dead.exists() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        shutdown.cancel();
        task.await.expect("worker");
        let attempts = script.asked.lock().expect("lock").len();
        // 0.25-0.5 s, then doubling: about 6 attempts fit in 10 s.
        assert!((4..=9).contains(&attempts), "{attempts} attempts");
        let (_, pending) = Spool::open(dir.path()).expect("reopen");
        assert!(pending.is_empty(), "dead-lettered events leave the queue");
    }

    #[test]
    fn backoff_doubles_to_its_cap_with_jitter_in_the_upper_half() {
        assert_eq!(backoff(0, 0.0), Duration::from_millis(250));
        assert_eq!(backoff(0, 1.0), Duration::from_millis(500));
        assert_eq!(backoff(3, 1.0), Duration::from_secs(4));
        assert_eq!(backoff(20, 1.0), BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX, 0.0), BACKOFF_MAX / 2);
        for a in 0..40 {
            let b = backoff(a, 0.5);
            assert!(b >= backoff(a, 0.0) && b <= backoff(a, 1.0));
        }
    }
}
