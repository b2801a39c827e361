//! `arp_wire`: the ARP parsers of `link-monitor` and `arp-alb` (and their Ethernet views),
//! parse -> emit -> parse, and against each other.
//!
//! An Ethernet/IPv4 ARP message has no reserved bits, so a message either parser accepts is
//! re-emitted byte for byte. Both parsers accept exactly the same messages (Ethernet, IPv4,
//! lengths 6 and 4, 28 bytes) and read the same fields. The two Ethernet views agree on the
//! frame's header, tag and payload. The bytes are tried as a whole frame and as a bare ARP
//! message.

use arp_alb::wire as alb;
use link_monitor::wire as lm;

fn arp(payload: &[u8]) {
    // link-monitor: the view accepts any hardware/protocol lengths.
    let lm_repr = match lm::ArpPacket::new_checked(payload) {
        Ok(p) => {
            let (hl, pl) = (usize::from(p.hardware_len()), usize::from(p.protocol_len()));
            assert!(payload.len() >= 8 + 2 * (hl + pl));
            assert_eq!(p.sender_hardware_addr().len(), hl);
            assert_eq!(p.sender_protocol_addr().len(), pl);
            assert_eq!(p.target_hardware_addr().len(), hl);
            assert_eq!(p.target_protocol_addr().len(), pl);
            let _ = p.operation();
            let _ = alloc::format!("{p:?}");
            lm::ArpRepr::parse(&p).ok()
        }
        Err(e) => {
            assert_eq!(e, lm::WireError::ArpTruncated);
            None
        }
    };
    if let Some(r) = lm_repr {
        let mut buf = [0xa5u8; 30];
        assert_eq!(r.buffer_len(), 28);
        assert_eq!(r.emit(&mut buf), Ok(28));
        assert_eq!(&buf[..28], &payload[..28], "link-monitor ARP re-emit");
        assert_eq!(buf[28..], [0xa5, 0xa5]);
        assert_eq!(r.emit(&mut buf[..27]), Err(lm::WireError::BufferTooShort));
        let p = lm::ArpPacket::new_checked(&buf[..28]).expect("emitted ARP");
        assert_eq!(lm::ArpRepr::parse(&p), Ok(r));
        // Built field by field with the setters: the same bytes.
        let mut built = [0u8; 28];
        let mut p = lm::ArpPacket::new_ethernet_ipv4(&mut built[..]).expect("28 bytes");
        p.set_operation(r.operation);
        p.set_sender_hardware_addr(&r.sender_hardware_addr);
        p.set_sender_protocol_addr(&r.sender_protocol_addr.octets());
        p.set_target_hardware_addr(&r.target_hardware_addr);
        p.set_target_protocol_addr(&r.target_protocol_addr.octets());
        assert_eq!(&built[..], &payload[..28]);
    }

    // arp-alb: the view is always 28 bytes.
    let alb_repr = match alb::ArpPacket::new_checked(payload) {
        Ok(p) => {
            assert!(payload.len() >= alb::ARP_LEN);
            alb::ArpRepr::parse(&p).ok()
        }
        Err(e) => {
            assert_eq!(e, alb::WireError::Truncated);
            assert!(payload.len() < alb::ARP_LEN);
            None
        }
    };
    if let Some(r) = alb_repr {
        let mut buf = [0xa5u8; alb::ARP_LEN];
        let mut p = alb::ArpPacket::new_checked(&mut buf[..]).expect("28 bytes");
        r.emit(&mut p);
        assert_eq!(&buf[..], &payload[..alb::ARP_LEN], "arp-alb ARP re-emit");
        let p = alb::ArpPacket::new_checked(&buf[..]).expect("emitted ARP");
        assert_eq!(alb::ArpRepr::parse(&p), Ok(r));
        // The rewrite RLB does: only the sender hardware address changes.
        let mut rewritten = buf;
        let mut p = alb::ArpPacket::new_checked(&mut rewritten[..]).expect("28 bytes");
        p.set_source_hardware_addr(alb::MacAddr([2, 0, 0, 0, 0, 0x77]));
        let back = alb::ArpRepr::parse(&p).expect("still valid");
        assert_eq!(
            back.source_hardware_addr,
            alb::MacAddr([2, 0, 0, 0, 0, 0x77])
        );
        assert_eq!(
            (
                back.operation,
                back.source_protocol_addr,
                back.target_protocol_addr
            ),
            (r.operation, r.source_protocol_addr, r.target_protocol_addr)
        );
        assert_eq!(rewritten[14..], buf[14..]);
    }

    // The two parsers accept the same messages and read the same fields.
    match (lm_repr, alb_repr) {
        (Some(l), Some(a)) => {
            assert_eq!(l.sender_hardware_addr, a.source_hardware_addr.0);
            assert_eq!(l.sender_protocol_addr, a.source_protocol_addr);
            assert_eq!(l.target_hardware_addr, a.target_hardware_addr.0);
            assert_eq!(l.target_protocol_addr, a.target_protocol_addr);
            assert_eq!(u16::from(l.operation), u16::from(a.operation));
        }
        (None, None) => {}
        (l, a) => panic!("parsers disagree: link-monitor {l:?}, arp-alb {a:?}"),
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    // The two Ethernet views.
    let l = lm::EthernetFrame::new_checked(data);
    let a = alb::EthernetFrame::new_checked(data);
    match (&l, &a) {
        (Ok(l), Ok(a)) => {
            assert_eq!(l.dst(), a.dst().0);
            assert_eq!(l.src(), a.src().0);
            assert_eq!(l.ethertype(), a.ethertype());
            assert_eq!(l.payload(), a.payload());
            assert_eq!(l.vlan_id(), a.vlan().map(|t| t.vid()));
            assert_eq!(l.is_group_dst(), a.dst().is_multicast());
            // arp-alb's header re-emits byte for byte.
            let repr = alb::EthernetRepr::parse(a);
            let mut buf = [0xa5u8; 18];
            let n = repr.emit(&mut buf).expect("room for a header");
            assert_eq!(n, repr.buffer_len());
            assert_eq!(&buf[..n], &data[..n]);
            // link-monitor's header writer with the same tag (its VLAN id 0 means untagged,
            // and it writes the VLAN id without the priority bits).
            let vlans = match a.vlan() {
                Some(t) if t.vid() != 0 => lm::VlanPath::single(lm::VlanTag {
                    tpid: t.tpid,
                    vid: t.vid(),
                }),
                _ => lm::VlanPath::NONE,
            };
            // (A priority-only tag over an inner tag would come out as a bare TPID.)
            if !(vlans.is_empty() && lm::ethertype::is_vlan(l.ethertype())) {
                let repr = lm::EthernetRepr {
                    dst: l.dst(),
                    src: l.src(),
                    vlans,
                    ethertype: l.ethertype(),
                };
                let mut out = [0xa5u8; 26];
                let n = repr.emit(&mut out).expect("room");
                assert_eq!(n, repr.buffer_len());
                let back = lm::EthernetFrame::new_checked(&out[..n]).expect("emitted header");
                assert_eq!((back.dst(), back.src()), (l.dst(), l.src()));
                assert_eq!(back.ethertype(), l.ethertype());
                assert_eq!(
                    back.vlan_id(),
                    a.vlan().map(|t| t.vid()).filter(|&v| v != 0)
                );
            }
            if l.ethertype() == lm::ethertype::ARP {
                arp(l.payload());
            }
        }
        (Err(_), Err(_)) => {}
        _ => panic!("Ethernet views disagree on {} bytes", data.len()),
    }
    // The bytes as a bare ARP message.
    arp(data);
}
