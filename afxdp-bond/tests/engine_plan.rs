//! The published plan: the same decisions as the Bond, shared by several workers on
//! several threads, a new generation exactly when something changed, counters summed over
//! the workers.

use std::sync::Arc;
use std::time::Duration;

use afxdp_bond::engine::{
    Bond, BondConfig, Event, LinkInfo, MacAddr, MemberConfig, Plan, Rx, Tx, TxDrop,
};

fn bond(options: &str, members: usize) -> Bond {
    let t = Duration::ZERO;
    let mut b = Bond::from_modprobe(t, options, BondConfig::default()).unwrap();
    for i in 0..members {
        b.add_member(
            t,
            i,
            MemberConfig::new(format!("eth{i}"), MacAddr([2, 0, 0, 0, 0, i as u8 + 1])),
        )
        .unwrap();
    }
    b.open(t);
    while b.poll_event().is_some() {}
    b
}

/// A UDP frame of flow `k`.
fn frame(k: u16) -> Vec<u8> {
    let mut f = vec![0u8; 64];
    f[..6].copy_from_slice(&[2, 9, 9, 9, 9, (k & 0xff) as u8]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[23] = 17;
    f[26..30].copy_from_slice(&[198, 18, 0, 1]);
    f[30..34].copy_from_slice(&[198, 18, 1, (k >> 8) as u8]);
    f[34..36].copy_from_slice(&k.to_be_bytes());
    f[36..38].copy_from_slice(&9000u16.to_be_bytes());
    f
}

#[test]
fn plan_and_bond_decide_alike_in_every_plan_mode() {
    for opts in [
        "mode=balance-rr miimon=100",
        "mode=balance-rr miimon=100 packets_per_slave=5",
        "mode=active-backup miimon=100",
        "mode=balance-xor xmit_hash_policy=layer3+4 miimon=100",
        "mode=broadcast miimon=100",
    ] {
        let mut b = bond(opts, 3);
        let plan = b.plan();
        let mut w = b.new_worker();
        for k in 0..500u16 {
            let mut a = frame(k);
            let mut c = frame(k);
            assert_eq!(
                plan.select_tx(&mut w, &mut a),
                b.select_tx(Duration::ZERO, &mut c),
                "{opts} frame {k}"
            );
            assert_eq!(
                plan.classify_rx(&mut w, usize::from(k % 3), &mut a),
                b.handle_rx(Duration::ZERO, usize::from(k % 3), &mut c),
                "{opts} frame {k}"
            );
        }
    }
}

#[test]
fn ieee8023ad_hashes_over_the_distributing_ports_only() {
    // Without a partner, after the ports time out, one port of one aggregator distributes.
    let mut b = bond("mode=802.3ad lacp_rate=fast xmit_hash_policy=layer3+4", 3);
    let mut t = Duration::ZERO;
    while t < Duration::from_secs(5) {
        t = b
            .poll_timeout()
            .unwrap_or(t + Duration::from_millis(100))
            .max(t);
        b.handle_timeout(t);
        while b.poll_transmit(t).is_some() {}
        t += Duration::from_nanos(1);
    }
    let plan = b.plan();
    assert_eq!(plan.usable_members().len(), 1);
    let only = usize::from(plan.usable_members()[0]);
    let mut w = b.new_worker();
    for k in 0..100 {
        assert_eq!(plan.select_tx(&mut w, &mut frame(k)), Tx::Member(only));
    }
    // LACPDUs go to the Bond; data on a port that does not collect is dropped.
    let mut pdu = vec![0u8; 124];
    pdu[..6].copy_from_slice(&[0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]);
    pdu[12..14].copy_from_slice(&[0x88, 0x09]);
    pdu[14] = 1;
    assert_eq!(plan.classify_rx(&mut w, 0, &mut pdu), Rx::ViaBond);
    let other = (only + 1) % 3;
    assert!(matches!(
        plan.classify_rx(&mut w, other, &mut frame(1)),
        Rx::Drop(_)
    ));
    assert_eq!(plan.classify_rx(&mut w, only, &mut frame(1)), Rx::Deliver);
}

#[test]
fn new_generation_exactly_when_the_plan_changes() {
    let mut b = bond("mode=balance-xor miimon=100", 2);
    let g0 = b.plan().generation();
    // Nothing changes: no new plan.
    b.handle_timeout(Duration::from_millis(100));
    b.handle_link(Duration::from_millis(150), 0, LinkInfo::up(10_000))
        .unwrap();
    assert_eq!(b.plan().generation(), g0);
    while b.poll_event().is_some() {}
    // A member goes down: new plan, announced.
    b.handle_link(Duration::from_millis(200), 1, LinkInfo::down())
        .unwrap();
    let g1 = b.plan().generation();
    assert_eq!(g1, g0 + 1);
    let mut announced = Vec::new();
    while let Some(e) = b.poll_event() {
        if let Event::PlanChanged { generation } = e {
            announced.push(generation);
        }
    }
    assert_eq!(announced, vec![g1]);
    assert_eq!(b.plan().usable_members(), &[0]);
    // A worker holding the old plan keeps using it until it picks up the new one.
    let old: Arc<Plan> = Arc::new((*b.plan()).clone());
    assert_eq!(old.generation(), g1);
}

#[test]
fn workers_on_threads_share_the_plan_and_the_bond_sums_their_counters() {
    let mut b = bond("mode=balance-xor xmit_hash_policy=layer3+4 miimon=100", 2);
    let plan = b.plan();
    let mut workers: Vec<_> = (0..4).map(|_| b.new_worker()).collect();
    let handles: Vec<_> = workers
        .drain(..)
        .map(|mut w| {
            let plan = plan.clone();
            std::thread::spawn(move || {
                for k in 0..10_000u16 {
                    let mut f = frame(k);
                    let _ = plan.select_tx(&mut w, &mut f);
                    let _ = plan.classify_rx(&mut w, usize::from(k % 2), &mut f);
                }
                w
            })
        })
        .collect();
    let workers: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let c = b.counters();
    let tx: u64 = c.members.iter().map(|(_, m)| m.tx_frames).sum();
    let rx: u64 = c.members.iter().map(|(_, m)| m.rx_frames).sum();
    assert_eq!(tx, 40_000);
    assert_eq!(rx, 40_000);
    assert_eq!(
        c.members[0].1.tx_bytes + c.members[1].1.tx_bytes,
        40_000 * 64
    );
    drop(workers);
    // Drops by reason.
    b.close(Duration::ZERO);
    let plan = b.plan();
    let mut w = b.new_worker();
    assert_eq!(
        plan.select_tx(&mut w, &mut frame(1)),
        Tx::Drop(TxDrop::BondDown)
    );
    let c = b.counters();
    assert_eq!(c.tx_drop[0], 1);
}

#[test]
fn queue_id_overrides_in_active_backup_and_round_robin() {
    let mut b = bond("mode=active-backup miimon=100", 2);
    b.set_option(Duration::ZERO, "queue_id", "eth1:2").unwrap();
    let plan = b.plan();
    let mut w = b.new_worker();
    assert_eq!(plan.select_tx(&mut w, &mut frame(1)), Tx::Member(0));
    assert_eq!(
        plan.select_tx_on_queue(&mut w, &mut frame(1), 2),
        Tx::Member(1)
    );
    // A queue no member has: the mode decides.
    assert_eq!(
        plan.select_tx_on_queue(&mut w, &mut frame(1), 5),
        Tx::Member(0)
    );
    // The member's link is down: the mode decides.
    b.handle_link(Duration::ZERO, 1, LinkInfo::down()).unwrap();
    let plan = b.plan();
    assert_eq!(
        plan.select_tx_on_queue(&mut w, &mut frame(1), 2),
        Tx::Member(0)
    );
    // Not in the hash modes.
    let mut b = bond("mode=balance-xor miimon=100", 2);
    b.set_option(Duration::ZERO, "queue_id", "eth1:2").unwrap();
    let plan = b.plan();
    let mut w = b.new_worker();
    let by_hash = plan.select_tx(&mut w, &mut frame(1));
    assert_eq!(plan.select_tx_on_queue(&mut w, &mut frame(1), 2), by_hash);
}

/// Found by the `engine` fuzz target: queue mapping 0 (no mapping; every member's default
/// `queue_id` is 0) overrode the mode, so an active-backup bond sent the frame on its first
/// member even when that member was a backup. Linux's `bond_slave_override()` returns at
/// once for a frame without a recorded queue.
#[test]
fn queue_mapping_0_is_no_override() {
    let t = Duration::ZERO;
    let mut b = bond("mode=active-backup miimon=100 primary=eth1", 2);
    assert_eq!(b.active_member(), Some(1));
    let plan = b.plan();
    let mut w = b.new_worker();
    assert_eq!(
        plan.select_tx_on_queue(&mut w, &mut frame(1), 0),
        Tx::Member(1)
    );
    assert_eq!(b.select_tx_on_queue(t, &mut frame(1), 0), Tx::Member(1));
    // balance-rr: the rotation, as without a mapping (member 0 would take every frame).
    let mut b = bond("mode=balance-rr miimon=100", 2);
    let plan = b.plan();
    let mut w = b.new_worker();
    let members: Vec<Tx> = (0..4)
        .map(|k| plan.select_tx_on_queue(&mut w, &mut frame(k), 0))
        .collect();
    assert!(members.contains(&Tx::Member(1)), "{members:?}");
}
