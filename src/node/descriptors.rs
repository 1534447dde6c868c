//! File descriptors: at start the soft `RLIMIT_NOFILE` is raised to the hard limit, and the
//! node refuses to start below a floor sized from its own limits, so listeners full of idle
//! clients can never take the descriptors the probes need (issue #13: 1,100 idle admin
//! connections under `ulimit -n 1024` made every HTTP check fail with EMFILE).
//!
//! Floor = [`BASE`] (store, logs, UDP sockets, netlink, etcd) + the admin API's connection
//! limit + the DNS TCP connection limit (authority role) + [`PROBE_RESERVE`] (probe role).
//! With the defaults that is 128 + 256 + 256 + 256 = 896, so the usual 1,024 is enough.

use crate::config::{Config, Role};
use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Descriptors the node uses besides its listeners' connections and its probes.
pub const BASE: u64 = 128;
/// Descriptors kept for checks (sockets, resolver, exec pipes) whatever the listeners hold.
pub const PROBE_RESERVE: u64 = 256;

/// Why the node will not start with this many descriptors.
#[derive(Debug, thiserror::Error)]
pub enum DescriptorError {
    /// The limit could not be read or raised.
    #[error("RLIMIT_NOFILE: {0}")]
    Rlimit(nix::Error),
    /// Even the hard limit is below the floor.
    #[error(
        "open-file limit {have} is below the {need} this node needs (admin {admin} + DNS TCP {dns} \
         connections + {PROBE_RESERVE} for probes + {BASE}); raise it (ulimit -n / LimitNOFILE=)"
    )]
    TooFew {
        /// The limit after raising the soft limit to the hard one.
        have: u64,
        /// The floor for this config.
        need: u64,
        /// The admin API's share.
        admin: u64,
        /// The DNS TCP listener's share.
        dns: u64,
    },
}

/// The floor for `cfg`: (total, admin share, DNS TCP share).
pub fn floor(cfg: &Config) -> (u64, u64, u64) {
    let admin = crate::api::Limits::default().connections as u64;
    let dns = if cfg.has_role(Role::Authority) && !cfg.dns.listen.is_empty() {
        (crate::dns::TCP_CONNECTIONS * cfg.dns.listen.len()) as u64
    } else {
        0
    };
    let probes = if cfg.has_role(Role::Probe) {
        PROBE_RESERVE
    } else {
        0
    };
    (BASE + admin + dns + probes, admin, dns)
}

/// Raises the soft limit to the hard one and checks the floor; returns the limit now in force.
pub fn ensure(cfg: &Config) -> Result<u64, DescriptorError> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(DescriptorError::Rlimit)?;
    let have = if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).map_err(DescriptorError::Rlimit)?;
        hard
    } else {
        soft
    };
    let (need, admin, dns) = floor(cfg);
    if have < need {
        return Err(DescriptorError::TooFew {
            have,
            need,
            admin,
            dns,
        });
    }
    tracing::info!(limit = have, floor = need, "open-file limit");
    Ok(have)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_floor_fits_the_usual_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let zone = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/boss.example.zone");
        let cfg = crate::fixture::dns_config(&zone, dir.path(), vec![]);
        let (need, _, _) = floor(&cfg);
        assert!(need <= 1024, "floor {need}");
        assert!(need >= BASE + 256);
    }
}
