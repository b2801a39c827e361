//! Shared test helpers: a tiny pcap reader and a deterministic simulated network.
#![allow(dead_code, unreachable_pub)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;
use std::time::Duration;

use lacp::wire::{Frame, Lacpdu, Pdu};
use lacp::{Config, Link, MacAddr, System};

/// Reads the frames of a classic (microsecond or nanosecond) pcap file.
pub fn read_pcap(path: impl AsRef<Path>) -> Vec<Vec<u8>> {
    let data = std::fs::read(path.as_ref()).expect("read pcap");
    assert!(data.len() >= 24, "pcap too short");
    let magic = u32::from_le_bytes(data[0..4].try_into().unwrap());
    let le = match magic {
        0xa1b2c3d4 | 0xa1b23c4d => true,
        0xd4c3b2a1 | 0x4d3cb2a1 => false,
        m => panic!("not a classic pcap: magic {m:#x}"),
    };
    let u32_at = |off: usize| {
        let b: [u8; 4] = data[off..off + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let linktype = u32_at(20);
    assert_eq!(linktype, 1, "expected Ethernet link type");
    let mut off = 24;
    let mut frames = Vec::new();
    while off + 16 <= data.len() {
        let incl = u32_at(off + 8) as usize;
        off += 16;
        frames.push(data[off..off + incl].to_vec());
        off += incl;
    }
    frames
}

/// Writes frames to a classic pcap file (Ethernet, microseconds).
pub fn write_pcap(path: impl AsRef<Path>, frames: &[(Duration, Vec<u8>)]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (t, f) in frames {
        out.extend_from_slice(&(t.as_secs() as u32).to_le_bytes());
        out.extend_from_slice(&t.subsec_micros().to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).expect("write pcap");
}

pub fn testdata(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn mac(last: u8, sys: u8) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, sys, last])
}

/// xorshift64*: deterministic, seeded.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// True with probability `ppm` / 1e6.
    pub fn chance(&mut self, ppm: u32) -> bool {
        (self.next_u64() % 1_000_000) < u64::from(ppm)
    }
}

/// One simulated cable between two (system, port) ends.
#[derive(Clone, Debug)]
pub struct Cable {
    pub a: (usize, usize),
    pub b: (usize, usize),
    pub delay: Duration,
    /// Loss in parts per million, each direction.
    pub loss_ppm: u32,
    /// Cut: frames are lost (no link event).
    pub cut: bool,
    /// Drop only what `a` sends (a partner that falls silent towards `b`... reversed).
    pub mute_a: bool,
    pub mute_b: bool,
    /// Rewrites the LACPDUs `b` sends before `a` receives them.
    pub mangle_b: Option<fn(&mut Lacpdu)>,
}

impl Cable {
    pub fn new(a: (usize, usize), b: (usize, usize)) -> Self {
        Self {
            a,
            b,
            delay: ms(1),
            loss_ppm: 0,
            cut: false,
            mute_a: false,
            mute_b: false,
            mangle_b: None,
        }
    }
}

/// A frame sent: when, by which system and port, and what.
#[derive(Clone, Debug)]
pub struct Sent {
    pub at: Duration,
    pub sys: usize,
    pub port: usize,
    pub frame: Frame,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    at: Reverse<Duration>,
    seq: Reverse<u64>,
    sys: usize,
    port: usize,
    frame: Vec<u8>,
}

/// Systems joined by cables, driven in virtual time.
pub struct Net {
    pub systems: Vec<System>,
    pub cables: Vec<Cable>,
    pub now: Duration,
    pub rng: Rng,
    pub sent: Vec<Sent>,
    pub events: Vec<(Duration, usize, lacp::Event)>,
    flight: BinaryHeap<InFlight>,
    seq: u64,
    pub steps: u64,
}

pub const STEP_LIMIT: u64 = 2_000_000;

impl Net {
    pub fn new(seed: u64) -> Self {
        Self {
            systems: Vec::new(),
            cables: Vec::new(),
            now: Duration::ZERO,
            rng: Rng::new(seed),
            sent: Vec::new(),
            events: Vec::new(),
            flight: BinaryHeap::new(),
            seq: 0,
            steps: 0,
        }
    }

    /// Adds a system with `ports` ports (indices 0..ports), MACs 02:00:00:00:<id>:<port+1>.
    pub fn add_system(&mut self, mut config: Config, ports: usize) -> usize {
        let id = self.systems.len();
        config.bond_mac = mac(0, id as u8 + 1);
        let mut s = System::new(config).expect("config");
        for p in 0..ports {
            s.add_port(self.now, p, mac(p as u8 + 1, id as u8 + 1))
                .expect("add_port");
        }
        self.systems.push(s);
        id
    }

    pub fn connect(&mut self, a: (usize, usize), b: (usize, usize)) -> usize {
        self.cables.push(Cable::new(a, b));
        self.cables.len() - 1
    }

    /// Sets the link of both ends of a cable.
    pub fn set_link(&mut self, cable: usize, link: Link) {
        let c = self.cables[cable].clone();
        let now = self.now;
        self.systems[c.a.0].handle_link(now, c.a.1, link).unwrap();
        self.systems[c.b.0].handle_link(now, c.b.1, link).unwrap();
        self.flush();
    }

    pub fn all_up(&mut self, speed: u32) {
        for c in 0..self.cables.len() {
            self.set_link(c, Link::up(speed));
        }
    }

    /// Sends everything the systems want to send now, collects their events.
    pub fn flush(&mut self) {
        for s in 0..self.systems.len() {
            while let Some(t) = self.systems[s].poll_transmit(self.now) {
                self.sent.push(Sent {
                    at: self.now,
                    sys: s,
                    port: t.port,
                    frame: t.frame,
                });
                self.carry(s, t.port, t.frame.as_bytes().to_vec());
            }
            while let Some(e) = self.systems[s].poll_event() {
                self.events.push((self.now, s, e));
            }
        }
    }

    fn carry(&mut self, sys: usize, port: usize, mut frame: Vec<u8>) {
        let Some(c) = self
            .cables
            .iter()
            .find(|c| c.a == (sys, port) || c.b == (sys, port))
            .cloned()
        else {
            return;
        };
        let from_a = c.a == (sys, port);
        if c.cut || (from_a && c.mute_a) || (!from_a && c.mute_b) {
            return;
        }
        if c.loss_ppm > 0 && self.rng.chance(c.loss_ppm) {
            return;
        }
        if !from_a {
            if let Some(m) = c.mangle_b {
                if let Ok((src, Pdu::Lacpdu(mut pdu))) = Pdu::parse_frame(&frame) {
                    m(&mut pdu);
                    frame = Frame::new(src, &Pdu::Lacpdu(pdu)).as_bytes().to_vec();
                }
            }
        }
        let dst = if from_a { c.b } else { c.a };
        self.seq += 1;
        self.flight.push(InFlight {
            at: Reverse(self.now + c.delay),
            seq: Reverse(self.seq),
            sys: dst.0,
            port: dst.1,
            frame,
        });
    }

    /// The next instant something happens.
    pub fn next_time(&self) -> Option<Duration> {
        let mut t = self.flight.peek().map(|f| f.at.0);
        for s in &self.systems {
            if let Some(d) = s.poll_timeout() {
                t = Some(t.map_or(d, |t: Duration| t.min(d)));
            }
        }
        t
    }

    /// Advances to the next instant (not beyond `limit`) and processes it.
    pub fn step(&mut self, limit: Duration) -> bool {
        self.steps += 1;
        assert!(
            self.steps < STEP_LIMIT,
            "simulation did not settle within {STEP_LIMIT} steps"
        );
        let Some(t) = self.next_time().filter(|&t| t <= limit) else {
            self.now = self.now.max(limit);
            for s in &mut self.systems {
                s.handle_timeout(self.now);
            }
            self.flush();
            return false;
        };
        assert!(t >= self.now, "time went backwards");
        self.now = t;
        while self.flight.peek().is_some_and(|f| f.at.0 <= self.now) {
            let f = self.flight.pop().unwrap();
            let _ = self.systems[f.sys]
                .handle_rx(self.now, f.port, &f.frame)
                .unwrap();
        }
        for s in &mut self.systems {
            s.handle_timeout(self.now);
        }
        self.flush();
        true
    }

    pub fn run_until(&mut self, until: Duration) {
        while self.step(until) {}
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Runs until `cond` holds; fails the test if it does not within `within`.
    pub fn drive(
        &mut self,
        within: Duration,
        what: &str,
        cond: impl Fn(&Self) -> bool,
    ) -> Duration {
        let start = self.now;
        let until = self.now + within;
        loop {
            if cond(self) {
                return self.now - start;
            }
            if !self.step(until) {
                assert!(
                    cond(self),
                    "never settled: {what} (after {within:?}, now {:?})",
                    self.now
                );
                return self.now - start;
            }
        }
    }

    pub fn distributing(&self, sys: usize, port: usize) -> bool {
        self.systems[sys].is_distributing(port)
    }

    pub fn all_distributing(&self, sys: usize, ports: &[usize]) -> bool {
        ports.iter().all(|&p| self.distributing(sys, p))
    }

    /// LACPDUs sent by (sys, port) in [from, to).
    pub fn lacpdus_sent(
        &self,
        sys: usize,
        port: usize,
        from: Duration,
        to: Duration,
    ) -> Vec<Duration> {
        self.sent
            .iter()
            .filter(|s| s.sys == sys && s.port == port && s.at >= from && s.at < to)
            .filter(|s| {
                matches!(
                    Pdu::parse_frame(s.frame.as_bytes()),
                    Ok((_, Pdu::Lacpdu(_)))
                )
            })
            .map(|s| s.at)
            .collect()
    }
}

/// Asserts that no 1-second window holds more than 3 of these instants.
pub fn assert_at_most_3_per_second(times: &[Duration], what: &str) {
    for (i, &t) in times.iter().enumerate() {
        let n = times[i..]
            .iter()
            .take_while(|&&u| u < t + Duration::from_secs(1))
            .count();
        assert!(n <= 3, "{what}: {n} LACPDUs within 1 s starting at {t:?}");
    }
}
