//! 802.3ad in virtual time against a switch running its own LACP (a second
//! `lacp::System`): negotiation, traffic over the distributing ports only, a port failure
//! and its return, `min_links`, LACPDUs consumed, `broadcast_neighbor`, and the LACP
//! fallback against a switch without LACP.

mod sim;

use afxdp_bond::engine::{Event, MemberMask, Rx, TransmitKind, Tx};
use lacp::LacpRate;
use sim::{Net, Node, host_ip, ms, us};
use std::time::Duration;

fn lacp_net(options: &str, members: usize) -> Net {
    let mut net = Net::new(options, members, 2);
    net.lacp_lag(LacpRate::Fast);
    net.open();
    net
}

#[test]
fn negotiates_and_spreads_flows_over_the_distributing_ports() {
    let mut net = lacp_net("mode=802.3ad lacp_rate=fast xmit_hash_policy=layer3+4", 2);
    // Before the partner answered nothing is distributing. (The carrier is already up, as
    // in Linux: each port's own aggregator is active as soon as it is selected.)
    assert_eq!(net.bond.plan().usable_members(), &[] as &[u8]);
    net.run_until(ms(5000));
    assert!(net.bond.carrier());
    assert_eq!(net.bond.plan().usable_members(), &[0, 1]);
    let l = net.bond.lacp().unwrap();
    let agg = l.active_aggregator().unwrap();
    assert_eq!(agg.partner_system.to_string(), "02:00:00:00:0f:01");
    assert_eq!(agg.num_ports, 2);
    assert!(
        net.events
            .iter()
            .any(|(_, e)| *e == Event::Carrier { up: true })
    );
    // LACPDUs were exchanged every second (fast) and consumed by the bond.
    let pdus = net.control_of(TransmitKind::Lacpdu);
    assert!(pdus.len() >= 8, "{}", pdus.len());
    let consumed = net
        .rx_outcomes
        .iter()
        .filter(|(_, _, rx)| *rx == Rx::Consume)
        .count();
    assert!(consumed >= 8);
    // Multicast filter for the slow-protocols address on every port.
    assert_eq!(
        net.events
            .iter()
            .filter(|(_, e)| matches!(e, Event::JoinMulticast { .. }))
            .count(),
        2
    );

    net.resolve_all();
    let mut out = Vec::new();
    for k in 0..8 {
        out.push(net.flow(
            Node::Bond,
            Node::Host(0),
            1000 + k,
            ms(1),
            net.now,
            net.now + ms(1000),
        ));
    }
    let end = net.now + ms(1100);
    net.run_until(end);
    let spread: std::collections::BTreeSet<usize> =
        out.iter().flat_map(|&f| net.members_of(f)).collect();
    assert_eq!(spread.len(), 2);
    for &f in &out {
        assert_eq!(net.members_of(f).len(), 1, "a flow stays on one port");
        assert_eq!(net.lost(f), 0);
        assert!(net.in_order(f));
    }
}

#[test]
fn a_port_failure_moves_its_flows_at_once_and_the_port_comes_back() {
    let mut net = lacp_net("mode=802.3ad lacp_rate=fast xmit_hash_policy=layer3+4", 2);
    net.run_until(ms(5000));
    net.resolve_all();
    let start = net.now;
    let mut out = Vec::new();
    let mut back = Vec::new();
    for k in 0..8 {
        out.push(net.flow(
            Node::Bond,
            Node::Host(0),
            1000 + k,
            ms(1),
            start,
            start + ms(6000),
        ));
        back.push(net.flow(
            Node::Host(1),
            Node::Bond,
            2000 + k,
            ms(1),
            start,
            start + ms(6000),
        ));
    }
    net.run_until(start + ms(1000) + us(500));
    net.cut(0);
    assert_eq!(net.bond.plan().usable_members(), &[1]);
    net.run_until(start + ms(2000));
    net.restore(0);
    net.run_until(start + ms(6100));
    for &f in out.iter().chain(&back) {
        assert_eq!(net.lost(f), 0, "flow {f}");
        assert!(net.in_order(f), "flow {f}");
    }
    // The port is back in the aggregator, distributing.
    assert_eq!(net.bond.plan().usable_members(), &[0, 1]);
    let status = net.bond.status();
    assert!(
        status.contains("Slave Interface: eth0\nMII Status: up\n"),
        "{status}"
    );
    assert!(status.contains("Link Failure Count: 1\n"), "{status}");
}

#[test]
fn min_links_drives_the_bond_carrier() {
    let mut net = lacp_net("mode=802.3ad lacp_rate=fast min_links=2", 2);
    net.run_until(ms(5000));
    assert!(net.bond.carrier());
    net.cut(1);
    assert!(!net.bond.carrier(), "one port up, two needed");
    assert!(net.bond.status().contains("MII Status: down\n"));
    assert!(net.bond.status().contains("Min links: 2\n"));
    net.restore(1);
    net.run_until(ms(10000));
    assert!(net.bond.carrier());
    let carrier: Vec<bool> = net
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Carrier { up } => Some(*up),
            _ => None,
        })
        .collect();
    assert_eq!(carrier, vec![true, false, true]);
}

#[test]
fn broadcast_neighbor_sends_arp_on_every_port() {
    let mut net = lacp_net("mode=802.3ad lacp_rate=fast broadcast_neighbor=1", 2);
    net.run_until(ms(5000));
    let arp = sim::arp_frame(
        1,
        net.bond.mac(),
        afxdp_bond::engine::MacAddr::BROADCAST,
        net.bond.mac(),
        sim::BOND_IP,
        afxdp_bond::engine::MacAddr::ZERO,
        host_ip(0),
    );
    assert_eq!(net.bond_send(arp), Tx::Members(MemberMask(0b11)));
    // Other frames are hashed.
    let f = sim::udp_frame(
        net.bond.mac(),
        sim::host_mac(0),
        sim::BOND_IP,
        host_ip(0),
        1,
        2,
        3,
        4,
    );
    assert!(matches!(net.bond_send(f), Tx::Member(_)));
}

#[test]
fn without_a_partner_linux_uses_one_port_after_the_timeout() {
    // A plain switch: no LACP answers. As Linux: once the ports are DEFAULTED (3 s with
    // fast), one aggregator without a partner is active and its single port carries
    // traffic.
    let mut net = Net::new("mode=802.3ad lacp_rate=fast", 2, 2);
    net.open();
    net.run_until(ms(2900));
    assert_eq!(net.bond.plan().usable_members().len(), 0);
    net.run_until(ms(3100));
    assert!(net.bond.carrier());
    assert_eq!(net.bond.plan().usable_members().len(), 1);
    assert!(!net.bond.lacp_fallback_engaged());
}

#[test]
fn lacp_fallback_runs_as_active_backup_until_a_partner_answers() {
    let mut net = Net::new(
        "mode=802.3ad lacp_rate=fast lacp_fallback=active-backup",
        2,
        2,
    );
    net.open();
    // Traffic from the start, on the active member, as active-backup.
    assert!(net.bond.lacp_fallback_engaged());
    assert!(net.bond.carrier());
    assert_eq!(net.bond.active_member(), Some(0));
    assert_eq!(net.bond.plan().usable_members(), &[0]);
    net.resolve_all();
    let start = net.now;
    let out = net.flow(
        Node::Bond,
        Node::Host(0),
        1000,
        ms(1),
        start,
        start + ms(9000),
    );
    let back = net.flow(
        Node::Host(1),
        Node::Bond,
        2000,
        ms(1),
        start,
        start + ms(9000),
    );
    net.run_until(start + ms(500) + us(500));
    // Member 1 is a backup: what it receives is dropped.
    assert_eq!(net.rx_members_of(back), vec![0]);
    // Failover as active-backup, with a gratuitous ARP.
    net.cut(0);
    assert_eq!(net.bond.active_member(), Some(1));
    assert_eq!(net.bond.plan().usable_members(), &[1]);
    assert!(
        net.control_of(TransmitKind::GratuitousArp)
            .contains(&(start + ms(500) + us(500), 1))
    );
    net.run_until(start + ms(1000));
    net.restore(0);
    net.run_until(start + ms(2000));
    // Now the switch's LAG is configured: LACP takes over.
    net.lacp_lag(LacpRate::Fast);
    net.run_until(start + ms(7000));
    assert!(!net.bond.lacp_fallback_engaged());
    assert_eq!(net.bond.plan().usable_members(), &[0, 1]);
    assert!(
        net.events
            .iter()
            .any(|(_, e)| *e == Event::LacpFallback { engaged: false })
    );
    net.run_until(start + ms(9100));
    assert!(net.in_order(out));
    // Frames sent while the switch moved from the plain ports to the LAG may be lost;
    // none before.
    assert_eq!(
        net.received(out).iter().filter(|&&s| s < 1900).count(),
        1900
    );
}

/// Found by the `engine` fuzz target: when the partner went silent and the fallback engaged
/// again, the first gratuitous ARP was hashed over the ports that had been distributing,
/// before they became backups, and could leave on a port other than the active member.
#[test]
fn lacp_fallback_reengaging_notifies_on_the_active_member_only() {
    for members in 2..=4 {
        let mut net = Net::new(
            "mode=802.3ad lacp_rate=fast lacp_fallback=active-backup num_grat_arp=3 miimon=100",
            members,
            1,
        );
        net.lacp_lag(LacpRate::Fast);
        net.open();
        net.run_until(ms(5000));
        assert!(!net.bond.lacp_fallback_engaged());
        assert_eq!(net.bond.plan().usable_members().len(), members);
        // The switch's LAG goes away: the ports expire and the fallback engages again.
        let silent = net.now;
        net.switch.lags.clear();
        net.run_until(silent + ms(6000));
        assert!(net.bond.lacp_fallback_engaged());
        let active = net.bond.active_member().expect("an active member");
        let notes: Vec<(Duration, usize)> = net
            .control_of(TransmitKind::GratuitousArp)
            .into_iter()
            .filter(|(t, _)| *t > silent)
            .collect();
        assert!(!notes.is_empty(), "{members} members: no gratuitous ARP");
        for (t, m) in notes {
            assert_eq!(
                m, active,
                "{members} members: gratuitous ARP at {t:?} on {m}"
            );
        }
    }
}

/// Found by the `engine` fuzz target: removing the active member while the LACP fallback is
/// engaged chose that same member as active again (it was still in the list when the
/// fallback looked for an active member), before choosing another one.
#[test]
fn removing_the_active_member_in_lacp_fallback_never_reselects_it() {
    use afxdp_bond::engine::{Bond, BondConfig, MacAddr, MemberConfig};
    let t = Duration::ZERO;
    let mut b = Bond::from_modprobe(
        t,
        "mode=802.3ad lacp_fallback=active-backup",
        BondConfig::default(),
    )
    .unwrap();
    for i in 0..3 {
        b.add_member(
            t,
            i,
            MemberConfig::new(format!("eth{i}"), MacAddr([2, 0, 0, 0, 1, i as u8])),
        )
        .unwrap();
    }
    b.open(t);
    assert!(b.lacp_fallback_engaged());
    assert_eq!(b.active_member(), Some(0));
    while b.poll_event().is_some() {}
    b.remove_member(t, 0).unwrap();
    let actives: Vec<Option<usize>> = std::iter::from_fn(|| b.poll_event())
        .filter_map(|e| match e {
            Event::ActiveMember { current, .. } => Some(current),
            _ => None,
        })
        .collect();
    assert_eq!(actives, vec![None, Some(1)]);
    assert_eq!(b.active_member(), Some(1));
}

/// Found by the `engine` fuzz target: changing the mode of a bond whose LACP fallback was
/// engaged ended the fallback without a `LacpFallback { engaged: false }` event, so a
/// caller following the events still saw it engaged.
#[test]
fn a_mode_change_ends_the_lacp_fallback_with_an_event() {
    use afxdp_bond::engine::{Bond, BondConfig, MacAddr, MemberConfig};
    let t = Duration::ZERO;
    let mut b = Bond::from_modprobe(
        t,
        "mode=802.3ad lacp_fallback=active-backup",
        BondConfig::default(),
    )
    .unwrap();
    b.add_member(t, 0, MemberConfig::new("eth0", MacAddr([2, 0, 0, 0, 1, 0])))
        .unwrap();
    b.open(t);
    b.close(t);
    b.remove_member(t, 0).unwrap();
    let mut engaged = None;
    while let Some(e) = b.poll_event() {
        if let Event::LacpFallback { engaged: x } = e {
            engaged = Some(x);
        }
    }
    assert_eq!(engaged, Some(true));
    b.set_option(t, "mode", "balance-alb").unwrap();
    assert!(!b.lacp_fallback_engaged());
    let ends = std::iter::from_fn(|| b.poll_event())
        .filter(|e| *e == Event::LacpFallback { engaged: false })
        .count();
    assert_eq!(ends, 1);
}

/// Found by the `engine` fuzz target: removing a member of a bond that is down queued the
/// other ports' pending LACPDUs in the bond; they went out when the bond opened, even on a
/// port whose LACP had been disabled since (half duplex).
#[test]
fn nothing_queued_while_down_is_sent_on_open() {
    use afxdp_bond::engine::{Bond, BondConfig, Duplex, LinkInfo, MacAddr, MemberConfig};
    let t = Duration::ZERO;
    let mut b =
        Bond::from_modprobe(t, "mode=802.3ad lacp_rate=fast", BondConfig::default()).unwrap();
    for i in 0..3 {
        b.add_member(
            t,
            i,
            MemberConfig::new(format!("eth{i}"), MacAddr([2, 0, 0, 0, 1, i as u8])),
        )
        .unwrap();
    }
    b.remove_member(t, 1).unwrap();
    let half = LinkInfo {
        duplex: Duplex::Half,
        ..LinkInfo::up(10_000)
    };
    b.handle_link(t, 2, half).unwrap();
    while b.poll_event().is_some() {}
    let later = Duration::from_secs(5);
    b.open(later);
    while let Some(tx) = b.poll_transmit(later) {
        assert_ne!(tx.member, 2, "{:?} on the half-duplex port", tx.kind);
    }
}
