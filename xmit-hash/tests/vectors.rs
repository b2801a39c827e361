//! Hand-computed vectors, one frame per IP version, every policy, with the arithmetic
//! worked out in the comments.
//!
//! Conventions (see the crate docs): an IPv4 address is its bytes read as a little-endian
//! word, so 198.18.0.1 = c6 12 00 01 = 0x010012c6; the ports word is the four port bytes read
//! little-endian; `eth` = `dst[5] ^ src[5] ^ ethertype`.

mod common;
use common::*;
use xmit_hash::{Policy, hash, member_index};

/// IPv4 TCP 198.18.0.1:40000 -> 198.19.0.2:80, dst MAC ..:0a, src MAC 02:00:00:00:00:0b.
fn ipv4_frame() -> Vec<u8> {
    ipv4_tcp(v4(18, 0, 1), v4(19, 0, 2), 40000, 80)
}

#[test]
fn ipv4_tcp_every_policy() {
    let f = ipv4_frame();

    // layer2: 0x0a ^ 0x0b ^ 0x0800 = 0x0801.
    assert_eq!(hash(Policy::Layer2, &f), 0x0000_0801);

    // addrs: src c6 12 00 01 -> 0x010012c6, dst c6 13 00 02 -> 0x020013c6,
    //        src ^ dst = 0x03000100.
    // layer2+3: h = 0x0801 ^ 0x03000100           = 0x03000901
    //           h ^= h >> 16 (0x0300)              = 0x03000a01
    //           h ^= h >> 8  (0x0003000a)          = 0x03030a0b (no final shift since 5.18)
    assert_eq!(hash(Policy::Layer23, &f), 0x0303_0a0b);

    // layer3+4: ports 40000 = 9c 40, 80 = 00 50 -> bytes 9c 40 00 50 -> 0x5000409c
    //           h = 0x5000409c ^ 0x03000100         = 0x5300419c
    //           h ^= h >> 16 (0x5300)               = 0x5300129c
    //           h ^= h >> 8  (0x00530012)           = 0x5353128e
    //           h >> 1                              = 0x29a98947
    assert_eq!(hash(Policy::Layer34, &f), 0x29a9_8947);

    // The flow dissector reaches the same addresses and ports for a plain packet, so the encap
    // policies agree with their non-encap counterparts here.
    assert_eq!(hash(Policy::Encap23, &f), 0x0303_0a0b);
    assert_eq!(hash(Policy::Encap34, &f), 0x29a9_8947);

    // vlan+srcmac: untagged (vlan 0); src 02:00:00 -> 0x020000, 00:00:0b -> 0x00000b;
    //              0 ^ 0x020000 ^ 0x00000b = 0x02000b.
    assert_eq!(hash(Policy::VlanSrcMac, &f), 0x0002_000b);
}

#[test]
fn ipv6_udp_every_policy() {
    // IPv6 UDP [2001:db8::1]:5353 -> [2001:db8::2]:53.
    let f = eth(ETH_IPV6, &ipv6(v6(1), v6(2), UDP, &udp(5353, 53, b"q")));

    // layer2: 0x0a ^ 0x0b ^ 0x86dd = 0x86dc.
    assert_eq!(hash(Policy::Layer2, &f), 0x0000_86dc);

    // ipv6_addr_hash(2001:db8::1): words 20 01 0d b8 -> 0xb80d0120, 0, 0, 00 00 00 01 ->
    //   0x01000000; XOR = 0xb90d0120. Likewise 2001:db8::2 -> 0xba0d0120.
    //   src ^ dst = 0x03000000.
    // layer2+3: h = 0x86dc ^ 0x03000000            = 0x030086dc
    //           h ^= h >> 16 (0x0300)              = 0x030085dc
    //           h ^= h >> 8  (0x00030085)          = 0x03038559
    assert_eq!(hash(Policy::Layer23, &f), 0x0303_8559);
    assert_eq!(hash(Policy::Encap23, &f), 0x0303_8559);

    // layer3+4: ports 5353 = 14 e9, 53 = 00 35 -> 0x3500e914
    //           h = 0x3500e914 ^ 0x03000000         = 0x3600e914
    //           h ^= h >> 16 (0x3600)               = 0x3600df14
    //           h ^= h >> 8  (0x003600df)           = 0x3636dfcb
    //           h >> 1                              = 0x1b1b6fe5
    assert_eq!(hash(Policy::Layer34, &f), 0x1b1b_6fe5);
    assert_eq!(hash(Policy::Encap34, &f), 0x1b1b_6fe5);

    assert_eq!(hash(Policy::VlanSrcMac, &f), 0x0002_000b);
}

#[test]
fn vlan_tagged_ipv4_udp_every_policy() {
    // 802.1Q TCI 0x6064 (priority 3, VLAN 100); src MAC 02:00:5e:12:34:56; inside, IPv4 UDP
    // 198.18.0.1:5353 -> 198.18.1.1:53.
    let src = [0x02, 0x00, 0x5e, 0x12, 0x34, 0x56];
    let untagged = eth_macs(
        DST,
        src,
        ETH_IPV4,
        &ipv4(v4(18, 0, 1), v4(18, 1, 1), UDP, &udp(5353, 53, b"q")),
    );
    let f = tagged(ETH_VLAN, 0x6064, &untagged);

    // The tag is offloaded: eth uses the inner ethertype. 0x0a ^ 0x56 ^ 0x0800 = 0x085c.
    assert_eq!(hash(Policy::Layer2, &f), 0x0000_085c);

    // addrs: 0x010012c6 ^ 0x010112c6 = 0x00010000.
    // layer2+3: h = 0x085c ^ 0x00010000            = 0x0001085c
    //           h ^= h >> 16 (0x0001)              = 0x0001085d
    //           h ^= h >> 8  (0x00000108)          = 0x00010955
    assert_eq!(hash(Policy::Layer23, &f), 0x0001_0955);
    assert_eq!(hash(Policy::Encap23, &f), 0x0001_0955);

    // layer3+4: ports 0x3500e914 (as above)
    //           h = 0x3500e914 ^ 0x00010000         = 0x3501e914
    //           h ^= h >> 16 (0x3501)               = 0x3501dc15
    //           h ^= h >> 8  (0x003501dc)           = 0x3534ddc9
    //           h >> 1                              = 0x1a9a6ee4
    assert_eq!(hash(Policy::Layer34, &f), 0x1a9a_6ee4);
    assert_eq!(hash(Policy::Encap34, &f), 0x1a9a_6ee4);

    // vlan+srcmac: the full TCI 0x6064 ^ 0x02005e ^ 0x123456:
    //   0x02005e ^ 0x123456 = 0x103408; ^ 0x6064 = 0x10546c.
    assert_eq!(hash(Policy::VlanSrcMac, &f), 0x0010_546c);
    // Untagged, the same frame has vlan 0: 0x103408.
    assert_eq!(hash(Policy::VlanSrcMac, &untagged), 0x0010_3408);

    // Every other policy hashes the tagged frame as the untagged one.
    for p in [
        Policy::Layer2,
        Policy::Layer23,
        Policy::Layer34,
        Policy::Encap23,
        Policy::Encap34,
    ] {
        assert_eq!(hash(p, &f), hash(p, &untagged), "{p}");
    }
}

#[test]
fn member_index_is_hash_modulo_count() {
    // 0x29a98947 = 698976583; % 2 = 1, % 3 = 698976583 - 3 * 232992194 = 1,
    // % 5 = 3 (ends in 3), % 16 = 7 (low nibble).
    let h = hash(Policy::Layer34, &ipv4_frame());
    assert_eq!(member_index(h, 2), Some(1));
    assert_eq!(member_index(h, 3), Some(1));
    assert_eq!(member_index(h, 5), Some(3));
    assert_eq!(member_index(h, 16), Some(7));
    assert_eq!(member_index(h, 1), Some(0));
    assert_eq!(member_index(h, 0), None);
    assert_eq!(member_index(u32::MAX, 7), Some((u32::MAX % 7) as usize));
}

#[test]
fn ipv4_in_ipv4_encap_policies() {
    // Outer IPv4 198.18.0.1 -> 198.18.0.2, protocol 4, carrying IPv4 TCP
    // 198.19.7.1:1000 -> 198.19.7.2:2000.
    let inner = ipv4(v4(19, 7, 1), v4(19, 7, 2), TCP, &tcp(1000, 2000));
    let f = eth(ETH_IPV4, &ipv4(v4(18, 0, 1), v4(18, 0, 2), 4, &inner));

    // encap3+4 hashes the inner header:
    //   addrs: c6 13 07 01 -> 0x010713c6, c6 13 07 02 -> 0x020713c6, XOR = 0x03000000
    //   ports: 1000 = 03 e8, 2000 = 07 d0 -> 0xd007e803
    //   h = 0xd007e803 ^ 0x03000000                = 0xd307e803
    //   h ^= h >> 16 (0xd307)                      = 0xd3073b04
    //   h ^= h >> 8  (0x00d3073b)                  = 0xd3d43c3f
    //   h >> 1                                     = 0x69ea1e1f
    assert_eq!(hash(Policy::Encap34, &f), 0x69ea_1e1f);

    // encap2+3: the outer eth value with the inner addresses:
    //   h = 0x0801 ^ 0x03000000                    = 0x03000801
    //   h ^= h >> 16 (0x0300)                      = 0x03000b01
    //   h ^= h >> 8  (0x0003000b)                  = 0x03030b0a
    assert_eq!(hash(Policy::Encap23, &f), 0x0303_0b0a);

    // layer3+4 stops at the outer header: protocol 4 has no ports, the outer addresses are
    //   0x010012c6 ^ 0x020012c6 = 0x03000000:
    //   h = 0 ^ 0x03000000; h ^= h >> 16 -> 0x03000300; h ^= h >> 8 -> 0x03030303;
    //   h >> 1 = 0x01818181.
    assert_eq!(hash(Policy::Layer34, &f), 0x0181_8181);
}
