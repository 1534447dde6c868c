//! NOTIFY (RFC 1996) to the configured secondaries after every serial change.
//!
//! One task per secondary watches the zones' serials. For each zone whose serial the
//! secondary has not acknowledged, it sends a NOTIFY and waits for the matching reply
//! (0.5 s, doubling after each silence or error, with a pause of the same length before the
//! next try) and gives up after [`ATTEMPTS`] tries. Serials that arrive during a round are
//! coalesced: the next round sends only the newest, and rounds start at most once per
//! `dns.notify_interval`, so a burst of changes is one NOTIFY. Either outcome is logged and
//! counted.
//!
//! With a `dns.notify_key` each NOTIFY is TSIG-signed and only a reply signed with the same
//! key counts as an acknowledgement; an unsigned or badly signed one is retried like silence.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::{TSigVerifier, TSigner};
use hickory_server::proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_server::proto::rr::{Name, Record, RecordType};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::metrics::Counters;

/// Tries per serial before giving up.
pub(crate) const ATTEMPTS: u32 = 5;
/// Wait for the first reply; doubled after each timeout.
pub(crate) const FIRST_WAIT: Duration = Duration::from_millis(500);

/// One zone's current apex, serial and SOA record, as published to the notifiers.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ZoneSerial {
    pub(crate) apex: Name,
    pub(crate) serial: u32,
    pub(crate) soa: Record,
}

/// What the notifiers watch.
pub(crate) type Serials = watch::Receiver<Vec<ZoneSerial>>;

/// Runs the notifier of one secondary until shutdown.
pub(crate) async fn run(
    target: SocketAddr,
    mut serials: Serials,
    counters: Arc<Counters>,
    signer: Option<TSigner>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut acked: Vec<(Name, u32)> = Vec::new();
    loop {
        let round = tokio::time::Instant::now();
        let current = serials.borrow_and_update().clone();
        for zone in current {
            if acked
                .iter()
                .any(|(n, s)| *n == zone.apex && *s == zone.serial)
            {
                continue;
            }
            let outcome = tokio::select! {
                _ = shutdown.cancelled() => return,
                o = notify_zone(target, &zone, signer.as_ref(), &counters) => o,
            };
            acked.retain(|(n, _)| *n != zone.apex);
            // Given up or acked, this serial is done; a newer one starts a new round.
            acked.push((zone.apex.clone(), zone.serial));
            if let Err(why) = outcome {
                Counters::bump(&counters.notifies_failed);
                tracing::warn!(%target, zone = %zone.apex, serial = zone.serial, %why,
                    "dns notify given up");
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            changed = serials.changed() => if changed.is_err() { return },
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(round + interval) => {}
        }
    }
}

/// Sends NOTIFY for one zone until acknowledged or out of attempts.
async fn notify_zone(
    target: SocketAddr,
    zone: &ZoneSerial,
    signer: Option<&TSigner>,
    counters: &Counters,
) -> Result<(), String> {
    let bind: SocketAddr = if target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(bind)
        .await
        .map_err(|e| format!("bind: {e}"))?;
    sock.connect(target)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut wait = FIRST_WAIT;
    let mut last = String::from("no reply");
    for attempt in 1..=ATTEMPTS {
        let id: u16 = rand::random();
        let (bytes, mut verifier) = message(id, zone, signer)?;
        Counters::bump(&counters.notifies_sent);
        if let Err(e) = sock.send(&bytes).await {
            last = format!("send: {e}");
        } else {
            match tokio::time::timeout(wait, reply(&sock, id)).await {
                Ok(Ok((ResponseCode::NoError, raw))) => {
                    match verifier.as_mut().map(|v| v.verify(&raw)) {
                        Some(Err(e)) => last = format!("acknowledged without a valid TSIG: {e}"),
                        None | Some(Ok(_)) => {
                            Counters::bump(&counters.notifies_acked);
                            tracing::info!(%target, zone = %zone.apex, serial = zone.serial, attempt,
                            signed = signer.is_some(), "dns notify acknowledged");
                            return Ok(());
                        }
                    }
                }
                Ok(Ok((rcode, _))) => return Err(format!("secondary answered {rcode}")),
                Ok(Err(e)) => last = e,
                Err(_) => last = format!("no reply within {wait:?}"),
            }
        }
        tracing::debug!(%target, zone = %zone.apex, attempt, %last, "dns notify retry");
        if attempt < ATTEMPTS {
            tokio::time::sleep(wait).await;
        }
        wait *= 2;
    }
    Err(format!("{ATTEMPTS} attempts: {last}"))
}

/// The NOTIFY for `zone`, signed when there is a key, with the verifier for its reply.
fn message(
    id: u16,
    zone: &ZoneSerial,
    signer: Option<&TSigner>,
) -> Result<(Vec<u8>, Option<TSigVerifier>), String> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Notify);
    m.metadata.authoritative = true;
    m.add_query(Query::query(zone.apex.clone(), RecordType::SOA));
    m.add_answer(zone.soa.clone());
    let mut verifier = None;
    if let Some(signer) = signer {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (record, v) = signer
            .sign_message(&m, now)
            .map_err(|e| format!("tsig sign: {e}"))?;
        m.set_signature(record);
        verifier = v;
    }
    let bytes = m.to_vec().map_err(|e| format!("encode: {e}"))?;
    Ok((bytes, verifier))
}

/// Reads datagrams until the reply to `id` arrives; its rcode and bytes (for TSIG).
async fn reply(sock: &UdpSocket, id: u16) -> Result<(ResponseCode, Vec<u8>), String> {
    let mut buf = vec![0u8; 4096];
    loop {
        let n = sock
            .recv(&mut buf)
            .await
            .map_err(|e| format!("recv: {e}"))?;
        let Ok(m) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        if m.metadata.id == id
            && m.metadata.message_type == MessageType::Response
            && m.metadata.op_code == OpCode::Notify
        {
            return Ok((m.metadata.response_code, buf[..n].to_vec()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(serial: u32) -> ZoneSerial {
        let apex = Name::from_ascii("boss.example.").expect("name");
        let soa = Record::from_rdata(
            apex.clone(),
            10,
            hickory_server::proto::rr::RData::SOA(hickory_server::proto::rr::rdata::SOA::new(
                apex.clone(),
                apex.clone(),
                serial,
                1,
                1,
                1,
                1,
            )),
        );
        ZoneSerial { apex, serial, soa }
    }

    /// A secondary that never answers: the notifier retries ATTEMPTS times and gives up.
    #[tokio::test(start_paused = true)]
    async fn retries_then_gives_up() {
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let target = silent.local_addr().expect("addr");
        let counters = Counters::default();
        let r = notify_zone(target, &zone(5), None, &counters).await;
        assert!(r.is_err());
        let c = counters.read();
        assert_eq!(
            (c.notifies_sent, c.notifies_acked),
            (u64::from(ATTEMPTS), 0)
        );
    }

    /// A secondary that acknowledges the second try.
    #[tokio::test]
    async fn acknowledged_notify_counts_once() {
        let sec = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let target = sec.local_addr().expect("addr");
        let answer = tokio::spawn(async move {
            let mut buf = vec![0u8; 512];
            let (n, from) = sec.recv_from(&mut buf).await.expect("recv");
            let q = Message::from_vec(&buf[..n]).expect("decode");
            assert_eq!(q.metadata.op_code, OpCode::Notify);
            let r = Message::new(q.metadata.id, MessageType::Response, OpCode::Notify);
            sec.send_to(&r.to_vec().expect("enc"), from)
                .await
                .expect("send");
        });
        let counters = Counters::default();
        notify_zone(target, &zone(6), None, &counters)
            .await
            .expect("acked");
        answer.await.expect("secondary");
        assert_eq!(counters.read().notifies_acked, 1);
    }

    fn signer() -> TSigner {
        use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
        TSigner::new(
            b"0123456789abcdef0123456789abcdef".to_vec(),
            TsigAlgorithm::HmacSha256,
            Name::from_ascii("xfr.boss.example.").expect("name"),
            300,
        )
        .expect("signer")
    }

    /// A secondary holding `key`: checks each NOTIFY's TSIG, answers signed when `sign`.
    async fn keyed_secondary(sec: UdpSocket, key: TSigner, sign: bool, replies: usize) {
        use hickory_proto::rr::TSigResponseContext;
        let mut buf = vec![0u8; 1024];
        for _ in 0..replies {
            let (n, from) = sec.recv_from(&mut buf).await.expect("recv");
            let (mac, time, _) = key
                .verify_message_byte(&buf[..n], None, true)
                .expect("NOTIFY carries a valid TSIG");
            let q = Message::from_vec(&buf[..n]).expect("decode");
            let mut r = Message::new(q.metadata.id, MessageType::Response, OpCode::Notify);
            if sign {
                let unsigned = r.to_vec().expect("enc");
                let ctx = TSigResponseContext::new(q.metadata.id, time, key.clone(), mac, None);
                r.set_signature(ctx.sign(&unsigned).expect("sign"));
            }
            sec.send_to(&r.to_vec().expect("enc"), from)
                .await
                .expect("send");
        }
    }

    /// Signed NOTIFY, signed acknowledgement: acked on the first try.
    #[tokio::test]
    async fn signed_notify_is_acknowledged_when_the_reply_verifies() {
        let sec = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let target = sec.local_addr().expect("addr");
        let answer = tokio::spawn(keyed_secondary(sec, signer(), true, 1));
        let counters = Counters::default();
        notify_zone(target, &zone(7), Some(&signer()), &counters)
            .await
            .expect("acked");
        answer.await.expect("secondary");
        let c = counters.read();
        assert_eq!((c.notifies_sent, c.notifies_acked), (1, 1));
    }

    /// An unsigned "acknowledgement" to a signed NOTIFY does not count: retried, given up.
    #[tokio::test(start_paused = true)]
    async fn unsigned_reply_to_a_signed_notify_is_not_an_acknowledgement() {
        let sec = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let target = sec.local_addr().expect("addr");
        let answer = tokio::spawn(keyed_secondary(sec, signer(), false, ATTEMPTS as usize));
        let counters = Counters::default();
        let r = notify_zone(target, &zone(8), Some(&signer()), &counters).await;
        assert!(
            r.as_ref()
                .is_err_and(|e| e.contains("without a valid TSIG")),
            "{r:?}"
        );
        answer.await.expect("secondary");
        let c = counters.read();
        assert_eq!(
            (c.notifies_sent, c.notifies_acked),
            (u64::from(ATTEMPTS), 0)
        );
    }
}
