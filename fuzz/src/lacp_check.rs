//! Invariants of one `lacp::System`, checked after every step by `lacp_frame` and
//! `lacp_pair`, and a tracker of what its outputs said.

use core::time::Duration;
use lacp::wire::{Frame, Pdu, key};
use lacp::{
    Duplex, Event, LacpActive, LacpRate, MuxState, PeriodicState, PortState, Rx, RxState, System,
    Transmit,
};
use std::collections::{BTreeMap, VecDeque};

/// What the caller learnt from a system's events, and its transmit history.
#[derive(Debug, Default, Clone)]
pub struct Tracker {
    collecting: BTreeMap<usize, bool>,
    distributing: BTreeMap<usize, bool>,
    aggregator: BTreeMap<usize, Option<u16>>,
    active: Option<u16>,
    carrier: bool,
    /// Times of the LACPDUs sent on each port (the last four).
    lacpdu_times: BTreeMap<usize, VecDeque<Duration>>,
    /// LACPDUs sent per port, as counted by the caller.
    pub lacpdus_sent: BTreeMap<usize, u64>,
    /// Marker responses sent per port.
    pub markers_sent: BTreeMap<usize, u64>,
}

impl Tracker {
    /// A port was added (events start from "not collecting, no aggregator").
    pub fn port_added(&mut self, i: usize) {
        self.collecting.insert(i, false);
        self.distributing.insert(i, false);
        self.aggregator.insert(i, None);
        self.lacpdu_times.insert(i, VecDeque::new());
        self.lacpdus_sent.insert(i, 0);
        self.markers_sent.insert(i, 0);
    }

    /// A port was removed.
    pub fn port_removed(&mut self, i: usize) {
        self.collecting.remove(&i);
        self.distributing.remove(&i);
        self.aggregator.remove(&i);
        self.lacpdu_times.remove(&i);
        self.lacpdus_sent.remove(&i);
        self.markers_sent.remove(&i);
    }

    /// Drains the events of `sys`.
    pub fn events(&mut self, sys: &mut System) {
        while let Some(e) = sys.poll_event() {
            match e {
                Event::PortCollecting { port, collecting } => {
                    self.collecting.insert(port, collecting);
                }
                Event::PortDistributing { port, distributing } => {
                    self.distributing.insert(port, distributing);
                }
                Event::PortAggregator { port, aggregator } => {
                    self.aggregator.insert(port, aggregator);
                }
                Event::ActiveAggregator { aggregator } => self.active = aggregator,
                Event::Carrier { up } => self.carrier = up,
                Event::ActorChurn { port }
                | Event::PartnerChurn { port }
                | Event::Loopback { port } => {
                    assert!(sys.port(port).is_some(), "{e:?} for a missing port");
                }
            }
        }
    }

    /// Drains the transmits of `sys` at `now`, checking each, and returns them. `departed`
    /// is a port removed by the last step (its farewell LACPDU may follow).
    pub fn transmits(
        &mut self,
        sys: &mut System,
        now: Duration,
        departed: Option<usize>,
    ) -> Vec<Transmit> {
        let mut out = Vec::new();
        // Bounded: every port sends at most 3 LACPDUs and 5 Marker responses, plus farewells.
        let bound = 64 + 16 * sys.ports().count();
        while let Some(tx) = sys.poll_transmit(now) {
            assert!(out.len() < bound, "poll_transmit does not end");
            check_transmit(sys, &tx, departed);
            if sys.port(tx.port).is_some() {
                match Pdu::parse_frame(tx.frame.as_bytes()) {
                    Ok((_, Pdu::Lacpdu(_))) => {
                        *self.lacpdus_sent.entry(tx.port).or_default() += 1;
                        let times = self.lacpdu_times.entry(tx.port).or_default();
                        times.push_back(now);
                        if times.len() > 3 {
                            let oldest = times.pop_front().unwrap_or_default();
                            // 802.1AX: at most three LACPDUs in any Fast_Periodic_Time.
                            assert!(
                                now >= oldest + lacp::system::FAST_PERIODIC_TIME,
                                "a fourth LACPDU within 1 s on port {}",
                                tx.port
                            );
                        }
                    }
                    Ok((_, Pdu::Marker(_))) => {
                        *self.markers_sent.entry(tx.port).or_default() += 1;
                    }
                    Err(e) => panic!("emitted frame does not parse: {e:?}"),
                }
            }
            out.push(tx);
        }
        out
    }

    /// The system's getters agree with what its events said (when no event was dropped).
    pub fn check(&self, sys: &System) {
        if sys.events_dropped() > 0 {
            return;
        }
        for i in sys.ports() {
            assert_eq!(
                self.collecting.get(&i),
                Some(&sys.is_collecting(i)),
                "port {i}"
            );
            assert_eq!(
                self.distributing.get(&i),
                Some(&sys.is_distributing(i)),
                "port {i}"
            );
            let agg = sys.port(i).and_then(|p| p.aggregator_id);
            assert_eq!(self.aggregator.get(&i), Some(&agg), "port {i} aggregator");
        }
        assert_eq!(self.active, sys.active_aggregator().map(|a| a.id));
        assert_eq!(self.carrier, sys.carrier());
    }
}

fn check_transmit(sys: &System, tx: &Transmit, departed: Option<usize>) {
    let (src, pdu) = Pdu::parse_frame(tx.frame.as_bytes()).expect("own frame parses");
    match sys.port(tx.port) {
        Some(p) => {
            assert_eq!(src, p.perm_mac, "source is the port's MAC");
            // Nothing goes out on a port whose link is down.
            assert!(p.link.up, "transmit on port {} with link down", tx.port);
            if let Pdu::Lacpdu(l) = pdu {
                assert!(p.lacp_enabled, "LACPDU on a port with LACP disabled");
                assert_ne!(p.periodic_state, PeriodicState::NoPeriodic);
                assert_eq!(l.actor, p.actor, "LACPDU actor is the port's");
                assert_eq!(l.partner, p.partner, "LACPDU partner is the port's view");
                assert_eq!(l.version, 1);
            }
        }
        None => {
            // Only the farewell of the port removed by this step.
            assert_eq!(
                Some(tx.port),
                departed,
                "transmit on missing port {}",
                tx.port
            );
            let Pdu::Lacpdu(l) = pdu else {
                panic!("farewell is not a LACPDU")
            };
            assert!(!l.actor.state.intersects(
                PortState::AGGREGATION
                    | PortState::SYNCHRONIZATION
                    | PortState::COLLECTING
                    | PortState::DISTRIBUTING
            ));
        }
    }
    let _ = Frame::new(src, &pdu);
}

/// The invariants of one system at `now`, after an input and its outputs were drained.
pub fn check_system(sys: &System, now: Duration) {
    let config = *sys.config();
    let active = sys.active_aggregator();
    let active_count = sys.aggregators().filter(|a| a.is_active).count();
    assert!(active_count <= 1, "{active_count} active aggregators");
    if let Some(a) = active {
        assert!(a.is_active);
        assert!(a.num_attached > 0, "active aggregator without ports");
    }
    assert_eq!(
        sys.carrier(),
        active.is_some_and(|a| a.num_ports >= config.min_links as usize),
        "carrier"
    );

    let mut total = lacp::PortCounters::default();
    let mut port_numbers = Vec::new();
    for i in sys.ports() {
        let p = sys.port(i).expect("listed port exists");
        assert_eq!(p.index, i);
        port_numbers.push(p.port_number);
        let st = p.actor.state;
        let c = sys.counters(i).expect("counters");
        assert_eq!(c.lacpdu_illegal_rx, c.malformed.total(), "port {i}");
        total += c;

        // Getters agree with each other.
        assert_eq!(p.collecting, sys.is_collecting(i));
        assert_eq!(p.distributing, sys.is_distributing(i));
        assert!(
            !p.distributing || p.collecting,
            "distributing without collecting"
        );
        assert_eq!(p.actor.port, p.port_number);
        assert_eq!(p.actor.system, sys.system_mac());
        assert_eq!(p.actor.system_priority, sys.system_priority());
        let full = p.link.up && p.link.duplex == Duplex::Full;
        assert_eq!(p.lacp_enabled, full, "lacp_enabled vs link");
        let speed = if p.link.up { p.link.speed_mbps } else { None };
        assert_eq!(
            p.actor.key,
            key::encode(config.ad_user_port_key, speed, full),
            "actor key"
        );
        assert_eq!(
            st.contains(PortState::LACP_TIMEOUT),
            config.lacp_rate == LacpRate::Fast
        );
        assert_eq!(
            st.contains(PortState::LACP_ACTIVITY),
            config.lacp_active == LacpActive::On
        );
        assert!(
            !p.selected || p.aggregator_id.is_some(),
            "selected, no aggregator"
        );
        if !p.lacp_enabled {
            assert_eq!(p.periodic_state, PeriodicState::NoPeriodic);
        }
        if !p.link.up {
            assert_eq!(p.rx_state, RxState::PortDisabled, "link down, port {i}");
            assert!(!p.partner.state.contains(PortState::SYNCHRONIZATION));
        }
        match p.rx_state {
            RxState::Defaulted | RxState::LacpDisabled => {
                assert!(st.contains(PortState::DEFAULTED))
            }
            RxState::Current => {
                assert!(!st.intersects(PortState::DEFAULTED | PortState::EXPIRED))
            }
            RxState::Expired => assert!(st.contains(PortState::EXPIRED)),
            RxState::Initialize | RxState::PortDisabled => {}
        }

        // The mux state and the actor's bits say the same thing.
        let mux = p.mux_state;
        let coll_dist = matches!(
            mux,
            MuxState::CollectingDistributing | MuxState::Collecting | MuxState::Distributing
        );
        assert_eq!(st.contains(PortState::COLLECTING), coll_dist, "{mux:?}");
        assert_eq!(
            st.contains(PortState::DISTRIBUTING),
            matches!(
                mux,
                MuxState::CollectingDistributing | MuxState::Distributing
            ),
            "{mux:?}"
        );
        if st.contains(PortState::SYNCHRONIZATION) {
            assert!(coll_dist || mux == MuxState::Attached, "in sync in {mux:?}");
        }
        if coll_dist {
            // The mux collects only with an in-sync partner in the active aggregator.
            assert!(
                p.partner.state.contains(PortState::SYNCHRONIZATION),
                "port {i} {mux:?} with a partner out of sync"
            );
            assert!(p.selected, "port {i} collecting while unselected");
            assert_eq!(p.aggregator_id, active.map(|a| a.id), "port {i}");
        }

        // Never distributing on a port whose partner is not in sync, except the documented
        // no-partner fallback: the active aggregator has no partner at all, the port's link
        // is up and its partner has been silent long enough to be DEFAULTED (or LACP is off).
        if p.distributing || p.collecting {
            let a = active.expect("collecting/distributing without an active aggregator");
            assert_eq!(
                p.aggregator_id,
                Some(a.id),
                "port {i} outside the active aggregator"
            );
            assert!(p.link.up, "port {i} collecting/distributing with link down");
            let lacp_ok = p.partner.state.contains(PortState::SYNCHRONIZATION)
                && if p.distributing {
                    st.contains(PortState::DISTRIBUTING)
                } else {
                    st.contains(PortState::COLLECTING)
                };
            let fallback = a.partner_system.is_zero()
                && matches!(p.rx_state, RxState::Defaulted | RxState::LacpDisabled);
            assert!(
                lacp_ok || fallback,
                "port {i} distributing={} collecting={} without a partner in sync: {p:?}",
                p.distributing,
                p.collecting
            );
        }

        if let Some(id) = p.aggregator_id {
            let a = sys.aggregator(id).expect("the port's aggregator exists");
            assert!(a.num_attached > 0);
            assert!(
                sys.aggregator_ports(id).any(|q| q == i),
                "port {i} not listed"
            );
        }
    }
    port_numbers.sort_unstable();
    let n = port_numbers.len();
    port_numbers.dedup();
    assert_eq!(port_numbers.len(), n, "duplicate port numbers");

    let mut ids = Vec::new();
    for a in sys.aggregators() {
        ids.push(a.id);
        let ports: Vec<usize> = sys.aggregator_ports(a.id).collect();
        assert_eq!(a.num_attached, ports.len());
        assert!(a.num_ports <= a.num_attached);
        for q in ports {
            let p = sys.port(q).expect("aggregator lists a missing port");
            assert_eq!(p.aggregator_id, Some(a.id));
        }
    }
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate aggregator ids");

    assert_eq!(sys.total_counters(), total, "total counters");

    // Timers are never in the past.
    if let Some(t) = sys.poll_timeout() {
        assert!(t >= now, "deadline {t:?} before now {now:?}");
    }
}

/// Handles `frame` on `port` and checks the result and the counters against the frame
/// parser's verdict.
pub fn rx_checked(sys: &mut System, now: Duration, port: usize, frame: &[u8]) -> Rx {
    let before = *sys.counters(port).expect("existing port");
    let rx = sys.handle_rx(now, port, frame).expect("existing port");
    let after = *sys.counters(port).expect("existing port");
    let mut expect = before;
    let parsed = Pdu::parse_frame(frame);
    match parsed {
        Err(lacp::wire::Error::NotSlowProtocols | lacp::wire::Error::WrongDestination) => {
            assert_eq!(rx, Rx::NotSlowProtocols);
        }
        Err(e @ lacp::wire::Error::UnknownSubtype(_)) => {
            assert_eq!(rx, Rx::Dropped(e));
            expect.lacpdu_unknown_rx += 1;
        }
        Err(e @ lacp::wire::Error::UnknownMarkerTlv(_)) => {
            assert_eq!(rx, Rx::Dropped(e));
            expect.marker_unknown_rx += 1;
        }
        Err(e) => {
            assert_eq!(rx, Rx::Dropped(e));
            expect.lacpdu_illegal_rx += 1;
            assert!(expect.malformed.record(e));
        }
        Ok((_, Pdu::Lacpdu(l))) => {
            expect.lacpdu_rx += 1;
            if l.actor.system == sys.system_mac() {
                assert_eq!(rx, Rx::Loopback);
                expect.loopback_rx += 1;
            } else {
                assert_eq!(rx, Rx::Lacpdu);
                assert!(sys.lacpdu_ever_received());
            }
        }
        Ok((_, Pdu::Marker(m))) => {
            assert_eq!(rx, Rx::Marker);
            match m.kind {
                lacp::wire::MarkerKind::Information => {
                    expect.marker_rx += 1;
                    if after.marker_resp_rate_limited == before.marker_resp_rate_limited + 1 {
                        expect.marker_resp_rate_limited += 1;
                    }
                }
                lacp::wire::MarkerKind::Response => expect.marker_resp_rx += 1,
            }
        }
    }
    assert_eq!(after, expect, "counters after {rx:?}");
    rx
}
