//! Test helpers: classic pcap read/write, tshark, and a simulated network (a learning
//! switch, IPv4/IPv6 clients, and a host stack above the bond) driven in virtual time.
#![allow(dead_code, unreachable_pub, missing_docs)]

use arp_alb::wire::{ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetRepr, ethertype};
use arp_alb::{Alb, Event, MacAddr, MemberLink, Transmit, TxDecision};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

// ------------------------------------------------------------------ pcap

/// Reads every frame of a classic pcap file (either byte order, microsecond stamps).
pub fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let b = std::fs::read(path).expect("read pcap");
    assert!(b.len() >= 24, "pcap too short");
    let le = match &b[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] => false,
        m => panic!("not a classic pcap: {m:?}"),
    };
    let u32_at = |o: usize| {
        let a = [b[o], b[o + 1], b[o + 2], b[o + 3]];
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    assert_eq!(u32_at(20), 1, "link type must be Ethernet");
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= b.len() {
        let incl = u32_at(off + 8) as usize;
        let start = off + 16;
        out.push(b[start..start + incl].to_vec());
        off = start + incl;
    }
    out
}

/// Writes frames as a classic pcap (Ethernet), one per millisecond.
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&0i32.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&65535u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        b.extend_from_slice(&((i / 1000) as u32).to_le_bytes());
        b.extend_from_slice(&(((i % 1000) * 1000) as u32).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(f);
    }
    std::fs::write(path, b).expect("write pcap");
}

pub fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// A fresh directory under the system temp dir, unique to this process and call.
pub fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "arp-alb-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Runs tshark on `pcap` with a display filter and returns its standard output. Panics
/// (loudly) if tshark is not installed: CI installs it.
pub fn tshark(pcap: &Path, args: &[&str]) -> String {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("tshark could not be run ({e}); install it (Debian package tshark, see scripts/setup)")
        });
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// --------------------------------------------------------------- frames

pub const HOST_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

pub fn mac(n: u8) -> MacAddr {
    MacAddr([0x52, 0x54, 0, 0, 0, n])
}

pub fn client_mac(n: u16) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, (n >> 8) as u8, n as u8])
}

/// Client `n`'s IPv4 address: 198.18.x.y with a distinct RLB index (the XOR of the bytes)
/// for every n < 256.
pub fn client_ip(n: u8) -> Ipv4Addr {
    // 198 ^ 18 ^ 1 ^ y = n  =>  y = n ^ 198 ^ 18 ^ 1
    Ipv4Addr::new(198, 18, 1, n ^ 198 ^ 18 ^ 1)
}

pub fn arp_frame(
    op: ArpOperation,
    eth_dst: MacAddr,
    eth_src: MacAddr,
    sha: MacAddr,
    spa: Ipv4Addr,
    tha: MacAddr,
    tpa: Ipv4Addr,
) -> Vec<u8> {
    let mut f = vec![0u8; 42];
    let eth = EthernetRepr {
        dst: eth_dst,
        src: eth_src,
        vlan: None,
        ethertype: ethertype::ARP,
    };
    let off = eth.emit(&mut f).unwrap();
    let repr = ArpRepr {
        operation: op,
        source_hardware_addr: sha,
        source_protocol_addr: spa,
        target_hardware_addr: tha,
        target_protocol_addr: tpa,
    };
    repr.emit(&mut ArpPacket::new_checked(&mut f[off..]).unwrap());
    f
}

/// A minimal IPv4/UDP frame (checksums zero: not decoded by anything here).
pub fn ipv4_frame(
    dst_mac: MacAddr,
    src_mac: MacAddr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    len: usize,
) -> Vec<u8> {
    let len = len.max(42);
    let mut f = vec![0u8; len];
    f[..6].copy_from_slice(&dst_mac.0);
    f[6..12].copy_from_slice(&src_mac.0);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    let tot = (len - 14) as u16;
    f[16..18].copy_from_slice(&tot.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&src.octets());
    f[30..34].copy_from_slice(&dst.octets());
    f
}

pub fn parse_arp(frame: &[u8]) -> Option<(EthernetRepr, ArpRepr)> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != ethertype::ARP {
        return None;
    }
    let e = EthernetRepr::parse(&eth);
    let a = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).ok()?).ok()?;
    Some((e, a))
}

pub fn ipv4_dst(frame: &[u8]) -> Option<Ipv4Addr> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != ethertype::IPV4 {
        return None;
    }
    let p = eth.payload();
    (p.len() >= 20).then(|| Ipv4Addr::new(p[16], p[17], p[18], p[19]))
}

// -------------------------------------------------------------- switch

/// A learning switch: unicast to the learnt port, flooding otherwise; entries age out
/// and are flushed when a port goes down.
pub struct Switch {
    pub ports_up: Vec<bool>,
    pub table: HashMap<MacAddr, (usize, Duration)>,
    pub aging: Duration,
}

impl Switch {
    pub fn new(ports: usize) -> Self {
        Self {
            ports_up: vec![true; ports],
            table: HashMap::new(),
            aging: Duration::from_secs(300),
        }
    }

    pub fn set_port(&mut self, port: usize, up: bool) {
        self.ports_up[port] = up;
        if !up {
            self.table.retain(|_, (p, _)| *p != port);
        }
    }

    pub fn lookup(&self, now: Duration, mac: MacAddr) -> Option<usize> {
        self.table
            .get(&mac)
            .filter(|(_, t)| now.saturating_sub(*t) < self.aging)
            .map(|(p, _)| *p)
    }

    /// The ports a frame received on `in_port` goes out of.
    pub fn forward(&mut self, now: Duration, in_port: usize, frame: &[u8]) -> Vec<usize> {
        if !self.ports_up[in_port] || frame.len() < 14 {
            return vec![];
        }
        let dst = MacAddr(frame[0..6].try_into().unwrap());
        let src = MacAddr(frame[6..12].try_into().unwrap());
        if !src.is_multicast() {
            self.table.insert(src, (in_port, now));
        }
        let flood = || {
            (0..self.ports_up.len())
                .filter(|&p| p != in_port && self.ports_up[p])
                .collect::<Vec<_>>()
        };
        if dst.is_multicast() {
            return flood();
        }
        match self.lookup(now, dst) {
            Some(p) if p == in_port => vec![],
            Some(p) if self.ports_up[p] => vec![p],
            Some(_) => vec![],
            None => flood(),
        }
    }
}

// --------------------------------------------------------------- world

pub struct Nic {
    pub hw_mac: MacAddr,
    pub promisc: bool,
    pub up: bool,
    pub promisc_on_at: Option<Duration>,
    pub promisc_off_at: Option<Duration>,
}

pub struct Client {
    pub ip: Ipv4Addr,
    pub mac: MacAddr,
    pub port: usize,
    /// Neighbour cache: IP -> MAC.
    pub cache: HashMap<Ipv4Addr, MacAddr>,
    pub rx: u64,
}

/// Everything a test wants to look at afterwards.
#[derive(Default)]
pub struct Log {
    /// Every frame the bond sent, with the member and time.
    pub bond_tx: Vec<(Duration, usize, Vec<u8>)>,
    /// Control frames from `poll_transmit`.
    pub control: Vec<(Duration, Transmit)>,
    pub events: Vec<(Duration, Event)>,
    /// Data frames for the host received, per member.
    pub host_rx: BTreeMap<usize, u64>,
    /// Frames that reached a member but its NIC filter refused.
    pub nic_filtered: u64,
    /// Data frames clients sent that never reached the host.
    pub lost: u64,
}

pub struct World {
    pub now: Duration,
    pub alb: Alb,
    pub switch: Switch,
    /// Member NICs; member i is on switch port i.
    pub nics: Vec<Nic>,
    pub clients: Vec<Client>,
    pub host_cache: HashMap<Ipv4Addr, MacAddr>,
    pub log: Log,
    queue: VecDeque<(usize, Vec<u8>)>,
    pub hash: fn(&[u8]) -> u32,
}

impl World {
    /// A bond of `members` members (member i has address mac(i+1), port i) and `clients`
    /// clients on ports after them.
    pub fn new(alb: Alb, members: usize, clients: usize) -> Self {
        Self::with_spare(alb, members, 0, clients)
    }

    /// As `new`, with `spare` more member ports (down, not in the bond) for members added
    /// later with [`World::add_member`].
    pub fn with_spare(alb: Alb, members: usize, spare: usize, clients: usize) -> Self {
        let ports = members + spare;
        let mut w = Self {
            now: Duration::ZERO,
            alb,
            switch: Switch::new(ports + clients),
            nics: (0..ports)
                .map(|i| Nic {
                    hw_mac: mac(i as u8 + 1),
                    promisc: false,
                    up: i < members,
                    promisc_on_at: None,
                    promisc_off_at: None,
                })
                .collect(),
            clients: (0..clients)
                .map(|c| Client {
                    ip: client_ip(c as u8),
                    mac: client_mac(c as u16),
                    port: ports + c,
                    cache: HashMap::new(),
                    rx: 0,
                })
                .collect(),
            host_cache: HashMap::new(),
            log: Log::default(),
            queue: VecDeque::new(),
            hash: |f| {
                f.iter()
                    .fold(0u32, |h, &b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
            },
        };
        for i in members..ports {
            w.switch.set_port(i, false);
        }
        for i in 0..members {
            w.alb
                .add_member(Duration::ZERO, i, mac(i as u8 + 1), 1000, MemberLink::Up)
                .unwrap();
        }
        w.alb.set_active(Duration::ZERO, Some(0)).unwrap();
        w.pump();
        w.alb.handle_timeout(Duration::ZERO);
        w.pump();
        w
    }

    pub fn member_port(&self, m: usize) -> usize {
        m
    }

    /// Drains events and control frames and delivers every frame in flight.
    pub fn pump(&mut self) {
        for _ in 0..100_000 {
            let mut busy = false;
            while let Some(ev) = self.alb.poll_event() {
                busy = true;
                self.log.events.push((self.now, ev));
                match ev {
                    Event::SetMemberMac { member, mac } => self.nics[member].hw_mac = mac,
                    Event::SetPromiscuous { member, enabled } => {
                        let n = &mut self.nics[member];
                        n.promisc = enabled;
                        if enabled {
                            n.promisc_on_at = Some(self.now);
                        } else {
                            n.promisc_off_at = Some(self.now);
                        }
                    }
                }
            }
            while let Some(t) = self.alb.poll_transmit(self.now) {
                busy = true;
                let f = t.frame().to_vec();
                self.log.control.push((self.now, t.clone()));
                self.wire_from_member(t.member, f);
            }
            if let Some((port, frame)) = self.queue.pop_front() {
                busy = true;
                self.deliver(port, frame);
            }
            if !busy {
                return;
            }
        }
        panic!("network did not settle");
    }

    fn wire_from_member(&mut self, member: usize, frame: Vec<u8>) {
        self.log.bond_tx.push((self.now, member, frame.clone()));
        if !self.nics[member].up {
            return;
        }
        for p in self
            .switch
            .forward(self.now, self.member_port(member), &frame)
        {
            self.queue.push_back((p, frame.clone()));
        }
    }

    fn wire_from_client(&mut self, c: usize, frame: Vec<u8>) {
        let port = self.clients[c].port;
        for p in self.switch.forward(self.now, port, &frame) {
            self.queue.push_back((p, frame.clone()));
        }
    }

    /// The host stack sends a frame on the bond.
    pub fn host_send(&mut self, mut frame: Vec<u8>) -> TxDecision {
        let hash = self.hash;
        let d = self.alb.select_tx(self.now, &mut frame, hash);
        if let TxDecision::Send { member, .. } = d {
            self.wire_from_member(member, frame);
        }
        d
    }

    fn deliver(&mut self, port: usize, frame: Vec<u8>) {
        let dst = MacAddr(frame[0..6].try_into().unwrap());
        if port < self.nics.len() {
            let m = port;
            let nic = &self.nics[m];
            if !nic.up {
                return;
            }
            if !(dst == nic.hw_mac || dst.is_multicast() || nic.promisc) {
                self.log.nic_filtered += 1;
                if ipv4_dst(&frame) == Some(HOST_IP) {
                    self.log.lost += 1;
                }
                return;
            }
            self.alb.handle_rx(self.now, m, &frame).unwrap();
            // Linux ALB delivers broadcast/multicast only from the active member.
            if dst.is_multicast() && self.alb.active() != Some(m) {
                return;
            }
            self.host_receive(m, &frame);
        } else {
            let c = port - self.nics.len();
            self.client_receive(c, &frame);
        }
    }

    fn host_receive(&mut self, m: usize, frame: &[u8]) {
        if let Some((_, arp)) = parse_arp(frame) {
            if arp.target_protocol_addr == HOST_IP || arp.source_protocol_addr != HOST_IP {
                self.host_cache
                    .insert(arp.source_protocol_addr, arp.source_hardware_addr);
            }
            if arp.operation == ArpOperation::Request && arp.target_protocol_addr == HOST_IP {
                let bond = self.alb.bond_mac();
                let reply = arp_frame(
                    ArpOperation::Reply,
                    arp.source_hardware_addr,
                    bond,
                    bond,
                    HOST_IP,
                    arp.source_hardware_addr,
                    arp.source_protocol_addr,
                );
                let _ = self.host_send(reply);
            }
            return;
        }
        if ipv4_dst(frame) == Some(HOST_IP) {
            *self.log.host_rx.entry(m).or_default() += 1;
        }
    }

    fn client_receive(&mut self, c: usize, frame: &[u8]) {
        let cl = &mut self.clients[c];
        let dst = MacAddr(frame[0..6].try_into().unwrap());
        if dst != cl.mac && !dst.is_multicast() {
            return;
        }
        if let Some((_, arp)) = parse_arp(frame) {
            let for_me = arp.target_protocol_addr == cl.ip;
            // Linux arp_process: update an existing entry; create one when the ARP is
            // for us.
            if for_me || cl.cache.contains_key(&arp.source_protocol_addr) {
                cl.cache
                    .insert(arp.source_protocol_addr, arp.source_hardware_addr);
            }
            if for_me && arp.operation == ArpOperation::Request {
                let reply = arp_frame(
                    ArpOperation::Reply,
                    arp.source_hardware_addr,
                    cl.mac,
                    cl.mac,
                    cl.ip,
                    arp.source_hardware_addr,
                    arp.source_protocol_addr,
                );
                self.wire_from_client(c, reply);
            }
            return;
        }
        if ipv4_dst(frame) == Some(cl.ip) {
            cl.rx += 1;
        }
    }

    /// Client `c` sends one data frame to the host (resolving it first if needed).
    pub fn client_send(&mut self, c: usize) {
        let cl = &self.clients[c];
        match cl.cache.get(&HOST_IP) {
            Some(&m) => {
                let f = ipv4_frame(m, cl.mac, cl.ip, HOST_IP, 100);
                self.wire_from_client(c, f);
            }
            None => {
                let f = arp_frame(
                    ArpOperation::Request,
                    MacAddr::BROADCAST,
                    cl.mac,
                    cl.mac,
                    cl.ip,
                    MacAddr::ZERO,
                    HOST_IP,
                );
                self.wire_from_client(c, f);
            }
        }
        self.pump();
    }

    /// Advances virtual time to `to`, running every deadline on the way.
    pub fn advance_to(&mut self, to: Duration) {
        for _ in 0..1_000_000 {
            match self.alb.poll_timeout() {
                Some(d) if d <= to => {
                    self.now = self.now.max(d);
                    self.alb.handle_timeout(self.now);
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = self.now.max(to);
        self.alb.handle_timeout(self.now);
        self.pump();
    }

    pub fn advance(&mut self, by: Duration) {
        let to = self.now + by;
        self.advance_to(to);
    }

    /// A spare port's NIC comes up and joins the bond.
    pub fn add_member(&mut self, m: usize) {
        self.nics[m].up = true;
        self.switch.set_port(m, true);
        self.alb
            .add_member(self.now, m, mac(m as u8 + 1), 1000, MemberLink::Up)
            .unwrap();
        self.pump();
    }

    /// Member link change: the switch port and NIC go down/up, and the bond is told.
    pub fn set_member_link(&mut self, m: usize, up: bool) {
        self.nics[m].up = up;
        self.switch.set_port(self.member_port(m), up);
        self.alb
            .set_link(
                self.now,
                m,
                if up { MemberLink::Up } else { MemberLink::Down },
            )
            .unwrap();
        self.pump();
    }

    /// Which member's address each client uses for the host.
    pub fn client_members(&self) -> Vec<Option<usize>> {
        self.clients
            .iter()
            .map(|c| {
                let m = c.cache.get(&HOST_IP)?;
                self.alb.members().find(|s| s.mac == *m).map(|s| s.index)
            })
            .collect()
    }
}
