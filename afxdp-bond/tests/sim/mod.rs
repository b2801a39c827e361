//! A simulated network in virtual time for the engine tests: the bond (with its host
//! stack), a learning switch (MAC table with aging, flooding, per-port link, optional static
//! or LACP link aggregation with a second `lacp::System` as the switch's LACP), and hosts
//! that answer ARP and send and count numbered frames per flow.
//!
//! Every link has the same one-way delay. Time jumps from event to event; `run_until`
//! fails the test if it does not settle within a bounded number of steps.

#![allow(dead_code, unreachable_pub)]

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

use afxdp_bond::engine::{
    Bond, BondConfig, BondOptions, Event, LinkInfo, MacAddr, MemberConfig, Rx, Transmit, Tx,
};

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// The bond's members' own MACs: 02:00:00:00:01:<i>.
pub fn member_mac(i: usize) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, 0x01, i as u8])
}

/// Remote host MACs: 02:00:00:00:02:<i>.
pub fn host_mac(i: usize) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, 0x02, i as u8])
}

/// The bond host's address.
pub const BOND_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

/// Remote host addresses: 198.18.1.<i+1>.
pub fn host_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 1, i as u8 + 1)
}

// ------------------------------------------------------------------ frames

pub const ETH_IP: u16 = 0x0800;
pub const ETH_ARP: u16 = 0x0806;

/// A UDP/IPv4 frame carrying a flow id and a sequence number, padded to 64 bytes.
#[allow(clippy::too_many_arguments)]
pub fn udp_frame(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    flow: u32,
    seq: u64,
) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 8 + 12 + 10];
    f[0..6].copy_from_slice(&dst_mac.0);
    f[6..12].copy_from_slice(&src_mac.0);
    f[12..14].copy_from_slice(&ETH_IP.to_be_bytes());
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    let total = (20 + 8 + 12 + 10) as u16;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let mut sum = 0u32;
    for c in ip.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    let udp = &mut f[34..42];
    udp[0..2].copy_from_slice(&sport.to_be_bytes());
    udp[2..4].copy_from_slice(&dport.to_be_bytes());
    udp[4..6].copy_from_slice(&((8 + 12 + 10) as u16).to_be_bytes());
    f[42..46].copy_from_slice(&flow.to_be_bytes());
    f[46..54].copy_from_slice(&seq.to_be_bytes());
    f
}

/// (flow, seq) of a frame built by [`udp_frame`].
pub fn parse_udp(f: &[u8]) -> Option<(u32, u64)> {
    if f.len() < 54 || f[12..14] != ETH_IP.to_be_bytes() || f[23] != 17 {
        return None;
    }
    let flow = u32::from_be_bytes(f[42..46].try_into().ok()?);
    let seq = u64::from_be_bytes(f[46..54].try_into().ok()?);
    Some((flow, seq))
}

/// An ARP frame (request or reply).
pub fn arp_frame(
    op: u16,
    src_mac: MacAddr,
    dst_mac: MacAddr,
    sha: MacAddr,
    spa: Ipv4Addr,
    tha: MacAddr,
    tpa: Ipv4Addr,
) -> Vec<u8> {
    let mut f = vec![0u8; 42];
    f[0..6].copy_from_slice(&dst_mac.0);
    f[6..12].copy_from_slice(&src_mac.0);
    f[12..14].copy_from_slice(&ETH_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes());
    f[16..18].copy_from_slice(&0x0800u16.to_be_bytes());
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&op.to_be_bytes());
    f[22..28].copy_from_slice(&sha.0);
    f[28..32].copy_from_slice(&spa.octets());
    f[32..38].copy_from_slice(&tha.0);
    f[38..42].copy_from_slice(&tpa.octets());
    f
}

/// (op, sha, spa, tha, tpa) of an untagged ARP frame.
pub fn parse_arp(f: &[u8]) -> Option<(u16, MacAddr, Ipv4Addr, MacAddr, Ipv4Addr)> {
    if f.len() < 42 || f[12..14] != ETH_ARP.to_be_bytes() {
        return None;
    }
    let mac = |o: usize| MacAddr(f[o..o + 6].try_into().unwrap());
    let ip = |o: usize| Ipv4Addr::new(f[o], f[o + 1], f[o + 2], f[o + 3]);
    Some((
        u16::from_be_bytes([f[20], f[21]]),
        mac(22),
        ip(28),
        mac(32),
        ip(38),
    ))
}

fn dst_of(f: &[u8]) -> MacAddr {
    MacAddr(f[0..6].try_into().unwrap())
}

fn src_of(f: &[u8]) -> MacAddr {
    MacAddr(f[6..12].try_into().unwrap())
}

// ------------------------------------------------------------------ nodes

/// A host's IP stack: an ARP cache, answers to ARP, and per-flow receive logs.
#[derive(Debug, Default, Clone)]
pub struct Stack {
    pub ip: Option<Ipv4Addr>,
    pub arp: HashMap<Ipv4Addr, MacAddr>,
    /// Received sequence numbers per flow, in arrival order.
    pub flows: HashMap<u32, Vec<u64>>,
    /// Frames for another MAC that reached this host (a NIC in promiscuous mode would pass
    /// them; the IP layer drops them).
    pub other_host: u64,
    /// Every frame received.
    pub rx: Vec<Vec<u8>>,
}

impl Stack {
    /// Handles a received frame; returns an ARP reply to send, if any. `mac` is the
    /// host's MAC.
    fn receive(&mut self, mac: MacAddr, f: &[u8]) -> Option<Vec<u8>> {
        self.rx.push(f.to_vec());
        let dst = dst_of(f);
        if dst != mac && !dst.is_multicast() {
            self.other_host += 1;
            return None;
        }
        if let Some((flow, seq)) = parse_udp(f) {
            self.flows.entry(flow).or_default().push(seq);
            return None;
        }
        let (op, sha, spa, _tha, tpa) = parse_arp(f)?;
        let me = self.ip?;
        // Learn the sender if the ARP is for us, or update an existing entry (gratuitous).
        if (tpa == me || self.arp.contains_key(&spa)) && spa != me && !spa.is_unspecified() {
            self.arp.insert(spa, sha);
        }
        if op == 1 && tpa == me && spa != me {
            return Some(arp_frame(2, mac, sha, mac, me, sha, spa));
        }
        None
    }

    /// Sequence numbers received on a flow.
    pub fn seqs(&self, flow: u32) -> &[u64] {
        self.flows.get(&flow).map_or(&[], Vec::as_slice)
    }
}

/// A remote host on a switch port.
#[derive(Debug, Clone)]
pub struct Host {
    pub mac: MacAddr,
    pub port: usize,
    pub stack: Stack,
}

/// What is at the end of a switch port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortNode {
    Member(usize),
    Host(usize),
}

/// A link aggregation group on the switch.
#[derive(Debug)]
pub struct Lag {
    pub ports: Vec<usize>,
    /// The switch's LACP for the group (802.3ad); `None` for a static LAG.
    pub lacp: Option<lacp::System>,
}

/// A logical switch port: a port, or a LAG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Logical {
    Port(usize),
    Lag(usize),
}

#[derive(Debug)]
pub struct Switch {
    pub up: Vec<bool>,
    pub nodes: Vec<PortNode>,
    pub lags: Vec<Lag>,
    pub fdb: HashMap<MacAddr, (Logical, Duration)>,
    pub aging: Duration,
    /// Frames the switch dropped on a port that is not collecting (LACP).
    pub not_collecting: u64,
    /// Frames flooded.
    pub flooded: u64,
    /// Every (port, frame) the switch received.
    pub ingress_log: Vec<(usize, Vec<u8>)>,
}

impl Switch {
    fn logical(&self, port: usize) -> Logical {
        self.lags
            .iter()
            .position(|l| l.ports.contains(&port))
            .map_or(Logical::Port(port), Logical::Lag)
    }

    /// The port of a logical port a frame leaves by, if any is up (and distributing).
    fn egress(&self, l: Logical, f: &[u8]) -> Option<usize> {
        match l {
            Logical::Port(p) => self.up[p].then_some(p),
            Logical::Lag(g) => {
                let lag = &self.lags[g];
                let usable: Vec<usize> = lag
                    .ports
                    .iter()
                    .copied()
                    .filter(|&p| {
                        self.up[p] && lag.lacp.as_ref().is_none_or(|s| s.is_distributing(p))
                    })
                    .collect();
                if usable.is_empty() {
                    return None;
                }
                let h = xmit_hash::hash(xmit_hash::Policy::Layer34, f) as usize;
                Some(usable[h % usable.len()])
            }
        }
    }
}

/// A flow endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// The host stack behind the bond.
    Bond,
    /// Remote host `i`.
    Host(usize),
}

/// A stream of numbered frames.
#[derive(Debug, Clone)]
pub struct Flow {
    pub id: u32,
    pub from: Node,
    pub to: Node,
    pub sport: u16,
    pub dport: u16,
    pub interval: Duration,
    pub next: Duration,
    pub stop: Duration,
    pub seq: u64,
    /// Frames not sent because the destination's MAC was unknown.
    pub unresolved: u64,
}

#[derive(Debug, Clone)]
enum Hop {
    Switch { port: usize, frame: Vec<u8> },
    Member { member: usize, frame: Vec<u8> },
    Host { host: usize, frame: Vec<u8> },
}

/// The whole network.
pub struct Net {
    pub now: Duration,
    pub bond: Bond,
    pub bond_stack: Stack,
    pub switch: Switch,
    pub hosts: Vec<Host>,
    pub members: usize,
    pub delay: Duration,
    inflight: VecDeque<(Duration, Hop)>,
    pub flows: Vec<Flow>,
    /// Every event the bond reported, with its time.
    pub events: Vec<(Duration, Event)>,
    /// Every control frame the bond sent, with its time.
    pub control: Vec<(Duration, Transmit)>,
    /// Every host frame the bond sent, with its time, member and frame.
    pub sent: Vec<(Duration, usize, Vec<u8>)>,
    /// Every frame the bond delivered (or left on the member), with its time and member.
    pub delivered: Vec<(Duration, usize, Rx, Vec<u8>)>,
    /// Receive outcomes that were not deliveries, per member.
    pub rx_outcomes: Vec<(Duration, usize, Rx)>,
    /// Per member: carrier as the simulation has it; MAC and promiscuity as the bond asked.
    pub carrier: Vec<bool>,
    pub nic_mac: Vec<MacAddr>,
    pub promisc: Vec<bool>,
    /// Whether carrier changes reach the bond as events (`handle_link`) or samples.
    pub carrier_events: bool,
    pub speed: u32,
}

impl Net {
    /// A bond with `members` members on switch ports 0.., and `hosts` remote hosts on the
    /// following ports, built from a modprobe option string.
    pub fn new(options: &str, members: usize, hosts: usize) -> Self {
        let (opts, _) = BondOptions::from_modprobe(options).expect("options");
        Self::with_options(opts, members, hosts)
    }

    pub fn with_options(opts: BondOptions, members: usize, hosts: usize) -> Self {
        let now = Duration::ZERO;
        let bond = Bond::new(
            now,
            opts,
            BondConfig {
                seed: 7,
                ..BondConfig::default()
            },
        )
        .expect("bond");
        let mut nodes: Vec<PortNode> = (0..members).map(PortNode::Member).collect();
        nodes.extend((0..hosts).map(PortNode::Host));
        let mut net = Self {
            now,
            bond,
            bond_stack: Stack {
                ip: Some(BOND_IP),
                ..Stack::default()
            },
            switch: Switch {
                up: vec![true; members + hosts],
                nodes,
                lags: Vec::new(),
                fdb: HashMap::new(),
                aging: Duration::from_secs(300),
                not_collecting: 0,
                flooded: 0,
                ingress_log: Vec::new(),
            },
            hosts: (0..hosts)
                .map(|i| Host {
                    mac: host_mac(i),
                    port: members + i,
                    stack: Stack {
                        ip: Some(host_ip(i)),
                        ..Stack::default()
                    },
                })
                .collect(),
            members,
            delay: us(10),
            inflight: VecDeque::new(),
            flows: Vec::new(),
            events: Vec::new(),
            control: Vec::new(),
            sent: Vec::new(),
            delivered: Vec::new(),
            rx_outcomes: Vec::new(),
            carrier: vec![true; members],
            nic_mac: (0..members).map(member_mac).collect(),
            promisc: vec![false; members],
            carrier_events: true,
            speed: 10_000,
        };
        for i in 0..members {
            net.bond
                .add_member(now, i, MemberConfig::new(format!("eth{i}"), member_mac(i)))
                .expect("add member");
        }
        net.bond.set_host_addresses(now, &[BOND_IP], &[]);
        net.pump();
        net
    }

    /// Puts the member ports in one static LAG on the switch.
    pub fn static_lag(&mut self) {
        self.switch.lags.push(Lag {
            ports: (0..self.members).collect(),
            lacp: None,
        });
    }

    /// Puts the member ports in one LAG run by the switch's own LACP (active, `rate`).
    pub fn lacp_lag(&mut self, rate: lacp::LacpRate) {
        let mut s = lacp::System::new(lacp::Config {
            lacp_rate: rate,
            bond_mac: lacp::MacAddr([0x02, 0, 0, 0, 0x0f, 0x01]),
            ..lacp::Config::default()
        })
        .unwrap();
        for p in 0..self.members {
            s.add_port(
                self.now,
                p,
                lacp::MacAddr([0x02, 0, 0, 0, 0x0f, 0x10 + p as u8]),
            )
            .unwrap();
            s.handle_link(self.now, p, lacp::Link::up(self.speed))
                .unwrap();
        }
        self.switch.lags.push(Lag {
            ports: (0..self.members).collect(),
            lacp: Some(s),
        });
        self.pump();
    }

    pub fn open(&mut self) {
        self.bond.open(self.now);
        self.pump();
    }

    /// A stream of frames every `interval` from `start` to `stop`.
    pub fn flow(
        &mut self,
        from: Node,
        to: Node,
        sport: u16,
        interval: Duration,
        start: Duration,
        stop: Duration,
    ) -> u32 {
        let id = self.flows.len() as u32 + 1;
        self.flows.push(Flow {
            id,
            from,
            to,
            sport,
            dport: 9000,
            interval,
            next: start,
            stop,
            seq: 0,
            unresolved: 0,
        });
        id
    }

    /// ARP from every remote host for the bond's address and from the bond host for every
    /// remote host, then waits for the replies.
    pub fn resolve_all(&mut self) {
        for h in 0..self.hosts.len() {
            let host = &self.hosts[h];
            let req = arp_frame(
                1,
                host.mac,
                MacAddr::BROADCAST,
                host.mac,
                host_ip(h),
                MacAddr::ZERO,
                BOND_IP,
            );
            let port = host.port;
            self.send_to_switch(port, req);
            let t = self.now + ms(1);
            self.run_until(t);
            let req = arp_frame(
                1,
                self.bond.mac(),
                MacAddr::BROADCAST,
                self.bond.mac(),
                BOND_IP,
                MacAddr::ZERO,
                host_ip(h),
            );
            let _ = self.bond_send(req);
            let t = self.now + ms(1);
            self.run_until(t);
        }
    }

    // ------------------------------------------------------------------ link control

    /// Cuts the link between member `m` and its switch port (both ends lose carrier).
    pub fn cut(&mut self, m: usize) {
        self.set_link(m, false);
    }

    /// Restores the link.
    pub fn restore(&mut self, m: usize) {
        self.set_link(m, true);
    }

    fn set_link(&mut self, m: usize, up: bool) {
        self.carrier[m] = up;
        self.switch.up[m] = up;
        if !up {
            // Frames on the wire are lost; the switch flushes what it learnt on the port.
            self.inflight.retain(|(_, h)| match h {
                Hop::Switch { port, .. } => *port != m,
                Hop::Member { member, .. } => *member != m,
                Hop::Host { .. } => true,
            });
            let logical = self.switch.logical(m);
            if let Logical::Port(_) = logical {
                self.switch.fdb.retain(|_, (l, _)| *l != logical);
            }
        }
        let now = self.now;
        for lag in &mut self.switch.lags {
            if let Some(s) = lag.lacp.as_mut() {
                if lag.ports.contains(&m) {
                    let link = if up {
                        lacp::Link::up(self.speed)
                    } else {
                        lacp::Link::down()
                    };
                    s.handle_link(now, m, link).unwrap();
                }
            }
        }
        let info = if up {
            LinkInfo::up(self.speed)
        } else {
            LinkInfo::down()
        };
        if self.carrier_events {
            self.bond.handle_link(now, m, info).unwrap();
        } else {
            self.bond.sample_link(now, m, info).unwrap();
        }
        self.pump();
    }

    // ------------------------------------------------------------------ driving

    /// Sends a frame from the bond's host stack through the bond.
    pub fn bond_send(&mut self, mut f: Vec<u8>) -> Tx {
        let tx = self.bond.select_tx(self.now, &mut f);
        self.put_on_members(tx, &f);
        self.pump();
        tx
    }

    fn put_on_members(&mut self, tx: Tx, f: &[u8]) {
        match tx {
            Tx::Member(m) => self.member_tx(m, f.to_vec()),
            Tx::Members(set) => {
                for m in set.iter() {
                    self.member_tx(m, f.to_vec());
                }
            }
            Tx::Drop(_) => {}
            Tx::ViaBond => panic!("the Bond never answers ViaBond"),
        }
    }

    fn member_tx(&mut self, m: usize, f: Vec<u8>) {
        self.sent.push((self.now, m, f.clone()));
        if self.carrier[m] {
            let at = self.now + self.delay;
            self.inflight
                .push_back((at, Hop::Switch { port: m, frame: f }));
        }
    }

    fn send_to_switch(&mut self, port: usize, f: Vec<u8>) {
        let at = self.now + self.delay;
        self.inflight
            .push_back((at, Hop::Switch { port, frame: f }));
    }

    /// Drains the bond's and the switch LACP's outputs.
    pub fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut any = false;
            while let Some(e) = self.bond.poll_event() {
                any = true;
                match &e {
                    Event::SetMemberMac { member, mac } => self.nic_mac[*member] = *mac,
                    Event::SetPromiscuous { member, enabled } => {
                        self.promisc[*member] = *enabled;
                    }
                    Event::MemberReleased {
                        member,
                        last_frame: Some(t),
                    } => {
                        let f = t.frame().to_vec();
                        self.member_tx(*member, f);
                    }
                    _ => {}
                }
                self.events.push((self.now, e));
            }
            while let Some(t) = self.bond.poll_transmit(self.now) {
                any = true;
                let (m, f) = (t.member, t.frame().to_vec());
                self.control.push((self.now, t));
                self.member_tx(m, f);
            }
            let now = self.now;
            let mut out = Vec::new();
            for lag in &mut self.switch.lags {
                if let Some(s) = lag.lacp.as_mut() {
                    while let Some(t) = s.poll_transmit(now) {
                        out.push((t.port, t.frame.as_bytes().to_vec()));
                    }
                    while s.poll_event().is_some() {}
                }
            }
            for (p, f) in out {
                any = true;
                if self.switch.up[p] {
                    self.deliver_from_switch(p, f);
                }
            }
            if !any {
                return;
            }
        }
        panic!("outputs never settle");
    }

    fn deliver_from_switch(&mut self, port: usize, f: Vec<u8>) {
        let at = self.now + self.delay;
        let hop = match self.switch.nodes[port] {
            PortNode::Member(m) => Hop::Member {
                member: m,
                frame: f,
            },
            PortNode::Host(h) => Hop::Host { host: h, frame: f },
        };
        self.inflight.push_back((at, hop));
    }

    fn switch_rx(&mut self, port: usize, f: Vec<u8>) {
        if !self.switch.up[port] {
            return;
        }
        self.switch.ingress_log.push((port, f.clone()));
        let now = self.now;
        let logical = self.switch.logical(port);
        if let Logical::Lag(g) = logical {
            if let Some(s) = self.switch.lags[g].lacp.as_mut() {
                match s.handle_rx(now, port, &f) {
                    Ok(lacp::Rx::NotSlowProtocols) => {}
                    _ => {
                        self.pump();
                        return;
                    }
                }
                if !s.is_collecting(port) {
                    self.switch.not_collecting += 1;
                    return;
                }
            }
        }
        let dst = dst_of(&f);
        let src = src_of(&f);
        if dst.is_link_local() {
            return;
        }
        if !src.is_multicast() {
            self.switch.fdb.insert(src, (logical, now));
        }
        let aging = self.switch.aging;
        let known = if dst.is_multicast() {
            None
        } else {
            self.switch
                .fdb
                .get(&dst)
                .filter(|(_, t)| now.saturating_sub(*t) <= aging)
                .map(|(l, _)| *l)
        };
        match known {
            Some(l) if l == logical => {}
            Some(l) => {
                if let Some(p) = self.switch.egress(l, &f) {
                    self.deliver_from_switch(p, f);
                }
            }
            None => {
                self.switch.flooded += 1;
                let mut targets: Vec<Logical> = Vec::new();
                for p in 0..self.switch.up.len() {
                    let l = self.switch.logical(p);
                    if l != logical && !targets.contains(&l) {
                        targets.push(l);
                    }
                }
                for l in targets {
                    if let Some(p) = self.switch.egress(l, &f) {
                        self.deliver_from_switch(p, f.clone());
                    }
                }
            }
        }
    }

    fn member_rx(&mut self, m: usize, mut f: Vec<u8>) {
        if !self.carrier[m] {
            return;
        }
        // The member NIC's receive filter.
        let dst = dst_of(&f);
        if !dst.is_multicast() && dst != self.nic_mac[m] && !self.promisc[m] {
            return;
        }
        let rx = self.bond.handle_rx(self.now, m, &mut f);
        match rx {
            Rx::Deliver | Rx::DeliverOnMember => {
                self.delivered.push((self.now, m, rx, f.clone()));
                if rx == Rx::Deliver {
                    let mac = self.bond.mac();
                    if let Some(reply) = self.bond_stack.receive(mac, &f) {
                        let _ = self.bond_send(reply);
                    }
                }
            }
            _ => self.rx_outcomes.push((self.now, m, rx)),
        }
        self.pump();
    }

    fn host_rx(&mut self, h: usize, f: Vec<u8>) {
        let mac = self.hosts[h].mac;
        if let Some(reply) = self.hosts[h].stack.receive(mac, &f) {
            let port = self.hosts[h].port;
            self.send_to_switch(port, reply);
        }
    }

    fn send_flow(&mut self, k: usize) {
        let fl = self.flows[k].clone();
        let (src_mac, src_ip) = match fl.from {
            Node::Bond => (self.bond.mac(), BOND_IP),
            Node::Host(h) => (self.hosts[h].mac, host_ip(h)),
        };
        let dst_ip = match fl.to {
            Node::Bond => BOND_IP,
            Node::Host(h) => host_ip(h),
        };
        let cache = match fl.from {
            Node::Bond => &self.bond_stack.arp,
            Node::Host(h) => &self.hosts[h].stack.arp,
        };
        let Some(&dst_mac) = cache.get(&dst_ip) else {
            self.flows[k].unresolved += 1;
            return;
        };
        let seq = fl.seq;
        self.flows[k].seq += 1;
        let f = udp_frame(
            src_mac, dst_mac, src_ip, dst_ip, fl.sport, fl.dport, fl.id, seq,
        );
        match fl.from {
            Node::Bond => {
                let _ = self.bond_send(f);
            }
            Node::Host(h) => {
                let port = self.hosts[h].port;
                self.send_to_switch(port, f);
            }
        }
    }

    /// Runs the network until `end`.
    pub fn run_until(&mut self, end: Duration) {
        for _ in 0..5_000_000 {
            if self.step_now() {
                continue;
            }
            if self.now >= end {
                return;
            }
            let next = self.next_event().map_or(end, |t| t.min(end));
            assert!(
                next > self.now,
                "nothing due but the next event is not later"
            );
            self.now = next;
        }
        panic!("the simulation does not settle (stuck at {:?})", self.now);
    }

    /// Does everything due at `now`; returns whether anything was.
    fn step_now(&mut self) -> bool {
        let mut did = false;
        while self.inflight.front().is_some_and(|(at, _)| *at <= self.now) {
            did = true;
            let (_, hop) = self.inflight.pop_front().unwrap();
            match hop {
                Hop::Switch { port, frame } => self.switch_rx(port, frame),
                Hop::Member { member, frame } => self.member_rx(member, frame),
                Hop::Host { host, frame } => self.host_rx(host, frame),
            }
        }
        if self.bond.poll_timeout().is_some_and(|t| t <= self.now) {
            did = true;
            self.bond.handle_timeout(self.now);
            self.pump();
        }
        let now = self.now;
        for lag in &mut self.switch.lags {
            if let Some(s) = lag.lacp.as_mut() {
                if s.poll_timeout().is_some_and(|t| t <= now) {
                    did = true;
                    s.handle_timeout(now);
                }
            }
        }
        self.pump();
        for k in 0..self.flows.len() {
            while self.flows[k].next <= self.now && self.flows[k].next < self.flows[k].stop {
                did = true;
                let interval = self.flows[k].interval;
                self.flows[k].next += interval;
                self.send_flow(k);
            }
        }
        did
    }

    fn next_event(&self) -> Option<Duration> {
        let lacp = self
            .switch
            .lags
            .iter()
            .filter_map(|l| l.lacp.as_ref().and_then(lacp::System::poll_timeout));
        let flows = self
            .flows
            .iter()
            .filter(|f| f.next < f.stop)
            .map(|f| f.next);
        self.inflight
            .front()
            .map(|(at, _)| *at)
            .into_iter()
            .chain(self.bond.poll_timeout())
            .chain(lacp)
            .chain(flows)
            .min()
    }

    // ------------------------------------------------------------------ checks

    /// Sequence numbers of `flow` received at its destination.
    pub fn received(&self, flow: u32) -> &[u64] {
        let f = &self.flows[flow as usize - 1];
        match f.to {
            Node::Bond => self.bond_stack.seqs(flow),
            Node::Host(h) => self.hosts[h].stack.seqs(flow),
        }
    }

    /// How many frames of `flow` were sent.
    pub fn sent_count(&self, flow: u32) -> u64 {
        self.flows[flow as usize - 1].seq
    }

    /// Frames of `flow` lost (sent, never received, duplicates not counted).
    pub fn lost(&self, flow: u32) -> u64 {
        let mut got: Vec<u64> = self.received(flow).to_vec();
        got.sort_unstable();
        got.dedup();
        self.sent_count(flow) - got.len() as u64
    }

    /// Whether `flow` arrived in order (duplicates allowed).
    pub fn in_order(&self, flow: u32) -> bool {
        self.received(flow).windows(2).all(|w| w[0] <= w[1])
    }

    /// Members the bond sent `flow`'s frames on.
    pub fn members_of(&self, flow: u32) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .sent
            .iter()
            .filter(|(_, _, f)| parse_udp(f).is_some_and(|(id, _)| id == flow))
            .map(|(_, m, _)| *m)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Members the bond delivered `flow`'s frames from.
    pub fn rx_members_of(&self, flow: u32) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .delivered
            .iter()
            .filter(|(_, _, _, f)| parse_udp(f).is_some_and(|(id, _)| id == flow))
            .map(|(_, m, _, _)| *m)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Control frames of a kind, with their members.
    pub fn control_of(&self, kind: afxdp_bond::engine::TransmitKind) -> Vec<(Duration, usize)> {
        self.control
            .iter()
            .filter(|(_, t)| t.kind == kind)
            .map(|(at, t)| (*at, t.member))
            .collect()
    }

    /// Active-member changes, with their times.
    pub fn active_changes(&self) -> Vec<(Duration, Option<usize>)> {
        self.events
            .iter()
            .filter_map(|(at, e)| match e {
                Event::ActiveMember { current, .. } => Some((*at, *current)),
                _ => None,
            })
            .collect()
    }
}
