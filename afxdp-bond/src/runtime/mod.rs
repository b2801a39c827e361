//! The glue: the sans-IO engine ([`crate::engine`]) running over the AF_XDP I/O layer
//! ([`crate::xdp`]), with a TAP device as the host side (the `afxdp-bond run` command) or
//! with the frames handed to the caller (the library API, [`BondWorker`]).
//!
//! # Threads and locks
//!
//! One datapath worker per thread ([`crate::xdp::Datapath`]). Each runs a [`BondHook`]:
//!
//! - **Per frame, every worker**: the engine's published [`Plan`](crate::engine::Plan) and
//!   the worker's own [`Worker`](crate::engine::Worker) decide (balance-rr, active-backup,
//!   balance-xor, broadcast, 802.3ad data frames): no lock, no allocation, one atomic load
//!   to see whether a newer plan was published. The frames the plan hands back (LACPDUs,
//!   every balance-tlb/alb frame, what the ARP monitor must see) go to the `Bond` under the
//!   control-plane mutex, as Linux takes its locks for them.
//! - **Control plane, worker 0**: the `Bond`'s deadlines (LACP timers, monitors, ALB
//!   rebalancing, peer notifications) drive worker 0's sleep, so LACPDUs leave on time with
//!   no traffic at all; its control frames are written into UMEM frames and sent on their
//!   member; its requests (member MAC, MTU, promiscuity, multicast filters, the host
//!   side's MAC and carrier) are carried out through rtnetlink and socket memberships, all
//!   undone on exit; link events come from rtnetlink, addresses of the host side
//!   (`RTM_NEWADDR`/`RTM_DELADDR` on the TAP and VLAN devices above it) are given to the
//!   `Bond` for its gratuitous ARPs and unsolicited NAs.
//!
//! # Carrier: rtnetlink events and an ethtool check
//!
//! A member's carrier reaches the `Bond` two ways, whichever comes first:
//!
//! 1. the rtnetlink `RTM_NEWLINK` event, acted upon when it arrives (the engine fails over
//!    within that call, see [`crate::engine`]);
//! 2. an `ETHTOOL_GLINK` ioctl on every member at the `miimon` rate (100 ms when `miimon`
//!    is 0), which reads `netif_carrier_ok()` as the kernel bond's MII monitor does.
//!
//! Why both: the kernel's link-watch work sends a carrier change to rtnetlink at once only
//! when it deems it urgent (`linkwatch_urgent_event()`: a device whose `iflink` differs from
//! its own ifindex, such as a veth whose peer has another index, a LAG port, a device going
//! down); otherwise it batches changes and runs at most once a second, so a carrier loss
//! within a second of an earlier link change reaches rtnetlink up to one second late. The
//! ethtool check reads `netif_carrier_ok()` directly, as the kernel bond's MII monitor does,
//! and is not delayed.
//!
//! What this means for failover time (active-backup, or a port leaving an 802.3ad
//! aggregator): when the event is urgent, the `Bond` learns of a carrier loss within
//! microseconds of the driver reporting it and fails over in that instant (well under 1 ms
//! of lost traffic on veth); when it is not (an ordinary NIC after a recent link change,
//! or a veth whose peer in another namespace happens to have the same ifindex), within one
//! check period: `miimon`, which is what a kernel bond with the same `miimon` waits in every
//! case. [`RunConfig::carrier_poll`] (`--carrier-poll-ms`) shortens the period independently
//! of `miimon` (an ioctl per member per period: 1 ms costs a few microseconds of CPU per
//! millisecond). With `downdelay` the failover waits as long as Linux's would. The same
//! delay applies to the far end: a Linux bridge enables a port only when link-watch tells
//! it the port has carrier, so frames sent on a member right after its link comes back can
//! be lost until then (Linux bonding's `updelay` exists for such switches).
//!
//! # Shutdown
//!
//! [`Runtime::run`] returns when its stop flag is set (SIGINT/SIGTERM in the binary): the
//! workers stop and close their sockets, the XDP programs are detached, the TAP device goes
//! away, the members get back the MAC, MTU, administrative state, promiscuity and
//! multicast filters they had, and the control socket is removed.

mod api;
mod hook;
pub mod preflight;
mod shared;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::control::ControlServer;
use crate::engine::{Bond, BondConfig, BondOptions, MacAddr, MemberConfig, Mode};
use crate::xdp::{self, BondIo, Datapath, HostConfig, XskConfig, ethtool, netlink::get_link, sys};

pub use api::{BondRx, BondWorker, RxSource};
pub use hook::BondHook;
use shared::{Control, Devices, PlanCell, Shared, WorkerIo, lock};

/// What [`Runtime::open`] builds.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The bond's name: its TAP device and its control socket (`bond0`).
    pub name: String,
    /// The bonding options.
    pub options: BondOptions,
    /// Member interfaces; member `i` is `members[i]`.
    pub members: Vec<String>,
    /// Interfaces that are not members but served by the same workers (library API only,
    /// after the members: port `k` has datapath index `members.len() + k`).
    pub ports: Vec<String>,
    /// The AF_XDP configuration.
    pub xsk: XskConfig,
    /// Pin worker `k` to `cpus[k % cpus.len()]` (none: no pinning).
    pub cpus: Vec<usize>,
    /// The bond's MAC (default: the first member's, as Linux does).
    pub mac: Option<[u8; 6]>,
    /// The bond's MTU (default 1500, as a new Linux bond), given to every member.
    pub mtu: Option<u32>,
    /// Create the TAP host side (the binary does; the library API may not).
    pub host: bool,
    /// The period of the ethtool carrier check (default: `miimon`, or 100 ms when `miimon`
    /// is 0). See the module docs for why a shorter one can matter.
    pub carrier_poll: Option<Duration>,
    /// Create the control socket.
    pub control_socket: bool,
}

impl RunConfig {
    /// A configuration with these options and members, a TAP host side and a control
    /// socket, and the default AF_XDP settings.
    pub fn new(name: &str, options: BondOptions, members: &[&str]) -> Self {
        Self {
            name: name.to_string(),
            options,
            members: members.iter().map(|s| s.to_string()).collect(),
            ports: Vec::new(),
            xsk: XskConfig::default(),
            cpus: Vec::new(),
            mac: None,
            mtu: None,
            host: true,
            carrier_poll: None,
            control_socket: true,
        }
    }

    /// The locked memory the UMEMs will take (an upper bound), for the `RLIMIT_MEMLOCK`
    /// check.
    pub fn umem_bytes(&self) -> u64 {
        let ifaces = (self.members.len() + self.ports.len()) as u64;
        let workers = self.xsk.workers.max(1) as u64;
        let queues = u64::from(self.xsk.queues.unwrap_or(1)).max(workers);
        let frames = if self.xsk.frames == 0 {
            // Per worker: sockets * 2 * ring + 1024 (see `Datapath::new`).
            ifaces * queues.div_ceil(workers) * 2 * u64::from(self.xsk.ring_size) + 1024
        } else {
            u64::from(self.xsk.frames)
        };
        workers * frames * u64::from(self.xsk.frame_size)
    }
}

/// A failure of [`Runtime::open`] or [`Runtime::run`], as one line for an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunError(pub String);

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RunError {}

fn xdp_err(e: &xdp::Error) -> RunError {
    let kind = match e.kind() {
        xdp::ErrorKind::Unsupported => "XDP or AF_XDP not supported here: ",
        xdp::ErrorKind::Busy => "in use: ",
        xdp::ErrorKind::PermissionDenied => "permission denied: ",
        xdp::ErrorKind::NoSuchInterface => "no such interface: ",
        xdp::ErrorKind::Other => "",
    };
    // The first line only (a verifier log goes to the debug log).
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("").to_string();
    if e.verifier_log().is_some() {
        log::debug!("{text}");
    }
    RunError(format!("{kind}{first}"))
}

/// A bond ready to run: engine, members, XDP programs, sockets, host side, control socket.
#[derive(Debug)]
pub struct Runtime {
    shared: Arc<Shared>,
    workers: Vec<Datapath>,
    server: Option<ControlServer>,
    cfg: RunConfig,
    poll_interval: Duration,
    host_ifindex: Option<u32>,
    infos: Vec<crate::engine::LinkInfo>,
}

impl Runtime {
    /// Checks privileges and members, then opens everything (see the module docs). Nothing
    /// is left behind if it fails.
    pub fn open(cfg: RunConfig) -> Result<Self, RunError> {
        crate::control::check_name(&cfg.name).map_err(RunError)?;
        preflight::check_privileges(cfg.umem_bytes()).map_err(RunError)?;
        if cfg.control_socket {
            preflight::check_not_running(&cfg.name).map_err(RunError)?;
        }
        let links = preflight::check_members(&cfg.name, &cfg.members).map_err(RunError)?;
        for p in &cfg.ports {
            if cfg.members.contains(p) {
                return Err(RunError(format!(
                    "interface {p} is both a member and a port"
                )));
            }
            sys::ifindex(p).map_err(|_| RunError(format!("interface {p} does not exist")))?;
        }
        let server = if cfg.control_socket {
            Some(ControlServer::bind(&cfg.name).map_err(|e| RunError(e.to_string()))?)
        } else {
            None
        };

        let origin = Instant::now();
        let mtu = cfg.mtu.unwrap_or(1500);
        let largest = cfg.xsk.frame_size.saturating_sub(14 + 4 + 256);
        if mtu > largest || mtu < 68 {
            return Err(RunError(format!(
                "MTU {mtu}: must be 68 to {largest} with {}-byte UMEM frames",
                cfg.xsk.frame_size
            )));
        }
        let seed = u64::from(std::process::id()) ^ (origin.elapsed().as_nanos() as u64);
        let bond_cfg = BondConfig {
            name: cfg.name.clone(),
            mac: cfg.mac.map(MacAddr),
            mtu,
            seed,
        };
        let mut bond = Bond::new(Duration::ZERO, cfg.options.clone(), bond_cfg)
            .map_err(|e| RunError(e.to_string()))?;
        for w in bond.take_warnings() {
            log::warn!("bonding: {w}");
        }

        // Members (and ports) with their XDP programs, the TAP, the sockets.
        let all: Vec<&str> = cfg
            .members
            .iter()
            .chain(&cfg.ports)
            .map(String::as_str)
            .collect();
        let host = cfg.host.then(|| HostConfig {
            name: cfg.name.clone(),
            mac: cfg.mac,
            mtu: Some(mtu),
        });
        let mut io = BondIo::open(&all, host.as_ref(), &cfg.xsk, false).map_err(|e| xdp_err(&e))?;
        let workers = io.take_workers();
        let host_ifindex = io.host().map(|(_, i)| i);
        let carrier = match io.host().map(|(n, _)| n.to_string()) {
            // The TAP lives in the workers' queues; a duplicate for the carrier switch.
            Some(name) => Some(
                io.host_carrier()
                    .map_err(|e| RunError(format!("host side {name}: {}", xdp_err(&e))))?,
            ),
            None => None,
        };

        // Members up, as Linux opens a device it enslaves.
        let n = cfg.members.len();
        for i in 0..n {
            if let Some(g) = io.member_guard(i) {
                if !g.original().admin_up {
                    g.set_up(true).map_err(|e| xdp_err(&e))?;
                }
            }
        }
        let ports = io.ports();
        let modes: Vec<String> = ports
            .iter()
            .map(|p| format!("{} {}", p.name(), p.xdp_mode()))
            .collect();
        let bind = workers.first().map(|w| w.bind_mode().to_string());
        log::info!(
            "bond {}: mode {}, {} member(s) [{}], XDP [{}], AF_XDP {} mode, {} worker(s), {} queue(s) per member",
            cfg.name,
            cfg.options.mode(),
            n,
            cfg.members.join(", "),
            modes.join(", "),
            bind.as_deref().unwrap_or("?"),
            workers.len(),
            ports.first().map_or(0, |p| p.queues())
        );

        // The engine learns its members as they are now.
        let mut infos = Vec::with_capacity(n);
        for (i, name) in cfg.members.iter().enumerate() {
            let orig = io
                .member_guard(i)
                .map(|g| g.original().clone())
                .unwrap_or_else(|| links[i].clone());
            let now_link = get_link(orig.ifindex).unwrap_or(orig.clone());
            let detected = ethtool::link_detected(name).unwrap_or(now_link.carrier);
            let carrier = detected && now_link.admin_up;
            let speed = if carrier {
                ethtool::link_speed(name).ok()
            } else {
                None
            };
            let info = hook::link_info(carrier, speed);
            infos.push(info);
            let mc = MemberConfig {
                name: name.clone(),
                mac: MacAddr(orig.mac),
                mtu: orig.mtu,
                link: info,
            };
            bond.add_member(Duration::ZERO, i, mc)
                .map_err(|e| RunError(format!("member {name}: {e}")))?;
            log::info!(
                "{name}: joined as member {i} (MAC {}, MTU {}, carrier {}, {})",
                MacAddr(orig.mac),
                orig.mtu,
                if carrier { "up" } else { "down" },
                speed.map_or("speed unknown".to_string(), |s| format!(
                    "{} Mb/s {:?}",
                    s.speed_mbps.map_or("?".into(), |v| v.to_string()),
                    s.duplex
                ))
            );
        }
        for w in bond.take_warnings() {
            log::warn!("bonding: {w}");
        }
        bond.open(Duration::ZERO);
        if let Some(c) = &carrier {
            // The host side shows the bond's carrier from the start (NO-CARRIER while no
            // member can carry traffic); changes follow as `Carrier` events.
            if let Err(e) = c.set(bond.carrier()) {
                log::warn!("host side carrier: {e}");
            }
        }

        // The host side's multicast groups (IPv6 neighbour discovery, IGMP/MLD joins) must
        // pass the members' receive filters. A kernel bond copies the bond device's
        // multicast list onto its slaves (`bond_set_rx_mode`); here every member accepts all
        // multicast (a NIC filtering in hardware would drop the groups otherwise). veth
        // filters nothing either way.
        let mut allmulti = Vec::with_capacity(n);
        for name in &cfg.members {
            match xdp::MulticastGuard::all(name) {
                Ok(g) => allmulti.push(g),
                Err(e) => log::warn!("{name}: all-multicast mode: {e}"),
            }
        }
        let miimon = bond.options().miimon();
        let poll_interval = cfg
            .carrier_poll
            .unwrap_or(Duration::from_millis(if miimon > 0 {
                miimon.into()
            } else {
                100
            }));
        log::info!(
            "carrier: rtnetlink events, and an ETHTOOL_GLINK check every {} ms",
            poll_interval.as_millis()
        );
        let plan = bond.plan();
        let nports = all.len();
        let control = Control {
            bond,
            devices: Some(Devices {
                promisc: (0..n).map(|_| None).collect(),
                mcast: (0..n).map(|_| Vec::new()).collect(),
                _allmulti: allmulti,
                carrier,
                host_ifindex,
                io,
            }),
            names: cfg.members.clone(),
            lacp_logged: vec![(false, false); n],
        };
        let shared = Arc::new(Shared {
            control: Mutex::new(control),
            plan: PlanCell::new(plan),
            pending: AtomicBool::new(true),
            waker0: OnceLock::new(),
            origin,
            io: Mutex::new(vec![WorkerIo::default(); workers.len()]),
            member_names: cfg.members.clone(),
        });
        let mut workers = workers;
        for w in &mut workers {
            w.set_clock_origin(origin);
        }
        if let Some(w0) = workers.first_mut() {
            let _ = shared.waker0.set(w0.waker());
            if host_ifindex.is_some() {
                w0.watch_addresses().map_err(|e| xdp_err(&e))?;
            }
        }
        debug_assert!(nports >= n);
        Ok(Self {
            shared,
            workers,
            server,
            cfg,
            poll_interval,
            host_ifindex,
            infos,
        })
    }

    /// The hook of worker `k` (worker 0 carries the control plane).
    fn hook(&self, k: usize) -> BondHook {
        let worker = lock(&self.shared.control).bond.new_worker();
        let control = (k == 0).then(|| (self.poll_interval, self.infos.clone(), self.host_ifindex));
        BondHook::new(self.shared.clone(), worker, self.cfg.members.len(), control)
    }

    /// The bond's status: the `/proc/net/bonding` text.
    pub fn status(&self) -> String {
        status_text(&self.shared)
    }

    /// Runs the bond until `stop` is set, then shuts down in order (see the module docs).
    /// A worker that fails stops the bond and its error is returned.
    pub fn run(mut self, stop: &AtomicBool) -> Result<(), RunError> {
        let quit = Arc::new(AtomicBool::new(false));
        let server = match self.server.take() {
            Some(s) => {
                let shared = self.shared.clone();
                let info = preflight::BondInfo {
                    name: self.cfg.name.clone(),
                    pid: std::process::id(),
                    netns: sys::netns_inode().unwrap_or(0),
                    members: self.cfg.members.clone(),
                }
                .to_json();
                let h = s
                    .spawn(quit.clone(), move |req| match req {
                        "status" => status_text(&shared),
                        "status-json" => status_json(&shared).to_string(),
                        "info" => info.clone(),
                        other => {
                            format!("error: unknown request {other:?} (status, status-json, info)")
                        }
                    })
                    .map_err(|e| RunError(format!("control socket thread: {e}")))?;
                Some(h)
            }
            None => None,
        };
        let mut handles: Vec<JoinHandle<Result<(), RunError>>> = Vec::new();
        let workers = std::mem::take(&mut self.workers);
        for (k, mut dp) in workers.into_iter().enumerate() {
            let mut hook = self.hook(k);
            let quit = quit.clone();
            let shared = self.shared.clone();
            let cpu = (!self.cfg.cpus.is_empty()).then(|| self.cfg.cpus[k % self.cfg.cpus.len()]);
            let h = std::thread::Builder::new()
                .name(format!("afxdp-bond-w{k}"))
                .spawn(move || -> Result<(), RunError> {
                    if let Some(cpu) = cpu {
                        match sys::pin_to_cpu(cpu) {
                            Ok(()) => log::info!("worker {k} pinned to CPU {cpu}"),
                            Err(e) => log::warn!("worker {k}: cannot pin to CPU {cpu}: {e}"),
                        }
                    }
                    let r = worker_loop(&mut dp, &mut hook, &quit, &shared, k);
                    publish_io(&shared, k, &dp);
                    r
                })
                .map_err(|e| RunError(format!("worker thread: {e}")))?;
            handles.push(h);
        }
        log::info!("bond {} running", self.cfg.name);
        let mut result = Ok(());
        while !stop.load(Ordering::Relaxed) && handles.iter().all(|h| !h.is_finished()) {
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(sig) = sys::stop_signal() {
            log::info!("signal {sig}: shutting down");
        }
        quit.store(true, Ordering::Relaxed);
        for h in handles {
            match h.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    if result.is_ok() {
                        result = Err(e);
                    }
                }
                Err(_) => {
                    if result.is_ok() {
                        result = Err(RunError("a datapath worker panicked".into()));
                    }
                }
            }
        }
        if let Some(h) = server {
            let _ = h.join();
        }
        self.shutdown();
        result
    }

    /// Takes the bond down and restores the devices (the workers are gone already).
    fn shutdown(&mut self) {
        let now = self.shared.now();
        let devices = {
            let mut c = lock(&self.shared.control);
            c.bond.close(now);
            c.devices.take()
        };
        drop(devices);
        log::info!(
            "bond {} stopped: XDP programs detached, members restored",
            self.cfg.name
        );
    }

    /// Splits the bond into its workers for a program that takes frames itself (the
    /// library API). Worker 0 carries the control plane: call its
    /// [`recv_burst`](BondWorker::recv_burst) (or [`service`](BondWorker::service)) often
    /// (at least every few milliseconds, or sleep in its
    /// [`wait_for_work`](BondWorker::wait_for_work), which wakes for the bond's deadlines).
    /// The devices are restored when the last worker is dropped.
    pub fn into_workers(mut self) -> Vec<BondWorker> {
        let workers = std::mem::take(&mut self.workers);
        let n = self.cfg.members.len();
        let out = workers
            .into_iter()
            .enumerate()
            .map(|(k, dp)| BondWorker::new(dp, self.hook(k), n, self.shared.clone()))
            .collect();
        self.server = None;
        out
    }

    /// The members' names.
    pub fn members(&self) -> &[String] {
        &self.cfg.members
    }

    /// The bond's mode.
    pub fn mode(&self) -> Mode {
        self.cfg.options.mode()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Dropped without running (an error after open, or into_workers): the workers'
        // sockets go first, then the devices when the last reference to them goes.
        self.workers.clear();
    }
}

/// A worker thread: its loop, then (worker 0) the farewell frames, whatever the loop returned.
fn worker_loop(
    dp: &mut Datapath,
    hook: &mut BondHook,
    quit: &AtomicBool,
    shared: &Shared,
    k: usize,
) -> Result<(), RunError> {
    let r = worker_main(dp, hook, quit, shared, k);
    if k == 0 {
        farewell(dp, hook);
    }
    r
}

/// Releases the members and sends their farewell frames (bounded: 50 iterations).
fn farewell(dp: &mut Datapath, hook: &mut BondHook) {
    if hook.release_members(dp.now()) {
        for _ in 0..50 {
            if dp.step(hook).is_err() || !hook.frames_queued() {
                break;
            }
        }
        dp.flush();
        // Copy mode sends inside the kick; let the last completions come back.
        std::thread::sleep(Duration::from_millis(5));
        dp.flush();
        log::info!("members released (farewell LACPDUs sent where the mode has them)");
    }
}

fn worker_main(
    dp: &mut Datapath,
    hook: &mut BondHook,
    quit: &AtomicBool,
    shared: &Shared,
    k: usize,
) -> Result<(), RunError> {
    let mut idle = 0u32;
    let mut next_publish = Duration::ZERO;
    while !quit.load(Ordering::Relaxed) {
        let work = dp.step(hook).map_err(|e| xdp_err(&e))?;
        let now = dp.now();
        if now >= next_publish {
            publish_io(shared, k, dp);
            next_publish = now + Duration::from_secs(1);
        }
        if work > 0 {
            idle = 0;
            continue;
        }
        idle = idle.saturating_add(1);
        if idle > dp.busy_poll() {
            idle = 0;
            let deadline = xdp::DatapathHook::next_deadline(hook)
                .map_or(next_publish, |d| d.min(next_publish));
            dp.wait_for_work(Some(deadline), Duration::from_millis(100))
                .map_err(|e| xdp_err(&e))?;
        }
    }
    Ok(())
}

fn publish_io(shared: &Shared, k: usize, dp: &Datapath) {
    let mut io = lock(&shared.io);
    if let Some(w) = io.get_mut(k) {
        w.stats.clone_from(dp.stats());
        w.bind_mode = dp.bind_mode().to_string();
    }
}

fn status_text(shared: &Shared) -> String {
    lock(&shared.control).bond.status()
}

fn status_json(shared: &Shared) -> serde_json::Value {
    let mut v = lock(&shared.control).bond.status_json();
    let io = lock(&shared.io);
    let workers: Vec<serde_json::Value> = io
        .iter()
        .enumerate()
        .map(|(k, w)| {
            let s = &w.stats;
            serde_json::json!({
                "worker": k,
                "bind_mode": w.bind_mode,
                "members": s.members.iter().enumerate().map(|(i, m)| serde_json::json!({
                    "member": shared.member_names.get(i),
                    "rx_frames": m.rx_frames, "rx_bytes": m.rx_bytes,
                    "tx_frames": m.tx_frames, "tx_bytes": m.tx_bytes,
                    "tx_ring_full": m.tx_ring_full,
                })).collect::<Vec<_>>(),
                "to_host_frames": s.to_host_frames,
                "to_host_dropped": s.to_host_dropped,
                "from_host_frames": s.from_host_frames,
                "from_host_errors": s.from_host_errors,
                "control_frames": s.control_frames,
                "frames_copied": s.frames_copied,
                "pool_empty": s.pool_empty,
                "hook_dropped": s.hook_dropped,
                "hook_consumed": s.hook_consumed,
                "hook_invalid": s.hook_invalid,
                "link_events": s.link_events,
            })
        })
        .collect();
    if let Some(o) = v.as_object_mut() {
        o.insert("io".into(), serde_json::json!({ "workers": workers }));
    }
    v
}
