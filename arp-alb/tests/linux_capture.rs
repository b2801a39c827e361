//! Replays the Linux 6.1 balance-alb capture (testdata/linux-6.1-balance-alb-arp.pcap)
//! through [`Alb`]: the same clients ask for the bond's address, the host answers, and
//! the crate must produce the bytes Linux put on the wire, on the same members, and the
//! same update round after.

mod common;

use arp_alb::wire::ArpOperation;
use arp_alb::{Alb, Config, MacAddr, MemberLink, Mode, TransmitKind, TxDecision};
use common::{arp_frame, parse_arp, read_pcap, testdata};
use std::net::Ipv4Addr;
use std::time::Duration;

const M1: MacAddr = MacAddr([0x52, 0x54, 0, 0, 0, 1]);
const M2: MacAddr = MacAddr([0x52, 0x54, 0, 0, 0, 2]);
const SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 3);

fn member_of(src: MacAddr) -> usize {
    if src == M1 { 0 } else { 1 }
}

#[test]
fn replies_and_update_round_match_linux_byte_for_byte() {
    let cap = read_pcap(&testdata("linux-6.1-balance-alb-arp.pcap"));
    let t0 = Duration::ZERO;
    let mut alb = Alb::new(Config::new(Mode::BalanceAlb, M1)).unwrap();
    alb.add_member(t0, 0, M1, 10_000, MemberLink::Up).unwrap();
    alb.add_member(t0, 1, M2, 10_000, MemberLink::Up).unwrap();
    alb.set_active(t0, Some(0)).unwrap();
    alb.handle_timeout(t0);
    while alb.poll_event().is_some() {}
    while alb.poll_transmit(t0).is_some() {}

    // Frames 1-6: the clients' requests arrive (on the active member; the switch floods
    // them to both).
    let mut now = Duration::from_millis(1);
    for req in &cap[..6] {
        alb.handle_rx(now, 0, req).unwrap();
        alb.handle_rx(now, 1, req).unwrap();
    }
    assert_eq!(
        alb.clients().count(),
        0,
        "requests from clients create no entry"
    );

    // Frames 7-12: the host's replies, as its stack builds them (bond address), leave
    // rewritten exactly as Linux sent them.
    for want in &cap[6..12] {
        let (_, a) = parse_arp(want).unwrap();
        let mut reply = arp_frame(
            ArpOperation::Reply,
            a.target_hardware_addr,
            M1,
            M1,
            SERVER,
            a.target_hardware_addr,
            a.target_protocol_addr,
        );
        now += Duration::from_millis(1);
        let d = alb.handle_host_arp(now, &mut reply);
        let (weth, _) = parse_arp(want).unwrap();
        let member = member_of(weth.src);
        let rewritten = (member == 1).then_some(M2);
        assert_eq!(
            d,
            TxDecision::Send {
                member,
                src_mac: rewritten
            }
        );
        assert_eq!(&reply, want, "reply to {}", a.target_protocol_addr);
    }
    assert_eq!(alb.clients().count(), 6);

    // Frames 13-24: one update round, two replies per client, newest client first.
    assert!(alb.poll_timeout().unwrap() <= now);
    alb.handle_timeout(now);
    let mut sent: [Vec<Vec<u8>>; 2] = [vec![], vec![]];
    while let Some(t) = alb.poll_transmit(now) {
        assert_eq!(t.kind, TransmitKind::ArpUpdate);
        sent[t.member].push(t.frame().to_vec());
    }
    let mut want: [Vec<Vec<u8>>; 2] = [vec![], vec![]];
    for f in &cap[12..] {
        let (e, _) = parse_arp(f).unwrap();
        want[member_of(e.src)].push(f.clone());
    }
    assert_eq!(sent, want);

    // That was the only round: no retry is pending.
    let next = alb.poll_timeout().unwrap();
    assert!(next >= Duration::from_secs(1), "next deadline {next:?}");
    alb.handle_timeout(now + Duration::from_millis(500));
    assert!(alb.poll_transmit(now).is_none());
}
