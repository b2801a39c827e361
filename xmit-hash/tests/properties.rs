//! Property tests: any byte string hashes without panicking, the batch call and the flow keys
//! agree with `hash`, and a cut frame is hashed only on what it holds.

mod common;
use common::*;
use proptest::prelude::*;
use xmit_hash::{FlowKeys, Policy, flow_keys, hash, hash_batch};

fn policy() -> impl Strategy<Value = Policy> {
    prop::sample::select(Policy::ALL.to_vec())
}

/// Byte strings, half of them starting with a plausible Ethernet header so the parsers get
/// past the first checks.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    let ethertypes = prop::sample::select(vec![
        0x0800u16, 0x86dd, 0x8100, 0x88a8, 0x0806, 0x8847, 0x8864, 0x88ca, 0x4305, 0x892f, 0x88f7,
        0x8906, 0x8902,
    ]);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..160),
        (ethertypes, prop::collection::vec(any::<u8>(), 0..160))
            .prop_map(|(t, rest)| eth(t, &rest)),
        // An IPv4 or IPv6 header with random contents, often carrying a tunnel protocol.
        (
            prop::sample::select(vec![0u8, 1, 4, 6, 17, 41, 43, 44, 47, 50, 51, 58, 60, 137]),
            prop::collection::vec(any::<u8>(), 0..120),
            any::<bool>(),
        )
            .prop_map(|(proto, rest, six)| if six {
                eth(ETH_IPV6, &ipv6(v6(1), v6(2), proto, &rest))
            } else {
                eth(ETH_IPV4, &ipv4(v4(18, 0, 1), v4(18, 0, 2), proto, &rest))
            }),
    ]
}

/// The hash recomputed from the flow keys and the `layer2` value, by the crate docs' table.
fn from_keys(p: Policy, frame: &[u8], keys: Option<FlowKeys>) -> u32 {
    let eth = hash(Policy::Layer2, frame);
    let Some(k) = keys else { return eth };
    let addrs = k.addrs.src_u32() ^ k.addrs.dst_u32();
    let l4 = if k.icmp.id != 0 {
        k.icmp.as_u32()
    } else {
        k.ports_u32()
    };
    match p {
        Policy::Layer23 | Policy::Encap23 => fold(eth ^ addrs),
        Policy::Layer34 | Policy::Encap34 => fold(l4 ^ addrs) >> 1,
        Policy::Layer2 | Policy::VlanSrcMac => unreachable!(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn any_bytes_hash_without_panic(frame in bytes()) {
        for p in Policy::ALL {
            let h = hash(p, &frame);
            let keys = flow_keys(p, &frame);
            if matches!(p, Policy::Layer2 | Policy::VlanSrcMac) {
                prop_assert!(keys.is_none());
            } else if frame.len() >= 14 {
                prop_assert_eq!(h, from_keys(p, &frame, keys), "{}", p);
            }
        }
    }

    #[test]
    fn batch_equals_one_by_one(frames in prop::collection::vec(bytes(), 0..24), p in policy(), room in 0usize..30) {
        let mut out = vec![0xdead_beef; room];
        let n = hash_batch(p, frames.iter().map(Vec::as_slice), &mut out);
        prop_assert_eq!(n, frames.len().min(room));
        for (i, f) in frames.iter().take(n).enumerate() {
            prop_assert_eq!(out[i], hash(p, f));
        }
        for slot in &out[n..] {
            prop_assert_eq!(*slot, 0xdead_beef);
        }
    }

    /// The brief's formulation: the hash of `buf[..n]` is that of a copy of those n bytes,
    /// whatever follows them in memory. (Safe Rust cannot read past a slice; this pins it.)
    #[test]
    fn a_cut_frame_is_hashed_on_its_bytes_only(frame in bytes(), tail in prop::collection::vec(any::<u8>(), 1..64), cut in any::<prop::sample::Index>(), p in policy()) {
        let n = cut.index(frame.len() + 1);
        let mut buf = frame[..n].to_vec();
        buf.extend_from_slice(&tail);
        prop_assert_eq!(hash(p, &buf[..n]), hash(p, &frame[..n]));
    }
}

/// A well-formed frame and the offsets at which its headers end.
#[derive(Debug, Clone)]
struct Layout {
    frame: Vec<u8>,
    /// End of the fixed IP header (the kernel's pull).
    ip_end: usize,
    /// End of the port word (or of the ICMP header).
    l4_end: usize,
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        any::<bool>(),                          // IPv6
        prop::sample::select(vec![6u8, 17, 1]), // TCP, UDP, ICMP
        0usize..=10,                            // IPv4 option words
        prop::option::of(any::<u16>()),         // outer tag TCI
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        any::<u16>(),
        any::<u16>(),
        prop::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(six, proto, opts, tci, a, b, sp, dp, payload)| {
            let (proto, l4): (u8, Vec<u8>) = match proto {
                6 => (6, [tcp(sp, dp), payload].concat()),
                17 => (17, udp(sp, dp, &payload)),
                _ => (if six { 58 } else { 1 }, icmp(8, 0, sp, dp, &payload)),
            };
            let l4_len = if proto == 6 || proto == 17 { 4 } else { 8 };
            let (frame, ip_end, l4_start) = if six {
                let mut s = v6(1);
                s[12..].copy_from_slice(&a);
                let mut d = v6(2);
                d[12..].copy_from_slice(&b);
                (eth(ETH_IPV6, &ipv6(s, d, proto, &l4)), 54, 54)
            } else {
                let options = vec![1u8; opts * 4];
                (
                    eth(ETH_IPV4, &ipv4_with(a, b, proto, &options, 0, &l4)),
                    34,
                    34 + opts * 4,
                )
            };
            let (frame, shift) = match tci {
                Some(tci) => (tagged(ETH_VLAN, tci, &frame), 4),
                None => (frame, 0),
            };
            Layout {
                frame,
                ip_end: ip_end + shift,
                l4_end: l4_start + l4_len + shift,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Cutting a frame removes exactly the keys whose bytes were cut, and nothing the hash
    /// reads lies past the transport word: bytes appended after it change nothing.
    #[test]
    fn truncation_removes_keys_by_header_boundary(l in layout(), extra in prop::collection::vec(any::<u8>(), 1..32)) {
        let full = &l.frame;
        for p in [Policy::Layer23, Policy::Layer34, Policy::Encap23, Policy::Encap34] {
            let whole = flow_keys(p, full).expect("a well-formed IP frame has keys");
            for n in (l.ip_end - 20)..=full.len() {
                let keys = flow_keys(p, &full[..n]);
                if n < l.ip_end {
                    prop_assert_eq!(keys, None, "{} cut at {}", p, n);
                    prop_assert_eq!(hash(p, &full[..n]), hash(Policy::Layer2, full), "{} cut at {}", p, n);
                } else if n < l.l4_end {
                    let k = keys.expect("addresses are whole");
                    prop_assert_eq!(k.addrs, whole.addrs, "{} cut at {}", p, n);
                    prop_assert_eq!(k.ports, [0; 4], "{} cut at {}", p, n);
                    prop_assert_eq!(k.icmp.id, 0, "{} cut at {}", p, n);
                } else {
                    prop_assert_eq!(keys, Some(whole), "{} cut at {}", p, n);
                }
            }
            let mut longer = full[..l.l4_end].to_vec();
            longer.extend_from_slice(&extra);
            prop_assert_eq!(hash(p, &longer), hash(p, full), "{}", p);
        }
    }
}
