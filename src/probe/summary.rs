//! From check states to what the node believes: per site and layer, per service, gates and
//! self-check, assembled into an [`Observation`]. Pure: no clock, no I/O.
//!
//! **Summary rule** (for a site's layer and for a service's app verdict): `Up` when any
//! check is up, `Down` only when every check is down, else `Unknown`. Checks of one layer
//! are redundant views of one path (several servers, several gateways), so one answering
//! check shows the site reachable at that layer, and one failing server is not a site
//! failure. Requiring unanimity for `Down` errs towards no failover, because a false
//! failover is as bad as a missed one; an unknown check (not yet confirmed) keeps the
//! layer unknown rather than down. A majority rule would let a partial outage of
//! redundant servers vote a whole site down.
//!
//! Checks named as readiness gates in any service policy are reported under `gates` only:
//! a lagging replica says "do not switch to it yet", not "this site is down".
//! Self-checks feed `self_ok`: the node votes only while every self-check is up.

use super::status::CheckStatus;
use crate::model::{
    CheckName, DomainId, Health, Layer, NodeId, Observation, ServiceId, SiteId, SiteView, Timestamp,
};
use std::collections::{BTreeMap, BTreeSet};

/// Who this node is and how checks map to sites, services and gates.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// This probe node.
    pub node: NodeId,
    /// Its failure domain.
    pub domain: DomainId,
    /// Every configured site (reported even when unmeasured, as unknown).
    pub sites: Vec<SiteId>,
    /// Per service, the indexes of its checks.
    pub services: Vec<(ServiceId, Vec<usize>)>,
    /// Check names used as readiness gates.
    pub gates: BTreeSet<CheckName>,
}

/// Combines several checks' states by the summary rule above.
pub fn fold(states: impl IntoIterator<Item = Health>) -> Health {
    let mut any = false;
    let mut all_down = true;
    for s in states {
        any = true;
        match s {
            Health::Up => return Health::Up,
            Health::Down => {}
            Health::Unknown => all_down = false,
        }
    }
    if any && all_down {
        Health::Down
    } else {
        Health::Unknown
    }
}

/// Builds the observation for `checks` (indexed as in `layout.services`).
pub fn observation(
    layout: &Layout,
    checks: &[CheckStatus],
    seq: u64,
    at: Timestamp,
) -> Observation {
    let counted = |c: &&CheckStatus| c.site.is_some() && !layout.gates.contains(&c.name);
    let mut sites = BTreeMap::new();
    for site in &layout.sites {
        let of = |layer: Layer| {
            fold(
                checks
                    .iter()
                    .filter(counted)
                    .filter(|c| c.site.as_ref() == Some(site) && c.layer == layer)
                    .map(|c| c.state),
            )
        };
        sites.insert(
            site.clone(),
            SiteView {
                app: of(Layer::App),
                host: of(Layer::Host),
                link: of(Layer::Link),
            },
        );
    }
    let mut services = BTreeMap::new();
    for (svc, idx) in &layout.services {
        let per_site = layout
            .sites
            .iter()
            .map(|site| {
                let h = fold(
                    idx.iter()
                        .filter_map(|i| checks.get(*i))
                        .filter(counted)
                        .filter(|c| c.site.as_ref() == Some(site) && c.layer == Layer::App)
                        .map(|c| c.state),
                );
                (site.clone(), h)
            })
            .collect();
        services.insert(svc.clone(), per_site);
    }
    let mut gates: BTreeMap<SiteId, BTreeMap<CheckName, Health>> = BTreeMap::new();
    for c in checks.iter().filter(|c| layout.gates.contains(&c.name)) {
        if let Some(site) = &c.site {
            gates
                .entry(site.clone())
                .or_default()
                .insert(c.name.clone(), c.state);
        }
    }
    let failing: Vec<String> = checks
        .iter()
        .filter(|c| c.site.is_none() && c.state != Health::Up)
        .map(|c| match (&c.state, &c.last_error) {
            (Health::Down, Some(e)) => format!("self-check {} down: {e}", c.name),
            (s, _) => format!("self-check {} {s}", c.name),
        })
        .collect();
    Observation {
        node: layout.node.clone(),
        domain: layout.domain.clone(),
        seq,
        at,
        self_ok: failing.is_empty(),
        self_detail: (!failing.is_empty()).then(|| failing.join("; ")),
        sites,
        services,
        gates,
    }
}
