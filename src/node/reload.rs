//! Reload: SIGHUP (or `POST /v1/reload`, which raises SIGHUP) re-reads and validates the
//! config with its probes and zones exactly as `switchback check` does. A bad one is refused
//! with `check`'s messages and the node keeps running unchanged; a good one restarts the
//! node's roles in this process on the same admin and DNS addresses, so probes, zones and
//! policies change without a restart of the process. Committed state lives in the store and
//! is resumed exactly; votes are collected again (each probe's next report).

use super::{Listeners, NodeError, run};
use crate::config::Config;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Set once `serve` handles SIGHUP, so the admin API may raise it (never in a process whose
/// SIGHUP would terminate it, e.g. a test running the node in-process).
static ARMED: AtomicBool = AtomicBool::new(false);

/// Whether SIGHUP reloads this process's node.
pub fn reload_armed() -> bool {
    ARMED.load(Ordering::SeqCst)
}

/// Validate the config at `cfg.source` as `check` does: its summary, or `check`'s messages.
pub fn validate(cfg: &Config) -> Result<Config, String> {
    crate::check::check(&cfg.source, None).map_err(|e| e.to_string())?;
    crate::config::load(&cfg.source, None).map_err(|e| e.to_string())
}

/// Keep the addresses actually bound when the new config asks for the same ones (port 0 in
/// tests stays the port the node already has).
fn keep_addresses(next: &mut Config, old: &Config, bound: &Bound) {
    if next.admin.listen == old.admin.listen {
        next.admin.listen = bound.admin;
    }
    if next.dns.listen == old.dns.listen && bound.dns.len() == next.dns.listen.len() {
        next.dns.listen.clone_from(&bound.dns);
    }
}

struct Bound {
    admin: std::net::SocketAddr,
    dns: Vec<std::net::SocketAddr>,
}

/// `serve` with reload: run until `shutdown`; on a good SIGHUP, stop the roles and run again
/// with the new config.
pub(super) async fn serve_reloading(
    mut cfg: Config,
    shutdown: CancellationToken,
) -> Result<(), NodeError> {
    let mut hup = signal(SignalKind::hangup()).map_err(NodeError::Signals)?;
    ARMED.store(true, Ordering::SeqCst);
    loop {
        let listeners = Listeners::bind(&cfg).await?;
        let bound = Bound {
            admin: listeners.admin.local_addr().unwrap_or(cfg.admin.listen),
            dns: listeners
                .dns
                .as_ref()
                .map(|d| d.local_addrs().to_vec())
                .unwrap_or_default(),
        };
        let roles = shutdown.child_token();
        let current = cfg.clone();
        let node = run(current.clone(), listeners, roles.clone());
        tokio::pin!(node);
        let next = loop {
            tokio::select! {
                result = &mut node => return result,
                _ = hup.recv() => match validate(&current) {
                    Ok(mut next) => {
                        keep_addresses(&mut next, &current, &bound);
                        tracing::info!(config = %current.source.display(), "reloading");
                        break next;
                    }
                    Err(problems) => {
                        tracing::error!(config = %current.source.display(),
                            "reload refused, keeping the running config:\n{problems}");
                    }
                },
            }
        };
        roles.cancel();
        node.await?;
        if shutdown.is_cancelled() {
            return Ok(());
        }
        cfg = next;
        tracing::info!("reloaded");
    }
}
