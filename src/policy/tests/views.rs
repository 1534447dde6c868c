//! What the admin API and the DNS enactor read: status and votes.

use super::harness::*;
use crate::fixture;
use crate::model::{Health, Layer};
use crate::policy::Event;
use crate::tally::VoteState;

#[test]
fn status_shows_verdicts_layers_and_degradation() {
    let mut h = H::new(fixture::config(
        &[SVC],
        fixture::voters(3, 2),
        fixture::policy(),
    ));
    let st = &h.engine.status()[0];
    assert_eq!(st.mode, "auto");
    assert!(st.degraded, "nothing seen yet: degraded");
    h.run(500, 100, Up, Up);
    let st = &h.engine.status()[0];
    assert!(!st.degraded);
    assert!(st.quorum);
    let bj = &st.sites[&site("bj")];
    assert_eq!(
        (bj.role.as_str(), bj.verdict, bj.up, bj.down),
        ("primary", Health::Up, 3, 0)
    );
    assert_eq!(bj.layers[&Layer::Host.to_string()].up, 3);
    h.run(100, 100, Down, Up);
    let st = &h.engine.status()[0];
    assert!(
        st.degraded,
        "active site seen down: degraded before any switch"
    );
    assert_eq!(st.active_site, site("bj"));
    let json = serde_json::to_value(st).unwrap_or_default();
    assert_eq!(json["sites"]["bj"]["verdict"], "down");
}

#[test]
fn votes_show_counting_abstaining_stale_and_silent() {
    let mut h = H::new(fixture::config(
        &[SVC],
        fixture::voters(4, 2),
        fixture::policy(),
    ));
    h.see(&[0, 1], Up, Up);
    let voters = h.voters();
    h.seq += 1;
    let sick = obs(&voters[2], h.seq, h.now, Down, Down)
        .abstain("uplink down")
        .build();
    let out = h
        .input(crate::policy::Input::Observation(sick))
        .unwrap_or_default();
    assert!(
        events(&out)
            .iter()
            .any(|e| matches!(e, Event::Abstaining { detail: Some(d), .. } if d == "uplink down"))
    );
    h.now += 700;
    h.see(&[1], Up, Up);
    h.now += 500;
    let _ = h.input(crate::policy::Input::Tick);
    let v = h.engine.votes();
    let state = |n: &str| {
        v.nodes
            .iter()
            .find(|x| x.node.as_str() == n)
            .map(|x| x.state)
    };
    assert_eq!(state("p0"), Some(VoteState::Stale));
    assert_eq!(state("p1"), Some(VoteState::Counting));
    assert_eq!(state("p2"), Some(VoteState::Stale));
    assert_eq!(
        v.silent.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
        vec!["p3"]
    );
    assert_eq!(
        v.nodes
            .iter()
            .find(|x| x.node.as_str() == "p1")
            .map(|x| x.age_ms),
        Some(500)
    );
}

#[test]
fn event_kinds_are_unique_and_paging_is_deliberate() {
    use crate::model::{NodeId, ServiceId};
    let s = ServiceId::from(SVC);
    let all = [
        Event::PrimaryDown {
            service: s.clone(),
            site: site("bj"),
            reason: String::new(),
        },
        Event::Abstaining {
            node: NodeId::from("p0"),
            detail: None,
        },
        Event::Counting {
            node: NodeId::from("p0"),
        },
        Event::QuorumRestored { service: s.clone() },
        Event::FailbackAvailable {
            service: s,
            site: site("bj"),
        },
    ];
    let kinds: Vec<&str> = all.iter().map(|e| e.kind()).collect();
    let mut dedup = kinds.clone();
    dedup.dedup();
    assert_eq!(kinds, dedup);
    assert_eq!(
        all.iter().map(|e| e.page()).collect::<Vec<_>>(),
        vec![true, false, false, false, false]
    );
    for e in &all {
        e.log();
        let json = serde_json::to_value(e).unwrap_or_default();
        assert_eq!(json["kind"], e.kind(), "serde tag and kind() agree");
    }
}
