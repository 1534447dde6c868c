//! The fast path: pre-rendered answers for the names resolvers ask all the time.
//!
//! A snapshot renders, per hot name and query type, the whole response message once (two
//! variants: without and with an EDNS OPT record). Answering a query is then a header check,
//! a hash lookup on the lower-cased name, a copy, and two patches: the query's ID and flags,
//! and the query's own question bytes (so the client's letter case is echoed). Anything the
//! fast path is not sure about — other opcodes, classes, EDNS versions, TSIG, extra records,
//! sizes over the client's limit — returns `None` and goes to hickory's Catalog.

use std::collections::HashMap;

use hickory_server::proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_server::proto::rr::{Name, Record, RecordType};

/// The EDNS buffer size we advertise and cap UDP answers at (DNS flag day 2020).
pub(crate) const EDNS_PAYLOAD: u16 = 1232;

/// Both encodings of one response.
#[derive(Clone, Debug)]
pub(crate) struct Rendered {
    plain: Box<[u8]>,
    edns: Box<[u8]>,
}

/// The responses for one owner name.
#[derive(Clone, Debug, Default)]
pub(crate) struct HotName {
    by_type: Vec<(u16, Rendered)>,
    /// For every other query type (service names: NODATA); `None` sends them to the Catalog.
    other: Option<Rendered>,
}

/// Pre-rendered responses keyed by the lower-case wire-format query name.
#[derive(Clone, Debug, Default)]
pub(crate) struct HotTable {
    names: HashMap<Box<[u8]>, HotName>,
}

/// What the sections of a response hold, before rendering.
pub(crate) struct Sections<'a> {
    pub(crate) rcode: ResponseCode,
    pub(crate) answers: Vec<&'a Record>,
    pub(crate) authorities: Vec<&'a Record>,
}

impl Rendered {
    /// Renders a response to `qname`/`qtype` (class IN) with the given sections.
    pub(crate) fn render(qname: &Name, qtype: RecordType, s: &Sections<'_>) -> Option<Self> {
        let mut m = Message::new(0, MessageType::Response, OpCode::Query);
        m.metadata.authoritative = true;
        m.metadata.response_code = s.rcode;
        m.add_query(Query::query(qname.to_lowercase(), qtype));
        m.add_answers(s.answers.iter().map(|r| (*r).clone()));
        m.add_authorities(s.authorities.iter().map(|r| (*r).clone()));
        let plain = m.to_vec().ok()?;
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        m.set_edns(edns);
        let with_edns = m.to_vec().ok()?;
        Some(Self {
            plain: plain.into(),
            edns: with_edns.into(),
        })
    }
}

impl HotName {
    /// Adds the response for one query type.
    pub(crate) fn set(&mut self, qtype: RecordType, r: Rendered) {
        self.by_type.push((u16::from(qtype), r));
    }

    /// Sets the response for every query type not set explicitly.
    pub(crate) fn set_other(&mut self, r: Rendered) {
        self.other = Some(r);
    }
}

impl HotTable {
    /// Adds (or replaces) the responses of a name.
    pub(crate) fn insert(&mut self, name: &Name, hot: HotName) {
        self.names.insert(wire_key(name).into(), hot);
    }

    /// Writes the response to `query` into `out` if this table can answer it alone.
    pub(crate) fn answer(&self, query: &[u8], out: &mut Vec<u8>) -> bool {
        let Some(q) = parse(query) else {
            return false;
        };
        let Some(name) = self.names.get(&q.key[..q.key_len]) else {
            return false;
        };
        let rendered = name
            .by_type
            .iter()
            .find(|(t, _)| *t == q.qtype)
            .map(|(_, r)| r)
            .or(name.other.as_ref());
        let Some(rendered) = rendered else {
            return false;
        };
        let (bytes, limit) = match q.edns_payload {
            None => (&rendered.plain, 512),
            Some(p) => (&rendered.edns, usize::from(p.clamp(512, EDNS_PAYLOAD))),
        };
        if bytes.len() > limit || bytes.len() < q.question_end {
            return false;
        }
        out.clear();
        out.extend_from_slice(bytes);
        out[0] = query[0];
        out[1] = query[1];
        // QR=1, opcode 0, AA=1, TC=0, RD copied; RA=0, Z/AD=0, CD copied, RCODE kept.
        out[2] = 0x84 | (query[2] & 0x01);
        out[3] = (out[3] & 0x0f) | (query[3] & 0x10);
        out[12..q.question_end].copy_from_slice(&query[12..q.question_end]);
        true
    }
}

/// The lower-case wire form of a name (the hash key).
fn wire_key(name: &Name) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    for label in name.iter() {
        out.push(label.len() as u8);
        out.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    out.push(0);
    out
}

/// The parts of a plain query the fast path needs.
struct Parsed {
    key: [u8; 255],
    key_len: usize,
    qtype: u16,
    /// Offset just past QCLASS.
    question_end: usize,
    edns_payload: Option<u16>,
}

/// Parses a standard query with one question and at most one OPT record; `None` otherwise.
fn parse(q: &[u8]) -> Option<Parsed> {
    if q.len() < 17 {
        return None;
    }
    // QR=0, OPCODE=0, TC=0; QDCOUNT=1, ANCOUNT=0, NSCOUNT=0, ARCOUNT<=1.
    if q[2] & 0xfa != 0 || q[4..10] != [0, 1, 0, 0, 0, 0] || q[10] != 0 || q[11] > 1 {
        return None;
    }
    let mut key = [0u8; 255];
    let mut pos = 12;
    let mut key_len = 0;
    loop {
        let len = usize::from(*q.get(pos)?);
        if len > 63 || key_len + len + 1 > 255 {
            return None;
        }
        key[key_len] = len as u8;
        let label = q.get(pos + 1..pos + 1 + len)?;
        for (i, b) in label.iter().enumerate() {
            key[key_len + 1 + i] = b.to_ascii_lowercase();
        }
        key_len += len + 1;
        pos += len + 1;
        if len == 0 {
            break;
        }
    }
    let fixed = q.get(pos..pos + 4)?;
    let qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    if fixed[2..4] != [0, 1] {
        return None;
    }
    let question_end = pos + 4;
    let edns_payload = if q[11] == 1 {
        // OPT: root name, TYPE 41, CLASS = payload, TTL = ext-rcode, version, flags; RDLEN; RDATA.
        let opt = q.get(question_end..question_end + 11)?;
        if opt[0] != 0 || opt[1..3] != [0, 41] || opt[6] != 0 {
            return None;
        }
        let rdlen = usize::from(u16::from_be_bytes([opt[9], opt[10]]));
        if question_end + 11 + rdlen != q.len() {
            return None;
        }
        Some(u16::from_be_bytes([opt[3], opt[4]]))
    } else {
        if question_end != q.len() {
            return None;
        }
        None
    };
    Some(Parsed {
        key,
        key_len,
        qtype,
        question_end,
        edns_payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_server::proto::rr::RData;
    use hickory_server::proto::rr::rdata::A;

    fn table() -> HotTable {
        let name = Name::from_ascii("crm.boss.example.").expect("name");
        let rec = Record::from_rdata(name.clone(), 30, RData::A(A::new(10, 1, 0, 10)));
        let s = Sections {
            rcode: ResponseCode::NoError,
            answers: vec![&rec],
            authorities: vec![],
        };
        let mut hot = HotName::default();
        hot.set(RecordType::A, Rendered::render(&name, RecordType::A, &s).expect("render"));
        let mut t = HotTable::default();
        t.insert(&name, hot);
        t
    }

    fn query(name: &str, qtype: RecordType, edns: bool) -> Vec<u8> {
        let mut m = Message::new(0xbeef, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_ascii(name).expect("name"), qtype));
        if edns {
            m.set_edns(Edns::new());
        }
        m.to_vec().expect("encode")
    }

    #[test]
    fn answers_with_query_id_and_case() {
        let t = table();
        let mut out = Vec::new();
        assert!(t.answer(&query("CrM.Boss.Example.", RecordType::A, true), &mut out));
        let m = Message::from_vec(&out).expect("decode");
        assert_eq!(m.metadata.id, 0xbeef);
        assert!(m.metadata.authoritative && m.metadata.recursion_desired);
        assert!(!m.metadata.recursion_available);
        assert_eq!(m.queries[0].name().to_ascii(), "CrM.Boss.Example.");
        assert_eq!(m.answers.len(), 1);
        assert_eq!(m.answers[0].name.to_ascii(), "CrM.Boss.Example.");
        assert!(m.edns.is_some());
    }

    #[test]
    fn declines_what_it_does_not_know() {
        let t = table();
        let mut out = Vec::new();
        assert!(!t.answer(&query("crm.boss.example.", RecordType::TXT, false), &mut out));
        assert!(!t.answer(&query("x.boss.example.", RecordType::A, false), &mut out));
        assert!(!t.answer(&[0u8; 5], &mut out));
    }
}
