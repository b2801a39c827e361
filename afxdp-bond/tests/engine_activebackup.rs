//! active-backup in virtual time: failover on carrier events and on miimon polling, primary
//! and primary_reselect, fail_over_mac, peer notifications, resend_igmp, backups dropping
//! traffic, the ARP monitor.

mod sim;

use afxdp_bond::engine::{Event, MacAddr, Rx, RxDrop, TransmitKind, Tx};
use sim::{Net, Node, host_ip, member_mac, ms, us};

/// Two members, two hosts, flows both ways on each host from 10 ms to 2010 ms.
fn ab(options: &str) -> (Net, Vec<u32>) {
    let mut net = Net::new(options, 2, 2);
    net.open();
    net.run_until(ms(5));
    net.resolve_all();
    let mut flows = Vec::new();
    for h in 0..2 {
        flows.push(net.flow(
            Node::Bond,
            Node::Host(h),
            1000 + h as u16,
            ms(1),
            ms(10),
            ms(2010),
        ));
        flows.push(net.flow(
            Node::Host(h),
            Node::Bond,
            2000 + h as u16,
            ms(1),
            ms(10),
            ms(2010),
        ));
    }
    (net, flows)
}

#[test]
fn failover_on_a_carrier_event_loses_nothing() {
    let (mut net, flows) = ab("mode=active-backup miimon=100");
    assert_eq!(net.bond.active_member(), Some(0));
    net.run_until(ms(1000) + us(500));
    net.cut(0);
    // The failover happened inside the carrier event.
    assert_eq!(net.bond.active_member(), Some(1));
    net.run_until(ms(2100));
    for &f in &flows {
        assert_eq!(net.lost(f), 0, "flow {f}");
        assert!(net.in_order(f), "flow {f}");
        assert_eq!(net.sent_count(f), 2000);
    }
    // Transmit moved from member 0 to member 1 at the cut.
    assert_eq!(net.members_of(flows[0]), vec![0, 1]);
    // One gratuitous ARP for the host address, on the new active member, at the cut.
    assert_eq!(
        net.control_of(TransmitKind::GratuitousArp),
        vec![(ms(1000) + us(500), 1)]
    );
    let status = net.bond.status();
    assert!(
        status.contains("Currently Active Slave: eth1\n"),
        "{status}"
    );
    assert!(
        status.contains("Slave Interface: eth0\nMII Status: down\nSpeed: Unknown\nDuplex: Unknown\nLink Failure Count: 1\n"),
        "{status}"
    );
}

#[test]
fn failover_at_the_next_miimon_run_as_linux_loses_what_that_wait_implies() {
    let (mut net, flows) = ab("mode=active-backup miimon=100");
    net.carrier_events = false;
    net.run_until(ms(1000) + us(500));
    net.cut(0);
    assert_eq!(
        net.bond.active_member(),
        Some(0),
        "not seen before the next run"
    );
    net.run_until(ms(1100));
    assert_eq!(net.bond.active_member(), Some(1));
    net.run_until(ms(2100));
    // The runs are at 0, 100, ... 1000, 1100 ms. Frames sent at 1001..=1099 ms (99 of them)
    // went to the dead member; those received in that window reached the backup, which
    // drops them.
    for &f in &flows {
        assert_eq!(net.lost(f), 99, "flow {f}");
        assert!(net.in_order(f), "flow {f}");
    }
    let dropped = net
        .rx_outcomes
        .iter()
        .filter(|(_, m, rx)| *m == 1 && *rx == Rx::Drop(RxDrop::InactiveMember))
        .count();
    assert!(dropped >= 2 * 99, "{dropped}");
}

#[test]
fn primary_and_primary_reselect() {
    // better: only a faster primary (or as fast with a better duplex) takes over; these are
    // equal, so the current member stays.
    for (reselect, back_to_primary) in [("always", true), ("failure", false), ("better", false)] {
        let (mut net, _) = ab(&format!(
            "mode=active-backup miimon=100 primary=eth1 primary_reselect={reselect}"
        ));
        assert_eq!(net.bond.active_member(), Some(1), "{reselect}");
        assert_eq!(net.bond.primary_member(), Some(1));
        net.run_until(ms(100));
        net.cut(1);
        assert_eq!(net.bond.active_member(), Some(0));
        net.run_until(ms(200));
        net.restore(1);
        net.run_until(ms(400));
        let want = if back_to_primary { 1 } else { 0 };
        assert_eq!(net.bond.active_member(), Some(want), "{reselect}");
        let status = net.bond.status();
        assert!(
            status.contains(&format!(
                "Primary Slave: eth1 (primary_reselect {reselect})\n"
            )),
            "{status}"
        );
    }
    // better: a faster primary takes over, a slower one does not.
    for (speed, back) in [(40_000, true), (1_000, false)] {
        let (mut net, _) = ab("mode=active-backup miimon=100 primary=eth1 primary_reselect=better");
        net.cut(1);
        net.run_until(ms(50));
        net.speed = speed;
        net.restore(1);
        net.run_until(ms(300));
        assert_eq!(
            net.bond.active_member(),
            Some(if back { 1 } else { 0 }),
            "{speed}"
        );
    }
}

#[test]
fn prio_decides_without_a_primary() {
    let (mut net, _) = ab("mode=active-backup miimon=100 prio=eth1:10");
    assert_eq!(net.bond.active_member(), Some(1));
    net.cut(1);
    assert_eq!(net.bond.active_member(), Some(0));
    net.run_until(ms(50));
    net.restore(1);
    net.run_until(ms(300));
    // A higher prio coming up asks for a reselection (bond_miimon_commit()).
    assert_eq!(net.bond.active_member(), Some(1));
}

#[test]
fn member_macs_with_each_fail_over_mac() {
    // none: every member takes the bond's MAC (the first member's).
    let (net, _) = ab("mode=active-backup miimon=100");
    assert_eq!(net.bond.mac(), member_mac(0));
    assert_eq!(net.nic_mac, vec![member_mac(0), member_mac(0)]);

    // active: members keep theirs; the bond follows the active member.
    let (mut net, _) = ab("mode=active-backup miimon=100 fail_over_mac=active");
    assert_eq!(net.nic_mac, vec![member_mac(0), member_mac(1)]);
    net.cut(0);
    assert_eq!(net.bond.mac(), member_mac(1));
    assert!(
        net.events
            .iter()
            .any(|(_, e)| *e == Event::SetBondMac { mac: member_mac(1) })
    );
    assert!(net.bond.status().contains("(fail_over_mac active)"));

    // follow: the active member takes the bond's MAC, swapping with the old one.
    let (mut net, _) = ab("mode=active-backup miimon=100 fail_over_mac=follow");
    assert_eq!(net.nic_mac, vec![member_mac(0), member_mac(1)]);
    net.cut(0);
    assert_eq!(net.nic_mac, vec![member_mac(1), member_mac(0)]);
    assert_eq!(net.bond.mac(), member_mac(0));
}

#[test]
fn follow_gives_a_member_with_the_bond_mac_a_random_one() {
    use afxdp_bond::engine::{Bond, BondConfig, BondOptions, MemberConfig};
    let (o, _) = BondOptions::from_modprobe("mode=1 miimon=100 fail_over_mac=follow").unwrap();
    let t = ms(0);
    let mut b = Bond::new(t, o, BondConfig::default()).unwrap();
    b.add_member(t, 0, MemberConfig::new("eth0", member_mac(0)))
        .unwrap();
    b.add_member(t, 1, MemberConfig::new("eth1", member_mac(0)))
        .unwrap();
    let mut macs = Vec::new();
    while let Some(e) = b.poll_event() {
        if let Event::SetMemberMac { member: 1, mac } = e {
            macs.push(mac);
        }
    }
    assert_eq!(macs.len(), 1);
    assert!(macs[0].is_valid_unicast() && macs[0] != member_mac(0));
    assert_eq!(macs[0].0[0] & 0x02, 0x02, "locally administered");
}

#[test]
fn peer_notifications_count_and_spacing() {
    let (mut net, _) = ab("mode=active-backup miimon=100 num_grat_arp=3 peer_notif_delay=200");
    net.bond.set_host_addresses(
        net.now,
        &[host_ip(200), "198.18.0.9".parse().unwrap()],
        &["2001:db8::1".parse().unwrap()],
    );
    net.bond
        .set_vlan_host_addresses(net.now, 100, &["198.19.0.1".parse().unwrap()], &[]);
    net.run_until(ms(1000));
    net.cut(0);
    net.run_until(ms(2000));
    let garp = net.control_of(TransmitKind::GratuitousArp);
    let na = net.control_of(TransmitKind::UnsolicitedNa);
    // Three rounds, 200 ms apart, each with one ARP per IPv4 address (untagged and on
    // VLAN 100) and one NA per IPv6 address, all on the new active member.
    let t0 = ms(1000);
    let rounds = [t0, t0 + ms(200), t0 + ms(400)];
    assert_eq!(
        garp,
        rounds
            .iter()
            .flat_map(|&t| [(t, 1), (t, 1), (t, 1)])
            .collect::<Vec<_>>()
    );
    assert_eq!(na, rounds.iter().map(|&t| (t, 1)).collect::<Vec<_>>());
    // The tagged one carries VLAN 100.
    let tagged = net
        .control
        .iter()
        .filter(|(_, t)| t.kind == TransmitKind::GratuitousArp)
        .filter(|(_, t)| t.frame()[12..14] == [0x81, 0x00])
        .count();
    assert_eq!(tagged, 3);
    assert!(
        net.bond
            .status()
            .contains("Peer Notification Delay (ms): 200\n")
    );
}

#[test]
fn backups_drop_but_link_local_and_all_slaves_active() {
    let (mut net, _) = ab("mode=active-backup miimon=100");
    let now = net.now;
    let inactive = RxDrop::ALL
        .iter()
        .position(|r| *r == RxDrop::InactiveMember)
        .unwrap();
    let before = net.bond.counters().rx_drop[inactive];
    let mut data = sim::udp_frame(
        sim::host_mac(0),
        net.bond.mac(),
        host_ip(0),
        sim::BOND_IP,
        1,
        2,
        99,
        0,
    );
    let mut lldp = vec![0u8; 60];
    lldp[..6].copy_from_slice(&[0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e]);
    lldp[6..12].copy_from_slice(&[2, 9, 9, 9, 9, 9]);
    lldp[12..14].copy_from_slice(&[0x88, 0xcc]);
    assert_eq!(net.bond.handle_rx(now, 0, &mut data.clone()), Rx::Deliver);
    assert_eq!(
        net.bond.handle_rx(now, 1, &mut data),
        Rx::Drop(RxDrop::InactiveMember)
    );
    assert_eq!(
        net.bond.handle_rx(now, 1, &mut lldp.clone()),
        Rx::DeliverOnMember
    );
    assert_eq!(net.bond.handle_rx(now, 0, &mut lldp), Rx::Deliver);
    // Broadcasts too are dropped on the backup.
    let mut bcast = data.clone();
    bcast[..6].copy_from_slice(&[0xff; 6]);
    assert_eq!(
        net.bond.handle_rx(now, 1, &mut bcast),
        Rx::Drop(RxDrop::InactiveMember)
    );
    // all_slaves_active: backups deliver.
    net.bond.set_option(now, "all_slaves_active", "1").unwrap();
    assert_eq!(net.bond.handle_rx(now, 1, &mut data), Rx::Deliver);
    net.bond.set_option(now, "all_slaves_active", "0").unwrap();
    assert_eq!(
        net.bond.handle_rx(now, 1, &mut data),
        Rx::Drop(RxDrop::InactiveMember)
    );
    assert_eq!(net.bond.counters().rx_drop[inactive] - before, 3);
}

#[test]
fn active_slave_option() {
    let (mut net, _) = ab("mode=active-backup miimon=100");
    let now = net.now;
    net.bond.set_option(now, "active_slave", "eth1").unwrap();
    assert_eq!(net.bond.active_member(), Some(1));
    net.pump();
    assert_eq!(
        net.bond
            .set_option(now, "active_slave", "eth7")
            .unwrap_err()
            .to_string(),
        "option active_slave: interface eth7 does not exist!"
    );
    net.cut(0);
    assert_eq!(
        net.bond
            .set_option(now, "active_slave", "eth0")
            .unwrap_err()
            .to_string(),
        "option active_slave: Could not set as active slave; either eth0 is down or the link \
         is down"
    );
    // Empty: the bond chooses again.
    net.bond.set_option(now, "active_slave", "").unwrap();
    assert_eq!(net.bond.active_member(), Some(1));
}

/// An IGMPv2 membership report for 239.1.2.3 from the bond's host.
fn igmp_report(src: MacAddr) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[..6].copy_from_slice(&[0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]);
    f[6..12].copy_from_slice(&src.0);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x46;
    f[22] = 1;
    f[23] = 2;
    f[26..30].copy_from_slice(&sim::BOND_IP.octets());
    f[30..34].copy_from_slice(&[239, 1, 2, 3]);
    f[38] = 0x16;
    f[42..46].copy_from_slice(&[239, 1, 2, 3]);
    f
}

#[test]
fn resend_igmp_after_failover() {
    let (mut net, _) = ab("mode=active-backup miimon=100 resend_igmp=3");
    // The plan hands the host's report to the Bond.
    let plan = net.bond.plan();
    let mut w = net.bond.new_worker();
    let mut report = igmp_report(net.bond.mac());
    assert_eq!(plan.select_tx(&mut w, &mut report), Tx::ViaBond);
    assert_eq!(net.bond_send(report), Tx::Member(0));
    net.run_until(ms(500));
    net.cut(0);
    net.run_until(ms(1500));
    let sent = net.control_of(TransmitKind::MembershipReport);
    assert_eq!(
        sent,
        vec![(ms(500), 1), (ms(700), 1), (ms(900), 1)],
        "once at the failover, then every 200 ms, resend_igmp times"
    );
    // A leave forgets the group.
    let mut leave = igmp_report(net.bond.mac());
    leave[38] = 0x17;
    let _ = net.bond_send(leave);
    net.restore(0);
    net.run_until(ms(1600));
    net.cut(1);
    net.run_until(ms(2500));
    assert_eq!(net.control_of(TransmitKind::MembershipReport).len(), 3);
}

#[test]
fn arp_monitor_fails_over_when_the_target_stops_answering() {
    let opts = format!(
        "mode=active-backup arp_interval=100 arp_ip_target={} arp_validate=all",
        host_ip(0)
    );
    let (mut net, flows) = ab(&opts);
    net.run_until(ms(1000));
    assert_eq!(net.bond.active_member(), Some(0));
    assert!(!net.control_of(TransmitKind::ArpProbe).is_empty());
    // The backup stays up on what the monitor needs: the active member's requests, which
    // the switch floods to it (validated with source and target swapped), and it still
    // drops them as far as the host is concerned.
    assert_eq!(
        net.bond.member(1).unwrap().link,
        afxdp_bond::engine::LinkState::Up
    );
    let backup_arp_drops = net
        .rx_outcomes
        .iter()
        .filter(|(_, m, rx)| *m == 1 && *rx == Rx::Drop(RxDrop::InactiveMember))
        .count();
    assert!(backup_arp_drops >= 9, "{backup_arp_drops}");
    // The ARP monitor does not act on carrier: it notices the missing replies.
    net.cut(0);
    net.run_until(ms(1600));
    assert_eq!(net.bond.active_member(), Some(1));
    let failover = net
        .active_changes()
        .into_iter()
        .find(|(_, m)| *m == Some(1))
        .unwrap()
        .0;
    // The probe of the run at 1000 ms was on the wire when the link was cut, so the last
    // reply answered the probe of 900 ms. The run at 1100 ms still finds it within
    // arp_missed_max (2) intervals plus half of one (bond_time_in_interval()); the run at
    // 1200 ms does not: failover.
    assert_eq!(failover, ms(1200));
    assert_eq!(net.active_changes().len(), 2, "no flapping before the cut");
    assert!(net.bond.monitor().counters().arp_validated > 10);
    net.run_until(ms(2100));
    for &f in &flows {
        assert!(net.in_order(f));
    }
    let status = net.bond.status();
    assert!(status.contains(&format!(
        "ARP Polling Interval (ms): 100\nARP Missed Max: 2\nARP IP target/s (n.n.n.n form): {}\nNS IPv6 target/s (xx::xx form):\n",
        host_ip(0)
    )), "{status}");
}
