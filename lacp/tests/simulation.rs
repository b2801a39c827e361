//! Deterministic simulation: two (or more) LACP systems over simulated links with delay,
//! loss and cuts, in virtual time.

mod common;

use std::time::Duration;

use common::*;
use lacp::wire::{Frame, Lacpdu, MarkerKind, MarkerPdu, Pdu};
use lacp::{
    AdSelect, ChurnState, Config, CoupledControl, Event, LacpActive, LacpRate, Link, MuxState,
    PortState, RxState,
};

fn cfg(rate: LacpRate) -> Config {
    Config {
        lacp_rate: rate,
        ..Config::default()
    }
}

/// Two systems of `n` ports, port i cabled to port i.
fn pair(seed: u64, n: usize, rate_a: LacpRate, rate_b: LacpRate) -> Net {
    let mut net = Net::new(seed);
    let a = net.add_system(cfg(rate_a), n);
    let b = net.add_system(cfg(rate_b), n);
    for p in 0..n {
        net.connect((a, p), (b, p));
    }
    net
}

fn ports(n: usize) -> Vec<usize> {
    (0..n).collect()
}

fn aggregate(seed: u64, n: usize, rate: LacpRate, loss_ppm: u32) -> (Net, Duration) {
    let mut net = pair(seed, n, rate, rate);
    for c in &mut net.cables {
        c.loss_ppm = loss_ppm;
        c.delay = ms(1 + seed % 3);
    }
    net.all_up(10_000);
    let all = ports(n);
    let t = net.drive(secs(120), "all ports distributing on both sides", |net| {
        net.all_distributing(0, &all) && net.all_distributing(1, &all)
    });
    // Let the last LACPDUs (carrying the partners' new state) arrive.
    net.run_for(if loss_ppm > 0 { secs(3) } else { ms(50) });
    // One aggregator holds every port on each side, with the right partner.
    for s in 0..2 {
        let sys = &net.systems[s];
        let agg = sys.active_aggregator().expect("active aggregator");
        assert_eq!(agg.num_ports, n, "system {s}");
        assert_eq!(agg.partner_system, net.systems[1 - s].system_mac());
        assert!(!agg.is_individual);
        assert!(sys.carrier());
        for p in 0..n {
            let st = sys.port(p).unwrap();
            assert_eq!(st.aggregator_id, Some(agg.id));
            assert_eq!(st.mux_state, MuxState::CollectingDistributing);
            assert_eq!(st.rx_state, RxState::Current);
            let bits = PortState::SYNCHRONIZATION | PortState::COLLECTING | PortState::DISTRIBUTING;
            assert!(st.actor.state.contains(bits) && st.partner.state.contains(bits));
        }
    }
    (net, t)
}

#[test]
fn aggregates_2_and_4_ports_fast_and_slow() {
    for (n, rate) in [
        (2, LacpRate::Fast),
        (4, LacpRate::Fast),
        (2, LacpRate::Slow),
        (4, LacpRate::Slow),
    ] {
        let (net, t) = aggregate(7, n, rate, 0);
        println!("time-to-distributing: {n} ports, lacp_rate={rate}, 1 ms links, no loss: {t:?}");
        // 2 s wait_while plus a few link delays.
        assert!(t <= ms(2100), "{t:?}");
        for s in 0..2 {
            for p in 0..n {
                assert_at_most_3_per_second(
                    &net.lacpdus_sent(s, p, Duration::ZERO, net.now),
                    "startup",
                );
            }
        }
    }
}

#[test]
fn aggregates_over_lossy_links_for_many_seeds() {
    let mut worst = Duration::ZERO;
    for seed in 1..=20 {
        let (_, t) = aggregate(seed, 4, LacpRate::Fast, 200_000);
        worst = worst.max(t);
    }
    println!("time-to-distributing: 4 ports, fast, 20% loss each way, 20 seeds: worst {worst:?}");
}

#[test]
fn steady_state_sends_exactly_on_the_period() {
    for (rate, period) in [(LacpRate::Fast, secs(1)), (LacpRate::Slow, secs(30))] {
        let (mut net, _) = aggregate(3, 2, rate, 0);
        let from = net.now + secs(5);
        net.run_for(secs(200));
        let sent = net.lacpdus_sent(0, 0, from, net.now);
        assert!(sent.len() >= 5);
        for w in sent.windows(2) {
            assert_eq!(
                w[1] - w[0],
                period,
                "{rate}: no jitter between periodic LACPDUs"
            );
        }
    }
}

#[test]
fn cut_link_leaves_within_the_timeout_and_rejoins_after_repair() {
    let (mut net, _) = aggregate(11, 4, LacpRate::Fast, 0);
    net.run_for(secs(5));
    let cut_at = net.now;
    net.cables[0].cut = true;
    let left = net.drive(secs(10), "port 0 leaves on both sides", |net| {
        !net.distributing(0, 0) && !net.distributing(1, 0)
    });
    println!("cut (no link event), fast: port left after {left:?}");
    assert!(left <= secs(3) + ms(1), "{left:?}");
    assert!(net.all_distributing(0, &[1, 2, 3]) && net.all_distributing(1, &[1, 2, 3]));
    assert_eq!(net.systems[0].port(0).unwrap().rx_state, RxState::Expired);
    net.run_for(secs(10));
    let st = net.systems[0].port(0).unwrap();
    assert_eq!(st.rx_state, RxState::Defaulted);
    assert_ne!(
        st.aggregator_id,
        net.systems[0].active_aggregator().map(|a| a.id)
    );
    assert!(net.now - cut_at > secs(6));
    net.cables[0].cut = false;
    let back = net.drive(secs(10), "port 0 rejoins", |net| {
        net.all_distributing(0, &ports(4)) && net.all_distributing(1, &ports(4))
    });
    println!("repair: port rejoined after {back:?}");
    assert!(back <= secs(4), "{back:?}");
    assert_eq!(net.systems[0].active_aggregator().unwrap().num_ports, 4);

    // Link down (carrier lost at both ends): out at once, back after link up.
    net.set_link(1, Link::down());
    assert!(!net.distributing(0, 1) && !net.distributing(1, 1));
    assert_eq!(net.systems[0].active_aggregator().unwrap().num_ports, 3);
    net.run_for(secs(2));
    net.set_link(1, Link::up(10_000));
    let back = net.drive(secs(10), "port 1 back after link up", |net| {
        net.all_distributing(0, &ports(4)) && net.all_distributing(1, &ports(4))
    });
    println!("link down/up: port rejoined {back:?} after link up");
}

#[test]
fn silent_partner_expires_after_current_while_then_defaults() {
    for (rate, timeout) in [(LacpRate::Fast, secs(3)), (LacpRate::Slow, secs(90))] {
        let (mut net, _) = aggregate(5, 2, rate, 0);
        net.run_for(secs(40));
        // The partner falls silent towards us on port 0.
        net.cables[0].mute_b = true;
        let last_rx = net
            .sent
            .iter()
            .rev()
            .find(|s| s.sys == 1 && s.port == 0)
            .map(|s| s.at)
            .unwrap()
            + net.cables[0].delay;
        net.run_until(last_rx + timeout - ms(1));
        assert_eq!(
            net.systems[0].port(0).unwrap().rx_state,
            RxState::Current,
            "{rate}"
        );
        assert!(net.distributing(0, 0));
        net.run_until(last_rx + timeout);
        let st = net.systems[0].port(0).unwrap();
        assert_eq!(
            st.rx_state,
            RxState::Expired,
            "{rate}: expired exactly at current_while"
        );
        assert!(st.actor.state.contains(PortState::EXPIRED));
        assert!(!net.distributing(0, 0), "out of the aggregate once expired");
        net.run_until(last_rx + timeout + secs(3) - ms(1));
        assert_eq!(net.systems[0].port(0).unwrap().rx_state, RxState::Expired);
        net.run_until(last_rx + timeout + secs(3));
        let st = net.systems[0].port(0).unwrap();
        assert_eq!(
            st.rx_state,
            RxState::Defaulted,
            "{rate}: defaulted 3 s later"
        );
        assert!(st.actor.state.contains(PortState::DEFAULTED));
        assert!(st.partner.system.is_zero());
        assert!(net.distributing(0, 1), "the other port carries on");
    }
}

#[test]
fn different_partner_keys_form_separate_aggregators_and_churn_is_counted() {
    let mut net = Net::new(21);
    let a = net.add_system(cfg(LacpRate::Fast), 2);
    // Two partner bonds on one partner system (same MAC), with different user keys.
    let mut c1 = cfg(LacpRate::Fast);
    c1.ad_user_port_key = 1;
    let mut c2 = cfg(LacpRate::Fast);
    c2.ad_user_port_key = 2;
    let b1 = net.add_system(c1, 1);
    let b2 = net.add_system(c2, 1);
    let shared = lacp::MacAddr([0x02, 0, 0, 0, 0xbe, 0xef]);
    net.systems[b1].set_bond_mac(net.now, shared);
    net.systems[b2].set_bond_mac(net.now, shared);
    net.connect((a, 0), (b1, 0));
    net.connect((a, 1), (b2, 0));
    net.all_up(10_000);
    net.drive(secs(10), "one port distributing", |net| {
        net.distributing(a, 0) || net.distributing(a, 1)
    });
    net.run_for(secs(5));
    let s = &net.systems[a];
    let (p0, p1) = (s.port(0).unwrap(), s.port(1).unwrap());
    assert_ne!(
        p0.aggregator_id, p1.aggregator_id,
        "different partner keys: separate aggregators"
    );
    assert_eq!(p0.partner.key >> 6, 1);
    assert_eq!(p1.partner.key >> 6, 2);
    assert_eq!(s.aggregators().count(), 2);
    assert_eq!(s.aggregators().filter(|a| a.is_active).count(), 1);
    // Exactly one port carries traffic; the other is ATTACHED and out of sync.
    assert!(net.distributing(a, 0) ^ net.distributing(a, 1));
    let idle = if net.distributing(a, 0) { 1 } else { 0 };
    let idle_st = net.systems[a].port(idle).unwrap();
    assert_eq!(idle_st.mux_state, MuxState::Attached);
    assert!(!idle_st.actor.state.contains(PortState::SYNCHRONIZATION));

    // 60 s out of sync: actor churn on our idle port, partner churn on the far end.
    net.run_for(secs(70));
    let idle_st = net.systems[a].port(idle).unwrap();
    assert_eq!(idle_st.actor_churn_state, ChurnState::Churned);
    assert_eq!(idle_st.actor_churn_count, 1);
    // Our partner on that link is in its active aggregator, so in sync: no partner churn here.
    assert_eq!(idle_st.partner_churn_state, ChurnState::None);
    let busy_st = net.systems[a].port(1 - idle).unwrap();
    assert_eq!(busy_st.actor_churn_state, ChurnState::None);
    assert_eq!(busy_st.actor_churn_count, 0);
    assert!(
        net.events
            .iter()
            .any(|&(_, s, e)| s == a && e == Event::ActorChurn { port: idle })
    );
    let far = if idle == 0 { b1 } else { b2 };
    let far_st = net.systems[far].port(0).unwrap();
    assert_eq!(far_st.partner_churn_state, ChurnState::Churned);
    assert_eq!(far_st.partner_churn_count, 1);
    println!("churn: detected 60 s after the port fell out of sync, counts actor=1 partner=1");
}

#[test]
fn non_aggregatable_partner_makes_individual_links() {
    let mut net = pair(31, 2, LacpRate::Fast, LacpRate::Fast);
    for c in &mut net.cables {
        c.mangle_b = Some(|pdu: &mut Lacpdu| pdu.actor.state.remove(PortState::AGGREGATION));
    }
    net.all_up(10_000);
    net.drive(secs(10), "an individual link distributing", |net| {
        net.distributing(0, 0) || net.distributing(0, 1)
    });
    net.run_for(secs(5));
    let s = &net.systems[0];
    let (p0, p1) = (s.port(0).unwrap(), s.port(1).unwrap());
    assert!(p0.individual && p1.individual);
    assert_ne!(
        p0.aggregator_id, p1.aggregator_id,
        "individual links never share an aggregator"
    );
    let active = s.active_aggregator().unwrap();
    assert!(active.is_individual);
    assert_eq!(active.num_ports, 1);
    assert!(net.distributing(0, 0) ^ net.distributing(0, 1));
}

#[test]
fn loopback_is_detected_and_never_aggregates() {
    let mut net = Net::new(41);
    let a = net.add_system(cfg(LacpRate::Fast), 2);
    net.connect((a, 0), (a, 1));
    net.all_up(10_000);
    net.run_for(secs(30));
    let s = &net.systems[a];
    assert!(s.counters(0).unwrap().loopback_rx > 0);
    assert!(s.counters(1).unwrap().loopback_rx > 0);
    assert!(!s.lacpdu_ever_received());
    assert!(
        net.events
            .iter()
            .any(|&(_, _, e)| e == Event::Loopback { port: 0 })
    );
    for p in 0..2 {
        let st = s.port(p).unwrap();
        assert!(
            !st.actor
                .state
                .intersects(PortState::COLLECTING | PortState::DISTRIBUTING)
        );
        assert_eq!(st.rx_state, RxState::Defaulted);
        assert!(st.partner.system.is_zero());
    }
}

#[test]
fn passive_passive_never_aggregates_and_passive_active_does() {
    let passive = Config {
        lacp_active: LacpActive::Off,
        lacp_rate: LacpRate::Fast,
        ..Config::default()
    };
    let mut net = Net::new(51);
    let a = net.add_system(passive, 2);
    let b = net.add_system(passive, 2);
    net.connect((a, 0), (b, 0));
    net.connect((a, 1), (b, 1));
    net.all_up(10_000);
    net.run_for(secs(200));
    assert!(net.sent.is_empty(), "two passive ends never send");
    for s in [a, b] {
        assert!(!net.systems[s].lacpdu_ever_received());
        for p in 0..2 {
            let st = net.systems[s].port(p).unwrap();
            assert!(
                !st.actor
                    .state
                    .intersects(PortState::COLLECTING | PortState::DISTRIBUTING)
            );
            assert!(!st.partner.state.contains(PortState::SYNCHRONIZATION));
            assert!(
                net.systems[s]
                    .aggregators()
                    .all(|a| a.partner_system.is_zero())
            );
        }
    }

    let mut net = Net::new(52);
    let a = net.add_system(passive, 2);
    let b = net.add_system(cfg(LacpRate::Fast), 2);
    net.connect((a, 0), (b, 0));
    net.connect((a, 1), (b, 1));
    net.all_up(10_000);
    let t = net.drive(secs(20), "passive with active partner aggregates", |net| {
        net.all_distributing(0, &[0, 1]) && net.all_distributing(1, &[0, 1])
    });
    println!("time-to-distributing: passive side with an active partner: {t:?}");
    assert_eq!(net.systems[a].active_aggregator().unwrap().num_ports, 2);
    // The passive side answers at the rate the active partner asks for.
    let from = net.now;
    net.run_for(secs(10));
    let n = net.lacpdus_sent(a, 0, from, net.now).len();
    assert!((9..=11).contains(&n), "{n}");
}

/// A has ports 0 to partner X (1 port) and ports 1..=3 to partner Y (3 ports, up later).
fn two_partners(select: AdSelect, min_links: u32, x_speed: u32) -> Net {
    let mut net = Net::new(61);
    let a = net.add_system(
        Config {
            ad_select: select,
            min_links,
            lacp_rate: LacpRate::Fast,
            ..Config::default()
        },
        4,
    );
    let x = net.add_system(cfg(LacpRate::Fast), 1);
    let y = net.add_system(cfg(LacpRate::Fast), 3);
    net.connect((a, 0), (x, 0));
    for p in 0..3 {
        net.connect((a, p + 1), (y, p));
    }
    net.set_link(0, Link::up(x_speed));
    net.drive(secs(10), "port 0 distributing", |net| {
        net.distributing(0, 0)
    });
    net.run_for(secs(5));
    for c in 1..4 {
        net.set_link(c, Link::up(10_000));
    }
    net.run_for(secs(15));
    net
}

#[test]
fn ad_select_and_min_links_behave_as_linux_documents() {
    // stable: the first active aggregator stays while it has a partner and a port up.
    let net = two_partners(AdSelect::Stable, 0, 10_000);
    let s = &net.systems[0];
    assert_eq!(s.active_aggregator().unwrap().num_ports, 1);
    assert!(net.distributing(0, 0) && !net.distributing(0, 1));
    assert!(s.carrier());

    // count: the aggregator with more ports takes over.
    let net = two_partners(AdSelect::Count, 0, 10_000);
    let s = &net.systems[0];
    assert_eq!(s.active_aggregator().unwrap().num_ports, 3);
    assert!(!net.distributing(0, 0) && net.all_distributing(0, &[1, 2, 3]));
    assert!(
        net.events
            .iter()
            .filter(|(_, s, e)| *s == 0 && matches!(e, Event::ActiveAggregator { .. }))
            .count()
            >= 2
    );

    // bandwidth: 1 x 100G beats 3 x 10G; and 3 x 10G beats 1 x 10G.
    let net = two_partners(AdSelect::Bandwidth, 0, 100_000);
    assert_eq!(
        net.systems[0].active_aggregator().unwrap().bandwidth_mbps,
        100_000
    );
    assert!(net.distributing(0, 0));
    let net = two_partners(AdSelect::Bandwidth, 0, 10_000);
    assert_eq!(
        net.systems[0].active_aggregator().unwrap().bandwidth_mbps,
        30_000
    );

    // min_links: stable keeps a 1-port aggregator, below min_links=2: no carrier.
    let mut net = two_partners(AdSelect::Stable, 2, 10_000);
    assert!(!net.systems[0].carrier());
    // stable reselects once the active aggregator loses its last port.
    net.set_link(0, Link::down());
    net.run_for(secs(5));
    let s = &net.systems[0];
    assert_eq!(s.active_aggregator().unwrap().num_ports, 3);
    assert!(s.carrier());
    assert!(net.all_distributing(0, &[1, 2, 3]));
    assert!(
        net.events
            .iter()
            .any(|&(_, s, e)| s == 0 && e == Event::Carrier { up: true })
    );
    // count with min_links=3: carrier follows the up ports of the active aggregator.
    let mut net = two_partners(AdSelect::Count, 3, 10_000);
    assert!(net.systems[0].carrier());
    net.set_link(3, Link::down());
    net.run_for(ms(10));
    // Count now ties 2 vs 1 ports: the 2-port aggregator stays, below min_links.
    assert_eq!(net.systems[0].active_aggregator().unwrap().num_ports, 2);
    assert!(!net.systems[0].carrier());
}

#[test]
fn lacpdu_flood_is_absorbed_without_extra_transmissions() {
    let (mut net, _) = aggregate(71, 2, LacpRate::Fast, 0);
    net.run_for(secs(3));
    // Take a real PDU the partner sent and replay it, alternating its contents so every
    // copy asks for a reply (the partner claims to see different actor keys).
    let src_frame = net
        .sent
        .iter()
        .rev()
        .find(|s| s.sys == 1 && s.port == 0)
        .unwrap()
        .frame;
    let (src, Pdu::Lacpdu(pdu)) = Pdu::parse_frame(src_frame.as_bytes()).unwrap() else {
        panic!()
    };
    let start = net.now;
    for i in 0..10_000u32 {
        let mut p = pdu;
        p.partner.key = if i % 2 == 0 { 0x1234 } else { pdu.partner.key };
        let f = Frame::new(src, &Pdu::Lacpdu(p));
        net.run_until(start + Duration::from_micros(u64::from(i) * 100));
        let _ = net.systems[0].handle_rx(net.now, 0, f.as_bytes()).unwrap();
        net.flush();
    }
    net.run_for(secs(2));
    let sent = net.lacpdus_sent(0, 0, start, start + secs(1));
    println!(
        "flood of 10000 LACPDUs in 1 s: {} LACPDUs sent in reply",
        sent.len()
    );
    assert!(sent.len() <= 3, "{}", sent.len());
    assert_at_most_3_per_second(&net.lacpdus_sent(0, 0, start - secs(3), net.now), "flood");
    assert!(net.systems[0].counters(0).unwrap().lacpdu_rx >= 10_000);

    // Marker flood: at most 5 responses a second.
    let info = MarkerPdu {
        version: 1,
        kind: MarkerKind::Information,
        requester_port: 1,
        requester_system: src,
        transaction_id: 7,
    };
    let f = Frame::new(src, &Pdu::Marker(info));
    let start = net.now;
    let before = net.sent.len();
    for i in 0..10_000u64 {
        net.run_until(start + Duration::from_micros(i * 100));
        let _ = net.systems[0].handle_rx(net.now, 1, f.as_bytes()).unwrap();
        net.flush();
    }
    let responses: Vec<_> = net.sent[before..]
        .iter()
        .filter_map(|s| match Pdu::parse_frame(s.frame.as_bytes()) {
            Ok((_, Pdu::Marker(m))) => Some((s.at, m)),
            _ => None,
        })
        .collect();
    println!(
        "flood of 10000 Marker Information PDUs in 1 s: {} responses",
        responses.len()
    );
    assert_eq!(responses.len(), 5);
    assert!(responses.iter().all(|(_, m)| *m == info.response()));
    let c = net.systems[0].counters(1).unwrap();
    assert_eq!(c.marker_rx, 10_000);
    assert_eq!(c.marker_resp_tx, 5);
    assert_eq!(c.marker_resp_rate_limited, 9_995);
}

#[test]
fn independent_control_collects_then_distributes() {
    let mut net = Net::new(81);
    let c = Config {
        coupled_control: CoupledControl::Off,
        lacp_rate: LacpRate::Fast,
        ..Config::default()
    };
    let a = net.add_system(c, 2);
    let b = net.add_system(c, 2);
    net.connect((a, 0), (b, 0));
    net.connect((a, 1), (b, 1));
    net.all_up(1_000);
    let t = net.drive(secs(10), "distributing", |net| {
        net.all_distributing(0, &[0, 1]) && net.all_distributing(1, &[0, 1])
    });
    println!("time-to-distributing: coupled_control=off, 2 ports: {t:?}");
    assert_eq!(
        net.systems[a].port(0).unwrap().mux_state,
        MuxState::Distributing
    );
    // Collecting came before distributing.
    let ev: Vec<_> = net
        .events
        .iter()
        .filter(|(_, s, _)| *s == a)
        .map(|e| e.2)
        .collect();
    let c = ev.iter().position(|e| {
        *e == Event::PortCollecting {
            port: 0,
            collecting: true,
        }
    });
    let d = ev.iter().position(|e| {
        *e == Event::PortDistributing {
            port: 0,
            distributing: true,
        }
    });
    assert!(c.unwrap() < d.unwrap());
}

#[test]
fn half_duplex_disables_lacp_and_speed_sets_the_key() {
    let mut net = pair(91, 2, LacpRate::Fast, LacpRate::Fast);
    net.all_up(10_000);
    net.drive(secs(10), "aggregated", |net| {
        net.all_distributing(0, &[0, 1])
    });
    let st = net.systems[0].port(0).unwrap();
    assert_eq!(st.actor.key, (7 << 1) | 1, "10G full duplex: Linux key 15");
    let now = net.now;
    net.systems[0]
        .handle_link(
            now,
            1,
            Link {
                up: true,
                speed_mbps: Some(10_000),
                duplex: lacp::Duplex::Half,
            },
        )
        .unwrap();
    net.flush();
    let st = net.systems[0].port(1).unwrap();
    assert!(!st.lacp_enabled);
    assert_eq!(st.rx_state, RxState::LacpDisabled);
    assert_eq!(st.actor.key, 7 << 1);
    let before = net
        .lacpdus_sent(0, 1, Duration::ZERO, net.now + ms(1))
        .len();
    net.run_for(secs(10));
    assert_eq!(
        net.lacpdus_sent(0, 1, Duration::ZERO, net.now + ms(1))
            .len(),
        before,
        "no LACPDU when disabled"
    );
    assert!(!net.distributing(0, 1));
    assert!(net.distributing(0, 0));
}

#[test]
fn no_partner_falls_back_like_linux_after_defaulted() {
    // A bond whose partner never speaks: Linux passes traffic on the active aggregator's
    // ports anyway; here once the ports are DEFAULTED (3 s of silence).
    let mut net = Net::new(95);
    let a = net.add_system(cfg(LacpRate::Fast), 2);
    let b = net.add_system(
        Config {
            lacp_active: LacpActive::Off,
            ..cfg(LacpRate::Fast)
        },
        2,
    );
    net.connect((a, 0), (b, 0));
    net.connect((a, 1), (b, 1));
    net.cables[0].mute_b = true;
    net.cables[1].mute_b = true;
    net.all_up(10_000);
    net.run_for(ms(2999));
    assert!(!net.distributing(a, 0) && !net.distributing(a, 1));
    net.run_for(ms(1));
    assert!(net.distributing(a, 0) ^ net.distributing(a, 1));
    assert!(net.systems[a].carrier());
    assert!(!net.systems[a].lacpdu_ever_received());
}

#[test]
fn remove_port_sends_a_farewell_and_keeps_the_others() {
    let (mut net, _) = aggregate(99, 3, LacpRate::Fast, 0);
    let agg_before = net.systems[0].active_aggregator().unwrap().id;
    let now = net.now;
    // Port 0 owns aggregator 1, the active one: its partners must move, not leave.
    assert_eq!(agg_before, 1);
    let owner = (0..3)
        .find(|&p| net.systems[0].port(p).unwrap().aggregator_id == Some(agg_before))
        .unwrap();
    let _ = owner;
    net.systems[0].remove_port(now, 0).unwrap();
    let t = net.systems[0].poll_transmit(now).expect("farewell LACPDU");
    assert_eq!(t.port, 0);
    let (_, Pdu::Lacpdu(p)) = Pdu::parse_frame(t.frame.as_bytes()).unwrap() else {
        panic!()
    };
    assert!(!p.actor.state.contains(PortState::AGGREGATION));
    net.flush();
    assert!(net.all_distributing(0, &[1, 2]), "the others did not leave");
    assert_eq!(net.systems[0].active_aggregator().unwrap().num_ports, 2);
    assert!(net.systems[0].port(0).is_none());
    assert!(net.systems[0].handle_rx(now, 0, &[]).is_err());
}

#[test]
fn initial_selection_wait_like_linux_is_available() {
    let c = Config {
        initial_selection_wait: secs(8),
        ..cfg(LacpRate::Fast)
    };
    let mut net = Net::new(3);
    let a = net.add_system(c, 2);
    let b = net.add_system(c, 2);
    net.connect((a, 0), (b, 0));
    net.connect((a, 1), (b, 1));
    net.all_up(10_000);
    let t = net.drive(secs(20), "distributing", |net| {
        net.all_distributing(0, &[0, 1]) && net.all_distributing(1, &[0, 1])
    });
    println!("time-to-distributing with Linux's 8 s initial wait: {t:?}");
    assert!(t >= secs(8));
}

#[test]
fn timers_are_exact_and_spurious_timeouts_do_nothing() {
    let (mut net, _) = aggregate(13, 2, LacpRate::Fast, 0);
    let s = &mut net.systems[0];
    let next = s.poll_timeout().unwrap();
    let before = format!("{:?}", s.port(0));
    // Before the deadline: nothing changes, nothing to send.
    s.handle_timeout(next - Duration::from_nanos(1));
    assert!(s.poll_transmit(next - Duration::from_nanos(1)).is_none());
    assert_eq!(before, format!("{:?}", s.port(0)));
    assert_eq!(s.poll_timeout(), Some(next));
}

fn check_invariants(s: &lacp::System) {
    let actives: Vec<_> = s.aggregators().filter(|a| a.is_active).collect();
    assert!(actives.len() <= 1, "more than one active aggregator");
    let active = s.active_aggregator();
    for p in s.ports() {
        let st = s.port(p).unwrap();
        if let Some(id) = st.aggregator_id {
            assert!(
                s.aggregator_ports(id).any(|q| q == p),
                "port {p} not listed in its aggregator"
            );
        }
        if st.distributing || st.collecting {
            assert_eq!(
                st.aggregator_id,
                active.map(|a| a.id),
                "port {p} forwards outside the active aggregator"
            );
            assert!(st.link.up);
        }
        if st.actor.state.contains(PortState::DISTRIBUTING) {
            assert!(
                st.actor
                    .state
                    .contains(PortState::SYNCHRONIZATION | PortState::COLLECTING)
            );
        }
    }
    let carrier = active.is_some_and(|a| a.num_ports >= s.config().min_links as usize);
    assert_eq!(s.carrier(), carrier);
}

#[test]
fn random_cuts_loss_and_flaps_then_heal_converges() {
    let mut worst = Duration::ZERO;
    for seed in 1..=30u64 {
        let n = 2 + (seed % 3) as usize;
        let rate = if seed % 2 == 0 {
            LacpRate::Fast
        } else {
            LacpRate::Slow
        };
        let mut net = pair(seed, n, rate, LacpRate::Fast);
        net.all_up(10_000);
        let mut rng = Rng::new(seed * 7919);
        for _ in 0..40 {
            let c = (rng.next_u64() % n as u64) as usize;
            match rng.next_u64() % 5 {
                0 => net.cables[c].cut = !net.cables[c].cut,
                1 => net.cables[c].loss_ppm = (rng.next_u64() % 500_000) as u32,
                2 => net.set_link(c, Link::down()),
                3 => net.set_link(c, Link::up(10_000)),
                _ => net.cables[c].mute_b = !net.cables[c].mute_b,
            }
            net.run_for(ms(rng.next_u64() % 5_000));
            for s in &net.systems {
                check_invariants(s);
            }
        }
        // Heal everything: all ports must aggregate again.
        for c in 0..n {
            net.cables[c].cut = false;
            net.cables[c].mute_b = false;
            net.cables[c].loss_ppm = 0;
            net.set_link(c, Link::up(10_000));
        }
        let all = ports(n);
        let t = net.drive(secs(200), "all ports back after healing", |net| {
            net.all_distributing(0, &all) && net.all_distributing(1, &all)
        });
        assert!(t <= secs(10), "seed {seed}: {t:?}");
        worst = worst.max(t);
        for s in &net.systems {
            check_invariants(s);
            assert_eq!(s.active_aggregator().unwrap().num_ports, n);
        }
    }
    println!(
        "chaos (30 seeds, 40 random cuts/loss/flaps each): worst time back to all distributing after healing: {worst:?}"
    );
}
