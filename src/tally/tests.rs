//! Verifier and tally: every drop reason, key rotation, quorum arithmetic, staleness, abstention.

use super::*;
use crate::config::Voter;
use crate::fixture;
use crate::model::{DomainId, Health, NodeId, Observation, Timestamp};
use std::time::Duration;

fn voters() -> Vec<Voter> {
    ["p0:bj", "p1:sh", "p2:gz"]
        .iter()
        .filter_map(|s| s.split_once(':'))
        .map(|(n, d)| Voter {
            id: NodeId::from(n),
            domain: DomainId::from(d),
        })
        .collect()
}

fn obs(node: &str, domain: &str, seq: u64, at: u64) -> Observation {
    fixture::obs(node, domain, seq, at).build()
}

fn verifier() -> Verifier {
    Verifier::new(
        vec![b"new-key".to_vec(), b"old-key".to_vec()],
        &voters(),
        Duration::from_secs(1),
    )
}

#[test]
fn a_signed_observation_verifies_with_any_configured_key() {
    let mut v = verifier();
    let s = Verifier::sign(b"old-key", &obs("p0", "bj", 1, 1_000));
    assert_eq!(v.verify(&s, Timestamp(1_100)).map(|o| o.seq), Ok(1));
    let s = Verifier::sign_with_id(b"new-key", 0, &obs("p0", "bj", 2, 1_000));
    assert_eq!(v.verify(&s, Timestamp(1_100)).map(|o| o.seq), Ok(2));
    // The wire format round-trips and still verifies.
    let s = Verifier::sign(b"new-key", &obs("p1", "sh", 7, 1_000));
    let json = serde_json::to_string(&s).unwrap_or_default();
    let back: SignedObservation =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
    assert_eq!(v.verify(&back, Timestamp(1_000)).map(|o| o.seq), Ok(7));
}

#[test]
fn every_drop_reason_names_the_peer() {
    let mut v = verifier();
    let p0 = NodeId::from("p0");
    let cases: Vec<(SignedObservation, u64, &str)> = vec![
        (
            Verifier::sign(b"wrong", &obs("p0", "bj", 1, 1_000)),
            1_000,
            "bad_signature",
        ),
        (
            Verifier::sign_with_id(b"old-key", 0, &obs("p0", "bj", 1, 1_000)),
            1_000,
            "bad_signature",
        ),
        (
            Verifier::sign(b"new-key", &obs("mallory", "bj", 1, 1_000)),
            1_000,
            "unknown_voter",
        ),
        (
            Verifier::sign(b"new-key", &obs("p0", "sh", 1, 1_000)),
            1_000,
            "domain_mismatch",
        ),
        (
            Verifier::sign(b"new-key", &obs("p0", "bj", 1, 1_000)),
            2_000,
            "stale",
        ),
        (
            Verifier::sign(b"new-key", &obs("p0", "bj", 1, 5_000)),
            1_000,
            "from_future",
        ),
    ];
    for (s, now, label) in cases {
        let r = v.verify(&s, Timestamp(now));
        let e = r.err().unwrap_or_else(|| panic!("{label}: accepted"));
        assert_eq!(e.label(), label, "{e}");
        assert_eq!(e.node(), &s.observation.node);
    }
    // Tampering after signing breaks the signature.
    let mut s = Verifier::sign(b"new-key", &obs("p0", "bj", 1, 1_000));
    s.observation.self_ok = false;
    assert_eq!(
        v.verify(&s, Timestamp(1_000)).err().map(|e| e.label()),
        Some("bad_signature")
    );
    // Replays, duplicates and reorders.
    let s5 = Verifier::sign(b"new-key", &obs("p0", "bj", 5, 1_000));
    let s4 = Verifier::sign(b"new-key", &obs("p0", "bj", 4, 1_000));
    assert!(v.verify(&s5, Timestamp(1_000)).is_ok());
    assert_eq!(
        v.verify(&s5, Timestamp(1_000)),
        Err(Rejected::Replayed {
            node: p0.clone(),
            seq: 5,
            last: 5
        })
    );
    assert_eq!(
        v.verify(&s4, Timestamp(1_000)),
        Err(Rejected::Replayed {
            node: p0,
            seq: 4,
            last: 5
        })
    );
    // An old replay is a replay (the telling reason), not merely stale.
    assert_eq!(
        v.verify(&s4, Timestamp(9_000)).err().map(|e| e.label()),
        Some("replayed")
    );
}

#[test]
fn quorum_needs_votes_and_domains_and_down_wins_a_tie() {
    let mut c = Count::default();
    c.add(Health::Down, 0);
    c.add(Health::Down, 0);
    assert_eq!(
        c.verdict(2, 2),
        Health::Unknown,
        "two votes from one domain"
    );
    assert_eq!(c.verdict(2, 1), Health::Down);
    c.add(Health::Up, 1);
    c.add(Health::Up, 2);
    assert_eq!(
        c.verdict(2, 2),
        Health::Up,
        "the down votes lack domains; the up votes have them"
    );
    c.add(Health::Down, 1);
    assert_eq!(
        c.verdict(2, 2),
        Health::Down,
        "a down quorum beats an up quorum"
    );
    assert_eq!(
        Count::default().verdict(0, 0),
        Health::Unknown,
        "quorum 0 still needs one vote"
    );
}

#[test]
fn the_tally_keeps_the_newest_and_sets_aside_stale_and_abstaining() {
    let mut t = Tally::new(&voters(), Duration::from_secs(1));
    assert_eq!(
        t.record(obs("p0", "bj", 2, 1_000)),
        Recorded::Stored {
            view_changed: true,
            self_ok_changed: None
        }
    );
    assert_eq!(t.record(obs("p0", "bj", 1, 1_100)), Recorded::Ignored);
    assert_eq!(
        t.record(obs("p0", "bj", 3, 1_200)),
        Recorded::Stored {
            view_changed: false,
            self_ok_changed: None
        }
    );
    let mut sick = obs("p1", "sh", 1, 1_200);
    sick.self_ok = false;
    assert_eq!(
        t.record(sick),
        Recorded::Stored {
            view_changed: true,
            self_ok_changed: Some(false)
        }
    );
    assert_eq!(t.record(obs("x", "bj", 1, 1_000)), Recorded::Ignored);
    assert_eq!(t.counting(Timestamp(1_500)).count(), 1);
    assert!(!t.quorum_possible(Timestamp(1_500), 2, 1));
    assert_eq!(
        t.counting(Timestamp(2_200)).count(),
        0,
        "p0 at 1200 is stale at 2200"
    );
    assert_eq!(t.next_expiry(Timestamp(1_500)), Some(Timestamp(2_200)));
    t.record(obs("p2", "gz", 1, 1_300));
    assert!(t.quorum_possible(Timestamp(1_500), 2, 2));
}
