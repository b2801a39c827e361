//! Transmit load balancing: the TLB table by load, `tlb_dynamic_lb=0`, the frames that are
//! never balanced, learning frames and their timing, and address handling in balance-tlb.

mod common;

use arp_alb::{
    Alb, Config, Event, LpInterval, MacAddr, MemberLink, Mode, TlbDynamicLb, TransmitKind,
    TxDecision, TxDrop, Vlan,
};
use common::{HOST_IP, client_ip, ipv4_frame, mac};
use std::time::Duration;

const S: Duration = Duration::from_secs(1);

fn tlb(members: &[u32]) -> Alb {
    let mut a = Alb::new(Config::new(Mode::BalanceTlb, mac(1))).unwrap();
    for (i, &speed) in members.iter().enumerate() {
        a.add_member(Duration::ZERO, i, mac(i as u8 + 1), speed, MemberLink::Up)
            .unwrap();
    }
    a.set_active(Duration::ZERO, Some(0)).unwrap();
    a.handle_timeout(Duration::ZERO);
    while a.poll_event().is_some() {}
    while a.poll_transmit(Duration::ZERO).is_some() {}
    a
}

fn unicast(len: usize) -> Vec<u8> {
    ipv4_frame(
        MacAddr([2, 0, 0, 0, 0, 9]),
        mac(1),
        HOST_IP,
        client_ip(9),
        len,
    )
}

/// Sends one virtual second of traffic: flow k (xmit hash k) sends weights[k] x 100 frames
/// of 1000 bytes, interleaved; returns bytes per member.
fn second(a: &mut Alb, now: Duration, weights: &[u32]) -> Vec<u64> {
    let mut bytes = vec![0u64; 4];
    let max = *weights.iter().max().unwrap() * 100;
    for i in 0..max {
        for (k, &w) in weights.iter().enumerate() {
            if i < w * 100 {
                let mut f = unicast(1000);
                match a.select_tx(now, &mut f, |_| k as u32) {
                    TxDecision::Send { member, .. } => bytes[member] += 1000,
                    TxDecision::Drop(r) => panic!("{r:?}"),
                }
            }
        }
    }
    bytes
}

fn run(a: &mut Alb, from: u64, to: u64, weights: &[u32]) -> Vec<u64> {
    let mut total = vec![0u64; 4];
    for s in from..to {
        let now = S * s as u32;
        a.handle_timeout(now);
        while a.poll_transmit(now).is_some() {}
        for (t, b) in total.iter_mut().zip(second(a, now, weights)) {
            *t += b;
        }
    }
    total
}

#[test]
fn tlb_balances_unequal_flows_by_load() {
    let mut a = tlb(&[1000, 1000]);
    // One heavy flow and eight light ones, an eighth of it each.
    let weights = [8, 1, 1, 1, 1, 1, 1, 1, 1];
    // Before the first rebalance no entry has a load history, every member's load is 0
    // and Linux gives every new entry to the first member.
    let first = run(&mut a, 1, 10, &weights);
    assert_eq!(first[1], 0);
    // At 10 s the entries are released with their measured load and placed again by
    // load: the heavy flow alone on one member, the eight light ones on the other.
    let second = run(&mut a, 10, 20, &weights);
    assert_eq!(second[0], second[1], "{second:?}");
    let heavy = a.tlb_entries().next().unwrap();
    assert_eq!(heavy.member, Some(0));
    for k in 1..9 {
        assert_eq!(a.tlb_entries().nth(k).unwrap().member, Some(1), "flow {k}");
    }
    // load_history = 1 + bytes in the interval / 10.
    assert_eq!(heavy.load_history, 1 + 800 * 1000 * 9 / 10);
    // It stays balanced across the next rebalances.
    let third = run(&mut a, 20, 40, &weights);
    assert_eq!(third[0], third[1]);
}

#[test]
fn faster_member_takes_more() {
    let mut a = tlb(&[100, 1000]);
    run(&mut a, 1, 10, &[1; 16]);
    run(&mut a, 10, 11, &[1; 16]);
    // 16 flows of 800 kb/s each after the rebalance: the 1000 Mb/s member's gap stays
    // larger, so it takes them all.
    let s = a.member(1).unwrap();
    assert_eq!(s.tlb_entries, 16);
}

#[test]
fn tlb_dynamic_lb_off_uses_hash_modulo_usable_members() {
    let mut cfg = Config::new(Mode::BalanceTlb, mac(1));
    cfg.tlb_dynamic_lb = "off".parse::<TlbDynamicLb>().unwrap();
    let mut a = Alb::new(cfg).unwrap();
    for i in 0..3 {
        a.add_member(Duration::ZERO, i, mac(i as u8 + 1), 1000, MemberLink::Up)
            .unwrap();
    }
    a.set_active(Duration::ZERO, Some(0)).unwrap();
    // The address swap on becoming active still sends learning frames (Linux
    // alb_fasten_mac_swap does so directly, not from the monitor).
    assert!(
        std::iter::from_fn(|| a.poll_transmit(Duration::ZERO))
            .all(|t| t.kind == TransmitKind::LearningFrame)
    );
    for h in 0..12u32 {
        let mut f = unicast(100);
        assert_eq!(
            a.select_tx(Duration::ZERO, &mut f, |_| h),
            TxDecision::Send {
                member: (h % 3) as usize,
                src_mac: (h % 3 != 0).then(|| mac(h as u8 % 3 + 1)),
            }
        );
    }
    a.set_link(Duration::ZERO, 1, MemberLink::Down).unwrap();
    for h in 0..12u32 {
        let mut f = unicast(100);
        let want = [0, 2][(h % 2) as usize];
        assert!(matches!(
            a.select_tx(Duration::ZERO, &mut f, |_| h),
            TxDecision::Send { member, .. } if member == want
        ));
    }
    // No monitor in balance-tlb with tlb_dynamic_lb=0: no deadline, no learning frames.
    assert_eq!(a.poll_timeout(), None);
    a.handle_timeout(S * 100);
    while a.poll_event().is_some() {}
    assert!(a.poll_transmit(S * 100).is_none());
    assert!(a.tlb_entries().all(|e| e.member.is_none()));
}

#[test]
fn balance_alb_with_tlb_dynamic_lb_off_still_sends_learning_frames() {
    let mut cfg = Config::new(Mode::BalanceAlb, mac(1));
    cfg.tlb_dynamic_lb = TlbDynamicLb::Off;
    let mut a = Alb::new(cfg).unwrap();
    a.add_member(Duration::ZERO, 0, mac(1), 1000, MemberLink::Up)
        .unwrap();
    a.add_member(Duration::ZERO, 1, mac(2), 1000, MemberLink::Up)
        .unwrap();
    a.set_active(Duration::ZERO, Some(0)).unwrap();
    while a.poll_transmit(Duration::ZERO).is_some() {}
    a.handle_timeout(S);
    let lps = std::iter::from_fn(|| a.poll_transmit(S))
        .filter(|t| t.kind == TransmitKind::LearningFrame)
        .count();
    assert_eq!(lps, 2);
    // Balanced frames use the hash: 7 % 2 = 1.
    let mut f = unicast(100);
    assert!(matches!(
        a.select_tx(S, &mut f, |_| 7),
        TxDecision::Send { member: 1, .. }
    ));
}

#[test]
fn frames_that_are_never_balanced_go_to_the_active_member() {
    let mut a = tlb(&[1000, 1000]);
    let now = S;
    let mut cases: Vec<(&str, Vec<u8>)> = vec![];
    let mut bcast = unicast(100);
    bcast[..6].copy_from_slice(&[0xff; 6]);
    cases.push(("broadcast", bcast));
    let mut mcast = unicast(100);
    mcast[..6].copy_from_slice(&[0x01, 0, 0x5e, 0, 0, 1]);
    cases.push(("multicast", mcast));
    let mut arp = unicast(60);
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    cases.push(("arp", arp));
    let mut ns = unicast(86);
    ns[12..14].copy_from_slice(&[0x86, 0xdd]);
    ns[14] = 0x60;
    ns[20] = 58;
    ns[54] = 135;
    cases.push(("ipv6 ns", ns));
    let mut short6 = unicast(60);
    short6[12..14].copy_from_slice(&[0x86, 0xdd]);
    short6.truncate(14 + 39);
    cases.push(("ipv6 too short to tell", short6));
    for (what, mut f) in cases {
        let before = a.unbalanced_load();
        let len = f.len() as u64;
        assert_eq!(
            a.select_tx(now, &mut f, |_| 5),
            TxDecision::Send {
                member: 0,
                src_mac: None
            },
            "{what}"
        );
        assert_eq!(a.unbalanced_load(), before + len, "{what}");
    }
    // A runt is dropped.
    assert_eq!(
        a.select_tx(now, &mut [0u8; 13], |_| 0),
        TxDecision::Drop(TxDrop::Runt)
    );
    assert_eq!(a.counters().tx_drop_runt, 1);
}

#[test]
fn balance_alb_keys_and_exceptions() {
    let mut a = Alb::new(Config::new(Mode::BalanceAlb, mac(1))).unwrap();
    a.add_member(Duration::ZERO, 0, mac(1), 1000, MemberLink::Up)
        .unwrap();
    a.add_member(Duration::ZERO, 1, mac(2), 1000, MemberLink::Up)
        .unwrap();
    a.set_active(Duration::ZERO, Some(0)).unwrap();
    let mut f = unicast(100);
    // The key is the XOR of the destination address bytes, not the caller's hash.
    let _ = a.select_tx(S, &mut f, |_| panic!("hash not needed"));
    let key = client_ip(9).octets().iter().fold(0, |h, b| h ^ b);
    assert!(a.tlb_entries().nth(key as usize).unwrap().member.is_some());
    // IGMP and 255.255.255.255 are not balanced.
    let mut igmp = unicast(100);
    igmp[23] = 2;
    let mut lim = unicast(100);
    lim[30..34].copy_from_slice(&[255; 4]);
    let mut allnodes = unicast(100);
    allnodes[..6].copy_from_slice(&MacAddr::IPV6_ALL_NODES.0);
    allnodes[12..14].copy_from_slice(&[0x86, 0xdd]);
    for mut g in [igmp, lim, allnodes] {
        let before = a.counters().tx_to_active;
        let _ = a.select_tx(S, &mut g, |_| panic!("hash not needed"));
        assert_eq!(a.counters().tx_to_active, before + 1);
    }
    // IPv4 multicast with a non-broadcast MAC is balanced in balance-alb (as Linux).
    let mut m = unicast(100);
    m[..6].copy_from_slice(&[0x01, 0, 0x5e, 0, 0, 0xfb]);
    m[30..34].copy_from_slice(&[224, 0, 0, 251]);
    let before = a.counters().tx_balanced;
    let _ = a.select_tx(S, &mut m, |_| 0);
    assert_eq!(a.counters().tx_balanced, before + 1);
}

#[test]
fn entries_of_a_member_that_cannot_send_are_cleared() {
    let mut a = tlb(&[1000, 1000]);
    run(&mut a, 1, 11, &[1, 1, 1, 1]);
    let on1: Vec<u8> = a
        .tlb_entries()
        .filter(|e| e.member == Some(1))
        .map(|e| e.index)
        .collect();
    assert!(!on1.is_empty());
    // downdelay running: Linux's bond_do_alb_xmit drops the frame and clears the member.
    a.set_link(S * 11, 1, MemberLink::Fail).unwrap();
    let mut f = unicast(100);
    assert_eq!(
        a.select_tx(S * 11, &mut f, |_| u32::from(on1[0])),
        TxDecision::Drop(TxDrop::MemberCannotTx)
    );
    assert!(a.tlb_entries().all(|e| e.member != Some(1)));
    let mut f = unicast(100);
    assert!(matches!(
        a.select_tx(S * 11, &mut f, |_| u32::from(on1[0])),
        TxDecision::Send { member: 0, .. }
    ));
}

#[test]
fn rebalance_every_10s_and_at_once_on_link_up() {
    let mut a = tlb(&[1000, 1000]);
    assert_eq!(a.poll_timeout(), Some(S)); // learning frames
    a.handle_timeout(S);
    while a.poll_transmit(S).is_some() {}
    let _ = second(&mut a, S, &[1, 1]);
    assert!(a.tlb_entries().any(|e| e.member.is_some()));
    a.handle_timeout(S * 9);
    assert!(
        a.tlb_entries().any(|e| e.member.is_some()),
        "not before 10 s"
    );
    a.handle_timeout(S * 10);
    assert!(a.tlb_entries().all(|e| e.member.is_none()));
    let _ = second(&mut a, S * 10, &[1, 1]);
    a.handle_timeout(S * 12);
    a.set_link(S * 12, 1, MemberLink::Down).unwrap();
    a.set_link(S * 13, 1, MemberLink::Up).unwrap();
    assert_eq!(a.poll_timeout(), Some(S * 13));
    a.handle_timeout(S * 13);
    assert!(a.tlb_entries().all(|e| e.member.is_none()));
    // The periodic rebalance restarts from there.
    let _ = second(&mut a, S * 13, &[1, 1]);
    a.handle_timeout(S * 22);
    assert!(a.tlb_entries().any(|e| e.member.is_some()));
    a.handle_timeout(S * 23);
    assert!(a.tlb_entries().all(|e| e.member.is_none()));
}

#[test]
fn learning_frames_every_lp_interval_on_every_member_and_vlan() {
    let mut a = Alb::new(Config::new(Mode::BalanceAlb, mac(1))).unwrap();
    let t0 = Duration::from_millis(250);
    a.add_member(t0, 0, mac(1), 1000, MemberLink::Up).unwrap();
    a.add_member(t0, 1, mac(2), 1000, MemberLink::Up).unwrap();
    a.set_active(t0, Some(0)).unwrap();
    a.set_vlans(&[
        Vlan {
            tpid: 0x8100,
            vid: 10,
            mac: None,
        },
        Vlan {
            tpid: 0x8100,
            vid: 20,
            mac: Some(MacAddr([2, 0, 0, 0, 0x20, 0])),
        },
    ])
    .unwrap();
    a.handle_timeout(t0);
    while a.poll_transmit(t0).is_some() {}
    let mut times = vec![];
    let mut now = t0;
    while now < t0 + S * 5 {
        now = a.poll_timeout().unwrap();
        a.handle_timeout(now);
        let lps: Vec<_> = std::iter::from_fn(|| a.poll_transmit(now))
            .filter(|t| t.kind == TransmitKind::LearningFrame)
            .collect();
        if lps.is_empty() {
            continue;
        }
        times.push(now);
        assert_eq!(lps.len(), 6, "2 members x (untagged + 2 VLANs)");
        for (t, (m, vid, src)) in lps.iter().zip([
            (0, None, mac(1)),
            (0, Some(10), mac(1)),
            (0, Some(20), MacAddr([2, 0, 0, 0, 0x20, 0])),
            (1, None, mac(2)),
            (1, Some(10), mac(2)),
            (1, Some(20), MacAddr([2, 0, 0, 0, 0x20, 0])),
        ]) {
            assert_eq!(t.member, m);
            let f = t.frame();
            assert_eq!(&f[..6], &src.0);
            assert_eq!(&f[6..12], &src.0);
            match vid {
                None => {
                    assert_eq!(f.len(), 60);
                    assert_eq!(&f[12..14], &[0x90, 0]);
                }
                Some(v) => {
                    assert_eq!(f.len(), 64);
                    assert_eq!(&f[12..18], &[0x81, 0, 0, v, 0x90, 0]);
                }
            }
        }
    }
    assert_eq!(times, (1..=5).map(|k| t0 + S * k).collect::<Vec<_>>());
    // lp_interval=3 from now on: the next ones 3 s after the last.
    let last = *times.last().unwrap();
    a.set_lp_interval(last + S / 2, "3".parse::<LpInterval>().unwrap());
    a.handle_timeout(last + S * 2);
    assert!(
        std::iter::from_fn(|| a.poll_transmit(last + S * 2))
            .all(|t| t.kind != TransmitKind::LearningFrame)
    );
    a.handle_timeout(last + S * 3);
    assert_eq!(
        std::iter::from_fn(|| a.poll_transmit(last + S * 3))
            .filter(|t| t.kind == TransmitKind::LearningFrame)
            .count(),
        6
    );
    // A member without carrier gets none.
    a.set_link(last + S * 3, 1, MemberLink::Down).unwrap();
    while a.poll_transmit(last + S * 3).is_some() {}
    a.handle_timeout(last + S * 6);
    assert!(std::iter::from_fn(|| a.poll_transmit(last + S * 6)).all(|t| t.member == 0));
}

#[test]
fn balance_tlb_addresses() {
    let mut a = Alb::new(Config::new(Mode::BalanceTlb, mac(1))).unwrap();
    a.add_member(Duration::ZERO, 0, mac(1), 1000, MemberLink::Up)
        .unwrap();
    a.add_member(Duration::ZERO, 1, mac(2), 1000, MemberLink::Up)
        .unwrap();
    // bond_enslave gives every member's hardware the bond's address; in balance-tlb it
    // keeps it, and only the source address differs.
    let evs: Vec<Event> = std::iter::from_fn(|| a.poll_event()).collect();
    assert_eq!(
        evs,
        vec![
            Event::SetMemberMac {
                member: 0,
                mac: mac(1)
            },
            Event::SetMemberMac {
                member: 1,
                mac: mac(1)
            },
        ]
    );
    assert_eq!(a.member(1).unwrap().mac, mac(2));
    a.set_active(Duration::ZERO, Some(0)).unwrap();
    while a.poll_event().is_some() {}
    // Failover to member 1: its hardware gets the bond's address (again), and the two
    // source addresses swap.
    a.set_link(S, 0, MemberLink::Down).unwrap();
    a.set_active(S, Some(1)).unwrap();
    let evs: Vec<Event> = std::iter::from_fn(|| a.poll_event()).collect();
    assert_eq!(
        evs,
        vec![Event::SetMemberMac {
            member: 1,
            mac: mac(1)
        }]
    );
    assert_eq!(a.member(1).unwrap().mac, mac(1));
    assert_eq!(a.member(0).unwrap().mac, mac(2));
    // Learning frames on the new active member with the bond's address; none on the
    // failed one; no promiscuity in balance-tlb.
    let tx: Vec<_> = std::iter::from_fn(|| a.poll_transmit(S)).collect();
    assert!(!tx.is_empty());
    assert!(
        tx.iter()
            .all(|t| t.member == 1 && t.frame()[6..12] == mac(1).0)
    );
    assert_eq!(a.promiscuous_member(), None);
}

#[test]
fn address_collision_on_attach() {
    let t = Duration::ZERO;
    let mut a = Alb::new(Config::new(Mode::BalanceAlb, mac(1))).unwrap();
    a.add_member(t, 0, mac(1), 1000, MemberLink::Up).unwrap();
    a.set_active(t, Some(0)).unwrap();
    a.add_member(t, 1, mac(2), 1000, MemberLink::Up).unwrap();
    a.set_active(t, Some(1)).unwrap(); // swap: 0 has mac(2), 1 has the bond's mac(1)
    assert_eq!(a.member(0).unwrap().mac, mac(2));
    // A third member whose permanent address member 0 now uses: no permanent address is
    // free (mac(1) is on member 1, mac(2) on member 0) and the bond's is in use, so Linux
    // refuses it.
    assert_eq!(
        a.add_member(t, 2, mac(2), 1000, MemberLink::Up),
        Err(arp_alb::Error::NoFreeMac(2))
    );
    // Member 0 leaves: it takes its permanent address back; member 2 arrives with the
    // bond's address as its permanent one and is given the free mac(2).
    a.remove_member(t, 0).unwrap();
    while a.poll_event().is_some() {}
    a.add_member(t, 2, mac(1), 1000, MemberLink::Up).unwrap();
    assert_eq!(a.member(2).unwrap().mac, mac(2));
    assert_eq!(
        std::iter::from_fn(|| a.poll_event()).collect::<Vec<_>>(),
        vec![Event::SetMemberMac {
            member: 2,
            mac: mac(2)
        }]
    );
    // An unrelated address is simply kept.
    a.add_member(t, 3, mac(9), 1000, MemberLink::Up).unwrap();
    assert_eq!(a.member(3).unwrap().mac, mac(9));
    assert_eq!(
        a.add_member(t, 3, mac(8), 1000, MemberLink::Up),
        Err(arp_alb::Error::MemberExists(3))
    );
    assert_eq!(a.remove_member(t, 7), Err(arp_alb::Error::NoSuchMember(7)));
}
