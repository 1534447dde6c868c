//! Announcing a VIP address that just moved here, so neighbours stop sending to its old
//! holder: gratuitous ARP (IPv4, an RFC 5227 announcement over AF_PACKET) or an unsolicited
//! neighbour advertisement with the Override flag (IPv6, ICMPv6 to ff02::1). The kernel sends
//! neither when an address is added. Needs CAP_NET_RAW.

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV6};

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IP: u16 = 0x0800;

/// The 42-byte ARP announcement frame: broadcast, `who-has ip tell ip` from `mac`.
pub fn garp_frame(mac: [u8; 6], ip: Ipv4Addr) -> [u8; 42] {
    let mut f = [0u8; 42];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    f[16..18].copy_from_slice(&ETH_P_IP.to_be_bytes());
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&1u16.to_be_bytes()); // request
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&ip.octets());
    // Target hardware address stays zero; target protocol address = sender's (announcement).
    f[38..42].copy_from_slice(&ip.octets());
    f
}

/// The 32-byte ICMPv6 neighbour advertisement (Override set) for `ip` at `mac`; the kernel
/// fills in the checksum of raw ICMPv6 sockets.
pub fn na_packet(mac: [u8; 6], ip: Ipv6Addr) -> [u8; 32] {
    let mut p = [0u8; 32];
    p[0] = 136; // neighbour advertisement
    p[4] = 0x20; // Override
    p[8..24].copy_from_slice(&ip.octets());
    p[24] = 2; // option: target link-layer address
    p[25] = 1; // length in units of 8 bytes
    p[26..32].copy_from_slice(&mac);
    p
}

fn link_broadcast(ifindex: u32) -> SockAddr {
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_ll, and every field
    // written is plain data; the length passed to SockAddr::new is sockaddr_ll's own.
    #[allow(unsafe_code)]
    unsafe {
        let ll: &mut libc::sockaddr_ll = storage.view_as();
        ll.sll_family = libc::AF_PACKET as u16;
        ll.sll_protocol = ETH_P_ARP.to_be();
        ll.sll_ifindex = ifindex as i32;
        ll.sll_halen = 6;
        ll.sll_addr[..6].copy_from_slice(&[0xff; 6]);
        SockAddr::new(
            storage,
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    }
}

/// Send one announcement of `ip` from interface `ifindex` (`ifname`) with hardware address `mac`.
pub fn send(ifindex: u32, ifname: &str, mac: [u8; 6], ip: IpAddr) -> io::Result<()> {
    match ip {
        IpAddr::V4(v4) => {
            // Protocol 0: a send-only packet socket, nothing queued for reading.
            let s = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0)))?;
            s.send_to(&garp_frame(mac, v4), &link_broadcast(ifindex))?;
        }
        IpAddr::V6(v6) => {
            let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
            s.bind_device(Some(ifname.as_bytes()))?;
            s.set_multicast_if_v6(ifindex)?;
            s.set_multicast_hops_v6(255)?;
            s.set_unicast_hops_v6(255)?;
            let all_nodes =
                SocketAddrV6::new(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1), 0, 0, ifindex);
            s.send_to(&na_packet(mac, v6), &all_nodes.into())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garp_is_an_rfc5227_announcement() {
        let f = garp_frame([2, 0, 0, 0, 0, 1], Ipv4Addr::new(10, 9, 0, 10));
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[28..32], &f[38..42]);
        assert_eq!(&f[32..38], &[0; 6]);
    }

    #[test]
    fn na_carries_override_and_the_link_address() {
        let p = na_packet([2, 0, 0, 0, 0, 1], "fd09::10".parse().unwrap());
        assert_eq!((p[0], p[4], p[24], p[25]), (136, 0x20, 2, 1));
        assert_eq!(&p[26..32], &[2, 0, 0, 0, 0, 1]);
    }
}
