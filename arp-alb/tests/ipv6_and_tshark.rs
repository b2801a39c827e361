//! The IPv6 extension (neighbour advertisement rewrite) and a tshark check of every kind
//! of frame the crate emits.

mod common;

use arp_alb::wire::{
    ArpOperation, EthernetFrame, NdKind, NdMessage, NeighborAdvertRepr, ethertype, nd_flags,
};
use arp_alb::{Alb, Config, MacAddr, MemberLink, Mode, TransmitKind, TxDecision, Vlan};
use common::{HOST_IP, arp_frame, client_ip, mac, temp_dir, tshark, write_pcap};
use std::net::Ipv6Addr;
use std::time::Duration;

const S: Duration = Duration::from_secs(1);

fn server6() -> Ipv6Addr {
    "2001:db8::1".parse().unwrap()
}

fn client6(n: u8) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0x100, u16::from(n))
}

fn alb6(members: usize) -> Alb {
    let mut cfg = Config::new(Mode::BalanceAlb, mac(1));
    cfg.rlb_ipv6 = true;
    let mut a = Alb::new(cfg).unwrap();
    for i in 0..members {
        a.add_member(Duration::ZERO, i, mac(i as u8 + 1), 1000, MemberLink::Up)
            .unwrap();
    }
    a.set_active(Duration::ZERO, Some(0)).unwrap();
    a.handle_timeout(Duration::ZERO);
    while a.poll_event().is_some() {}
    while a.poll_transmit(Duration::ZERO).is_some() {}
    a
}

/// The host's solicited advertisement to a client, as its stack builds it.
fn host_na(client: Ipv6Addr, client_mac: MacAddr, flags: u8) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 72];
    f[..6].copy_from_slice(&client_mac.0);
    f[6..12].copy_from_slice(&mac(1).0);
    f[12..14].copy_from_slice(&[0x86, 0xdd]);
    NeighborAdvertRepr {
        src: server6(),
        dst: client,
        flags,
        target: server6(),
        target_lla: mac(1),
    }
    .emit(&mut f[14..])
    .unwrap();
    f
}

/// A client's advertisement for itself, sent to the server.
fn client_na(client: Ipv6Addr, client_mac: MacAddr) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 72];
    f[..6].copy_from_slice(&mac(1).0);
    f[6..12].copy_from_slice(&client_mac.0);
    f[12..14].copy_from_slice(&[0x86, 0xdd]);
    NeighborAdvertRepr {
        src: client,
        dst: server6(),
        flags: nd_flags::SOLICITED | nd_flags::OVERRIDE,
        target: client,
        target_lla: client_mac,
    }
    .emit(&mut f[14..])
    .unwrap();
    f
}

fn nd(frame: &[u8]) -> NdMessage {
    let eth = EthernetFrame::new_checked(frame).unwrap();
    assert_eq!(eth.ethertype(), ethertype::IPV6);
    NdMessage::parse_checked(eth.payload()).unwrap()
}

#[test]
fn host_advertisements_are_rewritten_per_client_with_valid_checksums() {
    let mut a = alb6(2);
    let mut per = [0; 2];
    for n in 0..8u8 {
        let cm = common::client_mac(u16::from(n));
        let mut f = host_na(client6(n), cm, nd_flags::SOLICITED | nd_flags::OVERRIDE);
        let d = a.select_tx(S, &mut f, |_| panic!("no hash for ND"));
        let TxDecision::Send { member, src_mac } = d else {
            panic!("{d:?}")
        };
        per[member] += 1;
        let m = nd(&f); // checksum verified
        assert_eq!(m.kind, NdKind::Advertisement);
        assert_eq!(m.lla.unwrap().mac, mac(member as u8 + 1));
        assert_eq!(src_mac, (member == 1).then_some(mac(2)));
    }
    assert_eq!(per, [4, 4]);
    assert_eq!(a.clients6().count(), 8);
    assert_eq!(a.counters().host_nd_rewritten, 8);
    // Without the extension, Linux's rule: out on the active member, untouched.
    let mut plain = Alb::new(Config::new(Mode::BalanceAlb, mac(1))).unwrap();
    plain
        .add_member(Duration::ZERO, 0, mac(1), 1000, MemberLink::Up)
        .unwrap();
    plain
        .add_member(Duration::ZERO, 1, mac(2), 1000, MemberLink::Up)
        .unwrap();
    plain.set_active(Duration::ZERO, Some(0)).unwrap();
    let orig = host_na(client6(1), common::client_mac(1), nd_flags::SOLICITED);
    let mut f = orig.clone();
    assert_eq!(
        plain.select_tx(S, &mut f, |_| 0),
        TxDecision::Send {
            member: 0,
            src_mac: None
        }
    );
    assert_eq!(f, orig);
}

#[test]
fn failover_sends_unsolicited_advertisements_and_tshark_decodes_everything() {
    let mut a = alb6(3);
    a.set_vlans(&[Vlan {
        tpid: 0x8100,
        vid: 7,
        mac: None,
    }])
    .unwrap();
    let mut frames: Vec<Vec<u8>> = vec![];
    // IPv6 clients, one with a VLAN tag, and IPv4 clients.
    for n in 0..6u8 {
        let cm = common::client_mac(u16::from(n));
        let mut f = host_na(
            client6(n),
            cm,
            nd_flags::SOLICITED | nd_flags::OVERRIDE | nd_flags::ROUTER,
        );
        if n == 5 {
            f.splice(12..12, [0x81, 0x00, 0x00, 0x07]);
        }
        let _ = a.select_tx(S, &mut f, |_| 0);
        frames.push(f);
        a.handle_rx(S, 0, &client_na(client6(n), cm)).unwrap();
        let bond = a.bond_mac();
        let mut r = arp_frame(
            ArpOperation::Reply,
            cm,
            bond,
            bond,
            HOST_IP,
            cm,
            client_ip(n),
        );
        if n == 4 {
            r.splice(12..12, [0x81, 0x00, 0x00, 0x07]);
        }
        let _ = a.handle_host_arp(S, &mut r);
        frames.push(r);
    }
    a.handle_timeout(S);
    frames.extend(std::iter::from_fn(|| a.poll_transmit(S)).map(|t| t.frame().to_vec()));
    let t = S * 3;
    a.set_link(t, 2, MemberLink::Down).unwrap();
    for k in 0..5u32 {
        a.handle_timeout(t + S * 2 * k);
        frames.extend(std::iter::from_fn(|| a.poll_transmit(t)).map(|x| {
            assert_ne!(x.member, 2);
            if x.kind == TransmitKind::NeighborAdvertUpdate {
                let m = nd(x.frame());
                assert_eq!(m.flags & nd_flags::OVERRIDE, nd_flags::OVERRIDE);
                assert_eq!(m.flags & nd_flags::ROUTER, nd_flags::ROUTER, "R kept");
                assert_eq!(m.hop_limit, 255);
                assert_eq!(m.target, server6());
            }
            x.frame().to_vec()
        }));
    }
    let kinds = |k: TransmitKind| {
        frames
            .iter()
            .filter(|f| {
                let e = EthernetFrame::new_checked(&f[..]).unwrap();
                match k {
                    TransmitKind::ArpUpdate => e.ethertype() == ethertype::ARP,
                    TransmitKind::NeighborAdvertUpdate => e.ethertype() == ethertype::IPV6,
                    TransmitKind::LearningFrame => e.ethertype() == ethertype::LOOPBACK,
                }
            })
            .count()
    };
    assert!(
        kinds(TransmitKind::NeighborAdvertUpdate) > 6,
        "NA updates after the failure"
    );
    assert!(kinds(TransmitKind::ArpUpdate) > 6);
    assert!(kinds(TransmitKind::LearningFrame) > 0);
    for c in a.clients6() {
        assert_ne!(c.member, Some(2));
    }

    let dir = temp_dir("tshark");
    let pcap = dir.join("emitted.pcap");
    write_pcap(&pcap, &frames);
    // tshark's ARP dissector warns ("Duplicate IP address configured") when one IP
    // address is seen with several MACs in a capture: that is what receive load balancing
    // does by design, and Linux's own capture gets the same warning. That heuristic is
    // turned off; every other warning or error, and any malformed frame, fails.
    let clean = [
        "-o",
        "arp.detect_duplicate_ips:FALSE",
        "-Y",
        "_ws.malformed || _ws.expert.severity >= 6291456",
    ];
    let linux = tshark(&common::testdata("linux-6.1-balance-alb-arp.pcap"), &clean);
    assert_eq!(
        linux, "",
        "calibration: Linux's capture is clean under the same check"
    );
    let bad = tshark(&pcap, &clean);
    assert_eq!(bad, "", "tshark flagged frames");
    // Every frame decodes as what it is, and ICMPv6 checksums verify.
    let arp = tshark(&pcap, &["-Y", "arp", "-T", "fields", "-e", "arp.opcode"]);
    assert_eq!(arp.lines().count(), kinds(TransmitKind::ArpUpdate));
    assert!(arp.lines().all(|l| l == "2"));
    let na = tshark(
        &pcap,
        &[
            "-Y",
            "icmpv6.type == 136 && icmpv6.checksum.status == 1",
            "-T",
            "fields",
            "-e",
            "icmpv6.nd.na.flag.o",
        ],
    );
    assert_eq!(
        na.lines().count(),
        kinds(TransmitKind::NeighborAdvertUpdate)
    );
    let tagged = tshark(&pcap, &["-Y", "vlan.id == 7"]);
    assert!(tagged.lines().count() >= 3, "{tagged}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn client_advertisement_updates_address_and_spoofs_cannot_move_clients() {
    let mut a = alb6(2);
    let cm = common::client_mac(1);
    let mut f = host_na(client6(1), cm, nd_flags::SOLICITED);
    let _ = a.select_tx(S, &mut f, |_| 0);
    let member = a.clients6().next().unwrap().member;
    // The client moves to a new NIC: its advertisement teaches the new address.
    let new = MacAddr([2, 0, 0, 0, 0x77, 1]);
    a.handle_rx(S, 1, &client_na(client6(1), new)).unwrap();
    let c = a.clients6().next().unwrap();
    assert_eq!(c.client_mac, new);
    assert_eq!(c.member, member);
    // A corrupted one is counted and ignored.
    let mut bad = client_na(client6(1), MacAddr([2, 0, 0, 0, 0x66, 6]));
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    a.handle_rx(S, 0, &bad).unwrap();
    assert_eq!(a.counters().rx_nd_bad_checksum, 1);
    assert_eq!(a.clients6().next().unwrap().client_mac, new);
}
