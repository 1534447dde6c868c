//! A probe-only node's delivery of signed observations to `[votes] authorities`: one sender
//! task per authority, each holding only the newest observation (votes are level-triggered:
//! an older one is worthless once a newer exists), retrying a failed delivery with bounded
//! exponential backoff and jitter. A slow or dead authority delays only its own sender: the
//! prober hands each observation over without waiting and the other authorities keep
//! receiving every heartbeat.
//!
//! ```text
//!   Prober ─mpsc─▶ dispatch (sign once) ─watch (newest only)─▶ sender per authority ─POST─▶ /v1/observations
//! ```
//!
//! Per authority: `switchback_push_*` counters and gauges in `/metrics`; a log line only when
//! its state changes (delivering → failing → delivering, or refused), never per failure.
//! The retry bounds ([`RETRY_MIN`], [`RETRY_MAX`]) and the request timeout are fixed.

use crate::metrics::{Exposition, esc, family};
use crate::model::Observation;
use crate::tally::Verifier;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The first retry after a failure waits about this long.
pub(crate) const RETRY_MIN: Duration = Duration::from_millis(100);
/// No retry waits longer: a recovered authority hears from the probe within this (plus one
/// request) — well inside the usual `stale_after`.
pub(crate) const RETRY_MAX: Duration = Duration::from_secs(5);
/// One delivery attempt (connect, send, answer) gives up after this.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// The wait before the next attempt after `failures` failures in a row (1 = the first):
/// doubling from [`RETRY_MIN`] up to [`RETRY_MAX`], then "equal jitter", a point in the upper
/// half chosen by `unit` in [0, 1), so probes do not retry one authority in step.
pub(crate) fn retry_delay(failures: u32, unit: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(31);
    let full = RETRY_MIN.saturating_mul(1u32 << doublings).min(RETRY_MAX);
    full.div_f64(2.0) + full.div_f64(2.0).mul_f64(unit.clamp(0.0, 1.0))
}

/// What one delivery attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The authority accepted it (2xx).
    Delivered,
    /// The authority answered and refused it (4xx: signature, voter, stale...): retrying the
    /// same observation cannot help; the next one is sent when it comes.
    Refused(String),
    /// No answer, a timeout, or a server error (5xx): retried with backoff.
    Failed(String),
}

/// A sender's standing towards its authority.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum LinkState {
    /// The last attempt was delivered (or none was made yet).
    #[default]
    Delivering,
    /// The last attempts failed; retrying with backoff.
    Failing,
    /// The last attempt was refused.
    Refused,
}

/// What the sender does after an attempt. Pure: the jitter is passed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Next {
    /// Retry (with the newest observation) after this wait; `None`: wait for a new one.
    pub(crate) retry_in: Option<Duration>,
    /// The state changed from this one (log it).
    pub(crate) changed_from: Option<LinkState>,
}

/// One authority's delivery state machine.
#[derive(Clone, Debug, Default)]
pub(crate) struct Link {
    pub(crate) state: LinkState,
    /// Failures in a row.
    pub(crate) failures: u32,
}

impl Link {
    /// Record an attempt's outcome; `unit` in [0, 1) is the jitter.
    pub(crate) fn after(&mut self, attempt: &Attempt, unit: f64) -> Next {
        let before = self.state;
        let retry_in = match attempt {
            Attempt::Delivered => {
                self.failures = 0;
                self.state = LinkState::Delivering;
                None
            }
            Attempt::Refused(_) => {
                self.failures = 0;
                self.state = LinkState::Refused;
                None
            }
            Attempt::Failed(_) => {
                self.failures = self.failures.saturating_add(1);
                self.state = LinkState::Failing;
                Some(retry_delay(self.failures, unit))
            }
        };
        Next {
            retry_in,
            changed_from: (before != self.state).then_some(before),
        }
    }
}

/// One authority's counters, shown in `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct AuthorityStats {
    /// The authority's base URL (the metric label).
    pub(crate) url: String,
    sent: AtomicU64,
    failed: AtomicU64,
    refused: AtomicU64,
    superseded: AtomicU64,
    consecutive_failures: AtomicU64,
    backoff_ms: AtomicU64,
}

/// Picks one counter out of an authority's.
type Counter = fn(&AuthorityStats) -> &AtomicU64;

/// Every authority's counters: an [`Exposition`] of the node's `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct PushStats {
    pub(crate) authorities: Vec<Arc<AuthorityStats>>,
}

impl PushStats {
    /// Counters for these authority URLs.
    pub(crate) fn new(urls: &[String]) -> Self {
        PushStats {
            authorities: urls
                .iter()
                .map(|u| {
                    Arc::new(AuthorityStats {
                        url: u.clone(),
                        ..AuthorityStats::default()
                    })
                })
                .collect(),
        }
    }
}

impl Exposition for PushStats {
    fn render(&self, out: &mut String) {
        let counters: [(&str, &str, Counter); 4] = [
            ("sent", "Observations an authority accepted.", |s| &s.sent),
            (
                "failed",
                "Delivery attempts that got no answer, timed out or a 5xx (retried with backoff).",
                |s| &s.failed,
            ),
            (
                "refused",
                "Observations an authority refused (4xx; not retried).",
                |s| &s.refused,
            ),
            (
                "superseded",
                "Observations replaced by a newer one before they were delivered.",
                |s| &s.superseded,
            ),
        ];
        for (name, help, get) in counters {
            let metric = format!("switchback_push_{name}_total");
            family(out, &metric, "counter", help);
            for a in &self.authorities {
                let n = get(a).load(Ordering::Relaxed);
                let _ = writeln!(out, "{metric}{{authority=\"{}\"}} {n}", esc(&a.url));
            }
        }
        family(
            out,
            "switchback_push_consecutive_failures",
            "gauge",
            "Failed delivery attempts in a row (0: delivering).",
        );
        for a in &self.authorities {
            let n = a.consecutive_failures.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "switchback_push_consecutive_failures{{authority=\"{}\"}} {n}",
                esc(&a.url)
            );
        }
        family(
            out,
            "switchback_push_backoff_seconds",
            "gauge",
            "The current wait before the next retry (0: delivering).",
        );
        for a in &self.authorities {
            let s = a.backoff_ms.load(Ordering::Relaxed) as f64 / 1000.0;
            let _ = writeln!(
                out,
                "switchback_push_backoff_seconds{{authority=\"{}\"}} {s}",
                esc(&a.url)
            );
        }
    }
}

/// A signed observation ready to send (shared by every sender).
#[derive(Debug)]
struct Outgoing {
    seq: u64,
    body: bytes::Bytes,
}

/// Signs each observation once and hands the newest to every authority's sender; never waits
/// on an authority.
pub(crate) async fn push(
    mut rx: mpsc::Receiver<Observation>,
    stats: Arc<PushStats>,
    key: Vec<u8>,
    shutdown: CancellationToken,
) {
    let client = match reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the HTTP client for pushing observations");
            return;
        }
    };
    // The senders stop with the node, or when the prober's channel closes.
    let stop = shutdown.child_token();
    let mut senders = JoinSet::new();
    let mut slots = Vec::new();
    for a in &stats.authorities {
        let (tx, rx) = watch::channel(None);
        slots.push(tx);
        senders.spawn(send_loop(client.clone(), Arc::clone(a), rx, stop.clone()));
    }
    loop {
        let obs = tokio::select! {
            () = shutdown.cancelled() => break,
            o = rx.recv() => match o { Some(o) => o, None => break },
        };
        let body = match serde_json::to_vec(&Verifier::sign_with_id(&key, 0, &obs)) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode an observation");
                continue;
            }
        };
        let out = Arc::new(Outgoing {
            seq: obs.seq,
            body: body.into(),
        });
        for tx in &slots {
            tx.send_replace(Some(Arc::clone(&out)));
        }
    }
    stop.cancel();
    while senders.join_next().await.is_some() {}
}

/// POST one observation; the outcome as the backoff sees it.
async fn post(client: &reqwest::Client, url: &str, body: bytes::Bytes) -> Attempt {
    let req = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    match req.send().await {
        Ok(r) if r.status().is_success() => Attempt::Delivered,
        Ok(r) if r.status().is_client_error() => {
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            Attempt::Refused(format!("{status}: {}", text.trim()))
        }
        Ok(r) => Attempt::Failed(format!("answered {}", r.status())),
        Err(e) => Attempt::Failed(error_chain(&e)),
    }
}

/// An error with its causes, once each (reqwest's own message omits the cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let _ = write!(text, ": {c}");
        cause = c.source();
    }
    text
}

/// One authority's sender: deliver the newest observation; after a failure retry (with the
/// newest one by then) under backoff; log only changes of state.
async fn send_loop(
    client: reqwest::Client,
    stats: Arc<AuthorityStats>,
    mut rx: watch::Receiver<Option<Arc<Outgoing>>>,
    shutdown: CancellationToken,
) {
    let url = format!("{}/v1/observations", stats.url.trim_end_matches('/'));
    let mut link = Link::default();
    let mut last_seq: Option<u64> = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            r = rx.changed() => if r.is_err() { return },
        }
        loop {
            let Some(out) = rx.borrow_and_update().clone() else {
                break;
            };
            // Sequence numbers grow by one per observation: the gap is what never went out.
            if let Some(last) = last_seq
                && out.seq > last + 1
            {
                stats
                    .superseded
                    .fetch_add(out.seq - last - 1, Ordering::Relaxed);
            }
            last_seq = Some(out.seq);
            let attempt = tokio::select! {
                () = shutdown.cancelled() => return,
                a = post(&client, &url, out.body.clone()) => a,
            };
            let next = link.after(&attempt, rand::random::<f64>());
            record(&stats, &link, &attempt, &next);
            let Some(wait) = next.retry_in else {
                break;
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// Count an attempt and log a change of state.
fn record(stats: &AuthorityStats, link: &Link, attempt: &Attempt, next: &Next) {
    let counter = match attempt {
        Attempt::Delivered => &stats.sent,
        Attempt::Refused(_) => &stats.refused,
        Attempt::Failed(_) => &stats.failed,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    stats
        .consecutive_failures
        .store(link.failures.into(), Ordering::Relaxed);
    let backoff_ms = next.retry_in.map_or(0, |d| d.as_millis());
    stats.backoff_ms.store(
        u64::try_from(backoff_ms).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    let Some(before) = next.changed_from else {
        return;
    };
    let authority = stats.url.as_str();
    match (attempt, before) {
        (Attempt::Failed(error), _) => tracing::warn!(
            authority,
            error = %error,
            retry_in = ?next.retry_in.unwrap_or_default(),
            "authority unreachable: observations retried with backoff (up to {RETRY_MAX:?})"
        ),
        (Attempt::Refused(why), _) => {
            tracing::warn!(authority, refused = %why, "authority refuses observations");
        }
        (Attempt::Delivered, LinkState::Failing) => {
            tracing::info!(
                authority,
                "authority reachable again: observations delivered"
            );
        }
        (Attempt::Delivered, _) => {
            tracing::info!(authority, "authority accepts observations again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_delay_doubles_from_100ms_to_its_5s_cap_with_jitter_in_the_upper_half() {
        assert_eq!(retry_delay(1, 1.0), Duration::from_millis(100));
        assert_eq!(retry_delay(1, 0.0), Duration::from_millis(50));
        assert_eq!(retry_delay(2, 1.0), Duration::from_millis(200));
        assert_eq!(retry_delay(6, 1.0), Duration::from_millis(3200));
        assert_eq!(retry_delay(7, 1.0), RETRY_MAX);
        assert_eq!(retry_delay(u32::MAX, 1.0), RETRY_MAX);
        assert_eq!(retry_delay(u32::MAX, 0.0), RETRY_MAX / 2);
        for f in 1..64 {
            let d = retry_delay(f, 0.37);
            assert!(d >= retry_delay(f, 0.0) && d <= retry_delay(f, 1.0));
            assert!(d <= RETRY_MAX);
        }
    }

    #[test]
    fn a_link_backs_off_while_failing_and_reports_only_changes_of_state() {
        let mut link = Link::default();
        let failed = Attempt::Failed("connection refused".into());
        let first = link.after(&failed, 1.0);
        assert_eq!(first.retry_in, Some(RETRY_MIN));
        assert_eq!(first.changed_from, Some(LinkState::Delivering));
        let mut waits = Vec::new();
        for _ in 0..20 {
            let n = link.after(&failed, 1.0);
            assert_eq!(n.changed_from, None, "no log line per failure");
            waits.push(n.retry_in.unwrap_or_default());
        }
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        assert_eq!(waits.last(), Some(&RETRY_MAX), "bounded");
        let back = link.after(&Attempt::Delivered, 0.5);
        assert_eq!(back.retry_in, None);
        assert_eq!(back.changed_from, Some(LinkState::Failing));
        assert_eq!(link.failures, 0);
        // The next failure starts from the bottom again.
        assert_eq!(link.after(&failed, 1.0).retry_in, Some(RETRY_MIN));
        // A refusal is not retried: the next observation goes out when it comes.
        let refused = link.after(&Attempt::Refused("401".into()), 0.5);
        assert_eq!(refused.retry_in, None);
        assert_eq!(refused.changed_from, Some(LinkState::Failing));
        assert_eq!(
            link.after(&Attempt::Refused("401".into()), 0.5)
                .changed_from,
            None
        );
    }

    /// On tokio's paused clock, a sender whose authority never answers backs off to the cap
    /// and no further: the total time over many failures is bounded by the schedule.
    #[tokio::test(start_paused = true)]
    async fn retries_follow_the_schedule_on_a_paused_clock() {
        let mut link = Link::default();
        let start = tokio::time::Instant::now();
        let mut at = Vec::new();
        for _ in 0..12 {
            let next = link.after(&Attempt::Failed("timeout".into()), 1.0);
            tokio::time::sleep(next.retry_in.unwrap_or_default()).await;
            at.push(start.elapsed());
        }
        // 0.1+0.2+0.4+0.8+1.6+3.2 s, then 5 s each.
        assert_eq!(at[5], Duration::from_millis(6300));
        assert_eq!(at[11], Duration::from_millis(6300 + 6 * 5000));
    }

    #[test]
    fn metrics_name_each_authority() {
        let stats = PushStats::new(&["http://a:1".into(), "http://b:2".into()]);
        let a = &stats.authorities[0];
        let link = Link {
            state: LinkState::Failing,
            failures: 3,
        };
        let next = Next {
            retry_in: Some(Duration::from_millis(400)),
            changed_from: None,
        };
        record(a, &link, &Attempt::Failed("x".into()), &next);
        let mut out = String::new();
        stats.render(&mut out);
        assert!(
            out.contains("switchback_push_failed_total{authority=\"http://a:1\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("switchback_push_sent_total{authority=\"http://b:2\"} 0\n"),
            "{out}"
        );
        assert!(
            out.contains("switchback_push_backoff_seconds{authority=\"http://a:1\"} 0.4\n"),
            "{out}"
        );
        assert!(
            out.contains("switchback_push_consecutive_failures{authority=\"http://a:1\"} 3\n"),
            "{out}"
        );
    }
}
