//! Helpers of the integration tests (`it_*.rs`): the `afxdp-bond` binary run inside a
//! namespace, packet captures, the tshark decode check, small traffic tools.
#![allow(dead_code, unreachable_pub)]

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use afxdp_bond::netlab::{self, ChildGuard, Netns, StateDir};

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_afxdp-bond")
}

/// Waits until `cond` holds, at most `within`; panics with `what` otherwise. Returns the
/// time it took.
pub fn wait_for(what: &str, within: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !cond() {
        assert!(
            t.elapsed() < within,
            "timed out after {within:?} waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    t.elapsed()
}

/// `afxdp-bond run` inside a namespace, with its control socket in a private directory
/// and its log in a file; SIGTERM and a check of a clean exit at `stop`, SIGKILL on drop.
pub struct Bond {
    pub name: String,
    pub ns_name: String,
    pub run_dir: PathBuf,
    log: PathBuf,
    child: Option<ChildGuard>,
    _dir: StateDir,
}

impl Bond {
    /// Starts `afxdp-bond run --name NAME --options OPTIONS MEMBERS...` in `ns` and waits
    /// for its TAP device; if `addr` is given, puts it on the TAP.
    pub fn start(ns: &Netns, options: &str, members: &[&str], addr: Option<&str>) -> Self {
        Self::start_args(ns, options, members, addr, &[])
    }

    /// [`start`](Self::start) with extra `run` arguments.
    pub fn start_args(
        ns: &Netns,
        options: &str,
        members: &[&str],
        addr: Option<&str>,
        extra: &[&str],
    ) -> Self {
        let dir = StateDir::new().expect("state dir");
        let run_dir = dir.path().join("run");
        fs::create_dir(&run_dir).unwrap();
        let name = netlab::unique_name('k');
        let log = dir.path().join("bond.log");
        let f = fs::File::create(&log).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns.name(), bin(), "run", "--name", &name])
            .args(["--options", options])
            .args(extra)
            .args(members)
            .env("AFXDP_BOND_RUN_DIR", &run_dir)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .expect("spawn afxdp-bond run");
        let mut b = Self {
            name,
            ns_name: ns.name().to_string(),
            run_dir,
            log,
            child: Some(ChildGuard::new(child)),
            _dir: dir,
        };
        let t = Instant::now();
        loop {
            if ns.ip(&["link", "show", &b.name]).is_ok() && b.status_json().is_some() {
                break;
            }
            if b.child.as_mut().is_some_and(ChildGuard::try_wait_exited) {
                panic!("afxdp-bond run exited early:\n{}", b.log());
            }
            assert!(
                t.elapsed() < Duration::from_secs(15),
                "the bond did not come up within 15 s:\n{}",
                b.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(a) = addr {
            ns.add_addr(&b.name, a).unwrap();
        }
        b
    }

    /// The bond's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `status` text.
    pub fn status(&self) -> String {
        afxdp_bond::control::request_at(&self.run_dir, &self.name, "status").unwrap_or_default()
    }

    /// `status-json`.
    pub fn status_json(&self) -> Option<serde_json::Value> {
        afxdp_bond::control::request_at(&self.run_dir, &self.name, "status-json")
            .ok()
            .and_then(|s| serde_json::from_str(s.trim()).ok())
    }

    /// The `afxdp-bond status` command against this bond.
    pub fn status_command(&self, json: bool) -> Output {
        let mut c = Command::new(bin());
        c.args(["status", "--name", &self.name]);
        if json {
            c.arg("--json");
        }
        c.env("AFXDP_BOND_RUN_DIR", &self.run_dir);
        netlab::run_with_timeout(&mut c, Duration::from_secs(10)).unwrap()
    }

    /// Every member distributing (802.3ad).
    pub fn distributing(&self) -> bool {
        self.status_json().is_some_and(|v| {
            v["members"].as_array().is_some_and(|a| {
                !a.is_empty() && a.iter().all(|m| m["lacp"]["distributing"] == true)
            })
        })
    }

    /// The active member's name.
    pub fn active_member(&self) -> Option<String> {
        self.status_json()?["active_member"]
            .as_str()
            .map(str::to_string)
    }

    /// SIGTERM; asserts it exits by itself within 5 s, with status 0. Returns its log.
    pub fn stop(mut self) -> String {
        let c = self.child.take().unwrap();
        c.signal(libc::SIGTERM).unwrap();
        let (out, in_time) = c.wait_timeout(Duration::from_secs(5)).unwrap();
        let log = self.log();
        assert!(
            in_time,
            "the bond did not stop within 5 s of SIGTERM:\n{log}"
        );
        assert!(
            out.status.success(),
            "the bond exited with {}:\n{log}",
            out.status
        );
        assert!(log.contains("members restored"), "{log}");
        log
    }
}

/// A packet capture (`tcpdump -w`) on one interface of a namespace.
pub struct Capture {
    pub file: PathBuf,
    child: Option<ChildGuard>,
    _dir: StateDir,
}

impl Capture {
    /// Starts capturing every frame on `ifname` (optionally only those matching `filter`).
    pub fn start(ns: &Netns, ifname: &str, filter: Option<&str>) -> Self {
        let dir = StateDir::new().unwrap();
        let file = dir.path().join(format!("{ifname}.pcap"));
        let mut args = vec![
            "-i".to_string(),
            ifname.to_string(),
            "-U".into(),
            "-n".into(),
            "-s".into(),
            "0".into(),
            "-w".into(),
            file.to_string_lossy().into_owned(),
        ];
        if let Some(f) = filter {
            args.push(f.to_string());
        }
        let child = ns.spawn("tcpdump", &args).expect("tcpdump");
        // tcpdump writes the file header once it listens.
        wait_for("tcpdump to start", Duration::from_secs(10), || {
            fs::metadata(&file).is_ok_and(|m| m.len() >= 24)
        });
        Self {
            file,
            child: Some(child),
            _dir: dir,
        }
    }

    /// Stops the capture (SIGINT: tcpdump flushes and exits).
    pub fn stop(&mut self) {
        if let Some(c) = self.child.take() {
            let _ = c.signal(libc::SIGINT);
            let _ = c.wait_timeout(Duration::from_secs(5));
        }
    }

    /// `tshark -r FILE ARGS...`, standard output.
    pub fn tshark(&mut self, args: &[&str]) -> String {
        self.stop();
        tshark(&self.file, args)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `tshark -r FILE ARGS...` (fails loudly if tshark is missing).
pub fn tshark(file: &Path, args: &[&str]) -> String {
    let mut c = Command::new("tshark");
    c.arg("-r").arg(file).args(args);
    let out = netlab::run_with_timeout(&mut c, Duration::from_secs(60))
        .expect("tshark must be installed (scripts/setup installs it)");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The frames of `file` that tshark flags as malformed or with an expert warning or
/// worse, except those matching `allowed` (a display filter for known benign notes, with
/// the reason in the caller). One line per frame.
pub fn tshark_problems(file: &Path, allowed: Option<&str>) -> String {
    let base = "_ws.malformed || _ws.expert.severity >= 6291456";
    let filter = match allowed {
        Some(a) => format!("({base}) && !({a})"),
        None => base.to_string(),
    };
    tshark(
        file,
        &[
            // TCP sequence analysis judges a flow as seen at one capture point (a capture on
            // one member of a bond sees retransmissions after a cut, and "previous segment
            // not captured" where the flow moved to another member): notes about the flow,
            // not about how a frame is built. Everything else is checked.
            "-o",
            "tcp.analyze_sequence_numbers:FALSE",
            "-Y",
            &filter,
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "eth.src",
            "-e",
            "_ws.col.Protocol",
            "-e",
            "_ws.col.Info",
            "-e",
            "_ws.expert.message",
        ],
    )
}

/// The number of frames in a capture.
pub fn frame_count(file: &Path) -> usize {
    tshark(file, &["-T", "fields", "-e", "frame.number"])
        .lines()
        .count()
}

/// Seconds since the Unix epoch (the time base of tshark's `frame.time_epoch`).
pub fn epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// `ping -c COUNT` from `ns`; the number answered.
pub fn ping(ns: &Netns, to: &str, count: u32) -> u32 {
    let out = ns
        .exec_timeout(
            "ping",
            &[
                "-n",
                "-q",
                "-c",
                &count.to_string(),
                "-i",
                "0.1",
                "-W",
                "1",
                to,
            ],
            Duration::from_secs(u64::from(count) + 10),
        )
        .unwrap();
    netlab::ping_received(&String::from_utf8_lossy(&out.stdout))
}

/// Sends `bytes` bytes over TCP from `client` to a server in `server` listening on
/// `addr`, and returns what the server counted (it answers with the count).
pub fn tcp_transfer(client: &Netns, server: &Netns, addr: SocketAddrV4, bytes: usize) -> usize {
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        let srv = s.spawn(move || {
            server
                .enter(|| {
                    let l = TcpListener::bind(addr).expect("bind");
                    l.set_nonblocking(true).unwrap();
                    tx.send(()).unwrap();
                    let t = Instant::now();
                    let mut c = loop {
                        match l.accept() {
                            Ok((c, _)) => break c,
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                                assert!(
                                    t.elapsed() < Duration::from_secs(15),
                                    "no TCP connection within 15 s"
                                );
                                std::thread::sleep(Duration::from_millis(10));
                            }
                            Err(e) => panic!("accept: {e}"),
                        }
                    };
                    c.set_nonblocking(false).unwrap();
                    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut n = 0usize;
                    loop {
                        match c.read(&mut buf) {
                            Ok(0) => break,
                            Ok(k) => n += k,
                            Err(e) => panic!("server read: {e} after {n} bytes"),
                        }
                    }
                    c.write_all(&(n as u64).to_be_bytes()).unwrap();
                    n
                })
                .unwrap()
        });
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let counted = client
            .enter(|| {
                let mut c = TcpStream::connect_timeout(&addr.into(), Duration::from_secs(10))
                    .expect("connect");
                c.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let chunk = vec![0x5au8; 64 * 1024];
                let mut left = bytes;
                while left > 0 {
                    let k = left.min(chunk.len());
                    c.write_all(&chunk[..k]).expect("client write");
                    left -= k;
                }
                c.shutdown(std::net::Shutdown::Write).unwrap();
                let mut ans = [0u8; 8];
                c.read_exact(&mut ans).expect("server's count");
                u64::from_be_bytes(ans) as usize
            })
            .unwrap();
        let n = srv.join().unwrap();
        assert_eq!(n, counted);
        n
    })
}

/// The interface names of the root namespace (to check nothing leaked into it).
pub fn root_links() -> String {
    netlab::run_ok("ip", &["-o", "link", "show"]).unwrap_or_default()
}

/// Asserts nothing of this process is left in the root namespace or in `ip netns`.
pub fn assert_no_leftovers() {
    let own = format!("{}{:x}", netlab::PREFIX, std::process::id());
    let links = root_links();
    assert!(
        !links.contains(&own),
        "interfaces of this test left in the root namespace:\n{links}"
    );
}

/// Turns off transmit checksum offload on `ifname` in `ns`: a host that sends into the bond
/// over a veth must put real checksums in its frames, since AF_XDP hands the bond the bytes
/// without the kernel's "checksum still to be done" mark (a physical wire always carries
/// complete checksums).
pub fn tx_csum_off(ns: &Netns, ifname: &str) {
    ns.run("ethtool", &["-K", ifname, "tx", "off"])
        .expect("ethtool -K tx off");
}
