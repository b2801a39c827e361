//! `xmit_hash`: any frame through every transmit hash policy.
//!
//! For every policy: the hash equals the one rebuilt from the flow keys the policy extracted
//! (by the formulas of the crate docs' table), the `layer2` and `vlan+srcmac` values equal an
//! independent reading of the Ethernet header, a batch hashes exactly as one frame at a time,
//! and member selection is `hash % count`. Also the policy's option parser on the same bytes
//! (when they are UTF-8): whatever it accepts prints back to a spelling it accepts again.

use xmit_hash::{FlowKeys, Policy, flow_keys, hash, hash_batch, member_index};

/// The `layer2` value and the `vlan+srcmac` value, read independently of the crate from the
/// crate docs ("VLAN tags"): an outer 802.1Q/802.1ad tag is taken out when its TCI is whole,
/// and data left shorter than an Ethernet header hashes to 0.
fn reference_l2(frame: &[u8]) -> (u32, u32) {
    if frame.len() < 14 {
        return (0, 0);
    }
    let be16 = |i: usize| u16::from_be_bytes([frame[i], frame[i + 1]]);
    let outer = be16(12);
    let (ethertype, tci) = if (outer == 0x8100 || outer == 0x88a8) && frame.len() >= 16 {
        if frame.len() < 18 {
            return (0, 0);
        }
        (be16(16), be16(14))
    } else {
        (outer, 0)
    };
    let l2 = u32::from(frame[5]) ^ u32::from(frame[11]) ^ u32::from(ethertype);
    let src = &frame[6..12];
    let vendor = u32::from_be_bytes([0, src[0], src[1], src[2]]);
    let device = u32::from_be_bytes([0, src[3], src[4], src[5]]);
    (l2, u32::from(tci) ^ vendor ^ device)
}

fn fold(mut h: u32) -> u32 {
    h ^= h >> 16;
    h ^= h >> 8;
    h
}

/// The hash rebuilt from the flow keys by the crate docs' table.
fn from_keys(policy: Policy, l2: u32, keys: &FlowKeys) -> u32 {
    let addrs = keys.addrs.src_u32() ^ keys.addrs.dst_u32();
    let l4 = if keys.icmp.id != 0 {
        keys.icmp.as_u32()
    } else {
        keys.ports_u32()
    };
    match policy {
        Policy::Layer23 | Policy::Encap23 => fold(l2 ^ addrs),
        Policy::Layer34 | Policy::Encap34 => fold(l4 ^ addrs) >> 1,
        Policy::Layer2 | Policy::VlanSrcMac => unreachable!("no flow keys for {policy}"),
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let (l2, vlan_srcmac) = reference_l2(data);
    let mut hashes = [0u32; 6];
    for (slot, p) in hashes.iter_mut().zip(Policy::ALL) {
        let h = hash(p, data);
        *slot = h;
        let keys = flow_keys(p, data);
        match p {
            Policy::Layer2 => {
                assert!(keys.is_none());
                assert_eq!(h, l2, "layer2");
            }
            Policy::VlanSrcMac => {
                assert!(keys.is_none());
                assert_eq!(h, vlan_srcmac, "vlan+srcmac");
            }
            _ => match keys {
                // No keys: the policy falls back to the layer2 value.
                None => assert_eq!(h, l2, "{p}: fallback"),
                Some(k) => {
                    assert!(data.len() >= 14, "{p}: keys from a runt");
                    assert_eq!(h, from_keys(p, l2, &k), "{p}: hash vs keys {k:?}");
                    if matches!(p, Policy::Layer23 | Policy::Encap23) {
                        assert_eq!(k.ports, [0; 4], "{p}: ports without layer 4");
                    }
                }
            },
        }
        assert_eq!(member_index(h, 0), None);
        for count in 1..=9usize {
            let m = member_index(h, count).expect("a member");
            assert!(m < count);
            assert_eq!(m as u64, u64::from(h) % count as u64);
        }
    }

    // A batch of the frame and some cuts of it hashes as one frame at a time, and writes no
    // slot past what it returns.
    let len = data.len();
    let cuts: [&[u8]; 5] = [
        data,
        &data[..len / 2],
        &data[..len.min(14)],
        data.get(1..).unwrap_or(&[]),
        data.get(4..).unwrap_or(&[]),
    ];
    let room = usize::from(data.first().copied().unwrap_or(0) % 7);
    for (k, p) in Policy::ALL.into_iter().enumerate() {
        let mut out = [0xdead_beef_u32; 6];
        let n = hash_batch(p, cuts.iter().copied(), &mut out[..room]);
        assert_eq!(n, room.min(cuts.len()));
        for (i, frame) in cuts.iter().take(n).enumerate() {
            assert_eq!(out[i], hash(p, frame), "{p}: batch slot {i}");
        }
        assert!(out[n..].iter().all(|&v| v == 0xdead_beef));
        assert_eq!(hash(p, data), hashes[k]);
    }

    // The option parser.
    if let Ok(s) = core::str::from_utf8(data) {
        if let Ok(p) = s.parse::<Policy>() {
            assert_eq!(p.to_string().parse::<Policy>(), Ok(p));
            assert_eq!(p.value().to_string().parse::<Policy>(), Ok(p));
        } else {
            let e = s.parse::<Policy>().unwrap_err();
            assert_eq!(e.value(), s);
            assert!(e.to_string().contains("xmit_hash_policy"));
        }
    }
}

/// Seeds beyond the captured frames: frames that reach each branch of the dissectors.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    use crate::frames::*;
    let a4 = [198, 18, 0, 1];
    let b4 = [198, 18, 0, 2];
    let a6 = v6(1);
    let b6 = v6(2);
    let udp = udp_header(1234, 4321, 8);
    let tcp = tcp_header(40000, 80);
    let icmp_echo = [8u8, 0, 0, 0, 0x12, 0x34, 0, 1];
    let mut out = Vec::new();
    let mut add = |name: &'static str, f: Vec<u8>| out.push((name, f));
    add("ipv4-udp", eth(0x0800, &ipv4(a4, b4, 17, &udp)));
    add("ipv4-tcp", eth(0x0800, &ipv4(a4, b4, 6, &tcp)));
    add("ipv4-icmp-echo", eth(0x0800, &ipv4(a4, b4, 1, &icmp_echo)));
    let inner = ipv4(b4, a4, 17, &udp);
    let mut err = vec![3u8, 1, 0, 0, 0, 0, 0, 0];
    err.extend_from_slice(&inner);
    add("ipv4-icmp-error", eth(0x0800, &ipv4(a4, b4, 1, &err)));
    let mut frag = ipv4(a4, b4, 17, &udp);
    frag[6] = 0x20;
    add("ipv4-fragment", eth(0x0800, &frag));
    add("ipv6-udp", eth(0x86dd, &ipv6(a6, b6, 17, &udp)));
    let mut hop = vec![17u8, 0, 0, 0, 0, 0, 0, 0];
    hop.extend_from_slice(&udp);
    add("ipv6-hopopts-udp", eth(0x86dd, &ipv6(a6, b6, 0, &hop)));
    let mut fh = vec![17u8, 0, 0, 1, 0, 0, 0, 7];
    fh.extend_from_slice(&udp);
    add("ipv6-fragment", eth(0x86dd, &ipv6(a6, b6, 44, &fh)));
    add(
        "ipv6-icmp-echo",
        eth(0x86dd, &ipv6(a6, b6, 58, &[128, 0, 0, 0, 0, 7, 0, 1])),
    );
    add(
        "vlan-ipv4-udp",
        vlan(0x8100, 100, 0x0800, &ipv4(a4, b4, 17, &udp)),
    );
    add(
        "qinq-ipv4-udp",
        vlan(
            0x88a8,
            10,
            0x8100,
            &[&[0, 20, 0x08, 0][..], &ipv4(a4, b4, 17, &udp)].concat(),
        ),
    );
    add(
        "ipip",
        eth(
            0x0800,
            &ipv4(a4, b4, 4, &ipv4([10, 0, 0, 1], [10, 0, 0, 2], 6, &tcp)),
        ),
    );
    add(
        "ip6in4",
        eth(0x0800, &ipv4(a4, b4, 41, &ipv6(v6(3), v6(4), 17, &udp))),
    );
    let mut gre = vec![0x20, 0, 0x08, 0, 0, 0, 0, 42];
    gre.extend_from_slice(&ipv4([10, 0, 0, 1], [10, 0, 0, 2], 17, &udp));
    add("gre-key-ipv4", eth(0x0800, &ipv4(a4, b4, 47, &gre)));
    let mut teb = vec![0, 0, 0x65, 0x58];
    teb.extend_from_slice(&eth(0x0800, &ipv4([10, 0, 0, 3], [10, 0, 0, 4], 6, &tcp)));
    add("gre-teb", eth(0x0800, &ipv4(a4, b4, 47, &teb)));
    let mut pptp = vec![
        0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0x03, 0, 0x21,
    ];
    pptp.extend_from_slice(&ipv4([10, 0, 0, 5], [10, 0, 0, 6], 17, &udp));
    add("gre-pptp", eth(0x0800, &ipv4(a4, b4, 47, &pptp)));
    add("mpls", eth(0x8847, &[0, 1, 0x01, 0x40, 0x45, 0, 0, 0]));
    let mut pppoe = vec![0x11, 0, 0, 1, 0, 30, 0, 0x21];
    pppoe.extend_from_slice(&ipv4(a4, b4, 17, &udp));
    add("pppoe-ipv4", eth(0x8864, &pppoe));
    add(
        "tipc",
        eth(
            0x88ca,
            &[0x0e, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4],
        ),
    );
    let mut batman = vec![0x40, 15, 50, 0, 2, 0, 0, 0, 0, 9];
    batman.extend_from_slice(&eth(0x0800, &ipv4(a4, b4, 17, &udp))[..]);
    add("batman", eth(0x4305, &batman));
    let mut hsr = vec![0, 0, 0, 1, 0x08, 0];
    hsr.extend_from_slice(&ipv4(a4, b4, 17, &udp));
    add("hsr", eth(0x892f, &hsr));
    add("ptp", eth(0x88f7, &[0u8; 34]));
    add("fcoe", eth(0x8906, &[0u8; 38]));
    add("arp", eth(0x0806, &[0u8; 28]));
    add(
        "ipv4-esp",
        eth(0x0800, &ipv4(a4, b4, 50, &[0, 0, 0x10, 0x01, 0, 0, 0, 1])),
    );
    add(
        "ipv4-ah",
        eth(
            0x0800,
            &ipv4(a4, b4, 51, &[6, 4, 0, 0, 0, 0, 0x20, 0x02, 0, 0, 0, 1]),
        ),
    );
    add("policy-layer3+4", b"layer3+4".to_vec());
    add("policy-number", b" 4\n".to_vec());
    out
}
