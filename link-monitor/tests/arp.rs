//! The ARP/NS monitor in virtual time, against `bond_loadbalance_arp_mon()` and
//! `bond_activebackup_arp_mon()` (inspect, commit, probe) and the receive-side validation of
//! `bond_arp_rcv()`/`bond_na_rcv()`.

mod common;

use std::time::Duration;

use common::{
    BOND_IP, OTHER_HOST, Sim, TARGET, TARGET2, arp_options, foreign_arp, foreign_ipv4, ms,
};
use link_monitor::{
    ArpValidate, Event, LinkState, MonitorOptions, MonitorStyle, Probe, ProbeRoute, SlaveState,
    VlanPath,
};

use LinkState::{Back, Down, Fail, Up};

fn at(n: u64) -> Duration {
    ms(n)
}

// ---------------------------------------------------------------- load-balancing style

/// A target that stops answering: with `arp_validate=all` the members go down at the first
/// run more than `arp_missed_max * arp_interval + arp_interval / 2` after the last reply, as
/// `bond_time_in_interval(last_rx, missed_max)` decides.
#[test]
fn target_stops_answering_load_balancing() {
    for (interval, missed_max) in [
        (100u32, 1u8),
        (100, 2),
        (100, 3),
        (250, 2),
        (1000, 5),
        (100, 255),
    ] {
        let mut o = arp_options(interval, "all", "198.18.0.1");
        o.set("arp_missed_max", &missed_max.to_string()).unwrap();
        let mut sim = Sim::new(o, MonitorStyle::LoadBalance, 2);
        let d = u64::from(interval);
        // The target answers every probe 1 ms later, until just after the run at 9*d.
        sim.run_until(at(9 * d + d / 2));
        sim.alive4.clear();
        sim.run_until(at((12 + u64::from(missed_max)) * d));
        let last_reply = 9 * d + 1;
        let window = u64::from(missed_max) * d + d / 2;
        // First run strictly after last_reply + window.
        let want = (last_reply + window) / d * d + d;
        assert_eq!(want, (10 + u64::from(missed_max)) * d);
        for m in 0..2 {
            assert_eq!(
                sim.link_events(m),
                [(at(want), Down)],
                "interval {interval} missed_max {missed_max}"
            );
        }
        assert_eq!(sim.mon.link_failure_count(0), Some(1));
        assert!(sim.events.contains(&Event::SelectActive { at: at(want) }));
        assert_eq!(sim.mon.active_member(), None);
        // Down members become backups (bond_slave_state_change()).
        assert_eq!(sim.mon.slave_state(1), Some(SlaveState::Backup));
    }
}

#[test]
fn member_comes_back_after_two_runs_in_load_balancing() {
    let mut sim = Sim::new(
        arp_options(100, "active", "198.18.0.1"),
        MonitorStyle::LoadBalance,
        2,
    );
    sim.flooded = vec![false; 2];
    sim.run_until(at(950));
    sim.alive4.clear();
    sim.run_until(at(1450));
    sim.alive4.push(TARGET);
    sim.run_until(at(2000));
    // Down at 1200; the probe at 1500 is answered at 1501; up at the run of 1600 (sent and
    // received within one interval).
    assert_eq!(sim.link_events(0), [(at(1200), Down), (at(1600), Up)]);
    assert_eq!(sim.mon.slave_state(0), Some(SlaveState::Active));
    // No member was active: the first one up asks for a selection.
    assert!(sim.events.contains(&Event::SelectActive { at: at(1600) }));
    assert_eq!(sim.mon.active_member(), Some(0));
}

/// Linux marks down members as backups in the load-balancing ARP monitor (and up members
/// active), and a backup's ARP is trusted only through an active member (or a probe in
/// active-backup). Two consequences, kept as Linux has them:
///
/// - with validation on backups (`backup`, `all`, `filter_backup`), once every member is
///   down nothing validates any more and the bond stays down even when the target answers
///   again;
/// - a member that cannot reach the target but sees an up member's flooded requests flaps:
///   as a backup the flood validates it (source and target swapped) and it comes up; as an
///   active member the same flood does not, and it goes down again.
#[test]
fn load_balancing_with_backup_validation_keeps_linux_quirks() {
    let mut sim = Sim::new(
        arp_options(100, "all", "198.18.0.1"),
        MonitorStyle::LoadBalance,
        2,
    );
    sim.run_until(at(950));
    sim.alive4.clear();
    sim.run_until(at(1450));
    sim.alive4.push(TARGET);
    sim.run_until(at(3000));
    assert_eq!(sim.link_events(0), [(at(1200), Down)]);
    assert!(sim.mon.counters().arp_untrusted > 0);

    let mut sim = Sim::new(
        arp_options(100, "all", "198.18.0.1"),
        MonitorStyle::LoadBalance,
        2,
    );
    sim.run_until(at(950));
    sim.reaches_target[1] = false;
    sim.run_until(at(2000));
    assert_eq!(
        sim.link_events(1),
        [
            (at(1200), Down),
            (at(1300), Up),
            (at(1500), Down),
            (at(1600), Up),
            (at(1800), Down),
            (at(1900), Up)
        ]
    );
    assert_eq!(sim.first(0, Down), None);
}

/// A member with carrier whose port cannot reach the target but sees the bond's own flooded
/// probes: `arp_validate=none` keeps it up forever (the known field failure), validation
/// takes it down two runs after the start.
#[test]
fn member_without_arp_path_in_load_balancing() {
    for (validate, down) in [("none", None), ("filter", None), ("all", Some(at(200)))] {
        let mut sim = Sim::new(
            arp_options(100, validate, "198.18.0.1"),
            MonitorStyle::LoadBalance,
            2,
        );
        sim.reaches_target[1] = false;
        sim.run_until(at(3000));
        assert_eq!(sim.first(1, Down), down, "arp_validate={validate}");
        assert_eq!(sim.first(0, Down), None);
    }
}

#[test]
fn no_probes_without_carrier_and_a_route_elsewhere() {
    let mut sim = Sim::new(
        arp_options(100, "none", "198.18.0.1,198.18.0.2"),
        MonitorStyle::LoadBalance,
        2,
    );
    sim.run_until(at(0));
    // One request per target per member with carrier.
    assert_eq!(
        sim.probes_sent(),
        [(at(0), 0), (at(0), 0), (at(0), 1), (at(0), 1)]
    );
    sim.mon.handle_carrier(at(50), 1, false).unwrap();
    sim.run_until(at(100));
    assert_eq!(
        sim.probes_sent().len(),
        6,
        "no probe on a member without carrier"
    );
    // Both targets routed through another device: nothing is sent and the last transmit time
    // goes stale, so the member goes down although it still receives.
    for t in [TARGET, TARGET2] {
        sim.mon.set_arp_route(t, ProbeRoute::OtherDevice).unwrap();
    }
    sim.periodic(0, at(105), at(10), at(2000), foreign_ipv4());
    sim.run_until(at(2000));
    assert_eq!(sim.probes_sent().len(), 6);
    assert_eq!(sim.mon.counters().tx_other_device, 2 * 19);
    assert_eq!(
        sim.first(0, Down),
        Some(at(400)),
        "last probe at 100; 400 > 100 + 250"
    );
}

// ---------------------------------------------------------------- active-backup style

fn ab(validate: &str) -> Sim {
    let mut sim = Sim::new(
        arp_options(100, validate, "198.18.0.1"),
        MonitorStyle::ActiveBackup,
        2,
    );
    assert_eq!(sim.mon.active_member(), Some(0));
    sim.events.clear();
    sim.run_until(at(900));
    sim
}

#[test]
fn active_backup_probes_only_the_active_member() {
    let sim = ab("all");
    assert!(sim.probes_sent().iter().all(|(_, m)| *m == 0));
    assert_eq!(sim.probes_sent().len(), 10);
    // The backup is validated by the active member's requests the switch floods to it
    // (source and target swapped), once the active member has had a reply.
    assert_eq!(sim.state(1), Up);
    assert_eq!(
        sim.mon.last_rx(1),
        Some(at(800) + Duration::from_micros(10))
    );
    assert_eq!(sim.mon.last_rx(0), Some(at(801)));
    assert!(sim.mon.counters().arp_validated >= 17);
    assert_eq!(
        sim.mon.counters().arp_untrusted,
        1,
        "the first flood, before any reply"
    );
}

/// The active member's target stops answering: down at the first run after last reply +
/// `arp_missed_max * arp_interval + arp_interval / 2`, failover, the new active member gets
/// two intervals and a half of grace, and without answers it goes down too; then the probe
/// rotates.
#[test]
fn target_stops_answering_active_backup() {
    let mut sim = ab("all");
    sim.run_until(at(950));
    sim.alive4.clear();
    sim.run_until(at(1700));
    assert_eq!(
        sim.link_events(0),
        [(at(1200), Down), (at(1600), Back), (at(1700), Fail)]
    );
    // Member 1 became active at 1200 (grace to 1450); its last validated frame is member 0's
    // flooded request of 1100: down at the run of 1500.
    assert_eq!(
        sim.link_events(1),
        [
            (at(1500), Down),
            (at(1500), Back),
            (at(1600), Fail),
            (at(1700), Back)
        ]
    );
    let probes: Vec<_> = sim
        .probes_sent()
        .into_iter()
        .filter(|(t, _)| *t >= at(1000))
        .collect();
    assert_eq!(
        probes,
        [
            (at(1000), 0),
            (at(1100), 0),
            (at(1200), 1),
            (at(1300), 1),
            (at(1400), 1),
            (at(1500), 1),
            (at(1600), 0),
            (at(1700), 1)
        ]
    );
}

/// A member with carrier whose uplink is broken: the MII monitor never notices; the ARP
/// monitor takes it down and fails over to the member that works.
#[test]
fn member_with_carrier_but_no_arp_path_is_detected() {
    let mut sim = ab("all");
    sim.run_until(at(950));
    sim.path[0] = false;
    sim.run_until(at(3000));
    assert_eq!(sim.link_events(0), [(at(1200), Down)]);
    assert_eq!(sim.mon.active_member(), Some(1));
    assert_eq!(sim.state(1), Up);
    assert!(sim.link_events(1).is_empty());

    // The MII monitor sees carrier and nothing else.
    let mut o = MonitorOptions::default();
    o.set("miimon", "100").unwrap();
    let mut mii = Sim::new(o, MonitorStyle::ActiveBackup, 2);
    mii.path[0] = false;
    mii.run_until(at(3000));
    assert_eq!(mii.state(0), Up);
    assert_eq!(mii.mon.active_member(), Some(0));
}

/// With no active member the probe goes to one member per run, in member order starting
/// after the first member (as `bond_ab_arp_probe()` does), skipping members without carrier;
/// the probed member is going back, then going down if nothing validated; the first one
/// that gets an answer comes up and is selected.
#[test]
fn probe_rotation_without_an_active_member() {
    let mut sim = Sim::new(
        arp_options(100, "all", "198.18.0.1"),
        MonitorStyle::ActiveBackup,
        3,
    );
    sim.reaches_target = vec![false; 3];
    sim.flooded = vec![false; 3];
    sim.run_until(at(650));
    // Everything down at 300 (grace until 250: the active member misses replies, the backups
    // miss missed_max + 1 intervals).
    for m in 0..3 {
        assert_eq!(sim.first(m, Down), Some(at(300)));
    }
    assert_eq!(sim.mon.active_member(), None);
    sim.reaches_target[2] = true;
    sim.run_until(at(1000));
    let rotation: Vec<_> = sim
        .events
        .iter()
        .filter_map(|e| match e {
            Event::CurrentArpSlave { member, at } => Some((*at, *member)),
            _ => None,
        })
        .collect();
    assert_eq!(
        rotation,
        [
            (at(300), Some(1)),
            (at(400), Some(2)),
            (at(500), Some(0)),
            (at(600), Some(1)),
            (at(700), Some(2)),
            (at(800), None),
        ]
    );
    assert_eq!(
        sim.link_events(2),
        [
            (at(300), Down),
            (at(400), Back),
            (at(500), Fail),
            (at(700), Back),
            (at(800), Up)
        ]
    );
    assert_eq!(sim.mon.active_member(), Some(2));
    assert_eq!(sim.mon.current_arp_slave(), None);
    let probes: Vec<_> = sim
        .probes_sent()
        .into_iter()
        .filter(|(t, _)| *t >= at(300))
        .collect();
    assert_eq!(
        probes,
        [
            (at(300), 1),
            (at(400), 2),
            (at(500), 0),
            (at(600), 1),
            (at(700), 2),
            (at(800), 2),
            (at(900), 2),
            (at(1000), 2)
        ]
    );
    // The probed member is flagged active while probed (so its frames are delivered).
    assert!(sim.events.contains(&Event::SlaveState {
        member: 1,
        state: SlaveState::Active,
        at: at(300)
    }));
    assert!(sim.events.contains(&Event::SlaveState {
        member: 1,
        state: SlaveState::Backup,
        at: at(400)
    }));

    // A member without carrier is skipped by the rotation.
    let mut sim = Sim::new(
        arp_options(100, "all", "198.18.0.1"),
        MonitorStyle::ActiveBackup,
        3,
    );
    sim.reaches_target = vec![false; 3];
    sim.flooded = vec![false; 3];
    sim.mon.handle_carrier(at(10), 1, false).unwrap();
    sim.run_until(at(800));
    assert_eq!(sim.mon.link_state(1), Some(Down));
    let probed: Vec<_> = sim
        .probes_sent()
        .into_iter()
        .filter(|(t, _)| *t >= at(300))
        .map(|(_, m)| m)
        .collect();
    assert_eq!(probed, [2, 0, 2, 0, 2, 0]);
}

#[test]
fn arp_all_targets_any_versus_all() {
    for (all_targets, down) in [("any", None), ("all", Some(at(1200)))] {
        let mut o = arp_options(100, "all", "198.18.0.1,198.18.0.2");
        o.set("arp_all_targets", all_targets).unwrap();
        let mut sim = Sim::new(o, MonitorStyle::ActiveBackup, 2);
        sim.run_until(at(950));
        // The second target stops answering; the first goes on.
        sim.alive4 = vec![TARGET];
        sim.run_until(at(3000));
        assert_eq!(sim.first(0, Down), down, "arp_all_targets={all_targets}");
    }
}

#[test]
fn arp_all_targets_does_not_apply_in_load_balancing() {
    let mut o = arp_options(100, "all", "198.18.0.1,198.18.0.2");
    o.set("arp_all_targets", "all").unwrap();
    let mut sim = Sim::new(o, MonitorStyle::LoadBalance, 2);
    sim.run_until(at(950));
    sim.alive4 = vec![TARGET];
    sim.run_until(at(3000));
    assert_eq!(sim.first(0, Down), None);
}

#[test]
fn arp_missed_max_in_active_backup() {
    for missed_max in [1u64, 2, 3, 6] {
        let mut o = arp_options(100, "all", "198.18.0.1");
        o.set("arp_missed_max", &missed_max.to_string()).unwrap();
        let mut sim = Sim::new(o, MonitorStyle::ActiveBackup, 2);
        sim.run_until(at(950));
        sim.alive4.clear();
        sim.run_until(at(2500));
        assert_eq!(
            sim.first(0, Down),
            Some(at(1000 + 100 * missed_max)),
            "missed_max {missed_max}"
        );
    }
}

/// Every `arp_validate` value against four traffic patterns; the signature of first-down
/// times tells each value apart:
///
/// - X: the active member's target is dead and it receives only other hosts' IPv4 broadcasts;
/// - W: the same with other hosts' ARP requests;
/// - Y: the target answers the active member; the backup sees only other hosts' ARP;
/// - Z: the same with other hosts' IPv4 broadcasts.
#[test]
fn each_arp_validate_value_changes_the_outcome() {
    let n = None;
    let d = Some(at(300));
    let table = [
        (ArpValidate::None, [n, n, n, n]),
        (ArpValidate::Active, [d, d, n, n]),
        (ArpValidate::Backup, [n, n, d, d]),
        (ArpValidate::All, [d, d, d, d]),
        (ArpValidate::Filter, [d, n, n, d]),
        (ArpValidate::FilterActive, [d, d, n, d]),
        (ArpValidate::FilterBackup, [d, n, d, d]),
    ];
    for (validate, want) in table {
        let mut got = [None; 4];
        for (k, (target_alive, subject, frame)) in [
            (false, 0, foreign_ipv4()),
            (false, 0, foreign_arp()),
            (true, 1, foreign_arp()),
            (true, 1, foreign_ipv4()),
        ]
        .into_iter()
        .enumerate()
        {
            let mut sim = Sim::new(
                arp_options(100, validate.name(), "198.18.0.1"),
                MonitorStyle::ActiveBackup,
                2,
            );
            sim.flooded = vec![false; 2];
            if !target_alive {
                sim.alive4.clear();
            }
            sim.periodic(subject, at(5), at(20), at(2000), frame);
            sim.run_until(at(2000));
            got[k] = sim.first(subject, Down);
        }
        assert_eq!(got, want, "arp_validate={validate}");
    }
}

/// A backup that sees only traffic that is not about our targets.
#[test]
fn backup_that_only_sees_other_traffic() {
    // Other hosts' broadcasts only: only validation catches it.
    for (validate, down) in [
        ("none", None),
        ("filter", Some(at(300))),
        ("backup", Some(at(300))),
        ("all", Some(at(300))),
    ] {
        let mut sim = Sim::new(
            arp_options(100, validate, "198.18.0.1"),
            MonitorStyle::ActiveBackup,
            2,
        );
        sim.flooded[1] = false;
        sim.periodic(1, at(5), at(20), at(2000), foreign_ipv4());
        sim.run_until(at(2000));
        assert_eq!(sim.first(1, Down), down, "arp_validate={validate}");
    }
    // Only the active member's requests, flooded by the switch, and no path of its own to
    // the target: Linux validates backups on exactly that (the request seen with source and
    // target swapped), so it stays up with every value...
    for validate in ["none", "filter", "backup", "all"] {
        let mut sim = Sim::new(
            arp_options(100, validate, "198.18.0.1"),
            MonitorStyle::ActiveBackup,
            2,
        );
        sim.reaches_target[1] = false;
        sim.run_until(at(2000));
        assert_eq!(sim.first(1, Down), None, "arp_validate={validate}");
    }
    // ...and with validation it goes down once the floods stop (here: the active member's
    // uplink dies; member 1 becomes active and gets no answer).
    let mut sim = Sim::new(
        arp_options(100, "all", "198.18.0.1"),
        MonitorStyle::ActiveBackup,
        2,
    );
    sim.reaches_target[1] = false;
    sim.run_until(at(950));
    sim.path[0] = false;
    sim.run_until(at(2000));
    assert_eq!(sim.first(0, Down), Some(at(1200)));
    assert_eq!(sim.first(1, Down), Some(at(1500)));
}

/// Validation of our own requests seen on a backup needs the active member to have had a
/// validated reply since it became active (`time_after(slave_last_rx(active), last_link_up)`).
#[test]
fn backup_trusts_floods_only_after_the_active_member_got_a_reply() {
    let mut sim = Sim::new(
        arp_options(100, "backup", "198.18.0.1"),
        MonitorStyle::ActiveBackup,
        2,
    );
    sim.reaches_target[0] = false;
    sim.run_until(at(2000));
    // Member 0 never gets a reply, so member 1 never trusts its floods: down at 300 as a
    // backup; member 0 is not validated (validation on backups only) and its own floods...
    // never reach itself, so it goes down at 300 too.
    assert_eq!(sim.first(1, Down), Some(at(300)));
    assert!(sim.mon.counters().arp_untrusted > 0);
}

#[test]
fn frames_to_another_host_are_not_validated() {
    let mut sim = ab("all");
    let before = sim.mon.counters().rx_other_host;
    // A reply from the target to a unicast MAC that is not the member's.
    let frame = common::arp_reply(TARGET, [2, 0, 0, 0, 0, 0x77], BOND_IP);
    sim.mon.handle_rx(at(901), 0, &frame).unwrap();
    assert_eq!(sim.mon.counters().rx_other_host, before + 1);
    // A reply about an address that is not ours.
    let frame = common::arp_reply(TARGET, common::BOND_MAC, OTHER_HOST);
    let nv = sim.mon.counters().arp_not_validated;
    sim.mon.handle_rx(at(902), 0, &frame).unwrap();
    assert_eq!(sim.mon.counters().arp_not_validated, nv + 1);
}

#[test]
fn malformed_frames_are_counted_and_ignored() {
    let mut sim = ab("all");
    let last = sim.mon.last_rx(0);
    let good = common::arp_reply(TARGET, common::BOND_MAC, BOND_IP);
    type Counter = fn(&link_monitor::Counters) -> u64;
    let cases: [(Vec<u8>, Counter); 6] = [
        (good[..10].to_vec(), |c| c.eth_truncated),
        (good[..30].to_vec(), |c| c.arp_truncated),
        (
            {
                let mut f = good.clone();
                f[15] = 6;
                f
            },
            |c| c.arp_bad_hardware_type,
        ),
        (
            {
                let mut f = good.clone();
                f[16] = 0x86;
                f
            },
            |c| c.arp_bad_protocol_type,
        ),
        (
            {
                let mut f = good.clone();
                f[18] = 8;
                f
            },
            |c| c.arp_truncated,
        ),
        (
            {
                let mut f = good.clone();
                f[19] = 2;
                f
            },
            |c| c.arp_bad_protocol_len,
        ),
    ];
    for (frame, counter) in cases {
        let before = counter(sim.mon.counters());
        sim.mon.handle_rx(at(901), 0, &frame).unwrap();
        assert_eq!(counter(sim.mon.counters()), before + 1);
    }
    assert_eq!(sim.mon.last_rx(0), last, "nothing refreshed the member");
    assert!(sim.mon.handle_rx(at(901), 9, &good).is_err());
    // A VLAN-tagged reply is seen through its tag, as Linux strips one tag first.
    let mut tagged = good[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
    tagged.extend_from_slice(&good[12..]);
    let v = sim.mon.counters().arp_validated;
    sim.mon.handle_rx(at(903), 0, &tagged).unwrap();
    assert_eq!(sim.mon.counters().arp_validated, v + 1);
    assert_eq!(sim.mon.last_rx(0), Some(at(903)));
}

// ---------------------------------------------------------------- NS monitor

fn ns_options(validate: &str) -> MonitorOptions {
    let mut o = MonitorOptions::default();
    o.set("arp_interval", "100").unwrap();
    o.set("ns_ip6_target", "2001:2::1").unwrap();
    o.set("arp_validate", validate).unwrap();
    o
}

#[test]
fn ns_monitor_with_correct_and_incorrect_checksums() {
    let mut sim = Sim::new(ns_options("all"), MonitorStyle::ActiveBackup, 2);
    sim.run_until(at(950));
    assert!(sim.probes_sent().iter().all(|(_, m)| *m == 0));
    assert!(matches!(sim.sent[0].1.probe, Probe::Ns { .. }));
    assert_eq!(
        sim.mon.counters().nd_validated,
        10 + 9,
        "10 NA on the active, 9 swapped NS on the backup"
    );
    assert_eq!(sim.state(0), Up);
    assert_eq!(sim.state(1), Up);
    // From now on every advertisement has a wrong checksum: dropped and counted, so the
    // active member goes down as if the target had gone.
    sim.bad_na_checksum = true;
    sim.run_until(at(1250));
    assert_eq!(sim.first(0, Down), Some(at(1200)));
    assert_eq!(sim.mon.counters().nd_bad_checksum, 3);

    // Without validation the broken advertisements still count as traffic (Linux counts any
    // frame), so nothing goes down.
    let mut sim = Sim::new(ns_options("none"), MonitorStyle::ActiveBackup, 2);
    sim.bad_na_checksum = true;
    sim.run_until(at(2000));
    assert_eq!(sim.first(0, Down), None);
    assert_eq!(sim.mon.counters().nd_bad_checksum, 0);
}

#[test]
fn ns_monitor_in_load_balancing() {
    let mut sim = Sim::new(ns_options("all"), MonitorStyle::LoadBalance, 2);
    sim.run_until(at(950));
    sim.alive6.clear();
    sim.run_until(at(1500));
    assert_eq!(sim.first(0, Down), Some(at(1200)));
    assert_eq!(sim.first(1, Down), Some(at(1200)));
}

#[test]
fn arp_and_ns_targets_probe_together() {
    let mut o = arp_options(100, "all", "198.18.0.1");
    o.set("ns_ip6_target", "2001:2::1").unwrap();
    let mut sim = Sim::new(o, MonitorStyle::ActiveBackup, 2);
    sim.run_until(at(0));
    let kinds: Vec<_> = sim
        .sent
        .iter()
        .map(|(_, t)| matches!(t.probe, Probe::Arp { .. }))
        .collect();
    assert_eq!(kinds, [true, false]);
    // The ARP target dies, the NS target answers: with arp_all_targets=any the member stays
    // up on the advertisements.
    sim.run_until(at(950));
    sim.alive4.clear();
    sim.run_until(at(2000));
    assert_eq!(sim.first(0, Down), None);
}

// ---------------------------------------------------------------- probes and routes

#[test]
fn probe_source_follows_the_route() {
    let mut o = arp_options(100, "none", "198.18.0.1,198.18.0.2");
    o.set("ns_ip6_target", "2001:2::1").unwrap();
    let mut sim = Sim::new(o, MonitorStyle::LoadBalance, 1);
    sim.mon.set_arp_route(TARGET, ProbeRoute::NoRoute).unwrap();
    sim.mon
        .set_arp_route(
            TARGET2,
            ProbeRoute::ViaBond {
                src: Some(BOND_IP),
                vlans: VlanPath::single(link_monitor::VlanTag::dot1q(100)),
            },
        )
        .unwrap();
    sim.mon
        .set_ns_route(
            common::TARGET6,
            ProbeRoute::ViaBond {
                src: None,
                vlans: VlanPath::NONE,
            },
        )
        .unwrap();
    sim.run_until(at(0));
    let probes: Vec<_> = sim
        .sent
        .iter()
        .map(|(_, t)| (t.probe, t.frame().len()))
        .collect();
    assert_eq!(
        probes,
        [
            (
                Probe::Arp {
                    target: TARGET,
                    src: std::net::Ipv4Addr::UNSPECIFIED
                },
                42
            ),
            (
                Probe::Arp {
                    target: TARGET2,
                    src: BOND_IP
                },
                46
            ),
            (
                Probe::Ns {
                    target: common::TARGET6,
                    src: std::net::Ipv6Addr::UNSPECIFIED
                },
                78
            ),
        ]
    );
    assert!(
        sim.mon
            .set_arp_route(OTHER_HOST, ProbeRoute::NoRoute)
            .is_err()
    );
}

#[test]
fn options_change_at_runtime() {
    let mut sim = Sim::new(
        arp_options(100, "all", "198.18.0.1"),
        MonitorStyle::ActiveBackup,
        2,
    );
    sim.run_until(at(450));
    // Switch to the MII monitor: the ARP runs stop, the MII runs start now.
    let mut o = MonitorOptions::default();
    o.set("miimon", "50").unwrap();
    sim.mon.set_options(at(450), o);
    assert_eq!(sim.mon.poll_timeout(), Some(at(450)));
    let sent = sim.sent.len();
    sim.run_until(at(1000));
    assert_eq!(sim.sent.len(), sent);
    assert!(!sim.mon.wants_rx());
    // And back: a new target gets a fresh receive time.
    let mut o = arp_options(200, "all", "198.18.0.2");
    o.set("arp_missed_max", "1").unwrap();
    sim.mon.set_options(at(1000), o);
    assert_eq!(sim.mon.poll_timeout(), Some(at(1000)));
    let mut s = String::new();
    sim.mon.write_proc_arp(&mut s).unwrap();
    assert_eq!(
        s,
        "ARP Polling Interval (ms): 200\nARP Missed Max: 1\nARP IP target/s (n.n.n.n form): 198.18.0.2\nNS IPv6 target/s (xx::xx form):\n"
    );
}

#[test]
fn proc_lines_with_several_targets() {
    let mut o = arp_options(100, "all", "198.18.0.1,198.18.0.2");
    o.set("ns_ip6_target", "2001:2::1,2001:2::2").unwrap();
    let sim = Sim::new(o, MonitorStyle::ActiveBackup, 1);
    let mut s = String::new();
    sim.mon.write_proc_mii(&mut s).unwrap();
    sim.mon.write_proc_arp(&mut s).unwrap();
    assert_eq!(
        s,
        "MII Polling Interval (ms): 0\nUp Delay (ms): 0\nDown Delay (ms): 0\n\
         ARP Polling Interval (ms): 100\nARP Missed Max: 2\n\
         ARP IP target/s (n.n.n.n form): 198.18.0.1, 198.18.0.2\n\
         NS IPv6 target/s (xx::xx form): 2001:2::1, 2001:2::2\n"
    );
    assert_eq!(sim.mon.mii_status(0), Some("up"));
}

#[test]
fn removing_the_probed_member_stops_the_rotation() {
    let mut sim = Sim::new(
        arp_options(100, "all", "198.18.0.1"),
        MonitorStyle::ActiveBackup,
        3,
    );
    sim.reaches_target = vec![false; 3];
    sim.flooded = vec![false; 3];
    sim.run_until(at(350));
    assert_eq!(sim.mon.current_arp_slave(), Some(1));
    sim.mon.remove_member(at(350), 0).unwrap();
    sim.drain();
    assert_eq!(sim.mon.current_arp_slave(), None);
    assert!(sim.events.contains(&Event::CurrentArpSlave {
        member: None,
        at: at(350)
    }));
    sim.run_until(at(400));
    // Rotation starts again from the first member (now 1): the next one is 2.
    assert_eq!(sim.mon.current_arp_slave(), Some(2));
    assert_eq!(sim.state(1), Fail);
    assert_eq!(sim.state(2), Back);
}
