//! The corners of `layer2+3`/`layer3+4` (`bond_flow_dissect`, `bond_flow_ip`), the fallbacks,
//! truncation and the VLAN rule. Expected values are written as the kernel's formula over the
//! fields the kernel reads (helpers in `common`), with a literal value where one helps.

mod common;
use common::*;
use xmit_hash::{FlowAddrs, Policy, flow_keys, hash};

const A: [u8; 4] = [198, 18, 0, 1];
const B: [u8; 4] = [198, 18, 0, 2];
/// `le(A) ^ le(B)`: 0x010012c6 ^ 0x020012c6.
const AB: u32 = 0x0300_0000;
/// `eth` of an IPv4 frame with the default MACs.
const ETH4: u32 = 0x0801;

fn l34(word: u32, addrs: u32) -> u32 {
    fold(word ^ addrs) >> 1
}

fn l23(eth: u32, addrs: u32) -> u32 {
    fold(eth ^ addrs)
}

fn v4frame(proto: u8, payload: &[u8]) -> Vec<u8> {
    eth(ETH_IPV4, &ipv4(A, B, proto, payload))
}

// ---------------------------------------------------------------------------------------------
// IPv4 header length and options

#[test]
fn ipv4_options_are_skipped_by_the_header_length() {
    let plain = ipv4_tcp(A, B, 1000, 2000);
    // Router alert (4 bytes, ihl 6) and a 40-byte option area (ihl 15) whose bytes would
    // give other "ports" if they were read.
    for options in [vec![0x94, 0x04, 0, 0], vec![0x01; 40]] {
        let f = eth(
            ETH_IPV4,
            &ipv4_with(A, B, TCP, &options, 0, &tcp(1000, 2000)),
        );
        assert_eq!(hash(Policy::Layer34, &f), l34(ports(1000, 2000), AB));
        assert_eq!(hash(Policy::Layer34, &f), hash(Policy::Layer34, &plain));
        assert_eq!(hash(Policy::Encap34, &f), hash(Policy::Layer34, &plain));
    }
}

#[test]
fn ipv4_header_length_below_five_is_taken_as_is() {
    // bond_flow_ip adds ihl * 4 to the offset without checking it, so with ihl 0 the "ports"
    // are the first four bytes of the IP header itself: 40 00 (version 4, ihl 0; tos 0) and
    // the total length 0x0028 (40 bytes).
    let mut ip = ipv4(A, B, TCP, &tcp(1000, 2000));
    ip[0] = 0x40;
    let f = eth(ETH_IPV4, &ip);
    let word = u32::from_le_bytes([0x40, 0x00, 0x00, 0x28]);
    assert_eq!(hash(Policy::Layer34, &f), l34(word, AB));
    // ihl 4: the ports are read at offset 16, the destination address.
    ip[0] = 0x44;
    let f4 = eth(ETH_IPV4, &ip);
    assert_eq!(hash(Policy::Layer34, &f4), l34(le(B), AB));
    // The flow dissector (encap policies) rejects ihl < 5: layer2 fallback.
    assert_eq!(hash(Policy::Encap34, &f), ETH4);
    assert_eq!(hash(Policy::Encap23, &f4), ETH4);
    // layer2+3 has the addresses either way.
    assert_eq!(hash(Policy::Layer23, &f), l23(ETH4, AB));
}

#[test]
fn ipv4_header_length_past_the_frame_gives_no_ports() {
    // ihl 15 on a 20-byte header followed by a TCP header: the ports would be at offset 60,
    // past the end of this 40-byte packet. The addresses are still hashed.
    let mut ip = ipv4(A, B, TCP, &tcp(1000, 2000));
    ip[0] = 0x4f;
    let f = eth(ETH_IPV4, &ip);
    assert_eq!(hash(Policy::Layer34, &f), l34(0, AB));
    // The dissector does not check the options either: same result.
    assert_eq!(hash(Policy::Encap34, &f), l34(0, AB));
}

// ---------------------------------------------------------------------------------------------
// Fragments

#[test]
fn no_ports_on_any_ipv4_fragment() {
    let cases = [
        (0x2000, "first fragment (MF, offset 0)"),
        (0x2001, "middle fragment (MF, offset 8)"),
        (0x00b9, "last fragment (offset 1480)"),
        (0x6001, "DF and MF and an offset"),
    ];
    for (frag_off, what) in cases {
        let f = eth(
            ETH_IPV4,
            &ipv4_with(A, B, UDP, &[], frag_off, &udp(5353, 53, b"x")),
        );
        assert_eq!(hash(Policy::Layer34, &f), l34(0, AB), "{what}");
        assert_eq!(hash(Policy::Encap34, &f), l34(0, AB), "{what}");
        // layer2+3 never used ports: a fragment hashes like the whole packet.
        assert_eq!(hash(Policy::Layer23, &f), l23(ETH4, AB), "{what}");
        assert_eq!(hash(Policy::Encap23, &f), l23(ETH4, AB), "{what}");
        let keys = flow_keys(Policy::Layer34, &f).unwrap();
        assert_eq!(keys.ports, [0; 4], "{what}");
    }
    // DF alone is not a fragment: the ports are there.
    let f = eth(
        ETH_IPV4,
        &ipv4_with(A, B, UDP, &[], 0x4000, &udp(5353, 53, b"x")),
    );
    assert_eq!(hash(Policy::Layer34, &f), l34(ports(5353, 53), AB));
}

#[test]
fn an_ipv4_fragment_of_icmp_is_not_looked_at_as_icmp() {
    // ip_proto stays unset for a fragment, so neither the echo identifier nor the ICMP-error
    // step applies: only the addresses remain.
    let echo = icmp(8, 0, 0x1234, 1, b"ping");
    let f = eth(ETH_IPV4, &ipv4_with(A, B, 1, &[], 0x2000, &echo));
    assert_eq!(hash(Policy::Layer34, &f), l34(0, AB));
    let embedded = ipv4(v4(19, 9, 9), v4(19, 9, 8), UDP, &udp(1, 2, b""));
    let err = eth(
        ETH_IPV4,
        &ipv4_with(A, B, 1, &[], 0x2000, &icmp(3, 3, 0, 0, &embedded)),
    );
    assert_eq!(hash(Policy::Layer34, &err), l34(0, AB));
    assert_eq!(hash(Policy::Layer23, &err), l23(ETH4, AB));
}

#[test]
fn ipv6_fragment_header_means_no_ports() {
    let a6 = 0x0300_0000; // ipv6_addr_hash(2001:db8::1) ^ ipv6_addr_hash(2001:db8::2)
    for (offset, more) in [(0, true), (0, false), (185, true), (185, false)] {
        let mut payload = frag6(TCP, offset, more);
        payload.extend_from_slice(&tcp(1000, 2000));
        let f = eth(ETH_IPV6, &ipv6(v6(1), v6(2), 44, &payload));
        // layer3+4: next header 44 has no port offset.
        assert_eq!(hash(Policy::Layer34, &f), l34(0, a6));
        // encap3+4: the dissector sees the fragment header and stops without ports, first
        // fragment or not.
        assert_eq!(hash(Policy::Encap34, &f), l34(0, a6));
    }
}

// ---------------------------------------------------------------------------------------------
// IPv6 extension headers

#[test]
fn ipv6_extension_headers_walked_by_encap_only() {
    let a6 = 0x0300_0000;
    let chains: [(u8, Vec<u8>); 4] = [
        (0, ext(TCP, 0)),
        (43, ext(TCP, 2)),
        (60, ext(TCP, 1)),
        (0, [ext(60, 0), ext(43, 1), ext(TCP, 0)].concat()),
    ];
    for (first, mut chain) in chains {
        chain.extend_from_slice(&tcp(1000, 2000));
        let f = eth(ETH_IPV6, &ipv6(v6(1), v6(2), first, &chain));
        // layer3+4 reads no extension header: next header 0/43/60 has no ports.
        assert_eq!(hash(Policy::Layer34, &f), l34(0, a6), "first {first}");
        // encap3+4 walks the chain to TCP.
        assert_eq!(
            hash(Policy::Encap34, &f),
            l34(ports(1000, 2000), a6),
            "first {first}"
        );
    }
}

#[test]
fn ipv6_extension_header_cut_short_fails_the_dissector() {
    // Next header is hop-by-hop but the frame ends right after the IPv6 header: the
    // dissector cannot read the option header's two bytes and fails (layer2 fallback).
    let f = eth(ETH_IPV6, &ipv6(v6(1), v6(2), 0, &[]));
    let eth6 = 0x0a ^ 0x0b ^ 0x86dd;
    assert_eq!(hash(Policy::Encap34, &f), eth6);
    assert_eq!(hash(Policy::Encap23, &f), eth6);
    // layer3+4 does not care.
    assert_eq!(hash(Policy::Layer34, &f), l34(0, 0x0300_0000));
    // An extension header whose length points past the frame is skipped over: no ports,
    // not a failure.
    let mut payload = ext(TCP, 200);
    payload.truncate(8);
    let f = eth(ETH_IPV6, &ipv6(v6(1), v6(2), 0, &payload));
    assert_eq!(hash(Policy::Encap34, &f), l34(0, 0x0300_0000));
}

#[test]
fn ipv6_extension_header_numbers_in_ipv4_are_just_protocols() {
    // The walk applies only while the current network protocol is IPv6.
    let mut payload = ext(TCP, 0);
    payload.extend_from_slice(&tcp(1000, 2000));
    let f = v4frame(0, &payload);
    assert_eq!(hash(Policy::Encap34, &f), l34(0, AB));
}

// ---------------------------------------------------------------------------------------------
// ICMP

#[test]
fn icmp_echo_hashes_type_code_and_id() {
    // Echo request, id 0x1234: key word = type 8 | code 0 << 8 | 0x1234 << 16 = 0x12340008.
    //   h = 0x12340008 ^ 0x03000000 = 0x11340008
    //   h ^= h >> 16 (0x1134)       = 0x1134113c
    //   h ^= h >> 8  (0x00113411)   = 0x1125252d
    //   h >> 1                      = 0x08929296
    let f = v4frame(1, &icmp(8, 0, 0x1234, 7, b"ping"));
    assert_eq!(hash(Policy::Layer34, &f), 0x0892_9296);
    assert_eq!(hash(Policy::Encap34, &f), 0x0892_9296);
    // The sequence number is not part of it.
    let g = v4frame(1, &icmp(8, 0, 0x1234, 8, b"ping"));
    assert_eq!(hash(Policy::Layer34, &g), 0x0892_9296);
    // layer2+3 ignores the ICMP key.
    assert_eq!(hash(Policy::Layer23, &f), l23(ETH4, AB));
}

#[test]
fn icmp_id_types_of_both_versions_count_for_either_protocol() {
    // icmp_has_id: 0, 8, 13, 14 (ICMP) and 128, 129 (ICMPv6), checked whatever the protocol.
    for t in [0u8, 8, 13, 14, 128, 129] {
        for code in [0u8, 5] {
            let w = u32::from(t) | u32::from(code) << 8 | 0x00aa << 16;
            let f = v4frame(1, &icmp(t, code, 0x00aa, 1, b""));
            assert_eq!(hash(Policy::Layer34, &f), l34(w, AB), "ICMP type {t}");
            let f6 = eth(
                ETH_IPV6,
                &ipv6(v6(1), v6(2), 58, &icmp(t, code, 0x00aa, 1, b"")),
            );
            assert_eq!(
                hash(Policy::Layer34, &f6),
                l34(w, 0x0300_0000),
                "ICMPv6 {t}"
            );
            assert_eq!(
                hash(Policy::Encap34, &f6),
                l34(w, 0x0300_0000),
                "ICMPv6 {t}"
            );
        }
    }
}

#[test]
fn icmp_zero_id_counts_as_one() {
    // id 0 -> 1: word = 8 | 1 << 16 = 0x00010008.
    //   h = 0x00010008 ^ 0x03000000 = 0x03010008
    //   h ^= h >> 16 (0x0301)       = 0x03010309
    //   h ^= h >> 8  (0x00030103)   = 0x0302020a
    //   h >> 1                      = 0x01810105
    let f = v4frame(1, &icmp(8, 0, 0, 1, b""));
    assert_eq!(hash(Policy::Layer34, &f), 0x0181_0105);
    assert_eq!(flow_keys(Policy::Layer34, &f).unwrap().icmp.id, 1);
    // A type without an identifier: id 0, so the (zero) ports are hashed instead.
    let f = v4frame(1, &icmp(9, 0, 0x1234, 0, b""));
    assert_eq!(hash(Policy::Layer34, &f), l34(0, AB));
    assert_eq!(flow_keys(Policy::Layer34, &f).unwrap().icmp.id, 0);
    // ICMPv6 neighbour solicitation (135): no identifier either.
    let f6 = eth(
        ETH_IPV6,
        &ipv6(v6(1), v6(2), 58, &icmp(135, 0, 0x1234, 0, b"")),
    );
    assert_eq!(hash(Policy::Layer34, &f6), l34(0, 0x0300_0000));
}

#[test]
fn icmp_header_cut_short_leaves_the_key_empty() {
    // Seven bytes of ICMP: the 8-byte header is not all there, nothing is read.
    let f = v4frame(1, &icmp(8, 0, 0x1234, 1, b"")[..7]);
    assert_eq!(hash(Policy::Layer34, &f), l34(0, AB));
    assert_eq!(hash(Policy::Encap34, &f), l34(0, AB));
}

/// An ICMP error from 198.18.0.254 to 198.18.0.1 about the UDP datagram
/// 198.18.0.1:5353 -> 198.19.9.9:53.
fn icmp_error(icmp_type: u8, code: u8) -> (Vec<u8>, Vec<u8>) {
    let original = ipv4(A, v4(19, 9, 9), UDP, &udp(5353, 53, b"query"));
    let err = eth(
        ETH_IPV4,
        &ipv4(
            v4(18, 0, 254),
            A,
            1,
            &icmp(icmp_type, code, 0, 0, &original[..28]),
        ),
    );
    (err, eth(ETH_IPV4, &original))
}

#[test]
fn icmp_errors_hash_on_the_embedded_header_for_layer23_and_layer34() {
    for (t, code) in [(3, 3), (3, 4), (4, 0), (5, 1), (11, 0), (12, 0)] {
        let (err, original) = icmp_error(t, code);
        // bond_flow_dissect re-reads the addresses and ports of the embedded datagram, so
        // the error goes where the datagram went.
        assert_eq!(
            hash(Policy::Layer34, &err),
            hash(Policy::Layer34, &original),
            "type {t}"
        );
        assert_eq!(
            hash(Policy::Layer23, &err),
            hash(Policy::Layer23, &original),
            "type {t}"
        );
        // The flow dissector (encap policies) does not: outer addresses, no ports, no id.
        let outer = le(v4(18, 0, 254)) ^ le(A);
        assert_eq!(hash(Policy::Encap34, &err), l34(0, outer), "type {t}");
        assert_eq!(hash(Policy::Encap23, &err), l23(ETH4, outer), "type {t}");
    }
    // A type that is not an error (echo reply without id field use, type 0 id 0 -> 1) keeps
    // the outer addresses.
    let (not_err, _) = icmp_error(0, 0);
    let outer = le(v4(18, 0, 254)) ^ le(A);
    assert_eq!(hash(Policy::Layer34, &not_err), l34(0x0001_0000, outer));
}

#[test]
fn icmpv6_errors_hash_on_the_embedded_header() {
    for t in 1u8..=4 {
        let original = ipv6(v6(1), v6(0x99), TCP, &tcp(40000, 443));
        let err = eth(
            ETH_IPV6,
            &ipv6(v6(0xfe), v6(1), 58, &icmp(t, 0, 0, 0, &original[..48])),
        );
        let original = eth(ETH_IPV6, &original);
        assert_eq!(
            hash(Policy::Layer34, &err),
            hash(Policy::Layer34, &original)
        );
        assert_eq!(
            hash(Policy::Layer23, &err),
            hash(Policy::Layer23, &original)
        );
    }
    // Types 1-4 are ICMPv6 errors only: in ICMP (protocol 1) type 1 and 2 are unassigned.
    let inner = ipv4(A, v4(19, 9, 9), UDP, &udp(5353, 53, b""));
    let f = v4frame(1, &icmp(2, 0, 0, 0, &inner));
    assert_eq!(hash(Policy::Layer34, &f), l34(0, AB));
}

#[test]
fn icmp_protocol_numbers_are_checked_whatever_the_ip_version() {
    // IPv6 carrying protocol 1 (ICMPv4) type 3: an "ICMP error", whose embedded header is
    // read as IPv6, the frame's protocol.
    let original = ipv6(v6(1), v6(0x99), UDP, &udp(7, 9, b""));
    let f = eth(
        ETH_IPV6,
        &ipv6(v6(0xfe), v6(1), 1, &icmp(3, 0, 0, 0, &original)),
    );
    assert_eq!(
        hash(Policy::Layer34, &f),
        hash(Policy::Layer34, &eth(ETH_IPV6, &original))
    );
}

#[test]
fn icmp_error_with_embedded_header_cut_short_falls_back_to_layer2() {
    let (err, _) = icmp_error(3, 3);
    // 14 Ethernet + 20 IP + 8 ICMP = 42; the embedded IPv4 header needs 20 more.
    for n in 42..62 {
        assert_eq!(hash(Policy::Layer34, &err[..n]), ETH4, "cut at {n}");
        assert_eq!(hash(Policy::Layer23, &err[..n]), ETH4, "cut at {n}");
        assert_eq!(flow_keys(Policy::Layer34, &err[..n]), None);
    }
    // With the embedded header whole but its ports cut short: embedded addresses, no ports.
    let inner = le(A) ^ le(v4(19, 9, 9));
    assert_eq!(hash(Policy::Layer34, &err[..62]), l34(0, inner));
    assert_eq!(
        hash(Policy::Layer34, &err[..66]),
        l34(ports(5353, 53), inner)
    );
}

#[test]
fn icmp_error_embedding_a_fragment_or_icmp_has_no_ports() {
    // The embedded datagram is a non-first fragment: addresses only.
    let original = ipv4_with(A, v4(19, 9, 9), UDP, &[], 0x0010, &udp(5353, 53, b""));
    let err = eth(
        ETH_IPV4,
        &ipv4(v4(18, 0, 254), A, 1, &icmp(3, 1, 0, 0, &original)),
    );
    let inner = le(A) ^ le(v4(19, 9, 9));
    assert_eq!(hash(Policy::Layer34, &err), l34(0, inner));
    // The embedded datagram is itself an echo request: only one level is looked at, the
    // outer key (type 11, no id) stays, and ICMP has no ports.
    let original = ipv4(A, v4(19, 9, 9), 1, &icmp(8, 0, 0x4242, 1, b""));
    let err = eth(
        ETH_IPV4,
        &ipv4(v4(18, 0, 254), A, 1, &icmp(11, 0, 0, 0, &original)),
    );
    assert_eq!(hash(Policy::Layer34, &err), l34(0, inner));
}

// ---------------------------------------------------------------------------------------------
// Transport protocols

#[test]
fn port_offsets_per_protocol() {
    // TCP, UDP, DCCP, SCTP, UDP-Lite: the ports at offset 0.
    for proto in [6u8, 17, 33, 132, 136] {
        let f = v4frame(proto, &udp(1234, 4321, b"data"));
        assert_eq!(
            hash(Policy::Layer34, &f),
            l34(ports(1234, 4321), AB),
            "{proto}"
        );
        assert_eq!(
            hash(Policy::Encap34, &f),
            l34(ports(1234, 4321), AB),
            "{proto}"
        );
    }
    // ESP: the SPI at offset 0.
    let spi = [0xde, 0xad, 0xbe, 0xef];
    let mut esp = spi.to_vec();
    esp.extend_from_slice(&[0, 0, 0, 1, 0xaa, 0xbb]);
    let f = v4frame(50, &esp);
    assert_eq!(hash(Policy::Layer34, &f), l34(u32::from_le_bytes(spi), AB));
    // AH: next header, length, 2 reserved bytes, then the SPI at offset 4.
    let mut ah = vec![TCP, 4, 0, 0];
    ah.extend_from_slice(&spi);
    ah.extend_from_slice(&[0, 0, 0, 1]);
    let f = v4frame(51, &ah);
    assert_eq!(hash(Policy::Layer34, &f), l34(u32::from_le_bytes(spi), AB));
    assert_eq!(hash(Policy::Encap34, &f), l34(u32::from_le_bytes(spi), AB));
    // AH cut before its SPI is whole: no "ports".
    let f = v4frame(51, &ah[..7]);
    assert_eq!(hash(Policy::Layer34, &f), l34(0, AB));
    // Protocols without a port offset: GRE (as layer3+4 sees it), OSPF, IGMP, 255.
    for proto in [47u8, 89, 2, 255] {
        let f = v4frame(proto, &udp(1234, 4321, b"data"));
        assert_eq!(hash(Policy::Layer34, &f), l34(0, AB), "{proto}");
    }
    // A TCP header of three bytes: the ports word is not all there.
    let f = v4frame(TCP, &tcp(1234, 4321)[..3]);
    assert_eq!(hash(Policy::Layer34, &f), l34(0, AB));
}

// ---------------------------------------------------------------------------------------------
// Non-IP frames and short frames

#[test]
fn non_ip_frames_fall_back_to_layer2() {
    let arp = eth(ETH_ARP, &[0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 0xb]);
    let lldp = eth(0x88cc, &[2, 7, 4, 2, 0, 0, 0, 0, 0xb]);
    let eth_arp = 0x0a ^ 0x0b ^ 0x0806; // 0x0807
    let eth_lldp = 0x0a ^ 0x0b ^ 0x88cc; // 0x88cd
    for (f, e) in [(&arp, eth_arp), (&lldp, eth_lldp)] {
        assert_eq!(hash(Policy::Layer2, f), e);
        assert_eq!(hash(Policy::Layer23, f), e);
        assert_eq!(hash(Policy::Layer34, f), e);
    }
    // The dissector knows ARP (and succeeds with no addresses): encap2+3 folds the eth value
    // (0x0807 ^ 0 ^ 0x08 = 0x080f), encap3+4 hashes zeros.
    assert_eq!(hash(Policy::Encap23, &arp), 0x080f);
    assert_eq!(hash(Policy::Encap34, &arp), 0);
    // LLDP it does not know: fallback.
    assert_eq!(hash(Policy::Encap23, &lldp), eth_lldp);
    assert_eq!(hash(Policy::Encap34, &lldp), eth_lldp);
}

#[test]
fn frames_shorter_than_an_ethernet_header_hash_to_zero() {
    let f = ipv4_tcp(A, B, 1, 2);
    for n in 0..14 {
        for p in Policy::ALL {
            assert_eq!(hash(p, &f[..n]), 0, "{p} at {n}");
            assert_eq!(flow_keys(p, &f[..n]), None);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Truncation at every length

/// What each policy must give for `frame[..n]`, by the header boundaries of a frame whose IP
/// header ends at `ip_end` and whose ports end at `ports_end`.
fn check_cuts(frame: &[u8], ip_end: usize, ports_end: usize, eth: u32, addrs: u32, word: u32) {
    for n in 0..=frame.len() {
        let cut = &frame[..n];
        let (l2, l23v, l34v) = if n < 14 {
            (0, 0, 0)
        } else if n < ip_end {
            (eth, eth, eth)
        } else if n < ports_end {
            (eth, l23(eth, addrs), l34(0, addrs))
        } else {
            (eth, l23(eth, addrs), l34(word, addrs))
        };
        assert_eq!(hash(Policy::Layer2, cut), l2, "layer2 at {n}");
        assert_eq!(hash(Policy::Layer23, cut), l23v, "layer2+3 at {n}");
        assert_eq!(hash(Policy::Layer34, cut), l34v, "layer3+4 at {n}");
        assert_eq!(hash(Policy::Encap23, cut), l23v, "encap2+3 at {n}");
        assert_eq!(hash(Policy::Encap34, cut), l34v, "encap3+4 at {n}");
    }
}

#[test]
fn truncation_at_every_length() {
    // IPv4 TCP: IP header ends at 34, ports at 38.
    let f = ipv4_tcp(A, B, 1000, 2000);
    check_cuts(&f, 34, 38, ETH4, AB, ports(1000, 2000));
    // IPv6 UDP: IP header ends at 54, ports at 58.
    let f = eth(ETH_IPV6, &ipv6(v6(1), v6(2), UDP, &udp(5353, 53, b"x")));
    check_cuts(&f, 54, 58, 0x86dc, 0x0300_0000, ports(5353, 53));
    // IPv4 with 8 bytes of options (ihl 7): only the fixed 20 bytes must be there (up to
    // 34); the ports sit after the options, at 42..46.
    let f = eth(
        ETH_IPV4,
        &ipv4_with(A, B, UDP, &[1; 8], 0, &udp(9, 10, b"")),
    );
    check_cuts(&f, 34, 46, ETH4, AB, ports(9, 10));
}

#[test]
fn truncation_of_a_tagged_frame() {
    let inner = ipv4_tcp(A, B, 1000, 2000);
    let f = tagged(ETH_VLAN, 0x0064, &inner);
    for n in 0..=f.len() {
        let cut = &f[..n];
        // 14 and 15 bytes hold no whole tag: hashed as they are, ethertype 0x8100.
        // 16 and 17: the tag comes out and leaves less than an Ethernet header: 0.
        // From 18 on: the untagged frame cut at n - 4.
        let expect = |p| match n {
            0..=13 | 16 | 17 => 0,
            14 | 15 if p == Policy::VlanSrcMac => 0x0002_000b,
            14 | 15 => 0x0a ^ 0x0b ^ 0x8100,
            _ if p == Policy::VlanSrcMac => 0x0002_000b ^ 0x0064,
            _ => hash(p, &inner[..n - 4]),
        };
        for p in Policy::ALL {
            assert_eq!(hash(p, cut), expect(p), "{p} at {n}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// VLAN tags

#[test]
fn outer_tag_is_offloaded_for_both_tpids() {
    let inner = ipv4_tcp(A, B, 1000, 2000);
    for tpid in [ETH_VLAN, ETH_QINQ] {
        // Priority 7, DEI set, VLAN 4094: the whole TCI goes into vlan+srcmac.
        let f = tagged(tpid, 0xfffe, &inner);
        assert_eq!(hash(Policy::VlanSrcMac, &f), 0x0002_000b ^ 0xfffe);
        for p in Policy::ALL {
            if p != Policy::VlanSrcMac {
                assert_eq!(hash(p, &f), hash(p, &inner), "{p} tpid {tpid:#x}");
            }
        }
    }
    // A zero TCI (priority-tagged frame) is still a tag: vlan 0.
    let f = tagged(ETH_VLAN, 0, &inner);
    assert_eq!(hash(Policy::VlanSrcMac, &f), 0x0002_000b);
    assert_eq!(hash(Policy::Layer34, &f), hash(Policy::Layer34, &inner));
}

#[test]
fn qinq_inner_tag_stays_in_the_data() {
    let inner = ipv4_tcp(A, B, 1000, 2000);
    let f = tagged(ETH_QINQ, 0x0064, &tagged(ETH_VLAN, 0x00c8, &inner));
    // After the outer tag comes out, the data's ethertype is 0x8100: layer2 includes it,
    // layer2+3 and layer3+4 are not IP and fall back to it.
    let e = 0x0a ^ 0x0b ^ 0x8100; // 0x8101
    assert_eq!(hash(Policy::Layer2, &f), e);
    assert_eq!(hash(Policy::Layer23, &f), e);
    assert_eq!(hash(Policy::Layer34, &f), e);
    assert_eq!(flow_keys(Policy::Layer34, &f), None);
    // The flow dissector steps over the inner tag to the same addresses and ports; encap2+3
    // still folds the eth value with 0x8100 in it.
    assert_eq!(hash(Policy::Encap34, &f), hash(Policy::Layer34, &inner));
    assert_eq!(hash(Policy::Encap23, &f), l23(e, AB));
    // vlan+srcmac takes the outer TCI only.
    assert_eq!(hash(Policy::VlanSrcMac, &f), 0x0002_000b ^ 0x0064);
}

#[test]
fn flow_keys_show_what_was_extracted() {
    let f = ipv4_tcp(A, B, 1000, 2000);
    let keys = flow_keys(Policy::Layer34, &f).unwrap();
    assert_eq!(keys.addrs, FlowAddrs::V4 { src: A, dst: B });
    assert_eq!(keys.ports, [0x03, 0xe8, 0x07, 0xd0]);
    assert_eq!(keys.addrs.src_u32() ^ keys.addrs.dst_u32(), AB);
    // layer2+3 does not read ports.
    assert_eq!(flow_keys(Policy::Layer23, &f).unwrap().ports, [0; 4]);
    // Neither does encap2+3's hash, so its keys show none either (found by the `xmit_hash`
    // fuzz target: the dissector's ports were returned, against the `FlowKeys::ports` docs).
    let encap23 = flow_keys(Policy::Encap23, &f).unwrap();
    assert_eq!(encap23.ports, [0; 4]);
    assert_eq!(encap23.addrs, keys.addrs);
    assert_eq!(flow_keys(Policy::Encap34, &f).unwrap().ports, keys.ports);
    assert_eq!(flow_keys(Policy::Layer2, &f), None);
    assert_eq!(flow_keys(Policy::VlanSrcMac, &f), None);
}
