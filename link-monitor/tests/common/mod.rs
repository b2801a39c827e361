//! A deterministic simulation in virtual time: one bond's monitor, its members, a switch that
//! floods broadcasts to the other members, ARP/NS targets that answer after a round trip, and
//! other hosts' traffic.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use link_monitor::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetRepr, NaFlags, NdMessage, NdPacket,
    NdiscRepr, ethertype,
};
use link_monitor::{
    Event, LinkMonitor, LinkState, MonitorOptions, MonitorStyle, Probe, ProbeRoute, Transmit,
    VlanPath,
};

pub const BOND_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
pub const TARGET: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub const TARGET2: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
pub const OTHER_HOST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 99);
pub const BOND_IP6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0x10);
pub const TARGET6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);

pub fn target_mac(ip: Ipv4Addr) -> [u8; 6] {
    [2, 0, 0, 0, 1, ip.octets()[3]]
}
pub const TARGET6_MAC: [u8; 6] = [2, 0, 0, 0, 6, 1];
pub const OTHER_MAC: [u8; 6] = [2, 0, 0, 0, 9, 9];

/// The member MAC (all members carry the bond's MAC, as in Linux without fail_over_mac).
pub const BOND_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x10];

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An ARP request from another host, broadcast.
pub fn foreign_arp() -> Vec<u8> {
    let mut f = vec![0u8; 42];
    let eth = EthernetRepr {
        dst: [0xff; 6],
        src: OTHER_MAC,
        vlans: VlanPath::NONE,
        ethertype: ethertype::ARP,
    };
    let h = eth.emit(&mut f).unwrap();
    ArpRepr {
        operation: ArpOperation::Request,
        sender_hardware_addr: OTHER_MAC,
        sender_protocol_addr: OTHER_HOST,
        target_hardware_addr: [0; 6],
        target_protocol_addr: Ipv4Addr::new(198, 18, 0, 98),
    }
    .emit(&mut f[h..])
    .unwrap();
    f
}

/// A broadcast frame from another host that is neither ARP nor IPv6 (an IPv4 broadcast).
pub fn foreign_ipv4() -> Vec<u8> {
    let mut f = vec![0u8; 60];
    let eth = EthernetRepr {
        dst: [0xff; 6],
        src: OTHER_MAC,
        vlans: VlanPath::NONE,
        ethertype: ethertype::IPV4,
    };
    eth.emit(&mut f).unwrap();
    f[14] = 0x45;
    f
}

pub fn arp_reply(from: Ipv4Addr, to_mac: [u8; 6], to_ip: Ipv4Addr) -> Vec<u8> {
    let mut f = vec![0u8; 42];
    let eth = EthernetRepr {
        dst: to_mac,
        src: target_mac(from),
        vlans: VlanPath::NONE,
        ethertype: ethertype::ARP,
    };
    let h = eth.emit(&mut f).unwrap();
    ArpRepr {
        operation: ArpOperation::Reply,
        sender_hardware_addr: target_mac(from),
        sender_protocol_addr: from,
        target_hardware_addr: to_mac,
        target_protocol_addr: to_ip,
    }
    .emit(&mut f[h..])
    .unwrap();
    f
}

pub fn na_reply(from: Ipv6Addr, to_mac: [u8; 6], to_ip: Ipv6Addr) -> Vec<u8> {
    let repr = NdiscRepr {
        message: NdMessage::NeighborAdvert {
            flags: NaFlags::SOLICITED | NaFlags::OVERRIDE,
        },
        src_addr: from,
        dst_addr: to_ip,
        hop_limit: 255,
        target_addr: from,
        lladdr: Some(TARGET6_MAC),
    };
    let mut f = vec![0u8; 14 + repr.buffer_len()];
    let eth = EthernetRepr {
        dst: to_mac,
        src: TARGET6_MAC,
        vlans: VlanPath::NONE,
        ethertype: ethertype::IPV6,
    };
    let h = eth.emit(&mut f).unwrap();
    repr.emit(&mut f[h..]).unwrap();
    f
}

struct Periodic {
    member: usize,
    next: Duration,
    period: Duration,
    until: Duration,
    frame: Vec<u8>,
}

pub struct Sim {
    pub mon: LinkMonitor,
    pub now: Duration,
    pub events: Vec<Event>,
    pub sent: Vec<(Duration, Transmit)>,
    queue: BTreeMap<(Duration, u64), (usize, Vec<u8>)>,
    seq: u64,
    periodic: Vec<Periodic>,
    /// Run the engine's selection on `SelectActive` (first member that is up).
    pub auto_select: bool,
    /// Per member: its path through the switch works (frames in and out).
    pub path: Vec<bool>,
    /// Per member: the switch floods broadcasts/multicasts from other members to it.
    pub flooded: Vec<bool>,
    /// Per member: the target can be reached through it (else its probes go nowhere).
    pub reaches_target: Vec<bool>,
    /// Targets that answer.
    pub alive4: Vec<Ipv4Addr>,
    pub alive6: Vec<Ipv6Addr>,
    /// Corrupt the ICMPv6 checksum of the advertisements the NS target sends.
    pub bad_na_checksum: bool,
    pub rtt: Duration,
}

impl Sim {
    pub fn new(options: MonitorOptions, style: MonitorStyle, members: usize) -> Self {
        let mut mon = LinkMonitor::new(Duration::ZERO, options.clone(), style);
        for i in 0..members {
            mon.add_member(Duration::ZERO, i, BOND_MAC, true).unwrap();
        }
        mon.set_bond_addresses(&[BOND_IP], &[BOND_IP6]);
        for t in options.arp_ip_target() {
            mon.set_arp_route(
                *t,
                ProbeRoute::ViaBond {
                    src: Some(BOND_IP),
                    vlans: VlanPath::NONE,
                },
            )
            .unwrap();
        }
        for t in options.ns_ip6_target() {
            mon.set_ns_route(
                *t,
                ProbeRoute::ViaBond {
                    src: Some(BOND_IP6),
                    vlans: VlanPath::NONE,
                },
            )
            .unwrap();
        }
        let mut sim = Self {
            mon,
            now: Duration::ZERO,
            events: Vec::new(),
            sent: Vec::new(),
            queue: BTreeMap::new(),
            seq: 0,
            periodic: Vec::new(),
            auto_select: true,
            path: vec![true; members],
            flooded: vec![true; members],
            reaches_target: vec![true; members],
            alive4: options.arp_ip_target().to_vec(),
            alive6: options.ns_ip6_target().to_vec(),
            bad_na_checksum: false,
            rtt: ms(1),
        };
        // bond_enslave() selects an active member at once.
        sim.select_now();
        sim
    }

    /// Delivers `frame` on `member` every `period` from `start` until `until`.
    pub fn periodic(
        &mut self,
        member: usize,
        start: Duration,
        period: Duration,
        until: Duration,
        frame: Vec<u8>,
    ) {
        self.periodic.push(Periodic {
            member,
            next: start,
            period,
            until,
            frame,
        });
    }

    pub fn deliver_at(&mut self, at: Duration, member: usize, frame: Vec<u8>) {
        self.seq += 1;
        self.queue.insert((at, self.seq), (member, frame));
    }

    /// Initial selection, as `bond_enslave()` does in active-backup.
    pub fn select_now(&mut self) {
        self.select();
        self.drain();
    }

    fn select(&mut self) {
        let best = self
            .mon
            .members()
            .find(|m| self.mon.link_state(*m) == Some(LinkState::Up));
        if best != self.mon.active_member() {
            self.mon.set_active_member(self.now, best).unwrap();
        }
    }

    pub fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(e) = self.mon.poll_event() {
                progressed = true;
                self.events.push(e);
                if matches!(e, Event::SelectActive { .. }) && self.auto_select {
                    self.select();
                }
            }
            while let Some(t) = self.mon.poll_transmit(self.now) {
                progressed = true;
                self.transmitted(&t);
                self.sent.push((self.now, t));
            }
            if !progressed {
                break;
            }
        }
    }

    fn transmitted(&mut self, t: &Transmit) {
        let i = t.member;
        if !self.path[i] || self.mon.carrier(i) != Some(true) {
            return;
        }
        // The switch floods the broadcast/multicast probe to the other members.
        for j in 0..self.path.len() {
            if j != i && self.path[j] && self.flooded[j] && self.mon.carrier(j) == Some(true) {
                self.deliver_at(self.now + Duration::from_micros(10), j, t.frame().to_vec());
            }
        }
        if !self.reaches_target[i] {
            return;
        }
        let eth = EthernetFrame::new_checked(t.frame()).unwrap();
        match t.probe {
            Probe::Arp { target, src } => {
                let p = ArpPacket::new_checked(eth.payload()).unwrap();
                let req = ArpRepr::parse(&p).unwrap();
                if self.alive4.contains(&target) {
                    let reply = arp_reply(target, req.sender_hardware_addr, src);
                    self.deliver_at(self.now + self.rtt, i, reply);
                }
            }
            Probe::Ns { target, src } => {
                let p = NdPacket::new_checked(eth.payload()).unwrap();
                let ns = NdiscRepr::parse(&p).unwrap();
                assert_eq!(ns.target_addr, target);
                if self.alive6.contains(&target) {
                    let dst = if src.is_unspecified() {
                        "ff02::1".parse().unwrap()
                    } else {
                        src
                    };
                    let mut na = na_reply(target, eth.src(), dst);
                    if self.bad_na_checksum {
                        na[14 + 42] ^= 0x01;
                    }
                    self.deliver_at(self.now + self.rtt, i, na);
                }
            }
        }
    }

    fn next_periodic(&self) -> Option<(usize, Duration)> {
        self.periodic
            .iter()
            .enumerate()
            .filter(|(_, p)| p.next <= p.until)
            .map(|(i, p)| (i, p.next))
            .min_by_key(|(_, t)| *t)
    }

    /// Runs everything due up to and including `end`.
    pub fn run_until(&mut self, end: Duration) {
        for _ in 0..1_000_000 {
            let timeout = self.mon.poll_timeout().filter(|t| *t <= end);
            let delivery = self.queue.keys().next().map(|k| k.0).filter(|t| *t <= end);
            let periodic = self.next_periodic().filter(|(_, t)| *t <= end);
            // Frames first at equal times.
            let next_frame = match (delivery, periodic) {
                (Some(d), Some((_, p))) => Some(d.min(p)),
                (d, p) => d.or(p.map(|p| p.1)),
            };
            match (next_frame, timeout) {
                (Some(f), t) if t.is_none_or(|t| f <= t) => {
                    self.now = f;
                    if delivery == Some(f) {
                        let key = *self.queue.keys().next().unwrap();
                        let (member, frame) = self.queue.remove(&key).unwrap();
                        if self.path[member] && self.mon.carrier(member) == Some(true) {
                            self.mon.handle_rx(f, member, &frame).unwrap();
                        }
                    } else {
                        let (i, _) = periodic.unwrap();
                        let p = &mut self.periodic[i];
                        let (member, frame) = (p.member, p.frame.clone());
                        p.next += p.period;
                        if self.mon.carrier(member) == Some(true) {
                            self.mon.handle_rx(f, member, &frame).unwrap();
                        }
                    }
                }
                (_, Some(t)) => {
                    self.now = t;
                    self.mon.handle_timeout(t);
                }
                _ => break,
            }
            self.drain();
        }
        self.now = end;
    }

    /// The link events of a member: (time, new state).
    pub fn link_events(&self, member: usize) -> Vec<(Duration, LinkState)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Link {
                    member: m,
                    state,
                    at,
                    ..
                } if *m == member => Some((*at, *state)),
                _ => None,
            })
            .collect()
    }

    /// When the member first went to `state`.
    pub fn first(&self, member: usize, state: LinkState) -> Option<Duration> {
        self.link_events(member)
            .into_iter()
            .find(|(_, s)| *s == state)
            .map(|(t, _)| t)
    }

    pub fn state(&self, member: usize) -> LinkState {
        self.mon.link_state(member).unwrap()
    }

    /// (time, member) of every probe sent.
    pub fn probes_sent(&self) -> Vec<(Duration, usize)> {
        self.sent.iter().map(|(t, x)| (*t, x.member)).collect()
    }
}

pub fn arp_options(interval: u32, validate: &str, targets: &str) -> MonitorOptions {
    let mut o = MonitorOptions::default();
    o.set("arp_interval", &interval.to_string()).unwrap();
    if !targets.is_empty() {
        o.set("arp_ip_target", targets).unwrap();
    }
    o.set("arp_validate", validate).unwrap();
    o
}

/// The frames of a classic pcap file.
pub fn read_pcap(bytes: &[u8]) -> Vec<Vec<u8>> {
    assert_eq!(
        bytes[..4],
        0xa1b2c3d4u32.to_le_bytes(),
        "classic little-endian pcap"
    );
    let mut frames = Vec::new();
    let mut off = 24;
    while off + 16 <= bytes.len() {
        let incl = u32::from_le_bytes(bytes[off + 8..off + 12].try_into().unwrap()) as usize;
        off += 16;
        frames.push(bytes[off..off + incl].to_vec());
        off += incl;
    }
    frames
}

/// A classic pcap file (Ethernet) holding `frames`, one per millisecond.
pub fn write_pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(i as u32 * 1000).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}
