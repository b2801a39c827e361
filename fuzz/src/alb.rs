//! `alb`: one `arp_alb::Alb` (balance-tlb or balance-alb, with or without dynamic TLB and
//! the IPv6 extension) driven by an op sequence: frames from the host (IP to clients, the
//! host's ARP and NS/NA, raw bytes), ARP and ND received from clients (valid ones built from
//! the op, and raw bytes), members added, removed, failing, recovering and changing speed,
//! the bond MAC, VLANs, `lp_interval`, and time. The caller acts as the engine: when the
//! active member goes down or leaves it picks the first member that is up, as Linux's
//! active-slave selection does.
//!
//! After every step: the client tables are within their bound, indexed by the XOR of the
//! client address and never hold a client on a member that is down; TLB entries are never
//! on a member that is down; nothing is transmitted (or chosen for a host frame) on a member
//! that cannot send; the active member carries the bond's address and, in balance-alb,
//! every member has its own; the addresses programmed by the events are the ones the status
//! shows; timers are never in the past; counters add up.

use crate::frames;
use crate::input::{Bytes, Encode, encode_rest, op_enum, op_struct};
use arbitrary::Arbitrary;
use arp_alb::wire::{self as w, MacAddr, simple_hash};
use arp_alb::{
    Alb, Config, Event, LpInterval, MemberLink, Mode, TlbDynamicLb, Transmit, TransmitKind,
    TxDecision, TxDrop, Vlan,
};
use core::net::{Ipv4Addr, Ipv6Addr};
use core::time::Duration;
use std::collections::{BTreeMap, BTreeSet};

/// Member indices 0..MEMBERS.
pub const MEMBERS: usize = 5;

const BOND_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0x30, 0xaa]);
const SERVER_V4: [Ipv4Addr; 2] = [Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2)];
const SERVER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);

fn perm_mac(m: usize) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, 0x30, m as u8])
}

fn client_mac(n: u8) -> MacAddr {
    MacAddr([0x02, 0xc0, 0, 0, 0, n])
}

fn client_v4(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 1 + n % 3, n)
}

fn client_v6(n: u8) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, u16::from(n % 3), u16::from(n))
}

impl Encode for MemberLink {
    fn encode(&self, out: &mut Vec<u8>) {
        let i = match self {
            Self::Up => 0,
            Self::Fail => 1,
            Self::Down => 2,
            Self::Back => 3,
        };
        crate::input::encode_variant(out, i, 4);
    }
}

op_struct! {
    /// How the bond starts.
    pub struct Setup {
        pub alb: bool,
        pub dynamic_lb: bool,
        pub ipv6: bool,
        pub lp_interval: u8,
        /// Members 0..=members%5 are added up, 1 Gb/s, with their own addresses.
        pub members: u8,
        /// Bit i: VLAN i (of four) is on the bond.
        pub vlans: u8,
    }
}

op_enum! {
    /// One step.
    pub enum Op {
        /// Add a member: `mac % 4`: its own address, the bond's, another member's, or
        /// member 0's.
        AddMember { member: u8, mac: u8, speed: u8, link: MemberLink },
        /// Remove a member.
        RemoveMember { member: u8 },
        /// A member's link state.
        SetLink { member: u8, link: MemberLink },
        /// A member's speed.
        SetSpeed { member: u8, speed: u8 },
        /// The engine makes a member that is up active (`member % 6 == 5`: none, a
        /// missing member: refused).
        SetActive { member: u8 },
        /// The bond's MAC: `which % 4`: its own, another, a member's current, or invalid.
        SetBondMac { which: u8 },
        /// `lp_interval` in seconds.
        SetLpInterval { secs: u8 },
        /// The bond's VLANs (bit i: VLAN i of four).
        SetVlans { mask: u8 },
        /// An IP packet from the host to a client (`dst_mac % 4`: the client's, broadcast,
        /// multicast, all-nodes).
        HostIp { v6: bool, client: u8, proto: u8, dst_mac: u8, len: u8, vlan: u8 },
        /// The host's ARP (`op % 4`: request, reply, reply, other; `sender % 4`: a member's
        /// address, the bond's, a foreign one, the active's).
        HostArp { op: u8, sender: u8, server: u8, client: u8, tha: u8, vlan: u8 },
        /// The host's NS or NA (IPv6 extension).
        HostNd { na: bool, router: bool, sender: u8, client: u8, to_group: bool, vlan: u8 },
        /// Raw bytes from the host, hashed with `hash`.
        HostRaw { frame: Bytes, hash: u32 },
        /// An ARP from a client received on a member (`sender % 4`: the client, another
        /// client, the bond, a member).
        RxArp { member: u8, op: u8, sender: u8, client: u8, server: u8, vlan: u8 },
        /// An NS or NA from a client received on a member.
        RxNd { member: u8, na: bool, client: u8, sender: u8, to_group: bool },
        /// Raw bytes received on a member.
        RxRaw { member: u8, frame: Bytes },
        /// Advance time by `ms` (times 4), handling every deadline on the way.
        Advance { ms: u16 },
        /// Advance to the next deadline.
        AdvanceToNext,
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

const SPEEDS: [u32; 6] = [1_000, 10_000, 100, 25_000, 0, u32::MAX];

fn vlan_set(mask: u8) -> Vec<Vlan> {
    let all = [
        Vlan {
            tpid: 0x8100,
            vid: 100,
            mac: None,
        },
        Vlan {
            tpid: 0x8100,
            vid: 200,
            mac: Some(MacAddr([0x02, 0, 0, 0, 0x31, 0xc8])),
        },
        Vlan {
            tpid: 0x88a8,
            vid: 300,
            mac: None,
        },
        Vlan {
            tpid: 0x8100,
            vid: 4095,
            mac: None,
        },
    ];
    all.iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, v)| *v)
        .collect()
}

fn tag(vlan: u8) -> Option<w::VlanTag> {
    match vlan % 4 {
        0 | 3 => None,
        1 => Some(w::VlanTag::dot1q(100)),
        _ => Some(w::VlanTag {
            tpid: 0x88a8,
            tci: 300,
        }),
    }
}

fn frame(dst: MacAddr, src: MacAddr, vlan: u8, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let repr = w::EthernetRepr {
        dst,
        src,
        vlan: tag(vlan),
        ethertype,
    };
    let mut f = vec![0u8; repr.buffer_len()];
    let _ = repr.emit(&mut f);
    f.extend_from_slice(payload);
    f
}

struct Harness {
    now: Duration,
    alb: Alb,
    mode: Mode,
    /// The hardware address each member was last told to program.
    hw: BTreeMap<usize, MacAddr>,
    promisc: BTreeSet<usize>,
    /// A member removed by the current step (its last events may follow).
    removed: Option<usize>,
    tx_decisions: u64,
}

impl Harness {
    fn new(setup: &Setup) -> Self {
        let mode = if setup.alb {
            Mode::BalanceAlb
        } else {
            Mode::BalanceTlb
        };
        let config = Config {
            tlb_dynamic_lb: if setup.dynamic_lb {
                TlbDynamicLb::On
            } else {
                TlbDynamicLb::Off
            },
            lp_interval: LpInterval::new(u32::from(setup.lp_interval % 5 + 1)).expect("1..=5"),
            rlb_ipv6: setup.ipv6,
            ..Config::new(mode, BOND_MAC)
        };
        let mut h = Self {
            now: Duration::ZERO,
            alb: Alb::new(config).expect("valid bond MAC"),
            mode,
            hw: BTreeMap::new(),
            promisc: BTreeSet::new(),
            removed: None,
            tx_decisions: 0,
        };
        h.alb
            .set_vlans(&vlan_set(setup.vlans))
            .expect("valid VLANs");
        for m in 0..=usize::from(setup.members) % MEMBERS {
            h.add(m, perm_mac(m), 1_000, MemberLink::Up);
        }
        h.engine();
        h.drain();
        h
    }

    fn add(&mut self, m: usize, mac: MacAddr, speed: u32, link: MemberLink) {
        let exists = self.alb.member(m).is_some();
        match self.alb.add_member(self.now, m, mac, speed, link) {
            Ok(()) => {
                assert!(!exists);
                let st = self.alb.member(m).expect("added");
                assert_eq!((st.perm_mac, st.speed_mbps, st.link), (mac, speed, link));
            }
            Err(arp_alb::Error::MemberExists(i)) => assert!(exists && i == m),
            Err(arp_alb::Error::NoFreeMac(i)) => assert!(!exists && i == m),
            Err(e) => panic!("add_member: {e}"),
        }
    }

    /// The engine's active-member selection: keep an active member that has not gone down,
    /// else the first member that is up.
    fn engine(&mut self) {
        let keep = self
            .alb
            .active()
            .and_then(|a| self.alb.member(a))
            .is_some_and(|st| st.link != MemberLink::Down);
        if keep {
            return;
        }
        let best = self
            .alb
            .members()
            .find(|st| st.link == MemberLink::Up)
            .map(|st| st.index);
        if best != self.alb.active() {
            self.alb
                .set_active(self.now, best)
                .expect("existing member");
            assert_eq!(self.alb.active(), best);
        }
    }

    fn drain(&mut self) {
        while let Some(e) = self.alb.poll_event() {
            match e {
                Event::SetMemberMac { member, mac } => {
                    assert!(
                        self.alb.member(member).is_some() || self.removed == Some(member),
                        "{e:?} for a missing member"
                    );
                    self.hw.insert(member, mac);
                }
                Event::SetPromiscuous { member, enabled } => {
                    if enabled {
                        assert!(self.alb.member(member).is_some(), "{e:?}");
                        assert!(self.promisc.is_empty(), "two members promiscuous");
                        self.promisc.insert(member);
                    } else {
                        assert!(self.promisc.remove(&member), "{e:?} while not promiscuous");
                    }
                }
            }
        }
        if let Some(r) = self.removed.take() {
            self.hw.remove(&r);
        }
        let mut n = 0;
        while let Some(tx) = self.alb.poll_transmit(self.now) {
            n += 1;
            assert!(n <= 100_000, "poll_transmit does not end");
            self.check_transmit(&tx);
        }
    }

    fn check_transmit(&self, tx: &Transmit) {
        let st = self
            .alb
            .member(tx.member)
            .unwrap_or_else(|| panic!("transmit on missing member {}", tx.member));
        let f = w::EthernetFrame::new_checked(tx.frame()).expect("own frame");
        match tx.kind {
            TransmitKind::LearningFrame => {
                assert!(
                    matches!(st.link, MemberLink::Up | MemberLink::Back),
                    "learning frame on member {} without carrier ({:?})",
                    tx.member,
                    st.link
                );
                assert_eq!(f.ethertype(), w::ethertype::LOOPBACK);
                assert_eq!(f.src(), f.dst());
                assert_eq!(
                    tx.frame().len(),
                    60 + if f.vlan().is_some() { 4 } else { 0 }
                );
            }
            TransmitKind::ArpUpdate => {
                assert_eq!(
                    st.link,
                    MemberLink::Up,
                    "ARP update on member {}",
                    tx.member
                );
                assert_eq!(f.ethertype(), w::ethertype::ARP);
                let p = w::ArpPacket::new_checked(f.payload()).expect("ARP");
                let arp = w::ArpRepr::parse(&p).expect("ARP parses");
                assert_eq!(arp.operation, w::ArpOperation::Reply);
                assert_eq!(arp.source_hardware_addr, f.src());
                assert_eq!(arp.target_hardware_addr, f.dst());
                assert!(f.dst().is_valid_unicast(), "update to {}", f.dst());
            }
            TransmitKind::NeighborAdvertUpdate => {
                assert_eq!(st.link, MemberLink::Up, "NA update on member {}", tx.member);
                assert_eq!(f.ethertype(), w::ethertype::IPV6);
                let m = w::NdMessage::parse_checked(f.payload()).expect("NA verifies");
                assert_eq!(m.kind, w::NdKind::Advertisement);
                assert_eq!(m.lla.map(|o| o.mac), Some(f.src()));
                assert!(f.dst().is_valid_unicast());
            }
        }
    }

    fn member_exists(&self, m: usize) -> bool {
        self.alb.member(m).is_some()
    }

    /// A frame from the host.
    fn host(&mut self, mut f: Vec<u8>, hash: Option<u32>) {
        let before = f.clone();
        let active = self.alb.active();
        let d = match hash {
            Some(h) => self.alb.select_tx(self.now, &mut f, |_| h),
            None => self.alb.select_tx(self.now, &mut f, |fr| {
                xmit_hash::hash(xmit_hash::Policy::Layer34, fr)
            }),
        };
        self.tx_decisions += 1;
        match d {
            TxDecision::Send { member, src_mac } => {
                let st = self.alb.member(member).expect("chosen member exists");
                assert_eq!(st.link, MemberLink::Up, "host frame on member {member}");
                if Some(member) == active {
                    assert_eq!(src_mac, None);
                } else {
                    assert_eq!(src_mac, Some(st.mac));
                    assert_eq!(&f[6..12], &st.mac.0);
                }
                // Only the source address and, for the host's ARP and ND, the address it
                // announces change.
                if f.len() >= 14
                    && !matches!(
                        u16::from_be_bytes([f[12], f[13]]),
                        0x0806 | 0x86dd | 0x8100 | 0x88a8
                    )
                {
                    assert_eq!(&f[..6], &before[..6]);
                    assert_eq!(&f[12..], &before[12..]);
                }
            }
            TxDecision::Drop(TxDrop::Runt) => assert!(before.len() < 14),
            TxDecision::Drop(TxDrop::NoActiveMember) => assert_eq!(active, None),
            TxDecision::Drop(TxDrop::MemberCannotTx) => {}
        }
        assert_eq!(f.len(), before.len());
        self.drain();
    }

    fn rx(&mut self, m: usize, f: &[u8]) {
        let exists = self.member_exists(m);
        assert_eq!(self.alb.handle_rx(self.now, m, f).is_ok(), exists);
        self.drain();
    }

    fn timeout_at(&mut self, t: Duration) {
        assert!(t >= self.now);
        self.now = t;
        let due = self.alb.poll_timeout().is_some_and(|d| d <= t);
        self.alb.handle_timeout(t);
        self.drain();
        if let Some(d) = self.alb.poll_timeout() {
            if due {
                assert!(
                    d > t,
                    "deadline {d:?} still due after handle_timeout({t:?})"
                );
            }
        }
    }

    fn advance(&mut self, ms: u64) {
        let end = self.now + Duration::from_millis(ms);
        for _ in 0..2_000 {
            match self.alb.poll_timeout() {
                Some(d) if d <= end => self.timeout_at(d.max(self.now)),
                _ => break,
            }
        }
        self.timeout_at(end);
    }

    fn member_mac_choice(&self, which: u8) -> MacAddr {
        let members: Vec<MacAddr> = self.alb.members().map(|st| st.mac).collect();
        match which % 4 {
            0 => members.first().copied().unwrap_or(BOND_MAC),
            1 => BOND_MAC,
            2 => MacAddr([0x02, 0xee, 0, 0, 0, which]),
            _ => members
                .get(usize::from(which) % members.len().max(1))
                .copied()
                .unwrap_or(BOND_MAC),
        }
    }

    fn op(&mut self, op: &Op) {
        match op {
            Op::AddMember {
                member,
                mac,
                speed,
                link,
            } => {
                let m = usize::from(*member) % MEMBERS;
                let mac = match mac % 4 {
                    0 => perm_mac(m),
                    1 => self.alb.bond_mac(),
                    2 => perm_mac(usize::from(*mac / 4) % MEMBERS),
                    _ => perm_mac(0),
                };
                self.add(m, mac, SPEEDS[usize::from(*speed) % SPEEDS.len()], *link);
            }
            Op::RemoveMember { member } => {
                let m = usize::from(*member) % MEMBERS;
                let exists = self.member_exists(m);
                assert_eq!(self.alb.remove_member(self.now, m).is_ok(), exists);
                if exists {
                    assert!(self.alb.member(m).is_none());
                    assert_ne!(self.alb.active(), Some(m));
                    self.removed = Some(m);
                }
            }
            Op::SetLink { member, link } => {
                let m = usize::from(*member) % MEMBERS;
                let exists = self.member_exists(m);
                assert_eq!(self.alb.set_link(self.now, m, *link).is_ok(), exists);
            }
            Op::SetSpeed { member, speed } => {
                let m = usize::from(*member) % MEMBERS;
                let exists = self.member_exists(m);
                let s = SPEEDS[usize::from(*speed) % SPEEDS.len()];
                assert_eq!(self.alb.set_speed(m, s).is_ok(), exists);
            }
            Op::SetActive { member } => {
                let v = usize::from(*member) % (MEMBERS + 1);
                if v == MEMBERS {
                    // Only with no member up would an engine have none.
                    if self.alb.members().all(|st| st.link != MemberLink::Up) {
                        self.alb.set_active(self.now, None).expect("none");
                    }
                } else {
                    match self.alb.member(v) {
                        None => assert!(self.alb.set_active(self.now, Some(v)).is_err()),
                        Some(st) if st.link == MemberLink::Up => {
                            self.alb.set_active(self.now, Some(v)).expect("member");
                            assert_eq!(self.alb.active(), Some(v));
                        }
                        Some(_) => {}
                    }
                }
            }
            Op::SetBondMac { which } => {
                let mac = match which % 4 {
                    0 => BOND_MAC,
                    1 => MacAddr([0x02, 0, 0, 0, 0x30, 0xbb]),
                    2 => self.member_mac_choice(*which / 4),
                    _ => MacAddr([0x03, 0, 0, 0, 0, 1]),
                };
                let ok = mac.is_valid_unicast();
                assert_eq!(self.alb.set_bond_mac(self.now, mac).is_ok(), ok);
                if ok {
                    assert_eq!(self.alb.bond_mac(), mac);
                }
            }
            Op::SetLpInterval { secs } => {
                let lp = LpInterval::new(u32::from(*secs % 10) + 1).expect("1..=10");
                self.alb.set_lp_interval(self.now, lp);
            }
            Op::SetVlans { mask } => {
                self.alb.set_vlans(&vlan_set(*mask)).expect("valid VLANs");
            }
            Op::HostIp {
                v6,
                client,
                proto,
                dst_mac,
                len,
                vlan,
            } => {
                let dst = match dst_mac % 4 {
                    0 => client_mac(*client),
                    1 => MacAddr::BROADCAST,
                    2 => MacAddr([0x01, 0, 0x5e, 0, 0, 1]),
                    _ => MacAddr::IPV6_ALL_NODES,
                };
                let payload = vec![0u8; usize::from(*len)];
                let l3 = if *v6 {
                    frames::ipv6(
                        SERVER_V6.octets(),
                        client_v6(*client).octets(),
                        *proto,
                        &payload,
                    )
                } else {
                    frames::ipv4(
                        SERVER_V4[0].octets(),
                        client_v4(*client).octets(),
                        *proto,
                        &payload,
                    )
                };
                let f = frame(dst, BOND_MAC, *vlan, if *v6 { 0x86dd } else { 0x0800 }, &l3);
                self.host(f, None);
            }
            Op::HostArp {
                op,
                sender,
                server,
                client,
                tha,
                vlan,
            } => {
                let sha = match sender % 4 {
                    0 => self.member_mac_choice(3),
                    1 => self.alb.bond_mac(),
                    2 => MacAddr([0x02, 0xee, 0, 0, 0, 1]),
                    _ => self
                        .alb
                        .active()
                        .and_then(|a| self.alb.member(a))
                        .map_or(BOND_MAC, |st| st.mac),
                };
                let opcode = match op % 4 {
                    0 => 1,
                    1 | 2 => 2,
                    _ => 7,
                };
                let (dst, tha) = match (opcode, tha % 3) {
                    (1, 0) => (MacAddr::BROADCAST, MacAddr::ZERO),
                    (1, 1) => (MacAddr::BROADCAST, MacAddr::BROADCAST),
                    (_, 2) => (client_mac(*client), MacAddr::ZERO),
                    _ => (client_mac(*client), client_mac(*client)),
                };
                let arp = frames::arp(
                    opcode,
                    sha.0,
                    SERVER_V4[usize::from(*server) % 2].octets(),
                    tha.0,
                    client_v4(*client).octets(),
                );
                let f = frame(dst, sha, *vlan, 0x0806, &arp);
                self.host(f, None);
            }
            Op::HostNd {
                na,
                router,
                sender,
                client,
                to_group,
                vlan,
            } => {
                let lla = match sender % 3 {
                    0 => self.member_mac_choice(3),
                    1 => self.alb.bond_mac(),
                    _ => MacAddr([0x02, 0xee, 0, 0, 0, 2]),
                };
                let c = client_v6(*client);
                let (dst_ip, dst_mac, target) = match (na, to_group) {
                    (true, true) => (
                        Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
                        MacAddr::IPV6_ALL_NODES,
                        SERVER_V6,
                    ),
                    (true, false) => (c, client_mac(*client), SERVER_V6),
                    (false, true) => {
                        let g = frames::solicited_node(&c.octets());
                        (
                            Ipv6Addr::from(g),
                            MacAddr([0x33, 0x33, g[12], g[13], g[14], g[15]]),
                            c,
                        )
                    }
                    (false, false) => (c, client_mac(*client), c),
                };
                let flags = if *na {
                    0x20 | if *router { 0x80 } else { 0 } | if *to_group { 0 } else { 0x40 }
                } else {
                    0
                };
                let ip = frames::ndisc(
                    *na,
                    flags,
                    SERVER_V6.octets(),
                    dst_ip.octets(),
                    target.octets(),
                    Some(lla.0),
                );
                let f = frame(dst_mac, lla, *vlan, 0x86dd, &ip);
                self.host(f, None);
            }
            Op::HostRaw { frame: f, hash } => self.host(f.0.clone(), Some(*hash)),
            Op::RxArp {
                member,
                op,
                sender,
                client,
                server,
                vlan,
            } => {
                let m = usize::from(*member) % MEMBERS;
                let sha = match sender % 4 {
                    0 => client_mac(*client),
                    1 => client_mac(client.wrapping_add(1)),
                    2 => self.alb.bond_mac(),
                    _ => self.member_mac_choice(3),
                };
                let opcode = match op % 3 {
                    0 => 1,
                    1 => 2,
                    _ => 5,
                };
                let (spa, tpa) = if sender % 4 == 1 {
                    // Another host claims a server address.
                    (SERVER_V4[usize::from(*server) % 2], client_v4(*client))
                } else {
                    (client_v4(*client), SERVER_V4[usize::from(*server) % 2])
                };
                let dst = self.alb.member(m).map_or(BOND_MAC, |st| st.mac);
                let arp = frames::arp(opcode, sha.0, spa.octets(), dst.0, tpa.octets());
                let f = frame(dst, sha, *vlan, 0x0806, &arp);
                self.rx(m, &f);
            }
            Op::RxNd {
                member,
                na,
                client,
                sender,
                to_group,
            } => {
                let m = usize::from(*member) % MEMBERS;
                let mac = match sender % 3 {
                    0 => client_mac(*client),
                    1 => self.alb.bond_mac(),
                    _ => MacAddr([0x02, 0xee, 0, 0, 0, 3]),
                };
                let c = client_v6(*client);
                let dst = if *to_group {
                    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)
                } else {
                    SERVER_V6
                };
                let target = if *na { c } else { SERVER_V6 };
                let ip = frames::ndisc(
                    *na,
                    if *na { 0x60 } else { 0 },
                    c.octets(),
                    dst.octets(),
                    target.octets(),
                    Some(mac.0),
                );
                let f = frame(BOND_MAC, mac, 0, 0x86dd, &ip);
                self.rx(m, &f);
            }
            Op::RxRaw { member, frame: f } => self.rx(usize::from(*member) % MEMBERS, &f.0),
            Op::Advance { ms } => self.advance(u64::from(*ms) * 4),
            Op::AdvanceToNext => {
                if let Some(d) = self.alb.poll_timeout() {
                    let d = d.min(self.now + Duration::from_secs(120));
                    self.timeout_at(d.max(self.now));
                }
            }
        }
    }

    /// The invariants after a step.
    fn check(&self) {
        let alb = &self.alb;
        let members: BTreeMap<usize, arp_alb::MemberStatus> =
            alb.members().map(|st| (st.index, st)).collect();
        let down = |m: usize| members.get(&m).is_none_or(|st| st.link == MemberLink::Down);

        // Clients: within the bound, indexed by the address, never on a member that is down.
        for (what, clients) in [
            (
                "IPv4",
                alb.clients()
                    .map(|c| (c.index, simple_hash(&c.client_ip.octets()), c.member))
                    .collect::<Vec<_>>(),
            ),
            (
                "IPv6",
                alb.clients6()
                    .map(|c| (c.index, simple_hash(&c.client_ip.octets()), c.member))
                    .collect::<Vec<_>>(),
            ),
        ] {
            assert!(
                clients.len() <= arp_alb::RLB_HASH_TABLE_SIZE,
                "{what} table"
            );
            let mut seen = BTreeSet::new();
            for (index, hash, member) in clients {
                assert_eq!(index, hash, "{what} client index");
                assert!(seen.insert(index), "{what} client index {index} twice");
                if let Some(m) = member {
                    assert!(
                        !down(m),
                        "{what} client {index} on member {m}, which is down"
                    );
                }
            }
        }
        if self.mode == Mode::BalanceTlb {
            assert_eq!(alb.clients().count() + alb.clients6().count(), 0);
        }
        let mut per_member: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
        for c in alb.clients() {
            if let Some(m) = c.member {
                per_member.entry(m).or_default().1 += 1;
            }
        }
        for c in alb.clients6() {
            if let Some(m) = c.member {
                per_member.entry(m).or_default().1 += 1;
            }
        }
        // TLB entries are never on a member that is down.
        for e in alb.tlb_entries() {
            if let Some(m) = e.member {
                assert!(
                    !down(m),
                    "TLB entry {} on member {m}, which is down",
                    e.index
                );
                per_member.entry(m).or_default().0 += 1;
            }
        }
        for (m, st) in &members {
            let (entries, clients) = per_member.get(m).copied().unwrap_or_default();
            assert_eq!(st.tlb_entries, entries, "member {m} TLB entries");
            assert_eq!(st.rlb_clients, clients, "member {m} clients");
        }

        // Addresses: the active member carries the bond's; in balance-alb every member has
        // its own; the events programmed what the status shows.
        if let Some(a) = alb.active() {
            let st = members.get(&a).expect("active member exists");
            assert_eq!(st.mac, alb.bond_mac(), "active member's address");
        }
        if self.mode == Mode::BalanceAlb {
            let macs: BTreeSet<MacAddr> = members.values().map(|st| st.mac).collect();
            assert_eq!(macs.len(), members.len(), "two members share an address");
        }
        for (m, st) in &members {
            let want = match self.mode {
                Mode::BalanceAlb => st.mac,
                Mode::BalanceTlb => alb.bond_mac(),
            };
            assert_eq!(self.hw.get(m), Some(&want), "member {m} programmed address");
        }
        let promisc: BTreeSet<usize> = alb.promiscuous_member().into_iter().collect();
        assert_eq!(promisc, self.promisc, "promiscuous member");

        // Timers are never in the past.
        if let Some(d) = alb.poll_timeout() {
            assert!(d >= self.now, "deadline {d:?} before {:?}", self.now);
        }

        let c = alb.counters();
        assert_eq!(
            c.tx_balanced
                + c.tx_to_active
                + c.tx_rlb
                + c.tx_drop_runt
                + c.tx_drop_no_active
                + c.tx_drop_member_cannot_tx,
            self.tx_decisions,
            "every host frame decided once"
        );
        assert_eq!(c.tx_control_overflow, 0);
        assert_eq!(c.event_overflow, 0);
    }
}

/// Runs one input.
pub fn run(input: &Input) {
    let mut h = Harness::new(&input.setup);
    h.check();
    for op in &input.ops {
        h.op(op);
        h.drain();
        h.engine();
        h.drain();
        h.check();
        if crate::input::trace() {
            eprintln!(
                "{:?} {op:?}\n  active {:?} members {:?}\n  clients {:?}",
                h.now,
                h.alb.active(),
                h.alb.members().collect::<Vec<_>>(),
                h.alb
                    .clients()
                    .map(|c| (c.client_ip, c.member, c.client_mac))
                    .collect::<Vec<_>>()
            );
        }
    }
}

/// Hand-made seeds.
pub fn seeds() -> Vec<(&'static str, Input)> {
    let setup = Setup {
        alb: true,
        dynamic_lb: true,
        ipv6: false,
        lp_interval: 0,
        members: 2,
        vlans: 0b0011,
    };
    let adv = |ms: u16| Op::Advance { ms };
    let host_arp = |op: u8, client: u8| Op::HostArp {
        op,
        sender: 3,
        server: 0,
        client,
        tha: 0,
        vlan: 0,
    };
    let reply = |member: u8, client: u8| Op::RxArp {
        member,
        op: 1,
        sender: 0,
        client,
        server: 0,
        vlan: 0,
    };
    let mut clients = Vec::new();
    for c in 1..8u8 {
        clients.push(host_arp(0, c));
        clients.push(reply(0, c));
        clients.push(host_arp(1, c));
    }
    vec![
        (
            "alb-clients-failover",
            Input {
                setup: setup.clone(),
                ops: [
                    clients.clone(),
                    vec![
                        adv(600),
                        Op::SetLink {
                            member: 1,
                            link: MemberLink::Fail,
                        },
                        Op::SetLink {
                            member: 1,
                            link: MemberLink::Down,
                        },
                        adv(600),
                        Op::SetLink {
                            member: 1,
                            link: MemberLink::Up,
                        },
                        adv(3000),
                        Op::RemoveMember { member: 0 },
                        adv(600),
                    ],
                ]
                .concat(),
            },
        ),
        (
            "alb-ipv6-clients",
            Input {
                setup: Setup {
                    ipv6: true,
                    ..setup.clone()
                },
                ops: vec![
                    Op::HostNd {
                        na: false,
                        router: false,
                        sender: 1,
                        client: 5,
                        to_group: true,
                        vlan: 0,
                    },
                    Op::RxNd {
                        member: 1,
                        na: true,
                        client: 5,
                        sender: 0,
                        to_group: false,
                    },
                    Op::HostNd {
                        na: true,
                        router: true,
                        sender: 1,
                        client: 5,
                        to_group: false,
                        vlan: 1,
                    },
                    Op::HostNd {
                        na: true,
                        router: false,
                        sender: 1,
                        client: 9,
                        to_group: true,
                        vlan: 0,
                    },
                    adv(1000),
                    Op::AddMember {
                        member: 3,
                        mac: 0,
                        speed: 1,
                        link: MemberLink::Up,
                    },
                    adv(1000),
                ],
            },
        ),
        (
            "tlb-dynamic-rebalance",
            Input {
                setup: Setup {
                    alb: false,
                    ..setup.clone()
                },
                ops: vec![
                    Op::HostIp {
                        v6: false,
                        client: 1,
                        proto: 17,
                        dst_mac: 0,
                        len: 100,
                        vlan: 0,
                    },
                    Op::HostIp {
                        v6: false,
                        client: 2,
                        proto: 6,
                        dst_mac: 0,
                        len: 200,
                        vlan: 1,
                    },
                    Op::HostIp {
                        v6: true,
                        client: 3,
                        proto: 17,
                        dst_mac: 0,
                        len: 50,
                        vlan: 0,
                    },
                    Op::HostIp {
                        v6: false,
                        client: 4,
                        proto: 17,
                        dst_mac: 1,
                        len: 10,
                        vlan: 0,
                    },
                    adv(3000),
                    Op::SetSpeed {
                        member: 0,
                        speed: 1,
                    },
                    Op::SetActive { member: 2 },
                    adv(3000),
                    Op::SetBondMac { which: 1 },
                    adv(300),
                ],
            },
        ),
        (
            "alb-collisions-and-bond-mac",
            Input {
                setup: Setup {
                    members: 0,
                    ..setup
                },
                ops: [
                    vec![
                        Op::AddMember {
                            member: 1,
                            mac: 1,
                            speed: 0,
                            link: MemberLink::Up,
                        },
                        Op::AddMember {
                            member: 2,
                            mac: 2,
                            speed: 1,
                            link: MemberLink::Back,
                        },
                        Op::SetLink {
                            member: 2,
                            link: MemberLink::Up,
                        },
                        Op::SetBondMac { which: 2 + 4 * 3 },
                    ],
                    clients,
                    vec![
                        Op::RxArp {
                            member: 0,
                            op: 1,
                            sender: 1,
                            client: 3,
                            server: 0,
                            vlan: 0,
                        },
                        Op::SetVlans { mask: 0 },
                        adv(1000),
                        Op::RemoveMember { member: 1 },
                        adv(3000),
                    ],
                ]
                .concat(),
            },
        ),
    ]
}
