//! Shared pieces: the bond as a library in a namespace, NAPI pinning, readiness checks.

use std::time::{Duration, Instant};

use afxdp_bond::engine::BondOptions;
use afxdp_bond::netlab::{self, Netns};
use afxdp_bond::runtime::{BondWorker, RunConfig, Runtime};
use afxdp_bond::xdp::{self, XskConfig};

use crate::Res;

/// Opens a bond with `options` over `members`, with `ports` served by the same worker, no
/// TAP and no control socket (the library API), and returns its single worker. Call from
/// a thread inside the namespace of the interfaces.
pub(crate) fn open_bond(
    name: &str,
    options: &str,
    members: &[&str],
    ports: &[&str],
    xsk: XskConfig,
) -> Res<BondWorker> {
    let (opts, _warnings) = BondOptions::from_modprobe(options)
        .map_err(|e| format!("bond options {options:?}: {e}"))?;
    let mut cfg = RunConfig::new(name, opts, members);
    cfg.ports = ports.iter().map(|s| s.to_string()).collect();
    cfg.host = false;
    cfg.control_socket = false;
    cfg.xsk = xsk;
    let rt = Runtime::open(cfg).map_err(|e| format!("bond {name}: {e}"))?;
    let mut ws = rt.into_workers();
    if ws.len() != 1 {
        return Err(format!("bond {name}: {} workers, expected 1", ws.len()).into());
    }
    Ok(ws.remove(0))
}

/// Whether every member of the bond is distributing (802.3ad), or the bond has a usable
/// member (other modes), from its JSON status.
pub(crate) fn bond_ready(w: &BondWorker) -> bool {
    let v = w.status_json();
    let Some(members) = v["members"].as_array() else {
        return false;
    };
    if members.is_empty() {
        return false;
    }
    members.iter().all(|m| {
        let up = m["mii_status"].as_str() == Some("up");
        match m.get("lacp") {
            Some(l) => up && l["distributing"].as_bool() == Some(true),
            None => up,
        }
    })
}

/// Enables threaded NAPI on `ifname` (in `ns`); the kthreads are pinned by [`pin_napi`].
pub(crate) fn set_threaded(ns: &Netns, ifname: &str, on: bool) -> Res<()> {
    ns.run(
        "sh",
        &[
            "-c",
            &format!(
                "echo {} > /sys/class/net/{ifname}/threaded",
                if on { 1 } else { 0 }
            ),
        ],
    )?;
    Ok(())
}

/// Pins every NAPI kthread of `ifname` (`napi/IFNAME-ID`) to `cpu`, SCHED_FIFO priority 10
/// (a real NIC's NAPI runs in softirq and preempts user threads: the same precedence over a
/// busy-polling forwarder). Returns how many were pinned.
pub(crate) fn pin_napi(ifname: &str, cpu: usize) -> Res<usize> {
    let prefix = format!("napi/{ifname}");
    let mut pinned = 0;
    for e in std::fs::read_dir("/proc")?.filter_map(Result::ok) {
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        let rest = comm.trim().strip_prefix(&prefix);
        if rest.is_some_and(|r| r.is_empty() || r.starts_with('-')) {
            let pid = e.file_name().to_string_lossy().into_owned();
            netlab::run_ok("taskset", &["-p", "-c", &cpu.to_string(), &pid])?;
            netlab::run_ok("chrt", &["-f", "-p", "10", &pid])?;
            pinned += 1;
        }
    }
    Ok(pinned)
}

/// Waits (bounded) until `ok()` holds, polling every `step`.
pub(crate) fn wait_until(timeout: Duration, step: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end && !crate::stopped() {
        if ok() {
            return true;
        }
        std::thread::sleep(step);
    }
    ok()
}

/// MAC of `ifname` in the current namespace.
pub(crate) fn mac_here(ifname: &str) -> Res<[u8; 6]> {
    Ok(xdp::netlink::get_link(xdp::sys::ifindex(ifname)?)?.mac)
}

/// A short description of the machine and its load, for the record.
pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{} CPUs ({cpu}), kernel {}, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        kernel.trim(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// CPU time (clock ticks) used so far by each process that is not part of the benchmark:
/// every process with a command line (kernel threads have none: the NAPI kthreads are the
/// benchmark's own work) other than this one and the peers it runs.
fn foreign_ticks() -> std::collections::HashMap<u32, u64> {
    let me = std::process::id();
    let mut out = std::collections::HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.filter_map(Result::ok) {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if cmdline.is_empty() {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some((comm, rest)) = stat.split_once(") ") else {
            continue;
        };
        let comm = comm.rsplit('(').next().unwrap_or("");
        if [
            "ovs-vswitchd",
            "ovsdb-server",
            "dpdk-testpmd",
            "bench",
            "ip",
            "taskset",
            "stdbuf",
        ]
        .contains(&comm)
        {
            continue;
        }
        let f: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of stat; `rest` starts at field 3.
        let t = |i: usize| {
            f.get(i - 3)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        out.insert(pid, t(14) + t(15));
    }
    out
}

/// Measures the CPU share (in % of one CPU) that foreign processes used between
/// construction and [`ForeignLoad::percent`]: per process, so that a process that exits
/// in between does not hide what the others used (what an exited process used in the
/// window is lost: an underestimate, never an overestimate).
pub(crate) struct ForeignLoad {
    ticks: std::collections::HashMap<u32, u64>,
    t: Instant,
}

impl ForeignLoad {
    pub(crate) fn start() -> Self {
        Self {
            ticks: foreign_ticks(),
            t: Instant::now(),
        }
    }

    pub(crate) fn percent(&self) -> f64 {
        let hz = 100.0; // USER_HZ on Linux
        let used: u64 = foreign_ticks()
            .iter()
            .map(|(pid, now)| now.saturating_sub(self.ticks.get(pid).copied().unwrap_or(0)))
            .sum();
        100.0 * (used as f64 / hz) / self.t.elapsed().as_secs_f64().max(1e-3)
    }
}

/// Waits (at most `max`) until foreign processes use less than `limit`% of a CPU over a
/// 2-second window; returns the last measured share. `BENCH_NO_WAIT` in the environment
/// turns the wait off (a machine that is never quiet: the load is still recorded).
pub(crate) fn wait_quiet(limit: f64, max: Duration) -> f64 {
    if std::env::var_os("BENCH_NO_WAIT").is_some() {
        return 0.0;
    }
    let end = Instant::now() + max;
    loop {
        let l = ForeignLoad::start();
        std::thread::sleep(Duration::from_secs(2));
        let p = l.percent();
        if p < limit || Instant::now() >= end || crate::stopped() {
            return p;
        }
        eprintln!("bench: other processes use {p:.0}% of a CPU; waiting for a quieter machine");
    }
}
