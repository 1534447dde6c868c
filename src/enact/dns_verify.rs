//! The DNS enactor's check of its own work: ask this node's own listener, over UDP, for each
//! changed service's first name and compare the answer with the active site's addresses.

use super::Verification;
use crate::config::Config;
use crate::policy::Desired;
use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::UdpSocket;

/// How long one query waits for its answer; the enactor tries twice.
const QUERY_TIMEOUT: Duration = Duration::from_millis(500);

/// Where and what to ask.
#[derive(Clone, Debug)]
pub(crate) struct DnsVerifier {
    /// This node's own DNS listener.
    pub(crate) listener: SocketAddr,
}

impl DnsVerifier {
    /// Whether the listener answers `d`'s first name with every address of its active site.
    pub(crate) async fn verify(&self, cfg: &Config, d: &Desired) -> Verification {
        let Some(service) = cfg.service(&d.service) else {
            return Verification::Failed(format!("service {} is not configured", d.service));
        };
        let Some(name) = service.names.first() else {
            return Verification::NotChecked;
        };
        let want: BTreeSet<IpAddr> = service
            .addresses
            .get(&d.active_site)
            .map(|a| a.iter().copied().collect())
            .unwrap_or_default();
        let qtype = if want.iter().any(IpAddr::is_ipv4) {
            RecordType::A
        } else if want.is_empty() {
            return Verification::NotChecked;
        } else {
            RecordType::AAAA
        };
        let want: BTreeSet<IpAddr> = want
            .into_iter()
            .filter(|a| a.is_ipv4() == (qtype == RecordType::A))
            .collect();
        let mut last = String::new();
        for _ in 0..2 {
            match ask(self.listener, name, qtype).await {
                Ok(got) if want.is_subset(&got) => return Verification::Verified,
                Ok(got) => {
                    last = format!(
                        "{} {name} {qtype} answers {:?}, not {:?} ({})",
                        self.listener, got, want, d.active_site
                    );
                }
                Err(e) => last = format!("{} {name} {qtype}: {e}", self.listener),
            }
        }
        Verification::Failed(last)
    }
}

/// One query over UDP; the addresses in the answer section.
async fn ask(to: SocketAddr, name: &str, qtype: RecordType) -> Result<BTreeSet<IpAddr>, String> {
    let qname = Name::from_ascii(name).map_err(|e| format!("bad name: {e}"))?;
    let id: u16 = rand::random();
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(qname, qtype));
    let bytes = m.to_vec().map_err(|e| format!("encode: {e}"))?;
    let bind: SocketAddr = if to.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(bind)
        .await
        .map_err(|e| format!("bind: {e}"))?;
    sock.send_to(&bytes, to)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut buf = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + QUERY_TIMEOUT;
    loop {
        let (n, from) = tokio::time::timeout_at(deadline, sock.recv_from(&mut buf))
            .await
            .map_err(|_| "no answer".to_owned())?
            .map_err(|e| format!("receive: {e}"))?;
        if from != to {
            continue;
        }
        let Ok(reply) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        if reply.metadata.id != id {
            continue;
        }
        return Ok(reply
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            })
            .collect());
    }
}
