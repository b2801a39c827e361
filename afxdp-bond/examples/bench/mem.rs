//! Resident memory of the running bond: the `afxdp-bond run` binary (TAP host side,
//! control socket, one worker) with 2 and 8 veth members, read from `/proc/PID/status`
//! and `/proc/PID/smaps` after it has run for a few seconds (LACP negotiated against a
//! second bond's worth of veth peers: no partner, 802.3ad keeps sending).

use std::time::Duration;

use afxdp_bond::netlab::{self, Netns};

use crate::Res;
use crate::lab::machine;

/// Arguments of `bench mem`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Args {
    /// Member counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "2,8")]
    members: Vec<usize>,
    /// Extra `afxdp-bond run` argument sets to measure, `;`-separated (each measured
    /// with every member count), besides the defaults.
    #[arg(
        long,
        value_delimiter = ';',
        default_value = "--ring-size 512 --frame-size 2048"
    )]
    variants: Vec<String>,
    /// The afxdp-bond binary.
    #[arg(long, default_value = "target/release/afxdp-bond")]
    afxdp_bond: String,
    /// Seconds the bond runs before it is measured.
    #[arg(long, default_value_t = 4)]
    settle: u64,
}

fn field(text: &str, key: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Sums the `Rss:` of every mapping in `smaps` whose header line matches `pred`.
fn rss_of(smaps: &str, pred: impl Fn(&str) -> bool) -> u64 {
    let mut total = 0;
    let mut take = false;
    for l in smaps.lines() {
        let first = l.split_whitespace().next().unwrap_or("");
        if first.contains('-') && first.chars().next().is_some_and(|c| c.is_ascii_hexdigit()) {
            take = pred(l);
        } else if take && l.starts_with("Rss:") {
            total += field(l, "Rss:");
        }
    }
    total
}

fn one(args: &Args, n: usize, extra: &str) -> Res<String> {
    let a = Netns::new()?;
    let b = Netns::new()?;
    let mut members = Vec::new();
    for _ in 0..n {
        let (x, _) = a.veth_to(&b)?;
        members.push(x);
    }
    let bin = std::fs::canonicalize(&args.afxdp_bond)?;
    let name = netlab::unique_name('k');
    let mut argv = vec![
        bin.to_string_lossy().into_owned(),
        "run".into(),
        "--name".into(),
        name,
        "--options".into(),
        "mode=802.3ad lacp_rate=fast miimon=100 xmit_hash_policy=layer3+4".into(),
    ];
    argv.extend(extra.split_whitespace().map(str::to_string));
    argv.extend(members.iter().cloned());
    let bond = a.spawn("env", &argv)?;
    std::thread::sleep(Duration::from_secs(args.settle));
    // `ip netns exec` execs the program: the child's pid is the bond's.
    let pid = bond.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("bond process {pid} gone ({e}): did it start?"))?;
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let _ = bond.signal(libc::SIGTERM);
    let (out, clean) = bond.wait_timeout(Duration::from_secs(10))?;
    let log = String::from_utf8_lossy(&out.stderr);
    let umem_line = log
        .lines()
        .find(|l| l.contains("shared UMEM of"))
        .map(|l| l.split("shared UMEM of ").nth(1).unwrap_or("").to_string())
        .unwrap_or_default();
    let kib = |k: &str| field(&status, k);
    // The UMEM is the largest anonymous mapping; the rings are mappings of the AF_XDP
    // socket (shown as anonymous "[...]"-less file-less shared mappings of the socket).
    let xsk = rss_of(&smaps, |h| h.contains("socket:") || h.contains("xdp"));
    let anon_huge = field(&rollup, "AnonHugePages:");
    Ok(format!(
        "| {n} | `{}` | {} | {} | {} | {} | {} | {} | {} |{}",
        if extra.is_empty() {
            "(defaults)"
        } else {
            extra
        },
        kib("VmRSS:") / 1024,
        kib("VmHWM:") / 1024,
        kib("RssAnon:") / 1024,
        anon_huge / 1024,
        kib("RssFile:") / 1024 + kib("RssShmem:") / 1024,
        xsk / 1024,
        umem_line.trim(),
        if clean {
            ""
        } else {
            " (did not stop on SIGTERM within 10 s)"
        }
    ))
}

pub(crate) fn run(args: &Args) -> Res<()> {
    println!("mem: {}", machine());
    println!();
    println!(
        "| members | extra options | VmRSS MiB | VmHWM MiB | RssAnon MiB | of which huge pages MiB | RssFile+RssShmem MiB | AF_XDP ring mappings MiB | UMEM (from the bond's log) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---|");
    let mut sets = vec![String::new()];
    sets.extend(
        args.variants
            .iter()
            .filter(|v| !v.trim().is_empty())
            .cloned(),
    );
    for extra in &sets {
        for &n in &args.members {
            if crate::stopped() {
                return Ok(());
            }
            match one(args, n, extra) {
                Ok(line) => println!("{line}"),
                Err(e) => println!("| {n} | `{extra}` | failed: {e} |||||||"),
            }
        }
    }
    Ok(())
}
