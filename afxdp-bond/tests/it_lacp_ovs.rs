//! `afxdp-bond run` in 802.3ad against Open vSwitch (userspace datapath, `lacp=active`,
//! `lacp-time=fast`) over two veths, everything inside namespaces this test creates:
//! OVS negotiates and attaches both members; ping and a TCP transfer cross the bond; one
//! member is cut and restored while traffic runs; LACPDUs leave once a second with no data
//! traffic at all; every frame the bond sent decodes cleanly in tshark; the bond stops
//! cleanly on SIGTERM and puts its members back.

mod it_common;

use std::net::SocketAddrV4;
use std::time::Duration;

use afxdp_bond::netlab::{self, Netns, Ovs};
use it_common::{Bond, Capture, epoch, ping, tcp_transfer, tshark_problems, tx_csum_off, wait_for};

fn member_line(show: &str, port: &str) -> String {
    let prefix = format!("member: {port}:");
    show.lines()
        .find(|l| l.trim_start().starts_with(&prefix))
        .unwrap_or("")
        .to_string()
}

/// The lines of `lacp/show` about one member (up to the next member).
fn member_block(show: &str, port: &str) -> String {
    let prefix = format!("member: {port}:");
    let mut out = String::new();
    let mut inside = false;
    for l in show.lines() {
        if l.trim_start().starts_with("member: ") {
            inside = l.trim_start().starts_with(&prefix);
        }
        if inside {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

fn negotiated(show: &str, ports: &[&str]) -> bool {
    show.contains("status: active negotiated")
        && ports
            .iter()
            .all(|p| member_line(show, p).contains("current attached"))
}

#[test]
#[ignore = "needs root and network namespaces"]
fn lacp_against_open_vswitch() {
    netlab::remove_stale();
    let ns_us = Netns::new().unwrap();
    let ns_ovs = Netns::new().unwrap();
    let ns_far = Netns::new().unwrap();
    let (a0, b0) = ns_us.veth_to(&ns_ovs).unwrap();
    let (a1, b1) = ns_us.veth_to(&ns_ovs).unwrap();
    let (f0, f1) = ns_ovs.veth_to(&ns_far).unwrap();
    ns_far.add_addr(&f1, "198.18.20.2/24").unwrap();
    tx_csum_off(&ns_far, &f1);
    let ovs = Ovs::start(&ns_ovs).expect("Open vSwitch");
    ovs.lacp_bridge(&[&b0, &b1], &[&f0]).expect("OVS bond");
    // Everything the bond sends on its members, from its first frame on.
    let mut cap0 = Capture::start(&ns_ovs, &b0, None);
    let mut cap1 = Capture::start(&ns_ovs, &b1, None);

    let bond = Bond::start(
        &ns_us,
        "mode=802.3ad lacp_rate=fast miimon=100 xmit_hash_policy=layer3+4",
        &[&a0, &a1],
        Some("198.18.20.1/24"),
    );
    let show = || ovs.appctl(&["lacp/show", "bond0"]).unwrap_or_default();
    let t = wait_for(
        "OVS negotiated with both members current attached, and the bond distributing on both",
        Duration::from_secs(20),
        || negotiated(&show(), &[&b0, &b1]) && bond.distributing(),
    );
    println!("negotiated in {t:?}\n{}", show());
    let st = bond.status();
    assert!(
        st.contains("Bonding Mode: IEEE 802.3ad Dynamic link aggregation"),
        "{st}"
    );
    assert!(st.contains("LACP rate: fast"), "{st}");
    assert_eq!(st.matches("port state: 63").count(), 4, "{st}");

    // No data traffic at all: LACPDUs keep their 1 s period.
    let idle_from = epoch();
    std::thread::sleep(Duration::from_millis(4500));
    let idle_to = epoch();

    assert_eq!(ping(&ns_us, "198.18.20.2", 5), 5, "ping across the bond");
    let addr = SocketAddrV4::new("198.18.20.2".parse().unwrap(), 5001);
    assert_eq!(tcp_transfer(&ns_us, &ns_far, addr, 4 << 20), 4 << 20);

    // Cut member 0 on the switch side while a transfer and a ping run, then restore it.
    let addr2 = SocketAddrV4::new("198.18.20.2".parse().unwrap(), 5002);
    let (pinged, moved) = std::thread::scope(|s| {
        let tcp = s.spawn(|| tcp_transfer(&ns_us, &ns_far, addr2, 16 << 20));
        let p = s.spawn(|| ping(&ns_us, "198.18.20.2", 40));
        std::thread::sleep(Duration::from_millis(800));
        ns_ovs.set_up(&b0, false).unwrap();
        wait_for(
            "OVS to detach the cut member",
            Duration::from_secs(10),
            || {
                let sh = show();
                !member_line(&sh, &b0).contains("current attached")
                    && member_line(&sh, &b1).contains("current attached")
            },
        );
        std::thread::sleep(Duration::from_millis(1000));
        ns_ovs.set_up(&b0, true).unwrap();
        (p.join().unwrap(), tcp.join().unwrap())
    });
    assert_eq!(moved, 16 << 20, "the transfer across the cut completed");
    // Open vSwitch learns of the cut from rtnetlink too, which the kernel may hold back up
    // to 1 s (link-watch): up to ten pings 100 ms apart may go to the dead port from its side.
    assert!(
        pinged >= 25,
        "only {pinged}/40 pings answered across the cut"
    );
    let t = wait_for(
        "both members attached again",
        Duration::from_secs(20),
        || negotiated(&show(), &[&b0, &b1]) && bond.distributing(),
    );
    println!("member back in {t:?}");
    let st = bond.status();
    assert!(st.contains("Link Failure Count: 1"), "{st}");
    assert_eq!(ping(&ns_us, "198.18.20.2", 5), 5, "ping after the restore");

    // `afxdp-bond status` itself, text and JSON.
    let out = bond.status_command(false);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("802.3ad info"));
    let out = bond.status_command(true);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON status");
    assert_eq!(v["mode"], "802.3ad");
    assert!(v["io"]["workers"][0]["to_host_frames"].as_u64().unwrap() > 0);

    let log = bond.stop();
    println!("{log}");
    // The farewell LACPDUs: OVS lets both members go at once, not three LACP timeouts
    // (3 s at the fast rate) later.
    let t = wait_for(
        "OVS to stop using both members after the bond's farewell LACPDUs",
        Duration::from_millis(1500),
        || {
            let sh = show();
            [&b0, &b1].iter().all(|p| {
                let blk = member_block(&sh, p);
                blk.contains("may_enable: false")
                    && !blk.contains("partner state: activity timeout aggregation")
            })
        },
    );
    println!(
        "OVS stopped using both members {t:?} after the bond stopped:\n{}",
        show()
    );
    for (cap, port) in [(&mut cap0, &b0), (&mut cap1, &b1)] {
        cap.stop();
        let n_lacp = cap.tshark(&["-Y", "lacp"]).lines().count();
        assert!(n_lacp >= 5, "{port}: only {n_lacp} LACPDUs captured");
        let problems = tshark_problems(&cap.file, None);
        assert!(
            problems.is_empty(),
            "{port}: tshark flags frames:\n{problems}"
        );
    }
    // LACPDU spacing in the idle window, per member: every PDU of the bond (its actor
    // system is the bond's MAC; the source MAC is the member's permanent one, as in Linux)
    // 1 s after the previous one.
    let mac = bond_mac(&v);
    for (cap, port) in [(&mut cap0, &b0), (&mut cap1, &b1)] {
        let times: Vec<f64> = cap
            .tshark(&[
                "-Y",
                &format!("lacp && lacp.actor.sysid == {mac}"),
                "-T",
                "fields",
                "-e",
                "frame.time_epoch",
            ])
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .filter(|t| *t >= idle_from && *t <= idle_to)
            .collect();
        assert!(
            times.len() >= 4,
            "{port}: {} LACPDUs in 4.5 idle seconds",
            times.len()
        );
        for w in times.windows(2) {
            let gap = w[1] - w[0];
            assert!(
                (0.95..=1.05).contains(&gap),
                "{port}: LACPDUs {gap:.3} s apart with no traffic (fast rate: 1 s): {times:?}"
            );
        }
        println!(
            "{port}: LACPDU gaps with no traffic: {:?}",
            times.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
        );
    }
    // The members got their own MAC back.
    for a in [&a0, &a1] {
        let d = ns_us.link_details(a).unwrap();
        assert!(!d.contains(" xdp"), "{a} still has XDP: {d}");
    }
}

fn bond_mac(v: &serde_json::Value) -> String {
    v["mac"].as_str().unwrap().to_string()
}
