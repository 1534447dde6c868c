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
//! a lagging replica says "do not switch to it yet", not "this site is down". Several
//! files may define the same gate for a site (each service's database); the gate is up only
//! when all of them are up ([`fold_gate`]), since a switch must wait for every replica.
//! Self-checks feed `self_ok`: the node votes only while every self-check is up.
//!
//! **Corroboration** (the policy reads it, see `policy::evaluate`): a site is `cut` when it
//! has link checks and every one is an `iface` check down on definitive evidence (carrier
//! gone on this probe's only paths to it); it is `silent` when it has at least one app and
//! one host check and every one of them has timed out `silence` times in a row. Two layers
//! falling silent together is a black hole; loss leaves one of them answering now and then.

use super::evidence::Evidence;
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

/// Combines definitions of one gate: `Down` if any is down, `Up` if all are up, else `Unknown`.
pub fn fold_gate(states: impl IntoIterator<Item = Health>) -> Health {
    let mut out = Health::Up;
    for s in states {
        match s {
            Health::Down => return Health::Down,
            Health::Unknown => out = Health::Unknown,
            Health::Up => {}
        }
    }
    out
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
        let mine = |layer: Layer| {
            checks
                .iter()
                .filter(counted)
                .filter(move |c| c.site.as_ref() == Some(site) && c.layer == layer)
        };
        let links: Vec<_> = mine(Layer::Link).collect();
        let cut = !links.is_empty()
            && links.iter().all(|c| {
                c.kind == "iface"
                    && c.state == Health::Down
                    && c.down_by == Some(Evidence::Definitive)
            });
        let quiet = |layer: Layer| {
            let v: Vec<_> = mine(layer).collect();
            !v.is_empty() && v.iter().all(|c| c.silent)
        };
        let silent = quiet(Layer::App) && quiet(Layer::Host);
        sites.insert(
            site.clone(),
            SiteView {
                app: of(Layer::App),
                host: of(Layer::Host),
                link: of(Layer::Link),
                cut,
                silent,
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
    let mut failing: Vec<String> = checks
        .iter()
        .filter(|c| c.site.is_none() && c.state != Health::Up)
        .map(|c| match (&c.state, &c.last_error) {
            (Health::Down, Some(e)) => format!("self-check {} down: {e}", c.name),
            (s, _) => format!("self-check {} {s}", c.name),
        })
        .collect();
    // Local trouble on this prober (EMFILE, no route from here): it is no evidence about
    // any site, so the node abstains until its checks run cleanly again.
    failing.extend(checks.iter().filter_map(|c| {
        c.local
            .as_ref()
            .map(|why| format!("check {}: {why}", c.name))
    }));
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

#[cfg(test)]
mod tests {
    use super::*;
    use Health::*;

    fn check(name: &str, site: Option<&str>, layer: Layer, state: Health) -> CheckStatus {
        CheckStatus {
            name: name.into(),
            site: site.map(SiteId::from),
            layer,
            kind: "tcp",
            state,
            last_ok: None,
            last_error: (state == Down).then(|| "refused".to_owned()),
            last_rtt: None,
            detail: String::new(),
            runs: 1,
            failures: 0,
            last_change: None,
            local: None,
            last_evidence: None,
            degraded: false,
            silent: false,
            down_by: (state == Down).then_some(Evidence::Definitive),
        }
    }

    fn layout() -> Layout {
        Layout {
            node: "p1".into(),
            domain: "bj".into(),
            sites: vec!["bj".into(), "sh".into()],
            services: vec![("crm".into(), vec![0, 1, 4]), ("billing".into(), vec![2])],
            gates: ["lag-sh".into()].into(),
        }
    }

    #[test]
    fn fold_is_any_up_all_down_else_unknown() {
        assert_eq!(fold([Down, Up, Unknown]), Up);
        assert_eq!(fold([Down, Down]), Down);
        assert_eq!(fold([Down, Unknown]), Unknown);
        assert_eq!(fold([]), Unknown);
        assert_eq!(fold_gate([Up, Unknown]), Unknown);
        assert_eq!(fold_gate([Up, Down, Unknown]), Down);
        assert_eq!(fold_gate([Up, Up]), Up);
    }

    #[test]
    fn observation_splits_sites_services_gates_and_self() {
        let checks = vec![
            check("crm-bj", Some("bj"), Layer::App, Down),
            check("crm-sh", Some("sh"), Layer::App, Up),
            check("bill-bj", Some("bj"), Layer::App, Up),
            check("host-bj", Some("bj"), Layer::Host, Up),
            check("lag-sh", Some("sh"), Layer::App, Down),
            check("uplink", None, Layer::Link, Up),
        ];
        let o = observation(&layout(), &checks, 7, Timestamp(1000));
        assert_eq!((o.seq, o.at, o.self_ok), (7, Timestamp(1000), true));
        assert_eq!(
            o.sites[&SiteId::from("bj")].app,
            Up,
            "billing still answers at bj"
        );
        assert_eq!(o.sites[&SiteId::from("bj")].host, Up);
        assert_eq!(o.sites[&SiteId::from("bj")].link, Unknown, "unmeasured");
        assert_eq!(
            o.sites[&SiteId::from("sh")].app,
            Up,
            "the gate does not count as app health"
        );
        assert_eq!(o.services[&"crm".into()][&"bj".into()], Down);
        assert_eq!(o.services[&"crm".into()][&"sh".into()], Up);
        assert_eq!(o.services[&"billing".into()][&"sh".into()], Unknown);
        assert_eq!(o.gates[&"sh".into()][&"lag-sh".into()], Down);
    }

    #[test]
    fn local_trouble_abstains_and_never_votes_a_site_down() {
        let mut checks = vec![
            check("bj-app", Some("bj"), Layer::App, Up),
            check("sh-app", Some("sh"), Layer::App, Up),
        ];
        checks[1].local = Some("local trouble, abstaining: connect: EMFILE".into());
        let o = observation(&layout(), &checks, 3, Timestamp(0));
        assert!(!o.self_ok);
        assert!(
            o.self_detail
                .as_deref()
                .is_some_and(|d| d.contains("EMFILE")),
            "{o:?}"
        );
    }

    #[test]
    fn a_cut_path_and_silence_on_two_layers_corroborate() {
        let bj = SiteId::from("bj");
        let mut link = check("transit-bj", Some("bj"), Layer::Link, Down);
        link.kind = "iface";
        let mut checks = vec![
            check("crm-bj", Some("bj"), Layer::App, Up),
            check("host-bj", Some("bj"), Layer::Host, Up),
            link,
        ];
        let o = observation(&layout(), &checks, 1, Timestamp(0));
        assert!(o.sites[&bj].cut && !o.sites[&bj].silent);
        // A gateway ping judged down over its window is not a cut path.
        checks[2].kind = "icmp";
        assert!(!observation(&layout(), &checks, 2, Timestamp(0)).sites[&bj].cut);
        checks[0].silent = true;
        assert!(
            !observation(&layout(), &checks, 3, Timestamp(0)).sites[&bj].silent,
            "the host still answers: loss, not a black hole"
        );
        checks[1].silent = true;
        assert!(observation(&layout(), &checks, 4, Timestamp(0)).sites[&bj].silent);
    }

    #[test]
    fn a_failing_self_check_abstains_and_says_why() {
        let mut checks = vec![check("uplink", None, Layer::Link, Down)];
        let o = observation(&layout(), &checks, 1, Timestamp(0));
        assert!(!o.self_ok);
        assert_eq!(
            o.self_detail.as_deref(),
            Some("self-check uplink down: refused")
        );
        checks[0].state = Unknown;
        assert!(
            !observation(&layout(), &checks, 2, Timestamp(0)).self_ok,
            "unconfirmed uplink abstains"
        );
    }
}
