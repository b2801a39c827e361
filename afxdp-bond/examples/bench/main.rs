//! The benchmarks of `BENCHMARKS.md` that need namespaces, AF_XDP and the peers (DPDK
//! testpmd, Open vSwitch): run by `scripts/bench`, which installs the peers, builds this
//! program and the DPDK shim, and runs every subcommand. Not part of CI.
//!
//! ```text
//! bench fwd       datapath throughput: the bond against a plain AF_XDP forwarder, DPDK
//!                 net_bonding over net_af_xdp, Open vSwitch (userspace, AF_XDP ports)
//! bench failover  frames lost and recovery time when the active member's carrier drops
//! bench lacp      link up to distributing (against OVS, against a second bond); LACPDU
//!                 transmit jitter on the wire (60 s) and in simulated time (10 min)
//! bench mem       resident memory of the running bond with 2 and 8 members
//! ```
//! Everything runs inside network namespaces this program creates (both ends of every veth
//! inside them), addresses from 198.18.0.0/15 only, no routes, bounded loops; every
//! namespace, daemon and state directory is removed on exit, also on SIGINT/SIGTERM (the
//! loops watch a stop flag) and on error (`Drop` guards).

use std::sync::atomic::AtomicBool;

use afxdp_bond::netlab;
use afxdp_bond::xdp::sys;
use clap::{Parser, Subcommand};

#[path = "../common/mod.rs"]
mod common;
mod failover;
mod fwd;
mod lab;
mod lacp;
mod mem;
mod peers;
mod stats;

#[derive(Parser, Debug)]
#[command(about = "afxdp-bond benchmarks in network namespaces (run by scripts/bench)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Datapath throughput, 64-byte frames, many flows.
    Fwd(fwd::Args),
    /// Failover: loss and recovery time when the active member's carrier drops.
    Failover(failover::Args),
    /// LACP: time to distributing, LACPDU transmit jitter.
    Lacp(lacp::Args),
    /// Resident memory of the running bond.
    Mem(mem::Args),
}

/// The stop flag (SIGINT/SIGTERM), checked by every loop.
pub(crate) fn stop_flag() -> &'static AtomicBool {
    static FALLBACK: AtomicBool = AtomicBool::new(false);
    static FLAG: std::sync::OnceLock<&'static AtomicBool> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| sys::install_stop_signals().unwrap_or(&FALLBACK))
}

/// Whether the user asked to stop.
pub(crate) fn stopped() -> bool {
    stop_flag().load(std::sync::atomic::Ordering::Relaxed)
}

pub(crate) type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let _ = stop_flag();
    netlab::remove_stale();
    let r = match cli.cmd {
        Cmd::Fwd(a) => fwd::run(&a),
        Cmd::Failover(a) => failover::run(&a),
        Cmd::Lacp(a) => lacp::run(&a),
        Cmd::Mem(a) => mem::run(&a),
    };
    if let Err(e) = r {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
    if stopped() {
        eprintln!("bench: stopped by signal; everything it created is removed");
        std::process::exit(130);
    }
}
