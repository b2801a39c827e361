//! Frame builders for the tests: just enough header to hash, addresses from 198.18.0.0/15 and
//! 2001:db8::/32. Checksums are left zero (the hash never reads them).
#![allow(dead_code, unreachable_pub)]

/// Destination MAC of most test frames (`dst[5]` = 0x0a).
pub const DST: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
/// Source MAC of most test frames (`src[5]` = 0x0b).
pub const SRC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

pub const ETH_IPV4: u16 = 0x0800;
pub const ETH_IPV6: u16 = 0x86dd;
pub const ETH_ARP: u16 = 0x0806;
pub const ETH_VLAN: u16 = 0x8100;
pub const ETH_QINQ: u16 = 0x88a8;

pub const TCP: u8 = 6;
pub const UDP: u8 = 17;

/// An Ethernet frame with the default MACs.
pub fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    eth_macs(DST, SRC, ethertype, payload)
}

/// An Ethernet frame.
pub fn eth_macs(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// `frame` with a tag (`tpid`, `tci`) inserted after the MACs.
pub fn tagged(tpid: u16, tci: u16, frame: &[u8]) -> Vec<u8> {
    let mut f = frame[..12].to_vec();
    f.extend_from_slice(&tpid.to_be_bytes());
    f.extend_from_slice(&tci.to_be_bytes());
    f.extend_from_slice(&frame[12..]);
    f
}

/// An IPv4 address in the benchmarking range.
pub fn v4(a: u8, b: u8, c: u8) -> [u8; 4] {
    [198, a, b, c]
}

/// `2001:db8::<last>`.
pub fn v6(last: u16) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    a[14..].copy_from_slice(&last.to_be_bytes());
    a
}

/// An IPv4 packet with no options, not fragmented.
pub fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_with(src, dst, proto, &[], 0, payload)
}

/// An IPv4 packet with `options` (a multiple of 4 bytes) and the given flags/offset word.
pub fn ipv4_with(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    options: &[u8],
    frag_off: u16,
    payload: &[u8],
) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0);
    let ihl = 5 + options.len() / 4;
    let total = (ihl * 4 + payload.len()) as u16;
    let mut p = vec![0x40 | ihl as u8, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&0x1234u16.to_be_bytes());
    p.extend_from_slice(&frag_off.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(options);
    p.extend_from_slice(payload);
    p
}

/// An IPv6 packet.
pub fn ipv6(src: [u8; 16], dst: [u8; 16], next: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[next, 64]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(payload);
    p
}

/// A 20-byte TCP header (SYN).
pub fn tcp(sport: u16, dport: u16) -> Vec<u8> {
    let mut t = Vec::with_capacity(20);
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    t
}

/// A UDP header and payload.
pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

/// An ICMP or ICMPv6 message: type, code, checksum 0, id, sequence, payload.
pub fn icmp(icmp_type: u8, code: u8, id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut m = vec![icmp_type, code, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(payload);
    m
}

/// An IPv6 extension header (hop-by-hop, routing or destination options) of
/// `8 * (len + 1)` bytes.
pub fn ext(next: u8, len: u8) -> Vec<u8> {
    let mut h = vec![next, len];
    h.resize(8 * (usize::from(len) + 1), 0);
    h
}

/// An IPv6 fragment header.
pub fn frag6(next: u8, offset_words: u16, more: bool) -> Vec<u8> {
    let word = (offset_words << 3) | u16::from(more);
    let mut h = vec![next, 0];
    h.extend_from_slice(&word.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 7]);
    h
}

/// The frame of an IPv4 TCP flow, the default MACs.
pub fn ipv4_tcp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    eth(ETH_IPV4, &ipv4(src, dst, TCP, &tcp(sport, dport)))
}

/// The frame of an IPv4 UDP flow, the default MACs.
pub fn ipv4_udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    eth(
        ETH_IPV4,
        &ipv4(src, dst, UDP, &udp(sport, dport, b"payload")),
    )
}

/// The frame of an IPv6 TCP flow, the default MACs.
pub fn ipv6_tcp(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16) -> Vec<u8> {
    eth(ETH_IPV6, &ipv6(src, dst, TCP, &tcp(sport, dport)))
}

/// The kernel's folds, for tests that state a result as a formula over other results.
pub fn fold(h: u32) -> u32 {
    let h = h ^ (h >> 16);
    h ^ (h >> 8)
}

/// An IPv4 address as the kernel's little-endian read of its bytes.
pub fn le(a: [u8; 4]) -> u32 {
    u32::from_le_bytes(a)
}

/// The ports word: source and destination port as on the wire, read little-endian.
pub fn ports(sport: u16, dport: u16) -> u32 {
    let s = sport.to_be_bytes();
    let d = dport.to_be_bytes();
    u32::from_le_bytes([s[0], s[1], d[0], d[1]])
}
