//! One-command benchmark of the plain AF_XDP forwarder on veth, in a lab it builds and
//! removes itself (network namespaces, addresses only from 198.18.0.0/15, nothing outside).
//!
//! ```text
//! gen ns:  [g0] ---veth--- [f1]  fwd ns  [f2] ---veth--- [s0]  (gen ns)
//!          generator          l2fwd loop           sink
//! ```
//! The generator and the sink run in one busy loop on `--gen-cpu`, the forwarder on
//! `--fwd-cpu`. On veth the receive-side kernel work of a frame runs on the CPU of its
//! sender: the XDP redirect into the forwarder's socket runs on the generator's CPU, the one
//! into the sink's socket on the forwarder's CPU.
//!
//! With `--threaded-napi` the veth receive work moves into NAPI kthreads pinned by side
//! (the forwarder's receive interface on the forwarder's CPU), so the forwarder's CPU carries
//! everything the forwarding costs.
//!
//! ```text
//! cargo run --release -p afxdp-bond --example l2fwd_bench -- --seconds 5 --runs 3 [--threaded-napi]
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use afxdp_bond::netlab::{self, Netns};
use afxdp_bond::xdp::{self, MemberPort, RxFrame, XdpMode, XskConfig};
use clap::Parser;

mod common;
use common::{build_udp, udp_seq};

#[derive(Parser, Debug)]
#[command(about = "Benchmark the plain AF_XDP forwarder between two veths")]
struct Args {
    /// Seconds of traffic per run.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Number of runs (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// XDP mode of every interface.
    #[arg(long, default_value = "native")]
    xdp_mode: XdpMode,
    /// CPU of the forwarder.
    #[arg(long, default_value_t = 1)]
    fwd_cpu: usize,
    /// CPU of the generator and sink.
    #[arg(long, default_value_t = 0)]
    gen_cpu: usize,
    /// Flows (UDP source port and destination address vary).
    #[arg(long, default_value_t = 1024)]
    flows: u32,
    /// Generator rate limit in frames per second (default: as fast as it can).
    #[arg(long)]
    rate: Option<u64>,
    /// Move the veth receive work into NAPI kthreads pinned by side: the forwarder's
    /// receive interface (f1) on the forwarder's CPU, the sink's (s0) on the generator's.
    /// Then every cycle the forwarder costs is on its own CPU. The kthreads run SCHED_FIFO
    /// (priority 10), as softirq NAPI would preempt the forwarder on a real NIC.
    #[arg(long)]
    threaded_napi: bool,
    /// Empty polls before the forwarder sleeps in ppoll (u32::MAX: never sleeps).
    #[arg(long, default_value_t = 64)]
    spin: u32,
}

/// Enables threaded NAPI on `ifname` (in `ns`) and pins its kthread to `cpu`.
fn pin_napi(ns: &Netns, ifname: &str, cpu: usize) -> Result<(), Box<dyn std::error::Error>> {
    ns.run(
        "sh",
        &["-c", &format!("echo 1 > /sys/class/net/{ifname}/threaded")],
    )?;
    let prefix = format!("napi/{ifname}");
    let mut pinned = 0;
    for e in std::fs::read_dir("/proc")?.filter_map(Result::ok) {
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        let comm = comm.trim();
        let rest = comm.strip_prefix(&prefix);
        if rest.is_some_and(|r| r.is_empty() || r.starts_with('-')) {
            let pid = e.file_name().to_string_lossy().into_owned();
            netlab::run_ok("taskset", &["-p", "-c", &cpu.to_string(), &pid])?;
            // Real NICs run NAPI in softirq, which preempts user threads: SCHED_FIFO gives
            // the kthread the same precedence over a busy-polling forwarder.
            netlab::run_ok("chrt", &["-f", "-p", "10", &pid])?;
            pinned += 1;
        }
    }
    if pinned == 0 {
        return Err(format!("no NAPI kthread found for {ifname}").into());
    }
    Ok(())
}

struct Run {
    sent: u64,
    forwarded: u64,
    received: u64,
    seconds: f64,
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args = Args::parse();
    netlab::remove_stale();
    let mut runs = Vec::new();
    for i in 0..args.runs {
        let r = one_run(&args).unwrap_or_else(|e| {
            eprintln!("l2fwd_bench: {e}");
            std::process::exit(1);
        });
        println!(
            "run {}: generated {:.0} pps, forwarded {:.0} pps, received {:.0} pps, lost {:.3}%",
            i + 1,
            r.sent as f64 / r.seconds,
            r.forwarded as f64 / r.seconds,
            r.received as f64 / r.seconds,
            100.0 * (r.sent.saturating_sub(r.received)) as f64 / r.sent.max(1) as f64
        );
        runs.push(r);
    }
    let mut fwd: Vec<f64> = runs
        .iter()
        .map(|r| r.forwarded as f64 / r.seconds)
        .collect();
    fwd.sort_by(f64::total_cmp);
    let mut rcv: Vec<f64> = runs.iter().map(|r| r.received as f64 / r.seconds).collect();
    rcv.sort_by(f64::total_cmp);
    println!(
        "median over {} runs: forwarded {:.0} pps, received {:.0} pps (64-byte frames, {} flows, XDP {}, forwarder on CPU {}, generator+sink on CPU {}, threaded NAPI {})",
        runs.len(),
        fwd[fwd.len() / 2],
        rcv[rcv.len() / 2],
        args.flows,
        args.xdp_mode,
        args.fwd_cpu,
        args.gen_cpu,
        args.threaded_napi
    );
}

fn one_run(args: &Args) -> Result<Run, Box<dyn std::error::Error>> {
    let gen_ns = Netns::new()?;
    let fwd_ns = Netns::new()?;
    let (g0, f1) = gen_ns.veth_to(&fwd_ns)?;
    let (s0, f2) = gen_ns.veth_to(&fwd_ns)?;
    let sink_mac = gen_ns.mac(&s0)?;
    let cfg = XskConfig {
        xdp_mode: args.xdp_mode,
        ..XskConfig::default()
    };
    let stop = AtomicBool::new(false);
    let attached = AtomicBool::new(false);
    let go = AtomicBool::new(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| -> Result<Run, Box<dyn std::error::Error>> {
        let fwd = s.spawn(|| {
            fwd_ns.enter(|| -> Result<u64, xdp::Error> {
                xdp::sys::pin_to_cpu(args.fwd_cpu).map_err(|e| xdp::Error::new("pin", e))?;
                let ports = [MemberPort::open(&f1, &cfg)?, MemberPort::open(&f2, &cfg)?];
                let mut ws = xdp::open_workers(&ports, &cfg, None)?;
                let dp = &mut ws[0];
                let _ = ready_tx.send(());
                let mut burst: Vec<RxFrame> = Vec::with_capacity(256);
                let end = Instant::now() + Duration::from_secs_f64(args.seconds + 30.0);
                let mut idle = 0u32;
                while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                    burst.clear();
                    let n = dp.recv_burst(&mut burst);
                    for f in burst.drain(..) {
                        if let Err(fr) = dp.send(1 - f.member, f.frame) {
                            dp.release(fr);
                        }
                    }
                    dp.flush();
                    if n == 0 {
                        idle += 1;
                        if idle > args.spin {
                            idle = 0;
                            dp.wait_for_work(None, Duration::from_millis(10))?;
                        }
                    } else {
                        idle = 0;
                    }
                }
                eprintln!(
                    "  forwarder: {:?}, tx ring full {}",
                    dp.kernel_stats(),
                    dp.stats().members[1].tx_ring_full
                );
                Ok(dp.stats().members[1].tx_frames)
            })
        });
        ready_rx.recv_timeout(Duration::from_secs(10))?;
        let generator = s.spawn(|| {
            gen_ns.enter(|| -> Result<(u64, u64, f64), xdp::Error> {
                xdp::sys::pin_to_cpu(args.gen_cpu).map_err(|e| xdp::Error::new("pin", e))?;
                let src = xdp::netlink::get_link(xdp::sys::ifindex(&g0)?)?.mac;
                let ports = [MemberPort::open(&g0, &cfg)?, MemberPort::open(&s0, &cfg)?];
                let mut ws = xdp::open_workers(&ports, &cfg, None)?;
                let dp = &mut ws[0];
                attached.store(true, Ordering::Release);
                let wait_end = Instant::now() + Duration::from_secs(10);
                while !go.load(Ordering::Acquire) && Instant::now() < wait_end {
                    std::thread::sleep(Duration::from_millis(1));
                }
                let mut burst: Vec<RxFrame> = Vec::with_capacity(256);
                let (mut sent, mut received) = (0u64, 0u64);
                let start = Instant::now();
                let end = start + Duration::from_secs_f64(args.seconds);
                let flows = u64::from(args.flows.max(1));
                // Rate limit: a token bucket holding at most one batch, so a generator that
                // was descheduled does not catch up with a burst of thousands of frames.
                let mut tokens = 0.0f64;
                let mut last = start;
                while Instant::now() < end {
                    let now = Instant::now();
                    let budget = match args.rate {
                        Some(r) => {
                            tokens = (tokens + now.duration_since(last).as_secs_f64() * r as f64)
                                .min(64.0);
                            last = now;
                            tokens as usize
                        }
                        None => 64,
                    };
                    let mut k = 0;
                    while k < budget {
                        let Some(mut f) = dp.alloc() else { break };
                        build_udp(
                            dp.buf_mut(&mut f),
                            src,
                            sink_mac,
                            (sent % flows) as u32,
                            sent,
                        );
                        let _ = dp.set_len(&mut f, 60);
                        if let Err(f) = dp.send(0, f) {
                            dp.release(f);
                            break;
                        }
                        sent += 1;
                        k += 1;
                    }
                    tokens -= k as f64;
                    burst.clear();
                    dp.recv_burst(&mut burst);
                    for f in burst.drain(..) {
                        if f.member == 1 && udp_seq(dp.data(&f.frame)).is_some() {
                            received += 1;
                        }
                        dp.release(f.frame);
                    }
                    dp.flush();
                }
                let seconds = start.elapsed().as_secs_f64();
                // Drain what is still in flight (not counted in the rate).
                let drain_end = Instant::now() + Duration::from_millis(200);
                while Instant::now() < drain_end {
                    burst.clear();
                    dp.recv_burst(&mut burst);
                    for f in burst.drain(..) {
                        if f.member == 1 && udp_seq(dp.data(&f.frame)).is_some() {
                            received += 1;
                        }
                        dp.release(f.frame);
                    }
                    dp.flush();
                }
                Ok((sent, received, seconds))
            })
        });
        let wait_end = Instant::now() + Duration::from_secs(10);
        while !attached.load(Ordering::Acquire)
            && !generator.is_finished()
            && Instant::now() < wait_end
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        if args.threaded_napi {
            pin_napi(&fwd_ns, &f1, args.fwd_cpu)?;
            pin_napi(&gen_ns, &s0, args.gen_cpu)?;
        }
        go.store(true, Ordering::Release);
        let (sent, received, seconds) = generator.join().map_err(|_| "generator panicked")???;
        stop.store(true, Ordering::Relaxed);
        let forwarded = fwd.join().map_err(|_| "forwarder panicked")???;
        for (ns, ifname) in [(&fwd_ns, &f1), (&gen_ns, &s0)] {
            let stats = ns.run("ethtool", &["-S", ifname]).unwrap_or_default();
            let drops: Vec<&str> = stats
                .lines()
                .map(str::trim)
                .filter(|l| (l.contains("drop") || l.contains("full")) && !l.ends_with(": 0"))
                .collect();
            eprintln!("  {ifname} ethtool drops: {drops:?}");
        }
        Ok(Run {
            sent,
            forwarded,
            received,
            seconds,
        })
    })
}
