//! balance-xor and broadcast in virtual time, behind a static LAG: flows placed by the
//! `xmit_hash_policy` hash over the usable members, a failure moving them with nothing
//! lost and order kept, the carrier alone updating the usable array; broadcast sending
//! every frame on every member with link.

mod sim;

use afxdp_bond::engine::{MemberMask, Tx};
use sim::{Net, Node, host_ip, ms, us};

fn net(options: &str, members: usize, hosts: usize) -> Net {
    let mut net = Net::new(options, members, hosts);
    net.static_lag();
    net.open();
    net.resolve_all();
    net
}

/// Eight flows from the bond to host 0 and eight back, 1 ms apart, 10 ms to 2010 ms.
fn flows(net: &mut Net) -> (Vec<u32>, Vec<u32>) {
    let mut out = Vec::new();
    let mut back = Vec::new();
    for k in 0..8 {
        out.push(net.flow(Node::Bond, Node::Host(0), 1000 + k, ms(1), ms(10), ms(2010)));
        back.push(net.flow(Node::Host(1), Node::Bond, 3000 + k, ms(1), ms(10), ms(2010)));
    }
    (out, back)
}

#[test]
fn flows_follow_the_layer34_hash_and_survive_a_failure() {
    let mut n = net(
        "mode=balance-xor xmit_hash_policy=layer3+4 miimon=100",
        3,
        2,
    );
    let (out, back) = flows(&mut n);
    n.run_until(ms(1000) + us(500));
    // Before the failure each flow used exactly usable[hash % 3].
    for &f in &out {
        let frame = sim::udp_frame(
            n.bond.mac(),
            sim::host_mac(0),
            sim::BOND_IP,
            host_ip(0),
            n.flows[f as usize - 1].sport,
            9000,
            f,
            0,
        );
        let want = xmit_hash::member_index(xmit_hash::hash(xmit_hash::Policy::Layer34, &frame), 3)
            .unwrap();
        assert_eq!(n.members_of(f), vec![want], "flow {f}");
    }
    let spread: std::collections::BTreeSet<usize> =
        out.iter().flat_map(|&f| n.members_of(f)).collect();
    assert!(
        spread.len() >= 2,
        "eight flows over three members: {spread:?}"
    );
    n.cut(1);
    n.run_until(ms(2100));
    for &f in out.iter().chain(&back) {
        assert_eq!(n.lost(f), 0, "flow {f}");
        assert!(n.in_order(f), "flow {f}");
    }
    // After the failure no flow uses member 1, and the usable array is [0, 2].
    assert_eq!(n.bond.plan().usable_members(), &[0, 2]);
    let after: Vec<usize> = n
        .sent
        .iter()
        .filter(|(t, _, f)| *t > ms(1001) && sim::parse_udp(f).is_some())
        .map(|(_, m, _)| *m)
        .collect();
    assert!(!after.is_empty() && !after.contains(&1));
}

#[test]
fn without_miimon_the_carrier_still_updates_the_usable_members() {
    // Linux refreshes its array on NETDEV_CHANGE even with no monitor.
    let mut n = net("mode=balance-xor xmit_hash_policy=layer3+4", 2, 2);
    let (out, _) = flows(&mut n);
    n.run_until(ms(500) + us(500));
    n.cut(0);
    assert_eq!(n.bond.plan().usable_members(), &[1]);
    n.run_until(ms(2100));
    for &f in &out {
        assert_eq!(n.lost(f), 0, "flow {f}");
    }
    // The member itself stays "up" as far as MII status goes (no monitor), as in Linux.
    assert!(
        n.bond
            .status()
            .contains("Slave Interface: eth0\nMII Status: up\n")
    );
}

#[test]
fn layer2_policy_puts_everything_to_one_peer_on_one_member() {
    let mut n = net("mode=2 xmit_hash_policy=0 miimon=100", 2, 2);
    let (out, _) = flows(&mut n);
    n.run_until(ms(100));
    let members: std::collections::BTreeSet<usize> =
        out.iter().flat_map(|&f| n.members_of(f)).collect();
    assert_eq!(members.len(), 1);
}

#[test]
fn broadcast_sends_every_frame_on_every_member_with_link() {
    let mut n = net("mode=broadcast miimon=100", 2, 2);
    let f = n.flow(Node::Bond, Node::Host(0), 1000, ms(1), ms(10), ms(1010));
    n.run_until(ms(500) + us(500));
    n.cut(0);
    n.run_until(ms(1100));
    assert_eq!(n.lost(f), 0);
    let got = n.received(f);
    // Both copies of every frame sent before the cut reached the host (the static LAG
    // forwards each); one copy afterwards.
    let before = got.iter().filter(|&&s| s < 490).count();
    assert_eq!(before, 2 * 490);
    let frame = sim::udp_frame(
        n.bond.mac(),
        sim::host_mac(0),
        sim::BOND_IP,
        host_ip(0),
        1,
        2,
        3,
        4,
    );
    assert_eq!(n.bond_send(frame.clone()), Tx::Members(MemberMask(0b10)));
    n.restore(0);
    assert_eq!(n.bond_send(frame), Tx::Members(MemberMask(0b11)));
}
