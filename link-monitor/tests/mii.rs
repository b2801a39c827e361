//! The MII monitor in virtual time, against `bond_miimon_inspect()`/`bond_miimon_commit()`.

mod common;

use common::{Sim, ms};
use link_monitor::{Event, LinkState, MonitorOptions, MonitorStyle};

use LinkState::{Back, Down, Fail, Up};

fn mii(miimon: u32, updelay: u32, downdelay: u32) -> MonitorOptions {
    let mut o = MonitorOptions::default();
    o.set("miimon", &miimon.to_string()).unwrap();
    o.set("updelay", &updelay.to_string()).unwrap();
    o.set("downdelay", &downdelay.to_string()).unwrap();
    o
}

/// Two active-backup members with carrier from t=0, miimon 100, updelay 200, downdelay 300,
/// carrier read at the monitor's runs exactly as Linux polls it.
fn sampled() -> Sim {
    let mut sim = Sim::new(mii(100, 200, 300), MonitorStyle::ActiveBackup, 2);
    sim.run_until(ms(250));
    sim
}

#[test]
fn enslaved_members_wait_out_updelay_except_the_first_with_no_active_member() {
    let sim = sampled();
    // Member 0 skips updelay (no active member: Linux's ignore_updelay) and is selected;
    // member 1 was added going back with a delay of 2 and needs 3 runs (0, 100, 200), one
    // more than a member coming back at a run, as in Linux.
    assert_eq!(sim.link_events(0), [(ms(0), Up)]);
    assert_eq!(sim.link_events(1), [(ms(200), Up)]);
    assert_eq!(sim.mon.active_member(), Some(0));
    assert!(sim.events.contains(&Event::SelectActive { at: ms(0) }));
}

#[test]
fn downdelay_and_updelay_counted_in_runs_as_linux() {
    let mut sim = sampled();
    sim.run_until(ms(1050));
    sim.mon.sample_carrier(0, false).unwrap();
    sim.run_until(ms(1420));
    // Seen at the run at 1100: going down, down 300 ms (three runs) later; failover.
    assert_eq!(
        sim.link_events(0),
        [(ms(0), Up), (ms(1100), Fail), (ms(1400), Down)]
    );
    assert_eq!(sim.mon.active_member(), Some(1));
    assert!(sim.events.contains(&Event::SelectActive { at: ms(1400) }));
    assert_eq!(sim.mon.link_failure_count(0), Some(1));

    sim.mon.sample_carrier(0, true).unwrap();
    sim.run_until(ms(1800));
    // Seen at 1500: going back, up 200 ms (two runs) later; no reselection (not primary, same
    // prio, an active member exists).
    assert_eq!(sim.link_events(0)[3..], [(ms(1500), Back), (ms(1700), Up)]);
    assert_eq!(sim.mon.active_member(), Some(1));
    assert!(!sim.events.contains(&Event::SelectActive { at: ms(1700) }));
}

#[test]
fn flapping_carrier_with_sampling() {
    let mut sim = sampled();
    // Down and up between two runs: Linux never sees it.
    sim.run_until(ms(2010));
    sim.mon.sample_carrier(1, false).unwrap();
    sim.run_until(ms(2050));
    sim.mon.sample_carrier(1, true).unwrap();
    sim.run_until(ms(2900));
    assert_eq!(sim.link_events(1), [(ms(200), Up)]);

    // Back before downdelay runs out: going down at 3000, up again at the run after 3150.
    sim.run_until(ms(2999));
    sim.mon.sample_carrier(1, false).unwrap();
    sim.run_until(ms(3150));
    sim.mon.sample_carrier(1, true).unwrap();
    sim.run_until(ms(3900));
    assert_eq!(sim.link_events(1)[1..], [(ms(3000), Fail), (ms(3200), Up)]);
    assert_eq!(sim.mon.link_failure_count(1), Some(0));

    // Gone again before updelay runs out: down, going back, down.
    sim.mon.sample_carrier(1, false).unwrap();
    sim.run_until(ms(4350));
    sim.mon.sample_carrier(1, true).unwrap();
    sim.run_until(ms(4450));
    sim.mon.sample_carrier(1, false).unwrap();
    sim.run_until(ms(5000));
    assert_eq!(
        sim.link_events(1)[3..],
        [
            (ms(4000), Fail),
            (ms(4300), Down),
            (ms(4400), Back),
            (ms(4500), Down)
        ]
    );
    // Linux counts every commit to down, also going back to down.
    assert_eq!(sim.mon.link_failure_count(1), Some(2));
}

#[test]
fn carrier_events_act_at_once_and_delays_end_where_linux_ends_them() {
    let mut sim = sampled();
    sim.run_until(ms(1050));
    sim.mon.handle_carrier(ms(1050), 0, false).unwrap();
    sim.drain();
    sim.run_until(ms(1420));
    sim.mon.handle_carrier(ms(1420), 0, true).unwrap();
    sim.drain();
    sim.run_until(ms(2010));
    // Going down at the event, down at 1400 as with sampling; going back at the event, up at
    // 1700 as with sampling.
    assert_eq!(
        sim.link_events(0),
        [
            (ms(0), Up),
            (ms(1050), Fail),
            (ms(1400), Down),
            (ms(1420), Back),
            (ms(1700), Up)
        ]
    );
    // A flap inside one interval is seen (Linux would miss it).
    sim.mon.handle_carrier(ms(2010), 0, false).unwrap();
    sim.mon.handle_carrier(ms(2050), 0, true).unwrap();
    sim.drain();
    assert_eq!(sim.link_events(0)[5..], [(ms(2010), Fail), (ms(2050), Up)]);
}

#[test]
fn without_delays_carrier_events_beat_the_next_run() {
    let mut sim = Sim::new(mii(100, 0, 0), MonitorStyle::ActiveBackup, 2);
    sim.run_until(ms(1050));
    sim.mon.handle_carrier(ms(1050), 0, false).unwrap();
    sim.drain();
    assert_eq!(sim.link_events(0), [(ms(1050), Down)]);
    assert_eq!(
        sim.mon.active_member(),
        Some(1),
        "failover at the event, not at 1100"
    );
    sim.run_until(ms(1077));
    sim.mon.handle_carrier(ms(1077), 0, true).unwrap();
    sim.drain();
    assert_eq!(sim.link_events(0), [(ms(1050), Down), (ms(1077), Up)]);

    // The same with sampling: nothing (both changes fall between two runs).
    let mut sim = Sim::new(mii(100, 0, 0), MonitorStyle::ActiveBackup, 2);
    sim.run_until(ms(1050));
    sim.mon.sample_carrier(0, false).unwrap();
    sim.run_until(ms(1077));
    sim.mon.sample_carrier(0, true).unwrap();
    sim.run_until(ms(1300));
    assert_eq!(sim.link_events(0), []);
    // Carrier back only after the next run: down at 1400, up at 1500.
    sim.mon.sample_carrier(0, false).unwrap();
    sim.run_until(ms(1450));
    sim.mon.sample_carrier(0, true).unwrap();
    sim.run_until(ms(1600));
    assert_eq!(sim.link_events(0), [(ms(1400), Down), (ms(1500), Up)]);
}

#[test]
fn updelay_is_skipped_for_one_member_while_none_is_active() {
    for engine_selects in [true, false] {
        let mut sim = Sim::new(mii(100, 500, 0), MonitorStyle::ActiveBackup, 3);
        sim.auto_select = engine_selects;
        sim.run_until(ms(50));
        for m in 0..3 {
            sim.mon.sample_carrier(m, false).unwrap();
        }
        sim.run_until(ms(150));
        // Member 0 skipped updelay at 0 (no active member: Linux's ignore_updelay); members 1
        // and 2 were still going back.
        assert_eq!(sim.link_events(0), [(ms(0), Up), (ms(100), Down)]);
        assert_eq!(sim.link_events(1), [(ms(100), Down)]);
        for m in [2, 1] {
            sim.mon.sample_carrier(m, true).unwrap();
        }
        sim.run_until(ms(850));
        // No member is active: the first member back (in member order) skips updelay.
        assert_eq!(sim.link_events(1)[1..], [(ms(200), Up)]);
        if engine_selects {
            // Member 1 was made active at once, so member 2 waits out updelay.
            assert_eq!(sim.mon.active_member(), Some(1));
            assert_eq!(sim.link_events(2)[1..], [(ms(200), Back), (ms(700), Up)]);
        } else {
            // Still no active member at the next run: Linux skips updelay again.
            assert_eq!(sim.link_events(2)[1..], [(ms(200), Back), (ms(300), Up)]);
        }
    }
}

#[test]
fn updelay_skip_in_load_balancing_follows_usable_members() {
    for usable in [Some(0), None, Some(1)] {
        let mut sim = Sim::new(mii(100, 500, 0), MonitorStyle::LoadBalance, 2);
        sim.auto_select = false;
        sim.mon.set_usable_members(usable);
        sim.run_until(ms(0));
        // The engine rebuilds its usable array once member 0 is up.
        if usable == Some(0) {
            sim.mon.set_usable_members(Some(1));
        }
        sim.run_until(ms(1000));
        // Member 0 is first: it skips updelay when no member is usable. Member 1 was added
        // going back and needs updelay/miimon + 1 runs.
        let m0 = if usable == Some(0) { 0 } else { 500 };
        assert_eq!(sim.first(0, Up), Some(ms(m0)), "{usable:?}");
        assert_eq!(sim.first(1, Up), Some(ms(500)), "{usable:?}");
    }
}

#[test]
fn unknown_speed_keeps_a_member_down_where_the_mode_needs_it() {
    let mut sim = Sim::new(mii(100, 0, 0), MonitorStyle::LoadBalance, 1);
    sim.mon.set_needs_speed_duplex(true);
    sim.run_until(ms(50));
    sim.mon.sample_carrier(0, false).unwrap();
    sim.run_until(ms(150));
    sim.mon.set_speed_duplex_known(0, false).unwrap();
    sim.mon.sample_carrier(0, true).unwrap();
    sim.run_until(ms(450));
    assert_eq!(sim.link_events(0), [(ms(100), Down)]);
    assert_eq!(sim.mon.counters().speed_duplex_unknown, 3);
    sim.mon.set_speed_duplex_known(0, true).unwrap();
    sim.run_until(ms(500));
    assert_eq!(sim.link_events(0), [(ms(100), Down), (ms(500), Up)]);
}

#[test]
fn coming_up_asks_for_selection_only_as_linux_does() {
    // Not primary, same prio, an active member: no selection.
    let mut sim = Sim::new(mii(100, 0, 0), MonitorStyle::ActiveBackup, 2);
    sim.run_until(ms(50));
    sim.mon.sample_carrier(1, false).unwrap();
    sim.run_until(ms(150));
    sim.mon.sample_carrier(1, true).unwrap();
    sim.events.clear();
    sim.run_until(ms(250));
    assert_eq!(sim.link_events(1), [(ms(200), Up)]);
    assert!(
        !sim.events
            .iter()
            .any(|e| matches!(e, Event::SelectActive { .. }))
    );

    for (primary, prio) in [(Some(1), 0), (None, 5)] {
        let mut sim = Sim::new(mii(100, 0, 0), MonitorStyle::ActiveBackup, 2);
        sim.auto_select = false;
        sim.mon.set_active_member(ms(0), Some(0)).unwrap();
        sim.mon.set_primary(primary).unwrap();
        sim.mon.set_member_prio(1, prio).unwrap();
        sim.run_until(ms(50));
        sim.mon.sample_carrier(1, false).unwrap();
        sim.run_until(ms(150));
        sim.mon.sample_carrier(1, true).unwrap();
        sim.events.clear();
        sim.run_until(ms(250));
        assert!(
            sim.events.contains(&Event::SelectActive { at: ms(200) }),
            "{primary:?} {prio}"
        );
    }
}

#[test]
fn member_added_without_carrier_starts_down() {
    let mut sim = Sim::new(mii(100, 200, 0), MonitorStyle::ActiveBackup, 1);
    sim.mon
        .add_member(ms(30), 1, common::BOND_MAC, false)
        .unwrap();
    assert_eq!(sim.state(1), Down);
    assert_eq!(sim.mon.mii_status(1), Some("down"));
    sim.run_until(ms(350));
    sim.mon.sample_carrier(1, true).unwrap();
    sim.run_until(ms(700));
    assert_eq!(sim.link_events(1), [(ms(400), Back), (ms(600), Up)]);
    assert_eq!(sim.mon.mii_status(1), Some("up"));
    assert!(
        sim.mon
            .add_member(ms(700), 1, common::BOND_MAC, true)
            .is_err()
    );
    assert!(sim.mon.handle_carrier(ms(700), 7, true).is_err());
}

#[test]
fn no_monitor_keeps_members_up() {
    let mut sim = Sim::new(MonitorOptions::default(), MonitorStyle::ActiveBackup, 1);
    assert_eq!(sim.mon.poll_timeout(), None);
    sim.mon.handle_carrier(ms(10), 0, false).unwrap();
    sim.run_until(ms(1000));
    assert_eq!(sim.state(0), Up);
    assert!(sim.link_events(0).is_empty());
}

#[test]
fn spurious_timeouts_do_nothing() {
    let mut sim = sampled();
    sim.events.clear();
    let next = sim.mon.poll_timeout().unwrap();
    assert_eq!(next, ms(300));
    sim.mon.handle_timeout(ms(260));
    sim.mon.handle_timeout(ms(299));
    assert_eq!(sim.mon.poll_timeout(), Some(ms(300)));
    assert_eq!(sim.mon.poll_event(), None);
}

#[test]
fn proc_lines() {
    let sim = sampled();
    let mut s = String::new();
    sim.mon.write_proc_mii(&mut s).unwrap();
    assert_eq!(
        s,
        "MII Polling Interval (ms): 100\nUp Delay (ms): 200\nDown Delay (ms): 300\n"
    );
    let mut a = String::new();
    sim.mon.write_proc_arp(&mut a).unwrap();
    assert_eq!(a, "", "no ARP section without arp_interval");
    assert_eq!(Back.to_string(), "going back");
    assert_eq!(Fail.to_string(), "going down");
    assert_eq!(
        [Up.value(), Fail.value(), Down.value(), Back.value()],
        [0, 1, 2, 3]
    );
}

/// Every delay value lands on the run Linux counts to.
#[test]
fn each_delay_value_changes_the_outcome() {
    for miimon in [50u64, 100, 200] {
        for downdelay in [0u64, 1, 2, 5].map(|k| k * miimon) {
            for updelay in [0u64, 1, 3].map(|k| k * miimon) {
                let mut o = mii(miimon as u32, updelay as u32, downdelay as u32);
                let w = o
                    .set("downdelay", &(downdelay + miimon / 2).to_string())
                    .unwrap();
                // Rounded down to the same multiple, with a warning.
                assert_eq!((o.downdelay() as u64, w.len()), (downdelay, 1));
                let mut sim = Sim::new(o, MonitorStyle::ActiveBackup, 2);
                let t0 = 20 * miimon;
                sim.run_until(ms(t0 + 1));
                sim.mon.sample_carrier(0, false).unwrap();
                sim.run_until(ms(t0 + 20 * miimon + 1));
                sim.mon.sample_carrier(0, true).unwrap();
                sim.run_until(ms(t0 + 40 * miimon));
                let seen_down = t0 + miimon;
                let seen_up = t0 + 21 * miimon;
                let mut want = Vec::new();
                if downdelay > 0 {
                    want.push((ms(seen_down), Fail));
                }
                want.push((ms(seen_down + downdelay), Down));
                if updelay > 0 {
                    want.push((ms(seen_up), Back));
                }
                want.push((ms(seen_up + updelay), Up));
                // Member 0 started up (no updelay skip needed: it was first with no active).
                let events: Vec<_> = sim
                    .link_events(0)
                    .into_iter()
                    .filter(|(t, _)| *t > ms(t0))
                    .collect();
                assert_eq!(
                    events, want,
                    "miimon {miimon} updelay {updelay} downdelay {downdelay}"
                );
            }
        }
    }
}

#[test]
fn delay_intervals_count_down_the_updelay() {
    let mut sim = Sim::new(mii(100, 300, 0), MonitorStyle::ActiveBackup, 2);
    sim.run_until(ms(50));
    // Member 1 was added with carrier and updelay 3: going back with 3 runs to wait; the run
    // at 0 took one.
    assert_eq!(sim.mon.link_state(1), Some(Back));
    assert_eq!(sim.mon.delay_intervals(1), Some(2));
    sim.run_until(ms(150));
    assert_eq!(sim.mon.delay_intervals(1), Some(1));
    assert_eq!(sim.mon.delay_intervals(7), None);
}
