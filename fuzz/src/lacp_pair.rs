//! `lacp_pair`: two `lacp::System`s of up to four ports, port `i` of A wired to port `i` of
//! B, driven by an op sequence: frames delivered, dropped, corrupted, cut, reflected or
//! injected on a port; link changes on one end or both; time advances (deadline by
//! deadline); option changes; ports added and removed. After every step both systems are
//! checked ([`crate::lacp_check`]): never distributing on a port whose partner is not in
//! sync (except the documented no-partner fallback), getters, events and counters agree,
//! timers are never in the past, at most three LACPDUs per second per port, and nothing is
//! sent on a port whose link is down.

use crate::input::{Bytes, Encode, encode_rest, op_enum, op_struct};
use crate::lacp_check::{Tracker, check_system, rx_checked};
use arbitrary::Arbitrary;
use core::time::Duration;
use lacp::wire::{Frame, MacAddr, Pdu};
use lacp::{AdSelect, Config, CoupledControl, Duplex, LacpActive, LacpRate, Link, System};
use std::collections::VecDeque;

/// Ports per system.
pub const PORTS: usize = 4;
/// Frames kept on one direction of one wire; older ones are lost.
const WIRE_QUEUE: usize = 8;
/// The longest single time advance, in milliseconds.
const MAX_ADVANCE_MS: u64 = 120_000;

op_enum! {
    /// Which system an op acts on.
    pub enum Side { A, B }
}

op_enum! {
    /// Which end(s) of a wire a link change hits.
    pub enum Ends { A, B, Both }
}

op_struct! {
    /// How one system starts.
    pub struct SideSetup {
        pub fast: bool,
        pub passive: bool,
        pub ad_select: u8,
        pub independent: bool,
        pub min_links: u8,
        pub linux_initial_wait: bool,
    }
}

op_struct! {
    /// The start: ports on each side (1..=4, all added with link up at 10 Gb/s) and each
    /// side's options.
    pub struct Setup {
        pub ports: u8,
        pub a: SideSetup,
        pub b: SideSetup,
    }
}

op_enum! {
    /// One step.
    pub enum Op {
        /// Deliver the oldest frame on the wire of `port` from `from` to the other side.
        Deliver { from: Side, port: u8 },
        /// Deliver every frame on every wire, both ways, until none is left (bounded).
        DeliverAll,
        /// Lose the oldest frame on a wire.
        Drop { from: Side, port: u8 },
        /// Deliver the oldest frame with one byte changed.
        Corrupt { from: Side, port: u8, offset: u8, xor: u8 },
        /// Deliver the oldest frame cut to `len` bytes.
        Truncate { from: Side, port: u8, len: u8 },
        /// Loop the oldest frame back into the sending system on port `to`.
        Reflect { from: Side, port: u8, to: u8 },
        /// Carrier, speed and duplex on one or both ends of a wire.
        Link { ends: Ends, port: u8, up: bool, speed: u8, duplex: u8 },
        /// Advance time by `ms`, handling every deadline on the way.
        Advance { ms: u16 },
        /// Advance to the earliest deadline of either system.
        AdvanceToNext,
        /// Deliver everything and advance deadline by deadline, `rounds` times (bounded).
        Settle { rounds: u8 },
        /// `lacp_rate`.
        SetRate { side: Side, fast: bool },
        /// `lacp_active`.
        SetActive { side: Side, on: bool },
        /// `ad_select` (the value modulo 3).
        SetAdSelect { side: Side, value: u8 },
        /// `coupled_control`.
        SetCoupled { side: Side, on: bool },
        /// `min_links` (0..=4, or a large value).
        SetMinLinks { side: Side, value: u8 },
        /// The bond MAC: one of four, or zero.
        SetBondMac { side: Side, which: u8 },
        /// `ad_actor_sys_prio`.
        SetSysPrio { side: Side, value: u16 },
        /// `ad_user_port_key`.
        SetUserKey { side: Side, value: u16 },
        /// `ad_actor_system`: zero (use the bond MAC) or one of four.
        SetActorSystem { side: Side, which: u8 },
        /// A port's `actor_port_prio`.
        SetPortPrio { side: Side, port: u8, value: u16 },
        /// Any option by name and value text (names from the crate's list, or not).
        SetOption { side: Side, name: u8, value: Bytes },
        /// Add a port (link down until a `Link` op).
        AddPort { side: Side, port: u8 },
        /// Remove a port.
        RemovePort { side: Side, port: u8 },
        /// A PDU from a third party on a port.
        Inject { side: Side, port: u8, src: u8, pdu: Pdu },
        /// Raw bytes received on a port.
        Raw { side: Side, port: u8, frame: Bytes },
    }
}

/// A whole input.
#[derive(Clone, Debug, PartialEq, Eq, Arbitrary)]
pub struct Input {
    /// The start.
    pub setup: Setup,
    /// The steps.
    pub ops: Vec<Op>,
}

impl Encode for Input {
    fn encode(&self, out: &mut Vec<u8>) {
        self.setup.encode(out);
        encode_rest(&self.ops, out);
    }
}

const SPEEDS: [Option<u32>; 8] = [
    Some(10_000),
    Some(1_000),
    Some(25_000),
    Some(100),
    None,
    Some(0),
    Some(12_345),
    Some(u32::MAX),
];

fn mac(side: usize, n: u8) -> MacAddr {
    MacAddr([0x02, 0, 0, side as u8 + 1, 0, n])
}

struct Sys {
    sys: System,
    tracker: Tracker,
}

struct Pair {
    now: Duration,
    sides: [Sys; 2],
    /// `wires[side][port]`: frames sent by `side` on `port`, not yet delivered.
    wires: [[VecDeque<Vec<u8>>; PORTS]; 2],
}

fn config(s: &SideSetup, side: usize) -> Config {
    Config {
        lacp_rate: if s.fast {
            LacpRate::Fast
        } else {
            LacpRate::Slow
        },
        lacp_active: if s.passive {
            LacpActive::Off
        } else {
            LacpActive::On
        },
        ad_select: match s.ad_select % 3 {
            0 => AdSelect::Stable,
            1 => AdSelect::Bandwidth,
            _ => AdSelect::Count,
        },
        coupled_control: if s.independent {
            CoupledControl::Off
        } else {
            CoupledControl::On
        },
        min_links: u32::from(s.min_links % 4),
        bond_mac: mac(side, 0xaa),
        initial_selection_wait: if s.linux_initial_wait {
            Duration::from_secs(8)
        } else {
            Duration::ZERO
        },
        ..Config::default()
    }
}

fn side(s: &Side) -> usize {
    match s {
        Side::A => 0,
        Side::B => 1,
    }
}

fn port(p: u8) -> usize {
    usize::from(p) % PORTS
}

impl Pair {
    fn new(setup: &Setup) -> Self {
        let make = |i: usize, s: &SideSetup| Sys {
            sys: System::new(config(s, i)).expect("valid config"),
            tracker: Tracker::default(),
        };
        let mut pair = Self {
            now: Duration::ZERO,
            sides: [make(0, &setup.a), make(1, &setup.b)],
            wires: Default::default(),
        };
        let n = usize::from(setup.ports) % PORTS + 1;
        for s in 0..2 {
            for p in 0..n {
                pair.add_port(s, p);
                pair.link(s, p, Link::up(10_000));
            }
        }
        pair
    }

    /// Drains a side's outputs onto the wires and checks it.
    fn drain(&mut self, s: usize, departed: Option<usize>) {
        let now = self.now;
        let side = &mut self.sides[s];
        side.tracker.events(&mut side.sys);
        for tx in side.tracker.transmits(&mut side.sys, now, departed) {
            let q = &mut self.wires[s][tx.port % PORTS];
            if q.len() == WIRE_QUEUE {
                q.pop_front();
            }
            q.push_back(tx.frame.as_bytes().to_vec());
        }
        side.tracker.events(&mut side.sys);
        self.check(s);
    }

    fn check(&self, s: usize) {
        let side = &self.sides[s];
        check_system(&side.sys, self.now);
        side.tracker.check(&side.sys);
        for i in side.sys.ports() {
            let c = side.sys.counters(i).expect("port");
            assert_eq!(Some(&c.lacpdu_tx), side.tracker.lacpdus_sent.get(&i));
            assert_eq!(Some(&c.marker_resp_tx), side.tracker.markers_sent.get(&i));
        }
    }

    fn add_port(&mut self, s: usize, p: usize) {
        let now = self.now;
        let side = &mut self.sides[s];
        if side.sys.add_port(now, p, mac(s, p as u8 + 1)).is_ok() {
            side.tracker.port_added(p);
        } else {
            assert!(
                side.sys.port(p).is_some(),
                "add_port failed for a new index"
            );
        }
        self.drain(s, None);
    }

    fn remove_port(&mut self, s: usize, p: usize) {
        let now = self.now;
        let side = &mut self.sides[s];
        let existed = side.sys.port(p).is_some();
        assert_eq!(side.sys.remove_port(now, p).is_ok(), existed);
        if existed {
            side.tracker.port_removed(p);
            self.wires[s][p].clear();
        }
        self.drain(s, Some(p));
    }

    fn link(&mut self, s: usize, p: usize, link: Link) {
        let now = self.now;
        let side = &mut self.sides[s];
        let exists = side.sys.port(p).is_some();
        assert_eq!(side.sys.handle_link(now, p, link).is_ok(), exists);
        self.drain(s, None);
    }

    /// Frame `bytes` received by side `s` on port `p`.
    fn receive(&mut self, s: usize, p: usize, bytes: &[u8]) {
        let now = self.now;
        let side = &mut self.sides[s];
        if side.sys.port(p).is_none() {
            assert!(side.sys.handle_rx(now, p, bytes).is_err());
            return;
        }
        let _ = rx_checked(&mut side.sys, now, p, bytes);
        self.drain(s, None);
    }

    fn take(&mut self, from: &Side, p: u8) -> Option<(usize, usize, Vec<u8>)> {
        let s = side(from);
        let p = port(p);
        self.wires[s][p].pop_front().map(|f| (s, p, f))
    }

    fn deliver(&mut self, from: &Side, p: u8) {
        if let Some((s, p, f)) = self.take(from, p) {
            self.receive(1 - s, p, &f);
        }
    }

    fn deliver_all(&mut self) {
        for _ in 0..64 {
            let mut any = false;
            for s in 0..2 {
                for p in 0..PORTS {
                    if let Some(f) = self.wires[s][p].pop_front() {
                        any = true;
                        self.receive(1 - s, p, &f);
                    }
                }
            }
            if !any {
                return;
            }
        }
    }

    fn next_deadline(&self) -> Option<Duration> {
        let a = self.sides[0].sys.poll_timeout();
        let b = self.sides[1].sys.poll_timeout();
        match (a, b) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, None) => x,
            (None, y) => y,
        }
    }

    /// Moves time to `t`, running `handle_timeout` on both sides at each deadline met.
    fn timeout_at(&mut self, t: Duration) {
        assert!(t >= self.now);
        self.now = t;
        for s in 0..2 {
            if self.sides[s].sys.poll_timeout().is_some_and(|d| d <= t) {
                self.sides[s].sys.handle_timeout(t);
                self.drain(s, None);
                // Whatever was due at `t` has run: the next deadline is later.
                if let Some(d) = self.sides[s].sys.poll_timeout() {
                    assert!(d > t, "deadline {d:?} not after handle_timeout({t:?})");
                }
            } else {
                // A spurious call changes nothing visible.
                let before = self.sides[s].sys.poll_timeout();
                self.sides[s].sys.handle_timeout(t);
                self.drain(s, None);
                assert_eq!(self.sides[s].sys.poll_timeout(), before, "spurious timeout");
            }
        }
    }

    fn advance(&mut self, ms: u64) {
        let end = self.now + Duration::from_millis(ms.min(MAX_ADVANCE_MS));
        // Each system has at most a handful of deadlines per second per port.
        for _ in 0..10_000 {
            match self.next_deadline() {
                Some(d) if d <= end => self.timeout_at(d.max(self.now)),
                _ => break,
            }
        }
        self.timeout_at(end);
    }

    fn set_config(&mut self, s: usize, f: impl FnOnce(&mut Config)) {
        let now = self.now;
        let sys = &mut self.sides[s].sys;
        let mut c = *sys.config();
        f(&mut c);
        let valid = c.validate().is_ok();
        assert_eq!(sys.set_config(now, c).is_ok(), valid);
        if valid {
            assert_eq!(*sys.config(), c);
        }
        self.drain(s, None);
    }

    fn op(&mut self, op: &Op) {
        match op {
            Op::Deliver { from, port } => self.deliver(from, *port),
            Op::DeliverAll => self.deliver_all(),
            Op::Drop { from, port } => {
                let _ = self.take(from, *port);
            }
            Op::Corrupt {
                from,
                port,
                offset,
                xor,
            } => {
                if let Some((s, p, mut f)) = self.take(from, *port) {
                    let i = usize::from(*offset) % f.len().max(1);
                    if let Some(b) = f.get_mut(i) {
                        *b ^= *xor;
                    }
                    self.receive(1 - s, p, &f);
                }
            }
            Op::Truncate { from, port, len } => {
                if let Some((s, p, mut f)) = self.take(from, *port) {
                    f.truncate(usize::from(*len));
                    self.receive(1 - s, p, &f);
                }
            }
            Op::Reflect { from, port, to } => {
                if let Some((s, _, f)) = self.take(from, *port) {
                    self.receive(s, self::port(*to), &f);
                }
            }
            Op::Link {
                ends,
                port,
                up,
                speed,
                duplex,
            } => {
                let link = Link {
                    up: *up,
                    speed_mbps: SPEEDS[usize::from(*speed) % SPEEDS.len()],
                    duplex: match duplex % 4 {
                        0 | 1 => Duplex::Full,
                        2 => Duplex::Half,
                        _ => Duplex::Unknown,
                    },
                };
                let p = self::port(*port);
                if !matches!(ends, Ends::B) {
                    self.link(0, p, link);
                }
                if !matches!(ends, Ends::A) {
                    self.link(1, p, link);
                }
                if !up {
                    // A cut wire loses what was on it.
                    self.wires[0][p].clear();
                    self.wires[1][p].clear();
                }
            }
            Op::Advance { ms } => self.advance(u64::from(*ms) * 4),
            Op::AdvanceToNext => {
                if let Some(d) = self.next_deadline() {
                    let d = d.min(self.now + Duration::from_millis(MAX_ADVANCE_MS));
                    self.timeout_at(d.max(self.now));
                }
            }
            Op::Settle { rounds } => {
                for _ in 0..(rounds % 32) + 1 {
                    self.deliver_all();
                    match self.next_deadline() {
                        Some(d) => {
                            let d = d.min(self.now + Duration::from_millis(MAX_ADVANCE_MS));
                            self.timeout_at(d.max(self.now));
                        }
                        None => break,
                    }
                }
                self.deliver_all();
            }
            Op::SetRate { side: s, fast } => self.set_config(side(s), |c| {
                c.lacp_rate = if *fast {
                    LacpRate::Fast
                } else {
                    LacpRate::Slow
                }
            }),
            Op::SetActive { side: s, on } => self.set_config(side(s), |c| {
                c.lacp_active = if *on { LacpActive::On } else { LacpActive::Off }
            }),
            Op::SetAdSelect { side: s, value } => self.set_config(side(s), |c| {
                c.ad_select = match value % 3 {
                    0 => AdSelect::Stable,
                    1 => AdSelect::Bandwidth,
                    _ => AdSelect::Count,
                }
            }),
            Op::SetCoupled { side: s, on } => self.set_config(side(s), |c| {
                c.coupled_control = if *on {
                    CoupledControl::On
                } else {
                    CoupledControl::Off
                }
            }),
            Op::SetMinLinks { side: s, value } => self.set_config(side(s), |c| {
                c.min_links = match value % 8 {
                    v @ 0..=4 => u32::from(v),
                    5 => i32::MAX as u32,
                    6 => u32::MAX,
                    _ => 1 << 31,
                }
            }),
            Op::SetBondMac { side: s, which } => {
                let si = side(s);
                self.set_config(si, |c| {
                    c.bond_mac = match which % 5 {
                        4 => MacAddr::ZERO,
                        w => mac(si, 0xa0 + w),
                    }
                })
            }
            Op::SetSysPrio { side: s, value } => {
                self.set_config(side(s), |c| c.ad_actor_sys_prio = *value)
            }
            Op::SetUserKey { side: s, value } => {
                self.set_config(side(s), |c| c.ad_user_port_key = *value % 1100)
            }
            Op::SetActorSystem { side: s, which } => {
                let si = side(s);
                self.set_config(si, |c| {
                    c.ad_actor_system = match which % 6 {
                        0 => MacAddr::ZERO,
                        // A multicast address: refused.
                        5 => MacAddr([0x01, 0x80, 0xc2, 0, 0, 2]),
                        w => mac(si, 0xb0 + w),
                    }
                })
            }
            Op::SetPortPrio {
                side: s,
                port,
                value,
            } => {
                let (si, p) = (side(s), self::port(*port));
                let now = self.now;
                let sys = &mut self.sides[si].sys;
                let exists = sys.port(p).is_some();
                assert_eq!(sys.set_actor_port_priority(now, p, *value).is_ok(), exists);
                if exists {
                    assert_eq!(sys.port(p).map(|st| st.actor.port_priority), Some(*value));
                }
                self.drain(si, None);
            }
            Op::SetOption {
                side: s,
                name,
                value,
            } => {
                let si = side(s);
                let names = Config::OPTIONS;
                let name = names
                    .get(usize::from(*name) % (names.len() + 1))
                    .copied()
                    .unwrap_or("lacp_rat");
                let value = String::from_utf8_lossy(&value.0);
                let now = self.now;
                let sys = &mut self.sides[si].sys;
                let mut expect = *sys.config();
                let valid = expect.set(name, &value).is_ok();
                match sys.set_option(now, name, &value) {
                    Ok(()) => {
                        assert!(valid);
                        assert_eq!(*sys.config(), expect);
                    }
                    Err(e) => {
                        assert!(!valid, "{name}={value:?}: {e}");
                        // The message names the option.
                        let msg = e.to_string();
                        assert!(msg.contains(name) || msg.contains("unknown"), "{msg}");
                    }
                }
                self.drain(si, None);
            }
            Op::AddPort { side: s, port } => self.add_port(side(s), self::port(*port)),
            Op::RemovePort { side: s, port } => self.remove_port(side(s), self::port(*port)),
            Op::Inject {
                side: s,
                port,
                src,
                pdu,
            } => {
                let frame = Frame::new(MacAddr([0x02, 0xee, 0, 0, 0, *src]), pdu);
                self.receive(side(s), self::port(*port), frame.as_bytes());
            }
            Op::Raw {
                side: s,
                port,
                frame,
            } => self.receive(side(s), self::port(*port), &frame.0),
        }
    }
}

/// Runs one input.
pub fn run(input: &Input) {
    let mut pair = Pair::new(&input.setup);
    for op in &input.ops {
        pair.op(op);
        pair.check(0);
        pair.check(1);
        if crate::input::trace() {
            eprintln!("{:?} {op:?}", pair.now);
            for s in &pair.sides {
                for i in s.sys.ports() {
                    let p = s.sys.port(i).expect("port");
                    eprintln!(
                        "  port {i}: {:?} {:?} agg {:?} coll {} dist {} actor {:?} partner {:?}",
                        p.rx_state,
                        p.mux_state,
                        p.aggregator_id,
                        p.collecting,
                        p.distributing,
                        p.actor.state,
                        p.partner.state
                    );
                }
            }
        }
    }
}

/// Hand-made seeds: meaningful op sequences.
pub fn seeds() -> Vec<(&'static str, Input)> {
    let side = |fast: bool, passive: bool| SideSetup {
        fast,
        passive,
        ad_select: 0,
        independent: false,
        min_links: 0,
        linux_initial_wait: false,
    };
    let setup = |ports: u8, a: SideSetup, b: SideSetup| Setup {
        ports: ports - 1,
        a,
        b,
    };
    let settle = Op::Settle { rounds: 31 };
    let link = |ends: Ends, port: u8, up: bool| Op::Link {
        ends,
        port,
        up,
        speed: 0,
        duplex: 0,
    };
    vec![
        (
            "converge-fast",
            Input {
                setup: setup(2, side(true, false), side(true, false)),
                ops: vec![settle.clone(), settle.clone()],
            },
        ),
        (
            "converge-slow-passive",
            Input {
                setup: setup(2, side(false, false), side(false, true)),
                ops: vec![settle.clone(), Op::Advance { ms: 20_000 }, settle.clone()],
            },
        ),
        (
            "failover-and-back",
            Input {
                setup: setup(3, side(true, false), side(true, false)),
                ops: vec![
                    settle.clone(),
                    link(Ends::Both, 1, false),
                    settle.clone(),
                    link(Ends::Both, 1, true),
                    settle.clone(),
                ],
            },
        ),
        (
            "partner-silent-defaulted",
            Input {
                setup: setup(2, side(true, false), side(true, false)),
                ops: vec![
                    settle.clone(),
                    Op::Drop {
                        from: Side::B,
                        port: 0,
                    },
                    Op::Advance { ms: 1_000 },
                    Op::Advance { ms: 1_000 },
                    Op::Advance { ms: 1_000 },
                ],
            },
        ),
        (
            "independent-control-reselect",
            Input {
                setup: setup(
                    2,
                    SideSetup {
                        independent: true,
                        ..side(true, false)
                    },
                    side(true, false),
                ),
                ops: vec![
                    settle.clone(),
                    Op::SetUserKey {
                        side: Side::B,
                        value: 7,
                    },
                    settle.clone(),
                    Op::RemovePort {
                        side: Side::A,
                        port: 0,
                    },
                    settle.clone(),
                    Op::AddPort {
                        side: Side::A,
                        port: 0,
                    },
                    link(Ends::A, 0, true),
                    settle.clone(),
                ],
            },
        ),
        (
            "loop-and-corrupt",
            Input {
                setup: setup(2, side(true, false), side(false, false)),
                ops: vec![
                    Op::Reflect {
                        from: Side::A,
                        port: 0,
                        to: 1,
                    },
                    Op::Corrupt {
                        from: Side::A,
                        port: 1,
                        offset: 20,
                        xor: 0x55,
                    },
                    Op::Truncate {
                        from: Side::B,
                        port: 0,
                        len: 60,
                    },
                    settle.clone(),
                    Op::SetOption {
                        side: Side::A,
                        name: 0,
                        value: Bytes(b"slow".to_vec()),
                    },
                    Op::SetMinLinks {
                        side: Side::B,
                        value: 2,
                    },
                    settle,
                ],
            },
        ),
    ]
}
