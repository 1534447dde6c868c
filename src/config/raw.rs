//! The raw, as-written shape of a config file: every table denies unknown keys, every
//! optional key has a named default, and durations, addresses and CIDRs stay `String` so the
//! validation pass (`validate`) can reject them with its own `file:line: key: problem` text.
//!
//! Keys that are required are still `Option` here: serde stops at the first missing field,
//! while the validation pass reports every missing key at once.
//!
//! Defaults (shown in `deploy/examples/demo.toml` too):
//! - `node.roles = ["probe", "authority"]`, `node.state_dir = "/var/lib/switchback"`,
//!   `node.domain` = `node.site`
//! - `store.kind = "embedded"`, `store.prefix = "/switchback/"`, `store.lease_ttl = "5s"`
//! - `votes.stale_after = "1s"`, no voters (this node alone votes)
//! - `log.format = "text"`, `log.level = "info,hickory_server=warn"`
//! - `dns.listen = ["127.0.0.1:5353"]`, `dns.udp_sockets` = one per CPU core,
//!   `dns.notify_key` = the only TSIG key when exactly one is configured
//! - `admin.listen = "127.0.0.1:9530"`
//! - service `ttl = "30s"`, `degraded_ttl = "5s"`
//! - policy `mode = "auto"`, `quorum` = a majority of the voters, `min_domains` = 2 (1 when the
//!   voters span a single domain), `hold_down = "1s"`, `confirm_timeout = "5m"`,
//!   `on_confirm_timeout = "abort"`, `failback = "manual"`, `failback_hold = "10m"`,
//!   `hold_out_recovered = false`, `all_down = "keep"`
//! - pagerduty `url = "https://events.pagerduty.com/v2/enqueue"`
//! - `route.protocol = 57`, `route.resync = "30s"`, `route.replace_foreign = false`,
//!   `route.announce_count = 3`, `route.announce_interval = "200ms"`; route-mode vip
//!   `table` = main (254), `metric` = 0 (IPv6: 1024)

use super::alert::RawAlert;
use super::etcd::RawStore;
use super::table;
use super::table::Count;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default, deserialize_with = "table::one")]
    pub(crate) node: RawNode,
    #[serde(default, deserialize_with = "table::one")]
    pub(crate) store: RawStore,
    #[serde(default, deserialize_with = "table::one")]
    pub(crate) votes: RawVotes,
    #[serde(default, deserialize_with = "table::one")]
    pub(crate) log: RawLog,
    #[serde(default, deserialize_with = "table::one")]
    pub(crate) dns: RawDns,
    #[serde(default, deserialize_with = "table::one")]
    pub(crate) admin: RawAdmin,
    #[serde(default, deserialize_with = "table::map")]
    pub(crate) sites: BTreeMap<String, RawSite>,
    #[serde(default, deserialize_with = "table::list")]
    pub(crate) service: Vec<RawService>,
    #[serde(default, deserialize_with = "table::list")]
    pub(crate) alert: Vec<RawAlert>,
    #[serde(default, deserialize_with = "table::one")]
    pub(crate) audit: super::audit::RawAudit,
    #[serde(default, deserialize_with = "table::one")]
    pub(crate) route: super::vip::RawRoute,
}

/// `[node]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawNode {
    pub(crate) id: Option<String>,
    pub(crate) site: Option<String>,
    pub(crate) domain: Option<String>,
    pub(crate) roles: Vec<String>,
    pub(crate) state_dir: String,
}

impl Default for RawNode {
    fn default() -> Self {
        Self {
            id: None,
            site: None,
            domain: None,
            roles: default_roles(),
            state_dir: default_state_dir(),
        }
    }
}

/// `[votes]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawVotes {
    pub(crate) authorities: Vec<String>,
    pub(crate) key_files: Vec<String>,
    pub(crate) stale_after: String,
    #[serde(deserialize_with = "table::list")]
    pub(crate) voters: Vec<RawVoter>,
}

impl Default for RawVotes {
    fn default() -> Self {
        Self {
            authorities: Vec::new(),
            key_files: Vec::new(),
            stale_after: default_stale_after(),
            voters: Vec::new(),
        }
    }
}

/// `votes.voters = [{ id, domain }]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawVoter {
    pub(crate) id: Option<String>,
    pub(crate) domain: Option<String>,
}

/// `[log]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawLog {
    pub(crate) format: String,
    pub(crate) level: String,
}

impl Default for RawLog {
    fn default() -> Self {
        Self {
            format: default_log_format(),
            level: default_log_level(),
        }
    }
}

/// `[dns]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawDns {
    pub(crate) listen: Vec<String>,
    pub(crate) zones: Vec<String>,
    pub(crate) notify: Vec<String>,
    pub(crate) allow_transfer: Vec<String>,
    #[serde(deserialize_with = "table::list")]
    pub(crate) tsig_keys: Vec<RawTsigKey>,
    pub(crate) notify_key: Option<String>,
    pub(crate) udp_sockets: Count,
    /// At most one NOTIFY round per secondary this often (changes between are coalesced).
    pub(crate) notify_interval: String,
}

impl Default for RawDns {
    fn default() -> Self {
        Self {
            listen: default_dns_listen(),
            zones: Vec::new(),
            notify: Vec::new(),
            allow_transfer: Vec::new(),
            tsig_keys: Vec::new(),
            notify_key: None,
            udp_sockets: default_udp_sockets(),
            notify_interval: "1s".into(),
        }
    }
}

/// `dns.tsig_keys = [{ name, algorithm, secret_file }]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawTsigKey {
    pub(crate) name: Option<String>,
    pub(crate) algorithm: Option<String>,
    pub(crate) secret_file: Option<String>,
}

/// `[admin]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawAdmin {
    pub(crate) listen: String,
    pub(crate) token_file: Option<String>,
}

impl Default for RawAdmin {
    fn default() -> Self {
        Self {
            listen: default_admin_listen(),
            token_file: None,
        }
    }
}

/// `[sites.<id>]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawSite {
    pub(crate) role: Option<String>,
    pub(crate) gateways: Vec<String>,
}

/// `[[service]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawService {
    pub(crate) name: Option<String>,
    pub(crate) names: Vec<String>,
    pub(crate) ttl: String,
    pub(crate) degraded_ttl: String,
    pub(crate) addresses: BTreeMap<String, Vec<String>>,
    #[serde(deserialize_with = "table::opt")]
    pub(crate) vip: Option<super::vip::RawVip>,
    pub(crate) probes: Option<String>,
    #[serde(deserialize_with = "table::one")]
    pub(crate) policy: RawPolicy,
}

impl Default for RawService {
    fn default() -> Self {
        Self {
            name: None,
            names: Vec::new(),
            ttl: default_ttl(),
            degraded_ttl: default_degraded_ttl(),
            addresses: BTreeMap::new(),
            vip: None,
            probes: None,
            policy: RawPolicy::default(),
        }
    }
}

/// `service.policy`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawPolicy {
    pub(crate) mode: String,
    /// `None`: a majority of the voters.
    pub(crate) quorum: Option<Count>,
    /// `None`: 2, or 1 when the voters span a single domain.
    pub(crate) min_domains: Option<Count>,
    /// `None`: `standard` (see `presets`).
    pub(crate) preset: Option<String>,
    /// `None`: the preset's.
    pub(crate) hold_down: Option<String>,
    pub(crate) confirm_timeout: String,
    pub(crate) on_confirm_timeout: String,
    pub(crate) failback: String,
    /// `None`: the preset's.
    pub(crate) failback_hold: Option<String>,
    /// `None`: the preset's damping half-life.
    pub(crate) damping_half_life: Option<String>,
    pub(crate) hold_out_recovered: bool,
    pub(crate) gates: Vec<String>,
    pub(crate) all_down: String,
}

impl Default for RawPolicy {
    fn default() -> Self {
        Self {
            mode: default_mode(),
            quorum: None,
            min_domains: None,
            preset: None,
            hold_down: None,
            confirm_timeout: default_confirm_timeout(),
            on_confirm_timeout: default_on_confirm_timeout(),
            failback: default_failback(),
            failback_hold: None,
            damping_half_life: None,
            hold_out_recovered: false,
            gates: Vec::new(),
            all_down: default_all_down(),
        }
    }
}

fn default_roles() -> Vec<String> {
    vec!["probe".into(), "authority".into()]
}
fn default_state_dir() -> String {
    "/var/lib/switchback".into()
}
fn default_stale_after() -> String {
    "1s".into()
}
fn default_log_format() -> String {
    "text".into()
}
fn default_log_level() -> String {
    "info,hickory_server=warn".into()
}
fn default_dns_listen() -> Vec<String> {
    vec!["127.0.0.1:5353".into()]
}
/// One SO_REUSEPORT socket (and reader thread) per core, as NSD and Knot size their UDP
/// workers: on 2 cores beside dnsperf, 4 sockets cost ~30 % more CPU per query than 2.
pub(crate) fn default_udp_sockets() -> Count {
    Count(std::thread::available_parallelism().map_or(1, |n| n.get().min(64)))
}
fn default_admin_listen() -> String {
    "127.0.0.1:9530".into()
}
fn default_ttl() -> String {
    "30s".into()
}
fn default_degraded_ttl() -> String {
    "5s".into()
}
fn default_mode() -> String {
    "auto".into()
}
fn default_confirm_timeout() -> String {
    "5m".into()
}
fn default_on_confirm_timeout() -> String {
    "abort".into()
}
fn default_failback() -> String {
    "manual".into()
}
fn default_all_down() -> String {
    "keep".into()
}
/// The PagerDuty Events v2 endpoint.
pub(crate) fn default_pagerduty_url() -> String {
    "https://events.pagerduty.com/v2/enqueue".into()
}
