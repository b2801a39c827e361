//! Datapath throughput: 64-byte frames, many flows, through the device under test (DUT).
//!
//! ```text
//!  namespace G (generator + sink, one thread on --gen-cpu)      namespace D (the DUT, --dut-cpu)
//!  g0  --------------------------------------------------------  u    uplink port
//!  s0  --------------------------------------------------------  m0   member 0
//!  s1  --------------------------------------------------------  m1   member 1
//!  (s0, s1: the sink, itself an afxdp-bond over AF_XDP: balance-xor, or 802.3ad as the
//!   DUT's LACP partner; it counts frames and flows per member)
//! ```
//! The DUTs, one after another on the same veths, interleaved run by run:
//! - `plain`: a plain AF_XDP forwarder (no bond logic): frames from `u` go to `m0`, `m1`
//!   alternately; one shared UMEM, the same burst API and ring sizes as the bond.
//! - `bond-xor`, `bond-lacp`: this project's bond as a library forwarder (`BondWorker`):
//!   frames from the port `u` go through the engine's plan onto a member (balance-xor
//!   layer3+4; 802.3ad layer3+4 with lacp_rate=fast against the sink); all in one UMEM.
//! - `dpdk-xor`, `dpdk-lacp`: `dpdk-testpmd`, `net_af_xdp` on `u`, `m0`, `m1`, `net_bonding`
//!   over `m0`, `m1` (mode 2 with the l34 policy; mode 4), io forwarding between `u` and
//!   the bond, one forwarding lcore; with the MAC shim (see `scripts/bench.d`).
//! - `ovs-slb`, `ovs-tcp`: Open vSwitch 3.1, userspace datapath, `type=afxdp` ports, one PMD
//!   thread, a bond (balance-slb static; balance-tcp with LACP active fast), NORMAL action.
//!
//! With `--napi threaded` (default) the veth receive work is moved into NAPI kthreads: `u`'s
//! onto the DUT's CPU, `s0`/`s1`'s onto the generator's CPU, so every cycle the DUT costs
//! (receive copy into its UMEM, its user-space work, its transmit) is on its own CPU.
//! With `--napi sender` the kernel default stays: veth receive work runs on the sending CPU
//! (the generator pays for the DUT's receive, the DUT for the sink's).

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use afxdp_bond::netlab::{self, Netns, Ovs};
use afxdp_bond::runtime::{BondRx, RxSource};
use afxdp_bond::xdp::{self, MemberPort, RxFrame, XdpMode, XskConfig, sys};

use crate::common::{build_udp, udp_seq};
use crate::lab::{
    ForeignLoad, bond_ready, mac_here, machine, open_bond, pin_napi, set_threaded, wait_quiet,
    wait_until,
};
use crate::stats::median;
use crate::{Res, stopped};

/// Arguments of `bench fwd`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Args {
    /// Seconds of traffic per run.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Runs per DUT (interleaved; medians reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Flows (UDP source port and destination address vary).
    #[arg(long, default_value_t = 1024)]
    flows: u32,
    /// DUTs to measure, comma separated: plain, bond-xor, bond-lacp, dpdk-xor, dpdk-lacp,
    /// ovs-slb, ovs-tcp.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "plain,bond-xor,bond-lacp,dpdk-xor,dpdk-lacp,ovs-slb,ovs-tcp"
    )]
    duts: Vec<String>,
    /// CPU of the generator and sink.
    #[arg(long, default_value_t = 0)]
    gen_cpu: usize,
    /// CPU of the DUT.
    #[arg(long, default_value_t = 1)]
    dut_cpu: usize,
    /// Where veth receive work runs: threaded (NAPI kthreads pinned by side) or sender.
    #[arg(long, default_value = "threaded")]
    napi: String,
    /// Generator rate limit, frames per second (default: as fast as it can).
    #[arg(long)]
    rate: Option<u64>,
    /// XDP mode of every AF_XDP interface of this project's programs.
    #[arg(long, default_value = "native")]
    xdp_mode: XdpMode,
    /// Offered rates (frames per second) of the sweep after the overload trial; each trial
    /// at a rate above the generator's own maximum is skipped.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "100000,200000,300000,400000,500000,600000,800000,1000000,1200000,1400000"
    )]
    sweep: Vec<u64>,
    /// Seconds of each sweep trial.
    #[arg(long, default_value_t = 1.5)]
    trial_seconds: f64,
    /// Before each DUT run, wait (up to --quiet-wait seconds) until other processes use
    /// less than this share of a CPU (%, over 2 s); 0: do not wait.
    #[arg(long, default_value_t = 15.0)]
    quiet_limit: f64,
    /// Longest wait for a quiet machine before each run, seconds.
    #[arg(long, default_value_t = 90)]
    quiet_wait: u64,
    /// A run during which other processes took more than this share of a CPU (%) is
    /// measured again (at most --retries times; the last attempt is kept either way).
    #[arg(long, default_value_t = 10.0)]
    max_foreign: f64,
    /// Retries of a run disturbed by other processes.
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// The bond DUTs read one byte of every frame of a burst before deciding any (the
    /// cache misses of the burst overlap).
    #[arg(long)]
    touch_first: bool,
    /// Idle iterations of the plain and bond DUTs before they sleep in `ppoll` until a
    /// frame arrives; 0 (the default): never sleep, busy-poll, as testpmd's forwarding
    /// lcore and Open vSwitch's PMD thread do.
    #[arg(long, default_value_t = 0)]
    dut_spin: u32,
    /// The DPDK MAC shim (built by scripts/bench).
    #[arg(long, default_value = "target/bench/macshim.so")]
    macshim: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dut {
    Plain,
    BondXor,
    BondLacp,
    DpdkXor,
    DpdkLacp,
    OvsSlb,
    OvsTcp,
}

impl Dut {
    fn parse(s: &str) -> Res<Self> {
        Ok(match s {
            "plain" => Self::Plain,
            "bond-xor" => Self::BondXor,
            "bond-lacp" => Self::BondLacp,
            "dpdk-xor" => Self::DpdkXor,
            "dpdk-lacp" => Self::DpdkLacp,
            "ovs-slb" => Self::OvsSlb,
            "ovs-tcp" => Self::OvsTcp,
            _ => return Err(format!("unknown DUT {s:?}").into()),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::BondXor => "bond-xor",
            Self::BondLacp => "bond-lacp",
            Self::DpdkXor => "dpdk-xor",
            Self::DpdkLacp => "dpdk-lacp",
            Self::OvsSlb => "ovs-slb",
            Self::OvsTcp => "ovs-tcp",
        }
    }

    /// Whether the sink must be an 802.3ad partner.
    fn lacp(self) -> bool {
        matches!(self, Self::BondLacp | Self::DpdkLacp | Self::OvsTcp)
    }
}

/// The lab: two namespaces and three veth pairs.
struct Lab {
    g: Netns,
    d: Netns,
    g0: String,
    u: String,
    s: [String; 2],
    m: [String; 2],
}

impl Lab {
    fn new() -> Res<Self> {
        let g = Netns::new()?;
        let d = Netns::new()?;
        let (g0, u) = g.veth_to(&d)?;
        let (s0, m0) = g.veth_to(&d)?;
        let (s1, m1) = g.veth_to(&d)?;
        Ok(Self {
            g,
            d,
            g0,
            u,
            s: [s0, s1],
            m: [m0, m1],
        })
    }
}

/// Flags between the orchestrator, the generator/sink thread and the DUT.
#[derive(Default)]
struct Ctl {
    sink_ready: AtomicBool,
    dut_ready: AtomicBool,
    go: AtomicBool,
    done: AtomicBool,
    abort: AtomicBool,
    /// The sink announces its MAC (OVS learns where it is).
    announce: AtomicBool,
}

impl Ctl {
    fn quit(&self) -> bool {
        self.abort.load(Ordering::Relaxed) || stopped()
    }
}

fn xsk(args: &Args) -> XskConfig {
    XskConfig {
        xdp_mode: args.xdp_mode,
        ..XskConfig::default()
    }
}

/// A gratuitous ARP from `mac` (198.18.99.2), so a learning switch knows where it is.
fn announce(w: &mut afxdp_bond::runtime::BondWorker, mac: [u8; 6]) {
    let Some(mut f) = w.alloc() else { return };
    let b = w.buf_mut(&mut f);
    b[..60].fill(0);
    b[0..6].fill(0xff);
    b[6..12].copy_from_slice(&mac);
    b[12..14].copy_from_slice(&[0x08, 0x06]);
    b[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    b[22..28].copy_from_slice(&mac);
    b[28..32].copy_from_slice(&[198, 18, 99, 2]);
    b[38..42].copy_from_slice(&[198, 18, 99, 2]);
    let _ = w.set_len(&mut f, 60);
    w.send(f);
}

/// Writes a 60-byte (64 with FCS) IPv4/UDP frame of flow `flow` (< 60000): 198.18.0.1
/// port 1024 + flow to 198.19.(flow >> 8).X port 5001 where X is the top byte of
/// flow * 2654435761 (a multiplicative scramble), `seq` in the payload. The destination's
/// low byte is scrambled so that the XOR-folding layer3+4 hash of Linux does not cancel the
/// source port against the address: with both counting up together (or the address a
/// linear function of the port) every flow lands on one member, in the kernel as here.
fn build_frame(buf: &mut [u8], src: [u8; 6], dst: [u8; 6], flow: u32, seq: u64) {
    build_udp(buf, src, dst, 0, seq);
    let ip = &mut buf[14..34];
    ip[16..20].copy_from_slice(&[
        198,
        19,
        (flow >> 8) as u8,
        (flow.wrapping_mul(2_654_435_761) >> 24) as u8,
    ]);
    ip[10..12].fill(0);
    let c = crate::common::ipv4_checksum(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    buf[34..36].copy_from_slice(&(1024 + (flow % 60000) as u16).to_be_bytes());
    buf[36..38].copy_from_slice(&5001u16.to_be_bytes());
}

/// The flow of a frame made by [`build_frame`].
fn frame_flow(d: &[u8]) -> Option<usize> {
    udp_seq(d)?;
    let sport = u16::from_be_bytes([d[34], d[35]]);
    sport.checked_sub(1024).map(usize::from)
}

/// One trial: frames sent and received, per member, flows per member.
#[derive(Debug, Default, Clone)]
struct Trial {
    rate: Option<u64>,
    sent: u64,
    received: u64,
    per_member: [u64; 2],
    flows: [usize; 2],
    seconds: f64,
    /// Frames the kernel dropped at the sink's sockets (RX ring full, fill ring empty,
    /// other) during the trial: loss that is the sink's, not the DUT's.
    sink_drops: u64,
}

impl Trial {
    fn loss(&self) -> f64 {
        self.sent.saturating_sub(self.received) as f64 / self.sent.max(1) as f64
    }
    fn rx_pps(&self) -> f64 {
        self.received as f64 / self.seconds
    }
    fn sent_pps(&self) -> f64 {
        self.sent as f64 / self.seconds
    }
}

/// What the generator and sink found: the overload trial and the highest rate without
/// loss (above the threshold).
#[derive(Debug, Default, Clone)]
struct GenResult {
    overload: Trial,
    lossless: Option<Trial>,
    trials: Vec<Trial>,
    /// CPU share (% of one CPU) other processes used during the trials.
    foreign: f64,
}

/// Frames the kernel dropped on a worker's sockets, all reasons.
fn kernel_drops(k: &xdp::KernelXskStats) -> u64 {
    k.rx_dropped + k.rx_ring_full + k.rx_fill_ring_empty_descs
}

/// Loss a trial may have and still count as lossless.
const LOSS_OK: f64 = 0.001;

struct Generator {
    w: afxdp_bond::runtime::BondWorker,
    src: [u8; 6],
    dst: [u8; 6],
    flows: u64,
    seq: u64,
    out: Vec<BondRx>,
}

impl Generator {
    fn count(&mut self, t: &mut Trial, seen: &mut [Vec<u64>; 2]) -> Res<()> {
        self.out.clear();
        self.w.recv_burst(&mut self.out)?;
        for f in self.out.drain(..) {
            if let RxSource::Bond { member } = f.source {
                if member < 2 {
                    if let Some(flow) = frame_flow(self.w.data(&f.frame)) {
                        t.received += 1;
                        t.per_member[member] += 1;
                        seen[member][(flow / 64) % 1024] |= 1 << (flow % 64);
                    }
                }
            }
            self.w.release(f.frame);
        }
        Ok(())
    }

    /// Sends at `rate` (None: as fast as it can) for `secs`, then drains 200 ms.
    fn trial(&mut self, rate: Option<u64>, secs: f64, ctl: &Ctl) -> Res<Trial> {
        let mut t = Trial {
            rate,
            ..Trial::default()
        };
        let mut seen = [vec![0u64; 1024], vec![0u64; 1024]];
        let drops_before = kernel_drops(&self.w.kernel_stats());
        let start = Instant::now();
        let end = start + Duration::from_secs_f64(secs);
        let mut tokens = 0.0f64;
        let mut last = start;
        while Instant::now() < end && !ctl.quit() {
            let budget = match rate {
                Some(rate) => {
                    let now = Instant::now();
                    tokens =
                        (tokens + now.duration_since(last).as_secs_f64() * rate as f64).min(64.0);
                    last = now;
                    tokens as usize
                }
                None => 64,
            };
            let mut k = 0;
            while k < budget {
                let Some(mut f) = self.w.alloc() else { break };
                let flow = (self.seq % self.flows) as u32;
                build_frame(self.w.buf_mut(&mut f), self.src, self.dst, flow, self.seq);
                let _ = self.w.set_len(&mut f, 60);
                if !self.w.send_port(0, f) {
                    break;
                }
                self.seq += 1;
                t.sent += 1;
                k += 1;
            }
            tokens -= k as f64;
            self.count(&mut t, &mut seen)?;
            self.w.flush();
        }
        t.seconds = start.elapsed().as_secs_f64();
        let drain_end = Instant::now() + Duration::from_millis(200);
        while Instant::now() < drain_end {
            self.count(&mut t, &mut seen)?;
            self.w.flush();
        }
        for (f, m) in t.flows.iter_mut().zip(&seen) {
            *f = m.iter().map(|b| b.count_ones() as usize).sum();
        }
        t.sink_drops = kernel_drops(&self.w.kernel_stats()).saturating_sub(drops_before);
        Ok(t)
    }
}

/// The generator and sink, on one thread in namespace G.
fn gen_sink(lab: &Lab, args: &Args, lacp: bool, ctl: &Ctl) -> Res<GenResult> {
    lab.g.enter(|| -> Res<GenResult> {
        sys::pin_to_cpu(args.gen_cpu)?;
        let opts = if lacp {
            "mode=802.3ad lacp_rate=fast xmit_hash_policy=layer3+4 miimon=100"
        } else {
            "mode=balance-xor xmit_hash_policy=layer3+4 miimon=100"
        };
        let s = [lab.s[0].as_str(), lab.s[1].as_str()];
        let w = open_bond("bsink", opts, &s, &[&lab.g0], xsk(args))?;
        let mut g = Generator {
            src: mac_here(&lab.g0)?,
            dst: mac_here(&lab.s[0])?,
            w,
            flows: u64::from(args.flows.clamp(1, 60000)),
            seq: 0,
            out: Vec::with_capacity(256),
        };
        let wait_end = Instant::now() + Duration::from_secs(90);
        let mut next_check = Instant::now();
        while !ctl.go.load(Ordering::Acquire) {
            if ctl.quit() || Instant::now() > wait_end {
                return Err("generator: never told to go".into());
            }
            g.out.clear();
            g.w.recv_burst(&mut g.out)?;
            for f in g.out.drain(..) {
                g.w.release(f.frame);
            }
            // A trickle (about 1,000 frames/s) while waiting: DPDK's mode 4 sends its
            // LACPDUs only from inside the application's transmit calls on the bond, which
            // testpmd makes only when it forwards something.
            if let Some(mut f) = g.w.alloc() {
                let flow = (g.seq % g.flows) as u32;
                build_frame(g.w.buf_mut(&mut f), g.src, g.dst, flow, g.seq);
                let _ = g.w.set_len(&mut f, 60);
                g.w.send_port(0, f);
                g.seq += 1;
            }
            if Instant::now() >= next_check {
                next_check += Duration::from_millis(50);
                ctl.sink_ready.store(bond_ready(&g.w), Ordering::Release);
                if ctl.announce.load(Ordering::Relaxed) {
                    announce(&mut g.w, g.dst);
                }
            }
            g.w.flush();
            g.w.wait_for_work(Duration::from_millis(1))?;
        }
        let overload = g.trial(args.rate, args.seconds, ctl)?;
        let mut r = GenResult {
            overload: overload.clone(),
            lossless: None,
            trials: vec![overload.clone()],
            foreign: 0.0,
        };
        if overload.loss() <= LOSS_OK {
            r.lossless = Some(overload.clone());
        }
        if args.rate.is_none() {
            // A sweep of offered rates: the highest one forwarded with at most 0.1% loss,
            // and the peak forwarded rate (a single noisy trial cannot pull either down
            // as a bisection would be pulled).
            for &rate in &args.sweep {
                if ctl.quit() {
                    break;
                }
                if rate as f64 > overload.sent_pps() * 1.05 {
                    continue;
                }
                let t = g.trial(Some(rate), args.trial_seconds, ctl)?;
                if t.loss() <= LOSS_OK
                    && r.lossless.as_ref().is_none_or(|b| t.rx_pps() > b.rx_pps())
                {
                    r.lossless = Some(t.clone());
                }
                r.trials.push(t);
            }
        }
        Ok(r)
    })?
}

/// Forwarding loop of the plain AF_XDP forwarder.
fn dut_plain(lab: &Lab, args: &Args, ctl: &Ctl) -> Res<String> {
    lab.d.enter(|| -> Res<String> {
        sys::pin_to_cpu(args.dut_cpu)?;
        let cfg = xsk(args);
        let ports = [
            MemberPort::open(&lab.u, &cfg)?,
            MemberPort::open(&lab.m[0], &cfg)?,
            MemberPort::open(&lab.m[1], &cfg)?,
        ];
        let mut ws = xdp::open_workers(&ports, &cfg, None)?;
        let dp = &mut ws[0];
        ctl.dut_ready.store(true, Ordering::Release);
        let mut burst: Vec<RxFrame> = Vec::with_capacity(256);
        let mut idle = 0u32;
        let mut k = 0usize;
        while !ctl.done.load(Ordering::Relaxed) && !ctl.quit() {
            burst.clear();
            let n = dp.recv_burst(&mut burst);
            for f in burst.drain(..) {
                let to = if f.member == 0 {
                    k += 1;
                    1 + (k & 1)
                } else {
                    0
                };
                if let Err(fr) = dp.send(to, f.frame) {
                    dp.release(fr);
                }
            }
            dp.flush();
            if n == 0 {
                idle += 1;
                if args.dut_spin > 0 && idle > args.dut_spin {
                    idle = 0;
                    dp.wait_for_work(None, Duration::from_millis(10))?;
                }
            } else {
                idle = 0;
            }
        }
        let s = dp.stats();
        Ok(format!(
            "tx m0 {} m1 {}, ring full {}, DUT kernel drops {}",
            s.members[1].tx_frames,
            s.members[2].tx_frames,
            s.members[1].tx_ring_full + s.members[2].tx_ring_full,
            kernel_drops(&dp.kernel_stats())
        ))
    })?
}

/// The bond as a library forwarder.
fn dut_bond(lab: &Lab, args: &Args, ctl: &Ctl, lacp: bool) -> Res<String> {
    lab.d.enter(|| -> Res<String> {
        sys::pin_to_cpu(args.dut_cpu)?;
        let opts = if lacp {
            "mode=802.3ad lacp_rate=fast xmit_hash_policy=layer3+4 miimon=100"
        } else {
            "mode=balance-xor xmit_hash_policy=layer3+4 miimon=100"
        };
        let m = [lab.m[0].as_str(), lab.m[1].as_str()];
        let mut w = open_bond("bdut", opts, &m, &[&lab.u], xsk(args))?;
        let mut out: Vec<BondRx> = Vec::with_capacity(256);
        let mut idle = 0u32;
        let mut ready = false;
        let mut next_check = Instant::now();
        let mut dropped = 0u64;
        while !ctl.done.load(Ordering::Relaxed) && !ctl.quit() {
            out.clear();
            let n = w.recv_burst(&mut out)?;
            if args.touch_first {
                // Load every frame's Ethernet type before deciding any: the burst's cache
                // misses overlap instead of coming one per frame.
                let mut x = 0u8;
                for rx in &out {
                    x ^= w.data(&rx.frame).get(12).copied().unwrap_or(0);
                }
                std::hint::black_box(x);
            }
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
            if !ready && Instant::now() >= next_check {
                next_check += Duration::from_millis(20);
                ready = bond_ready(&w);
                ctl.dut_ready.store(ready, Ordering::Release);
            }
            if n == 0 {
                idle += 1;
                if args.dut_spin > 0 && idle > args.dut_spin {
                    idle = 0;
                    w.wait_for_work(Duration::from_millis(10))?;
                }
            } else {
                idle = 0;
            }
        }
        let s = w.stats();
        Ok(format!(
            "tx m0 {} m1 {}, ring full {}, bond dropped {dropped}, DUT kernel drops {}",
            s.members[0].tx_frames,
            s.members[1].tx_frames,
            s.members[0].tx_ring_full + s.members[1].tx_ring_full,
            kernel_drops(&w.kernel_stats())
        ))
    })?
}

/// A child process whose output is collected in the background; killed on drop.
struct Proc {
    child: Option<Child>,
    out: Arc<Mutex<String>>,
}

impl Proc {
    fn spawn(mut cmd: Command) -> Res<Self> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let out = Arc::new(Mutex::new(String::new()));
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let out = out.clone();
            std::thread::spawn(move || {
                let mut pipe = pipe;
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut o) = out.lock() {
                        o.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            });
        }
        Ok(Self {
            child: Some(child),
            out,
        })
    }

    fn send(&mut self, line: &str) {
        if let Some(stdin) = self.child.as_mut().and_then(|c| c.stdin.as_mut()) {
            let _ = stdin.write_all(line.as_bytes());
            let _ = stdin.flush();
        }
    }

    fn output(&self) -> String {
        self.out.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Waits up to `timeout` for the process to exit, then kills it.
    fn finish(&mut self, timeout: Duration) {
        if let Some(mut c) = self.child.take() {
            let end = Instant::now() + timeout;
            while Instant::now() < end {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.finish(Duration::ZERO);
    }
}

use std::io::Read as _;

/// Removes any XDP program a peer left attached through netlink (a killed OVS leaves its
/// own). Our programs are attached through BPF links and are gone already.
fn xdp_off(lab: &Lab) {
    for i in [&lab.u, &lab.m[0], &lab.m[1]] {
        let _ = lab.d.ip(&["link", "set", "dev", i, "xdp", "off"]);
    }
}

/// dpdk-testpmd: net_af_xdp ports, net_bonding over two of them, io forwarding.
fn dut_dpdk(lab: &Lab, args: &Args, ctl: &Ctl, lacp: bool) -> Res<String> {
    let prefix = netlab::unique_name('p');
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", lab.d.name(), "taskset", "-c"])
        .arg(args.dut_cpu.to_string())
        .args(["stdbuf", "-oL", "dpdk-testpmd"])
        .args(["--no-huge", "-m", "512", "--no-pci", "--no-shconf"])
        .arg(format!("--file-prefix={prefix}"))
        .arg(format!("--lcores=0@{0},1@{0}", args.dut_cpu))
        .args(["--log-level=pmd.net.bonding:info"])
        .arg("--vdev")
        .arg(format!(
            "net_af_xdp0,iface={},start_queue=0,queue_count=1",
            lab.u
        ))
        .arg("--vdev")
        .arg(format!(
            "net_af_xdp1,iface={},start_queue=0,queue_count=1",
            lab.m[0]
        ))
        .arg("--vdev")
        .arg(format!(
            "net_af_xdp2,iface={},start_queue=0,queue_count=1",
            lab.m[1]
        ))
        .args([
            "--",
            "-i",
            "--disable-device-start",
            "--nb-cores=1",
            "--total-num-mbufs=32768",
            "--forward-mode=io",
        ])
        .env("LD_PRELOAD", std::fs::canonicalize(&args.macshim)?);
    let mut p = Proc::spawn(cmd)?;
    let mode = if lacp { 4 } else { 2 };
    p.send(&format!(
        "create bonded device {mode} 0\nadd bonding slave 1 3\nadd bonding slave 2 3\nset bonding balance_xmit_policy 3 l34\nset portlist 0,3\nport start all\nstart\n"
    ));
    // testpmd runs under `stdbuf -oL`, so its report of the start arrives line by line.
    let started = wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
        p.output().contains("packet forwarding - ports=")
    });
    let result = (|| -> Res<String> {
        if !started {
            return Err(format!(
                "testpmd did not start forwarding:\n{}",
                tail(&p.output(), 30)
            )
            .into());
        }
        ctl.dut_ready.store(true, Ordering::Release);
        while !ctl.done.load(Ordering::Relaxed) && !ctl.quit() {
            std::thread::sleep(Duration::from_millis(20));
        }
        p.send("show bonding config 3\nstop\n");
        std::thread::sleep(Duration::from_millis(500));
        Ok(String::new())
    })();
    p.send("quit\n");
    p.finish(Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{prefix}"));
    xdp_off(lab);
    let out = p.output();
    if let Ok(dir) = std::env::var("BENCH_LOG_DIR") {
        let _ = std::fs::write(format!("{dir}/testpmd-{prefix}.log"), &out);
    }
    result.map(|_| {
        let ports: Vec<String> = out
            .lines()
            .filter(|l| l.contains("RX-packets:") || l.contains("Forward statistics for port"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .take(12)
            .collect();
        ports.join("; ")
    })
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Open vSwitch, userspace datapath, AF_XDP ports, a bond, NORMAL forwarding.
fn dut_ovs(lab: &Lab, args: &Args, ctl: &Ctl, tcp: bool) -> Res<String> {
    let ovs = Ovs::start(&lab.d)?;
    let mut cpuset = String::new();
    for f in ["ovs-vswitchd.pid", "ovsdb-server.pid"] {
        let pid = std::fs::read_to_string(ovs.dir().join(f))?;
        netlab::run_ok(
            "taskset",
            &["-a", "-p", "-c", &args.dut_cpu.to_string(), pid.trim()],
        )?;
        cpuset.push_str(pid.trim());
        cpuset.push(' ');
    }
    let mask = format!("other_config:pmd-cpu-mask=0x{:x}", 1u64 << args.dut_cpu);
    ovs.vsctl(&["set", "Open_vSwitch", ".", &mask])?;
    let (mode, lacp) = if tcp {
        ("bond_mode=balance-tcp", "lacp=active")
    } else {
        ("bond_mode=balance-slb", "lacp=off")
    };
    ovs.vsctl(&[
        "add-br",
        "br0",
        "--",
        "set",
        "bridge",
        "br0",
        "datapath_type=netdev",
        "--",
        "add-port",
        "br0",
        &lab.u,
        "--",
        "set",
        "interface",
        &lab.u,
        "type=afxdp",
        "--",
        "add-bond",
        "br0",
        "bond0",
        &lab.m[0],
        &lab.m[1],
        mode,
        lacp,
        "other_config:lacp-time=fast",
        "other_config:bond-rebalance-interval=0",
        "--",
        "set",
        "interface",
        &lab.m[0],
        "type=afxdp",
        "--",
        "set",
        "interface",
        &lab.m[1],
        "type=afxdp",
    ])?;
    let result = (|| -> Res<String> {
        let ok = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
            ovs.vsctl(&["--columns=error,ofport", "list", "interface"])
                .is_ok_and(|s| {
                    !s.contains("ofport              : -1")
                        && !s.contains("error               : \"")
                })
        });
        if !ok {
            return Err(format!(
                "OVS ports did not come up: {}",
                ovs.vsctl(&["--columns=name,error,ofport", "list", "interface"])
                    .unwrap_or_default()
            )
            .into());
        }
        // Every OVS thread, including those started by the ports, on the DUT CPU.
        for f in ["ovs-vswitchd.pid", "ovsdb-server.pid"] {
            let pid = std::fs::read_to_string(ovs.dir().join(f))?;
            netlab::run_ok(
                "taskset",
                &["-a", "-p", "-c", &args.dut_cpu.to_string(), pid.trim()],
            )?;
        }
        ctl.announce.store(true, Ordering::Relaxed);
        ctl.dut_ready.store(true, Ordering::Release);
        while !ctl.done.load(Ordering::Relaxed) && !ctl.quit() {
            std::thread::sleep(Duration::from_millis(20));
        }
        let bond = ovs.appctl(&["bond/show", "bond0"]).unwrap_or_default();
        let pmd = ovs
            .appctl(&["dpif-netdev/pmd-stats-show"])
            .unwrap_or_default();
        let bond_lines: Vec<&str> = bond
            .lines()
            .filter(|l| l.contains("member") || l.contains("bond_mode") || l.contains("may_enable"))
            .collect();
        let pmd_lines: Vec<&str> = pmd
            .lines()
            .filter(|l| {
                l.contains("pmd thread")
                    || l.contains("processing cycles")
                    || l.contains("avg cycles per packet")
            })
            .collect();
        Ok(format!(
            "{}; {}",
            bond_lines.join(" / "),
            pmd_lines.join(" / ")
        ))
    })();
    ctl.announce.store(false, Ordering::Relaxed);
    // A clean exit removes the ports' XDP programs; a kill would leave them attached.
    let _ = ovs.appctl(&["exit", "--cleanup"]);
    std::thread::sleep(Duration::from_millis(300));
    drop(ovs);
    xdp_off(lab);
    result
}

/// One measurement of one DUT.
fn one(lab: &Lab, args: &Args, dut: Dut) -> Res<(GenResult, String)> {
    let ctl = Ctl::default();
    std::thread::scope(|s| -> Res<(GenResult, String)> {
        let generator = s.spawn(|| gen_sink(lab, args, dut.lacp(), &ctl));
        // Give the sink a head start (its sockets are bound before the DUT sends).
        wait_until(Duration::from_secs(10), Duration::from_millis(10), || {
            ctl.sink_ready.load(Ordering::Acquire) || generator.is_finished()
        });
        let device = s.spawn(|| match dut {
            Dut::Plain => dut_plain(lab, args, &ctl),
            Dut::BondXor => dut_bond(lab, args, &ctl, false),
            Dut::BondLacp => dut_bond(lab, args, &ctl, true),
            Dut::DpdkXor => dut_dpdk(lab, args, &ctl, false),
            Dut::DpdkLacp => dut_dpdk(lab, args, &ctl, true),
            Dut::OvsSlb => dut_ovs(lab, args, &ctl, false),
            Dut::OvsTcp => dut_ovs(lab, args, &ctl, true),
        });
        let ready = wait_until(Duration::from_secs(60), Duration::from_millis(20), || {
            (ctl.sink_ready.load(Ordering::Acquire) && ctl.dut_ready.load(Ordering::Acquire))
                || generator.is_finished()
                || device.is_finished()
        }) && !generator.is_finished()
            && !device.is_finished();
        let pinned = if ready && args.napi == "threaded" {
            // Let LACP settle and OVS learn the sink's MAC first.
            std::thread::sleep(Duration::from_millis(if dut.lacp() { 1000 } else { 300 }));
            set_threaded(&lab.d, &lab.u, true)?;
            set_threaded(&lab.g, &lab.s[0], true)?;
            set_threaded(&lab.g, &lab.s[1], true)?;
            let a = pin_napi(&lab.u, args.dut_cpu)?;
            let b = pin_napi(&lab.s[0], args.gen_cpu)? + pin_napi(&lab.s[1], args.gen_cpu)?;
            format!("napi kthreads pinned: {a} on the DUT CPU, {b} on the generator CPU")
        } else {
            String::new()
        };
        if ready {
            ctl.go.store(true, Ordering::Release);
        } else {
            ctl.abort.store(true, Ordering::Release);
        }
        let load = ForeignLoad::start();
        let g = generator.join().map_err(|_| "generator panicked")?;
        let foreign = load.percent();
        ctl.done.store(true, Ordering::Release);
        let d = device.join().map_err(|_| "DUT panicked")?;
        if !ready {
            return Err(format!(
                "{} did not become ready (sink ready {}, DUT ready {}): generator {:?}, DUT {:?}",
                dut.name(),
                ctl.sink_ready.load(Ordering::Relaxed),
                ctl.dut_ready.load(Ordering::Relaxed),
                g.err(),
                d.err()
            )
            .into());
        }
        let mut g = g?;
        g.foreign = foreign;
        let d = d?;
        Ok((g, format!("{d}; {pinned}")))
    })
}

pub(crate) fn run(args: &Args) -> Res<()> {
    let duts: Vec<Dut> = args
        .duts
        .iter()
        .map(|s| Dut::parse(s))
        .collect::<Res<_>>()?;
    if args.napi != "threaded" && args.napi != "sender" {
        return Err("--napi: threaded or sender".into());
    }
    let lab = Lab::new()?;
    println!(
        "fwd: {} flows, 64-byte frames, overload trial {} s, sweep {:?} x {} s, {} runs, generator+sink on CPU {}, DUT on CPU {}, NAPI {}; {}",
        args.flows,
        args.seconds,
        args.sweep,
        args.trial_seconds,
        args.runs,
        args.gen_cpu,
        args.dut_cpu,
        args.napi,
        machine()
    );
    let mut results: Vec<Vec<Option<GenResult>>> = vec![Vec::new(); duts.len()];
    for run in 0..args.runs {
        for (k, &dut) in duts.iter().enumerate() {
            if stopped() {
                return Ok(());
            }
            if args.quiet_limit > 0.0 {
                wait_quiet(args.quiet_limit, Duration::from_secs(args.quiet_wait));
            }
            let mut attempt = one(&lab, args, dut);
            for retry in 0..args.retries {
                match &attempt {
                    Ok((g, _)) if g.foreign > args.max_foreign => {
                        println!(
                            "  (run {} of {}: other processes took {:.0}% of a CPU; measuring again, retry {})",
                            run + 1,
                            dut.name(),
                            g.foreign,
                            retry + 1
                        );
                        if args.quiet_limit > 0.0 {
                            wait_quiet(args.quiet_limit, Duration::from_secs(args.quiet_wait));
                        }
                        attempt = one(&lab, args, dut);
                    }
                    _ => break,
                }
            }
            match attempt {
                Ok((g, note)) => {
                    let o = &g.overload;
                    let l = g.lossless.as_ref();
                    println!(
                        "RESULT fwd napi={} run={} dut={} lossless_pps={:.0} overload_sent_pps={:.0} overload_rx_pps={:.0} overload_loss={:.2}% m0={} m1={} flows_m0={} flows_m1={} foreign_cpu={:.0}% | {note}",
                        args.napi,
                        run + 1,
                        dut.name(),
                        l.map_or(0.0, Trial::rx_pps),
                        o.sent_pps(),
                        o.rx_pps(),
                        100.0 * o.loss(),
                        o.per_member[0],
                        o.per_member[1],
                        o.flows[0],
                        o.flows[1],
                        g.foreign
                    );
                    for t in &g.trials[1..] {
                        println!(
                            "  trial offered={} sent_pps={:.0} rx_pps={:.0} loss={:.3}% sink_kernel_drops={}",
                            t.rate.unwrap_or(0),
                            t.sent_pps(),
                            t.rx_pps(),
                            100.0 * t.loss(),
                            t.sink_drops
                        );
                    }
                    results[k].push(Some(g));
                }
                Err(e) => {
                    println!(
                        "RESULT fwd napi={} run={} dut={} FAILED: {e}",
                        args.napi,
                        run + 1,
                        dut.name()
                    );
                    results[k].push(None);
                }
            }
        }
    }
    summary(args, &duts, &results);
    Ok(())
}

/// Medians, and per-run ratios to the plain forwarder of the same run.
fn summary(args: &Args, duts: &[Dut], results: &[Vec<Option<GenResult>>]) {
    let base = duts.iter().position(|d| *d == Dut::Plain);
    let metric = |g: &GenResult, lossless: bool| -> f64 {
        if lossless {
            g.lossless.as_ref().map_or(0.0, Trial::rx_pps)
        } else {
            g.overload.rx_pps()
        }
    };
    let peak = |g: &GenResult| -> f64 { g.trials.iter().map(Trial::rx_pps).fold(0.0, f64::max) };
    println!();
    println!(
        "| DUT (NAPI {}) | <=0.1% loss, kpps (median) | x plain | peak forwarded kpps (median) | x plain | overload: offered / forwarded kpps | x plain | runs | frames m0 / m1 | flows m0 / m1 | other processes, % CPU (max) |",
        args.napi
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (k, dut) in duts.iter().enumerate() {
        let ok: Vec<&GenResult> = results[k].iter().flatten().collect();
        let col = |lossless: bool| -> (f64, String) {
            let v: Vec<f64> = ok.iter().map(|g| metric(g, lossless)).collect();
            let ratios: Vec<f64> = match base {
                Some(b) => results[k]
                    .iter()
                    .zip(&results[b])
                    .filter_map(|(x, y)| match (x, y) {
                        (Some(x), Some(y)) if metric(y, lossless) > 0.0 => {
                            Some(metric(x, lossless) / metric(y, lossless))
                        }
                        _ => None,
                    })
                    .collect(),
                None => Vec::new(),
            };
            let r = if ratios.is_empty() {
                "-".to_string()
            } else {
                format!("{:.3}", median(&ratios))
            };
            (median(&v), r)
        };
        let (lossless, lr) = col(true);
        let peaks: Vec<f64> = ok.iter().map(|g| peak(g)).collect();
        let peak_ratios: Vec<f64> = match base {
            Some(b) => results[k]
                .iter()
                .zip(&results[b])
                .filter_map(|(x, y)| match (x, y) {
                    (Some(x), Some(y)) if peak(y) > 0.0 => Some(peak(x) / peak(y)),
                    _ => None,
                })
                .collect(),
            None => Vec::new(),
        };
        let pr = if peak_ratios.is_empty() {
            "-".to_string()
        } else {
            format!("{:.3}", median(&peak_ratios))
        };
        let (over, or) = col(false);
        let offered = median(&ok.iter().map(|g| g.overload.sent_pps()).collect::<Vec<_>>());
        let (f0, f1) = ok.iter().fold((0u64, 0u64), |a, g| {
            (
                a.0 + g.overload.per_member[0],
                a.1 + g.overload.per_member[1],
            )
        });
        let (fl0, fl1) = ok
            .last()
            .map_or((0, 0), |g| (g.overload.flows[0], g.overload.flows[1]));
        let share = if f0 + f1 > 0 {
            format!(
                "{:.1}% / {:.1}%",
                100.0 * f0 as f64 / (f0 + f1) as f64,
                100.0 * f1 as f64 / (f0 + f1) as f64
            )
        } else {
            "-".into()
        };
        println!(
            "| {} | {:.0} | {lr} | {:.0} | {pr} | {:.0} / {:.0} | {or} | {}/{} | {share} | {fl0} / {fl1} | {:.0} |",
            dut.name(),
            lossless / 1e3,
            median(&peaks) / 1e3,
            offered / 1e3,
            over / 1e3,
            ok.len(),
            results[k].len(),
            crate::stats::max(&ok.iter().map(|g| g.foreign).collect::<Vec<_>>()),
        );
    }
}
