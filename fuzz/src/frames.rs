//! Small frame builders for seeds and for the ops that carry a valid frame.

/// An Ethernet II frame to 02:00:00:00:00:02 from 02:00:00:00:00:01.
pub fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    eth_to([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1], ethertype, payload)
}

/// An Ethernet II frame.
pub fn eth_to(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A frame with one VLAN tag (`tpid`, `vid`) before `ethertype`.
pub fn vlan(tpid: u16, vid: u16, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(4 + payload.len());
    p.extend_from_slice(&vid.to_be_bytes());
    p.extend_from_slice(&ethertype.to_be_bytes());
    p.extend_from_slice(payload);
    eth(tpid, &p)
}

/// An IPv4 header (no options, correct header checksum) and its payload.
pub fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    h[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// An IPv6 header (hop limit 64) and its payload.
pub fn ipv6(src: [u8; 16], dst: [u8; 16], next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[next, 64]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(payload);
    h
}

/// 2001:2::`n`.
pub fn v6(n: u8) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0x20, 0x01, 0, 2]);
    a[15] = n;
    a
}

/// A UDP header with `len` bytes of zero payload after it.
pub fn udp_header(src: u16, dst: u16, len: usize) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&src.to_be_bytes());
    h.extend_from_slice(&dst.to_be_bytes());
    h.extend_from_slice(&((8 + len) as u16).to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    h.resize(8 + len, 0);
    h
}

/// A 20-byte TCP header (SYN).
pub fn tcp_header(src: u16, dst: u16) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&src.to_be_bytes());
    h.extend_from_slice(&dst.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    h
}

/// An Ethernet/IPv4 ARP message (28 bytes).
pub fn arp(op: u16, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4]) -> Vec<u8> {
    let mut p = vec![0, 1, 0x08, 0, 6, 4];
    p.extend_from_slice(&op.to_be_bytes());
    p.extend_from_slice(&sha);
    p.extend_from_slice(&spa);
    p.extend_from_slice(&tha);
    p.extend_from_slice(&tpa);
    p
}

/// The RFC 1071 one's complement sum (folded, not inverted) of the ICMPv6 pseudo-header and
/// message for `ip` (an IPv6 packet whose payload is ICMPv6), or `None` if the payload length
/// runs past the bytes. A receiver accepts the message when this is 0xffff.
pub fn icmpv6_sum(ip: &[u8]) -> Option<u16> {
    if ip.len() < 40 {
        return None;
    }
    let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    let msg = ip.get(40..40 + plen)?;
    let mut sum: u64 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            let hi = c[0];
            let lo = c.get(1).copied().unwrap_or(0);
            sum += u64::from(u16::from_be_bytes([hi, lo]));
        }
    };
    add(&ip[8..40]);
    add(&(plen as u32).to_be_bytes());
    add(&[0, 0, 0, 58]);
    add(msg);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    Some(sum as u16)
}

/// Writes the ICMPv6 checksum of `ip` (an IPv6 packet carrying ICMPv6) so that it verifies.
/// Returns false if the packet is too short to hold the checksum field.
pub fn fix_icmpv6_checksum(ip: &mut [u8]) -> bool {
    if ip.len() < 44 {
        return false;
    }
    ip[42] = 0;
    ip[43] = 0;
    match icmpv6_sum(ip) {
        Some(s) => {
            ip[42..44].copy_from_slice(&(!s).to_be_bytes());
            true
        }
        None => false,
    }
}

/// An IPv6 neighbour solicitation (`na == false`) or advertisement with hop limit 255, an
/// optional link-layer address option and a correct checksum.
pub fn ndisc(
    na: bool,
    flags: u8,
    src: [u8; 16],
    dst: [u8; 16],
    target: [u8; 16],
    lladdr: Option<[u8; 6]>,
) -> Vec<u8> {
    let mut icmp = vec![if na { 136 } else { 135 }, 0, 0, 0, flags, 0, 0, 0];
    icmp.extend_from_slice(&target);
    if let Some(mac) = lladdr {
        icmp.extend_from_slice(&[if na { 2 } else { 1 }, 1]);
        icmp.extend_from_slice(&mac);
    }
    let mut ip = ipv6(src, dst, 58, &icmp);
    ip[7] = 255;
    fix_icmpv6_checksum(&mut ip);
    ip
}

/// The solicited-node multicast address of `a`.
pub fn solicited_node(a: &[u8; 16]) -> [u8; 16] {
    let mut s = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0];
    s[13..].copy_from_slice(&a[13..]);
    s
}
