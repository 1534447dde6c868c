//! The fast path: pre-rendered answers for the names resolvers ask all the time.
//!
//! A snapshot renders, per hot name and query type, the whole response message once (two
//! variants: without and with an EDNS OPT record). Answering a query is then a header check,
//! a hash lookup on the lower-cased name, a copy, and two patches: the query's ID and flags,
//! and the query's own question bytes (so the client's letter case is echoed). Anything the
//! fast path is not sure about — other opcodes, classes, EDNS versions, TSIG, extra records,
//! sizes over the client's limit — returns `None` and goes to hickory's Catalog.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use hickory_server::proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_server::proto::rr::{Name, Record, RecordType};
use hickory_server::proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

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
    nx: Vec<NxZone>,
}

/// Every name that exists in one zone (owners, their empty non-terminals, service names) and
/// its delegation points: enough to answer NXDOMAIN without hickory's Catalog, whose
/// non-existence search walks the whole zone (most of the CPU in a profile with 5 % NXDOMAIN).
#[derive(Debug)]
pub(crate) struct ZoneNames {
    apex: Box<[u8]>,
    names: HashSet<Box<[u8]>>,
    cuts: HashSet<Box<[u8]>>,
}

/// One zone's NXDOMAIN answer parts at one serial.
#[derive(Clone, Debug)]
struct NxZone {
    names: Arc<ZoneNames>,
    /// The authority-section SOA record, names uncompressed so it can follow any question.
    soa_rr: Box<[u8]>,
}

impl ZoneNames {
    /// Collects the names of a zone; `None` when it has wildcards (the Catalog handles those).
    pub(crate) fn new<'a>(
        apex: &Name,
        owners: impl Iterator<Item = &'a Name>,
        cuts: impl Iterator<Item = &'a Name>,
    ) -> Option<Self> {
        let mut names = HashSet::new();
        for owner in owners {
            if owner.is_wildcard() {
                return None;
            }
            let mut n = owner.clone();
            while n.num_labels() >= apex.num_labels() && names.insert(wire_key(&n).into()) {
                n = n.base_name();
            }
        }
        Some(Self {
            apex: wire_key(apex).into(),
            names,
            cuts: cuts.map(|c| wire_key(c).into()).collect(),
        })
    }
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
        let edns = with_opt(&plain)?;
        Some(Self {
            plain: plain.into(),
            edns: edns.into(),
        })
    }
}

/// `plain` (no additional records) with our OPT record appended: the same answer for a
/// client that sent EDNS, without encoding the message twice (a switch renders every answer).
fn with_opt(plain: &[u8]) -> Option<Vec<u8>> {
    if plain.len() < 12 || plain[10..12] != [0, 0] {
        return None;
    }
    let [hi, lo] = EDNS_PAYLOAD.to_be_bytes();
    let mut out = Vec::with_capacity(plain.len() + 11);
    out.extend_from_slice(plain);
    out[11] = 1;
    // Root owner, TYPE OPT, CLASS = payload size, TTL = ext-rcode 0, version 0, flags 0; RDLEN 0.
    out.extend_from_slice(&[0, 0, 41, hi, lo, 0, 0, 0, 0, 0, 0]);
    Some(out)
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

    /// Adds NXDOMAIN answering for a zone whose SOA record (at the current serial) is `soa`.
    pub(crate) fn add_nx(&mut self, names: Arc<ZoneNames>, soa: &Record) -> Option<()> {
        let mut buf = Vec::with_capacity(128);
        {
            let mut enc = BinEncoder::new(&mut buf);
            let mut plain = enc.with_name_encoding(NameEncoding::Uncompressed);
            soa.emit(&mut plain).ok()?;
        }
        self.nx.push(NxZone {
            names,
            soa_rr: buf.into(),
        });
        Some(())
    }

    /// Writes the response to `query` into `out` if this table can answer it alone.
    pub(crate) fn answer(&self, query: &[u8], out: &mut Vec<u8>) -> bool {
        let Some(q) = parse(query) else {
            return false;
        };
        let Some(name) = self.names.get(&q.key[..q.key_len]) else {
            return self.nxdomain(query, &q, out);
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
        if q.dnssec_ok && q.edns_payload.is_some() {
            // Our OPT record is the last 11 bytes; its flags' high byte holds DO.
            let at = out.len() - 11 + 7;
            out[at] |= 0x80;
        }
        true
    }
}

impl HotTable {
    /// NXDOMAIN for a name inside a zone we hold, below no delegation, that does not exist.
    fn nxdomain(&self, query: &[u8], q: &Parsed, out: &mut Vec<u8>) -> bool {
        let key = &q.key[..q.key_len];
        let mut starts = [0usize; 128];
        let mut count = 0;
        let mut p = 0;
        while p < key.len() && count < starts.len() {
            starts[count] = p;
            count += 1;
            p += usize::from(key[p]) + 1;
        }
        for zone in &self.nx {
            let apex = &zone.names.apex[..];
            let Some(at) = starts[..count].iter().position(|&s| &key[s..] == apex) else {
                continue;
            };
            if zone.names.names.contains(key) {
                return false;
            }
            if starts[..at]
                .iter()
                .any(|&s| zone.names.cuts.contains(&key[s..]))
            {
                return false;
            }
            let edns = q.edns_payload.is_some();
            let len = q.question_end + zone.soa_rr.len() + if edns { 11 } else { 0 };
            if len > 512 {
                return false;
            }
            out.clear();
            out.extend_from_slice(&query[..2]);
            // QR=1, AA=1, RD copied; RA=0, CD copied, RCODE=3 (NXDOMAIN).
            out.push(0x84 | (query[2] & 0x01));
            out.push(0x03 | (query[3] & 0x10));
            out.extend_from_slice(&[0, 1, 0, 0, 0, 1, 0, u8::from(edns)]);
            out.extend_from_slice(&query[12..q.question_end]);
            out.extend_from_slice(&zone.soa_rr);
            if edns {
                let [hi, lo] = EDNS_PAYLOAD.to_be_bytes();
                let flags = if q.dnssec_ok { 0x80 } else { 0 };
                out.extend_from_slice(&[0, 0, 41, hi, lo, 0, 0, flags, 0, 0, 0]);
            }
            return true;
        }
        false
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
    /// The OPT record's DO bit (RFC 3225), copied into the response.
    dnssec_ok: bool,
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
    let mut dnssec_ok = false;
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
        dnssec_ok = opt[7] & 0x80 != 0;
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
        dnssec_ok,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_server::proto::op::Edns;
    use hickory_server::proto::rr::RData;
    use hickory_server::proto::rr::rdata::A;

    /// The EDNS variant is byte for byte what hickory encodes with our OPT record.
    #[test]
    fn edns_variant_matches_hickory() {
        let name = Name::from_ascii("crm.boss.example.").expect("name");
        let rec = Record::from_rdata(name.clone(), 30, RData::A(A::new(10, 1, 0, 10)));
        let mut m = Message::new(0, MessageType::Response, OpCode::Query);
        m.metadata.authoritative = true;
        m.add_query(Query::query(name.clone(), RecordType::A));
        m.add_answer(rec.clone());
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        m.set_edns(edns);
        let s = Sections {
            rcode: ResponseCode::NoError,
            answers: vec![&rec],
            authorities: vec![],
        };
        let r = Rendered::render(&name, RecordType::A, &s).expect("render");
        assert_eq!(&*r.edns, &m.to_vec().expect("encode")[..]);
    }

    fn table() -> HotTable {
        let name = Name::from_ascii("crm.boss.example.").expect("name");
        let rec = Record::from_rdata(name.clone(), 30, RData::A(A::new(10, 1, 0, 10)));
        let s = Sections {
            rcode: ResponseCode::NoError,
            answers: vec![&rec],
            authorities: vec![],
        };
        let mut hot = HotName::default();
        hot.set(
            RecordType::A,
            Rendered::render(&name, RecordType::A, &s).expect("render"),
        );
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
    fn nxdomain_without_the_catalog() {
        let mut t = table();
        let apex = Name::from_ascii("boss.example.").expect("name");
        let crm = Name::from_ascii("crm.boss.example.").expect("name");
        let deep = Name::from_ascii("a.b.boss.example.").expect("name");
        let cut = Name::from_ascii("sub.boss.example.").expect("name");
        let names = ZoneNames::new(
            &apex,
            [&apex, &crm, &deep, &cut].into_iter(),
            [&cut].into_iter(),
        )
        .expect("no wildcards");
        let soa = Record::from_rdata(
            apex.clone(),
            10,
            RData::SOA(hickory_server::proto::rr::rdata::SOA::new(
                Name::from_ascii("ns1.boss.example.").expect("n"),
                Name::from_ascii("noc.boss.example.").expect("n"),
                7,
                1,
                1,
                1,
                10,
            )),
        );
        t.add_nx(Arc::new(names), &soa).expect("nx");
        let mut out = Vec::new();
        assert!(t.answer(&query("Nope.Boss.Example.", RecordType::A, true), &mut out));
        let m = Message::from_vec(&out).expect("decode");
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
        assert_eq!(m.queries[0].name().to_ascii(), "Nope.Boss.Example.");
        assert_eq!(m.authorities.len(), 1);
        assert_eq!(m.authorities[0].ttl, 10);
        assert!(m.edns.is_some());
        // Existing names, empty non-terminals, names under a cut and other zones: not ours.
        for n in [
            "crm.boss.example.",
            "b.boss.example.",
            "x.sub.boss.example.",
            "example.com.",
        ] {
            assert!(
                !t.answer(&query(n, RecordType::TXT, false), &mut out),
                "{n}"
            );
        }
    }

    #[test]
    fn declines_what_it_does_not_know() {
        let t = table();
        let mut out = Vec::new();
        assert!(!t.answer(
            &query("crm.boss.example.", RecordType::TXT, false),
            &mut out
        ));
        assert!(!t.answer(&query("x.boss.example.", RecordType::A, false), &mut out));
        assert!(!t.answer(&[0u8; 5], &mut out));
    }
}
