//! The committed corpus: how the seeds are made, and a replay of every input through its
//! harness (a plain `cargo test`, no fuzzer, no sanitizer).
//!
//! `FUZZ_WRITE_SEEDS=1 cargo test --test corpus write_seeds` (in `fuzz/`) writes the seeds:
//! one file per frame of the captures in the crates' `testdata/` (and of
//! `/work/shared/captures` where it exists), hand-made frames, and the op-sequence seeds of
//! the state-machine targets, encoded from their op sequences.

use afxdp_bond_fuzz::input::{Encode, decode};
use afxdp_bond_fuzz::{
    alb, arp_wire, engine, frames, lacp_frame, lacp_pair, lacp_wire, link_monitor, ndisc_wire,
    xmit_hash,
};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The frames of a classic pcap file (either byte order, micro- or nanosecond stamps).
fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let d = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let le = match d.get(..4) {
        Some([0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1]) => true,
        Some([0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d]) => false,
        _ => panic!("{}: not a classic pcap", path.display()),
    };
    let u32_at = |i: usize| {
        let b = [d[i], d[i + 1], d[i + 2], d[i + 3]];
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let mut out = Vec::new();
    let mut i = 24;
    while i + 16 <= d.len() {
        let caplen = u32_at(i + 8) as usize;
        let start = i + 16;
        out.push(d[start..start + caplen].to_vec());
        i = start + caplen;
    }
    out
}

/// Every capture the seeds come from, with a short name.
fn captures() -> Vec<(String, Vec<Vec<u8>>)> {
    let r = root();
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [
        "../lacp/testdata",
        "../link-monitor/testdata",
        "../arp-alb/testdata",
        "../afxdp-bond/testdata",
    ] {
        if let Ok(rd) = fs::read_dir(r.join(dir)) {
            let mut v: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
                .collect();
            v.sort();
            files.extend(v);
        }
    }
    let shared = Path::new("/work/shared/captures");
    if let Ok(rd) = fs::read_dir(shared) {
        let mut v: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
            .collect();
        v.sort();
        files.extend(v);
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for f in files {
        let name = f
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if seen.insert(name.clone()) {
            out.push((name, read_pcap(&f)));
        }
    }
    out
}

fn ethertype(f: &[u8]) -> Option<u16> {
    let t = u16::from_be_bytes([*f.get(12)?, *f.get(13)?]);
    if t == 0x8100 || t == 0x88a8 {
        Some(u16::from_be_bytes([*f.get(16)?, *f.get(17)?]))
    } else {
        Some(t)
    }
}

/// An NS whose checksum computes to 0, so that `ndisc_wire` also tries 0xffff.
fn zero_checksum_ns() -> Vec<u8> {
    for n in 0..=u16::MAX {
        let mut target = frames::v6(2);
        target[12..14].copy_from_slice(&n.to_be_bytes());
        let ip = frames::ndisc(
            false,
            0,
            frames::v6(1),
            frames::solicited_node(&target),
            target,
            Some([2, 0, 0, 0, 0, 0x0a]),
        );
        if ip[42..44] == [0, 0] {
            return frames::eth_to(
                [0x33, 0x33, 0xff, 0, 0, 2],
                [2, 0, 0, 0, 0, 0x0a],
                0x86dd,
                &ip,
            );
        }
    }
    unreachable!("some target gives a zero checksum")
}

/// Every seed: (target, file name, bytes).
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let encode = |x: &dyn Encode| {
        let mut v = Vec::new();
        x.encode(&mut v);
        v
    };
    for (cap, frames) in captures() {
        let lacp = frames.iter().any(|f| ethertype(f) == Some(0x8809));
        out.push((
            "engine",
            format!("capture-{cap}"),
            encode(&engine::capture_seed(&frames, lacp)),
        ));
        for (i, f) in frames.iter().enumerate() {
            let name = format!("{cap}-{i:02}");
            out.push(("xmit_hash", name.clone(), f.clone()));
            match ethertype(f) {
                Some(0x8809) => {
                    out.push(("lacp_wire", name.clone(), f.clone()));
                    out.push(("lacp_frame", name.clone(), f.clone()));
                }
                Some(0x0806) => out.push(("arp_wire", name.clone(), f.clone())),
                Some(0x86dd) => out.push(("ndisc_wire", name.clone(), f.clone())),
                _ => {}
            }
        }
    }
    for (name, f) in xmit_hash::seeds() {
        out.push(("xmit_hash", name.to_string(), f));
    }
    out.push(("ndisc_wire", "ns-zero-checksum".into(), zero_checksum_ns()));
    let na = frames::ndisc(
        true,
        0x60,
        frames::v6(2),
        frames::v6(1),
        frames::v6(2),
        Some([2, 0, 0, 0, 0, 0x0b]),
    );
    out.push(("ndisc_wire", "na-bare-ipv6".into(), na));
    // A tagged ARP reply, and a non-LACP frame for the LACP receive path.
    let arp = frames::arp(
        2,
        [2, 0, 0, 0, 0, 0x0b],
        [198, 18, 1, 2],
        [2, 0, 0, 0, 0, 0x0a],
        [198, 18, 1, 1],
    );
    out.push((
        "arp_wire",
        "vlan-arp-reply".into(),
        frames::vlan(0x8100, 100, 0x0806, &arp),
    ));
    out.push(("lacp_frame", "arp-reply".into(), frames::eth(0x0806, &arp)));
    for (name, input) in lacp_pair::seeds() {
        out.push(("lacp_pair", name.to_string(), encode(&input)));
    }
    for (name, input) in link_monitor::seeds() {
        out.push(("link_monitor", name.to_string(), encode(&input)));
    }
    for (name, input) in alb::seeds() {
        out.push(("alb", name.to_string(), encode(&input)));
    }
    for (name, input) in engine::seeds() {
        out.push(("engine", name.to_string(), encode(&input)));
    }
    out
}

/// The op-sequence seeds decode to the op sequences they were written from.
#[test]
fn op_seeds_round_trip() {
    for (name, input) in lacp_pair::seeds() {
        let mut v = Vec::new();
        input.encode(&mut v);
        assert_eq!(
            decode::<lacp_pair::Input>(&v).as_ref(),
            Some(&input),
            "{name}"
        );
    }
    for (name, input) in link_monitor::seeds() {
        let mut v = Vec::new();
        input.encode(&mut v);
        assert_eq!(
            decode::<link_monitor::Input>(&v).as_ref(),
            Some(&input),
            "{name}"
        );
    }
    for (name, input) in alb::seeds() {
        let mut v = Vec::new();
        input.encode(&mut v);
        assert_eq!(decode::<alb::Input>(&v).as_ref(), Some(&input), "{name}");
    }
    for (name, input) in engine::seeds() {
        let mut v = Vec::new();
        input.encode(&mut v);
        assert_eq!(decode::<engine::Input>(&v).as_ref(), Some(&input), "{name}");
    }
}

/// Writes the seeds (only with `FUZZ_WRITE_SEEDS=1`).
#[test]
fn write_seeds() {
    if std::env::var_os("FUZZ_WRITE_SEEDS").is_none() {
        return;
    }
    for (target, name, bytes) in seeds() {
        let dir = root().join("corpus").join(target);
        fs::create_dir_all(&dir).expect("corpus dir");
        fs::write(dir.join(name), bytes).expect("seed written");
    }
}

/// The committed seeds are the ones this file makes (so a change to an op enum that would
/// silently change what a seed means shows up here: re-run `write_seeds`).
#[test]
fn committed_seeds_are_current() {
    if std::env::var_os("FUZZ_WRITE_SEEDS").is_some() {
        return;
    }
    for (target, name, bytes) in seeds() {
        let path = root().join("corpus").join(target).join(&name);
        let committed =
            fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run write_seeds)", path.display()));
        assert!(
            committed == bytes,
            "{} is stale (run write_seeds)",
            path.display()
        );
    }
}

/// Runs one input of `target` through its harness.
fn replay(target: &str, data: &[u8]) {
    match target {
        "xmit_hash" => xmit_hash::run(data),
        "lacp_wire" => lacp_wire::run(data),
        "lacp_frame" => lacp_frame::run(data),
        "arp_wire" => arp_wire::run(data),
        "ndisc_wire" => ndisc_wire::run(data),
        "lacp_pair" => {
            if let Some(i) = decode::<lacp_pair::Input>(data) {
                lacp_pair::run(&i);
            }
        }
        "link_monitor" => {
            if let Some(i) = decode::<link_monitor::Input>(data) {
                link_monitor::run(&i);
            }
        }
        "alb" => {
            if let Some(i) = decode::<alb::Input>(data) {
                alb::run(&i);
            }
        }
        "engine" => {
            if let Some(i) = decode::<engine::Input>(data) {
                engine::run(&i);
            }
        }
        other => panic!("corpus/{other}: no such target"),
    }
}

/// Every committed corpus input (and every generated seed) runs through its harness.
#[test]
fn corpus_replays() {
    let mut n = 0;
    let dir = root().join("corpus");
    let mut targets: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("corpus/")
        .flatten()
        .map(|e| e.path())
        .collect();
    targets.sort();
    for t in targets {
        let target = t
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let mut files: Vec<PathBuf> = fs::read_dir(&t)
            .expect("target dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            let data = fs::read(&f).expect("corpus file");
            replay(&target, &data);
            n += 1;
        }
    }
    for (target, _, data) in seeds() {
        replay(target, &data);
        n += 1;
    }
    assert!(n > 0);
}

/// Every hand-made engine seed holds the invariants (named, so a failure says which).
#[test]
fn engine_seeds_hold() {
    for (name, input) in engine::seeds() {
        let t = std::time::Instant::now();
        engine::run(&input);
        eprintln!("engine seed {name}: {:?}", t.elapsed());
    }
}
