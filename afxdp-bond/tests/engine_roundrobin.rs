//! balance-rr in virtual time: the rotation of `bond_rr_gen_slave_id()` for
//! `packets_per_slave` 1, n and 0, members that cannot send skipped, IGMP on the active
//! member, a member failure survived, every member receiving.

mod sim;

use afxdp_bond::engine::{Rx, Tx};
use sim::{Net, Node, host_ip, ms, us};

/// A bond whose round-robin counter has not moved yet (nothing sent).
fn rr(options: &str, members: usize) -> Net {
    let mut net = Net::new(options, members, 2);
    net.static_lag();
    net.open();
    net
}

/// The members the bond chose for `n` frames of one flow.
fn sequence(net: &mut Net, n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for seq in 0..n {
        let f = sim::udp_frame(
            net.bond.mac(),
            sim::host_mac(0),
            sim::BOND_IP,
            host_ip(0),
            5000,
            9000,
            77,
            seq as u64,
        );
        match net.bond_send(f) {
            Tx::Member(m) => out.push(m),
            other => panic!("{other:?}"),
        }
    }
    out
}

#[test]
fn one_packet_per_member_in_turn() {
    let mut net = rr("mode=balance-rr miimon=100", 3);
    // The per-worker counter is incremented before use: the first frame goes to member 1.
    assert_eq!(sequence(&mut net, 7), vec![1, 2, 0, 1, 2, 0, 1]);
}

#[test]
fn packets_per_slave_n_with_the_reciprocal_division() {
    let mut net = rr("mode=balance-rr miimon=100 packets_per_slave=3", 2);
    // counter 1, 2 -> 0; 3, 4, 5 -> 1; 6, 7, 8 -> 2 (member 0); 9, 10, 11 -> 3 (member 1).
    assert_eq!(
        sequence(&mut net, 11),
        vec![0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]
    );
}

#[test]
fn packets_per_slave_zero_is_random_and_seeded() {
    let mut a = rr("mode=balance-rr miimon=100 packets_per_slave=0", 2);
    let mut b = rr("mode=balance-rr miimon=100 packets_per_slave=0", 2);
    let sa = sequence(&mut a, 1000);
    let sb = sequence(&mut b, 1000);
    assert_eq!(sa, sb, "same seed, same choices");
    let ones = sa.iter().filter(|&&m| m == 1).count();
    assert!((400..600).contains(&ones), "{ones}");
    assert_ne!(sa[..20], [0; 20]);
}

#[test]
fn members_that_cannot_send_are_skipped() {
    let mut net = rr("mode=balance-rr miimon=100", 3);
    net.cut(1);
    // Positions 1 and 2 of the member list: member 1's turn goes to member 2.
    assert_eq!(sequence(&mut net, 6), vec![2, 2, 0, 2, 2, 0]);
    // Without any monitor, the carrier alone decides (bond_slave_can_tx()).
    let mut net = rr("mode=balance-rr", 3);
    net.cut(2);
    assert_eq!(sequence(&mut net, 6), vec![1, 0, 0, 1, 0, 0]);
}

#[test]
fn igmp_leaves_on_the_active_member() {
    let mut net = rr("mode=balance-rr miimon=100", 3);
    assert_eq!(net.bond.active_member(), Some(0));
    let mut igmp = vec![0u8; 60];
    igmp[..6].copy_from_slice(&[0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]);
    igmp[6..12].copy_from_slice(&net.bond.mac().0);
    igmp[12..14].copy_from_slice(&[0x08, 0x00]);
    igmp[14] = 0x46;
    igmp[23] = 2;
    igmp[38] = 0x16;
    for _ in 0..5 {
        assert_eq!(net.bond_send(igmp.clone()), Tx::Member(0));
    }
    net.cut(0);
    assert_eq!(net.bond.active_member(), Some(1));
    assert_eq!(net.bond_send(igmp), Tx::Member(1));
    // The rotation did not move for IGMP: the first data frame still takes counter 1,
    // member 1.
    assert_eq!(sequence(&mut net, 2), vec![1, 2]);
}

#[test]
fn a_member_failure_loses_nothing_and_every_member_receives() {
    let mut net = rr("mode=balance-rr miimon=100", 2);
    net.resolve_all();
    let out = net.flow(Node::Bond, Node::Host(0), 1000, ms(1), ms(10), ms(1010));
    let back = net.flow(Node::Host(1), Node::Bond, 2000, us(100), ms(10), ms(1010));
    net.run_until(ms(500) + us(50));
    net.cut(0);
    net.run_until(ms(700));
    net.restore(0);
    net.run_until(ms(1100));
    assert_eq!(net.lost(out), 0);
    assert_eq!(net.lost(back), 0);
    assert_eq!(net.members_of(out), vec![0, 1]);
    // The switch's LAG spreads nothing per flow here (one flow), but both members
    // deliver what they get: every member is active in balance-rr.
    let mut f = sim::udp_frame(
        sim::host_mac(1),
        net.bond.mac(),
        host_ip(1),
        sim::BOND_IP,
        1,
        2,
        3,
        4,
    );
    let now = net.now;
    assert_eq!(net.bond.handle_rx(now, 0, &mut f.clone()), Rx::Deliver);
    assert_eq!(net.bond.handle_rx(now, 1, &mut f), Rx::Deliver);
}
