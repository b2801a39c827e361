//! Failover: a steady numbered stream through the bond (a library forwarder, as in `fwd`);
//! the member carrying it loses its carrier (its veth peer is set down) or goes dark
//! (frames dropped beyond it, no carrier change: what the ARP monitor is for); the sink
//! records every sequence number, and the loss around each cut is measured: frames lost
//! and the outage (the longest run of consecutive missing frames of any one flow, as
//! time at the stream's rate).
//!
//! ```text
//!  namespace G (generator + sink, --gen-cpu)                 namespace D (the bond, --dut-cpu)
//!  g0 ------------------------------------------------------ u    (port: frames into the bond)
//!  s0 ------------------------------------------------------ m0   member 0
//!  s1 ------------------------------------------------------ m1   member 1
//! ```
//! Variants (`--variants`):
//! - `ab-carrier`: active-backup, miimon=100, carrier cut; the veth ends have different
//!   interface indexes, so the kernel reports the carrier change at once (an "urgent" link
//!   event): the bond learns it from rtnetlink.
//! - `ab-carrier-nonurgent`: the same, but both ends of each veth have the SAME interface
//!   index (in their own namespaces). The kernel's linkwatch then takes the carrier change
//!   as non-urgent and reports it to rtnetlink up to one second late; the bond's
//!   ETHTOOL_GLINK check at the miimon rate (100 ms) sees the carrier at once.
//! - `ab-carrier-nonurgent-miimon10`: the same with miimon=10.
//! - `ab-arp`: active-backup with the ARP monitor (arp_interval=100, arp_ip_target
//!   198.18.99.2, arp_missed_max=2, no miimon); the active member goes dark. The sink
//!   answers the ARP probes on the port they came from and floods a copy of each request to
//!   the other port (as a switch floods a broadcast), so the backup sees traffic too.
//! - `lacp-carrier`: 802.3ad, lacp_rate=fast, miimon=100, layer3+4 over 64 flows, against
//!   an 802.3ad sink; member 0 or 1 (alternately) loses its carrier. Only the flows on that
//!   member are hit.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use afxdp_bond::netlab::Netns;
use afxdp_bond::runtime::{BondRx, RxSource};
use afxdp_bond::xdp::{self, MemberPort, RxFrame, XdpMode, XskConfig, sys};

use crate::common::{build_udp, udp_seq};
use crate::lab::{ForeignLoad, bond_ready, mac_here, machine, open_bond, wait_until};
use crate::stats::{max, median, percentile};
use crate::{Res, stopped};

/// Arguments of `bench failover`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Args {
    /// Frames per second of the numbered stream.
    #[arg(long, default_value_t = 100_000)]
    rate: u64,
    /// Cuts per variant.
    #[arg(long, default_value_t = 10)]
    reps: usize,
    /// Variants, comma separated (see the module docs).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ab-carrier,ab-carrier-nonurgent,ab-carrier-nonurgent-miimon10,ab-arp,lacp-carrier"
    )]
    variants: Vec<String>,
    /// CPU of the generator and sink.
    #[arg(long, default_value_t = 0)]
    gen_cpu: usize,
    /// CPU of the bond.
    #[arg(long, default_value_t = 1)]
    dut_cpu: usize,
    /// XDP mode.
    #[arg(long, default_value = "native")]
    xdp_mode: XdpMode,
    /// Cuts per case of the kernel-only linkwatch measurement (0: skip it).
    #[arg(long, default_value_t = 5)]
    linkwatch_reps: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// The peer of the member is set down: the member loses its carrier.
    Carrier,
    /// Frames beyond the member are dropped; no carrier change.
    Dark,
}

#[derive(Debug, Clone)]
struct Variant {
    name: String,
    options: &'static str,
    lacp: bool,
    same_ifindex: bool,
    cut: Cut,
    flows: u32,
}

impl Variant {
    fn parse(s: &str) -> Res<Self> {
        let v = |options, lacp, same_ifindex, cut, flows| Self {
            name: s.to_string(),
            options,
            lacp,
            same_ifindex,
            cut,
            flows,
        };
        Ok(match s {
            "ab-carrier" => v(
                "mode=active-backup miimon=100",
                false,
                false,
                Cut::Carrier,
                1,
            ),
            "ab-carrier-nonurgent" => v(
                "mode=active-backup miimon=100",
                false,
                true,
                Cut::Carrier,
                1,
            ),
            "ab-carrier-nonurgent-miimon10" => {
                v("mode=active-backup miimon=10", false, true, Cut::Carrier, 1)
            }
            "ab-arp" => v(
                "mode=active-backup arp_interval=100 arp_ip_target=198.18.99.2 arp_missed_max=2",
                false,
                false,
                Cut::Dark,
                1,
            ),
            "lacp-carrier" => v(
                "mode=802.3ad lacp_rate=fast miimon=100 xmit_hash_policy=layer3+4",
                true,
                false,
                Cut::Carrier,
                64,
            ),
            _ => return Err(format!("unknown failover variant {s:?}").into()),
        })
    }
}

/// The lab, with chosen interface indexes.
struct Lab {
    g: Netns,
    d: Netns,
    g0: String,
    u: String,
    s: [String; 2],
    m: [String; 2],
    /// A spare veth pair (both ends in G) flapped just before each carrier cut, so that
    /// the kernel's linkwatch has run within the last second.
    spare: (String, String),
}

impl Lab {
    fn new(same_ifindex: bool) -> Res<Self> {
        let g = Netns::new()?;
        let d = Netns::new()?;
        let (g0, u) = g.veth_to_indexed(&d, 100, 200)?;
        let idx = |k: u32| {
            if same_ifindex {
                (300 + k, 300 + k)
            } else {
                (300 + k, 400 + k)
            }
        };
        let (s0, m0) = g.veth_to_indexed(&d, idx(0).0, idx(0).1)?;
        let (s1, m1) = g.veth_to_indexed(&d, idx(1).0, idx(1).1)?;
        let spare = g.veth_pair()?;
        Ok(Self {
            g,
            d,
            g0,
            u,
            s: [s0, s1],
            m: [m0, m1],
            spare,
        })
    }
}

/// Shared between the orchestrator, the generator/sink and the bond.
#[derive(Default)]
struct Ctl {
    /// Next sequence number the generator sends.
    seq: AtomicU64,
    /// Numbered frames received per sink port.
    rx_port: [AtomicU64; 2],
    /// Port goes dark (drops what arrives, answers nothing).
    dark: [AtomicBool; 2],
    sink_ready: AtomicBool,
    dut_ready: AtomicBool,
    done: AtomicBool,
}

/// Received sequence numbers, as a growing bitmap.
#[derive(Default)]
struct Seen(Vec<u64>);

impl Seen {
    fn set(&mut self, seq: u64) {
        let w = (seq / 64) as usize;
        if w >= self.0.len() {
            self.0.resize(w + 1 + 4096, 0);
        }
        self.0[w] |= 1 << (seq % 64);
    }

    fn get(&self, seq: u64) -> bool {
        self.0
            .get((seq / 64) as usize)
            .is_some_and(|w| w & (1 << (seq % 64)) != 0)
    }
}

/// Token bucket pacing at `rate`, at most one batch of 64 at a time.
struct Pacer {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Pacer {
    fn budget(&mut self) -> usize {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(64.0);
        self.last = now;
        self.tokens as usize
    }
}

const ARP_TARGET: [u8; 4] = [198, 18, 99, 2];

/// Turns an ARP request for `ARP_TARGET` in `d` into the reply from `mac`; false if it is
/// not one.
fn arp_reply(d: &mut [u8], mac: [u8; 6]) -> bool {
    if d.len() < 42 || d[12..14] != [0x08, 0x06] || d[20..22] != [0, 1] || d[38..42] != ARP_TARGET {
        return false;
    }
    let sha: [u8; 6] = d[22..28].try_into().unwrap_or([0; 6]);
    let spa: [u8; 4] = d[28..32].try_into().unwrap_or([0; 4]);
    d[0..6].copy_from_slice(&sha);
    d[6..12].copy_from_slice(&mac);
    d[20..22].copy_from_slice(&[0, 2]);
    d[22..28].copy_from_slice(&mac);
    d[28..32].copy_from_slice(&ARP_TARGET);
    d[32..38].copy_from_slice(&sha);
    d[38..42].copy_from_slice(&spa);
    true
}

fn build(buf: &mut [u8], src: [u8; 6], dst: [u8; 6], flows: u32, seq: u64) {
    let flow = (seq % u64::from(flows)) as u32;
    build_udp(buf, src, dst, 0, seq);
    // Flows by source port and a scrambled destination (see fwd's build_frame).
    let ip = &mut buf[14..34];
    ip[19] = (flow.wrapping_mul(2_654_435_761) >> 24) as u8;
    ip[10..12].fill(0);
    let c = crate::common::ipv4_checksum(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    buf[34..36].copy_from_slice(&(1024 + flow as u16).to_be_bytes());
}

/// The generator and a plain sink (AF_XDP sockets on g0, s0, s1) that answers ARP.
fn plain_sink(lab: &Lab, args: &Args, v: &Variant, ctl: &Ctl) -> Res<Seen> {
    lab.g.enter(|| -> Res<Seen> {
        sys::pin_to_cpu(args.gen_cpu)?;
        let cfg = XskConfig {
            xdp_mode: args.xdp_mode,
            ..XskConfig::default()
        };
        let ports = [
            MemberPort::open(&lab.g0, &cfg)?,
            MemberPort::open(&lab.s[0], &cfg)?,
            MemberPort::open(&lab.s[1], &cfg)?,
        ];
        let mut ws = xdp::open_workers(&ports, &cfg, None)?;
        let dp = &mut ws[0];
        let src = mac_here(&lab.g0)?;
        let smac = [mac_here(&lab.s[0])?, mac_here(&lab.s[1])?];
        ctl.sink_ready.store(true, Ordering::Release);
        let mut seen = Seen::default();
        let mut pacer = Pacer {
            rate: args.rate as f64,
            tokens: 0.0,
            last: Instant::now(),
        };
        let mut burst: Vec<RxFrame> = Vec::with_capacity(256);
        let mut seq = 0u64;
        let end = Instant::now() + Duration::from_secs(600);
        while !ctl.done.load(Ordering::Relaxed) && !stopped() && Instant::now() < end {
            for _ in 0..pacer.budget() {
                let Some(mut f) = dp.alloc() else { break };
                build(dp.buf_mut(&mut f), src, smac[0], v.flows, seq);
                let _ = dp.set_len(&mut f, 60);
                if let Err(f) = dp.send(0, f) {
                    dp.release(f);
                    break;
                }
                seq += 1;
                pacer.tokens -= 1.0;
            }
            ctl.seq.store(seq, Ordering::Relaxed);
            burst.clear();
            dp.recv_burst(&mut burst);
            for mut rx in burst.drain(..) {
                let p = rx.member.wrapping_sub(1);
                if p > 1 || ctl.dark[p].load(Ordering::Relaxed) {
                    dp.release(rx.frame);
                    continue;
                }
                if let Some(s) = udp_seq(dp.data(&rx.frame)) {
                    seen.set(s);
                    ctl.rx_port[p].fetch_add(1, Ordering::Relaxed);
                    dp.release(rx.frame);
                    continue;
                }
                let other = 1 - p;
                if dp.data(&rx.frame).get(20..22) == Some(&[0, 1]) {
                    // Flood a copy of the request to the other port (a switch would).
                    if !ctl.dark[other].load(Ordering::Relaxed) {
                        if let Some(c) = dp.copy_frame(&rx.frame) {
                            if let Err(c) = dp.send(other + 1, c) {
                                dp.release(c);
                            }
                        }
                    }
                }
                if arp_reply(dp.data_mut(&mut rx.frame), smac[p]) {
                    if let Err(f) = dp.send(p + 1, rx.frame) {
                        dp.release(f);
                    }
                } else {
                    dp.release(rx.frame);
                }
            }
            dp.flush();
        }
        Ok(seen)
    })?
}

/// The generator and an 802.3ad sink (the bond's LACP partner).
fn lacp_sink(lab: &Lab, args: &Args, v: &Variant, ctl: &Ctl) -> Res<Seen> {
    lab.g.enter(|| -> Res<Seen> {
        sys::pin_to_cpu(args.gen_cpu)?;
        let s = [lab.s[0].as_str(), lab.s[1].as_str()];
        let mut w = open_bond(
            "fsink",
            "mode=802.3ad lacp_rate=fast miimon=100 xmit_hash_policy=layer3+4",
            &s,
            &[&lab.g0],
            XskConfig {
                xdp_mode: args.xdp_mode,
                ..XskConfig::default()
            },
        )?;
        let src = mac_here(&lab.g0)?;
        let dst = mac_here(&lab.s[0])?;
        let mut seen = Seen::default();
        let mut pacer = Pacer {
            rate: args.rate as f64,
            tokens: 0.0,
            last: Instant::now(),
        };
        let mut out: Vec<BondRx> = Vec::with_capacity(256);
        let mut seq = 0u64;
        let mut next_check = Instant::now();
        let end = Instant::now() + Duration::from_secs(600);
        while !ctl.done.load(Ordering::Relaxed) && !stopped() && Instant::now() < end {
            for _ in 0..pacer.budget() {
                let Some(mut f) = w.alloc() else { break };
                build(w.buf_mut(&mut f), src, dst, v.flows, seq);
                let _ = w.set_len(&mut f, 60);
                if !w.send_port(0, f) {
                    break;
                }
                seq += 1;
                pacer.tokens -= 1.0;
            }
            ctl.seq.store(seq, Ordering::Relaxed);
            out.clear();
            w.recv_burst(&mut out)?;
            for rx in out.drain(..) {
                if let RxSource::Bond { member } = rx.source {
                    if let Some(s) = udp_seq(w.data(&rx.frame)) {
                        seen.set(s);
                        if member < 2 {
                            ctl.rx_port[member].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                w.release(rx.frame);
            }
            w.flush();
            if Instant::now() >= next_check {
                next_check += Duration::from_millis(20);
                ctl.sink_ready.store(bond_ready(&w), Ordering::Release);
            }
        }
        Ok(seen)
    })?
}

/// The bond under test, a library forwarder: frames from `u` into the bond, and back.
fn dut(lab: &Lab, args: &Args, v: &Variant, ctl: &Ctl) -> Res<String> {
    lab.d.enter(|| -> Res<String> {
        sys::pin_to_cpu(args.dut_cpu)?;
        let m = [lab.m[0].as_str(), lab.m[1].as_str()];
        let mut w = open_bond(
            "fdut",
            v.options,
            &m,
            &[&lab.u],
            XskConfig {
                xdp_mode: args.xdp_mode,
                ..XskConfig::default()
            },
        )?;
        let mut out: Vec<BondRx> = Vec::with_capacity(256);
        let mut idle = 0u32;
        let mut next_check = Instant::now();
        let mut dropped = 0u64;
        while !ctl.done.load(Ordering::Relaxed) && !stopped() {
            out.clear();
            let n = w.recv_burst(&mut out)?;
            for rx in out.drain(..) {
                match rx.source {
                    RxSource::Port(_) => {
                        if !w.send(rx.frame) {
                            dropped += 1;
                        }
                    }
                    RxSource::Bond { .. } => {
                        w.send_port(0, rx.frame);
                    }
                }
            }
            w.flush();
            if Instant::now() >= next_check {
                next_check += Duration::from_millis(20);
                ctl.dut_ready.store(bond_ready(&w), Ordering::Release);
            }
            if n == 0 {
                idle += 1;
                if idle > 64 {
                    idle = 0;
                    w.wait_for_work(Duration::from_millis(1))?;
                }
            } else {
                idle = 0;
            }
        }
        let st = w.status_json();
        let failures: Vec<String> = st["members"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| format!("{}", m["link_failure_count"]))
                    .collect()
            })
            .unwrap_or_default();
        Ok(format!(
            "bond dropped {dropped} (no usable member), link failure counts [{}]",
            failures.join(", ")
        ))
    })?
}

/// One cut and what it cost.
#[derive(Debug, Clone)]
struct CutResult {
    port: usize,
    lost: u64,
    gap_ms: f64,
    restore_lost: u64,
    restore_gap_ms: f64,
}

/// Seconds since midnight (UTC) now.
fn time_of_day() -> f64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (t.as_secs() % 86_400) as f64 + f64::from(t.subsec_nanos()) * 1e-9
}

/// From `ip -ts monitor link` output: the times (seconds since midnight) at which `ifname`
/// was reported without carrier.
fn carrier_down_times(monitor: &str, ifname: &str) -> Vec<f64> {
    monitor
        .lines()
        .filter(|l| l.contains(&format!(" {ifname}@")) && l.contains("NO-CARRIER"))
        .filter_map(|l| {
            let ts = l.strip_prefix('[')?.split(']').next()?;
            let time = ts.split('T').nth(1)?;
            let mut it = time.split(':');
            let h: f64 = it.next()?.parse().ok()?;
            let m: f64 = it.next()?.parse().ok()?;
            let s: f64 = it.next()?.parse().ok()?;
            Some(h * 3600.0 + m * 60.0 + s)
        })
        .collect()
}

/// Missing sequence numbers in `[from, to)` of a stream of `flows` interleaved flows
/// (sequence `s` belongs to flow `s % flows`): the count, and the longest outage of any
/// one flow, as a number of sequence numbers (its longest run of consecutive missing
/// frames times `flows`). Unrelated losses elsewhere in the window (a frame dropped by a
/// busy machine) add to the count but do not lengthen the outage.
fn missing(seen: &Seen, from: u64, to: u64, flows: u64) -> (u64, u64) {
    let flows = flows.max(1);
    let mut n = 0;
    let mut run = vec![0u64; flows as usize];
    let mut longest = 0u64;
    for s in from..to {
        let f = (s % flows) as usize;
        if seen.get(s) {
            run[f] = 0;
        } else {
            n += 1;
            run[f] += 1;
            longest = longest.max(run[f]);
        }
    }
    (n, longest * flows)
}

fn run_variant(args: &Args, v: &Variant) -> Res<(Vec<CutResult>, String)> {
    let lab = Lab::new(v.same_ifindex)?;
    let ctl = Ctl::default();
    let idx = |ns: &Netns, i: &str| -> String {
        ns.ip(&["-o", "link", "show", i])
            .ok()
            .and_then(|s| s.split(':').next().map(str::to_string))
            .unwrap_or_default()
    };
    let ifindexes = format!(
        "ifindex m0 {} / s0 {}, m1 {} / s1 {}",
        idx(&lab.d, &lab.m[0]),
        idx(&lab.g, &lab.s[0]),
        idx(&lab.d, &lab.m[1]),
        idx(&lab.g, &lab.s[1])
    );
    let load = ForeignLoad::start();
    std::thread::scope(|sc| -> Res<(Vec<CutResult>, String)> {
        let sink = sc.spawn(|| {
            if v.lacp {
                lacp_sink(&lab, args, v, &ctl)
            } else {
                plain_sink(&lab, args, v, &ctl)
            }
        });
        wait_until(Duration::from_secs(10), Duration::from_millis(10), || {
            ctl.sink_ready.load(Ordering::Acquire) || sink.is_finished()
        });
        let bond = sc.spawn(|| dut(&lab, args, v, &ctl));
        let both =
            || ctl.sink_ready.load(Ordering::Acquire) && ctl.dut_ready.load(Ordering::Acquire);
        let mut results = Vec::new();
        let mut error = None;
        if !wait_until(Duration::from_secs(30), Duration::from_millis(10), || {
            both() || sink.is_finished() || bond.is_finished()
        }) || sink.is_finished()
            || bond.is_finished()
        {
            error = Some("bond or sink did not become ready".to_string());
        }
        std::thread::sleep(Duration::from_secs(2));
        let rate = args.rate as f64;
        let mut cuts: Vec<(usize, u64, u64, u64)> = Vec::new();
        for rep in 0..args.reps {
            if error.is_some() || stopped() {
                break;
            }
            // The member to cut: the one carrying the stream now (active-backup), or each
            // in turn (802.3ad).
            let port = if v.lacp {
                rep % 2
            } else {
                let a = [
                    ctl.rx_port[0].load(Ordering::Relaxed),
                    ctl.rx_port[1].load(Ordering::Relaxed),
                ];
                std::thread::sleep(Duration::from_millis(50));
                let b = [
                    ctl.rx_port[0].load(Ordering::Relaxed),
                    ctl.rx_port[1].load(Ordering::Relaxed),
                ];
                if b[1] - a[1] > b[0] - a[0] { 1 } else { 0 }
            };
            if v.cut == Cut::Carrier {
                // An unrelated link change 100 ms before the cut: linkwatch runs for it, and
                // a non-urgent change within the next second waits for its next run.
                lab.g.set_up(&lab.spare.1, false)?;
                lab.g.set_up(&lab.spare.1, true)?;
                std::thread::sleep(Duration::from_millis(100));
            }
            let cut_seq = ctl.seq.load(Ordering::Relaxed);
            match v.cut {
                Cut::Carrier => {
                    lab.g.set_up(&lab.s[port], false)?;
                }
                Cut::Dark => ctl.dark[port].store(true, Ordering::Relaxed),
            }
            std::thread::sleep(Duration::from_millis(1500));
            let restore_seq = ctl.seq.load(Ordering::Relaxed);
            match v.cut {
                Cut::Carrier => {
                    lab.g.set_up(&lab.s[port], true)?;
                }
                Cut::Dark => ctl.dark[port].store(false, Ordering::Relaxed),
            }
            // Back to steady state before the next cut.
            std::thread::sleep(Duration::from_millis(1500));
            if !wait_until(Duration::from_secs(20), Duration::from_millis(10), both) {
                error = Some(format!("not back to steady state after cut {}", rep + 1));
            }
            std::thread::sleep(Duration::from_millis(500));
            let next_seq = ctl.seq.load(Ordering::Relaxed);
            cuts.push((port, cut_seq, restore_seq, next_seq));
        }
        ctl.done.store(true, Ordering::Release);
        let seen = sink.join().map_err(|_| "sink panicked")??;
        let note = bond.join().map_err(|_| "bond panicked")??;
        let pre = (rate * 0.05) as u64;
        for &(port, cut, restore, next) in &cuts {
            let flows = u64::from(v.flows);
            let (lost, span) = missing(&seen, cut.saturating_sub(pre), restore, flows);
            let (rlost, rspan) = missing(&seen, restore, next.saturating_sub(pre), flows);
            results.push(CutResult {
                port,
                lost,
                gap_ms: span as f64 / rate * 1e3,
                restore_lost: rlost,
                restore_gap_ms: rspan as f64 / rate * 1e3,
            });
        }
        if let Some(e) = error {
            return Err(e.into());
        }
        Ok((
            results,
            format!(
                "{ifindexes}; {note}; other processes {:.0}% of a CPU",
                load.percent()
            ),
        ))
    })
}

/// The kernel alone (no bond, no XDP): how late rtnetlink reports a veth's carrier loss,
/// for veths whose ends have the same interface index (non-urgent for linkwatch) or
/// different ones (urgent), with linkwatch idle for a second before the cut or primed by an
/// unrelated link change 100 ms before. Returns (same ifindex, primed, delays in ms).
fn linkwatch_probe(reps: usize) -> Res<Vec<(bool, bool, Vec<f64>)>> {
    let a = Netns::new()?;
    let b = Netns::new()?;
    let (same_a, same_b) = a.veth_to_indexed(&b, 500, 500)?;
    let (diff_a, diff_b) = a.veth_to_indexed(&b, 510, 520)?;
    let spare = b.veth_pair()?;
    let monitor = a.spawn("ip", &["-ts", "monitor", "link"])?;
    std::thread::sleep(Duration::from_millis(300));
    let mut cuts = Vec::new();
    for rep in 0..reps {
        for (same, (ia, ib)) in [(true, (&same_a, &same_b)), (false, (&diff_a, &diff_b))] {
            for primed in [false, true] {
                if stopped() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1200));
                if primed {
                    b.set_up(&spare.1, false)?;
                    b.set_up(&spare.1, true)?;
                    std::thread::sleep(Duration::from_millis(100));
                }
                b.set_up(ib, false)?;
                // After the command returned: the carrier is off by then.
                let t = time_of_day();
                cuts.push((same, primed, ia.clone(), t));
                std::thread::sleep(Duration::from_millis(1300));
                b.set_up(ib, true)?;
                let _ = rep;
            }
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let (out, _) = monitor.wait_timeout(Duration::ZERO)?;
    let mon = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut res: Vec<(bool, bool, Vec<f64>)> = Vec::new();
    for (same, primed) in [(true, false), (true, true), (false, false), (false, true)] {
        let d: Vec<f64> = cuts
            .iter()
            .filter(|c| c.0 == same && c.1 == primed)
            .filter_map(|(_, _, ifname, t)| {
                carrier_down_times(&mon, ifname)
                    .into_iter()
                    .map(|x| (x - t) * 1e3)
                    .filter(|d| (-50.0..1250.0).contains(d))
                    .reduce(f64::min)
            })
            .collect();
        res.push((same, primed, d));
    }
    Ok(res)
}

pub(crate) fn run(args: &Args) -> Res<()> {
    let variants: Vec<Variant> = args
        .variants
        .iter()
        .map(|s| Variant::parse(s))
        .collect::<Res<_>>()?;
    println!(
        "failover: {} frames/s numbered stream, {} cuts per variant, generator+sink on CPU {}, bond on CPU {}; {}",
        args.rate,
        args.reps,
        args.gen_cpu,
        args.dut_cpu,
        machine()
    );
    if args.linkwatch_reps > 0 {
        println!();
        println!(
            "| veth ends | linkwatch before the cut | cuts | rtnetlink carrier-down after the cut, ms: median | min | max |"
        );
        println!("|---|---|---:|---:|---:|---:|");
        for (same, primed, d) in linkwatch_probe(args.linkwatch_reps)? {
            println!(
                "| {} | {} | {} | {:.1} | {:.1} | {:.1} |",
                if same {
                    "same ifindex (non-urgent)"
                } else {
                    "different ifindex (urgent)"
                },
                if primed {
                    "ran 100 ms before"
                } else {
                    "idle for 1.2 s"
                },
                d.len(),
                median(&d),
                d.iter().copied().fold(f64::NAN, f64::min),
                max(&d)
            );
        }
        println!();
    }
    let mut table = Vec::new();
    for v in &variants {
        if stopped() {
            break;
        }
        crate::lab::wait_quiet(15.0, Duration::from_secs(90));
        match run_variant(args, v) {
            Ok((cuts, note)) => {
                for (i, c) in cuts.iter().enumerate() {
                    println!(
                        "RESULT failover variant={} cut={} member={} lost={} outage_ms={:.3} restore_lost={} restore_outage_ms={:.3}",
                        v.name,
                        i + 1,
                        c.port,
                        c.lost,
                        c.gap_ms,
                        c.restore_lost,
                        c.restore_gap_ms
                    );
                }
                println!("  {}: {note}", v.name);
                let gaps: Vec<f64> = cuts.iter().map(|c| c.gap_ms).collect();
                let lost: Vec<f64> = cuts.iter().map(|c| c.lost as f64).collect();
                let rlost: Vec<f64> = cuts.iter().map(|c| c.restore_lost as f64).collect();
                table.push(format!(
                    "| {} | `{}` | {} | {:.0} | {:.0} | {:.3} | {:.3} | {:.3} | {:.0} |",
                    v.name,
                    v.options,
                    cuts.len(),
                    median(&lost),
                    max(&lost),
                    median(&gaps),
                    percentile(&gaps, 90.0),
                    max(&gaps),
                    max(&rlost),
                ));
            }
            Err(e) => {
                println!("RESULT failover variant={} FAILED: {e}", v.name);
                table.push(format!(
                    "| {} | `{}` | failed: {e} |||||||",
                    v.name, v.options
                ));
            }
        }
    }
    println!();
    println!(
        "| variant | options | cuts | frames lost (median) | (max) | outage ms (median) | (p90) | (max) | lost at restore (max) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for l in table {
        println!("{l}");
    }
    Ok(())
}
