//! `ndisc_wire`: IPv6 neighbour solicitations and advertisements through the parsers of
//! `link-monitor` and `arp-alb`: parse -> emit -> parse, and checksum verification that
//! agrees with RFC 1071 (the one's complement sum over the pseudo-header and the whole
//! message, checksum included, is all ones; so a checksum field of 0xffff verifies where the
//! computed value is 0) and between the two crates.
//!
//! Each input is tried as an Ethernet frame (its IPv6 payload) and as a bare IPv6 packet, as
//! it is, with its checksum fixed (so the fuzzer gets past the check to the options), and,
//! where the fixed checksum is 0, with the other representation of zero (0xffff).

use crate::frames::{fix_icmpv6_checksum, icmpv6_sum};
use arp_alb::wire as alb;
use core::net::Ipv6Addr;
use link_monitor::wire as lm;

/// Whether the message verifies by RFC 1071, if the bytes hold its payload.
fn reference_ok(ip: &[u8]) -> Option<bool> {
    icmpv6_sum(ip).map(|s| s == 0xffff)
}

fn link_monitor(ip: &[u8]) {
    let p = match lm::NdPacket::new_checked(ip) {
        Ok(p) => p,
        Err(_) => return,
    };
    let plen = usize::from(p.payload_len());
    assert!(ip.len() >= 40 + plen && plen >= 24);
    let ok = reference_ok(ip).expect("payload within the bytes");
    assert_eq!(
        p.verify_checksum(),
        ok,
        "link-monitor checksum verdict (field {:#06x}, computed {:#06x})",
        p.checksum(),
        p.compute_checksum()
    );
    // The options walk ends and stays within the message.
    let mut seen = 0;
    for opt in p.options() {
        seen += 1;
        assert!(seen <= plen, "options walk does not end");
        if let Ok(o) = opt {
            assert!(o.data.len() + 2 <= p.options_bytes().len());
        }
    }
    let _ = (
        p.flags(),
        p.is_solicitation(),
        p.target_addr(),
        p.hop_limit(),
    );
    let repr = match lm::NdiscRepr::parse(&p) {
        Ok(r) => r,
        Err(e) => {
            if !ok {
                assert_eq!(e, lm::WireError::Icmpv6Checksum);
            }
            return;
        }
    };
    assert!(ok, "accepted with a bad checksum");
    assert_eq!(repr.hop_limit, 255);
    assert!(!repr.target_addr.is_multicast());
    let mut buf = [0xa5u8; 100];
    let n = repr.emit(&mut buf).expect("room");
    assert_eq!(n, repr.buffer_len());
    assert!(
        buf[n..].iter().all(|&b| b == 0xa5),
        "emit wrote past its length"
    );
    assert_eq!(reference_ok(&buf[..n]), Some(true), "emitted checksum");
    let back = lm::NdPacket::new_checked(&buf[..n]).expect("emitted NS/NA");
    assert_eq!(lm::NdiscRepr::parse(&back), Ok(repr), "re-parse");
    assert_eq!(
        repr.emit(&mut buf[..n - 1]),
        Err(lm::WireError::BufferTooShort)
    );
}

fn arp_alb(ip: &[u8]) {
    let msg = match alb::NdMessage::parse(ip) {
        Ok(m) => m,
        Err(_) => {
            assert!(alb::NdMessage::parse_checked(ip).is_err());
            return;
        }
    };
    assert!(msg.packet_len <= ip.len() && msg.packet_len >= 64);
    if let Some(o) = msg.lla {
        assert!(o.offset + 6 <= msg.packet_len);
        assert_eq!(&ip[o.offset..o.offset + 6], &o.mac.0);
    }
    let ok = reference_ok(ip).expect("payload within the bytes");
    let sum = alb::icmpv6_checksum(&msg.src, &msg.dst, &ip[40..msg.packet_len]);
    assert_eq!(sum == 0, ok, "arp-alb checksum verdict");
    let checked = alb::NdMessage::parse_checked(ip);
    match (msg.hop_limit == 255, ok) {
        (true, true) => assert_eq!(checked, Ok(msg)),
        (false, _) => assert_eq!(checked, Err(alb::WireError::BadHopLimit)),
        (true, false) => assert_eq!(checked, Err(alb::WireError::BadChecksum)),
    }

    // The in-place rewrite RLB does: only the address changes, and the checksum verifies.
    let mut copy = ip.to_vec();
    let new = alb::MacAddr([0x02, 0, 0, 0, 0x55, 0x66]);
    let rewritten = msg.rewrite_lla(&mut copy, new);
    assert_eq!(rewritten, msg.lla.is_some());
    if rewritten {
        assert_eq!(reference_ok(&copy), Some(true), "rewritten checksum");
        let again = alb::NdMessage::parse(&copy).expect("rewritten message parses");
        let lla = again.lla.expect("option kept");
        assert_eq!(lla.mac, new);
        assert_eq!(again.lla.map(|o| o.offset), msg.lla.map(|o| o.offset));
        assert_eq!(
            (again.src, again.dst, again.target),
            (msg.src, msg.dst, msg.target)
        );
    } else {
        assert_eq!(copy, ip);
    }

    // An advertisement with its option re-emitted.
    if let Ok(na) = alb::NeighborAdvertRepr::parse(ip) {
        let mut buf = [0xa5u8; 80];
        let n = na.emit(&mut buf).expect("room");
        assert_eq!(n, na.buffer_len());
        assert_eq!(reference_ok(&buf[..n]), Some(true), "emitted NA checksum");
        assert_eq!(alb::NeighborAdvertRepr::parse(&buf[..n]), Ok(na));
        let back = alb::NdMessage::parse_checked(&buf[..n]).expect("emitted NA verifies");
        assert_eq!(back.kind, alb::NdKind::Advertisement);
        assert!(na.emit(&mut buf[..n - 1]).is_none());
    }
}

/// Both crates on the same packet: same addresses and kind where both read it.
fn agree(ip: &[u8]) {
    let (Ok(p), Ok(m)) = (lm::NdPacket::new_checked(ip), alb::NdMessage::parse(ip)) else {
        return;
    };
    assert_eq!(p.src_addr(), m.src);
    assert_eq!(p.dst_addr(), m.dst);
    assert_eq!(p.target_addr(), m.target);
    assert_eq!(p.is_solicitation(), m.kind == alb::NdKind::Solicitation);
    assert_eq!(usize::from(p.payload_len()) + 40, m.packet_len);
    if let Ok(r) = lm::NdiscRepr::parse(&p) {
        // What link-monitor accepts, arp-alb's checked parser accepts too.
        assert!(alb::NdMessage::parse_checked(ip).is_ok());
        if let (Some(a), Some(b)) = (r.lladdr, m.lla) {
            assert_eq!(a, b.mac.0);
        }
    }
}

fn ip(ip: &[u8]) {
    link_monitor(ip);
    arp_alb(ip);
    agree(ip);
}

fn variants(bytes: &[u8]) {
    ip(bytes);
    let mut fixed = bytes.to_vec();
    if fix_icmpv6_checksum(&mut fixed) {
        ip(&fixed);
        if fixed[42..44] == [0, 0] {
            // The other one's complement zero.
            fixed[42..44].copy_from_slice(&[0xff, 0xff]);
            ip(&fixed);
        }
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    if let Ok(f) = lm::EthernetFrame::new_checked(data) {
        if f.ethertype() == lm::ethertype::IPV6 {
            variants(f.payload());
        }
    }
    variants(data);
    // The solicited-node address keeps the low 24 bits.
    if let Some(a) = data.first_chunk::<16>() {
        let s = lm::solicited_node(&Ipv6Addr::from(*a)).octets();
        assert_eq!(&s[13..], &a[13..]);
        assert_eq!(&s[..13], &[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff]);
    }
}
