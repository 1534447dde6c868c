//! Counters exposed at `GET /metrics` in the Prometheus text format (hand-rolled: a few
//! counters do not warrant a metrics stack).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The node's counters; shared by the API and the decision task.
#[derive(Debug, Default)]
pub struct Metrics {
    observations_accepted: AtomicU64,
    observations_dropped: Mutex<BTreeMap<String, u64>>,
    decisions: Mutex<BTreeMap<String, u64>>,
    commands: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// The DNS authority's counters, once the node has started it.
    dns: std::sync::OnceLock<crate::dns::DnsHandle>,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
    *m.entry(key).or_default() += 1;
}

fn snapshot<K: Ord + Clone>(map: &Mutex<BTreeMap<K, u64>>) -> BTreeMap<K, u64> {
    map.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Escape a label value per the text exposition format.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// An observation passed verification.
    pub fn observation_accepted(&self) {
        self.observations_accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// An observation was dropped, for `reason` (bad_signature, unknown_voter, replay, stale, ...).
    pub fn observation_dropped(&self, reason: &str) {
        bump(&self.observations_dropped, reason.to_owned());
    }

    /// A decision was committed for `service`.
    pub fn decision_committed(&self, service: &str) {
        bump(&self.decisions, service.to_owned());
    }

    /// An operator command ran; `ok` says whether it was accepted.
    pub fn command(&self, command: &str, ok: bool) {
        bump(
            &self.commands,
            (command.to_owned(), if ok { "ok" } else { "error" }),
        );
    }

    /// Include the DNS authority's counters in the exposition from now on.
    pub fn attach_dns(&self, dns: crate::dns::DnsHandle) {
        let _ = self.dns.set(dns);
    }

    /// Dropped observations for one reason (for tests and the dashboard).
    pub fn dropped(&self, reason: &str) -> u64 {
        snapshot(&self.observations_dropped)
            .get(reason)
            .copied()
            .unwrap_or(0)
    }

    /// The Prometheus text exposition.
    pub fn render(&self, ready: bool) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP switchback_ready Whether the node has loaded its state."
        );
        let _ = writeln!(out, "# TYPE switchback_ready gauge");
        let _ = writeln!(out, "switchback_ready {}", u8::from(ready));
        let _ = writeln!(
            out,
            "# HELP switchback_observations_accepted_total Verified observations."
        );
        let _ = writeln!(out, "# TYPE switchback_observations_accepted_total counter");
        let _ = writeln!(
            out,
            "switchback_observations_accepted_total {}",
            self.observations_accepted.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP switchback_observations_dropped_total Observations dropped, by reason."
        );
        let _ = writeln!(out, "# TYPE switchback_observations_dropped_total counter");
        for (reason, n) in snapshot(&self.observations_dropped) {
            let _ = writeln!(
                out,
                "switchback_observations_dropped_total{{reason=\"{}\"}} {n}",
                esc(&reason)
            );
        }
        let _ = writeln!(
            out,
            "# HELP switchback_decisions_total Decisions committed, by service."
        );
        let _ = writeln!(out, "# TYPE switchback_decisions_total counter");
        for (service, n) in snapshot(&self.decisions) {
            let _ = writeln!(
                out,
                "switchback_decisions_total{{service=\"{}\"}} {n}",
                esc(&service)
            );
        }
        let _ = writeln!(
            out,
            "# HELP switchback_commands_total Operator commands, by command and result."
        );
        let _ = writeln!(out, "# TYPE switchback_commands_total counter");
        for ((command, result), n) in snapshot(&self.commands) {
            let _ = writeln!(
                out,
                "switchback_commands_total{{command=\"{}\",result=\"{result}\"}} {n}",
                esc(&command)
            );
        }
        if let Some(dns) = self.dns.get() {
            dns_counters(&mut out, &dns.counters());
        }
        out
    }
}

fn dns_counters(out: &mut String, c: &crate::dns::DnsCounters) {
    let rows: [(&str, &str, u64); 10] = [
        (
            "dns_queries_total",
            "DNS requests received (UDP and TCP).",
            c.queries,
        ),
        (
            "dns_fast_answers_total",
            "DNS requests answered from pre-rendered answers.",
            c.fast_answers,
        ),
        (
            "dns_malformed_dropped_total",
            "DNS packets dropped as unparseable.",
            c.malformed_dropped,
        ),
        ("dns_refused_total", "DNS answers with REFUSED.", c.refused),
        ("dns_transfers_total", "Zone transfers served.", c.transfers),
        (
            "dns_transfers_refused_total",
            "Zone transfers refused by ACL or TSIG.",
            c.transfers_refused,
        ),
        (
            "dns_notifies_sent_total",
            "NOTIFY messages sent, retries included.",
            c.notifies_sent,
        ),
        (
            "dns_notifies_acked_total",
            "NOTIFYs acknowledged by a secondary.",
            c.notifies_acked,
        ),
        (
            "dns_notifies_failed_total",
            "NOTIFYs given up after every retry.",
            c.notifies_failed,
        ),
        (
            "dns_snapshots_total",
            "Zone snapshots swapped in.",
            c.snapshots,
        ),
    ];
    for (name, help, value) in rows {
        let _ = writeln!(out, "# HELP switchback_{name} {help}");
        let _ = writeln!(out, "# TYPE switchback_{name} counter");
        let _ = writeln!(out, "switchback_{name} {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_labels() {
        let m = Metrics::default();
        m.observation_dropped("bad_signature");
        m.observation_dropped("bad_signature");
        m.decision_committed("crm");
        m.command("switch", false);
        let text = m.render(true);
        assert!(text.contains("switchback_ready 1\n"), "{text}");
        assert!(
            text.contains("switchback_observations_dropped_total{reason=\"bad_signature\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("switchback_decisions_total{service=\"crm\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("switchback_commands_total{command=\"switch\",result=\"error\"} 1\n"),
            "{text}"
        );
        assert_eq!(m.dropped("bad_signature"), 2);
    }
}
