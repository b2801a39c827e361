//! Nanoseconds per frame for each policy on a realistic mix, against a baseline measured in the
//! same run: a loop that only sums the first 64 bytes of the same frames.
//!
//! `cargo bench -p xmit-hash --bench hash` runs the criterion groups and then prints a summary
//! of its own (interleaved rounds timed with `Instant`, median per policy) with the ratio of
//! each policy to the baseline; `-- --summary-only` skips criterion.

use criterion::{Criterion, Throughput};
use std::hint::black_box;
use std::time::{Duration, Instant};
use xmit_hash::{Policy, hash, hash_batch};

/// How many frames the mix holds (about 0.4 MB of headers and payload: it stays in L2).
const FRAMES: usize = 1024;

/// A small deterministic generator (xorshift64*), so every run hashes the same mix.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The mix: 45% IPv4 TCP, 20% IPv4 UDP, 20% IPv6 TCP, 10% IPv6 UDP, 3% ICMP echo, 2% ARP;
/// 20% of all frames carry an 802.1Q tag; frame sizes from 64 to 1514 bytes, addresses from
/// 198.18.0.0/15 and 2001:db8::/32, ports random.
fn mix() -> Vec<Vec<u8>> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let sizes = [64usize, 64, 64, 128, 256, 576, 1024, 1514];
    (0..FRAMES)
        .map(|_| {
            let kind = rng.below(100);
            let size = sizes[rng.below(sizes.len() as u64) as usize];
            let mut f = Vec::with_capacity(size + 4);
            f.extend_from_slice(&[0x02, 0, 0, 0, 0, rng.below(8) as u8]);
            f.extend_from_slice(&[0x02, 0, 0, 1, 0, rng.below(8) as u8]);
            if rng.below(100) < 20 {
                f.extend_from_slice(&0x8100u16.to_be_bytes());
                f.extend_from_slice(&(rng.below(4094) as u16 + 1).to_be_bytes());
            }
            let v4 = |rng: &mut Rng| {
                let x = rng.next();
                [198, 18 + (x & 1) as u8, (x >> 8) as u8, (x >> 16) as u8]
            };
            let v6 = |rng: &mut Rng| {
                let mut a = [0u8; 16];
                a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
                a[8..].copy_from_slice(&rng.next().to_be_bytes());
                a
            };
            let (ipv6, proto) = match kind {
                0..45 => (false, 6u8),
                45..65 => (false, 17),
                65..85 => (true, 6),
                85..95 => (true, 17),
                95..98 => (false, 1),
                _ => {
                    f.extend_from_slice(&0x0806u16.to_be_bytes());
                    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
                    f.resize(60.max(f.len()), 0);
                    return f;
                }
            };
            if ipv6 {
                f.extend_from_slice(&0x86ddu16.to_be_bytes());
                f.extend_from_slice(&[0x60, 0, 0, 0, 0, 0, proto, 64]);
                f.extend_from_slice(&v6(&mut rng));
                f.extend_from_slice(&v6(&mut rng));
            } else {
                f.extend_from_slice(&0x0800u16.to_be_bytes());
                f.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0]);
                f.extend_from_slice(&v4(&mut rng));
                f.extend_from_slice(&v4(&mut rng));
            }
            match proto {
                1 => f.extend_from_slice(&[8, 0, 0, 0, 0, rng.below(256) as u8, 0, 1]),
                _ => {
                    f.extend_from_slice(&(rng.below(28232) as u16 + 32768).to_be_bytes());
                    f.extend_from_slice(
                        &[443u16, 80, 53, 8080][rng.below(4) as usize].to_be_bytes(),
                    );
                    f.extend_from_slice(&[0; 16]);
                }
            }
            f.resize(size.max(f.len()), 0xa5);
            f
        })
        .collect()
}

/// The baseline: the sum of the first 64 bytes of every frame.
#[inline(never)]
fn baseline(frames: &[&[u8]]) -> u64 {
    let mut total = 0u64;
    for f in frames {
        let head = &f[..f.len().min(64)];
        // 64 bytes of at most 255 fit in a u16, the narrowest (fastest) accumulator.
        total += u64::from(head.iter().map(|&b| u16::from(b)).sum::<u16>());
    }
    total
}

/// Every frame hashed (the batch call, into a reused buffer), folded into one number so the
/// work cannot be skipped.
#[inline(never)]
fn hash_all(policy: Policy, frames: &[&[u8]], out: &mut [u32]) -> u64 {
    hash_batch(policy, frames.iter().copied(), out);
    out.iter().map(|&h| u64::from(h)).sum()
}

/// The same through the one-frame call.
#[inline(never)]
fn hash_each(policy: Policy, frames: &[&[u8]]) -> u64 {
    frames.iter().map(|f| u64::from(hash(policy, f))).sum()
}

fn criterion_groups(c: &mut Criterion, frames: &[&[u8]]) {
    let mut g = c.benchmark_group("xmit-hash");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("baseline sum64", |b| b.iter(|| baseline(black_box(frames))));
    let mut out = vec![0u32; frames.len()];
    for p in Policy::ALL {
        g.bench_function(p.name(), |b| {
            b.iter(|| hash_all(p, black_box(frames), &mut out))
        });
    }
    g.bench_function("layer3+4 one by one", |b| {
        b.iter(|| hash_each(Policy::Layer34, black_box(frames)))
    });
    g.finish();
}

/// Nanoseconds per frame of one pass of `f` over the mix, best of `reps` timed passes.
fn time_pass(frames: usize, reps: u32, mut f: impl FnMut() -> u64) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..reps {
        let t = Instant::now();
        black_box(f());
        best = best.min(t.elapsed());
    }
    best.as_nanos() as f64 / frames as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Interleaved rounds: in each round the baseline and every policy get the same number of
/// passes, so drift on a shared machine hits them alike; the median over rounds is reported.
fn summary(frames: &[&[u8]]) {
    const ROUNDS: usize = 31;
    const REPS: u32 = 200;
    let mut out = vec![0u32; frames.len()];
    let mut base = Vec::new();
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); Policy::ALL.len()];
    let mut each = Vec::new();
    for _ in 0..ROUNDS {
        base.push(time_pass(frames.len(), REPS, || {
            baseline(black_box(frames))
        }));
        for (i, p) in Policy::ALL.into_iter().enumerate() {
            per[i].push(time_pass(frames.len(), REPS, || {
                hash_all(p, black_box(frames), &mut out)
            }));
        }
        each.push(time_pass(frames.len(), REPS, || {
            hash_each(Policy::Layer34, black_box(frames))
        }));
    }
    let base = median(base);
    println!();
    println!(
        "xmit-hash summary: {} frames, median of {ROUNDS} interleaved rounds (best of {REPS} passes each), one core",
        frames.len()
    );
    println!("{:<24} {:>9} {:>9}", "", "ns/frame", "x base");
    println!("{:<24} {:>9.2} {:>9.2}", "baseline (sum 64 B)", base, 1.0);
    for (p, t) in Policy::ALL.into_iter().zip(per) {
        let t = median(t);
        println!("{:<24} {:>9.2} {:>9.2}", p.name(), t, t / base);
    }
    let e = median(each);
    println!(
        "{:<24} {:>9.2} {:>9.2}",
        "layer3+4 (hash per frame)",
        e,
        e / base
    );
}

fn main() {
    let owned = mix();
    let frames: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    let summary_only = std::env::args().any(|a| a == "--summary-only");
    if !summary_only {
        let mut c = Criterion::default().configure_from_args();
        criterion_groups(&mut c, &frames);
        c.final_summary();
    }
    summary(&frames);
}
