//! `[[alert]]`: where alerts go (webhook, Alertmanager, PagerDuty, exec), each sink with its
//! own filter, timeout and retry age. The raw shape, the typed shape and their defaults.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// `[[alert]]` as written: one flat table; validation checks that only the keys of its `kind`
/// are set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawAlert {
    pub(crate) kind: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) url: Option<String>,
    pub(crate) headers: Option<BTreeMap<String, String>>,
    pub(crate) hmac_secret_file: Option<String>,
    pub(crate) routing_key_file: Option<String>,
    pub(crate) command: Option<Vec<String>>,
    pub(crate) timeout: Option<String>,
    pub(crate) max_age: Option<String>,
    pub(crate) min_severity: Option<String>,
    pub(crate) kinds: Option<Vec<String>>,
    pub(crate) services: Option<Vec<String>>,
}

/// How long one delivery attempt may take by default (a hanging receiver is cut off).
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an undeliverable event is retried by default before it is dead-lettered.
pub(crate) const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// How urgent an alert is; a sink's `min_severity` drops what is below it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record (switch enacted, maintenance on).
    Info,
    /// Someone should look (degraded site, abstaining probe).
    Warning,
    /// Page now (failover, approval needed, quorum lost, enactment failed).
    Critical,
}

impl Severity {
    /// Its config and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// Parse `info` | `warning` | `critical`.
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity {other:?}; known: info, warning, critical"
            )),
        }
    }
}

/// Which events a sink takes: at least `min_severity`, and when the lists are not empty only
/// those event kinds and services.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertFilter {
    /// The lowest severity delivered.
    pub min_severity: Severity,
    /// Event kinds delivered (`failover`, `quorum_lost`, …); empty: all.
    pub kinds: Vec<String>,
    /// Services delivered; empty: all (events about no service always pass this test).
    pub services: Vec<String>,
}

impl Default for AlertFilter {
    fn default() -> Self {
        Self {
            min_severity: Severity::Info,
            kinds: Vec::new(),
            services: Vec::new(),
        }
    }
}

/// One alert sink.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertSink {
    /// Unique name: its spool folder, `alert test --sink NAME`, logs and metrics.
    pub name: String,
    /// Where it delivers.
    pub kind: SinkKind,
    /// What it takes.
    pub filter: AlertFilter,
    /// Limit of one delivery attempt.
    pub timeout: Duration,
    /// How long an event is retried before it goes to the dead-letter file.
    pub max_age: Duration,
}

/// Where a sink delivers.
#[derive(Clone, Debug, PartialEq)]
pub enum SinkKind {
    /// POST JSON to a URL.
    Webhook {
        /// Target URL.
        url: String,
        /// Extra request headers.
        headers: BTreeMap<String, String>,
        /// A file with the secret of the `X-Switchback-Signature: sha256=HEX` HMAC header.
        hmac_secret_file: Option<PathBuf>,
    },
    /// Alertmanager v2 API (`POST {url}/api/v2/alerts`).
    Alertmanager {
        /// Base URL.
        url: String,
    },
    /// PagerDuty Events v2.
    Pagerduty {
        /// File with the routing key.
        routing_key_file: PathBuf,
        /// Events API URL (overridable for tests).
        url: String,
    },
    /// Run a program with the event in env variables and as JSON on stdin.
    Exec {
        /// Program and arguments (no shell).
        command: Vec<String>,
    },
}

impl SinkKind {
    /// `webhook`, `alertmanager`, `pagerduty`, `exec`.
    pub fn name(&self) -> &'static str {
        match self {
            SinkKind::Webhook { .. } => "webhook",
            SinkKind::Alertmanager { .. } => "alertmanager",
            SinkKind::Pagerduty { .. } => "pagerduty",
            SinkKind::Exec { .. } => "exec",
        }
    }
}

/// Every alert kind a sink's `kinds` filter may name (the conditions `alert` raises).
pub const ALERT_KINDS: &[&str] = &[
    "failover",
    "approval",
    "site_down",
    "no_target",
    "gate_blocked",
    "quorum_lost",
    "probe_abstaining",
    "failback_available",
    "maintenance",
    "held_out",
    "flapping",
    "degraded",
    "enacted",
    "enactment",
    "node_isolated",
    "node_stale",
    "drill",
    "test",
];
