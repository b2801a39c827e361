//! Datapath workers: AF_XDP sockets over one shared UMEM, the TAP host side, the hook loop
//! and the burst API.

use std::fmt;
use std::io;
use std::num::NonZeroU32;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use xdpilone::xdp::XdpDesc;
use xdpilone::{DeviceQueue, IfInfo, RingRx, RingTx, Socket, SocketConfig, Umem, UmemConfig, User};

use super::bpf::{AttachedMode, MemberXdp, XdpMode};
use super::ethtool;
use super::hook::{DatapathHook, MemberLinkEvent, MemberSet, RxAction, TxAction};
use super::netlink::{LinkMonitor, NetEvent};
use super::sys;
use super::tap::{Tap, TapQueue};
use super::umem::{Area, Frame, FramePool};
use super::{Error, ErrorKind};

/// Largest batch a worker moves per ring per iteration.
const MAX_BATCH: usize = 256;
/// Descriptors per `sendto` kick that the kernel's copy-mode transmit handles
/// (`TX_BATCH_SIZE` in `net/xdp/xsk.c`).
const COPY_TX_PER_KICK: u32 = 32;

/// How AF_XDP sockets are bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BindMode {
    /// `XDP_COPY`: the kernel copies frames between its buffers and the UMEM. Works on every
    /// driver (with native or generic XDP).
    Copy,
    /// `XDP_ZEROCOPY`: the NIC DMAs straight into the UMEM. Needs driver support (not veth).
    ZeroCopy,
    /// Zero-copy, else copy.
    #[default]
    Auto,
}

impl std::str::FromStr for BindMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "copy" => Ok(Self::Copy),
            "zero-copy" | "zerocopy" | "zc" => Ok(Self::ZeroCopy),
            "auto" => Ok(Self::Auto),
            _ => Err(format!(
                "invalid AF_XDP bind mode {s:?}: expected copy, zero-copy or auto"
            )),
        }
    }
}

impl fmt::Display for BindMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Copy => "copy",
            Self::ZeroCopy => "zero-copy",
            Self::Auto => "auto",
        })
    }
}

/// The bind mode in use (never `Auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundMode {
    /// Copy mode.
    Copy,
    /// Zero-copy mode.
    ZeroCopy,
}

impl fmt::Display for BoundMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Copy => "copy",
            Self::ZeroCopy => "zero-copy",
        })
    }
}

/// Configuration of the AF_XDP datapath.
#[derive(Debug, Clone)]
pub struct XskConfig {
    /// How the XDP program attaches.
    pub xdp_mode: XdpMode,
    /// How the sockets bind.
    pub bind_mode: BindMode,
    /// UMEM frame size: 2048 or 4096 (the largest frame is this minus the headroom the
    /// kernel keeps: 4096 carries an MTU up to about 3,800 bytes).
    pub frame_size: u32,
    /// Entries of every RX, TX, fill and completion ring (a power of two).
    pub ring_size: u32,
    /// UMEM frames per worker; 0 picks `sockets * 2 * ring_size + 1024`.
    pub frames: u32,
    /// Frames moved per ring per iteration (at most 256).
    pub batch: u32,
    /// Iterations with no work before the worker sleeps in `ppoll` (`u32::MAX`: never).
    /// Waking up costs latency (tens of microseconds, more on a virtual machine), during
    /// which the RX rings must hold what arrives: at high rates a worker that never sleeps
    /// forwards without loss where a sleeping one drops.
    pub busy_poll: u32,
    /// Queues per member to serve; `None`: every receive queue the NIC has. Queues left out
    /// keep going to the kernel stack (the program passes frames of a queue with no socket).
    pub queues: Option<u32>,
    /// Worker count (at most the smallest queue count of the members).
    pub workers: usize,
}

impl Default for XskConfig {
    fn default() -> Self {
        Self {
            xdp_mode: XdpMode::Auto,
            bind_mode: BindMode::Auto,
            frame_size: 4096,
            ring_size: 2048,
            frames: 0,
            batch: 64,
            busy_poll: 64,
            queues: None,
            workers: 1,
        }
    }
}

/// One member interface, with the XDP redirect program attached.
///
/// The program takes every frame of every served queue, whatever its destination MAC, as
/// far as the driver hands it to XDP: veth does; a physical NIC filters unknown unicast in
/// hardware first, so the owner makes the member promiscuous ([`PromiscGuard`]) or gives it
/// the bond's MAC ([`LinkGuard`]) as the bonding mode requires.
///
/// [`PromiscGuard`]: super::PromiscGuard
/// [`LinkGuard`]: super::LinkGuard
#[derive(Debug)]
pub struct MemberPort {
    name: String,
    ifindex: u32,
    queues: u32,
    xdp: MemberXdp,
}

impl MemberPort {
    /// Attaches the redirect program to `name` (XSKMAP sized for every receive queue).
    /// Fails with [`ErrorKind::Busy`] if the interface has an XDP program already.
    pub fn open(name: &str, cfg: &XskConfig) -> Result<Self, Error> {
        let ifindex = sys::ifindex(name)?;
        let hw_queues = ethtool::rx_queue_count(name);
        let queues = cfg.queues.map_or(hw_queues, |q| q.clamp(1, hw_queues));
        if queues < hw_queues {
            log::warn!(
                "{name}: serving {queues} of {hw_queues} receive queues; frames on the others go to the kernel stack"
            );
        }
        let xdp = MemberXdp::attach(name, hw_queues, cfg.xdp_mode)?;
        Ok(Self {
            name: name.to_string(),
            ifindex,
            queues,
            xdp,
        })
    }

    /// Interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Number of queues served.
    pub fn queues(&self) -> u32 {
        self.queues
    }

    /// XDP mode in use.
    pub fn xdp_mode(&self) -> AttachedMode {
        self.xdp.mode()
    }
}

/// Opens the AF_XDP sockets for every served queue of every member, split over
/// `min(cfg.workers, smallest queue count)` workers. Worker `k` serves queue `q` of each
/// member when `q % workers == k`, so every worker can transmit on every member. If `host`
/// is given it must have one queue per worker (see [`Tap::create`]); worker 0 also owns the
/// rtnetlink [`LinkMonitor`].
pub fn open_workers(
    ports: &[MemberPort],
    cfg: &XskConfig,
    host: Option<Tap>,
) -> Result<Vec<Datapath>, Error> {
    if ports.is_empty() || ports.len() > super::MAX_MEMBERS {
        return Err(Error::new(
            format!(
                "{} members: 1 to {} are supported",
                ports.len(),
                super::MAX_MEMBERS
            ),
            io::Error::from_raw_os_error(libc::EINVAL),
        ));
    }
    let min_q = ports.iter().map(|p| p.queues).min().unwrap_or(1) as usize;
    let workers = cfg.workers.clamp(1, min_q);
    if workers < cfg.workers {
        log::warn!(
            "{} workers asked, {workers} used: a member has only {min_q} queue(s)",
            cfg.workers
        );
    }
    let mut host_queues: Vec<Option<TapQueue>> = match host {
        Some(tap) => {
            if tap.queue_count() != workers {
                return Err(Error::new(
                    format!(
                        "TAP {} has {} queue(s) for {workers} worker(s)",
                        tap.name(),
                        tap.queue_count()
                    ),
                    io::Error::from_raw_os_error(libc::EINVAL),
                ));
            }
            tap.into_queues().into_iter().map(Some).collect()
        }
        None => (0..workers).map(|_| None).collect(),
    };
    let mut out = Vec::with_capacity(workers);
    for (k, host) in host_queues.iter_mut().enumerate() {
        let queues: Vec<Vec<u32>> = ports
            .iter()
            .map(|p| {
                (0..p.queues)
                    .filter(|q| *q as usize % workers == k)
                    .collect()
            })
            .collect();
        out.push(Datapath::new(ports, &queues, cfg, host.take(), k == 0)?);
    }
    Ok(out)
}

/// A received frame and the member it came from.
#[derive(Debug)]
pub struct RxFrame {
    /// Member index (position in the `ports` slice given at creation).
    pub member: usize,
    /// The frame.
    pub frame: Frame,
}

/// Counters of one member, as seen by one worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberCounters {
    /// Frames taken off the member's RX rings.
    pub rx_frames: u64,
    /// Bytes of those frames.
    pub rx_bytes: u64,
    /// Frames put on the member's TX rings.
    pub tx_frames: u64,
    /// Bytes of those frames.
    pub tx_bytes: u64,
    /// Frames dropped because the member's TX ring stayed full.
    pub tx_ring_full: u64,
}

/// Counters of one worker (all plain `u64`, summed by the caller across workers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatapathStats {
    /// Per member.
    pub members: Vec<MemberCounters>,
    /// Frames written to the host side.
    pub to_host_frames: u64,
    /// Frames the host side could not take (TAP queue full, write error, no host side).
    pub to_host_dropped: u64,
    /// Frames read from the host side.
    pub from_host_frames: u64,
    /// Read errors on the host side.
    pub from_host_errors: u64,
    /// Control frames the hook injected.
    pub control_frames: u64,
    /// Copies made for frames sent on several members.
    pub frames_copied: u64,
    /// Times a frame was needed and the pool was empty.
    pub pool_empty: u64,
    /// Frames the hook dropped.
    pub hook_dropped: u64,
    /// Frames the hook consumed.
    pub hook_consumed: u64,
    /// Actions naming a member that does not exist, or control frames with a bad length.
    pub hook_invalid: u64,
    /// RX descriptors outside the UMEM (a kernel bug if ever non-zero).
    pub rx_invalid_desc: u64,
    /// Link events delivered to the hook.
    pub link_events: u64,
}

/// The kernel's own counters of a worker's sockets (`XDP_STATISTICS`), summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelXskStats {
    /// Frames dropped for reasons other than an empty fill ring.
    pub rx_dropped: u64,
    /// Invalid descriptors on RX.
    pub rx_invalid_descs: u64,
    /// Invalid descriptors on TX.
    pub tx_invalid_descs: u64,
    /// Frames dropped because the RX ring was full.
    pub rx_ring_full: u64,
    /// Frames dropped because the fill ring was empty.
    pub rx_fill_ring_empty_descs: u64,
    /// Times the TX ring was found empty.
    pub tx_ring_empty_descs: u64,
}

/// One AF_XDP socket: a (member, queue) with its four rings.
struct Xsk {
    member: usize,
    queue: u32,
    rx: RingRx,
    tx: RingTx,
    fq: DeviceQueue,
    user: User,
    /// Descriptors waiting for the next TX flush (capacity fixed at creation).
    stage: Vec<XdpDesc>,
    /// Consecutive copy-mode kicks that consumed nothing (the device went away or down).
    stalled: u32,
}

impl fmt::Debug for Xsk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Xsk")
            .field("member", &self.member)
            .field("queue", &self.queue)
            .field("fd", &self.user.as_raw_fd())
            .finish_non_exhaustive()
    }
}

/// `xdpilone::Umem` with the `Send` its raw pointer hides.
struct UmemBox(#[expect(dead_code, reason = "held for the UMEM registration it owns")] Umem);

// SAFETY: `Umem` holds a pointer to the worker's `Area` (moved together with it, see
// `Area`'s Send), a reference-counted socket fd and a `Send + Sync` device registry; none of
// it is tied to the creating thread.
unsafe impl Send for UmemBox {}

struct Member {
    name: String,
    ifindex: u32,
    /// Index in `xsks` of the socket used to transmit on this member.
    tx_xsk: usize,
}

fn xerr(context: impl Into<String>, e: xdpilone::Errno) -> Error {
    Error::new(context, io::Error::from_raw_os_error(e.get_raw().abs()))
}

/// One datapath worker. See the [module docs](super) for the frame ownership model.
pub struct Datapath {
    // Field order is drop order: sockets, then the UMEM registration, then the memory.
    xsks: Vec<Xsk>,
    _umem: UmemBox,
    host: Option<TapQueue>,
    links: Option<LinkMonitor>,
    members: Vec<Member>,
    pool: FramePool,
    stats: DatapathStats,
    origin: Instant,
    batch: usize,
    busy_poll: u32,
    mode: BoundMode,
    pollfds: Vec<sys::PollFd>,
    waker: Arc<OwnedFd>,
    rx_cursor: usize,
    area: Area,
}

/// Wakes a [`Datapath`] sleeping in [`wait_for_work`](Datapath::wait_for_work) (an
/// `eventfd` in its poll set), from any thread: e.g. another worker that handed the control
/// plane a frame whose answer worker 0 must send now, not at its next deadline.
#[derive(Debug, Clone)]
pub struct Waker(Arc<OwnedFd>);

impl Waker {
    /// Wakes the worker (cheap; a no-op if it is awake).
    pub fn wake(&self) {
        sys::eventfd_signal(self.0.as_raw_fd());
    }
}

impl fmt::Debug for Datapath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Datapath")
            .field("xsks", &self.xsks)
            .field("mode", &self.mode)
            .field("free_frames", &self.pool.len())
            .finish_non_exhaustive()
    }
}

impl Datapath {
    /// One worker serving `queues[i]` of `ports[i]` for every member `i`, all over one UMEM.
    /// Most callers use [`open_workers`].
    pub fn new(
        ports: &[MemberPort],
        queues: &[Vec<u32>],
        cfg: &XskConfig,
        host: Option<TapQueue>,
        link_monitor: bool,
    ) -> Result<Self, Error> {
        if queues.len() != ports.len() || queues.iter().any(Vec::is_empty) {
            return Err(Error::new(
                "every member needs at least one queue in every worker",
                io::Error::from_raw_os_error(libc::EINVAL),
            ));
        }
        if !cfg.ring_size.is_power_of_two() || cfg.ring_size < 64 {
            return Err(Error::new(
                format!("ring size {}: must be a power of two >= 64", cfg.ring_size),
                io::Error::from_raw_os_error(libc::EINVAL),
            ));
        }
        let sockets: usize = queues.iter().map(Vec::len).sum();
        let frames = if cfg.frames == 0 {
            sockets as u32 * 2 * cfg.ring_size + 1024
        } else {
            cfg.frames
        };
        let area = Area::new(frames, cfg.frame_size)?;
        let batch = (cfg.batch as usize).clamp(1, MAX_BATCH);

        let order: &[BoundMode] = match cfg.bind_mode {
            BindMode::Copy => &[BoundMode::Copy],
            BindMode::ZeroCopy => &[BoundMode::ZeroCopy],
            BindMode::Auto => &[BoundMode::ZeroCopy, BoundMode::Copy],
        };
        let mut last_err = None;
        let mut bound = None;
        for (i, &mode) in order.iter().enumerate() {
            match bind_all(&area, ports, queues, cfg, mode, batch) {
                Ok(b) => {
                    bound = Some((b, mode));
                    break;
                }
                Err(e) if i + 1 < order.len() => {
                    log::info!(
                        "AF_XDP: zero-copy refused ({e}); binding every socket of this worker in copy mode"
                    );
                    last_err = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        let ((umem, xsks), mode) = match bound {
            Some(b) => b,
            None => {
                return Err(last_err.unwrap_or_else(|| {
                    Error::new("AF_XDP bind", io::Error::from_raw_os_error(libc::EINVAL))
                }));
            }
        };

        let mut members = Vec::with_capacity(ports.len());
        for (i, p) in ports.iter().enumerate() {
            let tx_xsk = xsks.iter().position(|x| x.member == i).unwrap_or(0);
            members.push(Member {
                name: p.name.clone(),
                ifindex: p.ifindex,
                tx_xsk,
            });
        }
        let desc: Vec<String> = xsks
            .iter()
            .map(|x| format!("{}/q{}", ports[x.member].name, x.queue))
            .collect();
        log::info!(
            "AF_XDP: {} socket(s) [{}] bound in {mode} mode (requested {}), one shared UMEM of {} x {} B frames",
            xsks.len(),
            desc.join(", "),
            cfg.bind_mode,
            area.frame_count(),
            area.frame_size()
        );

        let links = if link_monitor {
            Some(LinkMonitor::new()?)
        } else {
            None
        };
        let mut pollfds: Vec<sys::PollFd> = xsks
            .iter()
            .map(|x| sys::pollfd(x.user.as_raw_fd(), libc::POLLIN))
            .collect();
        if let Some(h) = &host {
            pollfds.push(sys::pollfd(h.as_raw_fd(), libc::POLLIN));
        }
        if let Some(l) = &links {
            pollfds.push(sys::pollfd(l.as_raw_fd(), libc::POLLIN));
        }
        let waker = Arc::new(sys::eventfd().map_err(|e| Error::new("eventfd", e))?);
        pollfds.push(sys::pollfd(waker.as_raw_fd(), libc::POLLIN));
        let pool = FramePool::new(&area);
        let mut dp = Self {
            xsks,
            _umem: umem,
            host,
            links,
            stats: DatapathStats {
                members: vec![MemberCounters::default(); ports.len()],
                ..DatapathStats::default()
            },
            members,
            pool,
            origin: Instant::now(),
            batch,
            busy_poll: cfg.busy_poll,
            mode,
            pollfds,
            waker,
            rx_cursor: 0,
            area,
        };
        dp.refill(usize::MAX);
        Ok(dp)
    }

    /// A handle that wakes this worker from another thread.
    pub fn waker(&self) -> Waker {
        Waker(self.waker.clone())
    }

    /// Also reports the IPv4/IPv6 address changes of every interface to the hook
    /// ([`DatapathHook::on_address_event`]), starting with every current address. Only the
    /// worker that owns the link monitor (worker 0) can; an error otherwise.
    pub fn watch_addresses(&mut self) -> Result<(), Error> {
        match self.links.as_mut() {
            Some(l) => l.watch_addresses(),
            None => Err(Error::new(
                "watch_addresses: this worker has no link monitor (only worker 0 has)",
                io::Error::from_raw_os_error(libc::EINVAL),
            )),
        }
    }

    /// The bind mode chosen.
    pub fn bind_mode(&self) -> BoundMode {
        self.mode
    }

    /// Number of members.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Name of member `member`.
    pub fn member_name(&self, member: usize) -> Option<&str> {
        self.members.get(member).map(|m| m.name.as_str())
    }

    /// Counters of this worker.
    pub fn stats(&self) -> &DatapathStats {
        &self.stats
    }

    /// Idle iterations before the worker sleeps ([`XskConfig::busy_poll`]).
    pub fn busy_poll(&self) -> u32 {
        self.busy_poll
    }

    /// Frames in the free pool now.
    pub fn free_frames(&self) -> usize {
        self.pool.len()
    }

    /// The kernel's counters for this worker's sockets, summed.
    pub fn kernel_stats(&self) -> KernelXskStats {
        let mut s = KernelXskStats::default();
        for x in &self.xsks {
            if let Ok(k) = x.user.statistics_v2() {
                s.rx_dropped += k.rx_dropped;
                s.rx_invalid_descs += k.rx_invalid_descs;
                s.tx_invalid_descs += k.tx_invalid_descs;
                s.rx_ring_full += k.rx_ring_full;
                s.rx_fill_ring_empty_descs += k.rx_fill_ring_empty_descs;
                s.tx_ring_empty_descs += k.tx_ring_empty_descs;
            }
        }
        s
    }

    /// Sets the origin of the worker's clock (`now` = time since `origin`), so that several
    /// workers and the engine share one clock.
    pub fn set_clock_origin(&mut self, origin: Instant) {
        self.origin = origin;
    }

    /// The worker's `now`.
    pub fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    // ----- hook-driven operation -----

    /// Runs the worker until `stop` is set: [`step`](Self::step) while there is work, a few
    /// idle spins, then a sleep in `ppoll` bounded by the hook's next deadline (and 100 ms,
    /// so `stop` is seen).
    pub fn run<H: DatapathHook>(&mut self, hook: &mut H, stop: &AtomicBool) -> Result<(), Error> {
        let mut idle = 0u32;
        while !stop.load(Ordering::Relaxed) {
            if self.step(hook)? > 0 {
                idle = 0;
                continue;
            }
            idle = idle.saturating_add(1);
            if idle > self.busy_poll {
                idle = 0;
                self.wait_for_work(hook.next_deadline(), Duration::from_millis(100))?;
            }
        }
        Ok(())
    }

    /// One iteration (see [`DatapathHook`] for the order). Returns the number of frames and
    /// events handled; zero means there was nothing to do.
    pub fn step<H: DatapathHook>(&mut self, hook: &mut H) -> Result<usize, Error> {
        let mut work = 0;
        let now = self.now();
        work += self.poll_links(hook, now)?;
        if hook.next_deadline().is_some_and(|d| now >= d) {
            hook.on_deadline(now);
            work += 1;
        }
        work += self.control_frames(hook, now);
        work += self.member_rx(hook, now);
        work += self.host_rx(hook, now);
        self.flush();
        Ok(work)
    }

    /// The control part of one iteration, without touching the RX rings or the host side:
    /// link and address events, the hook's deadline, its control frames (steps 1 to 3 of
    /// [`DatapathHook`]'s order). For programs that take frames themselves with the burst
    /// API while a hook runs the control plane. Returns the work done.
    pub fn service<H: DatapathHook>(&mut self, hook: &mut H) -> Result<usize, Error> {
        let now = self.now();
        let mut work = self.poll_links(hook, now)?;
        if hook.next_deadline().is_some_and(|d| now >= d) {
            hook.on_deadline(now);
            work += 1;
        }
        work += self.control_frames(hook, now);
        Ok(work)
    }

    fn poll_links<H: DatapathHook>(&mut self, hook: &mut H, now: Duration) -> Result<usize, Error> {
        let Some(links) = self.links.as_mut() else {
            return Ok(0);
        };
        let members = &self.members;
        let stats = &mut self.stats;
        links.poll_events(|event| match event {
            NetEvent::Link(state) => {
                if let Some(m) = members.iter().position(|m| m.ifindex == state.ifindex) {
                    let speed = if state.is_usable() {
                        ethtool::link_speed(&members[m].name).ok()
                    } else {
                        None
                    };
                    stats.link_events += 1;
                    hook.on_link_event(now, m, &MemberLinkEvent { state, speed });
                } else {
                    hook.on_other_link_event(now, &state);
                }
            }
            NetEvent::Address(change) => hook.on_address_event(now, &change),
        })
    }

    fn control_frames<H: DatapathHook>(&mut self, hook: &mut H, now: Duration) -> usize {
        let mut n = 0;
        let fs = self.area.frame_size();
        for _ in 0..self.batch {
            let Some(base) = self.pool.pop() else {
                self.stats.pool_empty += 1;
                break;
            };
            // SAFETY: `base` came off the free pool, so this worker owns the whole frame and
            // nothing else refers to it; `[base, base + frame_size)` is inside the area.
            let buf = unsafe { self.area.bytes_mut(base, fs) };
            match hook.poll_control_frame(now, buf) {
                Some(cf)
                    if cf.member < self.members.len() && (14..=fs as usize).contains(&cf.len) =>
                {
                    self.stats.control_frames += 1;
                    n += 1;
                    self.stage(
                        cf.member,
                        XdpDesc {
                            addr: base,
                            len: cf.len as u32,
                            options: 0,
                        },
                    );
                }
                Some(_) => {
                    self.stats.hook_invalid += 1;
                    self.pool.push(base);
                }
                None => {
                    self.pool.push(base);
                    break;
                }
            }
        }
        n
    }

    /// Takes up to `batch` descriptors off socket `i`'s RX ring into `out`.
    fn take_rx(&mut self, i: usize, out: &mut [XdpDesc]) -> usize {
        let x = &mut self.xsks[i];
        let mut r = x.rx.receive(out.len() as u32);
        let mut n = 0;
        while n < out.len() {
            match r.read() {
                Some(d) => {
                    out[n] = d;
                    n += 1;
                }
                None => break,
            }
        }
        r.release();
        n
    }

    fn member_rx<H: DatapathHook>(&mut self, hook: &mut H, now: Duration) -> usize {
        let mut descs = [XdpDesc {
            addr: 0,
            len: 0,
            options: 0,
        }; MAX_BATCH];
        let mut total = 0;
        for i in 0..self.xsks.len() {
            let n = self.take_rx(i, &mut descs[..self.batch]);
            let member = self.xsks[i].member;
            for d in &descs[..n] {
                if !self.area.valid(d.addr, d.len) {
                    self.stats.rx_invalid_desc += 1;
                    continue;
                }
                let c = &mut self.stats.members[member];
                c.rx_frames += 1;
                c.rx_bytes += u64::from(d.len);
                // SAFETY: the descriptor was just taken off the RX ring, so the kernel is done
                // with the frame and this worker owns it; the range was checked above.
                let data = unsafe { self.area.bytes_mut(d.addr, d.len) };
                match hook.on_member_rx(now, member, data) {
                    RxAction::DeliverToHost => self.deliver_to_host(*d),
                    RxAction::Forward(m) if m < self.members.len() => self.stage(m, *d),
                    RxAction::ForwardMany(set) => self.fan_out(set, *d),
                    RxAction::Drop => {
                        self.stats.hook_dropped += 1;
                        self.free_desc(d);
                    }
                    RxAction::Consume => {
                        self.stats.hook_consumed += 1;
                        self.free_desc(d);
                    }
                    RxAction::Forward(_) => {
                        self.stats.hook_invalid += 1;
                        self.free_desc(d);
                    }
                }
            }
            total += n;
        }
        total
    }

    fn host_rx<H: DatapathHook>(&mut self, hook: &mut H, now: Duration) -> usize {
        let mut n = 0;
        for _ in 0..self.batch {
            let Some((base, len)) = self.read_host_frame() else {
                break;
            };
            n += 1;
            // SAFETY: the frame came off the free pool in `read_host_frame`; this worker owns
            // it and `len` bytes of it were just written by `read`.
            let data = unsafe { self.area.bytes_mut(base, len) };
            let d = XdpDesc {
                addr: base,
                len,
                options: 0,
            };
            match hook.on_host_tx(now, data) {
                TxAction::Send(m) if m < self.members.len() => self.stage(m, d),
                TxAction::SendMany(set) => self.fan_out(set, d),
                TxAction::Drop => {
                    self.stats.hook_dropped += 1;
                    self.free_desc(&d);
                }
                TxAction::Send(_) => {
                    self.stats.hook_invalid += 1;
                    self.free_desc(&d);
                }
            }
        }
        n
    }

    /// Reads one frame from the host side into a pool frame.
    fn read_host_frame(&mut self) -> Option<(u64, u32)> {
        let host = self.host.as_ref()?;
        let Some(base) = self.pool.pop() else {
            self.stats.pool_empty += 1;
            return None;
        };
        // SAFETY: `base` came off the free pool: this worker owns the whole frame.
        let buf = unsafe { self.area.bytes_mut(base, self.area.frame_size()) };
        match host.recv(buf) {
            Ok(Some(len)) if len > 0 => {
                self.stats.from_host_frames += 1;
                Some((base, len as u32))
            }
            Ok(_) => {
                self.pool.push(base);
                None
            }
            Err(e) => {
                log::debug!("host side read: {e}");
                self.stats.from_host_errors += 1;
                self.pool.push(base);
                None
            }
        }
    }

    fn free_desc(&mut self, d: &XdpDesc) {
        self.pool.push(self.area.base(d.addr));
    }

    /// Writes the frame to the host side (one copy in the kernel) and frees it.
    fn deliver_to_host(&mut self, d: XdpDesc) {
        match &self.host {
            Some(h) => {
                // SAFETY: the caller owns the frame (taken off an RX ring or the pool).
                let data = unsafe { self.area.bytes_mut(d.addr, d.len) };
                match h.send(data) {
                    Ok(true) => self.stats.to_host_frames += 1,
                    Ok(false) => self.stats.to_host_dropped += 1,
                    Err(e) => {
                        log::debug!("host side write: {e}");
                        self.stats.to_host_dropped += 1;
                    }
                }
            }
            None => self.stats.to_host_dropped += 1,
        }
        self.free_desc(&d);
    }

    /// Sends `d` on every member of `set`: copies for all but the first, made before the
    /// original is queued.
    fn fan_out(&mut self, set: MemberSet, d: XdpDesc) {
        let mut primary = None;
        for m in set.iter() {
            if m >= self.members.len() {
                self.stats.hook_invalid += 1;
                continue;
            }
            if primary.is_none() {
                primary = Some(m);
                continue;
            }
            let Some(base) = self.pool.pop() else {
                self.stats.pool_empty += 1;
                continue;
            };
            // SAFETY: `d` is owned by the caller and `base` is a different frame just taken
            // off the pool, so the two ranges do not overlap and nothing else refers to them.
            let (src, dst) = unsafe {
                (
                    self.area.bytes_mut(d.addr, d.len),
                    self.area.bytes_mut(base, d.len),
                )
            };
            dst.copy_from_slice(src);
            self.stats.frames_copied += 1;
            self.stage(
                m,
                XdpDesc {
                    addr: base,
                    len: d.len,
                    options: 0,
                },
            );
        }
        match primary {
            Some(m) => self.stage(m, d),
            None => self.free_desc(&d),
        }
    }

    /// Queues `d` for transmission on `member` (flushed at the end of the iteration, or now
    /// if the staging area is full; dropped if the TX ring stays full).
    fn stage(&mut self, member: usize, d: XdpDesc) {
        let j = self.members[member].tx_xsk;
        if self.xsks[j].stage.len() == self.xsks[j].stage.capacity() {
            self.flush_xsk(j);
            if self.xsks[j].stage.len() == self.xsks[j].stage.capacity() {
                self.stats.members[member].tx_ring_full += 1;
                self.free_desc(&d);
                return;
            }
        }
        self.xsks[j].stage.push(d);
    }

    /// Moves the staged descriptors of socket `j` onto its TX ring and kicks the kernel.
    fn flush_xsk(&mut self, j: usize) {
        let x = &mut self.xsks[j];
        if !x.stage.is_empty() {
            let mut w = x.tx.transmit(x.stage.len() as u32);
            let cap = w.capacity() as usize;
            let n = w.insert(x.stage.iter().take(cap).copied()) as usize;
            w.commit();
            drop(w);
            let c = &mut self.stats.members[x.member];
            for d in &x.stage[..n] {
                c.tx_frames += 1;
                c.tx_bytes += u64::from(d.len);
            }
            x.stage.drain(..n);
        }
        Self::kick(x, self.mode);
    }

    fn kick(x: &mut Xsk, mode: BoundMode) {
        let pending = x.tx.pending();
        if pending == 0 {
            return;
        }
        match mode {
            // Copy mode transmits inside sendto(), at most 32 descriptors per call.
            BoundMode::Copy => {
                let kicks = pending.div_ceil(COPY_TX_PER_KICK).min(16);
                for _ in 0..kicks {
                    x.tx.wake();
                    if x.tx.pending() == 0 {
                        break;
                    }
                }
                // Copy mode consumes inside sendto(): no progress means the device is gone
                // or down, and short polls would only burn CPU until it is back.
                if x.tx.pending() == pending {
                    x.stalled = x.stalled.saturating_add(1);
                } else {
                    x.stalled = 0;
                }
            }
            BoundMode::ZeroCopy => {
                if x.tx.needs_wakeup() {
                    x.tx.wake();
                }
            }
        }
    }

    /// Returns completed TX frames to the pool.
    fn reap(&mut self) {
        let Self {
            xsks, pool, area, ..
        } = self;
        for x in xsks.iter_mut() {
            let mut r = x.fq.complete(u32::MAX);
            while let Some(addr) = r.read() {
                pool.push(area.base(addr));
            }
            r.release();
        }
    }

    /// Tops up every fill ring from the pool, at most `per_ring` frames each.
    fn refill(&mut self, per_ring: usize) {
        let Self {
            xsks, pool, mode, ..
        } = self;
        for x in xsks.iter_mut() {
            // Zero-copy drivers stop pulling from an empty fill ring until woken; copy mode
            // reads the fill ring in the receive path and needs no wake-up.
            if *mode == BoundMode::ZeroCopy && x.fq.needs_wakeup() {
                x.fq.wake();
            }
            let want = pool.len().min(per_ring) as u32;
            if want == 0 {
                break;
            }
            let mut w = x.fq.fill(want);
            let cap = w.capacity();
            let mut k = 0;
            while k < cap {
                let Some(base) = pool.pop() else { break };
                if !w.insert_once(base) {
                    pool.push(base);
                    break;
                }
                k += 1;
            }
            w.commit();
        }
    }

    /// Flushes every staged TX descriptor, kicks the kernel, reaps completions and refills
    /// the fill rings. The burst API's "end of batch"; `step` calls it too.
    pub fn flush(&mut self) {
        for j in 0..self.xsks.len() {
            self.flush_xsk(j);
        }
        self.reap();
        self.refill(self.batch * 4);
    }

    /// Sleeps until a socket, the host side or the link monitor is readable, `deadline` (on
    /// the worker's clock) comes, or `max` has passed.
    pub fn wait_for_work(
        &mut self,
        deadline: Option<Duration>,
        max: Duration,
    ) -> Result<(), Error> {
        let now = self.now();
        let mut timeout = deadline.map_or(max, |d| d.saturating_sub(now).min(max));
        let staged = self
            .xsks
            .iter()
            .any(|x| x.stalled < 64 && (!x.stage.is_empty() || x.tx.pending() > 0));
        if staged {
            // Frames wait for TX ring room or completions: come back soon.
            timeout = timeout.min(Duration::from_micros(200));
        }
        for p in &mut self.pollfds {
            p.revents = 0;
        }
        sys::ppoll(&mut self.pollfds, Some(timeout)).map_err(|e| Error::new("ppoll", e))?;
        if self.pollfds.last().is_some_and(|p| p.revents != 0) {
            sys::eventfd_drain(self.waker.as_raw_fd());
        }
        Ok(())
    }

    // ----- burst API for programs that take frames themselves -----

    /// Receives up to `out`'s spare capacity (and at most one batch per socket) of frames from
    /// the members, appending to `out` (which does not grow: reserve capacity once).
    /// Returns the number appended.
    pub fn recv_burst(&mut self, out: &mut Vec<RxFrame>) -> usize {
        self.recv_burst_limit(out, usize::MAX)
    }

    /// [`recv_burst`](Self::recv_burst), receiving at most `limit` frames.
    pub fn recv_burst_limit(&mut self, out: &mut Vec<RxFrame>, limit: usize) -> usize {
        let mut descs = [XdpDesc {
            addr: 0,
            len: 0,
            options: 0,
        }; MAX_BATCH];
        let mut total = 0;
        let count = self.xsks.len();
        for k in 0..count {
            let room = (out.capacity() - out.len()).min(limit - total);
            if room == 0 {
                break;
            }
            let i = (self.rx_cursor + k) % count;
            let n = self.take_rx(i, &mut descs[..room.min(self.batch)]);
            let member = self.xsks[i].member;
            for d in &descs[..n] {
                if !self.area.valid(d.addr, d.len) {
                    self.stats.rx_invalid_desc += 1;
                    continue;
                }
                let c = &mut self.stats.members[member];
                c.rx_frames += 1;
                c.rx_bytes += u64::from(d.len);
                out.push(RxFrame {
                    member,
                    frame: Frame {
                        addr: d.addr,
                        len: d.len,
                        umem: self.area.id(),
                    },
                });
                total += 1;
            }
        }
        self.rx_cursor = (self.rx_cursor + 1) % count.max(1);
        total
    }

    fn check(&self, f: &Frame) {
        assert_eq!(
            f.umem,
            self.area.id(),
            "Frame used with a Datapath that did not create it"
        );
    }

    /// Queues `frame` for transmission on `member` (sent at the next [`flush`](Self::flush),
    /// or earlier if a batch fills up). Gives the frame back if `member` does not exist.
    pub fn send(&mut self, member: usize, frame: Frame) -> Result<(), Frame> {
        self.check(&frame);
        if member >= self.members.len() {
            return Err(frame);
        }
        self.stage(
            member,
            XdpDesc {
                addr: frame.addr,
                len: frame.len,
                options: 0,
            },
        );
        Ok(())
    }

    /// Sends `frame` on every member of `set` (copies for all but the first).
    pub fn send_many(&mut self, set: MemberSet, frame: Frame) {
        self.check(&frame);
        self.fan_out(
            set,
            XdpDesc {
                addr: frame.addr,
                len: frame.len,
                options: 0,
            },
        );
    }

    /// Writes `frame` to the host side (TAP) and frees it.
    pub fn send_to_host(&mut self, frame: Frame) {
        self.check(&frame);
        self.deliver_to_host(XdpDesc {
            addr: frame.addr,
            len: frame.len,
            options: 0,
        });
    }

    /// Reads one frame the host side sent, if any.
    pub fn recv_from_host(&mut self) -> Option<Frame> {
        let (addr, len) = self.read_host_frame()?;
        Some(Frame {
            addr,
            len,
            umem: self.area.id(),
        })
    }

    /// A free frame of length 0 to write into (see [`buf_mut`](Self::buf_mut)).
    pub fn alloc(&mut self) -> Option<Frame> {
        match self.pool.pop() {
            Some(addr) => Some(Frame {
                addr,
                len: 0,
                umem: self.area.id(),
            }),
            None => {
                self.stats.pool_empty += 1;
                None
            }
        }
    }

    /// A copy of `frame` in a fresh frame.
    pub fn copy_frame(&mut self, frame: &Frame) -> Option<Frame> {
        self.check(frame);
        let mut new = self.alloc()?;
        new.len = frame.len;
        let src = self.data(frame);
        // SAFETY: `new` came off the pool and is a different frame from `frame`, so the
        // ranges do not overlap; this worker owns `new`.
        let dst = unsafe { self.area.bytes_mut(new.addr, new.len) };
        dst.copy_from_slice(src);
        self.stats.frames_copied += 1;
        Some(new)
    }

    /// Gives `frame` back to the pool.
    pub fn release(&mut self, frame: Frame) {
        self.check(&frame);
        self.pool.push(self.area.base(frame.addr));
    }

    /// The bytes of `frame`.
    pub fn data<'a>(&'a self, frame: &'a Frame) -> &'a [u8] {
        self.check(frame);
        // SAFETY: a `Frame` is the unique handle of its UMEM frame (not Clone, made only by
        // this worker, checked above); the shared borrow of the handle forbids a mutable view
        // of the same bytes while this one lives; the range is inside the area.
        unsafe { self.area.bytes_mut(frame.addr, frame.len) }
    }

    /// The bytes of `frame`, writable.
    pub fn data_mut<'a>(&'a self, frame: &'a mut Frame) -> &'a mut [u8] {
        self.check(frame);
        // SAFETY: as in `data`; the exclusive borrow of the unique handle makes this the only
        // view of those bytes.
        unsafe { self.area.bytes_mut(frame.addr, frame.len) }
    }

    /// The whole writable room of `frame` (from its start to the end of its UMEM frame);
    /// write the frame there, then [`set_len`](Self::set_len).
    pub fn buf_mut<'a>(&'a self, frame: &'a mut Frame) -> &'a mut [u8] {
        self.check(frame);
        let room = self.area.base(frame.addr) + u64::from(self.area.frame_size()) - frame.addr;
        // SAFETY: as in `data_mut`; the range ends at the end of the frame's own chunk.
        unsafe { self.area.bytes_mut(frame.addr, room as u32) }
    }

    /// Sets the length of `frame`; `false` (and no change) if it does not fit.
    pub fn set_len(&self, frame: &mut Frame, len: usize) -> bool {
        self.check(frame);
        if len > u32::MAX as usize || !self.area.valid(frame.addr, len as u32) {
            return false;
        }
        frame.len = len as u32;
        true
    }
}

/// Binds a socket for every (member, queue) of a worker in `mode`, all on one UMEM over
/// `area`, and puts each in its member's XSKMAP.
fn bind_all(
    area: &Area,
    ports: &[MemberPort],
    queues: &[Vec<u32>],
    cfg: &XskConfig,
    mode: BoundMode,
    batch: usize,
) -> Result<(UmemBox, Vec<Xsk>), Error> {
    let ucfg = UmemConfig {
        fill_size: cfg.ring_size,
        complete_size: cfg.ring_size,
        frame_size: area.frame_size(),
        headroom: 0,
        flags: 0,
    };
    // SAFETY: the area is a page-aligned anonymous mapping of exactly this length that
    // outlives the Umem (the worker drops sockets and Umem before the area).
    let umem = unsafe { Umem::new(ucfg, area.as_slice_ptr()) }
        .map_err(|e| xerr("AF_XDP: UMEM registration (XDP_UMEM_REG)", e))?;
    let mut xsks = Vec::new();
    for (member, (port, qs)) in ports.iter().zip(queues).enumerate() {
        for &q in qs {
            let what = format!("AF_XDP socket on {} queue {q}", port.name);
            let mut info = IfInfo::invalid();
            info.from_ifindex(port.ifindex)
                .map_err(|e| xerr(what.clone(), e))?;
            info.set_queue(q);
            let first = xsks.is_empty();
            let sock = if first {
                Socket::with_shared(&info, &umem)
            } else {
                Socket::new(&info)
            }
            .map_err(|e| xerr(format!("{what}: socket(AF_XDP)"), e))?;
            let fq = umem
                .fq_cq(&sock)
                .map_err(|e| xerr(format!("{what}: fill/completion rings"), e))?;
            // A socket that shares the UMEM of another may pass no mode flags: it inherits
            // the first socket's copy/zero-copy mode and need-wakeup setting.
            let bind_flags = if first {
                SocketConfig::XDP_BIND_NEED_WAKEUP
                    | match mode {
                        BoundMode::Copy => SocketConfig::XDP_BIND_COPY,
                        BoundMode::ZeroCopy => SocketConfig::XDP_BIND_ZEROCOPY,
                    }
            } else {
                0
            };
            let user = umem
                .rx_tx(
                    &sock,
                    &SocketConfig {
                        rx_size: NonZeroU32::new(cfg.ring_size),
                        tx_size: NonZeroU32::new(cfg.ring_size),
                        bind_flags,
                    },
                )
                .map_err(|e| xerr(format!("{what}: RX/TX rings"), e))?;
            let rx = user
                .map_rx()
                .map_err(|e| xerr(format!("{what}: mmap RX"), e))?;
            let tx = user
                .map_tx()
                .map_err(|e| xerr(format!("{what}: mmap TX"), e))?;
            bind_retry(&umem, &user, &what, mode)?;
            port.xdp.map().insert(q, user.as_raw_fd())?;
            xsks.push(Xsk {
                member,
                queue: q,
                rx,
                tx,
                fq,
                user,
                stage: Vec::with_capacity(batch * 2),
                stalled: 0,
            });
        }
    }
    Ok((UmemBox(umem), xsks))
}

/// `bind` with a bounded retry on `EBUSY`: right after a socket on the same queue closed,
/// the kernel may still hold the queue for about a second.
fn bind_retry(umem: &Umem, user: &User, what: &str, mode: BoundMode) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut logged = false;
    loop {
        match umem.bind(user) {
            Ok(()) => return Ok(()),
            Err(e) if e.get_raw().abs() == libc::EBUSY && Instant::now() < deadline => {
                if !logged {
                    log::info!("{what}: queue busy (EBUSY), retrying for up to 3 s");
                    logged = true;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => {
                let err = xerr(format!("{what}: bind in {mode} mode"), e);
                if err.kind() == ErrorKind::Busy {
                    return Err(Error::new(
                        format!(
                            "{what}: queue in use by another AF_XDP socket (still EBUSY after 3 s)"
                        ),
                        io::Error::from_raw_os_error(libc::EBUSY),
                    ));
                }
                return Err(err);
            }
        }
    }
}
