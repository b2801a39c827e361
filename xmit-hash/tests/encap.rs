//! `encap2+3` and `encap3+4`: the kernel flow dissector (`__skb_flow_dissect` with the
//! bonding key set) over each encapsulation. The usual expectation is stated against a plain
//! frame: `encap3+4` of a tunnelled packet equals `layer3+4` of the inner packet sent bare
//! (same MACs), and `encap2+3` folds the outer Ethernet value with the inner addresses.

mod common;
use common::*;
use xmit_hash::{FlowAddrs, Policy, flow_keys, hash};

const OUTER_A: [u8; 4] = [198, 18, 0, 1];
const OUTER_B: [u8; 4] = [198, 18, 0, 2];
const INNER_C: [u8; 4] = [198, 19, 7, 1];
const INNER_D: [u8; 4] = [198, 19, 7, 2];
const ETH4: u32 = 0x0801;

fn l34(word: u32, addrs: u32) -> u32 {
    fold(word ^ addrs) >> 1
}

fn l23(eth: u32, addrs: u32) -> u32 {
    fold(eth ^ addrs)
}

fn outer_addrs() -> u32 {
    le(OUTER_A) ^ le(OUTER_B)
}

fn inner_addrs() -> u32 {
    le(INNER_C) ^ le(INNER_D)
}

/// The inner IPv4 TCP packet 198.19.7.1:1000 -> 198.19.7.2:2000.
fn inner_v4() -> Vec<u8> {
    ipv4(INNER_C, INNER_D, TCP, &tcp(1000, 2000))
}

/// The inner IPv6 TCP packet [2001:db8::7]:1000 -> [2001:db8::8]:2000.
fn inner_v6() -> Vec<u8> {
    ipv6(v6(7), v6(8), TCP, &tcp(1000, 2000))
}

/// `encap3+4` must match `layer3+4` of the bare inner packet; `encap2+3` must fold the outer
/// frame's eth value with the inner addresses.
fn assert_reaches_inner(frame: &[u8], outer_eth: u32, bare_inner: &[u8]) {
    assert_eq!(
        hash(Policy::Encap34, frame),
        hash(Policy::Layer34, bare_inner),
        "encap3+4"
    );
    let inner_keys = flow_keys(Policy::Layer23, bare_inner).unwrap();
    let addrs = inner_keys.addrs.src_u32() ^ inner_keys.addrs.dst_u32();
    assert_eq!(
        hash(Policy::Encap23, frame),
        l23(outer_eth, addrs),
        "encap2+3"
    );
}

#[test]
fn ip_in_ip_all_four_combinations() {
    // ipv6_addr_hash(2001:db8::1) ^ ipv6_addr_hash(2001:db8::2) = 0xb90d0120 ^ 0xba0d0120.
    let a6 = 0x0300_0000;
    let cases = [
        (
            "4in4",
            eth(ETH_IPV4, &ipv4(OUTER_A, OUTER_B, 4, &inner_v4())),
            ETH4,
            outer_addrs(),
        ),
        (
            "6in4",
            eth(ETH_IPV4, &ipv4(OUTER_A, OUTER_B, 41, &inner_v6())),
            ETH4,
            outer_addrs(),
        ),
        (
            "4in6",
            eth(ETH_IPV6, &ipv6(v6(1), v6(2), 4, &inner_v4())),
            0x86dc,
            a6,
        ),
        (
            "6in6",
            eth(ETH_IPV6, &ipv6(v6(1), v6(2), 41, &inner_v6())),
            0x86dc,
            a6,
        ),
    ];
    for (what, f, outer_eth, outer) in cases {
        let bare = if what.starts_with('4') {
            eth(ETH_IPV4, &inner_v4())
        } else {
            eth(ETH_IPV6, &inner_v6())
        };
        assert_reaches_inner(&f, outer_eth, &bare);
        // layer3+4 and layer2+3 stop at the outer header: protocol 4/41 has no ports.
        assert_eq!(hash(Policy::Layer34, &f), l34(0, outer), "{what}");
        assert_eq!(hash(Policy::Layer23, &f), l23(outer_eth, outer), "{what}");
    }
}

/// A GRE header with the given flags word and protocol, and zeroed optional fields.
fn gre(flags: u16, proto: u16) -> Vec<u8> {
    let mut g = flags.to_be_bytes().to_vec();
    g.extend_from_slice(&proto.to_be_bytes());
    for bit in [0x8000u16, 0x2000, 0x1000] {
        if flags & bit != 0 {
            g.extend_from_slice(&[0xa5; 4]);
        }
    }
    g
}

fn gre_frame(gre_header: &[u8], inner: &[u8]) -> Vec<u8> {
    eth(
        ETH_IPV4,
        &ipv4(OUTER_A, OUTER_B, 47, &[gre_header, inner].concat()),
    )
}

#[test]
fn gre_v0_carrying_ipv4_and_ipv6_with_every_optional_field() {
    for flags in [0x0000u16, 0x8000, 0x2000, 0x1000, 0xa000, 0x3000, 0xb000] {
        let f = gre_frame(&gre(flags, ETH_IPV4), &inner_v4());
        assert_reaches_inner(&f, ETH4, &eth(ETH_IPV4, &inner_v4()));
        let f = gre_frame(&gre(flags, ETH_IPV6), &inner_v6());
        assert_reaches_inner(&f, ETH4, &eth(ETH_IPV6, &inner_v6()));
        // layer3+4 sees protocol 47: no ports.
        assert_eq!(hash(Policy::Layer34, &f), l34(0, outer_addrs()));
    }
}

#[test]
fn gre_transparent_ethernet_bridging() {
    // GRE protocol 0x6558 carries a whole Ethernet frame; its MACs are not hashed, its
    // ethertype is dissected next.
    let inner_frame = eth_macs(
        [0x02, 9, 9, 9, 9, 0x77],
        [0x02, 8, 8, 8, 8, 0x66],
        ETH_IPV4,
        &inner_v4(),
    );
    let f = gre_frame(&gre(0x2000, 0x6558), &inner_frame);
    assert_reaches_inner(&f, ETH4, &eth(ETH_IPV4, &inner_v4()));
    // An inner VLAN tag is stepped over.
    let f = gre_frame(&gre(0, 0x6558), &tagged(ETH_VLAN, 5, &inner_frame));
    assert_reaches_inner(&f, ETH4, &eth(ETH_IPV4, &inner_v4()));
    // The inner Ethernet header cut short: the dissector fails, layer2 fallback.
    let f = gre_frame(&gre(0, 0x6558), &inner_frame[..13]);
    assert_eq!(hash(Policy::Encap34, &f), ETH4);
}

#[test]
fn gre_inner_vlan_with_the_outer_tag_offloaded() {
    // With an offloaded outer tag, the dissector's first VLAN step takes the offloaded tag
    // and continues with skb->protocol (here IPv4) without moving: when that first VLAN
    // step is an inner tag inside GRE, the bytes at the inner tag are then read as IPv4. Its
    // first byte (the TCI's high byte, 0x00) gives ihl 0, a dissector failure: layer2.
    let inner_frame = eth_macs(
        [0x02, 9, 9, 9, 9, 0x77],
        [0x02, 8, 8, 8, 8, 0x66],
        ETH_IPV4,
        &inner_v4(),
    );
    let untagged = gre_frame(&gre(0, 0x6558), &tagged(ETH_VLAN, 5, &inner_frame));
    let f = tagged(ETH_VLAN, 100, &untagged);
    assert_eq!(hash(Policy::Encap34, &f), ETH4);
    // Without the outer tag the same frame reaches the inner packet (previous test).
    assert_ne!(hash(Policy::Encap34, &untagged), ETH4);
}

#[test]
fn gre_that_the_dissector_does_not_enter() {
    // Routing present, or version 2 to 7: stop at the outer header, no ports.
    for flags in [0x4000u16, 0x0002, 0x0007] {
        let f = gre_frame(&gre(flags, ETH_IPV4), &inner_v4());
        assert_eq!(
            hash(Policy::Encap34, &f),
            l34(0, outer_addrs()),
            "{flags:#x}"
        );
        assert_eq!(
            hash(Policy::Encap23, &f),
            l23(ETH4, outer_addrs()),
            "{flags:#x}"
        );
    }
    // Version 1 that is not PPTP (no key, or not PPP): likewise.
    for (flags, proto) in [(0x0001u16, 0x880b), (0x2001, ETH_IPV4)] {
        let f = gre_frame(&gre(flags, proto), &inner_v4());
        assert_eq!(hash(Policy::Encap34, &f), l34(0, outer_addrs()));
    }
}

#[test]
fn gre_failures_fall_back_to_layer2() {
    // The base header cut short.
    let f = eth(ETH_IPV4, &ipv4(OUTER_A, OUTER_B, 47, &[0, 0, 8]));
    assert_eq!(hash(Policy::Encap34, &f), ETH4);
    // The key flag set but the key cut short.
    let f = eth(
        ETH_IPV4,
        &ipv4(OUTER_A, OUTER_B, 47, &[0x20, 0, 8, 0, 1, 2]),
    );
    assert_eq!(hash(Policy::Encap34, &f), ETH4);
    // A protocol the dissector does not know (ERSPAN, 0x88be).
    let f = gre_frame(&gre(0x1000, 0x88be), &[0; 40]);
    assert_eq!(hash(Policy::Encap34, &f), ETH4);
    assert_eq!(hash(Policy::Encap23, &f), ETH4);
    // The inner IPv4 header cut short.
    let f = gre_frame(&gre(0, ETH_IPV4), &inner_v4()[..19]);
    assert_eq!(hash(Policy::Encap34, &f), ETH4);
}

/// A PPTP GRE header (version 1, key) with optional sequence and acknowledgement numbers,
/// then a PPP header (address, control, protocol).
fn pptp(seq: bool, ack: bool, ppp_proto: u16) -> Vec<u8> {
    let mut flags = 0x2001u16;
    if seq {
        flags |= 0x1000;
    }
    if ack {
        flags |= 0x0080;
    }
    let mut g = flags.to_be_bytes().to_vec();
    g.extend_from_slice(&0x880bu16.to_be_bytes());
    g.extend_from_slice(&[0, 40, 0, 7]); // payload length, call id
    if seq {
        g.extend_from_slice(&[0, 0, 0, 1]);
    }
    if ack {
        g.extend_from_slice(&[0, 0, 0, 2]);
    }
    g.extend_from_slice(&[0xff, 0x03]);
    g.extend_from_slice(&ppp_proto.to_be_bytes());
    g
}

#[test]
fn gre_v1_pptp() {
    for (seq, ack) in [(false, false), (true, false), (false, true), (true, true)] {
        let f = gre_frame(&pptp(seq, ack, 0x0021), &inner_v4());
        assert_reaches_inner(&f, ETH4, &eth(ETH_IPV4, &inner_v4()));
        let f = gre_frame(&pptp(seq, ack, 0x0057), &inner_v6());
        assert_reaches_inner(&f, ETH4, &eth(ETH_IPV6, &inner_v6()));
    }
    // PPP carrying something else (LCP): the protocol stays 0x880b, which the next step does
    // not know: layer2 fallback.
    let f = gre_frame(&pptp(false, false, 0xc021), &[0; 20]);
    assert_eq!(hash(Policy::Encap34, &f), ETH4);
}

#[test]
fn mpls_stops_the_dissector_without_addresses() {
    // MPLS over Ethernet: the bonding key set has no MPLS key, so the dissector stops at the
    // label with no addresses: encap3+4 hashes zeros, encap2+3 folds the eth value
    // (0x0a ^ 0x0b ^ 0x8847 = 0x8846; fold: 0x8846 ^ 0x88 = 0x88ce).
    let label = [0x00, 0x06, 0x41, 0x40]; // label 100, bottom of stack, TTL 64
    let f = eth(0x8847, &[&label[..], &inner_v4()].concat());
    assert_eq!(hash(Policy::Encap34, &f), 0);
    assert_eq!(hash(Policy::Encap23, &f), 0x88ce);
    // MPLS in IP (protocol 137): the outer addresses stay, no ports.
    let f = eth(
        ETH_IPV4,
        &ipv4(OUTER_A, OUTER_B, 137, &[&label[..], &inner_v4()].concat()),
    );
    assert_eq!(hash(Policy::Encap34, &f), l34(0, outer_addrs()));
}

#[test]
fn pppoe_session() {
    let mut hdr = vec![0x11, 0x00, 0x12, 0x34, 0x00, 0x2a, 0x00, 0x21];
    let f = eth(0x8864, &[&hdr[..], &inner_v4()].concat());
    assert_reaches_inner(&f, 0x0a ^ 0x0b ^ 0x8864, &eth(ETH_IPV4, &inner_v4()));
    // IPv6 over PPPoE.
    hdr[7] = 0x57;
    let f = eth(0x8864, &[&hdr[..], &inner_v6()].concat());
    assert_reaches_inner(&f, 0x0a ^ 0x0b ^ 0x8864, &eth(ETH_IPV6, &inner_v6()));
    // A one-byte (compressed) protocol field: 0x21 followed by the IPv4 header directly.
    let f = eth(0x8864, &[&hdr[..6], &[0x21], &inner_v4()[..]].concat());
    assert_reaches_inner(&f, 0x0a ^ 0x0b ^ 0x8864, &eth(ETH_IPV4, &inner_v4()));
    // A valid PPP protocol the dissector does not follow (LCP): success, no addresses.
    hdr[6..8].copy_from_slice(&0xc021u16.to_be_bytes());
    let f = eth(0x8864, &hdr);
    assert_eq!(hash(Policy::Encap34, &f), 0);
    // An invalid PPP protocol (even low byte), or not session data: failure.
    hdr[6..8].copy_from_slice(&0x0022u16.to_be_bytes());
    assert_eq!(
        hash(Policy::Encap34, &eth(0x8864, &hdr)),
        0x0a ^ 0x0b ^ 0x8864
    );
    let bad = [0x11, 0x09, 0x12, 0x34, 0x00, 0x2a, 0x00, 0x21];
    let f = eth(0x8864, &[&bad[..], &inner_v4()].concat());
    assert_eq!(hash(Policy::Encap34, &f), 0x0a ^ 0x0b ^ 0x8864);
}

#[test]
fn fragments_inside_and_outside_a_tunnel() {
    // The outer header is a fragment: the dissector stops there, addresses only.
    let f = eth(
        ETH_IPV4,
        &ipv4_with(OUTER_A, OUTER_B, 4, &[], 0x2000, &inner_v4()),
    );
    assert_eq!(hash(Policy::Encap34, &f), l34(0, outer_addrs()));
    // The inner header is a fragment: inner addresses, no ports.
    let inner = ipv4_with(INNER_C, INNER_D, TCP, &[], 0x2000, &tcp(1000, 2000));
    let f = eth(ETH_IPV4, &ipv4(OUTER_A, OUTER_B, 4, &inner));
    assert_eq!(hash(Policy::Encap34, &f), l34(0, inner_addrs()));
    assert_eq!(
        flow_keys(Policy::Encap34, &f).unwrap().addrs,
        FlowAddrs::V4 {
            src: INNER_C,
            dst: INNER_D
        }
    );
}

#[test]
fn icmp_inside_a_tunnel_uses_the_inner_key() {
    let inner = ipv4(INNER_C, INNER_D, 1, &icmp(8, 0, 0x0102, 1, b"x"));
    let f = eth(ETH_IPV4, &ipv4(OUTER_A, OUTER_B, 4, &inner));
    let word = 8 | 0x0102 << 16;
    assert_eq!(hash(Policy::Encap34, &f), l34(word, inner_addrs()));
}

#[test]
fn vlan_tags_in_the_data() {
    let inner = eth(ETH_IPV4, &inner_v4());
    // Up to 14 inline tags behind the offloaded one: the offloaded tag takes one step and
    // each inline tag one, 15 in all, the most the dissector allows.
    let mut f = inner.clone();
    for i in 0..14 {
        f = tagged(ETH_VLAN, i, &f);
    }
    let f = tagged(ETH_QINQ, 99, &f);
    assert_eq!(hash(Policy::Encap34, &f), hash(Policy::Layer34, &inner));
    // One more and the dissector stops before the IP header, with nothing: encap3+4 hashes
    // zeros, encap2+3 folds the eth value (ethertype 0x8100 after the offloaded tag):
    // 0x8101 ^ 0x81 = 0x8180.
    let mut f = inner.clone();
    for i in 0..15 {
        f = tagged(ETH_VLAN, i, &f);
    }
    let f = tagged(ETH_QINQ, 99, &f);
    assert_eq!(hash(Policy::Encap34, &f), 0);
    assert_eq!(hash(Policy::Encap23, &f), 0x8180);
    // An inline tag cut short: failure, layer2 (with 0x8100 as the ethertype).
    let f = tagged(ETH_QINQ, 1, &tagged(ETH_VLAN, 2, &inner));
    assert_eq!(hash(Policy::Encap34, &f[..20]), 0x0a ^ 0x0b ^ 0x8100);
}

#[test]
fn nested_header_limit() {
    // 16 IPv6 headers nested with next header 41: 15 "again" steps reach the 16th, whose
    // TCP ports are hashed.
    let mut p = ipv6(v6(100), v6(101), TCP, &tcp(1000, 2000));
    for i in 0..15 {
        p = ipv6(v6(i), v6(i + 50), 41, &p);
    }
    let f = eth(ETH_IPV6, &p);
    let innermost = eth(ETH_IPV6, &ipv6(v6(100), v6(101), TCP, &tcp(1000, 2000)));
    assert_eq!(hash(Policy::Encap34, &f), hash(Policy::Layer34, &innermost));
    // 17 headers: the dissector stops after the 16th "again" with the addresses of the 16th
    // header (2001:db8::100 -> ::101 is now the 17th) and ports reset to 0 on its pass.
    let f = eth(ETH_IPV6, &ipv6(v6(200), v6(201), 41, &p));
    let keys = flow_keys(Policy::Encap34, &f).unwrap();
    assert_eq!(
        keys.addrs,
        FlowAddrs::V6 {
            src: v6(0),
            dst: v6(50)
        }
    );
    assert_eq!(keys.ports, [0; 4]);
}

#[test]
fn other_ethertypes_the_dissector_knows() {
    let e = |t: u16| 0x0a ^ 0x0b ^ u32::from(t);
    // TIPC: the source node word (bytes 12..16) is the key, read little-endian; no
    // destination word.
    let mut tipc = vec![0u8; 16];
    tipc[12..].copy_from_slice(&[1, 2, 3, 4]);
    let f = eth(0x88ca, &tipc);
    assert_eq!(hash(Policy::Encap34, &f), l34(0, 0x0403_0201));
    assert_eq!(hash(Policy::Encap23, &f), l23(e(0x88ca), 0x0403_0201));
    assert_eq!(hash(Policy::Encap34, &f[..29]), e(0x88ca));
    // batman-adv unicast (type 0x40, version 15): the Ethernet frame inside.
    let mut batadv = vec![0x40, 15, 50, 1, 2, 0, 0, 0, 0, 1];
    batadv.extend_from_slice(&eth(ETH_IPV4, &inner_v4()));
    let f = eth(0x4305, &batadv);
    assert_reaches_inner(&f, e(0x4305), &eth(ETH_IPV4, &inner_v4()));
    batadv[1] = 14;
    assert_eq!(hash(Policy::Encap34, &eth(0x4305, &batadv)), e(0x4305));
    // HSR and PRP: a 6-byte tag, then the protocol it names.
    for t in [0x892fu16, 0x88fb] {
        let tag = [0, 0, 0, 1, 0x08, 0x00];
        let f = eth(t, &[&tag[..], &inner_v4()].concat());
        assert_reaches_inner(&f, e(t), &eth(ETH_IPV4, &inner_v4()));
    }
    // PTP (34-byte header), FCoE (38 bytes), CFM, ARP, RARP: success with no addresses when
    // the header is there, failure when it is cut short (PTP, FCoE).
    for (t, need) in [
        (0x88f7u16, 34usize),
        (0x8906, 38),
        (0x8902, 0),
        (0x0806, 0),
        (0x8035, 0),
    ] {
        let f = eth(t, &vec![0u8; need]);
        assert_eq!(hash(Policy::Encap34, &f), 0, "{t:#x}");
        assert_eq!(hash(Policy::Encap23, &f), fold(e(t)), "{t:#x}");
        if need > 0 {
            let f = eth(t, &vec![0u8; need - 1]);
            assert_eq!(hash(Policy::Encap34, &f), e(t), "{t:#x}");
        }
    }
}
