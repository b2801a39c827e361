//! The probes the monitor builds, byte for byte against what the Linux kernel builds with the
//! same addresses (`arp_create()`, `ndisc_ns_create()`, captured in `testdata/`).

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use common::read_pcap;
use link_monitor::{
    LinkMonitor, MonitorOptions, MonitorStyle, Probe, ProbeRoute, VlanPath, VlanTag,
};

const MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x0a];

fn captured() -> Vec<Vec<u8>> {
    read_pcap(include_bytes!("../testdata/linux-6.18-neigh.pcap"))
}

fn probes(options: MonitorOptions, setup: impl FnOnce(&mut LinkMonitor)) -> Vec<Vec<u8>> {
    let mut mon = LinkMonitor::new(Duration::ZERO, options, MonitorStyle::LoadBalance);
    mon.add_member(Duration::ZERO, 0, MAC, true).unwrap();
    setup(&mut mon);
    mon.handle_timeout(Duration::ZERO);
    std::iter::from_fn(|| mon.poll_transmit(Duration::ZERO))
        .map(|t| t.frame().to_vec())
        .collect()
}

#[test]
fn arp_probe_is_what_linux_sends() {
    let mut o = MonitorOptions::default();
    o.set("arp_interval", "100").unwrap();
    o.set("arp_ip_target", "198.18.1.2").unwrap();
    let frames = probes(o, |m| {
        m.set_arp_route(
            Ipv4Addr::new(198, 18, 1, 2),
            ProbeRoute::ViaBond {
                src: Some(Ipv4Addr::new(198, 18, 1, 1)),
                vlans: VlanPath::NONE,
            },
        )
        .unwrap()
    });
    assert_eq!(frames, [captured()[0].clone()]);
}

#[test]
fn ns_probe_is_what_linux_sends() {
    let mut o = MonitorOptions::default();
    o.set("arp_interval", "100").unwrap();
    o.set("ns_ip6_target", "2001:2::2").unwrap();
    let frames = probes(o, |m| {
        m.set_ns_route(
            "2001:2::2".parse().unwrap(),
            ProbeRoute::ViaBond {
                src: Some("2001:2::1".parse().unwrap()),
                vlans: VlanPath::NONE,
            },
        )
        .unwrap()
    });
    assert_eq!(frames, [captured()[2].clone()]);
}

#[test]
fn tagged_probes_carry_the_tags_outermost_first() {
    let mut o = MonitorOptions::default();
    o.set("arp_interval", "100").unwrap();
    o.set("arp_ip_target", "198.18.1.2").unwrap();
    let frames = probes(o, |m| {
        m.set_arp_route(
            Ipv4Addr::new(198, 18, 1, 2),
            ProbeRoute::ViaBond {
                src: Some(Ipv4Addr::new(198, 18, 1, 1)),
                vlans: VlanPath::double(VlanTag::dot1ad(100), VlanTag::dot1q(200)),
            },
        )
        .unwrap()
    });
    let linux = &captured()[0];
    let mut want = linux[..12].to_vec();
    want.extend_from_slice(&[0x88, 0xa8, 0, 100, 0x81, 0x00, 0, 200]);
    want.extend_from_slice(&linux[12..]);
    assert_eq!(frames, [want]);
}

#[test]
fn probe_from_no_address() {
    let mut o = MonitorOptions::default();
    o.set("arp_interval", "100").unwrap();
    o.set("arp_ip_target", "198.18.1.2").unwrap();
    o.set("ns_ip6_target", "2001:2::2").unwrap();
    // No route: ARP from 0.0.0.0 and NS from :: without a link-layer option, as Linux.
    let frames = probes(o, |_| {});
    let linux = &captured();
    let mut arp = linux[0].clone();
    arp[28..32].copy_from_slice(&[0, 0, 0, 0]);
    assert_eq!(frames[0], arp);
    assert_eq!(frames[1].len(), 14 + 40 + 24);
    assert_eq!(&frames[1][22..38], &Ipv6Addr::UNSPECIFIED.octets());
    assert_eq!(frames[1][19], 24, "IPv6 payload length: no option");
}

#[test]
fn transmit_reports_the_probe() {
    let mut o = MonitorOptions::default();
    o.set("arp_interval", "100").unwrap();
    o.set("arp_ip_target", "198.18.1.2").unwrap();
    let mut mon = LinkMonitor::new(Duration::ZERO, o, MonitorStyle::LoadBalance);
    mon.add_member(Duration::ZERO, 3, MAC, true).unwrap();
    mon.handle_timeout(Duration::ZERO);
    let t = mon.poll_transmit(Duration::ZERO).unwrap();
    assert_eq!(t.member, 3);
    assert_eq!(
        t.probe,
        Probe::Arp {
            target: Ipv4Addr::new(198, 18, 1, 2),
            src: Ipv4Addr::UNSPECIFIED
        }
    );
    assert!(format!("{t:?}").contains("Arp"));
    assert!(mon.poll_transmit(Duration::ZERO).is_none());
    assert_eq!(mon.last_tx(3), Some(Duration::ZERO));
}
