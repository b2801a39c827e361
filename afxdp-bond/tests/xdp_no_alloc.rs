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
