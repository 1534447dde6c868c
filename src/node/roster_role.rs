//! An authority announces itself in the roster (see [`crate::store::roster`]): its admin URL,
//! the epoch its enactors applied per service, whether it is cut off, its version. Announced
//! again whenever one of these changes (an enactor's report, the standing), never on a timer.

use super::NodeError;
use super::tasks::Tasks;
use crate::config::Config;
use crate::enact::Reports;
use crate::model::{Epoch, ServiceId};
use crate::store::{AuthorityRecord, Roster, Standing, Stores};
use std::collections::BTreeMap;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The latest successfully applied epoch per enactor and service.
type Applied = BTreeMap<&'static str, BTreeMap<ServiceId, Epoch>>;

fn from_snapshot(reports: &Reports) -> Applied {
    reports
        .snapshot()
        .into_iter()
        .map(|(enactor, by)| {
            let ok = by
                .into_iter()
                .filter(|(_, a)| a.ok())
                .map(|(s, a)| (s, a.epoch))
                .collect();
            (enactor, ok)
        })
        .collect()
}

/// Per service, the lowest epoch any enactor applied: what this node surely answers.
fn epochs(applied: &Applied) -> BTreeMap<ServiceId, Epoch> {
    let mut out: BTreeMap<ServiceId, Epoch> = BTreeMap::new();
    for by in applied.values() {
        for (s, e) in by {
            out.entry(s.clone())
                .and_modify(|o| *o = (*o).min(*e))
                .or_insert(*e);
        }
    }
    out
}

/// Start announcing this authority (an authority only).
pub(super) fn start(
    cfg: &Config,
    stores: &Stores,
    reports: &Reports,
    admin: String,
    tasks: &mut Tasks,
) {
    if !cfg.has_role(crate::config::Role::Authority) {
        return;
    }
    let (roster, standing, token) = (
        stores.roster.clone(),
        stores.standing.clone(),
        tasks.token(),
    );
    let (node, reports) = (cfg.node.id.clone(), reports.clone());
    let base = AuthorityRecord {
        node,
        admin: Some(admin),
        epochs: BTreeMap::new(),
        stale_since: None,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    // Announced before the node is ready, so its first status already lists it.
    roster.announce(AuthorityRecord {
        epochs: epochs(&from_snapshot(&reports)),
        stale_since: standing.borrow().stale_since,
        ..base.clone()
    });
    tasks.spawn("roster", announce(roster, base, reports, standing, token));
}

async fn announce(
    roster: Roster,
    base: AuthorityRecord,
    reports: Reports,
    mut standing: watch::Receiver<Standing>,
    shutdown: CancellationToken,
) -> Result<(), NodeError> {
    // Subscribe before reading what is there, so no report falls between.
    let mut stream = reports.subscribe();
    let mut applied = from_snapshot(&reports);
    // A single-process store's standing never changes (its sender is gone).
    let mut standing_open = true;
    loop {
        roster.announce(AuthorityRecord {
            epochs: epochs(&applied),
            stale_since: standing.borrow_and_update().stale_since,
            ..base.clone()
        });
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            changed = standing.changed(), if standing_open => standing_open = changed.is_ok(),
            r = stream.recv() => match r {
                Ok(r) if r.applied.ok() => {
                    applied
                        .entry(r.enactor)
                        .or_default()
                        .insert(r.applied.service, r.applied.epoch);
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => applied = from_snapshot(&reports),
                // Reports outlive the node's tasks; closed means shutting down.
                Err(RecvError::Closed) => shutdown.cancelled().await,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_is_at_the_lowest_epoch_its_enactors_applied() {
        let crm = ServiceId::from("crm");
        let applied: Applied = [
            ("dns", [(crm.clone(), Epoch(3))].into()),
            ("route", [(crm.clone(), Epoch(2))].into()),
        ]
        .into();
        assert_eq!(epochs(&applied)[&crm], Epoch(2));
    }
}
