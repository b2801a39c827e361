//! `afxdp-bond hash`, run as a program: the output on the shipped captures, and a one-line
//! error with a non-zero exit for each kind of bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_afxdp-bond");

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the afxdp-bond binary runs")
}

fn stdout(o: &Output) -> &str {
    std::str::from_utf8(&o.stdout).unwrap()
}

fn stderr(o: &Output) -> &str {
    std::str::from_utf8(&o.stderr).unwrap()
}

/// A directory of this test process's own, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "afxdp-bond-hash-cli-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The main job (`scripts/lab`): layer3+4 over two members, exactly.
#[test]
fn lab_command_output() {
    let pcap = testdata("mixed.pcap");
    let o = run(&[
        "hash",
        "--policy",
        "layer3+4",
        "--members",
        "2",
        pcap.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let expected = "\
1389523516 0
803323068 0
1381167933 1
91946649 1
1170564395 1
993738329 1
656868811 1
1557467289 1
26646034 0
26646038 0
252677899 1
406403320 0
91946649 1
151587209 1
151587209 1
2291 1
2055 1
1364325309 1
404232601 1
33117 1
25264513 1
404232601 1
";
    assert_eq!(stdout(&o), expected);
}

/// Every policy, by name and by number, on the pcap and the pcapng copy, against the hashes
/// that `scripts/gen-testdata.py` computes with its own model of the kernel.
#[test]
fn every_policy_matches_the_generator_model() {
    let table = std::fs::read_to_string(testdata("mixed.expected")).unwrap();
    let rows: Vec<Vec<u32>> = table
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            l.split('#')
                .next()
                .unwrap()
                .split_whitespace()
                .map(|v| v.parse().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 22);
    let names = [
        "layer2",
        "layer3+4",
        "layer2+3",
        "encap2+3",
        "encap3+4",
        "vlan+srcmac",
    ];
    for (column, name) in names.iter().enumerate() {
        for members in [1u32, 3, 7] {
            let expected: String = rows
                .iter()
                .map(|r| format!("{} {}\n", r[column], r[column] % members))
                .collect();
            for file in ["mixed.pcap", "mixed.pcapng"] {
                let path = testdata(file);
                for policy in [name.to_string(), column.to_string()] {
                    let o = run(&[
                        "hash",
                        "--policy",
                        &policy,
                        "--members",
                        &members.to_string(),
                        path.to_str().unwrap(),
                    ]);
                    assert!(o.status.success(), "{}", stderr(&o));
                    assert_eq!(stdout(&o), expected, "{policy} {members} {file}");
                }
            }
        }
    }
}

fn assert_fails(o: &Output, code: i32, message: &str) {
    assert_eq!(o.status.code(), Some(code), "stderr: {}", stderr(o));
    assert_eq!(stderr(o), format!("afxdp-bond: {message}\n"));
    assert_eq!(stdout(o), "");
}

#[test]
fn bad_policy_names_the_accepted_ones() {
    let pcap = testdata("mixed.pcap");
    for bad in ["fast", "Layer2", "6", "layer3"] {
        let o = run(&[
            "hash",
            "--policy",
            bad,
            "--members",
            "2",
            pcap.to_str().unwrap(),
        ]);
        assert_fails(
            &o,
            2,
            &format!(
                "invalid value '{bad}' for '--policy <POLICY>': not an xmit_hash_policy; \
                 accepted values are layer2 (0), layer3+4 (1), layer2+3 (2), encap2+3 (3), \
                 encap3+4 (4), vlan+srcmac (5)"
            ),
        );
    }
}

#[test]
fn bad_member_count() {
    let pcap = testdata("mixed.pcap");
    for bad in ["0", "two", "-1", "4294967296", ""] {
        let o = run(&[
            "hash",
            "--policy",
            "layer2",
            "--members",
            bad,
            pcap.to_str().unwrap(),
        ]);
        assert_fails(
            &o,
            2,
            &format!(
                "invalid value '{bad}' for '--members <N>': the member count must be a whole \
                 number from 1 to 4294967295"
            ),
        );
    }
}

#[test]
fn missing_arguments() {
    let pcap = testdata("mixed.pcap");
    let o = run(&["hash", "--policy", "layer2", pcap.to_str().unwrap()]);
    assert_fails(
        &o,
        2,
        "the following required arguments were not provided: --members <N>",
    );
    let o = run(&["hash", "--policy", "layer2", "--members", "2"]);
    assert_fails(
        &o,
        2,
        "the following required arguments were not provided: <FILE>",
    );
    let o = run(&[]);
    assert_fails(
        &o,
        2,
        "no subcommand given; the subcommands are: run, status, lab, hash (see afxdp-bond --help)",
    );
}

#[test]
fn missing_or_unreadable_file() {
    let dir = TempDir::new();
    let missing = dir.0.join("no-such.pcap");
    let o = run(&[
        "hash",
        "--policy",
        "1",
        "--members",
        "2",
        missing.to_str().unwrap(),
    ]);
    assert_fails(
        &o,
        1,
        &format!(
            "cannot open {}: No such file or directory",
            missing.display()
        ),
    );
    let o = run(&[
        "hash",
        "--policy",
        "1",
        "--members",
        "2",
        dir.0.to_str().unwrap(),
    ]);
    assert_fails(
        &o,
        1,
        &format!("cannot read {}: Is a directory", dir.0.display()),
    );
}

#[test]
fn not_a_capture() {
    let dir = TempDir::new();
    let text = dir.file("notes.txt", b"this is not a capture file\n");
    let o = run(&["hash", "--policy", "1", "--members", "2", &text]);
    assert_fails(
        &o,
        1,
        &format!(
            "{text} is not a pcap or pcapng capture (Invalid field value: PcapHeader: wrong \
             magic number)"
        ),
    );
    let empty = dir.file("empty.pcap", b"");
    let o = run(&["hash", "--policy", "1", "--members", "2", &empty]);
    assert_fails(
        &o,
        1,
        &format!(
            "{empty} is not a pcap or pcapng capture (the file ends in the middle of a record)"
        ),
    );
}

/// A classic pcap header (little-endian, microseconds) with the given link type.
fn pcap_header(linktype: u32) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&65535u32.to_le_bytes());
    h.extend_from_slice(&linktype.to_le_bytes());
    h
}

#[test]
fn non_ethernet_link_type() {
    let dir = TempDir::new();
    // LINKTYPE_RAW (101): IP packets without an Ethernet header.
    let mut bytes = pcap_header(101);
    let ip = [
        0x45u8, 0, 0, 20, 0, 1, 0, 0, 64, 6, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2,
    ];
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(&(ip.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&(ip.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&ip);
    let raw = dir.file("raw.pcap", &bytes);
    let o = run(&["hash", "--policy", "1", "--members", "2", &raw]);
    assert_fails(
        &o,
        1,
        &format!(
            "{raw}: link type 101 (RAW) is not Ethernet; only LINKTYPE_ETHERNET (1) captures \
             can be hashed"
        ),
    );
    // Linux cooked capture (113), as `tcpdump -i any` writes.
    let sll = dir.file("sll.pcap", &pcap_header(113));
    let o = run(&["hash", "--policy", "1", "--members", "2", &sll]);
    assert_fails(
        &o,
        1,
        &format!(
            "{sll}: link type 113 (LINUX_SLL) is not Ethernet; only LINKTYPE_ETHERNET (1) \
             captures can be hashed"
        ),
    );
}

#[test]
fn a_damaged_capture_prints_what_it_could_read_then_fails() {
    let dir = TempDir::new();
    let whole = std::fs::read(testdata("mixed.pcap")).unwrap();
    // The global header (24), frame 1 (16 + 54), and part of frame 2's record.
    let cut = dir.file("cut.pcap", &whole[..24 + 16 + 54 + 20]);
    let o = run(&["hash", "--policy", "layer3+4", "--members", "2", &cut]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "1389523516 0\n");
    assert_eq!(
        stderr(&o),
        format!("afxdp-bond: {cut}: frame 2: the file ends in the middle of a record\n")
    );
}

#[test]
fn frames_cut_by_the_snap_length_are_reported() {
    let dir = TempDir::new();
    let whole = std::fs::read(testdata("mixed.pcap")).unwrap();
    // Frame 1 alone, its record claiming an original length of 1500 bytes.
    let mut bytes = whole[..24 + 16 + 54].to_vec();
    bytes[24 + 12..24 + 16].copy_from_slice(&1500u32.to_le_bytes());
    let f = dir.file("snap.pcap", &bytes);
    let o = run(&["hash", "--policy", "layer3+4", "--members", "2", &f]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "1389523516 0\n");
    assert_eq!(
        stderr(&o),
        format!(
            "afxdp-bond: note: 1 of 1 frames in {f} were cut by the capture's snap length; \
             their hashes cover only the captured bytes\n"
        )
    );
}

/// The committed test data is what the committed generator writes.
#[test]
#[ignore = "needs /usr/bin/python3 with python3-scapy (scripts/setup installs it)"]
fn generator_reproduces_the_test_data() {
    let dir = TempDir::new();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/gen-testdata.py");
    let o = Command::new("/usr/bin/python3")
        .arg(&script)
        .arg(&dir.0)
        .output()
        .expect("/usr/bin/python3 runs");
    assert!(o.status.success(), "{}", stderr(&o));
    for name in ["mixed.pcap", "mixed.pcapng", "mixed.expected"] {
        let made = std::fs::read(dir.0.join(name)).unwrap();
        let committed = std::fs::read(testdata(name)).unwrap();
        assert!(
            made == committed,
            "{name} differs from the generator's output"
        );
    }
}
