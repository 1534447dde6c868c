//! Wire-level conformance details the Catalog does not handle (issue #13, each checked
//! against NSD in `tests/integration/dns_conformance.rs`):
//!
//! - RFC 3225: the DO bit of the query's OPT record is copied into the response's OPT;
//! - RFC 6891 §6.1.1: a query with more than one OPT record gets FORMERR;
//! - queries of a class other than IN are refused (the zones are class IN only).

/// Whether the question's name uses a compression pointer. The question is the first name of
/// a message, so a pointer can only point into the header: never legitimate, and hickory
/// would echo it into a reply whose header no longer matches (found by the fuzz harness).
pub(crate) fn question_has_pointer(query: &[u8]) -> bool {
    let mut pos = 12;
    while let Some(&len) = query.get(pos) {
        match len {
            0 => return false,
            l if l & 0xc0 != 0 => return true,
            l => pos += usize::from(l) + 1,
        }
    }
    false
}

/// Offset just past the name starting at `pos` (labels or a compression pointer).
fn skip_name(m: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *m.get(pos)?;
        match len {
            0 => return Some(pos + 1),
            l if l & 0xc0 == 0xc0 => return Some(pos + 2).filter(|&p| p <= m.len()),
            l if l & 0xc0 == 0 => pos += usize::from(l) + 1,
            _ => return None,
        }
    }
}

fn u16_at(m: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*m.get(at)?, *m.get(at + 1)?]))
}

/// Offsets of every resource record after the question section: (start of TYPE, end).
fn records(m: &[u8]) -> Option<(usize, Vec<(usize, usize)>)> {
    let qd = u16_at(m, 4)?;
    let rrs = usize::from(u16_at(m, 6)?) + usize::from(u16_at(m, 8)?) + usize::from(u16_at(m, 10)?);
    let mut pos = 12;
    for _ in 0..qd {
        pos = skip_name(m, pos)? + 4;
    }
    let question_end = pos;
    let mut out = Vec::with_capacity(rrs.min(64));
    for _ in 0..rrs {
        let at = skip_name(m, pos)?;
        let rdlen = usize::from(u16_at(m, at + 8)?);
        let end = at + 10 + rdlen;
        if end > m.len() {
            return None;
        }
        out.push((at, end));
        pos = end;
    }
    Some((question_end, out))
}

/// Whether the query's OPT record has the DO bit (RFC 3225).
#[cfg(test)]
pub(crate) fn dnssec_ok(query: &[u8]) -> bool {
    records(query).is_some_and(|(_, rrs)| {
        rrs.iter()
            .any(|&(at, _)| u16_at(query, at) == Some(41) && query[at + 6] & 0x80 != 0)
    })
}

/// Sets the DO bit on the response's OPT record, if it has one.
pub(crate) fn set_dnssec_ok(response: &mut [u8]) {
    if let Some((_, rrs)) = records(response) {
        for (at, _) in rrs {
            if u16_at(response, at) == Some(41) {
                response[at + 6] |= 0x80;
            }
        }
    }
}

/// FORMERR for a query with more than one OPT record (RFC 6891 §6.1.1): header and question
/// echoed, no OPT. `false` when `query` is not such a query.
pub(crate) fn formerr_for_two_opts(query: &[u8], out: &mut Vec<u8>) -> bool {
    if query.len() < 12 || query[2] & 0x80 != 0 || question_has_pointer(query) {
        return false;
    }
    let Some((question_end, rrs)) = records(query) else {
        return false;
    };
    let opts = rrs
        .iter()
        .filter(|&&(at, _)| u16_at(query, at) == Some(41))
        .count();
    if opts < 2 {
        return false;
    }
    out.clear();
    out.extend_from_slice(&query[..question_end]);
    // QR=1, opcode and RD kept, AA/TC=0; RA=0, RCODE=FORMERR; no records.
    out[2] = 0x80 | (query[2] & 0x79);
    out[3] = 0x01;
    out[6..12].fill(0);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_server::proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
    use hickory_server::proto::rr::{Name, RecordType};

    fn query(dnssec: bool) -> Vec<u8> {
        let mut m = Message::new(9, MessageType::Query, OpCode::Query);
        m.add_query(Query::query(
            Name::from_ascii("a.example.").expect("name"),
            RecordType::A,
        ));
        let mut e = Edns::new();
        if dnssec {
            e.enable_dnssec();
        }
        m.set_edns(e);
        m.to_vec().expect("encode")
    }

    #[test]
    fn do_bit_is_read_and_set() {
        assert!(dnssec_ok(&query(true)));
        let mut r = query(false);
        assert!(!dnssec_ok(&r));
        set_dnssec_ok(&mut r);
        assert!(dnssec_ok(&r));
    }

    #[test]
    fn a_pointer_in_the_question_is_found() {
        let q = hex::decode("424200000001000000000000c0026e78026e").expect("hex");
        assert!(question_has_pointer(&q));
        assert!(!question_has_pointer(&query(false)));
    }

    #[test]
    fn two_opts_get_formerr() {
        let mut q = query(false);
        let opt = q[q.len() - 11..].to_vec();
        q.extend_from_slice(&opt);
        q[11] = 2;
        let mut out = Vec::new();
        assert!(formerr_for_two_opts(&q, &mut out));
        let m = Message::from_vec(&out).expect("parses");
        assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
        assert_eq!(m.metadata.id, 9);
        assert!(!formerr_for_two_opts(&query(true), &mut out));
        assert!(!formerr_for_two_opts(&[0u8; 5], &mut out));
    }
}
