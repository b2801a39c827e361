//! AF_XDP datapath tests in network namespaces: attach/detach of the XDP program (also when
//! the owner is SIGKILLed), reception, forwarding through the shared UMEM, broadcast copies,
//! the TAP host side, rtnetlink carrier events, and member settings restored on drop.
//!
//! Every test builds its own namespaces with `netlab` (unique names, both veth ends inside
//! namespaces, 198.18.0.0/15 addresses, Drop guards) and bounds every wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use afxdp_bond::netlab::{self, Netns};
use afxdp_bond::xdp::{
    self, BindMode, BoundMode, ControlFrame, DatapathHook, MemberLinkEvent, MemberPort, MemberSet,
    RxAction, RxFrame, Tap, TxAction, XdpMode, XskConfig,
};

fn init() {
    let _ = env_logger::builder().is_test(true).try_init();
    netlab::remove_stale();
}

fn small_cfg(xdp_mode: XdpMode) -> XskConfig {
    XskConfig {
        xdp_mode,
        bind_mode: BindMode::Auto,
        ring_size: 256,
        ..XskConfig::default()
    }
}

/// Polls `cond` every 10 ms for at most `limit`.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

fn rx_packets(ns: &Netns, ifname: &str) -> u64 {
    ns.run(
        "cat",
        &[format!("/sys/class/net/{ifname}/statistics/rx_packets")],
    )
    .ok()
    .and_then(|s| s.trim().parse().ok())
    .unwrap_or(0)
}

/// Child side of `xdp_link_detaches_when_owner_is_killed`: attach and wait to be killed.
#[test]
#[ignore = "needs root and network namespaces"]
fn child_attach_helper() {
    let Ok(ifname) = std::env::var("AFXDP_TEST_CHILD_ATTACH") else {
        return; // Run as an ordinary test: nothing to do.
    };
    let port = MemberPort::open(&ifname, &small_cfg(XdpMode::Native)).expect("attach");
    println!("attached {} {}", port.name(), port.xdp_mode());
    std::thread::sleep(Duration::from_secs(30));
    panic!("child_attach_helper was not killed within 30 s");
}

#[test]
#[ignore = "needs root and network namespaces"]
fn xdp_link_detaches_when_owner_is_killed() {
    init();
    let a = Netns::new().unwrap();
    let b = Netns::new().unwrap();
    let (m0, _p0) = a.veth_to(&b).unwrap();
    let exe = std::env::current_exe().unwrap();
    let child = std::process::Command::new("ip")
        .args(["netns", "exec", a.name()])
        .arg(&exe)
        .args([
            "child_attach_helper",
            "--exact",
            "--include-ignored",
            "--nocapture",
        ])
        .env("AFXDP_TEST_CHILD_ATTACH", &m0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let child = netlab::ChildGuard::new(child);
    assert!(
        wait_until(Duration::from_secs(10), || a
            .link_details(&m0)
            .is_ok_and(|s| s.contains("prog/xdp"))),
        "the child never attached its program: {:?}",
        a.link_details(&m0)
    );
    child.signal(libc::SIGKILL).unwrap();
    let (_, exited) = child.wait_timeout(Duration::from_secs(5)).unwrap();
    assert!(exited, "child survived SIGKILL");
    assert!(
        wait_until(Duration::from_secs(5), || a
            .link_details(&m0)
            .is_ok_and(|s| !s.contains("xdp"))),
        "XDP program still attached after its owner was killed: {}",
        a.link_details(&m0).unwrap()
    );
}

#[test]
#[ignore = "needs root and network namespaces"]
fn xdp_program_detaches_on_drop_in_both_modes() {
    init();
    let a = Netns::new().unwrap();
    let b = Netns::new().unwrap();
    let (m0, _p0) = a.veth_to(&b).unwrap();
    for (mode, word) in [(XdpMode::Native, "xdp "), (XdpMode::Generic, "xdpgeneric")] {
        let details = a
            .enter(|| {
                let port = MemberPort::open(&m0, &small_cfg(mode)).unwrap();
                let d = a.link_details(&m0).unwrap();
                assert!(
                    format!("{}", port.xdp_mode()) == format!("{mode}"),
                    "asked {mode}, got {}",
                    port.xdp_mode()
                );
                d
            })
            .unwrap();
        assert!(details.contains(word), "{mode}: `{word}` not in {details}");
        assert!(
            !a.link_details(&m0).unwrap().contains("xdp"),
            "still attached after drop"
        );
    }
    // A second program on the same interface is refused with EBUSY ("already in use").
    a.enter(|| {
        let _first = MemberPort::open(&m0, &small_cfg(XdpMode::Native)).unwrap();
        let second = MemberPort::open(&m0, &small_cfg(XdpMode::Native)).unwrap_err();
        assert_eq!(second.kind(), xdp::ErrorKind::Busy, "{second}");
    })
    .unwrap();
}

#[test]
#[ignore = "needs root and network namespaces"]
fn xdp_frames_from_peer_arrive_on_the_socket() {
    init();
    let a = Netns::new().unwrap();
    let b = Netns::new().unwrap();
    let (m0, p0) = a.veth_to(&b).unwrap();
    b.add_addr(&p0, "198.18.7.2/24").unwrap();
    let peer_mac = b.mac(&p0).unwrap();
    for mode in [XdpMode::Native, XdpMode::Generic] {
        let stop = AtomicBool::new(false);
        let got = std::thread::scope(|s| {
            let rx = s.spawn(|| {
                a.enter(|| {
                    let cfg = small_cfg(mode);
                    let ports = [MemberPort::open(&m0, &cfg).unwrap()];
                    let mut w = xdp::open_workers(&ports, &cfg, None).unwrap();
                    let dp = &mut w[0];
                    assert_eq!(dp.bind_mode(), BoundMode::Copy, "veth has no zero-copy");
                    let mut arps = 0;
                    let mut burst: Vec<RxFrame> = Vec::with_capacity(64);
                    let end = Instant::now() + Duration::from_secs(10);
                    while arps < 3 && Instant::now() < end {
                        burst.clear();
                        dp.recv_burst(&mut burst);
                        for f in burst.drain(..) {
                            let d = dp.data(&f.frame);
                            if d.len() >= 42 && d[12..14] == [8, 6] && d[6..12] == peer_mac {
                                arps += 1;
                            }
                            dp.release(f.frame);
                        }
                        dp.flush();
                        dp.wait_for_work(None, Duration::from_millis(20)).unwrap();
                    }
                    stop.store(true, Ordering::Relaxed);
                    arps
                })
                .unwrap()
            });
            // ARP requests from the peer (nobody answers: the socket takes every frame).
            let end = Instant::now() + Duration::from_secs(10);
            while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                let _ = b.exec_timeout(
                    "ping",
                    &["-c", "1", "-W", "1", "198.18.7.1"],
                    Duration::from_secs(3),
                );
            }
            rx.join().unwrap()
        });
        assert!(
            got >= 3,
            "{mode}: only {got} ARP requests reached the AF_XDP socket"
        );
    }
}

/// Forwards between members 0 and 1 with the burst API until `stop`.
fn l2fwd_loop(dp: &mut xdp::Datapath, stop: &AtomicBool) {
    let mut burst: Vec<RxFrame> = Vec::with_capacity(128);
    let end = Instant::now() + Duration::from_secs(60);
    while !stop.load(Ordering::Relaxed) && Instant::now() < end {
        burst.clear();
        if dp.recv_burst(&mut burst) == 0 {
            dp.wait_for_work(None, Duration::from_millis(10)).unwrap();
        }
        for f in burst.drain(..) {
            let to = 1 - f.member;
            if let Err(fr) = dp.send(to, f.frame) {
                dp.release(fr);
            }
        }
        dp.flush();
    }
}

/// ns1 [a1] --- [b1] fwd [b2] --- [a2] ns2, with 198.18.0.1 and .2 on a1/a2.
struct Wire {
    n1: Netns,
    _n2: Netns,
    fwd: Netns,
    b1: String,
    b2: String,
}

fn wire(queues: u32) -> Wire {
    let n1 = Netns::new().unwrap();
    let n2 = Netns::new().unwrap();
    let fwd = Netns::new().unwrap();
    let (a1, b1) = n1.veth_to_queues(&fwd, queues).unwrap();
    let (a2, b2) = n2.veth_to_queues(&fwd, queues).unwrap();
    n1.add_addr(&a1, "198.18.0.1/24").unwrap();
    n2.add_addr(&a2, "198.18.0.2/24").unwrap();
    Wire {
        n1,
        _n2: n2,
        fwd,
        b1,
        b2,
    }
}

fn ping_ok(ns: &Netns, dst: &str, count: u32) -> Result<String, String> {
    let out = ns
        .exec_timeout(
            "ping",
            &["-c", &count.to_string(), "-i", "0.05", "-W", "2", dst],
            Duration::from_secs(20),
        )
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() && text.contains(" 0% packet loss") {
        Ok(text)
    } else {
        Err(text)
    }
}

#[test]
#[ignore = "needs root and network namespaces"]
fn xdp_forwarding_through_shared_umem() {
    init();
    for mode in [XdpMode::Native, XdpMode::Generic] {
        let w = wire(1);
        let stop = AtomicBool::new(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let res = std::thread::scope(|s| {
            let fwd = s.spawn(|| {
                w.fwd
                    .enter(|| {
                        let cfg = small_cfg(mode);
                        let ports = [
                            MemberPort::open(&w.b1, &cfg).unwrap(),
                            MemberPort::open(&w.b2, &cfg).unwrap(),
                        ];
                        let mut ws = xdp::open_workers(&ports, &cfg, None).unwrap();
                        ready_tx.send(()).unwrap();
                        l2fwd_loop(&mut ws[0], &stop);
                        ws[0].stats().clone()
                    })
                    .unwrap()
            });
            ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
            let r = ping_ok(&w.n1, "198.18.0.2", 10);
            stop.store(true, Ordering::Relaxed);
            (r, fwd.join().unwrap())
        });
        let (ping, stats) = res;
        ping.unwrap_or_else(|e| panic!("{mode}: ping across l2fwd failed: {e}"));
        // Forwarded by moving descriptors: nothing was copied in user space.
        assert_eq!(stats.frames_copied, 0);
        assert!(stats.members[0].tx_frames >= 10 && stats.members[1].tx_frames >= 10);
    }
}

#[test]
#[ignore = "needs root and network namespaces"]
fn xdp_two_queues_two_workers() {
    init();
    let w = wire(2);
    let stop = AtomicBool::new(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let ping = std::thread::scope(|s| {
        let stop = &stop;
        let w2 = &w;
        s.spawn(move || {
            w2.fwd
                .enter(|| {
                    let cfg = XskConfig {
                        workers: 2,
                        ..small_cfg(XdpMode::Native)
                    };
                    let ports = [
                        MemberPort::open(&w2.b1, &cfg).unwrap(),
                        MemberPort::open(&w2.b2, &cfg).unwrap(),
                    ];
                    assert_eq!(ports[0].queues(), 2, "veth with 2 queues: ethtool channels");
                    let ws = xdp::open_workers(&ports, &cfg, None).unwrap();
                    assert_eq!(ws.len(), 2);
                    ready_tx.send(()).unwrap();
                    std::thread::scope(|s2| {
                        for mut dp in ws {
                            s2.spawn(move || l2fwd_loop(&mut dp, stop));
                        }
                    });
                })
                .unwrap();
        });
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let r = ping_ok(&w.n1, "198.18.0.2", 10);
        stop.store(true, Ordering::Relaxed);
        r
    });
    ping.unwrap();
}

/// Frames from member 0 go to every other member (copies); everything else is dropped.
struct Flood {
    members: usize,
}

impl DatapathHook for Flood {
    fn on_member_rx(&mut self, _now: Duration, member: usize, _frame: &mut [u8]) -> RxAction {
        if member == 0 {
            RxAction::ForwardMany(MemberSet::first_n(self.members).without(0))
        } else {
            RxAction::Drop
        }
    }
    fn on_host_tx(&mut self, _now: Duration, _frame: &mut [u8]) -> TxAction {
        TxAction::Drop
    }
}

#[test]
#[ignore = "needs root and network namespaces"]
fn xdp_broadcast_copies_to_every_member() {
    init();
    let hub = Netns::new().unwrap();
    let peers: Vec<Netns> = (0..3).map(|_| Netns::new().unwrap()).collect();
    let links: Vec<(String, String)> = peers.iter().map(|p| hub.veth_to(p).unwrap()).collect();
    peers[0].add_addr(&links[0].1, "198.18.3.1/24").unwrap();
    let before: Vec<u64> = (1..3).map(|i| rx_packets(&peers[i], &links[i].1)).collect();
    let stop = AtomicBool::new(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let stats = std::thread::scope(|s| {
        let h = s.spawn(|| {
            hub.enter(|| {
                let cfg = small_cfg(XdpMode::Native);
                let ports: Vec<MemberPort> = links
                    .iter()
                    .map(|l| MemberPort::open(&l.0, &cfg).unwrap())
                    .collect();
                let mut ws = xdp::open_workers(&ports, &cfg, None).unwrap();
                ready_tx.send(()).unwrap();
                ws[0].run(&mut Flood { members: 3 }, &stop).unwrap();
                ws[0].stats().clone()
            })
            .unwrap()
        });
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        // Five broadcast echo requests from peer 0 (no ARP needed).
        let _ = peers[0].exec_timeout(
            "ping",
            &["-b", "-c", "5", "-i", "0.05", "-W", "1", "198.18.3.255"],
            Duration::from_secs(10),
        );
        std::thread::sleep(Duration::from_millis(100));
        stop.store(true, Ordering::Relaxed);
        h.join().unwrap()
    });
    let rx0 = stats.members[0].rx_frames;
    assert!(rx0 >= 5, "hub saw {rx0} frames from peer 0");
    // Every frame from member 0 went out on members 1 and 2: one descriptor move, one copy.
    assert_eq!(stats.members[1].tx_frames, rx0, "{stats:?}");
    assert_eq!(stats.members[2].tx_frames, rx0, "{stats:?}");
    assert_eq!(stats.frames_copied, rx0, "{stats:?}");
    for (i, b) in (1..3).zip(before) {
        let after = rx_packets(&peers[i], &links[i].1);
        assert!(
            after >= b + rx0,
            "peer {i} received {} of {rx0} frames",
            after - b
        );
    }
}

/// A one-member "bond": host frames go out on member 0, member frames go to the host; it
/// also records link events and injects one control frame.
#[derive(Default)]
struct HostBridge {
    events: Vec<(Duration, usize, MemberLinkEvent)>,
    control: Option<Vec<u8>>,
}

impl DatapathHook for HostBridge {
    fn on_member_rx(&mut self, _now: Duration, _member: usize, _frame: &mut [u8]) -> RxAction {
        RxAction::DeliverToHost
    }
    fn on_host_tx(&mut self, _now: Duration, _frame: &mut [u8]) -> TxAction {
        TxAction::Send(0)
    }
    fn poll_control_frame(&mut self, _now: Duration, buf: &mut [u8]) -> Option<ControlFrame> {
        let f = self.control.take()?;
        buf[..f.len()].copy_from_slice(&f);
        Some(ControlFrame {
            member: 0,
            len: f.len(),
        })
    }
    fn on_link_event(&mut self, now: Duration, member: usize, ev: &MemberLinkEvent) {
        self.events.push((now, member, ev.clone()));
    }
}

#[test]
#[ignore = "needs root and network namespaces"]
fn xdp_tap_round_trip_and_control_frame() {
    init();
    let a = Netns::new().unwrap();
    let b = Netns::new().unwrap();
    let (m0, p0) = a.veth_to(&b).unwrap();
    b.add_addr(&p0, "198.18.5.2/24").unwrap();
    let tap_name = netlab::unique_name('t');
    let m0_mac = a.mac(&m0).unwrap();
    // A control frame: an Ethernet frame with a local-experimental EtherType 0x88b5.
    let mut control = vec![0xff; 6];
    control.extend_from_slice(&m0_mac);
    control.extend_from_slice(&[0x88, 0xb5]);
    control.resize(60, 0x5a);
    let before = rx_packets(&b, &p0);
    let stop = AtomicBool::new(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (ping, stats, hook) = std::thread::scope(|s| {
        let h = s.spawn(|| {
            a.enter(|| {
                let cfg = small_cfg(XdpMode::Native);
                let ports = [MemberPort::open(&m0, &cfg).unwrap()];
                let tap = Tap::create(&tap_name, 1).unwrap();
                tap.configure(m0_mac, 1500).unwrap();
                let mut ws = xdp::open_workers(&ports, &cfg, Some(tap)).unwrap();
                ready_tx.send(()).unwrap();
                let mut hook = HostBridge {
                    control: Some(control.clone()),
                    ..HostBridge::default()
                };
                ws[0].run(&mut hook, &stop).unwrap();
                (ws[0].stats().clone(), hook)
            })
            .unwrap()
        });
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        a.add_addr(&tap_name, "198.18.5.1/24").unwrap();
        let r = ping_ok(&a, "198.18.5.2", 5);
        stop.store(true, Ordering::Relaxed);
        let (st, hook) = h.join().unwrap();
        (r, st, hook)
    });
    ping.unwrap_or_else(|e| panic!("kernel stack -> TAP -> AF_XDP -> veth ping failed: {e}"));
    assert!(
        stats.from_host_frames >= 5 && stats.to_host_frames >= 5,
        "{stats:?}"
    );
    assert_eq!(stats.control_frames, 1);
    // Peer got pings + the control frame.
    assert!(rx_packets(&b, &p0) >= before + 6);
    // The initial rtnetlink dump reported the member, up, 10 Gb/s full duplex (veth).
    let (_, m, ev) = hook
        .events
        .first()
        .expect("no link event from the initial dump");
    assert_eq!(*m, 0);
    assert!(ev.state.carrier && ev.state.admin_up, "{ev:?}");
    let speed = ev.speed.expect("no speed for an up veth");
    assert_eq!(speed.speed_mbps, Some(10000));
    assert_eq!(speed.duplex, xdp::Duplex::Full);
    // The TAP went away with its last descriptor.
    assert!(a.link_details(&tap_name).is_err());
}

/// Records link events with their time.
#[derive(Default)]
struct Events(Vec<(Duration, usize, MemberLinkEvent)>);

impl DatapathHook for Events {
    fn on_member_rx(&mut self, _: Duration, _: usize, _: &mut [u8]) -> RxAction {
        RxAction::Drop
    }
    fn on_host_tx(&mut self, _: Duration, _: &mut [u8]) -> TxAction {
        TxAction::Drop
    }
    fn on_link_event(&mut self, now: Duration, member: usize, ev: &MemberLinkEvent) {
        self.0.push((now, member, ev.clone()));
    }
}

#[test]
#[ignore = "needs root and network namespaces"]
fn netlink_carrier_events_within_milliseconds() {
    init();
    let a = Netns::new().unwrap();
    let b = Netns::new().unwrap();
    let (m0, p0) = a.veth_to(&b).unwrap();
    let m0_name = m0.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let origin = Instant::now();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (down_at, up_at, hook) = std::thread::scope(|s| {
        let stop2 = stop.clone();
        let h = s.spawn(|| {
            a.enter(move || {
                let cfg = small_cfg(XdpMode::Native);
                let ports = [MemberPort::open(&m0, &cfg).unwrap()];
                let mut ws = xdp::open_workers(&ports, &cfg, None).unwrap();
                ws[0].set_clock_origin(origin);
                let mut hook = Events::default();
                // Let the initial dump through before the test starts flapping.
                let end = Instant::now() + Duration::from_secs(5);
                while hook.0.is_empty() && Instant::now() < end {
                    let _ = ws[0].step(&mut hook).unwrap();
                    ws[0]
                        .wait_for_work(None, Duration::from_millis(10))
                        .unwrap();
                }
                ready_tx.send(()).unwrap();
                ws[0].run(&mut hook, &stop2).unwrap();
                hook
            })
            .unwrap()
        });
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        // The kernel's linkwatch sends a non-urgent link event at most once a second: wait
        // out the second that started with the veth's own creation, then flap once a second.
        std::thread::sleep(Duration::from_millis(1100));
        let down_at = origin.elapsed();
        b.set_up(&p0, false).unwrap();
        // The ethtool carrier probe sees the loss as soon as the command returns.
        let probe = a
            .enter(|| xdp::ethtool::link_detected(&m0_name).unwrap())
            .unwrap();
        assert!(
            !probe,
            "ETHTOOL_GLINK still reports carrier after the peer went down"
        );
        std::thread::sleep(Duration::from_millis(1100));
        let up_at = origin.elapsed();
        b.set_up(&p0, true).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
        (down_at, up_at, h.join().unwrap())
    });
    let lost = hook
        .0
        .iter()
        .find(|(t, _, e)| *t >= down_at && !e.state.carrier)
        .unwrap_or_else(|| panic!("no carrier-down event: {:?}", hook.0));
    let back = hook
        .0
        .iter()
        .find(|(t, _, e)| *t >= up_at && e.state.carrier)
        .unwrap_or_else(|| panic!("no carrier-up event: {:?}", hook.0));
    let down_latency = lost.0 - down_at;
    let up_latency = back.0 - up_at;
    eprintln!(
        "carrier down seen {down_latency:?} after `ip link set` started, up {up_latency:?} (includes the ip command)"
    );
    // Measured from the start of the `ip` command, which itself takes a few ms.
    assert!(
        down_latency < Duration::from_millis(100),
        "{down_latency:?}"
    );
    assert!(up_latency < Duration::from_millis(100), "{up_latency:?}");
    assert!(!lost.2.state.is_usable() && lost.2.speed.is_none());
    assert!(back.2.state.is_usable());
}

#[test]
#[ignore = "needs root and network namespaces"]
fn member_mac_mtu_state_restored_on_drop() {
    init();
    let a = Netns::new().unwrap();
    let b = Netns::new().unwrap();
    let (m0, _p0) = a.veth_to(&b).unwrap();
    a.enter(|| {
        let ifindex = xdp::sys::ifindex(&m0).unwrap();
        let orig = xdp::netlink::get_link(ifindex).unwrap();
        let new_mac = [0x02, 0xab, 0xcd, 0x00, 0x00, 0x01];
        {
            let mut g = xdp::LinkGuard::new(&m0).unwrap();
            g.set_mac(new_mac).unwrap();
            g.set_mtu(1400).unwrap();
            g.set_up(false).unwrap();
            let p = xdp::PromiscGuard::new(&m0).unwrap();
            let now = xdp::netlink::get_link(ifindex).unwrap();
            assert_eq!(now.mac, new_mac);
            assert_eq!(now.mtu, 1400);
            assert!(!now.admin_up);
            assert_eq!(now.promiscuity, orig.promiscuity + 1);
            drop(p);
        }
        let after = xdp::netlink::get_link(ifindex).unwrap();
        assert_eq!(after.mac, orig.mac);
        assert_eq!(after.mtu, orig.mtu);
        assert_eq!(after.admin_up, orig.admin_up);
        assert_eq!(after.promiscuity, orig.promiscuity);
        // Restored also when the owner panics.
        let r = std::panic::catch_unwind(|| {
            let mut g = xdp::LinkGuard::new(&m0).unwrap();
            g.set_mtu(1280).unwrap();
            panic!("boom");
        });
        assert!(r.is_err());
        assert_eq!(xdp::netlink::get_link(ifindex).unwrap().mtu, orig.mtu);
    })
    .unwrap();
}

#[test]
#[ignore = "needs root and network namespaces"]
fn xdp_bond_io_opens_and_restores_everything() {
    init();
    let a = Netns::new().unwrap();
    let b = Netns::new().unwrap();
    let (m0, _p0) = a.veth_to_queues(&b, 2).unwrap();
    let (m1, _p1) = a.veth_to_queues(&b, 2).unwrap();
    a.ip(&["link", "set", &m1, "mtu", "1400"]).unwrap();
    let tap_name = netlab::unique_name('t');
    let mac0 = a.mac(&m0).unwrap();
    let mac1 = a.mac(&m1).unwrap();
    a.enter(|| {
        let cfg = XskConfig {
            workers: 2,
            ..small_cfg(XdpMode::Native)
        };
        let mut io = xdp::BondIo::open(
            &[m0.as_str(), m1.as_str()],
            Some(&xdp::HostConfig::named(&tap_name)),
            &cfg,
            true,
        )
        .unwrap();
        assert!(xdp::BondIo::open(&[m0.as_str(), m0.as_str()], None, &cfg, false).is_err());
        // A TAP with one queue per worker, the first member's MAC and the smallest MTU.
        let tap = xdp::netlink::get_link(io.host().unwrap().1).unwrap();
        assert_eq!(tap.mac, mac0);
        assert_eq!(tap.mtu, 1400);
        assert!(tap.admin_up);
        let workers = io.take_workers();
        assert_eq!(workers.len(), 2);
        assert_eq!(io.member_index(&m1), Some(1));
        assert!(io.member_ifindex(1).is_some());
        let ifindex1 = io.member_ifindex(1).unwrap();
        assert_eq!(xdp::netlink::get_link(ifindex1).unwrap().promiscuity, 1);
        io.member_guard(1).unwrap().set_mac(mac0).unwrap();
        assert_eq!(xdp::netlink::get_link(ifindex1).unwrap().mac, mac0);
        assert!(a.link_details(&m1).unwrap().contains("prog/xdp"));
        drop(workers);
        drop(io);
        let after = xdp::netlink::get_link(ifindex1).unwrap();
        assert_eq!(after.mac, mac1, "member MAC not restored");
        assert_eq!(after.promiscuity, 0, "promiscuity not dropped");
        assert!(
            !a.link_details(&m1).unwrap().contains("xdp"),
            "XDP left attached"
        );
        assert!(xdp::sys::ifindex(&tap_name).is_err(), "TAP left behind");
    })
    .unwrap();
}

/// Counts steps that did work, and keeps link events.
#[derive(Default)]
struct Watch {
    events: Vec<MemberLinkEvent>,
}

impl DatapathHook for Watch {
    fn on_member_rx(&mut self, _: Duration, member: usize, _: &mut [u8]) -> RxAction {
        RxAction::Forward(1 - member)
    }
    fn on_host_tx(&mut self, _: Duration, _: &mut [u8]) -> TxAction {
        TxAction::Drop
    }
    fn on_link_event(&mut self, _: Duration, _: usize, ev: &MemberLinkEvent) {
        self.events.push(ev.clone());
    }
}

#[test]
#[ignore = "needs root and network namespaces"]
fn xdp_member_deleted_under_a_running_worker() {
    init();
    let w = wire(1);
    let stop = AtomicBool::new(false);
    let worker_tid = std::sync::atomic::AtomicU32::new(0);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (hook, cpu) = std::thread::scope(|s| {
        let h = s.spawn(|| {
            w.fwd
                .enter(|| {
                    let cfg = small_cfg(XdpMode::Native);
                    let ports = [
                        MemberPort::open(&w.b1, &cfg).unwrap(),
                        MemberPort::open(&w.b2, &cfg).unwrap(),
                    ];
                    let mut ws = xdp::open_workers(&ports, &cfg, None).unwrap();
                    worker_tid.store(thread_id(), Ordering::Relaxed);
                    ready_tx.send(()).unwrap();
                    let mut hook = Watch::default();
                    ws[0].run(&mut hook, &stop).unwrap();
                    hook
                })
                .unwrap()
        });
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        ping_ok(&w.n1, "198.18.0.2", 3).unwrap();
        // The operator deletes member 1 (its peer goes with it).
        w.fwd.ip(&["link", "del", &w.b2]).unwrap();
        let _ = w.n1.exec_timeout(
            "ping",
            &["-c", "3", "-i", "0.1", "-W", "1", "198.18.0.2"],
            Duration::from_secs(10),
        );
        // The worker must not spin on the dead socket: measure its CPU time over 500 ms.
        let tid = worker_tid.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(100));
        let t0 = thread_cpu(tid);
        std::thread::sleep(Duration::from_millis(500));
        let cpu = thread_cpu(tid) - t0;
        stop.store(true, Ordering::Relaxed);
        (h.join().unwrap(), cpu)
    });
    assert!(
        hook.events.iter().any(|e| e.state.removed),
        "no removal event: {:?}",
        hook.events
    );
    assert!(
        cpu < Duration::from_millis(300),
        "worker used {cpu:?} of CPU in 500 ms while idle"
    );
}

/// The calling thread's id.
fn thread_id() -> u32 {
    let link = std::fs::read_link("/proc/thread-self").unwrap();
    link.file_name().unwrap().to_string_lossy().parse().unwrap()
}

/// CPU time (user + system) of thread `tid` of this process so far.
fn thread_cpu(tid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    // utime and stime (fields 14 and 15 of stat(5)), in clock ticks of 10 ms.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}
