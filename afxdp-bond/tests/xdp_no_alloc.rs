//! No heap allocation per frame: a counting allocator counts the allocations made on the
//! forwarding thread while it forwards thousands of frames through the shared UMEM (hook
//! path and burst path).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use afxdp_bond::netlab::{self, Netns};
use afxdp_bond::xdp::{self, DatapathHook, MemberPort, RxAction, RxFrame, TxAction, XskConfig};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Cross;

impl DatapathHook for Cross {
    fn on_member_rx(&mut self, _: Duration, member: usize, _: &mut [u8]) -> RxAction {
        RxAction::Forward(1 - member)
    }
    fn on_host_tx(&mut self, _: Duration, _: &mut [u8]) -> TxAction {
        TxAction::Drop
    }
}

#[test]
#[ignore = "needs root and network namespaces"]
fn xdp_forwarding_allocates_nothing_per_frame() {
    netlab::remove_stale();
    let n1 = Netns::new().unwrap();
    let n2 = Netns::new().unwrap();
    let fwd = Netns::new().unwrap();
    let (a1, b1) = n1.veth_to(&fwd).unwrap();
    let (a2, b2) = n2.veth_to(&fwd).unwrap();
    n1.add_addr(&a1, "198.18.14.1/24").unwrap();
    n2.add_addr(&a2, "198.18.14.2/24").unwrap();
    for use_hook in [true, false] {
        let stop = AtomicBool::new(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (frames, allocs) = std::thread::scope(|s| {
            let h = s.spawn(|| {
                fwd.enter(|| {
                    let cfg = XskConfig {
                        ring_size: 512,
                        ..XskConfig::default()
                    };
                    let ports = [
                        MemberPort::open(&b1, &cfg).unwrap(),
                        MemberPort::open(&b2, &cfg).unwrap(),
                    ];
                    let mut ws = xdp::open_workers(&ports, &cfg, None).unwrap();
                    let dp = &mut ws[0];
                    let mut burst: Vec<RxFrame> = Vec::with_capacity(128);
                    // The initial rtnetlink dump (link events allocate: they are decoded into
                    // owned messages; not per frame) goes through before counting starts.
                    let settle = Instant::now() + Duration::from_secs(2);
                    while dp.stats().link_events < 2 && Instant::now() < settle {
                        let _ = dp.step(&mut Cross).unwrap();
                        dp.wait_for_work(None, Duration::from_millis(10)).unwrap();
                    }
                    ready_tx.send(()).unwrap();
                    ALLOCS.store(0, Ordering::Relaxed);
                    COUNTING.with(|c| c.set(true));
                    let end = Instant::now() + Duration::from_secs(30);
                    if use_hook {
                        dp.run(&mut Cross, &stop).unwrap();
                    } else {
                        while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                            burst.clear();
                            dp.recv_burst(&mut burst);
                            for f in burst.drain(..) {
                                if let Err(fr) = dp.send(1 - f.member, f.frame) {
                                    dp.release(fr);
                                }
                            }
                            dp.flush();
                            dp.wait_for_work(None, Duration::from_millis(5)).unwrap();
                        }
                    }
                    COUNTING.with(|c| c.set(false));
                    let st = dp.stats();
                    (
                        st.members[0].tx_frames + st.members[1].tx_frames,
                        ALLOCS.load(Ordering::Relaxed),
                    )
                })
                .unwrap()
            });
            ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
            // A flood of pings: thousands of frames through the forwarder.
            let out = n1
                .exec_timeout(
                    "ping",
                    &["-f", "-c", "3000", "-W", "1", "198.18.14.2"],
                    Duration::from_secs(30),
                )
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
            stop.store(true, Ordering::Relaxed);
            h.join().unwrap()
        });
        assert!(frames >= 6000, "only {frames} frames forwarded");
        assert_eq!(
            allocs, 0,
            "{allocs} allocations while forwarding {frames} frames (hook path: {use_hook})"
        );
    }
}

/// The bond's own per-frame path: the library API (`BondWorker`) forwarding between a port
/// and the bond's members, the engine's plan deciding every frame (`select_tx` from the
/// port, `classify_rx` from the members), over the shared UMEM. The worker is also the
/// bond's control plane (monitor ticks, rtnetlink events): what that allocates in the same
/// window is measured with the same traffic absent; the traffic may not add more than a
/// few (a control-plane event landing in one window and not the other), where one
/// allocation per frame would add thousands.
#[test]
#[ignore = "needs root and network namespaces"]
fn bond_forwarding_allocates_nothing_per_frame() {
    use afxdp_bond::engine::BondOptions;
    use afxdp_bond::runtime::{BondRx, RunConfig, Runtime, RxSource};

    netlab::remove_stale();
    for opts in [
        "mode=balance-xor xmit_hash_policy=layer3+4 miimon=100",
        "mode=active-backup miimon=100",
    ] {
        // n1 [a1] --- [p] fwd: port p, bond over m0, m1 --- [x0, x1 in a bridge] n2
        let n1 = Netns::new().unwrap();
        let n2 = Netns::new().unwrap();
        let fwd = Netns::new().unwrap();
        let (a1, p) = n1.veth_to(&fwd).unwrap();
        let (x0, m0) = n2.veth_to(&fwd).unwrap();
        let (x1, m1) = n2.veth_to(&fwd).unwrap();
        let br = n2.add_bridge(&[&x0, &x1]).unwrap();
        n1.add_addr(&a1, "198.18.15.1/24").unwrap();
        n2.add_addr(&br, "198.18.15.2/24").unwrap();
        let stop = AtomicBool::new(false);
        let traffic = AtomicBool::new(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (frames, idle_allocs, busy_allocs) = std::thread::scope(|s| {
            let h = s.spawn(|| {
                fwd.enter(|| {
                    let (o, _) = BondOptions::from_modprobe(opts).unwrap();
                    let mut cfg = RunConfig::new("nalloc", o, &[&m0, &m1]);
                    cfg.ports = vec![p.clone()];
                    cfg.host = false;
                    cfg.control_socket = false;
                    cfg.xsk.ring_size = 512;
                    let mut w = Runtime::open(cfg).unwrap().into_workers().remove(0);
                    let mut out: Vec<BondRx> = Vec::with_capacity(256);
                    let mut step = |w: &mut afxdp_bond::runtime::BondWorker| {
                        out.clear();
                        w.recv_burst(&mut out).unwrap();
                        for rx in out.drain(..) {
                            match rx.source {
                                RxSource::Port(_) => {
                                    w.send(rx.frame);
                                }
                                RxSource::Bond { .. } => {
                                    w.send_port(0, rx.frame);
                                }
                            }
                        }
                        w.flush();
                        w.wait_for_work(Duration::from_millis(5)).unwrap();
                    };
                    // Settle: the first link dump and the first monitor ticks.
                    let settle = Instant::now() + Duration::from_secs(2);
                    while Instant::now() < settle {
                        step(&mut w);
                    }
                    // The control plane alone, for as long as the traffic will last.
                    let window = Duration::from_secs(4);
                    ALLOCS.store(0, Ordering::Relaxed);
                    COUNTING.with(|c| c.set(true));
                    let end = Instant::now() + window;
                    while Instant::now() < end {
                        step(&mut w);
                    }
                    COUNTING.with(|c| c.set(false));
                    let idle = ALLOCS.load(Ordering::Relaxed);
                    let before: u64 = w.stats().members.iter().map(|m| m.tx_frames).sum();
                    ready_tx.send(()).unwrap();
                    while !traffic.load(Ordering::Acquire) {
                        step(&mut w);
                    }
                    ALLOCS.store(0, Ordering::Relaxed);
                    COUNTING.with(|c| c.set(true));
                    let end = Instant::now() + window;
                    while Instant::now() < end && !stop.load(Ordering::Relaxed) {
                        step(&mut w);
                    }
                    COUNTING.with(|c| c.set(false));
                    let busy = ALLOCS.load(Ordering::Relaxed);
                    let after: u64 = w.stats().members.iter().map(|m| m.tx_frames).sum();
                    (after - before, idle, busy)
                })
                .unwrap()
            });
            ready_rx.recv_timeout(Duration::from_secs(30)).unwrap();
            // Resolve the neighbour first, then flood: thousands of frames each way.
            let _ = n1.exec_timeout(
                "ping",
                &["-c", "1", "-W", "2", "198.18.15.2"],
                Duration::from_secs(5),
            );
            traffic.store(true, Ordering::Release);
            let out = n1
                .exec_timeout(
                    "ping",
                    &["-f", "-c", "3000", "-W", "1", "198.18.15.2"],
                    Duration::from_secs(3),
                )
                .unwrap();
            stop.store(true, Ordering::Relaxed);
            let r = h.join().unwrap();
            assert!(
                out.status.success(),
                "{opts}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            r
        });
        assert!(
            frames >= 3000,
            "{opts}: only {frames} frames through the bond"
        );
        assert!(
            busy_allocs <= idle_allocs + 4,
            "{opts}: {busy_allocs} allocations while {frames} frames went through the bond, \
             {idle_allocs} in the same time without traffic"
        );
        eprintln!(
            "{opts}: {frames} frames through the bond: {busy_allocs} allocations (control plane alone: {idle_allocs})"
        );
    }
}
