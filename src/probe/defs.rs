//! Check definitions from `probes/*.toml`: the typed form the scheduler runs.
//!
//! A probes file is a list of `[[check]]` tables. Every check has a `name`, a `layer`, a
//! `kind`, timing keys (`preset`, `interval`, `timeout`, `rise`, `fall`, `loss_window`,
//! `down_ratio`, `up_ratio`, `silence`, optional `fast_interval` and `jitter`) and either `site = "<id>"` or `self_check = true`. Kind-specific keys are
//! documented on each spec type. [`load`] reports every problem it finds as
//! `file:line: key: problem`, and any key it does not consume is an error.

mod fields;
mod kinds;
pub(crate) mod rcode;

use crate::config::locate::line_at;
use crate::model::{CheckName, Layer, SiteId};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::de::{DeTable, DeValue};

/// One parsed probes file.
#[derive(Clone, Debug)]
pub struct ProbeFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its checks in file order.
    pub checks: Vec<CheckDef>,
}

/// One check definition.
#[derive(Clone, Debug)]
pub struct CheckDef {
    /// Its name, unique per site within its file (gates share a name across sites).
    pub name: CheckName,
    /// The site it measures; `None` for self-checks of the probe's own uplink.
    pub site: Option<SiteId>,
    /// The layer it measures.
    pub layer: Layer,
    /// 1-based line of its `[[check]]` table.
    pub line: usize,
    /// How often and how patiently it runs.
    pub timing: Timing,
    /// What it does.
    pub kind: CheckKind,
}

/// When a check runs and how many results change its state.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    /// Normal period between runs.
    pub interval: Duration,
    /// Period while a state change is in progress (confirms or clears it quickly).
    pub fast_interval: Option<Duration>,
    /// How long one run may take; always below `interval`.
    pub timeout: Duration,
    /// Consecutive successes to become up.
    pub rise: u32,
    /// Consecutive definitive failures (refused, wrong answer, carrier down) to become down.
    pub fall: u32,
    /// Results judged for ambiguous failures (timeouts): key `loss_window`.
    pub loss_window: u32,
    /// Failed share of a full `loss_window` that makes the check down.
    pub down_ratio: f64,
    /// Failed share at or below which a down check may rise; above it an up check is degraded.
    pub up_ratio: f64,
    /// Consecutive timeouts after which the check counts as silent (site corroboration).
    pub silence: u32,
    /// Upper bound of the random delay added to each period so probes do not fire in lockstep.
    pub jitter: Duration,
}

/// What a check does; one variant per `kind`.
#[derive(Clone, Debug)]
pub enum CheckKind {
    /// `http` / `https`: one request, judged by status and optionally body.
    Http(HttpSpec),
    /// `tcp`: connect, optionally send and expect a banner.
    Tcp(TcpSpec),
    /// `dns`: one UDP query, judged by rcode and optionally an address.
    Dns(DnsSpec),
    /// `exec`: run a program (no shell); exit 0 is up.
    Exec(ExecSpec),
    /// `icmp`: echo to one address, optionally judged over a sliding window (link layer).
    Icmp(IcmpSpec),
    /// `iface`: an interface's operational state and carrier from rtnetlink link events.
    Iface(IfaceSpec),
}

impl CheckKind {
    /// The `kind` keyword of this variant.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckKind::Http(h) if h.url.starts_with("https:") => "https",
            CheckKind::Http(_) => "http",
            CheckKind::Tcp(_) => "tcp",
            CheckKind::Dns(_) => "dns",
            CheckKind::Exec(_) => "exec",
            CheckKind::Icmp(_) => "icmp",
            CheckKind::Iface(_) => "iface",
        }
    }
}

/// `kind = "http"|"https"`: keys `url`, `method`, `expect_status`, `body`, `body_regex`,
/// `host`, `tls_verify` (default true), `ca_file`.
#[derive(Clone, Debug)]
pub struct HttpSpec {
    /// Full URL; its scheme matches the kind.
    pub url: String,
    /// HTTP method (default GET).
    pub method: String,
    /// Statuses counted as up (default `[200]`).
    pub expect_status: Vec<u16>,
    /// Substring the body must contain.
    pub body: Option<String>,
    /// Regex the body must match.
    pub body_regex: Option<regex::Regex>,
    /// Host header override (e.g. probing a site address for a service name).
    pub host: Option<String>,
    /// Verify the server certificate (on unless turned off explicitly).
    pub tls_verify: bool,
    /// Extra PEM CA bundle to trust.
    pub ca_file: Option<PathBuf>,
}

/// `kind = "tcp"`: keys `target` (`ip:port`), `send`, `expect`.
#[derive(Clone, Debug, PartialEq)]
pub struct TcpSpec {
    /// Where to connect.
    pub target: SocketAddr,
    /// Bytes to write after connecting.
    pub send: Option<String>,
    /// Substring the first bytes read must contain.
    pub expect: Option<String>,
}

/// `kind = "dns"`: keys `server` (`ip:port`), `query`, `qtype` (default A),
/// `expect_rcode` (default NOERROR), `expect_address`.
#[derive(Clone, Debug, PartialEq)]
pub struct DnsSpec {
    /// The server asked (UDP).
    pub server: SocketAddr,
    /// The name asked for.
    pub query: String,
    /// The record type asked for, e.g. `A`.
    pub qtype: String,
    /// The response code counted as up, upper case, e.g. `NOERROR`.
    pub expect_rcode: String,
    /// An address that must be among the answers.
    pub expect_address: Option<IpAddr>,
}

/// `kind = "exec"`: keys `command` (array: program then arguments), `target`, `env` (table).
#[derive(Clone, Debug, PartialEq)]
pub struct ExecSpec {
    /// Program and arguments; run directly, never through a shell.
    pub command: Vec<String>,
    /// Free text handed to the script as `SWITCHBACK_TARGET`.
    pub target: Option<String>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
}

/// `kind = "icmp"`: key `target` (an address); on the link layer also `window`,
/// `max_loss` (percent), `max_rtt` (average), `max_p95`, `max_jitter`.
#[derive(Clone, Debug, PartialEq)]
pub struct IcmpSpec {
    /// The address pinged (IPv4 or IPv6).
    pub target: IpAddr,
    /// Link-layer thresholds over a sliding window of recent pings.
    pub window: Option<WindowSpec>,
}

/// Thresholds of a link-layer ICMP window; a window over any threshold counts as a failure.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowSpec {
    /// Number of most recent pings judged.
    pub size: usize,
    /// Highest acceptable loss, percent.
    pub max_loss: f64,
    /// Highest acceptable average RTT.
    pub max_rtt: Option<Duration>,
    /// Highest acceptable 95th-percentile RTT.
    pub max_p95: Option<Duration>,
    /// Highest acceptable jitter (mean absolute difference of consecutive RTTs).
    pub max_jitter: Option<Duration>,
}

/// `kind = "iface"`: key `iface` (interface name).
#[derive(Clone, Debug, PartialEq)]
pub struct IfaceSpec {
    /// The interface followed.
    pub iface: String,
}

/// A problem in a probes file, located as `file:line: key: problem`.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {key}: {problem}", path.display())]
pub struct ProbeFileError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// Dotted key, e.g. `check[2].timeout`.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

/// Reads and validates a probes file, returning every problem found.
pub fn load(path: &Path) -> Result<ProbeFile, Vec<ProbeFileError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ProbeFileError {
            path: path.to_owned(),
            line: 0,
            key: String::new(),
            problem: format!("cannot read: {e}"),
        }]
    })?;
    parse(path, &text)
}

/// Parses probes-file text (already read from `path`), returning every problem found.
///
/// One parse into the toml crate's spanned document gives both the values (borrowing the
/// text, so a file with ten thousand checks stays small in memory) and their lines.
pub fn parse(path: &Path, text: &str) -> Result<ProbeFile, Vec<ProbeFileError>> {
    let mut errors = Vec::new();
    let root = match DeTable::parse(text) {
        Ok(t) => t.into_inner(),
        Err(e) => {
            let line = e.span().map(|s| line_at(text, s.start)).unwrap_or(0);
            return Err(vec![ProbeFileError {
                path: path.to_owned(),
                line,
                key: String::new(),
                problem: format!("invalid TOML: {}", e.message()),
            }]);
        }
    };
    let mut report = |line: usize, key: String, problem: String| {
        errors.push(ProbeFileError {
            path: path.to_owned(),
            line,
            key,
            problem,
        })
    };
    let mut checks = Vec::new();
    for (key, value) in root.iter() {
        let key_line = line_at(text, key.span().start);
        let key = key.get_ref().as_ref();
        if key != "check" {
            report(
                key_line,
                key.to_owned(),
                "unknown key (expected [[check]] tables)".into(),
            );
            continue;
        }
        let DeValue::Array(items) = value.get_ref() else {
            report(
                key_line,
                key.to_owned(),
                "must be an array of tables ([[check]])".into(),
            );
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let mut fields = fields::Fields::new(text, i, item, &mut report);
            if let Some(def) = kinds::check(&mut fields) {
                checks.push(def);
            }
            fields.finish();
        }
    }
    // A name is unique per site within a file: `replication-lag` may exist once for bj and
    // once for sh, since readiness gates are looked up per target site.
    let mut seen: BTreeMap<(&str, Option<&str>), usize> = BTreeMap::new();
    for (i, c) in checks.iter().enumerate() {
        let site = c.site.as_ref().map(|s| s.as_str());
        if let Some(first) = seen.insert((c.name.as_str(), site), c.line) {
            report(
                c.line,
                format!("check[{i}].name"),
                format!(
                    "duplicate check name {:?} for site {} (first on line {first})",
                    c.name.as_str(),
                    site.unwrap_or("(self)")
                ),
            );
        }
    }
    if errors.is_empty() {
        Ok(ProbeFile {
            path: path.to_owned(),
            checks,
        })
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

#[cfg(test)]
mod tests;

/// Every distinct probes file the config's services reference, parsed; all problems on failure.
pub fn load_all(cfg: &crate::config::Config) -> Result<Vec<ProbeFile>, Vec<ProbeFileError>> {
    let paths: std::collections::BTreeSet<&Path> =
        cfg.services.iter().map(|s| s.probes.as_path()).collect();
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        match load(path) {
            Ok(f) => files.push(f),
            Err(errs) => problems.extend(errs),
        }
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(problems)
    }
}
