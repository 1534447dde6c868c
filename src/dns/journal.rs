//! The IXFR journal: what each serial bump removed and added, for incremental transfers.
//!
//! Only service answers change at run time, so a delta is "these rrsets out, these in". A
//! zone keeps the last [`DEPTH`] deltas; a secondary at an older or unknown serial (e.g.
//! after our restart, which starts the journal afresh) gets a full transfer (RFC 1995 §4).

use std::collections::VecDeque;
use std::sync::Arc;

use hickory_server::proto::rr::{RData, Record};

/// Deltas kept per zone.
pub(crate) const DEPTH: usize = 64;

/// One serial bump of one zone.
#[derive(Debug)]
pub(crate) struct Delta {
    pub(crate) from: u32,
    pub(crate) to: u32,
    pub(crate) removed: Vec<Record>,
    pub(crate) added: Vec<Record>,
}

/// A zone's recent deltas, oldest first.
pub(crate) type Journal = VecDeque<Arc<Delta>>;

/// Appends a delta, dropping the oldest beyond [`DEPTH`].
pub(crate) fn push(journal: &mut Journal, delta: Delta) {
    journal.push_back(Arc::new(delta));
    while journal.len() > DEPTH {
        journal.pop_front();
    }
}

/// The deltas leading from `from` to `to`, if the journal holds an unbroken chain.
pub(crate) fn chain(journal: &[Arc<Delta>], from: u32, to: u32) -> Option<&[Arc<Delta>]> {
    let start = journal.iter().position(|d| d.from == from)?;
    let tail = &journal[start..];
    let contiguous = tail.windows(2).all(|w| w[0].to == w[1].from);
    (contiguous && tail.last().is_some_and(|d| d.to == to)).then_some(tail)
}

/// The SOA record with another serial (the IXFR "version markers").
pub(crate) fn soa_at(soa: &Record, serial: u32) -> Record {
    let mut r = soa.clone();
    if let RData::SOA(s) = &soa.data {
        r.data = RData::SOA(hickory_server::proto::rr::rdata::SOA::new(
            s.mname.clone(),
            s.rname.clone(),
            serial,
            s.refresh,
            s.retry,
            s.expire,
            s.minimum,
        ));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(from: u32, to: u32) -> Delta {
        Delta {
            from,
            to,
            removed: vec![],
            added: vec![],
        }
    }

    #[test]
    fn chains_only_when_unbroken_and_bounded() {
        let mut j = Journal::new();
        for s in 1..=100u32 {
            push(&mut j, d(s, s + 1));
        }
        assert_eq!(j.len(), DEPTH);
        let v: Vec<Arc<Delta>> = j.into_iter().collect();
        assert_eq!(chain(&v, 90, 101).map(<[_]>::len), Some(11));
        assert!(chain(&v, 5, 101).is_none(), "fell out of the journal");
        assert!(
            chain(&v, 90, 100).is_none(),
            "does not end at the current serial"
        );
    }
}
