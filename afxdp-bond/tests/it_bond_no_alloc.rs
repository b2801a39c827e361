//! No heap allocation per frame on the bond's datapath: a counting allocator counts every
//! allocation of the forwarding thread (the bond's per-frame decisions on the published
//! plan, its control plane, the AF_XDP rings) while thousands of frames cross a
//! balance-xor (layer3+4) bond and an 802.3ad bond, in steady state. Both run over the
//! library API ([`BondWorker`]), as the `bond_l2fwd` example does: frames from an access
//! port go into the bond, frames the bond delivers go out of the access port.
//!
//! ```text
//! [gen ns] g0 --- p0 [fwd ns: bond over m0, m1] ==== [partner ns: a Linux bridge and a far
//!                                                      host, or afxdp-bond run (802.3ad)]
//! ```

mod it_common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use afxdp_bond::engine::BondOptions;
use afxdp_bond::netlab::{self, Netns};
use afxdp_bond::runtime::{BondRx, BondWorker, RunConfig, Runtime, RxSource};
use afxdp_bond::xdp::XskConfig;
use it_common::{Bond, tx_csum_off};

struct Counting;

thread_local! {
    // Per thread: the two tests of this file run in parallel.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCS.with(|a| a.set(a.get() + 1));
    }
}

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// One pass of the forwarder; returns the frames moved.
fn forward(w: &mut BondWorker, burst: &mut Vec<BondRx>) -> usize {
    burst.clear();
    let n = w.recv_burst(burst).unwrap();
    for rx in burst.drain(..) {
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
    n
}

fn ready(w: &BondWorker, lacp: bool) -> bool {
    let v = w.status_json();
    let members = v["members"].as_array().cloned().unwrap_or_default();
    v["carrier"] == true
        && members.len() == 2
        && members
            .iter()
            .all(|m| m["mii_status"] == "up" && (!lacp || m["lacp"]["distributing"] == true))
}

fn run_case(options: &str, lacp: bool, net: u8) {
    netlab::remove_stale();
    let ns_gen = Netns::new().unwrap();
    let fwd = Netns::new().unwrap();
    let peer = Netns::new().unwrap();
    let (g0, p0) = ns_gen.veth_to(&fwd).unwrap();
    let (m0, s0) = fwd.veth_to(&peer).unwrap();
    let (m1, s1) = fwd.veth_to(&peer).unwrap();
    ns_gen.add_addr(&g0, &format!("198.18.{net}.1/24")).unwrap();
    let far_addr = format!("198.18.{net}.2");
    let mut _far = None;
    let mut _partner = None;
    if lacp {
        _partner = Some(Bond::start(
            &peer,
            "mode=802.3ad lacp_rate=fast miimon=100 xmit_hash_policy=layer3+4",
            &[&s0, &s1],
            Some(&format!("{far_addr}/24")),
        ));
    } else {
        let far = Netns::new().unwrap();
        let (x0, f0) = peer.veth_to(&far).unwrap();
        peer.add_bridge(&[&s0, &s1, &x0]).unwrap();
        far.add_addr(&f0, &format!("{far_addr}/24")).unwrap();
        tx_csum_off(&far, &f0);
        _far = Some(far);
    }
    let far_ns: &Netns = _far.as_ref().unwrap_or(&peer);
    let _ = far_ns;

    let stop = AtomicBool::new(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (frames, allocs) = std::thread::scope(|s| {
        let h = s.spawn(|| {
            fwd.enter(|| {
                let (opts, _) = BondOptions::from_modprobe(options).unwrap();
                let mut cfg = RunConfig::new("unused", opts, &[&m0, &m1]);
                cfg.host = false;
                cfg.control_socket = false;
                cfg.ports = vec![p0.clone()];
                cfg.xsk = XskConfig {
                    ring_size: 512,
                    ..XskConfig::default()
                };
                let mut workers = Runtime::open(cfg).unwrap().into_workers();
                let w = &mut workers[0];
                let mut burst: Vec<BondRx> = Vec::with_capacity(256);
                // Negotiation and the first link events (they allocate: rtnetlink messages
                // are decoded into owned values; not per frame), then a quiet second.
                let t = Instant::now();
                while !ready(w, lacp) {
                    assert!(t.elapsed() < Duration::from_secs(20), "{}", w.status());
                    forward(w, &mut burst);
                    w.wait_for_work(Duration::from_millis(5)).unwrap();
                }
                let settle = Instant::now() + Duration::from_secs(1);
                while Instant::now() < settle {
                    forward(w, &mut burst);
                    w.wait_for_work(Duration::from_millis(5)).unwrap();
                }
                ready_tx.send(()).unwrap();
                let before: u64 = w.stats().members.iter().map(|m| m.tx_frames).sum();
                ALLOCS.with(|a| a.set(0));
                COUNTING.with(|c| c.set(true));
                let end = Instant::now() + Duration::from_secs(40);
                while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                    if forward(w, &mut burst) == 0 {
                        w.wait_for_work(Duration::from_millis(5)).unwrap();
                    }
                }
                COUNTING.with(|c| c.set(false));
                let after: u64 = w.stats().members.iter().map(|m| m.tx_frames).sum();
                println!("{}", w.status());
                (after - before, ALLOCS.with(Cell::get))
            })
            .unwrap()
        });
        ready_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        // A flood of pings through the bond (and a second of idle control plane after it:
        // LACPDUs and monitor runs are counted too).
        let out = ns_gen
            .exec_timeout(
                "ping",
                &["-f", "-c", "3000", "-W", "1", &far_addr],
                Duration::from_secs(30),
            )
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        std::thread::sleep(Duration::from_millis(1500));
        stop.store(true, Ordering::Relaxed);
        h.join().unwrap()
    });
    println!("{options}: {frames} frames sent on the members, {allocs} allocations");
    assert!(frames >= 3000, "only {frames} frames through the bond");
    assert_eq!(
        allocs, 0,
        "{allocs} allocations on the forwarding thread while {frames} frames crossed the bond ({options})"
    );
}

#[test]
#[ignore = "needs root and network namespaces"]
fn balance_xor_datapath_allocates_nothing_per_frame() {
    run_case(
        "mode=balance-xor xmit_hash_policy=layer3+4 miimon=100",
        false,
        40,
    );
}

#[test]
#[ignore = "needs root and network namespaces"]
fn ieee8023ad_datapath_allocates_nothing_per_frame() {
    run_case(
        "mode=802.3ad lacp_rate=fast miimon=100 xmit_hash_policy=layer3+4",
        true,
        41,
    );
}
