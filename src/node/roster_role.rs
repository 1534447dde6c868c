//! An authority announces itself in the roster (see [`crate::store::roster`]): its admin URL,
//! the epoch its enactors applied per service, whether it is cut off, its version. Announced
//! again whenever one of these changes (an enactor's report, the standing), never on a timer.

use super::NodeError;
use super::tasks::Tasks;
use crate::config::Config;
use crate::enact::{Report, Reports};
use crate::model::{Epoch, ServiceId};
use crate::store::{AuthorityRecord, Roster, Standing, Stores};
use std::collections::BTreeMap;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Per enactor and service it enacts, the epoch it has applied (0: none it knows of).
type Applied = BTreeMap<(&'static str, ServiceId), Epoch>;

/// What this node's enactors have applied when the roster starts: each enacts, per service,
/// the committed epoch then (the first apply at start succeeded, or the node would not run
/// (DNS) or it reported a failure (routes)), then every report recorded so far on top.
/// The DNS enactor reports only changed answers, so one restarted over an unchanged state
/// reports nothing: hence the committed baseline.
fn baseline(cfg: &Config, stores: &Stores, reports: &Reports) -> Applied {
    let committed = stores.decisions.watch().borrow().clone();
    let enactors = reports.enactors();
    let mut applied = Applied::new();
    for s in &cfg.services {
        let Some(record) = committed.get(&s.name) else {
            continue;
        };
        // Routes enact only the services that have a VIP.
        for e in enactors
            .iter()
            .filter(|e| **e != "route" || s.vip.is_some())
        {
            applied.insert((*e, s.name.clone()), record.committed.decision.epoch);
        }
    }
    for (enactor, by) in reports.snapshot() {
        for (_, a) in by {
            note(&mut applied, enactor, a);
        }
    }
    applied
}

/// One report: a success is the enactor's epoch now; a failure at or below what it had means
/// it no longer surely answers that (0), a failure of a newer epoch leaves the older one.
fn note(applied: &mut Applied, enactor: &'static str, a: crate::enact::Applied) {
    let slot = applied.entry((enactor, a.service)).or_insert(Epoch(0));
    if a.error.is_none() {
        *slot = a.epoch;
    } else if *slot >= a.epoch {
        *slot = Epoch(0);
    }
}

/// Per service, the lowest epoch any of its enactors applied: what this node surely answers.
fn epochs(applied: &Applied) -> BTreeMap<ServiceId, Epoch> {
    let mut out: BTreeMap<ServiceId, Epoch> = BTreeMap::new();
    for ((_, s), e) in applied {
        out.entry(s.clone())
            .and_modify(|o| *o = (*o).min(*e))
            .or_insert(*e);
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
    // Subscribe before reading what is there, so no report falls between.
    let stream = reports.subscribe();
    let applied = baseline(cfg, stores, &reports);
    // Announced before the node is ready, so its first status already lists it.
    roster.announce(AuthorityRecord {
        epochs: epochs(&applied),
        stale_since: standing.borrow().stale_since,
        ..base.clone()
    });
    let task = announce(roster, base, applied, stream, reports, standing, token);
    tasks.spawn("roster", task);
}

async fn announce(
    roster: Roster,
    base: AuthorityRecord,
    mut applied: Applied,
    mut stream: broadcast::Receiver<Report>,
    reports: Reports,
    mut standing: watch::Receiver<Standing>,
    shutdown: CancellationToken,
) -> Result<(), NodeError> {
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
                Ok(r) => note(&mut applied, r.enactor, r.applied),
                // Missed reports: the latest of each is in the snapshot.
                Err(RecvError::Lagged(_)) => {
                    for (enactor, by) in reports.snapshot() {
                        for (_, a) in by {
                            note(&mut applied, enactor, a);
                        }
                    }
                }
                // Reports outlive the node's tasks; closed means shutting down.
                Err(RecvError::Closed) => shutdown.cancelled().await,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enact::Verification;
    use std::time::Duration;

    fn report(service: &ServiceId, epoch: u64, error: Option<&str>) -> crate::enact::Applied {
        crate::enact::Applied {
            service: service.clone(),
            epoch: Epoch(epoch),
            error: error.map(str::to_owned),
            took: Duration::ZERO,
            verification: Verification::NotChecked,
        }
    }

    #[test]
    fn a_service_is_at_the_lowest_epoch_its_enactors_applied() {
        let crm = ServiceId::from("crm");
        let mut applied: Applied = [
            (("dns", crm.clone()), Epoch(2)),
            (("route", crm.clone()), Epoch(2)),
        ]
        .into();
        note(&mut applied, "dns", report(&crm, 3, None));
        assert_eq!(epochs(&applied)[&crm], Epoch(2), "routes still at 2");
        note(
            &mut applied,
            "route",
            report(&crm, 3, Some("no such device")),
        );
        assert_eq!(
            epochs(&applied)[&crm],
            Epoch(2),
            "a failed newer epoch leaves the older"
        );
        note(&mut applied, "route", report(&crm, 3, None));
        assert_eq!(epochs(&applied)[&crm], Epoch(3));
        note(&mut applied, "route", report(&crm, 3, Some("gone")));
        assert_eq!(
            epochs(&applied)[&crm],
            Epoch(0),
            "a failure at its own epoch: unknown"
        );
    }
}
