//! Small frame readers for the per-frame decisions (no allocation, no panics) and the
//! builders of the engine's own frames (gratuitous ARP, unsolicited NA).

use core::net::{Ipv4Addr, Ipv6Addr};

use arp_alb::wire::{
    ARP_LEN, ArpOperation, ArpPacket, ArpRepr, EthernetRepr, NeighborAdvertRepr, VlanTag,
    ethertype, nd_flags,
};

use super::MacAddr;

/// EtherType of 802.1Q.
pub(crate) const ETH_P_8021Q: u16 = 0x8100;
/// EtherType of 802.1ad.
pub(crate) const ETH_P_8021AD: u16 = 0x88a8;
/// EtherType of IPv4.
pub(crate) const ETH_P_IP: u16 = 0x0800;
/// EtherType of ARP.
pub(crate) const ETH_P_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub(crate) const ETH_P_IPV6: u16 = 0x86dd;
/// EtherType of the slow protocols (LACP, Marker).
pub(crate) const ETH_P_SLOW: u16 = 0x8809;
/// The slow protocols multicast address.
pub(crate) const SLOW_PROTOCOLS_MAC: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]);

/// The destination MAC of a frame (`None` if shorter than 6 bytes).
#[inline(always)]
pub(crate) fn dst(frame: &[u8]) -> Option<MacAddr> {
    let d: [u8; 6] = frame.get(..6)?.try_into().ok()?;
    Some(MacAddr(d))
}

/// The protocol the kernel would see in `skb->protocol` and the offset of the network
/// header: one outer 802.1Q/802.1ad tag is looked through, as a tag the NIC or a VLAN
/// device on the bond would carry outside the data (the same rule as `xmit-hash`).
#[inline(always)]
pub(crate) fn l3(frame: &[u8]) -> Option<(u16, usize)> {
    let et = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    if et == ETH_P_8021Q || et == ETH_P_8021AD {
        let inner = u16::from_be_bytes([*frame.get(16)?, *frame.get(17)?]);
        return Some((inner, 18));
    }
    Some((et, 14))
}

/// An IPv4 IGMP frame whose whole IP header is there (what `bond_xmit_roundrobin_slave_get`
/// checks with `pskb_may_pull(noff + sizeof(iphdr))`).
#[inline]
pub(crate) fn is_igmp(frame: &[u8]) -> bool {
    match l3(frame) {
        Some((ETH_P_IP, off)) => frame.len() >= off + 20 && frame[off + 9] == 2,
        _ => false,
    }
}

/// ARP, or an IPv6 neighbour solicitation/advertisement right after the IPv6 header (what
/// `bond_should_broadcast_neighbor()` looks for).
#[inline]
pub(crate) fn is_neighbor(frame: &[u8]) -> bool {
    match l3(frame) {
        Some((ETH_P_ARP, _)) => true,
        Some((ETH_P_IPV6, off)) => {
            frame.len() >= off + 41 && frame[off + 6] == 58 && matches!(frame[off + 40], 135 | 136)
        }
        _ => false,
    }
}

/// A host's multicast membership message: IGMP, or MLD (ICMPv6 130-132, 143 behind the
/// hop-by-hop header MLD always carries).
#[inline]
pub(crate) fn is_membership_report(frame: &[u8]) -> bool {
    if is_igmp(frame) {
        return true;
    }
    match l3(frame) {
        Some((ETH_P_IPV6, off)) => mld_offset(frame, off).is_some(),
        _ => false,
    }
}

/// The offset of an MLD message (ICMPv6 type 131, 132 or 143) in an IPv6 frame whose
/// network header is at `off`.
pub(crate) fn mld_offset(frame: &[u8], off: usize) -> Option<usize> {
    let next = *frame.get(off + 6)?;
    let (next, icmp) = if next == 0 {
        let hbh = off + 40;
        let len = (usize::from(*frame.get(hbh + 1)?) + 1) * 8;
        (*frame.get(hbh)?, hbh + len)
    } else {
        (next, off + 40)
    };
    if next != 58 {
        return None;
    }
    matches!(*frame.get(icmp)?, 131 | 132 | 143).then_some(icmp)
}

/// The largest control frame the engine hands out: a full standard frame with one tag.
pub const MAX_CONTROL_FRAME: usize = 1518;

/// Writes a gratuitous ARP (a broadcast request for our own address, sender and target
/// address both `ip`, target hardware address zero: what the kernel's
/// `inetdev_send_gratuitous_arp` sends on `NETDEV_NOTIFY_PEERS`). Returns its length.
pub(crate) fn gratuitous_arp(
    buf: &mut [u8],
    mac: MacAddr,
    ip: Ipv4Addr,
    vlan: Option<u16>,
) -> Option<usize> {
    let eth = EthernetRepr {
        dst: arp_alb::MacAddr::BROADCAST,
        src: mac.into(),
        vlan: vlan.map(VlanTag::dot1q),
        ethertype: ethertype::ARP,
    };
    let off = eth.emit(buf)?;
    let arp = ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: mac.into(),
        source_protocol_addr: ip,
        target_hardware_addr: arp_alb::MacAddr::ZERO,
        target_protocol_addr: ip,
    };
    let mut pkt = ArpPacket::new_checked(buf.get_mut(off..)?).ok()?;
    arp.emit(&mut pkt);
    Some(off + ARP_LEN)
}

/// Writes an unsolicited neighbour advertisement for `ip` to all nodes (`ff02::1`), with
/// the override flag and our link-layer address (what `ndisc_send_unsol_na` sends on
/// `NETDEV_NOTIFY_PEERS`). Returns its length.
pub(crate) fn unsolicited_na(
    buf: &mut [u8],
    mac: MacAddr,
    ip: Ipv6Addr,
    vlan: Option<u16>,
) -> Option<usize> {
    let eth = EthernetRepr {
        dst: arp_alb::MacAddr::IPV6_ALL_NODES,
        src: mac.into(),
        vlan: vlan.map(VlanTag::dot1q),
        ethertype: ethertype::IPV6,
    };
    let off = eth.emit(buf)?;
    let na = NeighborAdvertRepr {
        src: ip,
        dst: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
        flags: nd_flags::OVERRIDE,
        target: ip,
        target_lla: mac.into(),
    };
    let n = na.emit(buf.get_mut(off..)?)?;
    Some(off + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        let mut f = [0u8; 64];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[23] = 2;
        assert!(is_igmp(&f));
        assert!(is_membership_report(&f));
        assert!(!is_igmp(&f[..30]));
        f[23] = 6;
        assert!(!is_igmp(&f));
        // Tagged ARP.
        let mut t = [0u8; 64];
        t[12..14].copy_from_slice(&[0x81, 0x00]);
        t[16..18].copy_from_slice(&[0x08, 0x06]);
        assert!(is_neighbor(&t));
        assert_eq!(l3(&t), Some((ETH_P_ARP, 18)));
        assert_eq!(l3(&t[..10]), None);
    }

    #[test]
    fn builds_notifications() {
        let mut b = [0xa5u8; 128];
        let mac = MacAddr([2, 0, 0, 0, 0, 1]);
        let n = gratuitous_arp(&mut b, mac, Ipv4Addr::new(198, 18, 0, 1), None).unwrap();
        assert_eq!(n, 42);
        assert_eq!(&b[..6], &[0xff; 6]);
        assert_eq!(&b[28..32], &[198, 18, 0, 1]);
        assert_eq!(&b[38..42], &[198, 18, 0, 1]);
        let n = unsolicited_na(&mut b, mac, "2001:db8::1".parse().unwrap(), Some(10)).unwrap();
        assert_eq!(n, 18 + 72);
        assert_eq!(&b[..6], &[0x33, 0x33, 0, 0, 0, 1]);
    }
}
