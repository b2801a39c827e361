//! `afxdp-bond lab`: the self-contained lab (see `afxdp_bond::lab`).

use std::time::Duration;

use afxdp_bond::lab::{self, LabConfig};
use afxdp_bond::xdp;

use super::Failure;
use super::run::{BondFlags, merged_options};

/// Build a bonding lab in network namespaces, run traffic across it, cut and restore a
/// member, print what happened, and remove everything.
///
/// The bond under test is this binary's `run` command inside a namespace, against a second
/// `afxdp-bond run` as LACP partner (802.3ad, the default: lacp_rate=fast), or a Linux
/// bridge and a far host (every other mode). Addresses from 198.18.0.0/15 only; nothing
/// outside the lab's own namespaces is touched. Needs root.
#[derive(Debug, clap::Args)]
pub(crate) struct LabArgs {
    /// Bonding options for the bond under test, modprobe syntax (default: mode=802.3ad
    /// lacp_rate=fast; miimon=100 unless a link monitor is given).
    #[arg(long, value_name = "OPTIONS", default_value = "")]
    options: String,
    #[command(flatten)]
    bond: BondFlags,
    /// Number of members.
    #[arg(long, default_value_t = 2, value_name = "N")]
    members: usize,
    /// Seconds of traffic before the cut, during it, and after the restore.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    keep_going_secs: f64,
    /// Frames per second of the numbered UDP stream.
    #[arg(long, default_value_t = 2000, value_name = "PPS")]
    rate: u32,
    /// XDP attach mode of the bonds (native, generic, auto).
    #[arg(long, default_value = "auto", value_name = "MODE")]
    xdp_mode: xdp::XdpMode,
    /// Period of the bonds' ethtool carrier check, in ms (default: miimon).
    #[arg(long, value_name = "MS")]
    carrier_poll_ms: Option<u64>,
}

/// `afxdp-bond lab`.
pub(crate) fn run(args: &LabArgs) -> Result<(), Failure> {
    let user = merged_options(&args.options, &args.bond).map_err(Failure)?;
    let (options, notes) = lab::lab_options(&user);
    for n in notes {
        println!("lab: {n}");
    }
    if !(0.5..=20.0).contains(&args.keep_going_secs) {
        return Err(Failure("--keep-going-secs: 0.5 to 20 seconds".into()));
    }
    let cfg = LabConfig {
        options,
        members: args.members,
        keep_going: Duration::from_secs_f64(args.keep_going_secs),
        rate_pps: args.rate,
        binary: std::env::current_exe()
            .map_err(|e| Failure(format!("cannot find this program's path: {e}")))?,
        run_args: {
            let mut v = vec!["--xdp-mode".to_string(), args.xdp_mode.to_string()];
            if let Some(ms) = args.carrier_poll_ms {
                v.extend(["--carrier-poll-ms".to_string(), ms.to_string()]);
            }
            v
        },
    };
    let stop = xdp::sys::install_stop_signals()
        .map_err(|e| Failure(format!("cannot install signal handlers: {e}")))?;
    let mut out = std::io::stdout();
    let result = lab::run(&cfg, stop, &mut out).map_err(Failure)?;
    println!("{}", result.line());
    Ok(())
}
