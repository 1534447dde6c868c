//! `dns` checks: one UDP query, judged by response code and optionally an answer address.

use super::{Outcome, io_evidence};
use crate::probe::defs::DnsSpec;
use crate::probe::defs::rcode::RCODES;
use hickory_server::proto::op::{Message, Query, ResponseCode};
use hickory_server::proto::rr::{Name, RData, RecordType};
use std::str::FromStr;
use tokio::net::UdpSocket;
use tokio::time::Instant;

fn rcode_name(code: ResponseCode) -> String {
    RCODES
        .iter()
        .find(|(_, v)| *v == code.low())
        .map_or_else(|| code.to_string(), |(n, _)| (*n).to_owned())
}

/// One query (the caller bounds it with the check's timeout).
pub(crate) async fn run(spec: &DnsSpec) -> Outcome {
    let name = match Name::from_str(&spec.query) {
        Ok(n) => n,
        Err(e) => return Outcome::local(format!("bad name {:?}: {e}", spec.query)),
    };
    let qtype = RecordType::from_str(&spec.qtype).unwrap_or(RecordType::A);
    let mut msg = Message::query();
    msg.metadata.recursion_desired = false;
    msg.add_query(Query::query(name, qtype));
    let id = msg.metadata.id;
    let bytes = match msg.to_vec() {
        Ok(b) => b,
        Err(e) => return Outcome::local(format!("encode: {e}")),
    };
    let bind = if spec.server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let sock = match UdpSocket::bind(bind).await {
        Ok(s) => s,
        Err(e) => return Outcome::local(format!("bind: {e}")),
    };
    if let Err(e) = sock.connect(spec.server).await {
        return Outcome::failed(
            io_evidence(&e),
            None,
            format!("connect {}: {e}", spec.server),
        );
    }
    let start = Instant::now();
    if let Err(e) = sock.send(&bytes).await {
        return Outcome::failed(
            io_evidence(&e),
            None,
            format!("send to {}: {e}", spec.server),
        );
    }
    let mut buf = vec![0u8; 4096];
    // Skip stray datagrams (wrong id, garbage) until ours arrives or the timeout fires.
    let reply = loop {
        let n = match sock.recv(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                return Outcome::failed(
                    io_evidence(&e),
                    None,
                    format!("recv from {}: {e}", spec.server),
                );
            }
        };
        match Message::from_vec(&buf[..n]) {
            Ok(m) if m.metadata.id == id => break m,
            _ => continue,
        }
    };
    let rtt = Some(start.elapsed());
    let rcode = rcode_name(reply.metadata.response_code);
    let addrs: Vec<_> = reply
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(std::net::IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(std::net::IpAddr::V6(a.0)),
            _ => None,
        })
        .collect();
    if rcode != spec.expect_rcode {
        return Outcome::fail(
            rtt,
            format!("rcode {rcode}, expected {}", spec.expect_rcode),
        );
    }
    match spec.expect_address {
        Some(want) if !addrs.contains(&want) => {
            Outcome::fail(rtt, format!("{rcode}: {want} not in answers {addrs:?}"))
        }
        _ => Outcome::pass(rtt, format!("{rcode} {addrs:?}")),
    }
}
