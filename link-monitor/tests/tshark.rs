//! The probes decode cleanly in tshark: no malformed packet, no expert warning or error, the
//! fields as built, ICMPv6 checksums good. Needs `tshark` on the PATH (no root, no network).

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::write_pcap;
use link_monitor::{LinkMonitor, MonitorOptions, MonitorStyle, ProbeRoute, VlanPath, VlanTag};

/// A temporary directory removed on drop, named after this process.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "link-monitor-tshark-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("tshark could not be run ({e}): install it (Debian: apt-get install tshark)")
        });
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn all_probes() -> Vec<Vec<u8>> {
    let mut o = MonitorOptions::default();
    o.set("arp_interval", "100").unwrap();
    o.set("arp_ip_target", "198.18.0.1,198.18.0.2,198.18.0.3")
        .unwrap();
    o.set("ns_ip6_target", "2001:2::1,2001:2::2,2001:2::3")
        .unwrap();
    let mut mon = LinkMonitor::new(Duration::ZERO, o, MonitorStyle::LoadBalance);
    mon.add_member(Duration::ZERO, 0, [2, 0, 0, 0, 0, 0x10], true)
        .unwrap();
    let src4 = Some(Ipv4Addr::new(198, 18, 0, 10));
    let src6: Option<Ipv6Addr> = Some("2001:2::10".parse().unwrap());
    // Untagged from 0.0.0.0 / ::, one 802.1Q tag, 802.1ad + 802.1Q.
    mon.set_arp_route(
        Ipv4Addr::new(198, 18, 0, 2),
        ProbeRoute::ViaBond {
            src: src4,
            vlans: VlanPath::single(VlanTag::dot1q(100)),
        },
    )
    .unwrap();
    mon.set_arp_route(
        Ipv4Addr::new(198, 18, 0, 3),
        ProbeRoute::ViaBond {
            src: src4,
            vlans: VlanPath::double(VlanTag::dot1ad(10), VlanTag::dot1q(20)),
        },
    )
    .unwrap();
    mon.set_ns_route(
        "2001:2::2".parse().unwrap(),
        ProbeRoute::ViaBond {
            src: src6,
            vlans: VlanPath::NONE,
        },
    )
    .unwrap();
    mon.set_ns_route(
        "2001:2::3".parse().unwrap(),
        ProbeRoute::ViaBond {
            src: src6,
            vlans: VlanPath::double(VlanTag::dot1ad(10), VlanTag::dot1q(20)),
        },
    )
    .unwrap();
    mon.handle_timeout(Duration::ZERO);
    std::iter::from_fn(|| mon.poll_transmit(Duration::ZERO))
        .map(|t| t.frame().to_vec())
        .collect()
}

#[test]
fn probes_decode_cleanly() {
    let frames = all_probes();
    assert_eq!(frames.len(), 6);
    let dir = TempDir::new();
    let pcap = dir.0.join("probes.pcap");
    std::fs::write(&pcap, write_pcap(&frames)).unwrap();
    let pcap = pcap.to_str().unwrap();

    let bad = tshark(&[
        "-r",
        pcap,
        "-Y",
        "_ws.malformed || _ws.expert.severity >= 6291456",
    ]);
    assert_eq!(bad, "", "malformed or expert-flagged frames");

    let fields = tshark(&[
        "-r",
        pcap,
        "-T",
        "fields",
        "-E",
        "separator=;",
        "-e",
        "ieee8021ad.id",
        "-e",
        "vlan.id",
        "-e",
        "arp.opcode",
        "-e",
        "arp.src.proto_ipv4",
        "-e",
        "arp.dst.proto_ipv4",
        "-e",
        "ipv6.src",
        "-e",
        "ipv6.dst",
        "-e",
        "ipv6.hlim",
        "-e",
        "icmpv6.type",
        "-e",
        "icmpv6.checksum.status",
        "-e",
        "icmpv6.nd.ns.target_address",
        "-e",
        "icmpv6.opt.linkaddr",
    ]);
    let lines: Vec<&str> = fields.lines().collect();
    assert_eq!(
        lines,
        [
            ";;1;0.0.0.0;198.18.0.1;;;;;;;",
            ";100;1;198.18.0.10;198.18.0.2;;;;;;;",
            "10;20;1;198.18.0.10;198.18.0.3;;;;;;;",
            ";;;;;::;ff02::1:ff00:1;255;135;1;2001:2::1;",
            ";;;;;2001:2::10;ff02::1:ff00:2;255;135;1;2001:2::2;02:00:00:00:00:10",
            "10;20;;;;2001:2::10;ff02::1:ff00:3;255;135;1;2001:2::3;02:00:00:00:00:10",
        ]
    );
}
