//! The per-frame paths allocate nothing: `Plan::select_tx`, `Plan::classify_rx`, and the
//! Bond's own `select_tx`/`handle_rx` for data frames, in every mode the plan decides.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use afxdp_bond::engine::{Bond, BondConfig, MacAddr, MemberConfig};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Only this thread's allocations are counted (the test harness allocates on others).
    static COUNTING: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(core::cell::Cell::get) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn frame(k: u16) -> [u8; 64] {
    let mut f = [0u8; 64];
    f[..6].copy_from_slice(&[2, 9, 9, 9, 9, (k & 0xff) as u8]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[23] = 17;
    f[34..36].copy_from_slice(&k.to_be_bytes());
    f
}

#[test]
fn no_allocation_per_frame() {
    for opts in [
        "mode=balance-rr miimon=100",
        "mode=balance-rr miimon=100 packets_per_slave=0",
        "mode=active-backup miimon=100",
        "mode=balance-xor xmit_hash_policy=layer3+4 miimon=100",
        "mode=broadcast miimon=100",
        "mode=802.3ad xmit_hash_policy=layer3+4 lacp_fallback=active-backup",
    ] {
        let t = Duration::ZERO;
        let mut b = Bond::from_modprobe(t, opts, BondConfig::default()).unwrap();
        for i in 0..2 {
            b.add_member(
                t,
                i,
                MemberConfig::new(format!("eth{i}"), MacAddr([2, 0, 0, 0, 0, i as u8 + 1])),
            )
            .unwrap();
        }
        b.open(t);
        while b.poll_event().is_some() {}
        let plan = b.plan();
        let mut w = b.new_worker();
        let before = ALLOCS.load(Ordering::Relaxed);
        COUNTING.with(|c| c.set(true));
        for k in 0..10_000u16 {
            let mut f = frame(k);
            let _ = plan.select_tx(&mut w, &mut f);
            let _ = plan.classify_rx(&mut w, usize::from(k % 2), &mut f);
            let _ = b.select_tx(t, &mut f);
            let _ = b.handle_rx(t, usize::from(k % 2), &mut f);
        }
        COUNTING.with(|c| c.set(false));
        let after = ALLOCS.load(Ordering::Relaxed);
        assert_eq!(after - before, 0, "{opts}");
    }
}
