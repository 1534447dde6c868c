//! The DNS enactor task: follows the published committed state into the authority's answers.
//!
//! Runs on every authority. The first apply happens before the DNS sockets serve a single
//! query, so a restarted node never answers with the primary while a failover is committed.

use super::handle::Published;
use crate::dns::{DnsHandle, ServiceView};
use crate::model::Health;
use crate::policy::ServiceStatus;
use std::collections::BTreeSet;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What the DNS answers for one service, from its published status.
///
/// `up_sites` is empty only when the quorum sees every serving site down (`all_down`); a site
/// whose verdict is still unknown (no quorum yet) is not treated as down.
pub(crate) fn view_of(s: &ServiceStatus) -> ServiceView {
    let up_sites: BTreeSet<_> = if s.all_down {
        BTreeSet::new()
    } else {
        s.sites
            .iter()
            .filter(|(_, st)| st.verdict != Health::Down)
            .map(|(id, _)| id.clone())
            .chain(std::iter::once(s.active_site.clone()))
            .collect()
    };
    ServiceView {
        service: s.service.clone(),
        active_site: s.active_site.clone(),
        epoch: s.epoch,
        degraded: s.degraded,
        up_sites,
    }
}

/// Applies the current published state once (before serving starts).
pub(crate) fn apply_now(
    dns: &DnsHandle,
    published: &Published,
) -> Result<(), crate::dns::DnsError> {
    let views: Vec<ServiceView> = published.status.iter().map(view_of).collect();
    dns.apply(&views).map(|_| ())
}

/// Applies every new published state until shutdown.
pub(crate) async fn follow(
    dns: DnsHandle,
    mut published: watch::Receiver<Published>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = published.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
        let snapshot = published.borrow_and_update().clone();
        let started = tokio::time::Instant::now();
        match apply_now(&dns, &snapshot) {
            Ok(()) => tracing::debug!(
                elapsed_us = started.elapsed().as_micros() as u64,
                "dns views applied"
            ),
            // A view the authority cannot serve is a bug or a config mismatch; keep serving the
            // last good snapshot and say so loudly rather than stop answering.
            Err(e) => {
                tracing::error!(error = %e, "dns enactor could not apply the committed state")
            }
        }
    }
}
