//! Interoperation of the `lacp` crate alone with Open vSwitch: the crate's `System`, driven
//! by a small harness over AF_PACKET sockets, negotiates with an OVS bond (`lacp=active`,
//! `other_config:lacp-time=fast`, userspace datapath) over two veth pairs, every end inside
//! network namespaces this test creates (`afxdp_bond::netlab`). Then one veth is set down and
//! the port leaves on both sides, and comes back when it is set up again.
//!
//! Needs root, `ip` and Open vSwitch:
//! `cargo test -p afxdp-bond --test lacp_ovs_interop -- --include-ignored`.
#![allow(clippy::needless_range_loop)]

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use afxdp_bond::netlab::{Netns, Ovs};
use lacp::wire::SLOW_PROTOCOLS_MAC;
use lacp::{Config, Event, LacpRate, Link, MacAddr, System};

const OUR_MACS: [[u8; 6]; 2] = [[0x02, 0, 0, 0, 0xaa, 1], [0x02, 0, 0, 0, 0xaa, 2]];
const BOND_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0xaa, 0]);

/// Everything the test creates; the netlab guards remove it on drop, also when the test fails.
struct Lab {
    ovs: Ovs,
    /// Held so the namespace lives (and is removed) with the lab.
    _ns_ovs: Netns,
    ns_us: Netns,
    ours: [String; 2],
    theirs: [String; 2],
}

impl Lab {
    fn new() -> Self {
        let ns_us = Netns::new().expect("namespace");
        let ns_ovs = Netns::new().expect("namespace");
        let (a0, b0) = ns_us.veth_to(&ns_ovs).expect("veth");
        let (a1, b1) = ns_us.veth_to(&ns_ovs).expect("veth");
        for (i, a) in [&a0, &a1].into_iter().enumerate() {
            ns_us
                .ip(&[
                    "link",
                    "set",
                    a,
                    "address",
                    &MacAddr(OUR_MACS[i]).to_string(),
                ])
                .expect("set MAC");
        }
        let ovs = Ovs::start(&ns_ovs).expect("start Open vSwitch");
        ovs.lacp_bridge(&[&b0, &b1], &[]).expect("OVS bond");
        Self {
            ovs,
            _ns_ovs: ns_ovs,
            ns_us,
            ours: [a0, a1],
            theirs: [b0, b1],
        }
    }

    fn appctl(&self, args: &[&str]) -> String {
        self.ovs.appctl(args).unwrap_or_else(|e| e.to_string())
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
fn lacp_loop(ifnames: [String; 2], shared: Arc<Mutex<Shared>>, stop: Arc<AtomicBool>) {
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
    let shared = Arc::new(Mutex::new(Shared::default()));
    let stop = Arc::new(AtomicBool::new(false));
    // The harness runs on a thread inside our namespace; the test thread watches both sides
    // and stops the harness when it is done (also when it fails: the guard sets `stop`).
    struct StopGuard(Arc<AtomicBool>);
    impl Drop for StopGuard {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let (ifs, sh, st) = (lab.ours.clone(), shared.clone(), stop.clone());
    let ns_us = &lab.ns_us;
    thread::scope(|s| {
        let harness = s.spawn(move || ns_us.enter(move || lacp_loop(ifs, sh, st)));
        let _guard = StopGuard(stop.clone());
        watch(&lab, &shared);
        drop(_guard);
        harness
            .join()
            .expect("harness thread")
            .expect("enter namespace");
    });
}

fn watch(lab: &Lab, shared: &Mutex<Shared>) {
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
    lab.ns_us.set_up(&lab.ours[1], false).expect("cut");
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
    lab.ns_us.set_up(&lab.ours[1], true).expect("repair");
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
