//! `afxdp-bond lab`: a self-contained bonding lab in network namespaces.
//!
//! What it builds (every name unique to the run, every interface inside a namespace it
//! created, addresses from 198.18.0.0/15 only, no route added):
//!
//! ```text
//! 802.3ad (the default):                    other modes:
//!
//!  [bond ns]            [partner ns]         [bond ns]          [switch ns]      [far ns]
//!  afxdp-bond run  ==N veths==  afxdp-bond run   afxdp-bond run ==N veths== Linux bridge -- far host
//!  TAP 198.18.0.1/24            TAP 198.18.0.2/24  TAP 198.18.0.1/24                  198.18.0.2/24
//! ```
//!
//! Both bonds are this same binary's `run` command, started as child processes inside their
//! namespaces (`ip netns exec`), so the lab exercises the real command. It waits until the
//! bond is ready (every port distributing in 802.3ad, an active member in active-backup,
//! balance-tlb and balance-alb, carrier otherwise), pings across, starts a numbered UDP
//! stream from the bond host's TAP address to the far side, cuts the member that carries
//! the stream (its far-end veth set down, so the bond sees a carrier loss as on a cable
//! pull), restores it, and reports: the status before and after, frames sent, received,
//! lost, the longest gap in the received stream (the failover time), and the bond's state
//! changes from its log. Everything it created is removed at the end, also on an error or
//! Ctrl-C (SIGINT/SIGTERM are caught and the run unwinds through its guards).
//!
//! Safety: it refuses to start unless it runs as root, and refuses options that would make
//! the bond probe addresses outside 198.18.0.0/15 (`arp_ip_target`) or 2001:db8::/32
//! (`ns_ip6_target`). Before starting a bond it checks that every member exists inside the
//! bond's namespace and not in the lab's own, and that each namespace holds only the lab's
//! interfaces.

use std::fmt::Write as _;
use std::fs;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::control;
use crate::engine::{BondOptions, Mode};
use crate::netlab::{self, ChildGuard, Netns, StateDir};
use crate::xdp::sys;

/// The bond side's address.
pub const BOND_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// The far side's address.
pub const FAR_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// UDP port of the stream.
const STREAM_PORT: u16 = 9000;

/// What the lab runs.
#[derive(Debug, Clone)]
pub struct LabConfig {
    /// The bonding options for the bond under test (modprobe syntax, flags merged in).
    pub options: String,
    /// Number of members (1 to 8).
    pub members: usize,
    /// How long traffic runs in each phase (before the cut, during it, after the restore).
    pub keep_going: Duration,
    /// Stream rate, frames per second.
    pub rate_pps: u32,
    /// The `afxdp-bond` binary to run the bonds with.
    pub binary: PathBuf,
    /// Extra `run` arguments for both bonds (e.g. `--xdp-mode generic`).
    pub run_args: Vec<String>,
}

/// The numbers the lab measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabResult {
    /// The bond's mode.
    pub mode: String,
    /// Stream frames sent.
    pub sent: u64,
    /// Distinct stream frames received.
    pub received: u64,
    /// Frames received more than once.
    pub duplicates: u64,
    /// Frames received after a later-numbered one.
    pub reordered: u64,
    /// Frames lost (sent, never received).
    pub lost: u64,
    /// Frames lost that were sent between the cut and the restore.
    pub lost_at_cut: u64,
    /// Frames lost that were sent after the restore.
    pub lost_at_restore: u64,
    /// The failover time: the longest run of lost frames that began between the cut and
    /// the restore, as the time from the last frame received before it to the first one
    /// received after it, by their send times, less one sending interval (0 when nothing
    /// was lost), in milliseconds.
    pub failover_ms: f64,
    /// The longest gap between two frames' arrivals from the cut to the restore, in
    /// milliseconds (it includes the sender's own scheduling jitter).
    pub max_gap_ms: f64,
    /// The member that was cut.
    pub cut_member: String,
    /// What told the bond of the cut first: `rtnetlink` (the kernel's event) or `ethtool`
    /// (the periodic carrier check), `?` if the log does not say.
    pub detected_by: String,
    /// Pings answered, before the cut and after the restore.
    pub pings_ok: (u32, u32),
    /// Seconds the lab took.
    pub elapsed_s: f64,
}

impl LabResult {
    /// One machine-readable line (`RESULT key=value ...`).
    pub fn line(&self) -> String {
        format!(
            "RESULT mode={} sent={} received={} lost={} lost_at_cut={} lost_at_restore={} duplicates={} reordered={} failover_ms={:.3} max_gap_ms={:.3} cut_member={} detected_by={} ping_before={} ping_after={} elapsed_s={:.1}",
            self.mode,
            self.sent,
            self.received,
            self.lost,
            self.lost_at_cut,
            self.lost_at_restore,
            self.duplicates,
            self.reordered,
            self.failover_ms,
            self.max_gap_ms,
            self.cut_member,
            self.detected_by,
            self.pings_ok.0,
            self.pings_ok.1,
            self.elapsed_s
        )
    }
}

/// The lab's defaults added to what the user asked: 802.3ad with `lacp_rate=fast` when no
/// mode is given, and `miimon=100` when no link monitor is (Linux's default `miimon=0`
/// would not notice the cut).
pub fn lab_options(user: &str) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let has = |k: &str| {
        user.split_whitespace()
            .any(|t| t.split('=').next() == Some(k))
    };
    let mut parts: Vec<String> = Vec::new();
    if !has("mode") {
        parts.push("mode=802.3ad lacp_rate=fast".into());
        notes.push("no mode given: 802.3ad with lacp_rate=fast (the lab's default)".to_string());
    }
    if !user.trim().is_empty() {
        parts.push(user.trim().to_string());
    }
    if !has("miimon") && !has("arp_interval") {
        parts.push("miimon=100".into());
        notes.push("no link monitor given: miimon=100 (the lab's default)".to_string());
    }
    let s = parts.join(" ");
    (s.trim().to_string(), notes)
}

/// Refuses a configuration that could touch anything outside the lab's namespaces.
pub fn check_safe(cfg: &LabConfig) -> Result<BondOptions, String> {
    if sys::geteuid() != 0 {
        return Err("the lab needs root (it creates network namespaces)".into());
    }
    if !(1..=8).contains(&cfg.members) {
        return Err(format!("--members {}: 1 to 8", cfg.members));
    }
    if cfg.keep_going < Duration::from_millis(500) || cfg.keep_going > Duration::from_secs(20) {
        return Err("--keep-going-secs: 0.5 to 20 seconds".into());
    }
    if !(10..=50_000).contains(&cfg.rate_pps) {
        return Err(format!(
            "--rate {}: 10 to 50000 frames per second",
            cfg.rate_pps
        ));
    }
    for tok in cfg.options.split_whitespace() {
        let Some((k, v)) = tok.split_once('=') else {
            continue;
        };
        let v = v.trim_matches('"');
        match k {
            "arp_ip_target" => {
                for t in v.split(',').filter(|t| !t.is_empty()) {
                    let ip: Ipv4Addr = t
                        .parse()
                        .map_err(|_| format!("arp_ip_target {t}: not an IPv4 address"))?;
                    if u32::from(ip) & 0xfffe_0000 != 0xc612_0000 {
                        return Err(format!(
                            "arp_ip_target {ip} is outside 198.18.0.0/15: the lab probes nothing outside its own range"
                        ));
                    }
                }
            }
            "ns_ip6_target" => {
                for t in v.split(',').filter(|t| !t.is_empty()) {
                    let ip: Ipv6Addr = t
                        .parse()
                        .map_err(|_| format!("ns_ip6_target {t}: not an IPv6 address"))?;
                    if ip.segments()[0] != 0x2001 || ip.segments()[1] != 0x0db8 {
                        return Err(format!(
                            "ns_ip6_target {ip} is outside 2001:db8::/32: the lab probes nothing outside its own range"
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    let (opts, _) =
        BondOptions::from_modprobe(&cfg.options).map_err(|e| format!("bad options: {e}"))?;
    Ok(opts)
}

/// Fails unless every interface of `ns` is the lab's (or `lo`).
fn check_namespace(ns: &Netns) -> Result<(), String> {
    let out = ns.ip(&["-o", "link", "show"]).map_err(|e| e.to_string())?;
    let own = format!("{}{:x}", netlab::PREFIX, std::process::id());
    for line in out.lines() {
        let name = line
            .split(':')
            .nth(1)
            .map(|n| n.trim().split('@').next().unwrap_or("").to_string())
            .unwrap_or_default();
        if name != "lo" && !name.starts_with(&own) {
            return Err(format!(
                "namespace {} holds interface {name}, which the lab did not create: refusing",
                ns.name()
            ));
        }
    }
    Ok(())
}

/// A bond started by the lab: `afxdp-bond run` inside a namespace, its log in a file.
struct BondProcess {
    name: String,
    log: PathBuf,
    child: Option<ChildGuard>,
}

impl BondProcess {
    fn start(
        cfg: &LabConfig,
        ns: &Netns,
        name: &str,
        options: &str,
        members: &[String],
        run_dir: &Path,
        logs: &Path,
    ) -> Result<Self, String> {
        check_namespace(ns)?;
        for m in members {
            ns.ip(&["link", "show", m])
                .map_err(|_| format!("member {m} is not in namespace {}: refusing", ns.name()))?;
            if sys::ifindex(m).is_ok() {
                return Err(format!(
                    "an interface {m} exists outside the lab's namespaces: refusing"
                ));
            }
        }
        let log = logs.join(format!("{name}.log"));
        let file = fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = file.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns.name()])
            .arg(&cfg.binary)
            .args(["run", "--name", name, "--options", options])
            .args(&cfg.run_args)
            .args(members)
            .env("AFXDP_BOND_RUN_DIR", run_dir)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err);
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", cfg.binary.display()))?;
        Ok(Self {
            name: name.to_string(),
            log,
            child: Some(ChildGuard::new(child)),
        })
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails with the bond's last log line if it has exited.
    fn check_alive(&mut self) -> Result<(), String> {
        if let Some(c) = self.child.as_mut() {
            if c.try_wait_exited() {
                let log = self.log_text();
                let last = log.lines().last().unwrap_or("(no output)").to_string();
                return Err(format!("bond {} exited: {last}", self.name));
            }
        }
        Ok(())
    }

    /// SIGTERM, then wait up to 5 s (then SIGKILL).
    fn stop(&mut self) -> bool {
        let Some(c) = self.child.take() else {
            return true;
        };
        let _ = c.signal(libc::SIGTERM);
        matches!(c.wait_timeout(Duration::from_secs(5)), Ok((_, true)))
    }
}

impl Drop for BondProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

fn status(run_dir: &Path, name: &str, json: bool) -> Result<String, String> {
    control::request_at(run_dir, name, if json { "status-json" } else { "status" })
        .map_err(|e| e.to_string())
}

fn status_json(run_dir: &Path, name: &str) -> Option<serde_json::Value> {
    status(run_dir, name, true)
        .ok()
        .and_then(|s| serde_json::from_str(s.trim()).ok())
}

/// Whether the bond is ready to carry traffic in its mode.
fn ready(v: &serde_json::Value, mode: Mode) -> bool {
    if v["carrier"] != serde_json::Value::Bool(true) {
        return false;
    }
    let members = v["members"].as_array().cloned().unwrap_or_default();
    match mode {
        Mode::Ieee8023ad => {
            !members.is_empty()
                && members
                    .iter()
                    .all(|m| m["lacp"]["distributing"] == serde_json::Value::Bool(true))
        }
        Mode::ActiveBackup | Mode::BalanceTlb | Mode::BalanceAlb => !v["active_member"].is_null(),
        _ => members.iter().any(|m| m["mii_status"] == "up"),
    }
}

fn stopped(stop: &AtomicBool) -> Result<(), String> {
    if stop.load(Ordering::Relaxed) {
        Err("interrupted: removing the lab".into())
    } else {
        Ok(())
    }
}

/// Sleeps `d`, in steps, returning early with an error on a stop request.
fn nap(d: Duration, stop: &AtomicBool) -> Result<(), String> {
    let end = Instant::now() + d;
    while Instant::now() < end {
        stopped(stop)?;
        std::thread::sleep((end - Instant::now()).min(Duration::from_millis(50)));
    }
    Ok(())
}

fn ping(ns: &Netns, to: Ipv4Addr, count: u32) -> u32 {
    let out = ns.exec_timeout(
        "ping",
        &[
            "-n",
            "-q",
            "-c",
            &count.to_string(),
            "-i",
            "0.2",
            "-W",
            "1",
            &to.to_string(),
        ],
        Duration::from_secs(u64::from(count) + 5),
    );
    let Ok(out) = out else { return 0 };
    netlab::ping_received(&String::from_utf8_lossy(&out.stdout))
}

/// The stream's record.
#[derive(Debug, Default)]
struct Stream {
    /// Send time of each sequence number.
    sent: Vec<Duration>,
    /// (sequence, arrival time) in arrival order.
    received: Vec<(u64, Duration)>,
}

/// Runs the numbered UDP stream from `src_ns` (source `BOND_ADDR`) to `dst_ns`
/// (`FAR_ADDR`) until `until` is set, at `rate` frames per second. `t0` is the common clock.
fn stream(
    src_ns: &Netns,
    dst_ns: &Netns,
    rate: u32,
    t0: Instant,
    started: &AtomicBool,
    until: &AtomicBool,
    sent_count: &AtomicU64,
) -> Result<Stream, String> {
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let max_frames = (f64::from(rate) * 90.0) as usize;
    let recv_done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let rx = s.spawn(|| {
            dst_ns
                .enter(|| -> Result<Vec<(u64, Duration)>, String> {
                    let sock = UdpSocket::bind(SocketAddrV4::new(FAR_ADDR, STREAM_PORT))
                        .map_err(|e| format!("stream receiver: {e}"))?;
                    sock.set_read_timeout(Some(Duration::from_millis(20)))
                        .map_err(|e| e.to_string())?;
                    started.store(true, Ordering::Release);
                    let mut got = Vec::with_capacity(max_frames);
                    let mut buf = [0u8; 64];
                    while !recv_done.load(Ordering::Acquire) {
                        if let Ok(n) = sock.recv(&mut buf) {
                            if n >= 8 && got.len() < max_frames {
                                let seq = u64::from_be_bytes(buf[..8].try_into().unwrap_or([0; 8]));
                                got.push((seq, t0.elapsed()));
                            }
                        }
                    }
                    Ok(got)
                })
                .map_err(|e| e.to_string())?
        });
        while !started.load(Ordering::Acquire) && !rx.is_finished() {
            std::thread::sleep(Duration::from_millis(5));
        }
        let tx = src_ns
            .enter(|| -> Result<Vec<Duration>, String> {
                let sock = UdpSocket::bind(SocketAddrV4::new(BOND_ADDR, 0))
                    .map_err(|e| format!("stream sender: {e}"))?;
                sock.connect(SocketAddrV4::new(FAR_ADDR, STREAM_PORT))
                    .map_err(|e| e.to_string())?;
                let mut times = Vec::with_capacity(max_frames);
                let start = Instant::now();
                let mut seq: u64 = 0;
                while !until.load(Ordering::Acquire) && times.len() < max_frames {
                    let due = start + interval.mul_f64(seq as f64);
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    let mut payload = [0u8; 32];
                    payload[..8].copy_from_slice(&seq.to_be_bytes());
                    // A send error (no route, a full queue) is a lost frame like any other.
                    let _ = sock.send(&payload);
                    times.push(t0.elapsed());
                    seq += 1;
                    sent_count.store(seq, Ordering::Relaxed);
                }
                Ok(times)
            })
            .map_err(|e| e.to_string())
            .and_then(|r| r);
        // Let the last frames arrive.
        std::thread::sleep(Duration::from_millis(300));
        recv_done.store(true, Ordering::Release);
        let received = rx
            .join()
            .map_err(|_| "stream receiver panicked".to_string())??;
        Ok(Stream {
            sent: tx?,
            received,
        })
    })
}

/// Computes the numbers of the stream: the cut at `t_cut`, the restore at `t_restore`.
fn analyse(s: &Stream, rate: u32, t_cut: Duration, t_restore: Duration, r: &mut LabResult) {
    let n = s.sent.len();
    r.sent = n as u64;
    let mut seen = vec![false; n];
    let mut highest: Option<u64> = None;
    for &(seq, _) in &s.received {
        let Some(slot) = seen.get_mut(seq as usize) else {
            continue;
        };
        if *slot {
            r.duplicates += 1;
            continue;
        }
        *slot = true;
        r.received += 1;
        if highest.is_some_and(|h| seq < h) {
            r.reordered += 1;
        }
        highest = Some(highest.map_or(seq, |h| h.max(seq)));
    }
    for (i, ok) in seen.iter().enumerate() {
        if !ok {
            r.lost += 1;
            let t = s.sent[i];
            if t >= t_cut && t < t_restore {
                r.lost_at_cut += 1;
            } else if t >= t_restore {
                r.lost_at_restore += 1;
            }
        }
    }
    let interval = 1000.0 / f64::from(rate);
    // Runs of lost frames, by send time.
    let mut worst = 0.0f64;
    let mut i = 0;
    while i < n {
        if seen[i] {
            i += 1;
            continue;
        }
        let first = i;
        while i < n && !seen[i] {
            i += 1;
        }
        let began = s.sent[first];
        if began + Duration::from_secs_f64(interval / 1000.0) < t_cut || began >= t_restore {
            continue;
        }
        let before = if first > 0 {
            s.sent[first - 1]
        } else {
            s.sent[first]
        };
        let after = if i < n { s.sent[i] } else { s.sent[n - 1] };
        worst = worst.max((after - before).as_secs_f64() * 1000.0 - interval);
    }
    r.failover_ms = worst.max(0.0);
    let mut gap = 0.0f64;
    let mut prev: Option<Duration> = None;
    for &(_, t) in &s.received {
        if let Some(p) = prev {
            // Gaps that end after the cut and start before the restore.
            if t >= t_cut && p <= t_restore {
                gap = gap.max((t - p).as_secs_f64() * 1000.0);
            }
        }
        prev = Some(t);
    }
    r.max_gap_ms = gap;
}

/// Picks the member that carries the stream now: the one whose transmit counter grows most.
fn busiest_member(run_dir: &Path, name: &str, stop: &AtomicBool) -> Result<Option<usize>, String> {
    let sample = || -> Vec<u64> {
        status_json(run_dir, name)
            .and_then(|v| {
                v["members"].as_array().map(|a| {
                    a.iter()
                        .map(|m| m["tx_frames"].as_u64().unwrap_or(0))
                        .collect()
                })
            })
            .unwrap_or_default()
    };
    let a = sample();
    nap(Duration::from_millis(300), stop)?;
    let b = sample();
    Ok(a.iter()
        .zip(&b)
        .enumerate()
        .max_by_key(|(_, (x, y))| y.saturating_sub(**x))
        .filter(|(_, (x, y))| y > x)
        .map(|(i, _)| i))
}

/// The state-change lines of a bond's log.
fn events(log: &str) -> Vec<String> {
    const KEYS: [&str; 8] = [
        "carrier",
        "MII status",
        "active member",
        "aggregator",
        "LACP",
        "fallback",
        "MAC address set",
        "signal",
    ];
    log.lines()
        .filter(|l| KEYS.iter().any(|k| l.contains(k)))
        .map(str::to_string)
        .collect()
}

/// Builds the lab, runs it, removes it. Progress and the report go to `out`.
pub fn run(cfg: &LabConfig, stop: &AtomicBool, out: &mut dyn Write) -> Result<LabResult, String> {
    let started = Instant::now();
    let opts = check_safe(cfg)?;
    let mode = opts.mode();
    let say = |out: &mut dyn Write, s: &str| {
        let _ = writeln!(out, "lab: {s}");
        let _ = out.flush();
    };
    netlab::remove_stale();
    let state = StateDir::new().map_err(|e| format!("state directory: {e}"))?;
    let run_dir = state.path().join("run");
    fs::create_dir(&run_dir).map_err(|e| e.to_string())?;

    // Namespaces and wires.
    let ns_bond = Netns::new().map_err(|e| format!("namespace: {e}"))?;
    let lacp = mode == Mode::Ieee8023ad;
    let ns_peer = Netns::new().map_err(|e| format!("namespace: {e}"))?;
    let ns_far = if lacp {
        None
    } else {
        Some(Netns::new().map_err(|e| format!("namespace: {e}"))?)
    };
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..cfg.members {
        let (a, b) = ns_bond
            .veth_to(&ns_peer)
            .map_err(|e| format!("veth: {e}"))?;
        ours.push(a);
        theirs.push(b);
    }
    let bond_name = netlab::unique_name('k');
    let peer_name = netlab::unique_name('k');
    let mut peer_bond = None;
    let far_ns: &Netns = match &ns_far {
        Some(far) => {
            let (s_end, f_end) = ns_peer.veth_to(far).map_err(|e| format!("veth: {e}"))?;
            let mut ports: Vec<&str> = theirs.iter().map(String::as_str).collect();
            ports.push(&s_end);
            let br = ns_peer
                .add_bridge(&ports)
                .map_err(|e| format!("bridge: {e}"))?;
            far.add_addr(&f_end, &format!("{FAR_ADDR}/24"))
                .map_err(|e| format!("address: {e}"))?;
            say(
                out,
                &format!(
                    "{} namespaces: bond {} with {} members -> Linux bridge {br} in {} -> far host {FAR_ADDR} in {}",
                    3,
                    ns_bond.name(),
                    cfg.members,
                    ns_peer.name(),
                    far.name()
                ),
            );
            far
        }
        None => {
            say(
                out,
                &format!(
                    "2 namespaces: bond {} ({}) and 802.3ad partner {} ({}), {} veth pairs",
                    bond_name,
                    ns_bond.name(),
                    peer_name,
                    ns_peer.name(),
                    cfg.members
                ),
            );
            &ns_peer
        }
    };
    for ns in [Some(&ns_bond), Some(&ns_peer), ns_far.as_ref()]
        .into_iter()
        .flatten()
    {
        check_namespace(ns)?;
    }
    stopped(stop)?;

    // The bonds.
    say(
        out,
        &format!(
            "starting: afxdp-bond run --name {bond_name} --options \"{}\" {}",
            cfg.options,
            ours.join(" ")
        ),
    );
    let mut bond = BondProcess::start(
        cfg,
        &ns_bond,
        &bond_name,
        &cfg.options,
        &ours,
        &run_dir,
        state.path(),
    )?;
    if lacp {
        let peer_opts = "mode=802.3ad lacp_rate=fast miimon=100";
        say(
            out,
            &format!(
                "starting the partner: afxdp-bond run --name {peer_name} --options \"{peer_opts}\" {}",
                theirs.join(" ")
            ),
        );
        peer_bond = Some(BondProcess::start(
            cfg,
            &ns_peer,
            &peer_name,
            peer_opts,
            &theirs,
            &run_dir,
            state.path(),
        )?);
    }
    // TAP devices up: addresses.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut pending: Vec<(&Netns, &str, Ipv4Addr)> =
        vec![(&ns_bond, bond_name.as_str(), BOND_ADDR)];
    if lacp {
        pending.push((&ns_peer, peer_name.as_str(), FAR_ADDR));
    }
    while !pending.is_empty() {
        stopped(stop)?;
        bond.check_alive()?;
        if let Some(p) = peer_bond.as_mut() {
            p.check_alive()?;
        }
        if Instant::now() > deadline {
            return Err("the bonds did not create their TAP devices within 15 s".into());
        }
        pending.retain(|(ns, tap, addr)| {
            if ns.ip(&["link", "show", tap]).is_ok() {
                ns.add_addr(tap, &format!("{addr}/24")).is_err()
            } else {
                true
            }
        });
        std::thread::sleep(Duration::from_millis(50));
    }
    // Ready?
    let t_ready = Instant::now();
    loop {
        stopped(stop)?;
        bond.check_alive()?;
        if let Some(p) = peer_bond.as_mut() {
            p.check_alive()?;
        }
        if status_json(&run_dir, &bond_name).is_some_and(|v| ready(&v, mode)) {
            break;
        }
        if t_ready.elapsed() > Duration::from_secs(20) {
            let st = status(&run_dir, &bond_name, false).unwrap_or_default();
            return Err(format!(
                "the bond was not ready within 20 s; its status:\n{st}"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    say(
        out,
        &format!(
            "bond ready after {:.2} s ({})",
            t_ready.elapsed().as_secs_f64(),
            match mode {
                Mode::Ieee8023ad => "every port distributing",
                Mode::ActiveBackup | Mode::BalanceTlb | Mode::BalanceAlb => "an active member",
                _ => "carrier",
            }
        ),
    );
    let ping_before = ping(&ns_bond, FAR_ADDR, 5);
    say(out, &format!("ping {FAR_ADDR}: {ping_before}/5 answered"));
    let before = status(&run_dir, &bond_name, false)?;
    let _ = writeln!(out, "\n--- status before the cut ---\n{before}");

    // The stream, the cut, the restore.
    let t0 = Instant::now();
    let until = AtomicBool::new(false);
    let rx_started = AtomicBool::new(false);
    let sent_count = AtomicU64::new(0);
    let mut result = LabResult {
        mode: mode.name().to_string(),
        ..LabResult::default()
    };
    let (stream_res, t_cut, t_restore, cut_name) = std::thread::scope(|s| {
        let h = s.spawn(|| {
            stream(
                &ns_bond,
                far_ns,
                cfg.rate_pps,
                t0,
                &rx_started,
                &until,
                &sent_count,
            )
        });
        let phases = (|| -> Result<(Duration, Duration, String), String> {
            nap(cfg.keep_going, stop)?;
            let victim = busiest_member(&run_dir, &bond_name, stop)?.unwrap_or(0);
            let cut = &theirs[victim];
            let cut_ns = &ns_peer;
            let t_cut = t0.elapsed();
            cut_ns
                .set_up(cut, false)
                .map_err(|e| format!("cutting {cut}: {e}"))?;
            let name = ours[victim].clone();
            nap(cfg.keep_going, stop)?;
            let t_restore = t0.elapsed();
            cut_ns
                .set_up(cut, true)
                .map_err(|e| format!("restoring {cut}: {e}"))?;
            nap(
                cfg.keep_going
                    + if lacp {
                        Duration::from_secs(1)
                    } else {
                        Duration::ZERO
                    },
                stop,
            )?;
            Ok((t_cut, t_restore, name))
        })();
        until.store(true, Ordering::Release);
        let st = h
            .join()
            .unwrap_or_else(|_| Err("stream thread panicked".into()));
        match phases {
            Ok((a, b, n)) => Ok((st, a, b, n)),
            Err(e) => Err(e),
        }
    })?;
    let st = stream_res?;
    result.cut_member = cut_name.clone();
    analyse(&st, cfg.rate_pps, t_cut, t_restore, &mut result);
    let ping_after = ping(&ns_bond, FAR_ADDR, 5);
    result.pings_ok = (ping_before, ping_after);
    let after = status(&run_dir, &bond_name, false)?;

    let _ = writeln!(
        out,
        "lab: cut {cut_name} (its far end set down) at {:.3} s, restored at {:.3} s",
        t_cut.as_secs_f64(),
        t_restore.as_secs_f64()
    );
    let _ = writeln!(out, "\n--- status after the restore ---\n{after}");
    let mut report = String::new();
    let _ = writeln!(report, "--- what the bond logged (state changes) ---");
    for e in events(&bond.log_text()) {
        let _ = writeln!(report, "{e}");
    }
    if let Some(p) = &peer_bond {
        let _ = writeln!(report, "--- what the 802.3ad partner logged ---");
        for e in events(&p.log_text()) {
            let _ = writeln!(report, "{e}");
        }
    }
    let _ = writeln!(report, "\n--- traffic ---");
    let _ = writeln!(
        report,
        "UDP stream {BOND_ADDR} -> {FAR_ADDR}:{STREAM_PORT} at {} frames/s: {} sent, {} received, {} lost ({} during the cut, {} after the restore), {} duplicates, {} reordered",
        cfg.rate_pps,
        result.sent,
        result.received,
        result.lost,
        result.lost_at_cut,
        result.lost_at_restore,
        result.duplicates,
        result.reordered
    );
    let _ = writeln!(
        report,
        "failover: {:.3} ms of the stream lost at most (longest run of lost frames, by send time); longest gap between arrivals {:.3} ms",
        result.failover_ms, result.max_gap_ms
    );
    let _ = writeln!(
        report,
        "ping {FAR_ADDR}: {ping_before}/5 before the cut, {ping_after}/5 after the restore"
    );
    let log = bond.log_text();
    let needle = format!("{cut_name}: carrier down (");
    result.detected_by = log
        .lines()
        .find_map(|l| l.split(&needle).nth(1))
        .and_then(|r| r.split(')').next())
        .unwrap_or("?")
        .to_string();
    let _ = writeln!(
        report,
        "the bond learnt of the cut from: {}",
        match result.detected_by.as_str() {
            "rtnetlink" =>
                "the kernel's rtnetlink event (sent at once: link-watch deemed it urgent)",
            "ethtool" =>
                "its ETHTOOL_GLINK check (the kernel's link-watch held the rtnetlink event back: not urgent, e.g. the two veth ends have the same ifindex in their namespaces); the check runs every miimon ms, 100 without miimon (--carrier-poll-ms to change it)",
            _ => "(not in its log)",
        }
    );
    if result.lost_at_restore > 0 {
        let _ = writeln!(
            report,
            "note: the frames lost after the restore were sent on the member before the far end used its port again ({}); Linux bonding's updelay holds a returning member back for such partners",
            if lacp {
                "the partner's LACP"
            } else {
                "a Linux bridge enables a port when the kernel's link-watch reports its carrier, up to 1 s later"
            }
        );
    }
    let _ = out.write_all(report.as_bytes());

    // Orderly shutdown: the bonds restore their members; the guards remove the rest.
    let clean_a = bond.stop();
    let clean_b = peer_bond.as_mut().is_none_or(BondProcess::stop);
    if !(clean_a && clean_b) {
        say(
            out,
            "a bond did not stop within 5 s of SIGTERM; it was killed",
        );
    }
    drop(peer_bond);
    drop(bond);
    drop(ns_far);
    drop(ns_peer);
    drop(ns_bond);
    drop(state);
    result.elapsed_s = started.elapsed().as_secs_f64();
    say(
        out,
        &format!(
            "removed everything it created ({:.1} s in all)",
            result.elapsed_s
        ),
    );
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let (s, notes) = lab_options("");
        assert_eq!(s, "mode=802.3ad lacp_rate=fast miimon=100");
        assert_eq!(notes.len(), 2);
        let (s, notes) =
            lab_options("mode=active-backup arp_interval=100 arp_ip_target=198.18.0.2");
        assert_eq!(
            s,
            "mode=active-backup arp_interval=100 arp_ip_target=198.18.0.2"
        );
        assert!(notes.is_empty());
    }

    #[test]
    fn analysis() {
        let ms = Duration::from_millis;
        let s = Stream {
            sent: (0..10).map(|i| ms(i * 10)).collect(),
            received: vec![
                (0, ms(1)),
                (1, ms(11)),
                (2, ms(21)),
                (5, ms(51)),
                (4, ms(52)),
                (5, ms(53)),
                (6, ms(61)),
                (7, ms(71)),
                (8, ms(81)),
                (9, ms(91)),
            ],
        };
        let mut r = LabResult::default();
        analyse(&s, 100, ms(25), ms(60), &mut r);
        assert_eq!(
            (r.sent, r.received, r.lost, r.duplicates, r.reordered),
            (10, 9, 1, 1, 1)
        );
        assert_eq!(r.lost_at_cut, 1);
        // Frame 3 lost: from frame 2 (20 ms) to frame 4 (40 ms), less one interval.
        assert!((r.failover_ms - 10.0).abs() < 1e-9, "{}", r.failover_ms);
        assert!((r.max_gap_ms - 30.0).abs() < 1e-9, "{}", r.max_gap_ms);
    }
}
