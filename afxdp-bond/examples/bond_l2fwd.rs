//! An L2 forwarder over the bond's library API: frames from an access port go out through
//! the bond (the engine picks the member: hash, active member, LACP distributing ports...),
//! frames the bond delivers go out of the access port. No TAP, no kernel stack: the
//! program takes the frames itself, as a packet-processing application would. With
//! `--reflect` there is no access port: every frame the bond delivers is sent back into the
//! bond with its MAC addresses swapped (a loopback for benchmarks).
//!
//! ```text
//! bond_l2fwd --options "mode=802.3ad lacp_rate=fast xmit_hash_policy=layer3+4" \
//!            --port IF MEMBER... [--xdp-mode native|generic|auto] [--cpu N] [--duration S]
//! ```
//! Worker 0 runs the bond's control plane between bursts (LACPDUs on time even with no
//! traffic, failover on carrier events). Prints forwarded frames per second, and the bond's
//! status at the end.

use std::time::{Duration, Instant};

use afxdp_bond::engine::BondOptions;
use afxdp_bond::runtime::{BondRx, RunConfig, Runtime, RxSource};
use afxdp_bond::xdp::{self, BindMode, XdpMode, XskConfig};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "L2 forwarder between an access port and a bond, over the library API")]
struct Args {
    /// Bonding options (modprobe syntax).
    #[arg(
        long,
        default_value = "mode=balance-xor xmit_hash_policy=layer3+4 miimon=100"
    )]
    options: String,
    /// The access port (frames from it go into the bond and back).
    #[arg(long, conflicts_with = "reflect")]
    port: Option<String>,
    /// No access port: send what the bond delivers back into it, MACs swapped.
    #[arg(long)]
    reflect: bool,
    /// Bond members.
    #[arg(required = true)]
    members: Vec<String>,
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
    /// No line per second.
    #[arg(long)]
    quiet: bool,
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("bond_l2fwd: {e}");
        std::process::exit(1);
    }
}

fn swap_macs(d: &mut [u8]) {
    if d.len() >= 12 {
        for i in 0..6 {
            d.swap(i, 6 + i);
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    if args.port.is_none() && !args.reflect {
        return Err("give --port IF or --reflect".into());
    }
    if let Some(cpu) = args.cpu {
        xdp::sys::pin_to_cpu(cpu).map_err(|e| format!("pin to CPU {cpu}: {e}"))?;
    }
    let (options, warnings) =
        BondOptions::from_modprobe(&args.options).map_err(|e| e.to_string())?;
    for w in warnings {
        log::warn!("bonding: {w}");
    }
    let members: Vec<&str> = args.members.iter().map(String::as_str).collect();
    let mut cfg = RunConfig::new("bondfwd", options, &members);
    cfg.host = false;
    cfg.control_socket = false;
    cfg.ports = args.port.iter().cloned().collect();
    cfg.xsk = XskConfig {
        xdp_mode: args.xdp_mode,
        bind_mode: args.bind_mode,
        batch: args.batch,
        ..XskConfig::default()
    };
    let rt = Runtime::open(cfg).map_err(|e| e.0)?;
    let mut workers = rt.into_workers();
    let w = &mut workers[0];

    let start = Instant::now();
    let end = args.duration.map(|d| start + Duration::from_secs_f64(d));
    let mut burst: Vec<BondRx> = Vec::with_capacity(256);
    let (mut to_bond, mut from_bond, mut dropped) = (0u64, 0u64, 0u64);
    let mut last = (start, 0u64, 0u64);
    let mut idle = 0u32;
    loop {
        burst.clear();
        let n = w.recv_burst(&mut burst).map_err(|e| e.0)?;
        for rx in burst.drain(..) {
            match rx.source {
                RxSource::Port(_) => {
                    if w.send(rx.frame) {
                        to_bond += 1;
                    } else {
                        dropped += 1;
                    }
                }
                RxSource::Bond { .. } if args.reflect => {
                    let mut f = rx.frame;
                    swap_macs(w.data_mut(&mut f));
                    if w.send(f) {
                        from_bond += 1;
                    } else {
                        dropped += 1;
                    }
                }
                RxSource::Bond { .. } => {
                    if w.send_port(0, rx.frame) {
                        from_bond += 1;
                    } else {
                        dropped += 1;
                    }
                }
            }
        }
        w.flush();
        if n == 0 {
            idle += 1;
            if idle > 64 {
                idle = 0;
                w.wait_for_work(Duration::from_millis(50))
                    .map_err(|e| e.0)?;
            }
        } else {
            idle = 0;
        }
        let now = Instant::now();
        if now.duration_since(last.0) >= Duration::from_secs(1) || end.is_some_and(|e| now >= e) {
            let dt = now.duration_since(last.0).as_secs_f64();
            if !args.quiet {
                eprintln!(
                    "bond_l2fwd: {:.0} pps into the bond, {:.0} pps out of it, {dropped} dropped",
                    (to_bond - last.1) as f64 / dt,
                    (from_bond - last.2) as f64 / dt
                );
            }
            last = (now, to_bond, from_bond);
            if end.is_some_and(|e| now >= e) {
                break;
            }
        }
    }
    println!("{}", w.status());
    // As a kernel bond being deleted: farewell LACPDUs, members released.
    w.release_members();
    println!(
        "bond_l2fwd total: {to_bond} frames into the bond, {from_bond} out of it, {dropped} dropped in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
