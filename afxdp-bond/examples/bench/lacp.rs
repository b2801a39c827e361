//! LACP timing.
//!
//! 1. Link up to distributing: the bond (802.3ad, lacp_rate=fast) on two veths whose peers
//!    are held down; the peers are set up at once and the time until both members are
//!    distributing is taken from the bond's status (polled every millisecond by its own
//!    thread). Against Open vSwitch (userspace datapath, bond `lacp=active`,
//!    `lacp-time=fast`, balance-tcp) and against a second bond.
//! 2. LACPDU transmit jitter on the wire: the `afxdp-bond run` binary (802.3ad,
//!    lacp_rate=fast irrelevant to its own rate: it sends as fast as the PARTNER asks)
//!    against OVS with `lacp-time=fast`, so it sends every second on each member; the
//!    PDUs are captured by tshark (AF_PACKET receive timestamps) in OVS's namespace, and
//!    every interval between two PDUs of a member is compared with the 1 s period.
//! 3. The same in simulated time: two engine `Bond`s (each running the `lacp` crate's
//!    machines) connected back to back, driven at exactly the deadlines they return, for
//!    10 minutes of virtual time; every PDU's time is checked against its deadline.
//!
//! The veths get explicit, different interface indexes at both ends, so their carrier
//! changes are "urgent" for the kernel's linkwatch (see `failover`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use afxdp_bond::engine::{Bond, BondConfig, MacAddr, MemberConfig, TransmitKind};
use afxdp_bond::netlab::{self, Netns, Ovs};
use afxdp_bond::runtime::BondRx;
use afxdp_bond::xdp::{XdpMode, XskConfig, sys};

use crate::lab::{ForeignLoad, bond_ready, machine, open_bond, wait_until};
use crate::stats::{max, median, percentile};
use crate::{Res, stopped};

/// Arguments of `bench lacp`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Args {
    /// Link-up measurements per partner (0: skip).
    #[arg(long, default_value_t = 10)]
    up_reps: usize,
    /// Seconds of wire capture for the jitter measurement (0: skip).
    #[arg(long, default_value_t = 60)]
    wire_seconds: u64,
    /// Seconds of simulated time (0: skip).
    #[arg(long, default_value_t = 600)]
    sim_seconds: u64,
    /// The afxdp-bond binary (for the wire measurement).
    #[arg(long, default_value = "target/release/afxdp-bond")]
    afxdp_bond: String,
    /// CPU for the bond's thread.
    #[arg(long, default_value_t = 1)]
    cpu: usize,
    /// XDP mode.
    #[arg(long, default_value = "native")]
    xdp_mode: XdpMode,
}

/// Time-to-distributing measurement state, shared with a bond's thread.
#[derive(Default)]
struct Watch {
    /// Set by the orchestrator at the link-up instant.
    armed: Mutex<Option<Instant>>,
    /// What the bond thread measured for the armed instant: (first member, all members).
    result: Mutex<Option<(Duration, Duration)>>,
    /// Whether every member is distributing now.
    ready: AtomicBool,
    done: AtomicBool,
}

/// Runs a bond in `ns` over `members` until `watch.done`, polling its status every
/// millisecond for the link-up measurement.
fn bond_thread(
    ns: &Netns,
    members: &[String],
    cpu: usize,
    xdp_mode: XdpMode,
    watch: &Watch,
) -> Res<()> {
    ns.enter(|| -> Res<()> {
        sys::pin_to_cpu(cpu)?;
        let m: Vec<&str> = members.iter().map(String::as_str).collect();
        let mut w = open_bond(
            &netlab::unique_name('k'),
            "mode=802.3ad lacp_rate=fast miimon=100",
            &m,
            &[],
            XskConfig {
                xdp_mode,
                ..XskConfig::default()
            },
        )?;
        let mut out: Vec<BondRx> = Vec::with_capacity(64);
        let mut first: Option<Duration> = None;
        let end = Instant::now() + Duration::from_secs(3600);
        while !watch.done.load(Ordering::Relaxed) && !stopped() && Instant::now() < end {
            out.clear();
            w.recv_burst(&mut out)?;
            for f in out.drain(..) {
                w.release(f.frame);
            }
            w.flush();
            let v = w.status_json();
            let dist: Vec<bool> = v["members"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|m| m["lacp"]["distributing"].as_bool() == Some(true))
                        .collect()
                })
                .unwrap_or_default();
            let all = !dist.is_empty() && dist.iter().all(|d| *d);
            watch.ready.store(all, Ordering::Release);
            let armed = *watch.armed.lock().map_err(|_| "lock")?;
            if let Some(t0) = armed {
                if first.is_none() && dist.iter().any(|d| *d) {
                    first = Some(t0.elapsed());
                }
                if all {
                    *watch.result.lock().map_err(|_| "lock")? =
                        Some((first.unwrap_or_else(|| t0.elapsed()), t0.elapsed()));
                    *watch.armed.lock().map_err(|_| "lock")? = None;
                    first = None;
                }
            } else {
                first = None;
            }
            w.wait_for_work(Duration::from_millis(1))?;
        }
        let _ = bond_ready(&w);
        Ok(())
    })?
}

/// Link up to distributing against `partner` ("ovs" or "bond").
fn link_up(args: &Args, partner: &str) -> Res<Vec<(Duration, Duration)>> {
    let a = Netns::new()?;
    let b = Netns::new()?;
    let (a0, b0) = a.veth_to_indexed(&b, 100, 200)?;
    let (a1, b1) = a.veth_to_indexed(&b, 101, 201)?;
    let watch = Watch::default();
    let peer_watch = Watch::default();
    let mut ovs = None;
    if partner == "ovs" {
        let o = Ovs::start(&b)?;
        o.lacp_bridge(&[&b0, &b1], &[])?;
        ovs = Some(o);
    }
    let members = [a0.clone(), a1.clone()];
    let peer_members = [b0.clone(), b1.clone()];
    let mut out = Vec::new();
    std::thread::scope(|s| -> Res<()> {
        let h = s.spawn(|| bond_thread(&a, &members, args.cpu, args.xdp_mode, &watch));
        let hp = (partner == "bond").then(|| {
            s.spawn(|| {
                bond_thread(
                    &b,
                    &peer_members,
                    1 - args.cpu.min(1),
                    args.xdp_mode,
                    &peer_watch,
                )
            })
        });
        let r = (|| -> Res<()> {
            if !wait_until(Duration::from_secs(30), Duration::from_millis(10), || {
                watch.ready.load(Ordering::Acquire) || h.is_finished()
            }) {
                return Err(format!("802.3ad against {partner} never distributing").into());
            }
            for _ in 0..args.up_reps {
                if stopped() {
                    break;
                }
                b.set_up(&b0, false)?;
                b.set_up(&b1, false)?;
                if !wait_until(Duration::from_secs(10), Duration::from_millis(5), || {
                    !watch.ready.load(Ordering::Acquire)
                }) {
                    return Err("still distributing with the links down".into());
                }
                std::thread::sleep(Duration::from_millis(1500));
                *watch.result.lock().map_err(|_| "lock")? = None;
                *watch.armed.lock().map_err(|_| "lock")? = Some(Instant::now());
                b.set_up(&b0, true)?;
                b.set_up(&b1, true)?;
                if !wait_until(Duration::from_secs(20), Duration::from_millis(1), || {
                    watch.result.lock().is_ok_and(|r| r.is_some())
                }) {
                    return Err(format!("not distributing 20 s after link up ({partner})").into());
                }
                if let Some(r) = *watch.result.lock().map_err(|_| "lock")? {
                    out.push(r);
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            Ok(())
        })();
        watch.done.store(true, Ordering::Release);
        peer_watch.done.store(true, Ordering::Release);
        let hr = h.join().map_err(|_| "bond thread panicked")?;
        if let Some(hp) = hp {
            hp.join().map_err(|_| "partner thread panicked")??;
        }
        r?;
        hr
    })?;
    drop(ovs);
    Ok(out)
}

/// LACPDU intervals on the wire, per member, from a tshark capture in the partner's (OVS's)
/// namespace: (the bond's intervals, its PDU count, OVS's own intervals, a note).
fn wire_jitter(args: &Args) -> Res<(Vec<f64>, usize, Vec<f64>, String)> {
    let a = Netns::new()?;
    let b = Netns::new()?;
    let (a0, b0) = a.veth_to_indexed(&b, 100, 200)?;
    let (a1, b1) = a.veth_to_indexed(&b, 101, 201)?;
    let ovs = Ovs::start(&b)?;
    ovs.lacp_bridge(&[&b0, &b1], &[])?;
    let name = netlab::unique_name('k');
    // The members' own MACs, read before the bond gives them its MAC (the source of an
    // LACPDU is the member's permanent MAC, as in Linux).
    let ours = [a.mac(&a0)?, a.mac(&a1)?].map(|m| {
        m.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    });
    let bin = std::fs::canonicalize(&args.afxdp_bond)
        .map_err(|e| format!("{}: {e} (build it first)", args.afxdp_bond))?;
    let bond = a.spawn(
        "taskset",
        &[
            "-c".to_string(),
            args.cpu.to_string(),
            bin.to_string_lossy().into_owned(),
            "run".into(),
            "--name".into(),
            name.clone(),
            "--options".into(),
            "mode=802.3ad lacp_rate=fast miimon=100".into(),
            a0.clone(),
            a1.clone(),
        ],
    )?;
    // Negotiate first; then capture what the bond sends, as OVS's ports receive it.
    let negotiated = wait_until(Duration::from_secs(30), Duration::from_millis(200), || {
        ovs.appctl(&["lacp/show", "bond0"])
            .is_ok_and(|s| s.contains("negotiated") && s.matches("current attached").count() >= 2)
            || stopped()
    });
    if !negotiated {
        return Err(format!(
            "OVS did not negotiate with afxdp-bond: {}",
            ovs.appctl(&["lacp/show", "bond0"]).unwrap_or_default()
        )
        .into());
    }
    std::thread::sleep(Duration::from_secs(3));
    // "When the host is idle": wait (bounded) for the other jobs on the machine to pause.
    crate::lab::wait_quiet(15.0, Duration::from_secs(120));
    let dir = netlab::StateDir::new()?;
    let pcap = dir.path().join("lacp.pcapng");
    let load = ForeignLoad::start();
    let cap = b.exec_timeout(
        "tshark",
        &[
            "-q",
            "-i",
            &b0,
            "-i",
            &b1,
            "-f",
            "ether proto 0x8809 and inbound",
            "-a",
            &format!("duration:{}", args.wire_seconds),
            "-w",
            &pcap.to_string_lossy(),
        ],
        Duration::from_secs(args.wire_seconds + 30),
    )?;
    let foreign = load.percent();
    // SIGTERM: the bond shuts down in order and restores its members.
    let _ = bond.signal(libc::SIGTERM);
    let _ = bond.wait_timeout(Duration::from_secs(10));
    if !cap.status.success() {
        return Err(format!("tshark: {}", String::from_utf8_lossy(&cap.stderr)).into());
    }
    let fields = netlab::run_ok(
        "tshark",
        &[
            "-r",
            &pcap.to_string_lossy(),
            "-Y",
            "lacp",
            "-T",
            "fields",
            "-e",
            "frame.interface_id",
            "-e",
            "frame.time_epoch",
            "-e",
            "eth.src",
            "-e",
            "lacp.actor.state",
            "-e",
            "lacp.partner.state",
        ],
    )?;
    if std::env::var_os("BENCH_DEBUG").is_some() {
        eprintln!("{fields}");
    }
    // The capture may also hold OVS's own PDUs (its userspace ports loop them back as
    // "inbound"): the bond's are told apart by their source MAC (a member's).
    let mut series: std::collections::BTreeMap<(String, String), Vec<f64>> =
        std::collections::BTreeMap::new();
    for l in fields.lines() {
        let mut it = l.split_whitespace();
        let (Some(i), Some(t), Some(src)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let Ok(t) = t.parse::<f64>() else { continue };
        series
            .entry((i.to_string(), src.to_string()))
            .or_default()
            .push(t);
    }
    let (mut intervals, mut theirs, mut pdus) = (Vec::new(), Vec::new(), 0);
    for ((_, src), times) in &series {
        let mut times = times.clone();
        times.sort_by(f64::total_cmp);
        let iv = times.windows(2).map(|w| w[1] - w[0]);
        if ours.contains(src) {
            pdus += times.len();
            intervals.extend(iv);
        } else {
            theirs.extend(iv);
        }
    }
    Ok((
        intervals,
        pdus,
        theirs,
        format!("other processes {foreign:.0}% of a CPU"),
    ))
}

/// Two bonds back to back in virtual time: every LACPDU's send time and the interval to
/// the previous one of the same bond and member.
fn simulated(seconds: u64) -> Res<(Vec<Duration>, usize)> {
    let mk = |k: u8| -> Res<Bond> {
        let t = Duration::ZERO;
        let mut b = Bond::from_modprobe(
            t,
            "mode=802.3ad lacp_rate=fast",
            BondConfig {
                name: format!("sim{k}"),
                seed: u64::from(k),
                ..BondConfig::default()
            },
        )?;
        for i in 0..2u8 {
            b.add_member(
                t,
                usize::from(i),
                MemberConfig::new(format!("eth{i}"), MacAddr([2, k, 0, 0, 0, i + 1])),
            )?;
        }
        b.open(t);
        Ok(b)
    };
    let mut bonds = [mk(1)?, mk(2)?];
    let end = Duration::from_secs(seconds);
    let mut last: [[Option<Duration>; 2]; 2] = [[None; 2]; 2];
    let mut intervals = Vec::new();
    let mut pdus = 0;
    let mut now = Duration::ZERO;
    let mut steps = 0u64;
    while now <= end && steps < 50_000_000 {
        steps += 1;
        // Deliver everything due now (instantaneous wire), until quiet.
        loop {
            let mut moved = false;
            for k in 0..2 {
                while let Some(t) = bonds[k].poll_transmit(now) {
                    moved = true;
                    if t.kind == TransmitKind::Lacpdu {
                        pdus += 1;
                        if let Some(p) = last[k][t.member] {
                            intervals.push(now - p);
                        }
                        last[k][t.member] = Some(now);
                    }
                    let mut f = t.frame().to_vec();
                    let _ = bonds[1 - k].handle_rx(now, t.member, &mut f);
                }
                while bonds[k].poll_event().is_some() {}
            }
            if !moved {
                break;
            }
        }
        let next = bonds
            .iter()
            .filter_map(Bond::poll_timeout)
            .min()
            .ok_or("no deadline")?;
        now = next.max(now);
        for b in &mut bonds {
            b.handle_timeout(now);
        }
    }
    Ok((intervals, pdus))
}

fn fmt_ms(v: &[f64]) -> String {
    format!(
        "{:.3} | {:.3} | {:.3} | {:.3} | {:.3}",
        percentile(v, 50.0),
        percentile(v, 90.0),
        percentile(v, 99.0),
        max(v),
        v.iter().copied().fold(f64::NAN, f64::min)
    )
}

pub(crate) fn run(args: &Args) -> Res<()> {
    println!("lacp: {}", machine());
    if args.sim_seconds > 0 {
        let (iv, pdus) = simulated(args.sim_seconds)?;
        // Steady state: the periodic PDUs (the first seconds carry the extra PDUs of the
        // negotiation, sent when a state changed).
        let periodic: Vec<f64> = iv
            .iter()
            .filter(|d| **d >= Duration::from_millis(900))
            .map(|d| (d.as_secs_f64() - 1.0).abs() * 1e3)
            .collect();
        let extra = iv.len() - periodic.len();
        let exact = iv
            .iter()
            .filter(|d| **d >= Duration::from_millis(900))
            .all(|d| *d == Duration::from_secs(1));
        println!();
        println!(
            "simulated: {} s of virtual time, 2 bonds x 2 members, {pdus} LACPDUs, {} periodic intervals, {extra} shorter ones (negotiation); every periodic interval exactly 1 s: {exact}",
            args.sim_seconds,
            periodic.len()
        );
        println!("| LACPDU deviation from the 1 s period, ms | p50 | p90 | p99 | max | min |");
        println!("|---|---:|---:|---:|---:|---:|");
        println!(
            "| simulated ({} s) | {} |",
            args.sim_seconds,
            fmt_ms(&periodic)
        );
    }
    if args.up_reps > 0 {
        println!();
        println!(
            "| partner | link-ups | first member distributing, ms (median / max) | both distributing, ms (median / p90 / max) |"
        );
        println!("|---|---:|---:|---:|");
        for partner in ["ovs", "bond"] {
            if stopped() {
                break;
            }
            match link_up(args, partner) {
                Ok(r) => {
                    let first: Vec<f64> = r.iter().map(|x| x.0.as_secs_f64() * 1e3).collect();
                    let all: Vec<f64> = r.iter().map(|x| x.1.as_secs_f64() * 1e3).collect();
                    for (i, (f, a)) in first.iter().zip(&all).enumerate() {
                        eprintln!(
                            "RESULT lacp-up partner={partner} rep={} first_ms={f:.1} all_ms={a:.1}",
                            i + 1
                        );
                    }
                    println!(
                        "| {} | {} | {:.1} / {:.1} | {:.1} / {:.1} / {:.1} |",
                        if partner == "ovs" {
                            "Open vSwitch 3.1 (lacp=active, lacp-time=fast)"
                        } else {
                            "a second afxdp-bond (802.3ad, lacp_rate=fast)"
                        },
                        r.len(),
                        median(&first),
                        max(&first),
                        median(&all),
                        percentile(&all, 90.0),
                        max(&all)
                    );
                }
                Err(e) => println!("| {partner} | failed: {e} |||"),
            }
        }
    }
    if args.wire_seconds > 0 && !stopped() {
        let (iv, pdus, theirs, note) = wire_jitter(args)?;
        let periodic: Vec<f64> = iv
            .iter()
            .filter(|d| **d >= 0.9)
            .map(|d| (d - 1.0).abs() * 1e3)
            .collect();
        let within = periodic.iter().filter(|d| **d <= 10.0).count();
        println!();
        println!(
            "wire: {} s, {pdus} LACPDUs from afxdp-bond run ({note}); {} periodic intervals, {} shorter; {within} of {} within 10 ms of the deadline",
            args.wire_seconds,
            periodic.len(),
            iv.len() - periodic.len(),
            periodic.len()
        );
        println!("| LACPDU deviation from the 1 s period, ms | p50 | p90 | p99 | max | min |");
        println!("|---|---:|---:|---:|---:|---:|");
        println!(
            "| afxdp-bond on the wire ({} s) | {} |",
            args.wire_seconds,
            fmt_ms(&periodic)
        );
        let theirs: Vec<f64> = theirs
            .iter()
            .filter(|d| **d >= 0.9)
            .map(|d| (d - 1.0).abs() * 1e3)
            .collect();
        if !theirs.is_empty() {
            println!(
                "| Open vSwitch's own PDUs in the same capture | {} |",
                fmt_ms(&theirs)
            );
        }
    }
    Ok(())
}
