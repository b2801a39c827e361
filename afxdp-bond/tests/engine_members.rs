//! Members joining and leaving (`bond_enslave()`, `__bond_release_one()`): MACs and MTUs
//! given and restored, the bond's MAC from the first member, a new active member when the
//! active one leaves, the farewell LACPDU; speed and duplex in the modes that need them;
//! opening and closing the bond.

mod sim;

use std::time::Duration;

use afxdp_bond::engine::{
    Bond, BondConfig, Duplex, Event, LinkInfo, LinkState, MacAddr, MemberConfig, Rx, RxDrop,
    TransmitKind, Tx, TxDrop,
};
use lacp::LacpRate;
use sim::{Net, member_mac, ms};

fn events(b: &mut Bond) -> Vec<Event> {
    std::iter::from_fn(|| b.poll_event()).collect()
}

fn cfg(i: usize, mtu: u32) -> MemberConfig {
    MemberConfig {
        mtu,
        ..MemberConfig::new(format!("eth{i}"), member_mac(i))
    }
}

#[test]
fn join_and_leave_give_and_restore_mac_and_mtu() {
    let t = Duration::ZERO;
    let mut b = Bond::from_modprobe(
        t,
        "mode=balance-xor miimon=100",
        BondConfig {
            mtu: 9000,
            ..BondConfig::default()
        },
    )
    .unwrap();
    b.add_member(t, 0, cfg(0, 1500)).unwrap();
    b.add_member(t, 3, cfg(3, 9000)).unwrap();
    let e = events(&mut b);
    // The first member gives the bond its MAC; both take the bond's MTU and MAC.
    assert!(e.contains(&Event::SetBondMac { mac: member_mac(0) }));
    assert!(e.contains(&Event::SetMemberMtu {
        member: 0,
        mtu: 9000
    }));
    assert!(
        !e.iter()
            .any(|x| matches!(x, Event::SetMemberMtu { member: 3, .. }))
    );
    assert!(e.contains(&Event::SetMemberMac {
        member: 3,
        mac: member_mac(0)
    }));
    assert_eq!(b.member(3).unwrap().mac, member_mac(0));
    assert_eq!(b.member(3).unwrap().perm_mac, member_mac(3));
    // Leaving: the permanent MAC and original MTU come back, then the release.
    b.remove_member(t, 0).unwrap();
    let e = events(&mut b);
    assert_eq!(
        e.iter()
            .filter(|x| matches!(
                x,
                Event::SetMemberMtu { member: 0, .. } | Event::MemberReleased { member: 0, .. }
            ))
            .cloned()
            .collect::<Vec<_>>(),
        vec![
            Event::SetMemberMtu {
                member: 0,
                mtu: 1500
            },
            Event::MemberReleased {
                member: 0,
                last_frame: None
            }
        ]
    );
    b.remove_member(t, 3).unwrap();
    let e = events(&mut b);
    assert!(e.contains(&Event::SetMemberMac {
        member: 3,
        mac: member_mac(3)
    }));
    // Empty again: the next first member gives its MAC again.
    b.add_member(t, 1, cfg(1, 9000)).unwrap();
    assert_eq!(b.mac(), member_mac(1));
    // Mistakes.
    assert!(b.add_member(t, 1, cfg(1, 1500)).is_err());
    assert!(b.add_member(t, 64, cfg(2, 1500)).is_err());
    assert!(b.add_member(t, 2, cfg(1, 1500)).is_err(), "same name");
    assert!(
        b.add_member(t, 2, MemberConfig::new("a/b", member_mac(2)))
            .is_err()
    );
    assert!(b.remove_member(t, 9).is_err());
    assert_eq!(
        b.add_member(t, 2, MemberConfig::new("eth2", MacAddr([1, 0, 0, 0, 0, 1])))
            .unwrap_err()
            .to_string(),
        "01:00:00:00:00:01 is not a valid unicast MAC address"
    );
}

#[test]
fn the_active_member_leaving_hands_over() {
    let mut net = Net::new("mode=active-backup miimon=100 fail_over_mac=active", 3, 1);
    net.open();
    assert_eq!(net.bond.active_member(), Some(0));
    let now = net.now;
    net.bond.remove_member(now, 0).unwrap();
    net.pump();
    assert_eq!(net.bond.active_member(), Some(1));
    assert_eq!(
        net.bond.mac(),
        member_mac(1),
        "fail_over_mac=active: the bond follows"
    );
    // fail_over_mac=active: the member keeps its MAC, so nothing to restore.
    assert!(
        !net.events
            .iter()
            .any(|(_, e)| matches!(e, Event::SetMemberMac { member: 0, .. }))
    );
    assert!(net.bond.status().contains("Currently Active Slave: eth1\n"));
    assert!(!net.bond.status().contains("Slave Interface: eth0\n"));
}

#[test]
fn ieee8023ad_release_sends_the_farewell_lacpdu() {
    let mut net = Net::new("mode=802.3ad lacp_rate=fast", 2, 0);
    net.lacp_lag(LacpRate::Fast);
    net.open();
    net.run_until(ms(5000));
    assert_eq!(net.bond.plan().usable_members(), &[0, 1]);
    let now = net.now;
    net.bond.remove_member(now, 1).unwrap();
    net.pump();
    let farewell = net
        .events
        .iter()
        .find_map(|(_, e)| match e {
            Event::MemberReleased {
                member: 1,
                last_frame: Some(t),
            } => Some(t.clone()),
            _ => None,
        })
        .expect("farewell LACPDU");
    assert_eq!(farewell.kind, TransmitKind::Lacpdu);
    // Actor state: no aggregation, sync, collecting or distributing.
    let state = farewell.frame()[14 + 1 + 1 + 2 + 2 + 6 + 2 + 2 + 2];
    assert_eq!(state & 0x3c, 0);
    assert!(net.events.iter().any(|(_, e)| *e
        == Event::LeaveMulticast {
            member: 1,
            mac: MacAddr([0x01, 0x80, 0xc2, 0, 0, 2])
        }));
    net.run_until(ms(7000));
    assert_eq!(net.bond.plan().usable_members(), &[0]);
}

#[test]
fn unknown_speed_or_duplex_is_link_down_where_the_mode_needs_them() {
    for mode in ["802.3ad", "balance-tlb", "balance-alb"] {
        let mut net = Net::new(&format!("mode={mode} miimon=100"), 2, 0);
        net.open();
        net.run_until(ms(50));
        let now = net.now;
        net.bond
            .handle_link(
                now,
                1,
                LinkInfo {
                    carrier: true,
                    speed_mbps: None,
                    duplex: Duplex::Full,
                },
            )
            .unwrap();
        assert_eq!(net.bond.member(1).unwrap().link, LinkState::Down, "{mode}");
        net.bond.handle_link(now, 1, LinkInfo::up(10_000)).unwrap();
        assert_eq!(net.bond.member(1).unwrap().link, LinkState::Up, "{mode}");
    }
    // Elsewhere the speed does not matter.
    let mut net = Net::new("mode=balance-xor miimon=100", 2, 0);
    net.open();
    let now = net.now;
    net.bond
        .handle_link(
            now,
            1,
            LinkInfo {
                carrier: true,
                speed_mbps: None,
                duplex: Duplex::Unknown,
            },
        )
        .unwrap();
    assert_eq!(net.bond.member(1).unwrap().link, LinkState::Up);
    assert!(
        net.bond
            .status()
            .contains("Speed: Unknown\nDuplex: Unknown\n")
    );
}

#[test]
fn half_duplex_disables_lacp_on_the_port() {
    let mut net = Net::new("mode=802.3ad lacp_rate=fast", 2, 0);
    net.lacp_lag(LacpRate::Fast);
    net.open();
    let now = net.now;
    net.bond
        .handle_link(
            now,
            1,
            LinkInfo {
                carrier: true,
                speed_mbps: Some(10_000),
                duplex: Duplex::Half,
            },
        )
        .unwrap();
    net.run_until(ms(5000));
    let p = net.bond.lacp().unwrap().port(1).unwrap();
    assert!(!p.lacp_enabled);
    assert_eq!(net.bond.plan().usable_members(), &[0]);
    // No LACPDU left on that port after the change.
    assert!(
        !net.control_of(TransmitKind::Lacpdu)
            .iter()
            .any(|(t, m)| *m == 1 && *t > ms(10))
    );
}

#[test]
fn actor_port_prio_and_the_lacp_options_reach_the_pdus() {
    let mut net = Net::new(
        "mode=802.3ad lacp_rate=fast ad_actor_sys_prio=100 actor_port_prio=eth1:7 \
         ad_actor_system=02:aa:00:00:00:01",
        2,
        0,
    );
    net.lacp_lag(LacpRate::Fast);
    net.open();
    net.run_until(ms(5000));
    let l = net.bond.lacp().unwrap();
    assert_eq!(l.port(1).unwrap().actor.port_priority, 7);
    assert_eq!(l.port(0).unwrap().actor.port_priority, 255);
    let status = net.bond.status();
    assert!(status.contains("System priority: 100\nSystem MAC address: 02:aa:00:00:00:01\n"));
    assert!(status.contains("    port priority: 7\n"));
}

#[test]
fn ieee8023ad_broadcast_neighbor_notifies_peers_when_a_port_distributes() {
    let mut net = Net::new(
        "mode=802.3ad lacp_rate=fast broadcast_neighbor=1 num_grat_arp=2",
        2,
        0,
    );
    net.lacp_lag(LacpRate::Fast);
    net.open();
    net.run_until(ms(5000));
    // Gratuitous ARPs went to every distributing port (broadcast_neighbor).
    let garp = net.control_of(TransmitKind::GratuitousArp);
    assert!(!garp.is_empty());
    assert!(garp.iter().any(|(_, m)| *m == 0) && garp.iter().any(|(_, m)| *m == 1));
}

#[test]
fn ns_monitor_probes() {
    let mut net = Net::new(
        "mode=active-backup arp_interval=100 arp_ip_target=198.18.1.1",
        2,
        0,
    );
    let now = net.now;
    net.bond
        .set_option(now, "ns_ip6_target", "2001:db8::99")
        .unwrap();
    net.bond
        .set_host_addresses(now, &[sim::BOND_IP], &["2001:db8::1".parse().unwrap()]);
    net.open();
    net.run_until(ms(350));
    let ns = net.control_of(TransmitKind::NsProbe);
    assert_eq!(ns.len(), 4, "{ns:?}");
    let f = net
        .control
        .iter()
        .find(|(_, t)| t.kind == TransmitKind::NsProbe)
        .unwrap()
        .1
        .frame()
        .to_vec();
    // From the host's address to the target's solicited-node group.
    assert_eq!(&f[0..6], &[0x33, 0x33, 0xff, 0x00, 0x00, 0x99]);
    let src: std::net::Ipv6Addr = <[u8; 16]>::try_from(&f[22..38]).unwrap().into();
    assert_eq!(src, "2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap());
}

#[test]
fn closed_bond_neither_sends_nor_receives() {
    let mut net = Net::new("mode=active-backup miimon=100", 2, 1);
    net.open();
    let now = net.now;
    net.bond.close(now);
    let mut f = sim::udp_frame(
        sim::host_mac(0),
        net.bond.mac(),
        sim::host_ip(0),
        sim::BOND_IP,
        1,
        2,
        3,
        4,
    );
    assert_eq!(net.bond.select_tx(now, &mut f), Tx::Drop(TxDrop::BondDown));
    assert_eq!(
        net.bond.handle_rx(now, 0, &mut f),
        Rx::Drop(RxDrop::BondDown)
    );
    assert!(net.bond.poll_timeout().is_none());
    assert!(net.bond.poll_transmit(now).is_none());
    net.bond.open(now);
    assert_eq!(net.bond.select_tx(now, &mut f), Tx::Member(0));
}
