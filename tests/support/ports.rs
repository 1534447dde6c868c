//! Loopback ports for peers that cannot take port 0 (etcd, NSD, Knot, a port nobody serves).
//!
//! A port read back from a `bind(0)` comes from the kernel's ephemeral range (32768-60999),
//! which every outgoing connection of every parallel test draws from too: between dropping
//! the probe socket and NSD binding, a client's connection could take it ("address already in
//! use" in CI). These ports come from 21000-32699 instead, below that range, are never handed
//! out twice by this process, and are free for both TCP and UDP when handed out.

#![allow(dead_code, unreachable_pub)]

use std::net::{TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};

const FIRST: u32 = 21000;
const SPAN: u32 = 11700;

/// A loopback port that no socket holds now, for TCP and UDP, outside the ephemeral range.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    // Two test binaries started at once begin far apart: the offset comes from the pid.
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(389) % SPAN,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let p = (FIRST + NEXT.fetch_add(1, Ordering::SeqCst) % SPAN) as u16;
        let tcp = TcpListener::bind(("127.0.0.1", p));
        let udp = UdpSocket::bind(("127.0.0.1", p));
        if tcp.is_ok() && udp.is_ok() {
            return p;
        }
    }
}
