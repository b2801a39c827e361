//! The per-frame cost of the engine's fast path, as a ratio to the hash alone.
//!
//! `Plan::select_tx` for balance-xor `layer3+4` and for 802.3ad `layer3+4` (two ports
//! distributing with a real LACP partner), and `Plan::classify_rx` for a delivered frame,
//! against `xmit_hash::hash(Layer34, ..)` over the same frames. Rounds interleave the
//! candidates (each round: every candidate times 50 passes over the mix, the best pass
//! kept); the median over rounds is printed, with the ratio to the hash taken within the run.
//!
//! ```sh
//! cargo bench -p afxdp-bond --bench engine_plan
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use afxdp_bond::engine::{Bond, BondConfig, MacAddr, MemberConfig, Plan, Worker};

const FRAMES: usize = 1024;
const PASSES: usize = 50;
const ROUNDS: usize = 31;

/// A deterministic mix: IPv4 and IPv6, TCP and UDP, 64 to 128 bytes, random ports.
fn mix() -> Vec<Vec<u8>> {
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..FRAMES)
        .map(|_| {
            let r = rnd();
            let v6 = r % 4 == 0;
            let proto = if r % 3 == 0 { 17 } else { 6 };
            let len = 64 + (r >> 8) as usize % 64;
            let mut f = vec![0u8; len.max(if v6 { 78 } else { 64 })];
            f[..6].copy_from_slice(&[2, 9, 9, 9, 9, 9]);
            f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
            let l4 = if v6 {
                f[12..14].copy_from_slice(&[0x86, 0xdd]);
                f[14] = 0x60;
                f[20] = proto;
                f[22..38].copy_from_slice(&(r as u128).to_be_bytes());
                f[38..54].copy_from_slice(&(rnd() as u128).to_be_bytes());
                54
            } else {
                f[12..14].copy_from_slice(&[0x08, 0x00]);
                f[14] = 0x45;
                f[23] = proto;
                f[26..30].copy_from_slice(&[198, 18, (r >> 16) as u8, (r >> 24) as u8]);
                f[30..34].copy_from_slice(&[198, 19, (r >> 32) as u8, (r >> 40) as u8]);
                34
            };
            let p = rnd();
            f[l4..l4 + 4].copy_from_slice(&(p as u32).to_be_bytes());
            f
        })
        .collect()
}

fn members(b: &mut Bond, t: Duration) {
    for i in 0..2 {
        b.add_member(
            t,
            i,
            MemberConfig::new(format!("eth{i}"), MacAddr([2, 0, 0, 0, 0, i as u8 + 1])),
        )
        .unwrap();
    }
    b.open(t);
}

fn xor_plan() -> (Bond, std::sync::Arc<Plan>, Worker) {
    let t = Duration::ZERO;
    let mut b = Bond::from_modprobe(
        t,
        "mode=balance-xor xmit_hash_policy=layer3+4 miimon=100",
        BondConfig::default(),
    )
    .unwrap();
    members(&mut b, t);
    let plan = b.plan();
    let w = b.new_worker();
    (b, plan, w)
}

/// An 802.3ad bond negotiated with an LACP partner (a second `lacp::System`).
fn lacp_plan() -> (Bond, std::sync::Arc<Plan>, Worker) {
    let mut t = Duration::ZERO;
    let mut b = Bond::from_modprobe(
        t,
        "mode=802.3ad lacp_rate=fast xmit_hash_policy=layer3+4",
        BondConfig::default(),
    )
    .unwrap();
    members(&mut b, t);
    let mut p = lacp::System::new(lacp::Config {
        lacp_rate: lacp::LacpRate::Fast,
        bond_mac: lacp::MacAddr([2, 0, 0, 0, 0x0f, 1]),
        ..lacp::Config::default()
    })
    .unwrap();
    for i in 0..2 {
        p.add_port(t, i, lacp::MacAddr([2, 0, 0, 0, 0x0f, 0x10 + i as u8]))
            .unwrap();
        p.handle_link(t, i, lacp::Link::up(10_000)).unwrap();
    }
    while t < Duration::from_secs(6) {
        while b.poll_event().is_some() {}
        while let Some(x) = b.poll_transmit(t) {
            let _ = p.handle_rx(t, x.member, x.frame());
        }
        while let Some(x) = p.poll_transmit(t) {
            let mut f = x.frame.as_bytes().to_vec();
            let _ = b.handle_rx(t, x.port, &mut f);
        }
        while p.poll_event().is_some() {}
        let next = [b.poll_timeout(), p.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(t + Duration::from_millis(100));
        t = next.max(t + Duration::from_micros(1));
        b.handle_timeout(t);
        p.handle_timeout(t);
    }
    let plan = b.plan();
    assert_eq!(plan.usable_members(), &[0, 1], "both ports distributing");
    let w = b.new_worker();
    (b, plan, w)
}

fn time(mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..PASSES {
        let s = Instant::now();
        f();
        best = best.min(s.elapsed().as_nanos() as f64 / FRAMES as f64);
    }
    best
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let frames = mix();
    let mut bufs = frames.clone();
    let (_xb, xor, mut xw) = xor_plan();
    let (_lb, lacp, mut lw) = lacp_plan();
    let (_rb, rxp, mut rw) = xor_plan();
    let mut results: Vec<(&str, Vec<f64>)> = vec![
        ("xmit_hash::hash(layer3+4) alone", Vec::new()),
        ("  same, policy read at run time", Vec::new()),
        ("Plan::select_tx balance-xor layer3+4", Vec::new()),
        ("Plan::select_tx 802.3ad layer3+4", Vec::new()),
        ("Plan::classify_rx (delivered)", Vec::new()),
    ];
    for _ in 0..ROUNDS {
        results[0].1.push(time(|| {
            for f in &frames {
                black_box(xmit_hash::hash(xmit_hash::Policy::Layer34, black_box(f)));
            }
        }));
        let policy = black_box(xmit_hash::Policy::Layer34);
        results[1].1.push(time(|| {
            for f in &frames {
                black_box(xmit_hash::hash(policy, black_box(f)));
            }
        }));
        results[2].1.push(time(|| {
            for f in bufs.iter_mut() {
                let _ = black_box(xor.select_tx(&mut xw, black_box(f)));
            }
        }));
        results[3].1.push(time(|| {
            for f in bufs.iter_mut() {
                let _ = black_box(lacp.select_tx(&mut lw, black_box(f)));
            }
        }));
        results[4].1.push(time(|| {
            for (k, f) in bufs.iter_mut().enumerate() {
                let _ = black_box(rxp.classify_rx(&mut rw, k & 1, black_box(f)));
            }
        }));
    }
    let base = median(&mut results[0].1.clone());
    println!("{FRAMES} frames, {ROUNDS} rounds of {PASSES} passes, median of best passes");
    println!("{:<40} {:>10} {:>12}", "", "ns/frame", "x hash alone");
    for (name, v) in &mut results {
        let m = median(v);
        println!("{name:<40} {m:>10.2} {:>12.2}", m / base);
    }
}
