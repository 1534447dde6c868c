//! Binding the listen addresses: N SO_REUSEPORT UDP sockets and one TCP listener per address.
//!
//! Port 0 (tests) lets the kernel pick the UDP port and then binds TCP to the same one; when
//! that port is taken for TCP another pick is tried. TCP is bound without SO_REUSEPORT, so a
//! second instance on the same address fails instead of silently sharing the UDP traffic.

use std::net::SocketAddr;

use socket2::{Domain, Protocol as SockProto, Socket, Type};

use super::error::DnsError;

/// Receive buffer per UDP socket, so bursts during a failover are not dropped by the kernel.
const UDP_RCVBUF: usize = 4 << 20;

/// The bound sockets and the real address of each listen entry.
pub(crate) type Bound = (
    Vec<std::net::UdpSocket>,
    Vec<std::net::TcpListener>,
    Vec<SocketAddr>,
);

/// Binds N reuse-port UDP sockets and one TCP listener per address (same port for both).
pub(crate) fn bind_all(listen: &[SocketAddr], per_addr: usize) -> Result<Bound, DnsError> {
    let (mut udp, mut tcp, mut addrs) = (Vec::new(), Vec::new(), Vec::new());
    for want in listen {
        // Port 0: the kernel picks the UDP port; TCP may find it taken, so try a few picks.
        let tries = if want.port() == 0 { 20 } else { 1 };
        let mut last = None;
        for _ in 0..tries {
            match bind_one(*want, per_addr) {
                Ok((u, t, addr)) => {
                    udp.extend(u);
                    tcp.push(t);
                    addrs.push(addr);
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            return Err(e);
        }
    }
    Ok((udp, tcp, addrs))
}

type BoundOne = (Vec<std::net::UdpSocket>, std::net::TcpListener, SocketAddr);

fn bind_one(want: SocketAddr, per_addr: usize) -> Result<BoundOne, DnsError> {
    let mut addr = want;
    let mut udp = Vec::with_capacity(per_addr);
    for _ in 0..per_addr {
        let bind_err = |source| DnsError::Bind {
            proto: "udp",
            addr: want,
            source,
        };
        let s = udp_socket(addr).map_err(bind_err)?;
        if addr.port() == 0 {
            addr = s.local_addr().map_err(bind_err)?;
        }
        udp.push(s);
    }
    let tcp = tcp_listener(addr).map_err(|source| DnsError::Bind {
        proto: "tcp",
        addr,
        source,
    })?;
    Ok((udp, tcp, addr))
}

fn udp_socket(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(SockProto::UDP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_port(true)?;
    s.set_nonblocking(true)?;
    let _ = s.set_recv_buffer_size(UDP_RCVBUF);
    s.bind(&addr.into())?;
    Ok(s.into())
}

fn tcp_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let s = Socket::new(
        Domain::for_address(addr),
        Type::STREAM,
        Some(SockProto::TCP),
    )?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    // Above the per-source and total limits, so churned connections never fill the queue.
    s.listen(4096)?;
    Ok(s.into())
}
