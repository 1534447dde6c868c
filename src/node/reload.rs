//! Reload: SIGHUP (or `POST /v1/reload`, which raises SIGHUP) re-reads and validates the
//! config with its probes and zones exactly as `switchback check` does. A bad one is refused
//! with `check`'s messages and the node keeps running unchanged; a good one restarts the
//! node's roles in this process on the same admin and DNS addresses, so probes, zones and
//! policies change without a restart of the process. Committed state lives in the store and
//! is resumed exactly; the votes on the board are carried over ([`Carry`]), so the tally does
//! not start empty; this node's own checks start again.

use super::{Listeners, NodeError, run_carrying};
use crate::check::revalidate as validate;
use crate::config::Config;
use crate::config::StoreSection;
use crate::store::Stores;
use crate::tally::SignedObservation;
use std::sync::{Arc, Mutex};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

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
    crate::api::arm_reload();
    let carry = Carry::default();
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
        let node = run_carrying(current.clone(), listeners, roles.clone(), &carry);
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

/// The vote board's votes, from one run of the roles to the next. Only the embedded board
/// needs it (it lives in the process); an etcd board keeps its votes across the reload.
#[derive(Clone, Debug, Default)]
pub(super) struct Carry(Arc<Mutex<Vec<SignedObservation>>>);

impl Carry {
    /// Remember the board's current votes (the roles have stopped).
    pub(super) async fn keep(&self, cfg: &Config, stores: &Stores) {
        if !matches!(cfg.store, StoreSection::Embedded) {
            return;
        }
        match stores.votes.watch_votes().await {
            Ok(w) => *self.0.lock().unwrap_or_else(|p| p.into_inner()) = w.current,
            Err(e) => tracing::warn!(error = %e, "cannot read the vote board; votes start empty"),
        }
    }

    /// Put the kept votes on the new board, each for what is left of its `stale_after`.
    pub(super) async fn restore(&self, cfg: &Config, stores: &Stores) {
        let votes = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        let now = crate::model::Timestamp::now();
        let mut carried = 0;
        for v in votes {
            let age = now.since(v.observation.at);
            let Some(left) = cfg.votes.stale_after.checked_sub(age) else {
                continue;
            };
            match stores.votes.publish(&v, left).await {
                Ok(()) => carried += 1,
                Err(e) => tracing::warn!(node = %v.observation.node, error = %e,
                    "cannot carry a vote over the reload"),
            }
        }
        if carried > 0 {
            tracing::info!(votes = carried, "votes carried over the reload");
        }
    }
}
