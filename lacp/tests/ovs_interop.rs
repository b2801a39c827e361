//! Interoperation with Open vSwitch: this crate's LACP, driven by a small harness over
//! AF_PACKET sockets, negotiates with an OVS bond (`lacp=active`,
//! `other_config:lacp-time=fast`, userspace datapath) over two veth pairs, every end inside
//! network namespaces this test creates. Then one veth is set down and the port leaves on
//! both sides.
//!
//! Needs root, `ip` and Open vSwitch: `cargo test -p lacp --test ovs_interop -- --include-ignored`.
#![allow(clippy::needless_range_loop)]

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use lacp::wire::SLOW_PROTOCOLS_MAC;
use lacp::{Config, Event, LacpRate, Link, MacAddr, System};

const OUR_MACS: [[u8; 6]; 2] = [[0x02, 0, 0, 0, 0xaa, 1], [0x02, 0, 0, 0, 0xaa, 2]];
const BOND_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0xaa, 0]);

fn run(cmd: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String, String> {
    let out = Command::new(cmd)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn must(cmd: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    run(cmd, args, env).unwrap_or_else(|e| panic!("{e}"))
}

/// Everything the test creates; removed on drop, also when the test fails.
struct Lab {
    ns_us: String,
    ns_ovs: String,
    dir: PathBuf,
    ours: [String; 2],
    theirs: [String; 2],
}

impl Lab {
    fn new() -> Self {
        let pid = std::process::id();
        let tag = format!("{:x}", pid % 0xfffff);
        let lab = Self {
            ns_us: format!("lacpi-{pid}-us"),
            ns_ovs: format!("lacpi-{pid}-ovs"),
            dir: std::env::temp_dir().join(format!("lacpi-{pid}-ovs")),
            ours: [format!("lu{tag}a"), format!("lu{tag}b")],
            theirs: [format!("lo{tag}a"), format!("lo{tag}b")],
        };
        lab.cleanup(); // leftovers of a killed run with the same name
        std::fs::create_dir_all(&lab.dir).unwrap();
        lab
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let d = self.dir.to_str().unwrap().to_string();
        ["OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVS_SYSCONFDIR"]
            .into_iter()
            .map(|k| (k, d.clone()))
            .collect()
    }

    fn ovs(&self, cmd: &str, args: &[&str]) -> Result<String, String> {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut full = vec!["netns", "exec", self.ns_ovs.as_str(), cmd];
        full.extend_from_slice(args);
        run("ip", &full, &env)
    }

    fn d(&self, f: &str) -> String {
        self.dir.join(f).to_str().unwrap().to_string()
    }

    fn setup(&self) {
        must("ip", &["netns", "add", &self.ns_us], &[]);
        must("ip", &["netns", "add", &self.ns_ovs], &[]);
        for i in 0..2 {
            let m = MacAddr(OUR_MACS[i]).to_string();
            must(
                "ip",
                &[
                    "-n",
                    &self.ns_us,
                    "link",
                    "add",
                    &self.ours[i],
                    "address",
                    &m,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &self.theirs[i],
                    "netns",
                    &self.ns_ovs,
                ],
                &[],
            );
            must(
                "ip",
                &["-n", &self.ns_us, "link", "set", &self.ours[i], "up"],
                &[],
            );
            must(
                "ip",
                &["-n", &self.ns_ovs, "link", "set", &self.theirs[i], "up"],
                &[],
            );
        }
        must(
            "ip",
            &[
                "netns",
                "exec",
                &self.ns_ovs,
                "sysctl",
                "-q",
                "-w",
                "net.ipv4.conf.all.arp_ignore=1",
            ],
            &[],
        );
        // A private ovsdb-server and ovs-vswitchd, all state in the temp dir.
        must(
            "ovsdb-tool",
            &[
                "create",
                &self.d("conf.db"),
                "/usr/share/openvswitch/vswitch.ovsschema",
            ],
            &[],
        );
        self.ovs(
            "ovsdb-server",
            &[
                &self.d("conf.db"),
                &format!("--remote=punix:{}", self.d("db.sock")),
                &format!("--pidfile={}", self.d("ovsdb-server.pid")),
                &format!("--unixctl={}", self.d("ovsdb-server.ctl")),
                &format!("--log-file={}", self.d("ovsdb-server.log")),
                "--detach",
            ],
        )
        .unwrap();
        let db = format!("--db=unix:{}", self.d("db.sock"));
        self.ovs("ovs-vsctl", &[&db, "--no-wait", "init"]).unwrap();
        self.ovs(
            "ovs-vswitchd",
            &[
                &format!("unix:{}", self.d("db.sock")),
                &format!("--pidfile={}", self.d("ovs-vswitchd.pid")),
                &format!("--unixctl={}", self.d("ovs-vswitchd.ctl")),
                &format!("--log-file={}", self.d("ovs-vswitchd.log")),
                "--detach",
            ],
        )
        .unwrap();
        self.ovs(
            "ovs-vsctl",
            &[
                &db,
                "add-br",
                "br0",
                "--",
                "set",
                "bridge",
                "br0",
                "datapath_type=netdev",
                "--",
                "add-bond",
                "br0",
                "bond0",
                &self.theirs[0],
                &self.theirs[1],
                "lacp=active",
                "bond_mode=balance-tcp",
                "other_config:lacp-time=fast",
            ],
        )
        .unwrap();
    }

    fn appctl(&self, args: &[&str]) -> String {
        let ctl = format!("--target={}", self.d("ovs-vswitchd.ctl"));
        let mut a = vec![ctl.as_str()];
        a.extend_from_slice(args);
        self.ovs("ovs-appctl", &a).unwrap_or_else(|e| e)
    }

    fn lacp_show(&self) -> String {
        self.appctl(&["lacp/show", "bond0"])
    }

    fn member_line(&self, show: &str, i: usize) -> String {
        let prefix = format!("member: {}:", self.theirs[i]);
        show.lines()
            .find(|l| l.trim_start().starts_with(&prefix))
            .unwrap_or("")
            .to_string()
    }

    fn kill_pidfile(&self, name: &str) {
        let Ok(pid) = std::fs::read_to_string(self.dir.join(name)) else {
            return;
        };
        let pid = pid.trim();
        if pid.is_empty() {
            return;
        }
        let _ = run("kill", &["-TERM", pid], &[]);
        for _ in 0..50 {
            if run("kill", &["-0", pid], &[]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = run("kill", &["-KILL", pid], &[]);
    }

    fn cleanup(&self) {
        self.kill_pidfile("ovs-vswitchd.pid");
        self.kill_pidfile("ovsdb-server.pid");
        let _ = run("ip", &["netns", "del", &self.ns_us], &[]);
        let _ = run("ip", &["netns", "del", &self.ns_ovs], &[]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// Enters a network namespace on the current thread.
fn enter_netns(name: &str) {
    let f = std::fs::File::open(format!("/var/run/netns/{name}")).expect("netns file");
    // SAFETY: setns with a valid namespace fd only changes this thread's namespace.
    let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
}

/// An AF_PACKET socket bound to one interface, receiving slow-protocols frames.
struct PacketSocket {
    fd: OwnedFd,
    ifindex: i32,
}

impl PacketSocket {
    fn open(ifname: &str) -> Self {
        let proto = (0x8809u16).to_be() as i32;
        // SAFETY: plain socket(2) call; the result is checked.
        let raw =
            unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK, proto) };
        assert!(raw >= 0, "socket: {}", std::io::Error::last_os_error());
        // SAFETY: raw is a fresh, owned descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let cname = CString::new(ifname).unwrap();
        // SAFETY: cname is a valid NUL-terminated string.
        let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) } as i32;
        assert!(ifindex > 0, "no interface {ifname}");
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto as u16;
        sll.sll_ifindex = ifindex;
        // SAFETY: sll is a valid sockaddr_ll of the size given.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(r, 0, "bind: {}", std::io::Error::last_os_error());
        // SAFETY: packet_mreq is plain data; zeroed is a valid value.
        let mut mreq: libc::packet_mreq = unsafe { std::mem::zeroed() };
        mreq.mr_ifindex = ifindex;
        mreq.mr_type = libc::PACKET_MR_MULTICAST as u16;
        mreq.mr_alen = 6;
        mreq.mr_address[..6].copy_from_slice(&SLOW_PROTOCOLS_MAC.0);
        // SAFETY: mreq is a valid packet_mreq of the size given.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_ADD_MEMBERSHIP,
                (&mreq as *const libc::packet_mreq).cast(),
                size_of::<libc::packet_mreq>() as u32,
            )
        };
        assert_eq!(
            r,
            0,
            "PACKET_ADD_MEMBERSHIP: {}",
            std::io::Error::last_os_error()
        );
        Self { fd, ifindex }
    }

    fn recv(&self, buf: &mut [u8]) -> Option<usize> {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        (n > 0).then_some(n as usize)
    }

    fn send(&self, frame: &[u8]) {
        // SAFETY: frame is valid for frame.len() bytes. Errors (link down) are ignored:
        // LACP treats them like a lost frame.
        let _ = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
    }

    /// Carrier (IFF_RUNNING) of the bound interface.
    fn running(&self) -> bool {
        // SAFETY: ifreq is plain data; zeroed is a valid value.
        let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
        let mut name = [0u8; libc::IFNAMSIZ];
        // SAFETY: name has room for IFNAMSIZ bytes.
        unsafe { libc::if_indextoname(self.ifindex as u32, name.as_mut_ptr().cast()) };
        for (d, s) in ifr.ifr_name.iter_mut().zip(name.iter()) {
            *d = *s as libc::c_char;
        }
        // SAFETY: SIOCGIFFLAGS fills ifr_ifru.ifru_flags of a valid ifreq.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) };
        // SAFETY: the union field written by SIOCGIFFLAGS.
        r == 0 && (i32::from(unsafe { ifr.ifr_ifru.ifru_flags }) & libc::IFF_RUNNING) != 0
    }
}

#[derive(Default, Clone, Debug)]
struct Shared {
    distributing: [bool; 2],
    collecting: [bool; 2],
    link: [bool; 2],
    partner: [Option<lacp::PortInfo>; 2],
    events: Vec<(Duration, Event)>,
    tx: u64,
    rx: u64,
    status: String,
}

/// The harness: a real-clock loop around a `lacp::System`, bounded in time.
fn lacp_loop(ns: String, ifnames: [String; 2], shared: Arc<Mutex<Shared>>, stop: Arc<AtomicBool>) {
    enter_netns(&ns);
    let socks = [
        PacketSocket::open(&ifnames[0]),
        PacketSocket::open(&ifnames[1]),
    ];
    let mut sys = System::new(Config {
        lacp_rate: LacpRate::Fast,
        bond_mac: BOND_MAC,
        ..Config::default()
    })
    .unwrap();
    let start = Instant::now();
    let mut link = [false; 2];
    for (i, m) in OUR_MACS.iter().enumerate() {
        sys.add_port(Duration::ZERO, i, MacAddr(*m)).unwrap();
    }
    let mut buf = [0u8; 2048];
    let mut last_link_check = Duration::ZERO;
    let (mut tx, mut rx) = (0u64, 0u64);
    let mut events = Vec::new();
    while !stop.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(120) {
        let now = start.elapsed();
        if now >= last_link_check + Duration::from_millis(50) || now.is_zero() {
            last_link_check = now;
            for i in 0..2 {
                let up = socks[i].running();
                if up != link[i] {
                    link[i] = up;
                    let l = if up { Link::up(10_000) } else { Link::down() };
                    sys.handle_link(now, i, l).unwrap();
                }
            }
        }
        for (i, s) in socks.iter().enumerate() {
            while let Some(n) = s.recv(&mut buf) {
                rx += 1;
                let _ = sys.handle_rx(start.elapsed(), i, &buf[..n]).unwrap();
            }
        }
        let now = start.elapsed();
        sys.handle_timeout(now);
        while let Some(t) = sys.poll_transmit(now) {
            socks[t.port].send(t.frame.as_bytes());
            tx += 1;
        }
        while let Some(e) = sys.poll_event() {
            events.push((now, e));
        }
        {
            let mut sh = shared.lock().unwrap();
            for i in 0..2 {
                sh.distributing[i] = sys.is_distributing(i);
                sh.collecting[i] = sys.is_collecting(i);
                sh.partner[i] = sys.port(i).map(|p| p.partner);
                sh.link[i] = link[i];
            }
            sh.events.clone_from(&events);
            sh.tx = tx;
            sh.rx = rx;
            sh.status = format!("{:?} / {:?}", sys.port(0), sys.port(1));
        }
        // Sleep until the next deadline, a frame, or 10 ms (for link checks).
        let wait = sys
            .poll_timeout()
            .map_or(Duration::from_millis(10), |t| {
                t.saturating_sub(start.elapsed())
            })
            .min(Duration::from_millis(10));
        let mut fds = [
            libc::pollfd {
                fd: socks[0].fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: socks[1].fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: fds is a valid array of two pollfd.
        unsafe { libc::poll(fds.as_mut_ptr(), 2, wait.as_millis() as i32) };
    }
}

fn wait_for(what: &str, within: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while start.elapsed() < within {
        if cond() {
            return start.elapsed();
        }
        thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out after {within:?} waiting for: {what}");
}

#[test]
#[ignore = "needs root and network namespaces"]
fn negotiates_with_open_vswitch_and_a_cut_port_leaves_both_sides() {
    let lab = Lab::new();
    lab.setup();
    let shared = Arc::new(Mutex::new(Shared::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let (ns, ifs, sh, st) = (
            lab.ns_us.clone(),
            lab.ours.clone(),
            shared.clone(),
            stop.clone(),
        );
        thread::spawn(move || lacp_loop(ns, ifs, sh, st))
    };
    struct StopGuard(Arc<AtomicBool>, Option<thread::JoinHandle<()>>);
    impl Drop for StopGuard {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
            if let Some(h) = self.1.take() {
                let _ = h.join();
            }
        }
    }
    let _guard = StopGuard(stop, Some(worker));

    // Phase 1: negotiation.
    let mut show = String::new();
    let t = wait_for(
        "OVS negotiated, both members current attached, we distribute on both",
        Duration::from_secs(30),
        || {
            show = lab.lacp_show();
            let sh = shared.lock().unwrap();
            show.contains("status: active negotiated")
                && lab.member_line(&show, 0).contains("current attached")
                && lab.member_line(&show, 1).contains("current attached")
                && sh.distributing == [true, true]
                && sh.collecting == [true, true]
        },
    );
    println!("negotiated with OVS in {t:?}\n{show}");
    let bond = lab.appctl(&["bond/show", "bond0"]);
    println!("{bond}");
    {
        let sh = shared.lock().unwrap();
        for i in 0..2 {
            let p = sh.partner[i].unwrap();
            assert!(
                p.state.contains(lacp::PortState::from_bits_retain(0x3f)),
                "partner state {:?}",
                p.state
            );
        }
        println!(
            "our side: distributing {:?}, {} LACPDUs sent, {} received",
            sh.distributing, sh.tx, sh.rx
        );
    }
    assert!(
        show.contains(&format!("sys_id: {BOND_MAC}")) || show.contains(&BOND_MAC.to_string()),
        "OVS sees our system id:\n{show}"
    );

    // Phase 2: cut the second veth (set it down: carrier lost at both ends).
    must(
        "ip",
        &["-n", &lab.ns_us, "link", "set", &lab.ours[1], "down"],
        &[],
    );
    let t = wait_for("port 1 left on both sides", Duration::from_secs(15), || {
        show = lab.lacp_show();
        let sh = shared.lock().unwrap();
        sh.distributing == [true, false]
            && !lab.member_line(&show, 1).contains("current attached")
            && lab.member_line(&show, 0).contains("current attached")
            && show.contains("status: active negotiated")
    });
    println!(
        "after cutting {}: left both sides in {t:?}\n{show}",
        lab.ours[1]
    );
    let bond = lab.appctl(&["bond/show", "bond0"]);
    println!("{bond}");

    // Phase 3: repair; the port comes back on both sides.
    must(
        "ip",
        &["-n", &lab.ns_us, "link", "set", &lab.ours[1], "up"],
        &[],
    );
    let t = wait_for("port 1 back on both sides", Duration::from_secs(15), || {
        show = lab.lacp_show();
        let sh = shared.lock().unwrap();
        sh.distributing == [true, true]
            && lab.member_line(&show, 0).contains("current attached")
            && lab.member_line(&show, 1).contains("current attached")
    });
    println!(
        "after setting {} up again: back on both sides in {t:?}",
        lab.ours[1]
    );

    let sh = shared.lock().unwrap();
    println!(
        "our events: {:?}",
        sh.events
            .iter()
            .map(|(t, e)| format!("{:.3}s {e:?}", t.as_secs_f64()))
            .collect::<Vec<_>>()
    );
    assert!(sh.events.iter().any(|(_, e)| *e
        == Event::PortDistributing {
            port: 1,
            distributing: false
        }));
}
