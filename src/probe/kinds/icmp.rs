//! `icmp` checks over one shared surge-ping client (one socket, one receive task) per family.
//!
//! Unprivileged ICMP datagram sockets are preferred (`net.ipv4.ping_group_range` covering our
//! gid); raw sockets (CAP_NET_RAW) are the fallback. [`capability`] tests this synchronously
//! at startup so a node that can do neither refuses to start, naming the check.

use super::{Outcome, io_evidence};
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::IpAddr;
use std::time::Duration;
use surge_ping::{Client, Config, ICMP, PingIdentifier, PingSequence, Pinger, SurgeError};

/// Receive buffer asked for each ICMP socket; the kernel caps it at `net.core.rmem_max`.
/// Thousands of replies arriving in a burst overflow the default (CRATES.md §2).
const RCVBUF: usize = 4 << 20;

/// Which socket type works for a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SockKind {
    /// Unprivileged ICMP datagram socket.
    Dgram,
    /// Raw socket (root or CAP_NET_RAW).
    Raw,
}

/// Tries to open an ICMP socket of the family of `ip`: datagram first, then raw.
/// Returns both errors when neither works.
pub(crate) fn capability(ip: IpAddr) -> Result<SockKind, (io::Error, io::Error)> {
    let (domain, proto) = family(ip);
    let dgram = match Socket::new(domain, Type::DGRAM, Some(proto)) {
        Ok(_) => return Ok(SockKind::Dgram),
        Err(e) => e,
    };
    match Socket::new(domain, Type::RAW, Some(proto)) {
        Ok(_) => Ok(SockKind::Raw),
        Err(raw) => Err((dgram, raw)),
    }
}

fn family(ip: IpAddr) -> (Domain, Protocol) {
    match ip {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
    }
}

/// The shared clients, created on first need inside the runtime.
#[derive(Default)]
pub(crate) struct Clients {
    pub(crate) v4: Option<Client>,
    pub(crate) v6: Option<Client>,
}

impl Clients {
    /// Opens the client of `ip`'s family if not yet open (must run inside a tokio runtime).
    pub(crate) fn open(&mut self, ip: IpAddr, kind: SockKind) -> io::Result<()> {
        let (slot, icmp) = match ip {
            IpAddr::V4(_) => (&mut self.v4, ICMP::V4),
            IpAddr::V6(_) => (&mut self.v6, ICMP::V6),
        };
        if slot.is_some() {
            return Ok(());
        }
        let hint = match kind {
            SockKind::Dgram => Type::DGRAM,
            SockKind::Raw => Type::RAW,
        };
        let client = Client::new(&Config::builder().kind(icmp).sock_type_hint(hint).build())?;
        raise_rcvbuf(&client);
        tracing::info!(family = %icmp_name(ip), socket = ?kind, "icmp socket open");
        *slot = Some(client);
        Ok(())
    }

    fn get(&self, ip: IpAddr) -> Option<&Client> {
        match ip {
            IpAddr::V4(_) => self.v4.as_ref(),
            IpAddr::V6(_) => self.v6.as_ref(),
        }
    }
}

fn icmp_name(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "ipv4" } else { "ipv6" }
}

#[allow(unsafe_code)]
fn raise_rcvbuf(client: &Client) {
    let sock = client.get_socket();
    let fd = sock.get_native_sock();
    // SAFETY: `fd` belongs to `sock`, an Arc'd socket that stays open for this whole scope;
    // the borrowed fd is used only for one setsockopt and never outlives `sock`.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    if let Err(e) = socket2::SockRef::from(&borrowed).set_recv_buffer_size(RCVBUF) {
        tracing::warn!(error = %e, "cannot raise ICMP receive buffer");
    }
}

/// One check's pinger and sequence counter.
pub(crate) struct PingState {
    target: IpAddr,
    ident: PingIdentifier,
    seq: u16,
    pinger: Option<Pinger>,
}

impl PingState {
    pub(crate) fn new(target: IpAddr) -> Self {
        PingState {
            target,
            ident: PingIdentifier(rand::random()),
            seq: rand::random(),
            pinger: None,
        }
    }

    /// One echo with `timeout`; up when a reply came.
    pub(crate) async fn ping(&mut self, clients: &Clients, timeout: Duration) -> Outcome {
        if self.pinger.is_none() {
            let Some(client) = clients.get(self.target) else {
                return Outcome::local(format!("no {} ICMP socket", icmp_name(self.target)));
            };
            self.pinger = Some(client.pinger(self.target, self.ident).await);
        }
        let Some(pinger) = self.pinger.as_mut() else {
            return Outcome::local("no pinger");
        };
        pinger.timeout(timeout);
        self.seq = self.seq.wrapping_add(1);
        match pinger.ping(PingSequence(self.seq), &[0u8; 16]).await {
            Ok((_, rtt)) => Outcome::pass(Some(rtt), format!("reply from {}", self.target)),
            Err(SurgeError::Timeout { .. }) => {
                Outcome::silent(format!("no reply from {} in {timeout:?}", self.target))
            }
            // Unreachable on send (no route: the path is gone) is definitive; the rest is silence.
            Err(SurgeError::IOError(e)) => {
                Outcome::failed(io_evidence(&e), None, format!("ping {}: {e}", self.target))
            }
            Err(e) => Outcome::silent(format!("ping {}: {e}", self.target)),
        }
    }
}
