//! A plain AF_XDP L2 forwarder between two interfaces: every frame received on one is sent
//! on the other, as it is, through the shared UMEM (no copy in user space). No bonding logic:
//! it is the library-API example and the baseline the bond's benchmarks compare against.
//!
//! ```text
//! l2fwd IF_A IF_B [--xdp-mode native|generic|auto] [--bind-mode copy|zero-copy|auto]
//!       [--cpu N] [--duration SECONDS] [--batch N]
//! ```
//! Prints, every second and at the end, frames forwarded per second in each direction.

use std::time::{Duration, Instant};

use afxdp_bond::xdp::{self, BindMode, MemberPort, RxFrame, XdpMode, XskConfig};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Plain AF_XDP forwarder between two interfaces")]
struct Args {
    /// First interface.
    a: String,
    /// Second interface.
    b: String,
    /// XDP attach mode.
    #[arg(long, default_value = "auto")]
    xdp_mode: XdpMode,
    /// AF_XDP bind mode.
    #[arg(long, default_value = "auto")]
    bind_mode: BindMode,
    /// Pin the forwarding thread to this CPU.
    #[arg(long)]
    cpu: Option<usize>,
    /// Stop after this many seconds (default: run until killed).
    #[arg(long)]
    duration: Option<f64>,
    /// Frames per ring per iteration.
    #[arg(long, default_value_t = 64)]
    batch: u32,
    /// Print a line per second.
    #[arg(long)]
    quiet: bool,
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("l2fwd: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), xdp::Error> {
    if let Some(cpu) = args.cpu {
        xdp::sys::pin_to_cpu(cpu).map_err(|e| xdp::Error::new(format!("pin to CPU {cpu}"), e))?;
    }
    let cfg = XskConfig {
        xdp_mode: args.xdp_mode,
        bind_mode: args.bind_mode,
        batch: args.batch,
        ..XskConfig::default()
    };
    let ports = [
        MemberPort::open(&args.a, &cfg)?,
        MemberPort::open(&args.b, &cfg)?,
    ];
    let mut workers = xdp::open_workers(&ports, &cfg, None)?;
    let dp = &mut workers[0];
    eprintln!(
        "l2fwd: {} <-> {}: XDP {}/{}, AF_XDP {} mode",
        args.a,
        args.b,
        ports[0].xdp_mode(),
        ports[1].xdp_mode(),
        dp.bind_mode()
    );

    let start = Instant::now();
    let end = args.duration.map(|d| start + Duration::from_secs_f64(d));
    let mut burst: Vec<RxFrame> = Vec::with_capacity(256);
    let mut last = (start, 0u64, 0u64);
    let mut idle = 0u32;
    loop {
        burst.clear();
        let n = dp.recv_burst(&mut burst);
        for rx in burst.drain(..) {
            let to = 1 - rx.member;
            if let Err(f) = dp.send(to, rx.frame) {
                dp.release(f);
            }
        }
        dp.flush();
        if n == 0 {
            idle += 1;
            if idle > 64 {
                idle = 0;
                dp.wait_for_work(None, Duration::from_millis(50))?;
            }
        } else {
            idle = 0;
        }
        let now = Instant::now();
        if now.duration_since(last.0) >= Duration::from_secs(1) || end.is_some_and(|e| now >= e) {
            let s = dp.stats();
            let (ab, ba) = (s.members[1].tx_frames, s.members[0].tx_frames);
            let dt = now.duration_since(last.0).as_secs_f64();
            if !args.quiet {
                eprintln!(
                    "l2fwd: {:.0} pps {}->{}, {:.0} pps {}->{} (ring-full drops {}/{})",
                    (ab - last.1) as f64 / dt,
                    args.a,
                    args.b,
                    (ba - last.2) as f64 / dt,
                    args.b,
                    args.a,
                    s.members[1].tx_ring_full,
                    s.members[0].tx_ring_full
                );
            }
            last = (now, ab, ba);
            if end.is_some_and(|e| now >= e) {
                break;
            }
        }
    }
    let s = dp.stats();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "l2fwd total: {} frames {}->{}, {} frames {}->{} in {secs:.2} s ({:.0} pps total); kernel: {:?}",
        s.members[1].tx_frames,
        args.a,
        args.b,
        s.members[0].tx_frames,
        args.b,
        args.a,
        (s.members[0].tx_frames + s.members[1].tx_frames) as f64 / secs,
        dp.kernel_stats()
    );
    Ok(())
}
