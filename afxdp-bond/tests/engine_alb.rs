//! balance-tlb and balance-alb in virtual time behind a plain learning switch: transmit
//! spread by the TLB table, receive on the active member (balance-tlb) or spread by RLB
//! (balance-alb), member MACs, learning frames, failures of a member and of the active one.

mod sim;

use afxdp_bond::engine::{Event, Rx, TransmitKind, Tx};
use sim::{Net, Node, host_ip, member_mac, ms, us};

fn lb(options: &str, hosts: usize) -> Net {
    let mut net = Net::new(options, 2, hosts);
    net.open();
    net.run_until(ms(20));
    net.resolve_all();
    net
}

fn src_of(f: &[u8]) -> afxdp_bond::engine::MacAddr {
    afxdp_bond::engine::MacAddr(f[6..12].try_into().unwrap())
}

#[test]
fn tlb_spreads_transmit_and_receives_on_the_active_member() {
    let mut net = lb("mode=balance-tlb", 4);
    assert_eq!(net.bond.active_member(), Some(0));
    // Every member's hardware carries the bond's MAC; each sends with its own.
    assert_eq!(net.nic_mac, vec![member_mac(0), member_mac(0)]);
    let start = net.now;
    let mut out = Vec::new();
    let mut back = Vec::new();
    for h in 0..4 {
        out.push(net.flow(
            Node::Bond,
            Node::Host(h),
            1000,
            ms(2),
            start,
            start + ms(25_000),
        ));
        back.push(net.flow(
            Node::Host(h),
            Node::Bond,
            2000,
            ms(2),
            start,
            start + ms(25_000),
        ));
    }
    net.run_until(start + ms(9_000));
    // As in Linux, a new TLB entry goes to the member with the largest gap between its
    // speed and its load, and loads are only measured at the 10 s rebalance: until then
    // every flow shares the first member.
    let used: std::collections::BTreeSet<usize> =
        out.iter().flat_map(|&f| net.members_of(f)).collect();
    assert_eq!(used, [0].into());
    net.run_until(start + ms(25_100));
    // After the rebalance the entries were given out again by measured load.
    let used: std::collections::BTreeSet<usize> = net
        .sent
        .iter()
        .filter(|(t, _, f)| *t > start + ms(12_000) && sim::parse_udp(f).is_some())
        .map(|(_, m, _)| *m)
        .collect();
    assert_eq!(used.len(), 2, "four destinations over two members");
    for &f in out.iter().chain(&back) {
        assert_eq!(net.lost(f), 0);
        assert!(net.in_order(f));
    }
    // Frames on the non-active member carry its own source address.
    for (_, m, f) in &net.sent {
        if sim::parse_udp(f).is_some() {
            assert_eq!(src_of(f), member_mac(*m));
        }
    }
    // Receive: only on the active member.
    for &f in &back {
        assert_eq!(net.rx_members_of(f), vec![0]);
    }
    // Learning frames every second on each member, with its own address.
    let lp = net.control_of(TransmitKind::LearningFrame);
    assert!(lp.iter().filter(|(_, m)| *m == 1).count() >= 20);
    let status = net.bond.status();
    assert!(status.starts_with(&format!(
        "{}\n\nBonding Mode: transmit load balancing\nPrimary Slave: None\nCurrently Active Slave: eth0\n",
        afxdp_bond::engine::VERSION_LINE
    )), "{status}");
    assert!(
        !status.contains("Transmit Hash Policy"),
        "dynamic TLB does not hash"
    );
}

#[test]
fn tlb_failures_of_a_member_and_of_the_active_one() {
    let mut net = lb("mode=balance-tlb miimon=100", 4);
    let start = net.now;
    let mut out = Vec::new();
    let mut back = Vec::new();
    for h in 0..4 {
        out.push(net.flow(
            Node::Bond,
            Node::Host(h),
            1000,
            ms(1),
            start,
            start + ms(3000),
        ));
        back.push(net.flow(
            Node::Host(h),
            Node::Bond,
            2000,
            ms(1),
            start,
            start + ms(3000),
        ));
    }
    net.run_until(start + ms(1000) + us(500));
    net.cut(1);
    net.run_until(start + ms(1500));
    net.restore(1);
    net.run_until(start + ms(2000) + us(500));
    net.cut(0);
    assert_eq!(net.bond.active_member(), Some(1));
    // The new active member carries the bond's address now.
    assert_eq!(net.bond.member(1).unwrap().mac, member_mac(0));
    net.run_until(start + ms(3100));
    for &f in out.iter().chain(&back) {
        assert_eq!(net.lost(f), 0, "flow {f}");
    }
}

#[test]
fn tlb_without_dynamic_balancing_hashes() {
    let mut net = lb(
        "mode=balance-tlb tlb_dynamic_lb=0 xmit_hash_policy=layer3+4",
        2,
    );
    let start = net.now;
    let f: Vec<u32> = (0..8)
        .map(|k| {
            net.flow(
                Node::Bond,
                Node::Host(0),
                1000 + k,
                ms(1),
                start,
                start + ms(100),
            )
        })
        .collect();
    net.run_until(start + ms(200));
    for &id in &f {
        let frame = sim::udp_frame(
            net.bond.mac(),
            sim::host_mac(0),
            sim::BOND_IP,
            host_ip(0),
            net.flows[id as usize - 1].sport,
            9000,
            id,
            0,
        );
        let want = xmit_hash::member_index(xmit_hash::hash(xmit_hash::Policy::Layer34, &frame), 2)
            .unwrap();
        assert_eq!(net.members_of(id), vec![want]);
    }
    let status = net.bond.status();
    assert!(
        status.contains("Transmit Hash Policy: layer3+4 (1)\n"),
        "{status}"
    );
}

#[test]
fn alb_spreads_receive_over_the_members_by_arp() {
    let mut net = lb("mode=balance-alb miimon=100", 4);
    // Each member has its own MAC; the active one the bond's.
    assert_eq!(net.nic_mac, vec![member_mac(0), member_mac(1)]);
    // The host's broadcast ARP requests told every client the bond's (active member's)
    // address; 2 s later (RLB_UPDATE_DELAY) RLB tells each client its own member's.
    let t = net.now + ms(2_500);
    net.run_until(t);
    let learnt: Vec<_> = (0..4)
        .map(|h| net.hosts[h].stack.arp[&sim::BOND_IP])
        .collect();
    assert!(
        learnt.contains(&member_mac(0)) && learnt.contains(&member_mac(1)),
        "{learnt:?}"
    );
    let start = net.now;
    let mut back = Vec::new();
    for h in 0..4 {
        back.push(net.flow(
            Node::Host(h),
            Node::Bond,
            2000,
            ms(1),
            start,
            start + ms(2000),
        ));
    }
    net.run_until(start + ms(1000) + us(500));
    let rx: std::collections::BTreeSet<usize> =
        back.iter().flat_map(|&f| net.rx_members_of(f)).collect();
    assert_eq!(rx.len(), 2, "received on both members");
    // The host stack got them all (their destination is the bond's MAC once delivered).
    assert_eq!(net.bond_stack.other_host, 0);
    // A member fails: its clients are moved to the other, which listens promiscuously for
    // them meanwhile; nothing is lost.
    net.cut(1);
    assert!(net.events.iter().any(|(_, e)| *e
        == Event::SetPromiscuous {
            member: 0,
            enabled: true
        }));
    net.run_until(start + ms(2100));
    for &f in &back {
        assert_eq!(net.lost(f), 0, "flow {f}");
        assert!(net.in_order(f), "flow {f}");
    }
    assert_eq!(net.bond_stack.other_host, 0);
    // The clients were told the surviving member's address at the next update round (at
    // most RLB_UPDATE_DELAY, 2 s, after the previous one).
    net.run_until(start + ms(4_000));
    for h in 0..4 {
        assert_eq!(
            net.hosts[h].stack.arp[&sim::BOND_IP],
            member_mac(0),
            "host {h}"
        );
    }
    assert!(!net.control_of(TransmitKind::RlbUpdate).is_empty());
    net.run_until(start + ms(15000));
    assert!(
        net.events.iter().any(|(_, e)| *e
            == Event::SetPromiscuous {
                member: 0,
                enabled: false
            }),
        "promiscuity ends after 10 s"
    );
}

#[test]
fn alb_inactive_members_accept_unicast_only() {
    let mut net = lb("mode=balance-alb miimon=100", 1);
    let now = net.now;
    let mut uni = sim::udp_frame(
        sim::host_mac(0),
        member_mac(1),
        host_ip(0),
        sim::BOND_IP,
        1,
        2,
        3,
        4,
    );
    assert_eq!(net.bond.handle_rx(now, 1, &mut uni), Rx::Deliver);
    assert_eq!(
        &uni[..6],
        &net.bond.mac().0,
        "destination rewritten to the bond's MAC"
    );
    let mut bcast = uni.clone();
    bcast[..6].copy_from_slice(&[0xff; 6]);
    assert!(matches!(
        net.bond.handle_rx(now, 1, &mut bcast),
        Rx::Drop(_)
    ));
    assert_eq!(net.bond.handle_rx(now, 0, &mut bcast), Rx::Deliver);
    // In balance-tlb the inactive member drops unicast too.
    let mut net = lb("mode=balance-tlb miimon=100", 1);
    let mut uni = sim::udp_frame(
        sim::host_mac(0),
        net.bond.mac(),
        host_ip(0),
        sim::BOND_IP,
        1,
        2,
        3,
        4,
    );
    let now = net.now;
    assert!(matches!(net.bond.handle_rx(now, 1, &mut uni), Rx::Drop(_)));
    // The plan sends every balance-tlb/alb frame to the Bond.
    let plan = net.bond.plan();
    let mut w = net.bond.new_worker();
    assert_eq!(plan.select_tx(&mut w, &mut uni), Tx::ViaBond);
}

/// Found by the `engine` fuzz target: a member whose carrier was sampled off (the MII
/// monitor has not committed it down yet) still got balanced frames in balance-tlb and
/// balance-alb; `bond_do_alb_xmit()` sends only on a member that `bond_slave_can_tx()`.
#[test]
fn tlb_and_alb_never_send_on_a_member_without_carrier() {
    use afxdp_bond::engine::{Bond, BondConfig, LinkInfo, MacAddr, MemberConfig, TxDrop};
    let send_flows = |b: &mut Bond, t: std::time::Duration| -> Vec<Tx> {
        (0..64u16)
            .map(|flow| {
                let mut f = sim::udp_frame(
                    b.mac(),
                    MacAddr([2, 0, 0, 0, 9, flow as u8]),
                    sim::BOND_IP,
                    host_ip(usize::from(flow)),
                    1000 + flow,
                    9000,
                    u32::from(flow),
                    0,
                );
                b.select_tx(t, &mut f)
            })
            .collect()
    };
    for mode in ["balance-tlb", "balance-alb"] {
        let mut t = std::time::Duration::ZERO;
        let opts = format!("mode={mode} miimon=100");
        let mut b = Bond::from_modprobe(t, &opts, BondConfig::default()).unwrap();
        for i in 0..3 {
            b.add_member(t, i, MemberConfig::new(format!("eth{i}"), member_mac(i)))
                .unwrap();
        }
        b.open(t);
        // Traffic, then the first rebalance (10 s) spreads the flows over the members.
        let _ = send_flows(&mut b, t);
        while let Some(d) = b.poll_timeout().filter(|&d| d <= ms(10_050)) {
            t = d;
            b.handle_timeout(t);
            while b.poll_transmit(t).is_some() {}
        }
        assert!(send_flows(&mut b, t).contains(&Tx::Member(1)), "{mode}");
        // Member 1 loses its carrier, sampled for the next miimon run.
        b.sample_link(t, 1, LinkInfo::down()).unwrap();
        let txs = send_flows(&mut b, t);
        assert!(!txs.contains(&Tx::Member(1)), "{mode}: a frame on member 1");
        assert!(
            txs.contains(&Tx::Drop(TxDrop::MemberCannotTx)),
            "{mode}: no flow was balanced to member 1"
        );
    }
}
