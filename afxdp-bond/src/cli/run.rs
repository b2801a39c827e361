//! `afxdp-bond run`: the bond, in the foreground, until SIGINT or SIGTERM.

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use afxdp_bond::engine::BondOptions;
use afxdp_bond::engine::options::{OPTIONS, Origin};
use afxdp_bond::runtime::{RunConfig, Runtime};
use afxdp_bond::xdp::{self, BindMode, XdpMode, XskConfig};

use super::Failure;

/// Run a bond over AF_XDP, with a TAP device as the host side, in the foreground.
///
/// Bonding options as in Linux: in the modprobe syntax with --options "mode=802.3ad
/// miimon=100 lacp_rate=fast", and each as a flag (--mode 802.3ad --lacp-rate fast); a flag
/// wins over the same option in --options. Values by name or number, as Linux takes them.
/// Stops on SIGINT or SIGTERM and puts the members back as they were.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The bond's name: its TAP device (the host side) and its control socket.
    #[arg(long, default_value = "bond0", value_name = "NAME")]
    pub(crate) name: String,
    /// Bonding options in the modprobe syntax: "mode=802.3ad miimon=100 lacp_rate=fast".
    #[arg(long, value_name = "OPTIONS", default_value = "")]
    pub(crate) options: String,
    #[command(flatten)]
    pub(crate) bond: BondFlags,
    /// XDP attach mode: native (driver), generic (skb), or auto (native, else generic).
    #[arg(long, default_value = "auto", value_name = "MODE")]
    pub(crate) xdp_mode: XdpMode,
    /// AF_XDP bind mode: copy, zerocopy, or auto (zero-copy, else copy).
    #[arg(long, default_value = "auto", value_name = "MODE")]
    pub(crate) bind_mode: BindMode,
    /// Datapath workers (threads); at most the smallest queue count of the members.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub(crate) workers: usize,
    /// Pin worker k to the k-th CPU of this list (e.g. 2,3 or 2-5).
    #[arg(long, value_name = "LIST", value_parser = parse_cpus)]
    pub(crate) cpus: Option<Vec<usize>>,
    /// Receive queues per member to serve (default: all the NIC has).
    #[arg(long, value_name = "N")]
    pub(crate) queues: Option<u32>,
    /// Entries of every AF_XDP ring (a power of two, at least 64).
    #[arg(long, default_value_t = 2048, value_name = "N")]
    pub(crate) ring_size: u32,
    /// UMEM frame size: 2048 or 4096 bytes.
    #[arg(long, default_value_t = 4096, value_name = "BYTES", value_parser = parse_frame_size)]
    pub(crate) frame_size: u32,
    /// UMEM frames per worker (0: sockets x 2 x ring size + 1024).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub(crate) frames: u32,
    /// Frames moved per ring per iteration (1 to 256).
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub(crate) batch: u32,
    /// Idle iterations a worker spins before it sleeps until a frame or a deadline, or
    /// `always` (never sleep: a core per worker, no wake-up latency; for forwarding at high
    /// rates without loss).
    #[arg(long, default_value = "64", value_name = "N|always", value_parser = parse_busy_poll)]
    pub(crate) busy_poll: u32,
    /// Period of the ethtool carrier check, in ms (default: miimon, or 100 when miimon is
    /// 0). Carrier events from rtnetlink are acted upon at once either way; the check
    /// catches the ones the kernel delays (up to 1 s after a recent link change).
    #[arg(long, value_name = "MS")]
    pub(crate) carrier_poll_ms: Option<u64>,
    /// The bond's MAC address (default: the first member's, as Linux does).
    #[arg(long, value_name = "MAC", value_parser = parse_mac)]
    pub(crate) mac: Option<[u8; 6]>,
    /// The bond's MTU, given to every member (default 1500).
    #[arg(long, value_name = "BYTES")]
    pub(crate) mtu: Option<u32>,
    /// Member interfaces, in order.
    #[arg(value_name = "IFACE", required = true)]
    pub(crate) members: Vec<String>,
}

/// Every bonding option of the engine's table as a `--flag` (dashes for underscores), in
/// the order given on the command line.
#[derive(Debug, Default, Clone)]
pub(crate) struct BondFlags {
    pub(crate) values: Vec<(&'static str, String)>,
}

/// The flag of an option: `lacp_rate` is `--lacp-rate`.
pub(crate) fn flag_name(option: &str) -> String {
    option.replace('_', "-")
}

/// Options whose flag may be repeated to give a list (joined with commas).
fn is_list(option: &str) -> bool {
    matches!(option, "arp_ip_target" | "ns_ip6_target")
}

/// Per-member options, written MEMBER:VALUE, repeatable.
fn is_per_member(origin: Origin) -> bool {
    origin == Origin::LinuxMember
}

impl FromArgMatches for BondFlags {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut out = Self::default();
        out.update_from_arg_matches(m)?;
        Ok(out)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        let mut found: Vec<(usize, &'static str, String)> = Vec::new();
        for o in OPTIONS {
            let Some(vals) = m.get_many::<String>(o.name) else {
                continue;
            };
            let idx: Vec<usize> = m
                .indices_of(o.name)
                .map(Iterator::collect)
                .unwrap_or_default();
            let vals: Vec<String> = vals.cloned().collect();
            if is_list(o.name) {
                found.push((idx.first().copied().unwrap_or(0), o.name, vals.join(",")));
            } else {
                for (k, v) in vals.into_iter().enumerate() {
                    found.push((idx.get(k).copied().unwrap_or(0), o.name, v));
                }
            }
        }
        found.sort_by_key(|(i, _, _)| *i);
        self.values = found.into_iter().map(|(_, n, v)| (n, v)).collect();
        Ok(())
    }
}

impl Args for BondFlags {
    fn augment_args(cmd: Command) -> Command {
        let mut cmd = cmd.next_help_heading("Bonding options (Linux names; see also --options)");
        for o in OPTIONS {
            let mut help = o.description.to_string();
            if is_per_member(o.origin) {
                help.push_str(" (per member: MEMBER:VALUE; repeatable)");
            } else if is_list(o.name) {
                help.push_str(" (repeatable, or a comma-separated list)");
            }
            if o.origin == Origin::Project {
                help.push_str(" [this project's option, not Linux's]");
            }
            let allowed = o.allowed();
            if !allowed.is_empty() {
                help.push_str(&format!("; {allowed}"));
            }
            let arg = Arg::new(o.name)
                // clap keeps `&'static str` names (its `string` feature is off): the flag
                // names are made once per process, a few hundred bytes.
                .long(&*Box::leak(flag_name(o.name).into_boxed_str()))
                .value_name("VALUE")
                .help(help)
                .action(ArgAction::Append)
                .num_args(1)
                .allow_negative_numbers(true);
            cmd = cmd.arg(arg);
        }
        cmd.next_help_heading(None)
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// Splits a modprobe-style string into `name=value` pairs (double quotes keep blanks).
pub(crate) fn split_options(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let name = rest[..end].to_string();
        rest = &rest[end..];
        let value;
        if let Some(r) = rest.strip_prefix('=') {
            if let Some(q) = r.strip_prefix('"') {
                let close = q
                    .find('"')
                    .ok_or_else(|| format!("--options: unterminated quote after {name}="))?;
                value = q[..close].to_string();
                rest = &q[close + 1..];
            } else {
                let e = r.find(char::is_whitespace).unwrap_or(r.len());
                value = r[..e].to_string();
                rest = &r[e..];
            }
        } else {
            value = String::new();
        }
        out.push((name, value));
        rest = rest.trim_start();
    }
    Ok(out)
}

/// The options string with the flags applied: every option given as a flag replaces what
/// `--options` says of it.
pub(crate) fn merged_options(options: &str, flags: &BondFlags) -> Result<String, String> {
    let mut pairs = split_options(options)?;
    pairs.retain(|(n, _)| !flags.values.iter().any(|(f, _)| f == n));
    pairs.extend(flags.values.iter().map(|(n, v)| (n.to_string(), v.clone())));
    Ok(pairs
        .iter()
        .map(|(n, v)| {
            if v.chars().any(char::is_whitespace) {
                format!("{n}=\"{v}\"")
            } else {
                format!("{n}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join(" "))
}

fn parse_cpus(s: &str) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let bad = || format!("invalid CPU list {s:?} (e.g. 2,3 or 2-5)");
        match part.split_once('-') {
            Some((a, b)) => {
                let a: usize = a.trim().parse().map_err(|_| bad())?;
                let b: usize = b.trim().parse().map_err(|_| bad())?;
                if a > b || b - a > 1023 {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => out.push(part.trim().parse().map_err(|_| bad())?),
        }
    }
    if out.is_empty() {
        return Err(format!("empty CPU list {s:?}"));
    }
    Ok(out)
}

fn parse_busy_poll(s: &str) -> Result<u32, String> {
    if s == "always" {
        return Ok(u32::MAX);
    }
    s.parse::<u32>()
        .map_err(|_| format!("{s}: a number of idle iterations, or always"))
}

fn parse_frame_size(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(v @ (2048 | 4096)) => Ok(v),
        _ => Err(format!("invalid frame size {s:?}: 2048 or 4096")),
    }
}

fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let mac: afxdp_bond::engine::MacAddr = s
        .parse()
        .map_err(|_| format!("invalid MAC address {s:?}"))?;
    if !mac.is_valid_unicast() {
        return Err(format!("{s} is not a unicast MAC address"));
    }
    Ok(mac.0)
}

/// Builds the run configuration from the arguments (no system call).
pub(crate) fn config(args: &RunArgs) -> Result<RunConfig, Failure> {
    afxdp_bond::control::check_name(&args.name).map_err(Failure)?;
    let opts = merged_options(&args.options, &args.bond).map_err(Failure)?;
    let (options, warnings) =
        BondOptions::from_modprobe(&opts).map_err(|e| Failure(format!("bad options: {e}")))?;
    for w in warnings {
        log::warn!("bonding: {w}");
    }
    if !args.ring_size.is_power_of_two() || args.ring_size < 64 {
        return Err(Failure(format!(
            "--ring-size {}: must be a power of two, at least 64",
            args.ring_size
        )));
    }
    if args.batch == 0 || args.batch > 256 {
        return Err(Failure(format!("--batch {}: must be 1 to 256", args.batch)));
    }
    if args.workers == 0 {
        return Err(Failure("--workers 0: at least one worker".into()));
    }
    let members: Vec<&str> = args.members.iter().map(String::as_str).collect();
    let mut cfg = RunConfig::new(&args.name, options, &members);
    cfg.xsk = XskConfig {
        xdp_mode: args.xdp_mode,
        bind_mode: args.bind_mode,
        frame_size: args.frame_size,
        ring_size: args.ring_size,
        frames: args.frames,
        batch: args.batch,
        busy_poll: args.busy_poll,
        queues: args.queues,
        workers: args.workers,
    };
    cfg.cpus = args.cpus.clone().unwrap_or_default();
    cfg.mac = args.mac;
    if let Some(ms) = args.carrier_poll_ms {
        if ms == 0 || ms > 60_000 {
            return Err(Failure(format!("--carrier-poll-ms {ms}: 1 to 60000")));
        }
        cfg.carrier_poll = Some(std::time::Duration::from_millis(ms));
    }
    cfg.mtu = args.mtu;
    log::info!(
        "bonding options: {}",
        if opts.is_empty() {
            "(Linux defaults)"
        } else {
            &opts
        }
    );
    Ok(cfg)
}

/// `afxdp-bond run`.
pub(crate) fn run(args: &RunArgs) -> Result<(), Failure> {
    let cfg = config(args)?;
    let stop = xdp::sys::install_stop_signals()
        .map_err(|e| Failure(format!("cannot install signal handlers: {e}")))?;
    let rt = Runtime::open(cfg).map_err(|e| Failure(e.0))?;
    rt.run(stop).map_err(|e| Failure(e.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_options() {
        let flags = BondFlags {
            values: vec![("lacp_rate", "slow".into()), ("miimon", "50".into())],
        };
        assert_eq!(
            merged_options("mode=802.3ad lacp_rate=fast", &flags).unwrap(),
            "mode=802.3ad lacp_rate=slow miimon=50"
        );
        assert_eq!(
            merged_options("primary=\"a b\"", &BondFlags::default()).unwrap(),
            "primary=\"a b\""
        );
        assert!(merged_options("primary=\"x", &BondFlags::default()).is_err());
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpus("2,3").unwrap(), vec![2, 3]);
        assert_eq!(parse_cpus("0-2,5").unwrap(), vec![0, 1, 2, 5]);
        assert!(parse_cpus("3-1").is_err());
        assert!(parse_cpus("x").is_err());
    }

    #[test]
    fn busy_poll_values() {
        assert_eq!(parse_busy_poll("64").unwrap(), 64);
        assert_eq!(parse_busy_poll("0").unwrap(), 0);
        assert_eq!(parse_busy_poll("always").unwrap(), u32::MAX);
        assert!(parse_busy_poll("never").is_err());
        assert!(parse_busy_poll("-1").is_err());
    }

    #[test]
    fn every_option_has_a_flag() {
        let cmd = BondFlags::augment_args(Command::new("t"));
        for o in OPTIONS {
            let long = flag_name(o.name);
            assert!(
                cmd.get_arguments()
                    .any(|a| a.get_long() == Some(long.as_str())),
                "no --{long}"
            );
        }
    }
}
