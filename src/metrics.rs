//! The node's counters, exposed at `GET /metrics` in the Prometheus text format (hand-rolled:
//! a few counters do not warrant a metrics stack).
//!
//! The decision loop, the enactors and the API count here; other parts with counters of their
//! own (the DNS authority) plug in as an [`Exposition`] when the node is wired.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Something that writes its own metrics into the exposition.
pub trait Exposition: Send + Sync {
    /// Append metric families (with `# HELP` and `# TYPE`) to `out`.
    fn render(&self, out: &mut String);
}

/// Upper bounds (seconds) of the enactment duration histogram.
const APPLY_BUCKETS: [f64; 10] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.1, 1.0, 10.0,
];

/// Durations of one enactor's applies, as a cumulative histogram.
#[derive(Clone, Debug, Default)]
struct Histogram {
    buckets: [u64; APPLY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        for (b, le) in self.buckets.iter_mut().zip(APPLY_BUCKETS) {
            if s <= le {
                *b += 1;
            }
        }
        self.count += 1;
        self.sum += s;
    }
}

/// The node's counters; shared by the API, the decision loop and the enactors.
#[derive(Default)]
pub struct Metrics {
    observations_accepted: AtomicU64,
    observations_superseded: AtomicU64,
    observations_dropped: Mutex<BTreeMap<String, u64>>,
    decisions: Mutex<BTreeMap<String, u64>>,
    commits_refused: Mutex<BTreeMap<&'static str, u64>>,
    commands: Mutex<BTreeMap<(String, &'static str), u64>>,
    events: Mutex<BTreeMap<&'static str, u64>>,
    runs: Mutex<BTreeMap<&'static str, u64>>,
    applies: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    apply_seconds: Mutex<BTreeMap<&'static str, Histogram>>,
    /// Other parts' metric families, rendered after the node's own (DNS, routes, pushes; the
    /// alert role adds its own once it starts).
    sources: Mutex<Vec<Arc<dyn Exposition>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field(
                "sources",
                &self.sources.lock().unwrap_or_else(|p| p.into_inner()).len(),
            )
            .finish_non_exhaustive()
    }
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
    *m.entry(key).or_default() += 1;
}

fn snapshot<K: Ord + Clone, V: Clone>(map: &Mutex<BTreeMap<K, V>>) -> BTreeMap<K, V> {
    map.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Escape a label value per the text exposition format.
pub fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Write the `# HELP` and `# TYPE` lines of a metric family.
pub fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

impl Metrics {
    /// Counters that also render `sources` (e.g. the DNS authority's) in the exposition.
    pub fn new(sources: Vec<Arc<dyn Exposition>>) -> Self {
        Self {
            sources: Mutex::new(sources),
            ..Self::default()
        }
    }

    /// Render `source` too from now on (a role that starts after the counters exist).
    pub fn add_source(&self, source: Arc<dyn Exposition>) {
        self.sources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(source);
    }

    /// An observation passed verification.
    pub fn observation_accepted(&self) {
        self.observations_accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// The leader skipped a vote: a newer one from the same node was waiting behind it.
    pub fn observation_superseded(&self) {
        self.observations_superseded.fetch_add(1, Ordering::Relaxed);
    }

    /// An observation was dropped, for `reason` (bad_signature, unknown_voter, replay, stale, ...).
    pub fn observation_dropped(&self, reason: &str) {
        bump(&self.observations_dropped, reason.to_owned());
    }

    /// A decision was committed for `service`.
    pub fn decision_committed(&self, service: &str) {
        bump(&self.decisions, service.to_owned());
    }

    /// A commit was refused by the store: `deposed` (leadership lost) or `fenced` (epoch).
    pub fn commit_refused(&self, reason: &'static str) {
        bump(&self.commits_refused, reason);
    }

    /// An operator command ran; `ok` says whether it was accepted.
    pub fn command(&self, command: &str, ok: bool) {
        bump(
            &self.commands,
            (command.to_owned(), if ok { "ok" } else { "error" }),
        );
    }

    /// A policy event became durable and went out on the event stream.
    pub fn event(&self, kind: &'static str) {
        bump(&self.events, kind);
    }

    /// An enactor was handed a changed desired state (or resynchronised).
    pub fn enact_run(&self, enactor: &'static str) {
        bump(&self.runs, enactor);
    }

    /// How often an enactor was handed the desired state (for tests and benches).
    pub fn enact_runs(&self, enactor: &str) -> u64 {
        snapshot(&self.runs).get(enactor).copied().unwrap_or(0)
    }

    /// An enactor applied one service's desired state (`ok`) or failed to, taking `took`.
    pub fn applied(&self, enactor: &'static str, ok: bool, took: Duration) {
        bump(&self.applies, (enactor, if ok { "ok" } else { "error" }));
        let mut h = self.apply_seconds.lock().unwrap_or_else(|p| p.into_inner());
        h.entry(enactor).or_default().observe(took);
    }

    /// Votes the leader skipped as superseded so far (for tests).
    pub fn superseded(&self) -> u64 {
        self.observations_superseded.load(Ordering::Relaxed)
    }

    /// Dropped observations for one reason (for tests and the dashboard).
    pub fn dropped(&self, reason: &str) -> u64 {
        snapshot(&self.observations_dropped)
            .get(reason)
            .copied()
            .unwrap_or(0)
    }

    /// Applies by one enactor so far, successful or not (for tests and benches).
    pub fn applies(&self, enactor: &str) -> u64 {
        snapshot(&self.applies)
            .iter()
            .filter(|((e, _), _)| *e == enactor)
            .map(|(_, n)| n)
            .sum()
    }

    /// The Prometheus text exposition.
    pub fn render(&self, ready: bool) -> String {
        let mut out = String::new();
        family(
            &mut out,
            "switchback_ready",
            "gauge",
            "Whether the node has loaded its state.",
        );
        let _ = writeln!(out, "switchback_ready {}", u8::from(ready));
        family(
            &mut out,
            "switchback_observations_accepted_total",
            "counter",
            "Verified observations.",
        );
        let _ = writeln!(
            out,
            "switchback_observations_accepted_total {}",
            self.observations_accepted.load(Ordering::Relaxed)
        );
        family(
            &mut out,
            "switchback_observations_superseded_total",
            "counter",
            "Votes the leader skipped because a newer one from the same node was waiting (it was behind).",
        );
        let _ = writeln!(
            out,
            "switchback_observations_superseded_total {}",
            self.observations_superseded.load(Ordering::Relaxed)
        );
        family(
            &mut out,
            "switchback_observations_dropped_total",
            "counter",
            "Observations dropped, by reason.",
        );
        for (reason, n) in snapshot(&self.observations_dropped) {
            let _ = writeln!(
                out,
                "switchback_observations_dropped_total{{reason=\"{}\"}} {n}",
                esc(&reason)
            );
        }
        family(
            &mut out,
            "switchback_decisions_total",
            "counter",
            "Decisions committed, by service.",
        );
        for (service, n) in snapshot(&self.decisions) {
            let _ = writeln!(
                out,
                "switchback_decisions_total{{service=\"{}\"}} {n}",
                esc(&service)
            );
        }
        family(
            &mut out,
            "switchback_commits_refused_total",
            "counter",
            "Commits the store refused: deposed (leadership lost) or fenced (epoch).",
        );
        for (reason, n) in snapshot(&self.commits_refused) {
            let _ = writeln!(
                out,
                "switchback_commits_refused_total{{reason=\"{reason}\"}} {n}"
            );
        }
        family(
            &mut out,
            "switchback_commands_total",
            "counter",
            "Operator commands, by command and result.",
        );
        for ((command, result), n) in snapshot(&self.commands) {
            let _ = writeln!(
                out,
                "switchback_commands_total{{command=\"{}\",result=\"{result}\"}} {n}",
                esc(&command)
            );
        }
        family(
            &mut out,
            "switchback_events_total",
            "counter",
            "Policy events made durable and streamed, by kind.",
        );
        for (kind, n) in snapshot(&self.events) {
            let _ = writeln!(out, "switchback_events_total{{kind=\"{kind}\"}} {n}");
        }
        self.render_enactment(&mut out);
        let sources = self
            .sources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for source in sources {
            source.render(&mut out);
        }
        out
    }

    fn render_enactment(&self, out: &mut String) {
        family(
            out,
            "switchback_enact_runs_total",
            "counter",
            "Times an enactor was handed a changed desired state (or resynchronised).",
        );
        for (enactor, n) in snapshot(&self.runs) {
            let _ = writeln!(
                out,
                "switchback_enact_runs_total{{enactor=\"{enactor}\"}} {n}"
            );
        }
        family(
            out,
            "switchback_enact_applies_total",
            "counter",
            "Services' desired state applied, by enactor and result.",
        );
        for ((enactor, result), n) in snapshot(&self.applies) {
            let _ = writeln!(
                out,
                "switchback_enact_applies_total{{enactor=\"{enactor}\",result=\"{result}\"}} {n}"
            );
        }
        family(
            out,
            "switchback_enact_apply_seconds",
            "histogram",
            "How long one apply of the desired state took, by enactor.",
        );
        for (enactor, h) in snapshot(&self.apply_seconds) {
            let name = "switchback_enact_apply_seconds";
            for (n, le) in h.buckets.iter().zip(APPLY_BUCKETS) {
                let _ = writeln!(
                    out,
                    "{name}_bucket{{enactor=\"{enactor}\",le=\"{le}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "{name}_bucket{{enactor=\"{enactor}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "{name}_sum{{enactor=\"{enactor}\"}} {}", h.sum);
            let _ = writeln!(out, "{name}_count{{enactor=\"{enactor}\"}} {}", h.count);
        }
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

    #[test]
    fn enactment_histogram_is_cumulative() {
        let m = Metrics::default();
        m.applied("dns", true, Duration::from_micros(200));
        m.applied("dns", false, Duration::from_millis(20));
        let text = m.render(true);
        for line in [
            "switchback_enact_applies_total{enactor=\"dns\",result=\"ok\"} 1\n",
            "switchback_enact_applies_total{enactor=\"dns\",result=\"error\"} 1\n",
            "switchback_enact_apply_seconds_bucket{enactor=\"dns\",le=\"0.00025\"} 1\n",
            "switchback_enact_apply_seconds_bucket{enactor=\"dns\",le=\"0.1\"} 2\n",
            "switchback_enact_apply_seconds_bucket{enactor=\"dns\",le=\"+Inf\"} 2\n",
            "switchback_enact_apply_seconds_count{enactor=\"dns\"} 2\n",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
        assert_eq!(m.applies("dns"), 2);
    }

    struct Fixed;
    impl Exposition for Fixed {
        fn render(&self, out: &mut String) {
            out.push_str("extra_total 7\n");
        }
    }

    #[test]
    fn sources_render_after_the_node_counters() {
        let text = Metrics::new(vec![Arc::new(Fixed)]).render(false);
        assert!(text.ends_with("extra_total 7\n"), "{text}");
    }
}
