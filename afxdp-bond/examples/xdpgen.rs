//! An AF_XDP traffic generator and sink for the benchmarks.
//!
//! ```text
//! xdpgen tx IFACE [--dst-mac MAC] [--flows N] [--rate PPS] [--duration S] [--count N] [--cpu N]
//! xdpgen rx IFACE [--duration S] [--cpu N]
//! ```
//! With `--sink IFACE2`, `tx` also opens IFACE2 and counts (and checks the sequence of)
//! what arrives there, in the same busy loop: on a two-core machine one core then carries
//! the generator and the sink, and the other is left to the device under test.
//! `tx` sends 60-byte (64 with FCS) IPv4/UDP frames from 198.18.0.1 to 198.19.0.0/16,
//! cycling over `--flows` flows (UDP source port and destination address vary), each with
//! a 64-bit sequence number in the payload; it also counts what it receives. `rx` counts
//! frames received (and sequence gaps). Both print the rate once a second and a summary.

use std::time::{Duration, Instant};

use afxdp_bond::xdp::{self, BindMode, MemberPort, RxFrame, XdpMode, XskConfig};
use clap::{Parser, ValueEnum};

mod common;
use common::{build_udp, udp_seq};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Role {
    Tx,
    Rx,
}

#[derive(Parser, Debug)]
#[command(about = "AF_XDP 64-byte UDP generator and sink")]
struct Args {
    /// Send or count.
    role: Role,
    /// Interface.
    iface: String,
    /// Destination MAC of generated frames.
    #[arg(long, default_value = "02:00:00:00:00:02")]
    dst_mac: String,
    /// Number of flows.
    #[arg(long, default_value_t = 1024)]
    flows: u32,
    /// Frames per second (default: as fast as possible).
    #[arg(long)]
    rate: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Stop after this many frames sent.
    #[arg(long)]
    count: Option<u64>,
    /// Pin to this CPU.
    #[arg(long)]
    cpu: Option<usize>,
    /// XDP attach mode.
    #[arg(long, default_value = "auto")]
    xdp_mode: XdpMode,
    /// AF_XDP bind mode.
    #[arg(long, default_value = "auto")]
    bind_mode: BindMode,
    /// Also receive on this interface (generator and sink in one loop).
    #[arg(long)]
    sink: Option<String>,
    /// No per-second lines.
    #[arg(long)]
    quiet: bool,
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for m in &mut mac {
        *m = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("xdpgen: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), xdp::Error> {
    if let Some(cpu) = args.cpu {
        xdp::sys::pin_to_cpu(cpu).map_err(|e| xdp::Error::new(format!("pin to CPU {cpu}"), e))?;
    }
    let dst = parse_mac(&args.dst_mac).ok_or_else(|| {
        xdp::Error::new(
            format!("bad --dst-mac {}", args.dst_mac),
            std::io::Error::from_raw_os_error(libc::EINVAL),
        )
    })?;
    let ifindex = xdp::sys::ifindex(&args.iface)?;
    let src = xdp::netlink::get_link(ifindex)?.mac;
    let cfg = XskConfig {
        xdp_mode: args.xdp_mode,
        bind_mode: args.bind_mode,
        ..XskConfig::default()
    };
    let mut ports = vec![MemberPort::open(&args.iface, &cfg)?];
    if let Some(sink) = &args.sink {
        ports.push(MemberPort::open(sink, &cfg)?);
    }
    let mut workers = xdp::open_workers(&ports, &cfg, None)?;
    let dp = &mut workers[0];
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(args.duration);
    let mut burst: Vec<RxFrame> = Vec::with_capacity(256);
    let (mut sent, mut received, mut gaps, mut last_seq) = (0u64, 0u64, 0u64, None::<u64>);
    let mut last = (start, 0u64, 0u64);
    let flows = args.flows.max(1);
    let limit = args.count.unwrap_or(u64::MAX);
    loop {
        let now = Instant::now();
        if args.role == Role::Tx && sent < limit {
            let allowed = match args.rate {
                Some(r) => ((now - start).as_secs_f64() * r as f64) as u64,
                None => u64::MAX,
            };
            let mut k = 0;
            while k < 64 && sent < limit && sent < allowed {
                let Some(mut f) = dp.alloc() else { break };
                build_udp(
                    dp.buf_mut(&mut f),
                    src,
                    dst,
                    (sent % u64::from(flows)) as u32,
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
        }
        burst.clear();
        dp.recv_burst(&mut burst);
        for rx in burst.drain(..) {
            if args.sink.is_some() && rx.member == 0 {
                dp.release(rx.frame);
                continue;
            }
            received += 1;
            if let Some(seq) = udp_seq(dp.data(&rx.frame)) {
                if let Some(l) = last_seq {
                    if seq > l + 1 {
                        gaps += seq - l - 1;
                    }
                }
                last_seq = Some(seq);
            }
            dp.release(rx.frame);
        }
        dp.flush();
        if args.role == Role::Rx && received == last.2 {
            dp.wait_for_work(None, Duration::from_millis(10))?;
        }
        let now = Instant::now();
        if now.duration_since(last.0) >= Duration::from_secs(1) {
            let dt = now.duration_since(last.0).as_secs_f64();
            if !args.quiet {
                eprintln!(
                    "xdpgen {:?} {}: tx {:.0} pps, rx {:.0} pps",
                    args.role,
                    args.iface,
                    (sent - last.1) as f64 / dt,
                    (received - last.2) as f64 / dt
                );
            }
            last = (now, sent, received);
        }
        if now >= end {
            break;
        }
    }
    // Let the last TX frames go out.
    for _ in 0..100 {
        dp.flush();
    }
    let secs = start.elapsed().as_secs_f64();
    let tx_ring_full = dp.stats().members[0].tx_ring_full;
    let sink_name = args.sink.as_deref().unwrap_or(&args.iface);
    println!(
        "xdpgen {:?} {} (sink {sink_name}): sent {sent} ({:.0} pps), received {received} ({:.0} pps), sequence gaps {gaps}, tx ring full {tx_ring_full}, {secs:.2} s; kernel: {:?}",
        args.role,
        args.iface,
        sent as f64 / secs,
        received as f64 / secs,
        dp.kernel_stats()
    );
    Ok(())
}
