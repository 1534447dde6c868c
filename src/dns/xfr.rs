//! Zone transfers over TCP: AXFR, and IXFR answered as a full transfer (RFC 1995 §4).
//!
//! hickory 0.26 sends a whole zone in one message, which breaks past 64 KiB; this module
//! splits the records over as many messages as needed (RFC 5936 §2.2). Only peers on the
//! allow-list get a transfer; when TSIG keys are configured, the request must be signed with
//! one of them and every response message is signed in turn.

use std::net::IpAddr;
use std::sync::Arc;

use hickory_server::proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_server::proto::rr::{RData, Record, RecordType};
use hickory_server::proto::serialize::binary::{BinEncodable, BinEncoder};
use hickory_server::server::Request;
use ipnet::IpNet;

use super::journal;
use super::metrics::Counters;
use super::serial::serial_gt;
use super::snapshot::Snapshot;
use super::tsig::{Keyring, Signing};
use super::zone::ZoneSnap;

/// Records per message stop growing past this many encoded bytes (well under 64 KiB).
const MESSAGE_BUDGET: usize = 16 * 1024;

/// Who may transfer, and with which keys.
#[derive(Clone, Debug, Default)]
pub(crate) struct XfrPolicy {
    pub(crate) allow: Vec<IpNet>,
    pub(crate) keys: Arc<Keyring>,
}

/// Whether a parsed request is a zone transfer.
pub(crate) fn is_transfer(req: &Request) -> bool {
    req.queries
        .queries()
        .first()
        .is_some_and(|q| matches!(q.query_type(), RecordType::AXFR | RecordType::IXFR))
}

/// The messages answering a transfer request from `peer`, in order.
pub(crate) fn serve(
    snap: &Snapshot,
    req: &Request,
    peer: IpAddr,
    policy: &XfrPolicy,
    counters: &Counters,
    now: u64,
) -> Vec<Vec<u8>> {
    let Some(query) = req.queries.queries().first() else {
        return vec![];
    };
    let qtype = query.query_type();
    let zone = snap.zone(query.name());
    let allowed = policy.allow.iter().any(|net| net.contains(&peer));
    let Some(zone) = zone.filter(|_| allowed) else {
        Counters::bump(&counters.transfers_refused);
        Counters::bump(&counters.refused);
        tracing::warn!(%peer, zone = %query.name(), ?qtype, allowed, "dns transfer refused");
        return vec![error(req, ResponseCode::Refused)];
    };
    let mut signing = match policy.keys.verify(req, now) {
        Ok(s) => s,
        Err(reply) => {
            Counters::bump(&counters.transfers_refused);
            tracing::warn!(%peer, zone = %query.name(), "dns transfer refused: tsig");
            return vec![reply];
        }
    };
    let client_serial = (qtype == RecordType::IXFR)
        .then(|| {
            req.authorities.iter().find_map(|r| match &r.data {
                RData::SOA(soa) => Some(soa.serial),
                _ => None,
            })
        })
        .flatten();
    let records = match client_serial {
        // Up to date (or ahead): a single SOA says "nothing to send" (RFC 1995 §2).
        Some(theirs) if !serial_gt(zone.serial, theirs) => soa_only(zone),
        // A serial the journal still covers: the differences only.
        Some(theirs) => incremental(zone, theirs).unwrap_or_else(|| full(zone)),
        // AXFR, or a serial we no longer have: the whole zone, AXFR-style (RFC 1995 §4).
        None => full(zone),
    };
    Counters::bump(&counters.transfers);
    tracing::info!(%peer, zone = %zone.origin, serial = zone.serial, ?qtype, client_serial,
        records = records.len(), "dns transfer served");
    pack(req, &query.original().clone(), &records, &mut signing)
}

fn soa_only(zone: &ZoneSnap) -> Vec<Record> {
    zone.soa_answer.records_without_rrsigs().cloned().collect()
}

/// RFC 1995 §4 incremental form: SOA(new), then per delta SOA(old) removed… SOA(next) added…,
/// then SOA(new).
fn incremental(zone: &ZoneSnap, from: u32) -> Option<Vec<Record>> {
    let deltas = journal::chain(&zone.journal, from, zone.serial)?;
    let soa = zone.soa_answer.records_without_rrsigs().next()?;
    let mut out = vec![soa.clone()];
    for d in deltas {
        out.push(journal::soa_at(soa, d.from));
        out.extend(d.removed.iter().cloned());
        out.push(journal::soa_at(soa, d.to));
        out.extend(d.added.iter().cloned());
    }
    out.push(soa.clone());
    Some(out)
}

fn full(zone: &ZoneSnap) -> Vec<Record> {
    let soa = soa_only(zone);
    let mut out = soa.clone();
    for set in zone.transfer_sets() {
        out.extend(set.records_without_rrsigs().cloned());
    }
    out.extend(soa);
    out
}

fn response(req: &Request, with_question: Option<&Query>) -> Message {
    let mut m = Message::new(req.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.authoritative = true;
    if let Some(q) = with_question {
        m.add_query(q.clone());
    }
    m
}

/// An error reply to a transfer request.
pub(crate) fn error(req: &Request, rcode: ResponseCode) -> Vec<u8> {
    let mut m = response(req, req.queries.queries().first().map(|q| q.original()));
    m.metadata.response_code = rcode;
    m.to_vec().unwrap_or_default()
}

fn encoded_len(r: &Record) -> usize {
    let mut buf = Vec::with_capacity(64);
    let mut enc = BinEncoder::new(&mut buf);
    match r.emit(&mut enc) {
        Ok(()) => buf.len(),
        Err(_) => 512,
    }
}

/// Splits the records over messages under [`MESSAGE_BUDGET`], signing each when asked.
fn pack(
    req: &Request,
    question: &Query,
    records: &[Record],
    signing: &mut Signing,
) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut msg = response(req, Some(question));
    let mut size = 12 + 4 + question.name().len();
    for r in records {
        let len = encoded_len(r);
        if size + len > MESSAGE_BUDGET && !msg.answers.is_empty() {
            out.push(signing.finish(std::mem::replace(&mut msg, response(req, None))));
            size = 12;
        }
        size += len;
        msg.add_answer(r.clone());
    }
    out.push(signing.finish(msg));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_server::proto::rr::Name;
    use hickory_server::proto::rr::rdata::A;

    #[test]
    fn pack_splits_big_zones_under_64k() {
        let mut m = Message::new(7, MessageType::Query, OpCode::Query);
        let apex = Name::from_ascii("boss.example.").expect("name");
        m.add_query(Query::query(apex.clone(), RecordType::AXFR));
        let raw = m.to_vec().expect("encode");
        let req = Request::from_bytes(
            raw,
            "127.0.0.1:1".parse().expect("addr"),
            hickory_server::net::xfer::Protocol::Tcp,
        )
        .expect("req");
        let records: Vec<Record> = (0..6000u32)
            .map(|i| {
                let n = Name::from_ascii(format!("host{i}.boss.example.")).expect("name");
                Record::from_rdata(n, 30, RData::A(A::from(std::net::Ipv4Addr::from(i))))
            })
            .collect();
        let msgs = pack(
            &req,
            &Query::query(apex, RecordType::AXFR),
            &records,
            &mut Signing::None,
        );
        assert!(msgs.len() > 4, "{} messages", msgs.len());
        let mut total = 0;
        for (i, bytes) in msgs.iter().enumerate() {
            assert!(bytes.len() < 65535);
            let m = Message::from_vec(bytes).expect("decode");
            assert_eq!(m.metadata.id, 7);
            assert_eq!(m.queries.len(), usize::from(i == 0));
            total += m.answers.len();
        }
        assert_eq!(total, 6000);
    }
}
