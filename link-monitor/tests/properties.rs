//! Properties: wire round trips, parsers never panic on any bytes, and the monitor survives any
//! sequence of inputs with its invariants intact.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use link_monitor::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetFrame, NaFlags, NdMessage, NdPacket, NdiscRepr,
};
use link_monitor::{
    Event, LinkMonitor, MonitorOptions, MonitorStyle, Probe, ProbeRoute, VlanPath, VlanTag,
};
use proptest::prelude::*;

fn ipv6_unicast() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>()
        .prop_map(Ipv6Addr::from)
        .prop_filter("unicast", |a| !a.is_multicast())
}

proptest! {
    #[test]
    fn arp_round_trip(op in any::<u16>(), sha in any::<[u8; 6]>(), spa in any::<u32>(), tha in any::<[u8; 6]>(), tpa in any::<u32>()) {
        let repr = ArpRepr {
            operation: ArpOperation::from(op),
            sender_hardware_addr: sha,
            sender_protocol_addr: Ipv4Addr::from(spa),
            target_hardware_addr: tha,
            target_protocol_addr: Ipv4Addr::from(tpa),
        };
        let mut buf = [0xa5u8; 28];
        prop_assert_eq!(repr.emit(&mut buf), Ok(28));
        let p = ArpPacket::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(ArpRepr::parse(&p), Ok(repr));
    }

    #[test]
    fn ndisc_round_trip(
        na in any::<bool>(),
        flags in 0u8..8,
        src in any::<u128>(),
        dst in any::<u128>(),
        target in ipv6_unicast(),
        lladdr in proptest::option::of(any::<[u8; 6]>()),
    ) {
        let message = if na {
            NdMessage::NeighborAdvert { flags: NaFlags::from_bits_truncate(flags << 5) }
        } else {
            NdMessage::NeighborSolicit
        };
        let repr = NdiscRepr {
            message,
            src_addr: Ipv6Addr::from(src),
            dst_addr: Ipv6Addr::from(dst),
            hop_limit: 255,
            target_addr: target,
            lladdr,
        };
        let mut buf = [0xa5u8; 80];
        let n = repr.emit(&mut buf).unwrap();
        prop_assert_eq!(n, repr.buffer_len());
        let p = NdPacket::new_checked(&buf[..n]).unwrap();
        prop_assert!(p.verify_checksum());
        prop_assert_eq!(NdiscRepr::parse(&p), Ok(repr));
    }

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        if let Ok(f) = EthernetFrame::new_checked(&bytes[..]) {
            let _ = (f.dst(), f.src(), f.ethertype(), f.vlan_id(), f.payload().len());
        }
        if let Ok(p) = ArpPacket::new_checked(&bytes[..]) {
            let _ = (p.sender_hardware_addr(), p.sender_protocol_addr(), p.target_hardware_addr(), p.target_protocol_addr());
            let _ = ArpRepr::parse(&p);
        }
        if let Ok(p) = NdPacket::new_checked(&bytes[..]) {
            let _ = p.options().count();
            let _ = NdiscRepr::parse(&p);
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Advance(u16),
    Carrier(usize, bool),
    Sample(usize, bool),
    Rx(usize, Vec<u8>),
    /// A real reply from the target, with one byte changed.
    Reply(usize, bool, usize, u8),
    SetActive(Option<usize>),
    Remove(usize),
    Add(usize, bool),
    Backup(usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u16..400).prop_map(Op::Advance),
        2 => (0usize..4, any::<bool>()).prop_map(|(m, c)| Op::Carrier(m, c)),
        1 => (0usize..4, any::<bool>()).prop_map(|(m, c)| Op::Sample(m, c)),
        2 => (0usize..4, proptest::collection::vec(any::<u8>(), 0..100)).prop_map(|(m, b)| Op::Rx(m, b)),
        4 => (0usize..4, any::<bool>(), 0usize..86, any::<u8>()).prop_map(|(m, v6, i, x)| Op::Reply(m, v6, i, x)),
        1 => proptest::option::of(0usize..4).prop_map(Op::SetActive),
        1 => (0usize..4).prop_map(Op::Remove),
        1 => (0usize..4, any::<bool>()).prop_map(|(m, c)| Op::Add(m, c)),
        1 => (0usize..4, any::<bool>()).prop_map(|(m, b)| Op::Backup(m, b)),
    ]
}

fn options(kind: u8, validate: u8) -> MonitorOptions {
    let mut o = MonitorOptions::default();
    match kind % 3 {
        0 => {
            o.set("miimon", "100").unwrap();
            o.set("updelay", "200").unwrap();
            o.set("downdelay", "100").unwrap();
        }
        _ => {
            o.set("arp_interval", "100").unwrap();
            o.set("arp_ip_target", "198.18.0.1,198.18.0.2").unwrap();
            o.set("ns_ip6_target", "2001:2::1").unwrap();
            o.set("arp_validate", &(validate % 7).to_string()).unwrap();
            o.set("arp_all_targets", if kind % 3 == 2 { "all" } else { "any" })
                .unwrap();
        }
    }
    o
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn monitor_survives_any_sequence(
        kind in any::<u8>(),
        validate in any::<u8>(),
        ab in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let style = if ab { MonitorStyle::ActiveBackup } else { MonitorStyle::LoadBalance };
        let o = options(kind, validate);
        let mut mon = LinkMonitor::new(Duration::ZERO, o.clone(), style);
        mon.set_bond_addresses(&[common::BOND_IP], &[common::BOND_IP6]);
        for t in o.arp_ip_target() {
            mon.set_arp_route(*t, ProbeRoute::ViaBond { src: Some(common::BOND_IP), vlans: VlanPath::single(VlanTag::dot1q(5)) }).unwrap();
        }
        for m in 0..3 {
            mon.add_member(Duration::ZERO, m, common::BOND_MAC, true).unwrap();
        }
        let mut now = Duration::ZERO;
        let mut last_event = Duration::ZERO;
        let mut failures = [0u32; 4];
        for op in ops {
            match op {
                Op::Advance(d) => now += Duration::from_millis(u64::from(d)),
                Op::Carrier(m, c) => { let _ = mon.handle_carrier(now, m, c); }
                Op::Sample(m, c) => { let _ = mon.sample_carrier(m, c); }
                Op::Rx(m, b) => { let _ = mon.handle_rx(now, m, &b); }
                Op::Reply(m, v6, i, x) => {
                    let mut f = if v6 {
                        common::na_reply(common::TARGET6, common::BOND_MAC, common::BOND_IP6)
                    } else {
                        common::arp_reply(common::TARGET, common::BOND_MAC, common::BOND_IP)
                    };
                    if let Some(b) = f.get_mut(i) { *b ^= x; }
                    let _ = mon.handle_rx(now, m, &f);
                }
                Op::SetActive(a) => { let _ = mon.set_active_member(now, a); }
                Op::Remove(m) => { let _ = mon.remove_member(now, m); }
                Op::Add(m, c) => { let _ = mon.add_member(now, m, common::BOND_MAC, c); }
                Op::Backup(m, b) => {
                    let s = if b { link_monitor::SlaveState::Backup } else { link_monitor::SlaveState::Active };
                    let _ = mon.set_member_state(now, m, s);
                }
            }
            // Run everything due, bounded: the monitor must settle.
            let mut settled = false;
            for _ in 0..4 {
                match mon.poll_timeout() {
                    Some(t) if t <= now => mon.handle_timeout(now),
                    _ => { settled = true; break; }
                }
                while let Some(e) = mon.poll_event() {
                    let at = match e {
                        Event::Link { at, previous, state, .. } => { prop_assert_ne!(previous, state); at }
                        Event::SelectActive { at } | Event::CurrentArpSlave { at, .. } | Event::SlaveState { at, .. } => at,
                    };
                    prop_assert!(at >= last_event && at <= now);
                    last_event = at;
                }
                while let Some(t) = mon.poll_transmit(now) {
                    prop_assert!(mon.members().any(|m| m == t.member));
                    let eth = EthernetFrame::new_checked(t.frame()).unwrap();
                    match t.probe {
                        Probe::Arp { target, .. } => {
                            let p = ArpPacket::new_checked(eth.payload()).unwrap();
                            prop_assert_eq!(ArpRepr::parse(&p).unwrap().target_protocol_addr, target);
                        }
                        Probe::Ns { target, .. } => {
                            let p = NdPacket::new_checked(eth.payload()).unwrap();
                            prop_assert_eq!(NdiscRepr::parse(&p).unwrap().target_addr, target);
                        }
                    }
                }
            }
            prop_assert!(settled, "the monitor kept asking for the same time");
            if let Some(t) = mon.poll_timeout() {
                prop_assert!(t > now);
            }
            for (m, seen) in failures.iter_mut().enumerate() {
                match mon.link_failure_count(m) {
                    Some(c) => {
                        prop_assert!(c >= *seen, "failure count went back");
                        *seen = c;
                    }
                    None => *seen = 0,
                }
            }
            if let Some(a) = mon.active_member() {
                prop_assert!(mon.link_state(a).is_some());
            }
            if let Some(c) = mon.current_arp_slave() {
                prop_assert!(mon.link_state(c).is_some());
            }
        }
    }
}
