//! `link_monitor`: one `LinkMonitor` (MII or ARP/NS, active-backup or load-balancing style)
//! driven by an op sequence: carrier events and samples, valid ARP and NS/NA frames built
//! from the op (replies to its own probes, its probes flooded back, foreign traffic), raw
//! bytes, time advances deadline by deadline, option changes, active-member changes and the
//! engine's answers to its selection requests.
//!
//! After every step: a member the MII monitor reports up has carrier (and one it reports
//! down has none, unless it was refused for unknown speed/duplex), as of the last carrier
//! event or MII run; a member the ARP monitor brings up has received within the window the
//! options give, and a load-balancing member it keeps up has received and sent within
//! `arp_missed_max` intervals; timers are never in the past; events, getters and counters
//! agree; every probe parses, goes out on a member that may send it, and is for a
//! configured target; the `/proc` writers never fail.

use crate::frames;
use crate::input::{Bytes, Encode, encode_rest, op_enum, op_struct};
use arbitrary::Arbitrary;
use core::net::{Ipv4Addr, Ipv6Addr};
use core::time::Duration;
use link_monitor::wire::{self as lm, NdMessage, NdiscRepr};
use link_monitor::{
    ArpAllTargets, ArpValidate, Event, LinkMonitor, LinkState, MonitorOptions, MonitorStyle, Probe,
    ProbeRoute, SlaveState, VlanPath, VlanTag,
};
use std::collections::{BTreeMap, BTreeSet};

/// Member indices 0..MEMBERS.
pub const MEMBERS: usize = 4;

const ARP_TARGETS: [Ipv4Addr; 3] = [
    Ipv4Addr::new(198, 18, 1, 1),
    Ipv4Addr::new(198, 18, 1, 2),
    Ipv4Addr::new(198, 18, 2, 1),
];
const NS_TARGETS: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1),
    Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 1, 2),
];
const BOND_V4: [Ipv4Addr; 2] = [Ipv4Addr::new(198, 18, 0, 10), Ipv4Addr::new(198, 18, 3, 10)];
const BOND_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0x10);

fn member_mac(m: usize) -> [u8; 6] {
    [0x02, 0, 0, 0, 0x10, m as u8]
}

op_struct! {
    /// How the monitor starts.
    pub struct Setup {
        pub active_backup: bool,
        /// 0: no monitor, 1: MII, otherwise ARP/NS.
        pub kind: u8,
        pub miimon: u8,
        pub updelay: u8,
        pub downdelay: u8,
        pub arp_interval: u8,
        /// Bit i: ARP target i.
        pub arp_targets: u8,
        /// Bit i: NS target i.
        pub ns_targets: u8,
        pub validate: u8,
        pub all_targets: bool,
        pub missed_max: u8,
        /// Members 0..=members%4 are added.
        pub members: u8,
        /// Bit i: member i has carrier when added.
        pub carrier: u8,
        /// The caller answers selection requests like an engine.
        pub auto_select: bool,
        /// Bit i: target i's probes go via the bond with an address (else no route).
        pub routes: u8,
    }
}

op_enum! {
    /// One step.
    pub enum Op {
        /// A carrier event (netlink): acted upon at once.
        Carrier { member: u8, up: bool },
        /// A carrier sample, read at the next MII run.
        Sample { member: u8, up: bool },
        /// An ARP frame received on a member, built from address choices.
        RxArp { member: u8, op: u8, sender: u8, target: u8, dst: u8, vlan: u8 },
        /// An NS/NA received on a member.
        RxNd { member: u8, na: bool, src: u8, dst: u8, target: u8, lladdr: bool, hop_ok: bool, dst_mac: u8 },
        /// The target answers one of the last probes (`which`, on `member`), or, with
        /// `flood`, the probe itself comes back on `member` (a switch flooding the active
        /// member's request).
        Echo { member: u8, which: u8, flood: bool },
        /// Raw bytes received on a member.
        Raw { member: u8, frame: Bytes },
        /// Advance time by `ms`, handling every deadline on the way.
        Advance { ms: u16 },
        /// Advance to the next deadline.
        AdvanceToNext,
        /// The engine sets the active member (`member % 5 == 4`: none).
        SetActive { member: u8 },
        /// The engine sets a member's role.
        SetRole { member: u8, backup: bool },
        /// `miimon` in ms.
        SetMiimon { ms: u16 },
        /// `updelay` in ms.
        SetUpdelay { ms: u16 },
        /// `downdelay` in ms.
        SetDowndelay { ms: u16 },
        /// `arp_interval` in ms.
        SetArpInterval { ms: u16 },
        /// Add or remove an ARP target (index into a fixed set).
        ToggleArpTarget { which: u8 },
        /// Add or remove an NS target.
        ToggleNsTarget { which: u8 },
        /// `arp_validate`.
        SetValidate { value: ArpValidate },
        /// `arp_all_targets`.
        SetAllTargets { value: ArpAllTargets },
        /// `arp_missed_max`.
        SetMissedMax { value: u8 },
        /// Any option by name and value text.
        SetOption { name: u8, value: Bytes },
        /// What a mode change does to the options.
        ApplyMode { uses_arp: bool },
        /// How a target's probes leave (0: no route, 1: via the bond with an address,
        /// 2: via the bond without one, 3: tagged, 4: double tagged, 5: another device).
        SetRoute { ns: bool, which: u8, route: u8 },
        /// Add a member.
        AddMember { member: u8, carrier: bool },
        /// Remove a member.
        RemoveMember { member: u8 },
        /// The primary member (`member % 5 == 4`: none).
        SetPrimary { member: u8 },
        /// A member's prio.
        SetPrio { member: u8, prio: i8 },
        /// Usable members as the engine counts them (`count % 6 == 5`: the mode keeps none).
        SetUsable { count: u8 },
        /// Whether the mode needs speed/duplex.
        SetNeedsSpeedDuplex { needs: bool },
        /// Whether a member's speed/duplex are known.
        SetSpeedDuplexKnown { member: u8, known: bool },
        /// The bond's addresses (bit 0, 1: IPv4; bit 2: IPv6).
        SetBondAddresses { mask: u8 },
        /// A member's MAC changes.
        SetMac { member: u8, last: u8 },
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

impl Encode for ArpValidate {
    fn encode(&self, out: &mut Vec<u8>) {
        let i = Self::ALL.iter().position(|v| v == self).unwrap_or(0);
        crate::input::encode_variant(out, i, Self::ALL.len());
    }
}

impl Encode for ArpAllTargets {
    fn encode(&self, out: &mut Vec<u8>) {
        crate::input::encode_variant(out, usize::from(*self == Self::All), 2);
    }
}

struct Harness {
    now: Duration,
    mon: LinkMonitor,
    style: MonitorStyle,
    auto_select: bool,
    /// Link states as the events told them.
    links: BTreeMap<usize, LinkState>,
    roles: BTreeMap<usize, SlaveState>,
    failures: BTreeMap<usize, u32>,
    current_arp_slave: Option<usize>,
    /// Members whose carrier was sampled (or whose speed/duplex rules changed, or whose state
    /// came from another monitor) since the last MII run.
    stale: BTreeSet<usize>,
    macs: BTreeMap<usize, [u8; 6]>,
    known: BTreeMap<usize, bool>,
    needs_speed_duplex: bool,
    rx_frames: u64,
    probes_sent: u64,
    /// The probes of the last run that sent any.
    last_probes: Vec<link_monitor::Transmit>,
    usable: Option<usize>,
    /// When the target lists last changed: Linux (and the crate) stamp a changed target
    /// slot with that time, which counts as a receive for `arp_all_targets=all`.
    targets_changed: Option<Duration>,
}

fn options_from(setup: &Setup) -> MonitorOptions {
    let mut o = MonitorOptions::new();
    match setup.kind % 3 {
        0 => {}
        1 => {
            let _ = o.set_miimon(u32::from(setup.miimon % 10 + 1) * 10);
            let _ = o.set_updelay(u32::from(setup.updelay % 4) * o.miimon());
            let _ = o.set_downdelay(u32::from(setup.downdelay % 4) * o.miimon());
        }
        _ => {
            let _ = o.set_arp_interval(u32::from(setup.arp_interval % 10 + 1) * 20);
            for (i, t) in ARP_TARGETS.iter().enumerate() {
                if setup.arp_targets & (1 << i) != 0 {
                    let _ = o.add_arp_ip_target(*t);
                }
            }
            for (i, t) in NS_TARGETS.iter().enumerate() {
                if setup.ns_targets & (1 << i) != 0 {
                    let _ = o.add_ns_ip6_target(*t);
                }
            }
            o.set_arp_validate(ArpValidate::ALL[usize::from(setup.validate) % 7]);
            o.set_arp_all_targets(if setup.all_targets {
                ArpAllTargets::All
            } else {
                ArpAllTargets::Any
            });
            let _ = o.set_arp_missed_max(setup.missed_max.max(1));
        }
    }
    o
}

fn member(m: u8) -> usize {
    usize::from(m) % MEMBERS
}

fn opt_member(m: u8) -> Option<usize> {
    let v = usize::from(m) % (MEMBERS + 1);
    (v < MEMBERS).then_some(v)
}

fn v4_choice(c: u8) -> Ipv4Addr {
    match c % 8 {
        i @ 0..=2 => ARP_TARGETS[usize::from(i)],
        3 => BOND_V4[0],
        4 => BOND_V4[1],
        5 => Ipv4Addr::UNSPECIFIED,
        6 => Ipv4Addr::new(198, 18, 9, 9),
        _ => Ipv4Addr::BROADCAST,
    }
}

fn v6_choice(c: u8) -> Ipv6Addr {
    match c % 8 {
        0 => NS_TARGETS[0],
        1 => NS_TARGETS[1],
        2 => BOND_V6,
        3 => Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
        4 => Ipv6Addr::from(frames::solicited_node(&NS_TARGETS[0].octets())),
        5 => Ipv6Addr::UNSPECIFIED,
        6 => Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 9, 9),
        _ => Ipv6Addr::from(frames::solicited_node(&BOND_V6.octets())),
    }
}

fn route<A>(r: u8, src: A) -> ProbeRoute<A> {
    match r % 6 {
        0 => ProbeRoute::NoRoute,
        1 => ProbeRoute::ViaBond {
            src: Some(src),
            vlans: VlanPath::NONE,
        },
        2 => ProbeRoute::ViaBond {
            src: None,
            vlans: VlanPath::NONE,
        },
        3 => ProbeRoute::ViaBond {
            src: Some(src),
            vlans: VlanPath::single(VlanTag::dot1q(100)),
        },
        4 => ProbeRoute::ViaBond {
            src: Some(src),
            vlans: VlanPath::double(VlanTag::dot1ad(10), VlanTag::dot1q(200)),
        },
        _ => ProbeRoute::OtherDevice,
    }
}

/// `vlan`: 0 untagged, 1 802.1Q 100, 2 802.1ad 10 + 802.1Q 200 (the outer one is stripped).
fn with_vlan(vlan: u8, dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    match vlan % 3 {
        0 => frames::eth_to(dst, src, ethertype, payload),
        1 => {
            let mut p = vec![0, 100];
            p.extend_from_slice(&ethertype.to_be_bytes());
            p.extend_from_slice(payload);
            frames::eth_to(dst, src, 0x8100, &p)
        }
        _ => {
            let mut p = vec![0, 10, 0x81, 0, 0, 200];
            p.extend_from_slice(&ethertype.to_be_bytes());
            p.extend_from_slice(payload);
            frames::eth_to(dst, src, 0x88a8, &p)
        }
    }
}

impl Harness {
    fn new(setup: &Setup) -> Self {
        let style = if setup.active_backup {
            MonitorStyle::ActiveBackup
        } else {
            MonitorStyle::LoadBalance
        };
        let opts = options_from(setup);
        let mut mon = LinkMonitor::new(Duration::ZERO, opts, style);
        mon.set_bond_addresses(&BOND_V4, &[BOND_V6]);
        for (i, t) in ARP_TARGETS.iter().enumerate() {
            let r = if setup.routes & (1 << i) != 0 { 1 } else { 0 };
            let _ = mon.set_arp_route(*t, route(r, BOND_V4[0]));
        }
        for (i, t) in NS_TARGETS.iter().enumerate() {
            let r = if setup.routes & (1 << (i + 3)) != 0 {
                1
            } else {
                0
            };
            let _ = mon.set_ns_route(*t, route(r, BOND_V6));
        }
        let mut h = Self {
            now: Duration::ZERO,
            mon,
            style,
            auto_select: setup.auto_select,
            links: BTreeMap::new(),
            roles: BTreeMap::new(),
            failures: BTreeMap::new(),
            current_arp_slave: None,
            stale: BTreeSet::new(),
            macs: BTreeMap::new(),
            known: BTreeMap::new(),
            needs_speed_duplex: false,
            rx_frames: 0,
            probes_sent: 0,
            last_probes: Vec::new(),
            usable: None,
            targets_changed: None,
        };
        for m in 0..=usize::from(setup.members) % MEMBERS {
            h.add_member(m, setup.carrier & (1 << m) != 0);
        }
        if h.auto_select {
            // An engine selects the active member when members are enslaved.
            let best = h.best_member();
            h.set_active(best);
        }
        h.drain(false);
        h
    }

    fn add_member(&mut self, m: usize, carrier: bool) {
        let exists = self.mon.link_state(m).is_some();
        let r = self.mon.add_member(self.now, m, member_mac(m), carrier);
        assert_eq!(r.is_ok(), !exists);
        if exists {
            return;
        }
        let state = self.mon.link_state(m).expect("added");
        let o = self.mon.options();
        // The first state, as documented.
        let expect = if o.mii_monitoring() {
            match (carrier, o.updelay_intervals()) {
                (true, 0) => LinkState::Up,
                (true, _) => LinkState::Back,
                (false, _) => LinkState::Down,
            }
        } else if o.arp_monitoring() {
            if carrier {
                LinkState::Up
            } else {
                LinkState::Down
            }
        } else {
            LinkState::Up
        };
        assert_eq!(state, expect, "first state of member {m}");
        self.links.insert(m, state);
        self.roles
            .insert(m, self.mon.slave_state(m).expect("added"));
        assert_eq!(
            self.roles[&m],
            if self.style == MonitorStyle::ActiveBackup {
                SlaveState::Backup
            } else {
                SlaveState::Active
            }
        );
        self.failures.insert(m, 0);
        self.macs.insert(m, member_mac(m));
        self.known.insert(m, true);
        self.stale.remove(&m);
    }

    /// Handles the events (answering selection requests like an engine when asked to) and
    /// sends the probes.
    fn drain(&mut self, in_run: bool) {
        for _ in 0..8 {
            let mut select = false;
            while let Some(e) = self.mon.poll_event() {
                select |= self.event(e, in_run);
            }
            if !(select && self.auto_select) {
                break;
            }
            let best = self.best_member();
            self.set_active(best);
        }
        if self.auto_select && self.style == MonitorStyle::LoadBalance {
            let usable = self
                .links
                .values()
                .filter(|s| matches!(s, LinkState::Up | LinkState::Fail))
                .count();
            if self.usable != Some(usable) {
                self.usable = Some(usable);
                self.mon.set_usable_members(Some(usable));
            }
        }
        let mut sent = Vec::new();
        while let Some(tx) = self.mon.poll_transmit(self.now) {
            assert!(sent.len() < 64, "poll_transmit does not end");
            self.check_probe(&tx);
            self.probes_sent += 1;
            sent.push(tx);
        }
        if !sent.is_empty() {
            self.last_probes = sent;
        }
    }

    /// The engine's choice: the active member if it is up, else the first member up.
    fn best_member(&self) -> Option<usize> {
        let up = |m: usize| self.mon.link_state(m) == Some(LinkState::Up);
        match self.mon.active_member() {
            Some(a) if up(a) => Some(a),
            _ => self.mon.members().find(|&m| up(m)),
        }
    }

    fn set_active(&mut self, m: Option<usize>) {
        let exists = m.is_none_or(|m| self.mon.link_state(m).is_some());
        let old = self.mon.active_member();
        assert_eq!(self.mon.set_active_member(self.now, m).is_ok(), exists);
        if exists {
            assert_eq!(self.mon.active_member(), m);
            // A member that becomes active while going back is up at once (setting the same
            // active member again changes nothing, as in Linux).
            if let Some(m) = m.filter(|&m| old != Some(m)) {
                assert_ne!(self.mon.link_state(m), Some(LinkState::Back));
            }
        }
        let mut select = false;
        while let Some(e) = self.mon.poll_event() {
            select |= self.event(e, false);
        }
        let _ = select;
    }

    /// Tracks one event; returns whether it asks for a selection.
    fn event(&mut self, e: Event, in_run: bool) -> bool {
        match e {
            Event::Link {
                member,
                previous,
                state,
                at,
            } => {
                assert!(at <= self.now);
                assert_ne!(previous, state);
                assert_eq!(self.links.get(&member), Some(&previous), "{e:?}");
                self.links.insert(member, state);
                if state == LinkState::Up && in_run && self.mon.options().arp_monitoring() {
                    self.check_arp_up(member);
                }
                false
            }
            Event::SelectActive { at } => {
                assert!(at <= self.now);
                true
            }
            Event::CurrentArpSlave { member, at } => {
                assert!(at <= self.now);
                assert_eq!(self.style, MonitorStyle::ActiveBackup);
                self.current_arp_slave = member;
                false
            }
            Event::SlaveState { member, state, at } => {
                assert!(at <= self.now);
                assert_ne!(self.roles.get(&member), Some(&state), "{e:?}");
                self.roles.insert(member, state);
                false
            }
        }
    }

    /// A member the ARP monitor brought up at a run received a frame that counts within one
    /// interval (and a half): `bond_time_in_interval(last_rx, 1)`.
    fn check_arp_up(&self, m: usize) {
        let d = i128::from(self.mon.options().arp_interval()) * 1_000_000;
        let now = self.now.as_nanos() as i128;
        let bound = d + d / 2;
        if self.mon.options().arp_all_targets() == ArpAllTargets::All
            && self
                .targets_changed
                .is_some_and(|t| now - t.as_nanos() as i128 <= bound)
        {
            return;
        }
        match self.mon.last_rx(m) {
            Some(rx) => assert!(
                now - rx.as_nanos() as i128 <= bound,
                "member {m} up at {now} with last_rx {rx:?}"
            ),
            None => assert!(now <= bound, "member {m} up with no receive"),
        }
    }

    fn check_probe(&self, tx: &link_monitor::Transmit) {
        let m = tx.member;
        let mac = *self.macs.get(&m).expect("probe for a member");
        assert!(self.mon.link_state(m).is_some());
        let o = self.mon.options();
        assert!(o.arp_monitoring(), "probe without the ARP monitor");
        match self.style {
            MonitorStyle::LoadBalance => {
                assert_eq!(
                    self.mon.carrier(m),
                    Some(true),
                    "probe on member {m} without carrier"
                )
            }
            MonitorStyle::ActiveBackup => assert!(
                self.mon.active_member() == Some(m) || self.mon.current_arp_slave() == Some(m),
                "probe on member {m}, neither active nor probed"
            ),
        }
        let f = lm::EthernetFrame::new_checked(tx.frame()).expect("probe frame");
        assert_eq!(f.src(), mac);
        // The route's VLAN tags (up to two; the view strips one).
        let mut tags = Vec::new();
        let (mut ethertype, mut payload) = (f.ethertype(), f.payload());
        tags.extend(f.vlan_id());
        while lm::ethertype::is_vlan(ethertype) {
            assert!(tags.len() < 2, "more than two tags");
            let [t0, t1, e0, e1, rest @ ..] = payload else {
                panic!("truncated inner tag")
            };
            tags.push(u16::from_be_bytes([*t0, *t1]) & 0xfff);
            ethertype = u16::from_be_bytes([*e0, *e1]);
            payload = rest;
        }
        assert!(
            matches!(tags.as_slice(), [] | [100] | [10, 200]),
            "probe tags {tags:?}"
        );
        match tx.probe {
            Probe::Arp { target, src } => {
                assert!(o.arp_ip_target().contains(&target));
                assert_eq!(f.dst(), [0xff; 6]);
                assert_eq!(ethertype, lm::ethertype::ARP);
                let p = lm::ArpPacket::new_checked(payload).expect("ARP");
                let r = lm::ArpRepr::parse(&p).expect("ARP parses");
                assert_eq!(r.operation, lm::ArpOperation::Request);
                assert_eq!(r.sender_hardware_addr, mac);
                assert_eq!(
                    (r.sender_protocol_addr, r.target_protocol_addr),
                    (src, target)
                );
                assert_eq!(r.target_hardware_addr, [0; 6]);
            }
            Probe::Ns { target, src } => {
                assert!(o.ns_ip6_target().contains(&target));
                assert_eq!(ethertype, lm::ethertype::IPV6);
                let p = lm::NdPacket::new_checked(payload).expect("IPv6 NS");
                let r = NdiscRepr::parse(&p).expect("NS parses");
                assert_eq!(r.message, NdMessage::NeighborSolicit);
                assert_eq!((r.src_addr, r.target_addr), (src, target));
                assert_eq!(r.dst_addr, lm::solicited_node(&target));
                assert_eq!(r.lladdr, (!src.is_unspecified()).then_some(mac));
                let g = r.dst_addr.octets();
                assert_eq!(f.dst(), [0x33, 0x33, g[12], g[13], g[14], g[15]]);
            }
        }
    }

    fn rx(&mut self, m: usize, frame: &[u8]) {
        let exists = self.mon.link_state(m).is_some();
        let counted = exists && self.mon.wants_rx();
        assert_eq!(self.mon.handle_rx(self.now, m, frame).is_ok(), exists);
        if counted {
            self.rx_frames += 1;
        }
        self.drain(false);
    }

    /// Moves time to `t` and runs what is due.
    fn timeout_at(&mut self, t: Duration) {
        assert!(t >= self.now);
        self.now = t;
        let due = self.mon.poll_timeout().is_some_and(|d| d <= t);
        let o = self.mon.options().clone();
        self.mon.handle_timeout(t);
        self.drain(due);
        if due && o.mii_monitoring() {
            self.stale.clear();
        }
        if due && o.arp_monitoring() && self.style == MonitorStyle::LoadBalance {
            self.check_lb_arp_run();
        }
        if let Some(d) = self.mon.poll_timeout() {
            if d <= t {
                // Only the active-backup probe that waited for the engine's answer is due
                // again at the same time; one more call runs it.
                assert_eq!(d, t);
                assert_eq!(self.style, MonitorStyle::ActiveBackup);
                self.mon.handle_timeout(t);
                self.drain(false);
                if let Some(d) = self.mon.poll_timeout() {
                    assert!(d > t, "deadline {d:?} still due after two calls at {t:?}");
                }
            }
        }
    }

    /// After a load-balancing ARP run: every member up has sent and received within
    /// `arp_missed_max` intervals (and a half).
    fn check_lb_arp_run(&self) {
        let o = self.mon.options();
        let d = i128::from(o.arp_interval()) * 1_000_000;
        let bound = i128::from(o.arp_missed_max()) * d + d / 2;
        let now = self.now.as_nanos() as i128;
        for m in self.mon.members() {
            if self.mon.link_state(m) != Some(LinkState::Up) {
                continue;
            }
            for (what, t) in [("rx", self.mon.last_rx(m)), ("tx", self.mon.last_tx(m))] {
                match t {
                    Some(t) => assert!(
                        now - t.as_nanos() as i128 <= bound,
                        "member {m} up, last {what} {t:?} at {now}"
                    ),
                    None => assert!(now <= bound, "member {m} up, no {what}"),
                }
            }
        }
    }

    fn advance(&mut self, ms: u64) {
        let end = self.now + Duration::from_millis(ms);
        for _ in 0..2_000 {
            match self.mon.poll_timeout() {
                Some(d) if d <= end => self.timeout_at(d.max(self.now)),
                _ => break,
            }
        }
        self.timeout_at(end);
    }

    fn set_options(&mut self, o: MonitorOptions) {
        let old = self.mon.options();
        if old.arp_ip_target() != o.arp_ip_target() || old.ns_ip6_target() != o.ns_ip6_target() {
            self.targets_changed = Some(self.now);
        }
        self.mon.set_options(self.now, o.clone());
        assert_eq!(self.mon.options(), &o);
        // States set by another monitor (or none) hold until the new one runs.
        self.stale.extend(self.mon.members());
        self.drain(false);
    }

    fn edit_options(&mut self, f: impl FnOnce(&mut MonitorOptions) -> bool) {
        let mut o = self.mon.options().clone();
        if f(&mut o) {
            self.set_options(o);
        }
    }

    fn op(&mut self, op: &Op) {
        match op {
            Op::Carrier { member: m, up } => {
                let m = member(*m);
                let exists = self.mon.link_state(m).is_some();
                assert_eq!(self.mon.handle_carrier(self.now, m, *up).is_ok(), exists);
                if exists {
                    assert_eq!(self.mon.carrier(m), Some(*up));
                    self.stale.remove(&m);
                }
                self.drain(false);
            }
            Op::Sample { member: m, up } => {
                let m = member(*m);
                let exists = self.mon.link_state(m).is_some();
                assert_eq!(self.mon.sample_carrier(m, *up).is_ok(), exists);
                if exists {
                    self.stale.insert(m);
                }
                self.drain(false);
            }
            Op::RxArp {
                member: m,
                op,
                sender,
                target,
                dst,
                vlan,
            } => {
                let m = member(*m);
                let sha = [0x02, 0xee, 0, 0, 0, *sender];
                let opcode = match op % 4 {
                    0 => 1,
                    1 | 2 => 2,
                    _ => 9,
                };
                let dst_mac = match dst % 3 {
                    0 => [0xff; 6],
                    1 => member_mac(m),
                    _ => [0x02, 0xee, 0, 0, 0, 0x99],
                };
                let tha = if opcode == 1 { [0; 6] } else { dst_mac };
                let payload = frames::arp(
                    opcode,
                    sha,
                    v4_choice(*sender).octets(),
                    tha,
                    v4_choice(*target).octets(),
                );
                let f = with_vlan(*vlan, dst_mac, sha, 0x0806, &payload);
                self.rx(m, &f);
            }
            Op::RxNd {
                member: m,
                na,
                src,
                dst,
                target,
                lladdr,
                hop_ok,
                dst_mac,
            } => {
                let m = member(*m);
                let peer = [0x02, 0xee, 0, 0, 1, *src];
                let mut ip = frames::ndisc(
                    *na,
                    if *na { 0x60 } else { 0 },
                    v6_choice(*src).octets(),
                    v6_choice(*dst).octets(),
                    v6_choice(*target).octets(),
                    lladdr.then_some(peer),
                );
                if !hop_ok {
                    ip[7] = 64;
                    frames::fix_icmpv6_checksum(&mut ip);
                }
                let dmac = match dst_mac % 3 {
                    0 => [0x33, 0x33, 0, 0, 0, 1],
                    1 => member_mac(m),
                    _ => [0x02, 0xee, 0, 0, 0, 0x99],
                };
                let f = frames::eth_to(dmac, peer, 0x86dd, &ip);
                self.rx(m, &f);
            }
            Op::Echo {
                member: m,
                which,
                flood,
            } => {
                let m = member(*m);
                let n = self.last_probes.len();
                let Some(probe) = self
                    .last_probes
                    .get(usize::from(*which) % n.max(1))
                    .cloned()
                else {
                    return;
                };
                if *flood {
                    self.rx(m, probe.frame());
                    return;
                }
                let peer = [0x02, 0xee, 0, 0, 2, 1];
                let to = *self.macs.get(&probe.member).unwrap_or(&member_mac(m));
                let f = match probe.probe {
                    Probe::Arp { target, src } => frames::eth_to(
                        to,
                        peer,
                        0x0806,
                        &frames::arp(2, peer, target.octets(), to, src.octets()),
                    ),
                    Probe::Ns { target, src } => {
                        let dst = if src.is_unspecified() {
                            Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)
                        } else {
                            src
                        };
                        frames::eth_to(
                            to,
                            peer,
                            0x86dd,
                            &frames::ndisc(
                                true,
                                0x60,
                                target.octets(),
                                dst.octets(),
                                target.octets(),
                                Some(peer),
                            ),
                        )
                    }
                };
                self.rx(m, &f);
            }
            Op::Raw { member: m, frame } => self.rx(member(*m), &frame.0),
            Op::Advance { ms } => self.advance(u64::from(*ms)),
            Op::AdvanceToNext => {
                if let Some(d) = self.mon.poll_timeout() {
                    let d = d.min(self.now + Duration::from_secs(120));
                    self.timeout_at(d.max(self.now));
                }
            }
            Op::SetActive { member: m } => {
                let m = opt_member(*m);
                self.set_active(m);
                self.drain(false);
            }
            Op::SetRole { member: m, backup } => {
                let m = member(*m);
                let exists = self.mon.link_state(m).is_some();
                let state = if *backup {
                    SlaveState::Backup
                } else {
                    SlaveState::Active
                };
                assert_eq!(
                    self.mon.set_member_state(self.now, m, state).is_ok(),
                    exists
                );
                if exists {
                    assert_eq!(self.mon.slave_state(m), Some(state));
                }
                self.drain(false);
            }
            Op::SetMiimon { ms } => self.edit_options(|o| o.set_miimon(u32::from(*ms)).is_ok()),
            Op::SetUpdelay { ms } => self.edit_options(|o| o.set_updelay(u32::from(*ms)).is_ok()),
            Op::SetDowndelay { ms } => {
                self.edit_options(|o| o.set_downdelay(u32::from(*ms)).is_ok())
            }
            Op::SetArpInterval { ms } => {
                self.edit_options(|o| o.set_arp_interval(u32::from(*ms)).is_ok())
            }
            Op::ToggleArpTarget { which } => {
                let t = v4_choice(*which);
                self.edit_options(|o| {
                    if o.arp_ip_target().contains(&t) {
                        o.remove_arp_ip_target(t).is_ok()
                    } else {
                        o.add_arp_ip_target(t).is_ok()
                    }
                })
            }
            Op::ToggleNsTarget { which } => {
                let t = v6_choice(*which);
                self.edit_options(|o| {
                    if o.ns_ip6_target().contains(&t) {
                        o.remove_ns_ip6_target(t).is_ok()
                    } else {
                        o.add_ns_ip6_target(t).is_ok()
                    }
                })
            }
            Op::SetValidate { value } => self.edit_options(|o| {
                o.set_arp_validate(*value);
                true
            }),
            Op::SetAllTargets { value } => self.edit_options(|o| {
                o.set_arp_all_targets(*value);
                true
            }),
            Op::SetMissedMax { value } => {
                self.edit_options(|o| o.set_arp_missed_max(*value).is_ok())
            }
            Op::SetOption { name, value } => {
                let names = link_monitor::options::OPTION_NAMES;
                let name = names
                    .get(usize::from(*name) % (names.len() + 1))
                    .copied()
                    .unwrap_or("mii_mon");
                let value = String::from_utf8_lossy(&value.0).into_owned();
                self.edit_options(|o| match o.set(name, &value) {
                    Ok(_) => true,
                    Err(e) => {
                        let msg = e.to_string();
                        assert!(!msg.is_empty());
                        false
                    }
                })
            }
            Op::ApplyMode { uses_arp } => self.edit_options(|o| {
                let _ = o.apply_mode(*uses_arp);
                if !uses_arp {
                    assert!(!o.arp_monitoring() && o.mii_monitoring());
                }
                true
            }),
            Op::SetRoute {
                ns,
                which,
                route: r,
            } => {
                if *ns {
                    let t = v6_choice(*which);
                    let known = self.mon.options().ns_ip6_target().contains(&t);
                    assert_eq!(self.mon.set_ns_route(t, route(*r, BOND_V6)).is_ok(), known);
                } else {
                    let t = v4_choice(*which);
                    let known = self.mon.options().arp_ip_target().contains(&t);
                    assert_eq!(
                        self.mon.set_arp_route(t, route(*r, BOND_V4[1])).is_ok(),
                        known
                    );
                }
            }
            Op::AddMember { member: m, carrier } => {
                self.add_member(member(*m), *carrier);
                self.drain(false);
            }
            Op::RemoveMember { member: m } => {
                let m = member(*m);
                let exists = self.mon.link_state(m).is_some();
                assert_eq!(self.mon.remove_member(self.now, m).is_ok(), exists);
                if exists {
                    self.links.remove(&m);
                    self.roles.remove(&m);
                    self.failures.remove(&m);
                    self.macs.remove(&m);
                    self.known.remove(&m);
                    self.stale.remove(&m);
                    assert_ne!(self.mon.active_member(), Some(m));
                    assert_ne!(self.mon.current_arp_slave(), Some(m));
                    self.last_probes.retain(|p| p.member != m);
                }
                self.drain(false);
                if exists && self.auto_select && self.mon.active_member().is_none() {
                    let best = self.best_member();
                    self.set_active(best);
                    self.drain(false);
                }
            }
            Op::SetPrimary { member: m } => {
                let m = opt_member(*m);
                let ok = m.is_none_or(|m| self.mon.link_state(m).is_some());
                assert_eq!(self.mon.set_primary(m).is_ok(), ok);
            }
            Op::SetPrio { member: m, prio } => {
                let m = member(*m);
                let ok = self.mon.link_state(m).is_some();
                assert_eq!(self.mon.set_member_prio(m, i32::from(*prio)).is_ok(), ok);
            }
            Op::SetUsable { count } => {
                let c = usize::from(*count) % 6;
                self.usable = (c < 5).then_some(c);
                self.mon.set_usable_members(self.usable);
            }
            Op::SetNeedsSpeedDuplex { needs } => {
                self.mon.set_needs_speed_duplex(*needs);
                self.needs_speed_duplex = *needs;
                self.stale.extend(self.mon.members());
            }
            Op::SetSpeedDuplexKnown { member: m, known } => {
                let m = member(*m);
                let ok = self.mon.link_state(m).is_some();
                assert_eq!(self.mon.set_speed_duplex_known(m, *known).is_ok(), ok);
                if ok {
                    self.known.insert(m, *known);
                    self.stale.insert(m);
                }
            }
            Op::SetBondAddresses { mask } => {
                let v4: Vec<Ipv4Addr> = BOND_V4
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, a)| *a)
                    .collect();
                let v6: Vec<Ipv6Addr> = if mask & 4 != 0 { vec![BOND_V6] } else { vec![] };
                self.mon.set_bond_addresses(&v4, &v6);
            }
            Op::SetMac { member: m, last } => {
                let m = member(*m);
                let mac = [0x02, 0, 0, 0, 0x20, *last];
                let ok = self.mon.link_state(m).is_some();
                assert_eq!(self.mon.set_member_mac(m, mac).is_ok(), ok);
                if ok {
                    self.macs.insert(m, mac);
                }
            }
        }
    }

    /// The invariants after a step.
    fn check(&self) {
        let mon = &self.mon;
        let o = mon.options();
        assert!(!(o.mii_monitoring() && o.arp_monitoring()), "two monitors");
        assert_eq!(mon.wants_rx(), o.arp_monitoring());
        if o.miimon() > 0 {
            assert_eq!(o.updelay() % o.miimon(), 0);
            assert_eq!(o.downdelay() % o.miimon(), 0);
        }
        let members: Vec<usize> = mon.members().collect();
        assert_eq!(members, self.links.keys().copied().collect::<Vec<_>>());
        for &m in &members {
            let state = mon.link_state(m).expect("member");
            assert_eq!(
                self.links.get(&m),
                Some(&state),
                "member {m} state vs events"
            );
            assert_eq!(
                mon.slave_state(m).as_ref(),
                self.roles.get(&m),
                "member {m} role"
            );
            assert_eq!(mon.mii_status(m), Some(state.as_str()));
            let failures = mon.link_failure_count(m).expect("member");
            assert!(failures >= self.failures[&m], "failure count went down");
            let carrier = mon.carrier(m).expect("member");
            if o.mii_monitoring() && !self.stale.contains(&m) {
                let refused = self.needs_speed_duplex && !self.known[&m];
                match state {
                    LinkState::Up => assert!(carrier, "MII: member {m} up without carrier"),
                    LinkState::Back => assert!(carrier, "MII: member {m} back without carrier"),
                    LinkState::Fail => assert!(!carrier, "MII: member {m} failing with carrier"),
                    LinkState::Down => {
                        assert!(!carrier || refused, "MII: member {m} down with carrier")
                    }
                }
            }
        }
        if let Some(a) = mon.active_member() {
            assert!(members.contains(&a), "active member {a} is not a member");
        }
        assert_eq!(mon.current_arp_slave(), self.current_arp_slave);
        if let Some(c) = mon.current_arp_slave() {
            assert!(members.contains(&c));
        }

        // Timers are never in the past.
        if let Some(d) = mon.poll_timeout() {
            assert!(d >= self.now, "deadline {d:?} before {:?}", self.now);
        }
        if o.mii_monitoring() || o.arp_monitoring() {
            assert!(
                mon.poll_timeout().is_some(),
                "a monitor runs without a deadline"
            );
        }

        // Counters.
        let c = mon.counters();
        assert_eq!(c.rx_frames, self.rx_frames, "rx_frames");
        let buckets = c.rx_unvalidated
            + c.rx_filtered
            + c.rx_not_arp_or_ipv6
            + c.rx_other_host
            + c.eth_truncated
            + c.vlan_truncated
            + c.arp_truncated
            + c.arp_bad_hardware_type
            + c.arp_bad_protocol_type
            + c.arp_bad_hardware_len
            + c.arp_bad_protocol_len
            + c.arp_validated
            + c.arp_not_validated
            + c.arp_untrusted
            + c.ipv6_truncated
            + c.ipv6_bad_version
            + c.ipv6_bad_payload_len
            + c.ipv6_not_nd
            + c.nd_truncated
            + c.nd_bad_checksum
            + c.nd_bad_code
            + c.nd_bad_hop_limit
            + c.nd_multicast_target
            + c.nd_bad_option
            + c.nd_validated
            + c.nd_not_validated
            + c.nd_untrusted;
        assert_eq!(
            buckets, c.rx_frames,
            "every received frame counted once: {c:?}"
        );
        assert_eq!(
            c.tx_arp + c.tx_ns,
            self.probes_sent,
            "probes queued vs sent"
        );
        assert_eq!(c.tx_stale, 0, "probes left over although drained");

        // The /proc writers never fail.
        let mut s = String::new();
        mon.write_proc_mii(&mut s).expect("MII lines");
        assert!(s.starts_with("MII Polling Interval (ms): "));
        let mut s = String::new();
        mon.write_proc_arp(&mut s).expect("ARP lines");
        assert_eq!(s.is_empty(), !o.arp_monitoring());
        for w in o.warnings() {
            assert!(!w.to_string().is_empty());
        }
    }
}

/// Runs one input.
pub fn run(input: &Input) {
    let mut h = Harness::new(&input.setup);
    h.check();
    for op in &input.ops {
        h.op(op);
        for (m, f) in h.failures.iter_mut() {
            *f = h.mon.link_failure_count(*m).unwrap_or(*f);
        }
        h.check();
        if crate::input::trace() {
            let states: Vec<_> = h
                .mon
                .members()
                .map(|m| {
                    (
                        m,
                        h.mon.link_state(m),
                        h.mon.slave_state(m),
                        h.mon.carrier(m),
                    )
                })
                .collect();
            eprintln!(
                "{:?} {op:?}\n  active {:?} probing {:?} {states:?}\n  {:?}",
                h.now,
                h.mon.active_member(),
                h.mon.current_arp_slave(),
                h.mon.counters()
            );
        }
    }
}

/// Hand-made seeds.
pub fn seeds() -> Vec<(&'static str, Input)> {
    let base = Setup {
        active_backup: true,
        kind: 1,
        miimon: 9,
        updelay: 2,
        downdelay: 1,
        arp_interval: 4,
        arp_targets: 0b011,
        ns_targets: 0b01,
        validate: 3,
        all_targets: false,
        missed_max: 2,
        members: 2,
        carrier: 0b111,
        auto_select: true,
        routes: 0b1011,
    };
    let arp = Setup {
        kind: 2,
        ..base.clone()
    };
    let adv = |ms: u16| Op::Advance { ms };
    let echo = |member: u8, which: u8| Op::Echo {
        member,
        which,
        flood: false,
    };
    vec![
        (
            "mii-flap-with-delays",
            Input {
                setup: base.clone(),
                ops: vec![
                    adv(500),
                    Op::Carrier {
                        member: 0,
                        up: false,
                    },
                    adv(150),
                    Op::Carrier {
                        member: 0,
                        up: true,
                    },
                    adv(300),
                    Op::Sample {
                        member: 1,
                        up: false,
                    },
                    adv(300),
                    Op::Sample {
                        member: 1,
                        up: true,
                    },
                    adv(500),
                ],
            },
        ),
        (
            "mii-load-balance-usable",
            Input {
                setup: Setup {
                    active_backup: false,
                    ..base.clone()
                },
                ops: vec![
                    Op::SetNeedsSpeedDuplex { needs: true },
                    Op::SetSpeedDuplexKnown {
                        member: 2,
                        known: false,
                    },
                    Op::Carrier {
                        member: 2,
                        up: false,
                    },
                    adv(200),
                    Op::Carrier {
                        member: 2,
                        up: true,
                    },
                    adv(400),
                    Op::SetUsable { count: 0 },
                    Op::Carrier {
                        member: 1,
                        up: false,
                    },
                    Op::Carrier {
                        member: 1,
                        up: true,
                    },
                    adv(400),
                ],
            },
        ),
        (
            "arp-ab-validated-replies",
            Input {
                setup: arp.clone(),
                ops: vec![
                    adv(100),
                    echo(0, 0),
                    echo(0, 1),
                    adv(100),
                    echo(0, 0),
                    echo(0, 2),
                    adv(100),
                    Op::Echo {
                        member: 1,
                        which: 0,
                        flood: true,
                    },
                    echo(0, 0),
                    adv(100),
                    echo(0, 1),
                    adv(500),
                    Op::Carrier {
                        member: 0,
                        up: false,
                    },
                    adv(100),
                    echo(1, 0),
                    echo(1, 2),
                    adv(500),
                ],
            },
        ),
        (
            "arp-lb-ns-targets",
            Input {
                setup: Setup {
                    active_backup: false,
                    validate: 0,
                    arp_targets: 0b100,
                    ns_targets: 0b11,
                    routes: 0b11100,
                    ..arp.clone()
                },
                ops: vec![
                    adv(80),
                    echo(0, 0),
                    echo(1, 3),
                    echo(2, 5),
                    adv(80),
                    echo(0, 1),
                    Op::RxNd {
                        member: 2,
                        na: true,
                        src: 0,
                        dst: 2,
                        target: 0,
                        lladdr: true,
                        hop_ok: true,
                        dst_mac: 1,
                    },
                    adv(300),
                    Op::SetValidate {
                        value: ArpValidate::All,
                    },
                    adv(300),
                ],
            },
        ),
        (
            "switch-monitors",
            Input {
                setup: arp,
                ops: vec![
                    adv(200),
                    Op::SetMiimon { ms: 50 },
                    adv(200),
                    Op::SetOption {
                        name: 3,
                        value: Bytes(b"100".to_vec()),
                    },
                    Op::SetOption {
                        name: 4,
                        value: Bytes(b"+198.18.1.1".to_vec()),
                    },
                    adv(300),
                    Op::RemoveMember { member: 0 },
                    Op::AddMember {
                        member: 0,
                        carrier: true,
                    },
                    adv(300),
                    Op::ApplyMode { uses_arp: false },
                    adv(300),
                ],
            },
        ),
    ]
}
