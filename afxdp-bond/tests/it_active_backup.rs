//! `afxdp-bond run` in active-backup through a Linux bridge (a learning switch) to a far
//! host, everything inside namespaces this test creates: the active member's cable is
//! "pulled" (its switch-side veth set down), the bond fails over to the backup at once,
//! traffic continues, the far host sees the bond's gratuitous ARP from the new member, and
//! every frame the bond sent decodes cleanly in tshark.

mod it_common;

use std::time::Duration;

use afxdp_bond::netlab::{self, Netns};
use it_common::{Bond, Capture, epoch, ping, tshark, tshark_problems, tx_csum_off, wait_for};

#[test]
#[ignore = "needs root and network namespaces"]
fn active_backup_failover_with_gratuitous_arp() {
    netlab::remove_stale();
    let ns_bond = Netns::new().unwrap();
    let ns_sw = Netns::new().unwrap();
    let ns_far = Netns::new().unwrap();
    let (a0, b0) = ns_bond.veth_to(&ns_sw).unwrap();
    let (a1, b1) = ns_bond.veth_to(&ns_sw).unwrap();
    let (s0, f0) = ns_sw.veth_to(&ns_far).unwrap();
    ns_sw.add_bridge(&[&b0, &b1, &s0]).unwrap();
    ns_far.add_addr(&f0, "198.18.21.2/24").unwrap();
    tx_csum_off(&ns_far, &f0);
    let orig_mac1 = ns_bond.mac(&a1).unwrap();
    let mut cap_far = Capture::start(&ns_far, &f0, None);
    let mut cap0 = Capture::start(&ns_sw, &b0, None);
    let mut cap1 = Capture::start(&ns_sw, &b1, None);

    // The ethtool carrier check every 5 ms: the kernel may hold the rtnetlink event back
    // (link-watch, not urgent when both veth ends have the same ifindex), and the test
    // counts pings 10 ms apart.
    let bond = Bond::start_args(
        &ns_bond,
        "mode=active-backup miimon=100 num_grat_arp=2",
        &[&a0, &a1],
        Some("198.18.21.1/24"),
        &["--carrier-poll-ms", "5"],
    );
    wait_for("an active member", Duration::from_secs(10), || {
        bond.active_member().is_some()
    });
    // The host addresses are known to the bond before the failover (its GARPs carry them).
    wait_for(
        "the bond to learn its addresses",
        Duration::from_secs(5),
        || {
            let log = bond.log();
            log.contains("[198.18.21.1]")
        },
    );
    assert_eq!(ping(&ns_bond, "198.18.21.2", 5), 5);
    let active = bond.active_member().unwrap();
    let (cut, other) = if active == a0 {
        (&b0, a1.clone())
    } else {
        (&b1, a0.clone())
    };
    let st = bond.status();
    assert!(
        st.contains(&format!("Currently Active Slave: {active}")),
        "{st}"
    );

    // Pull the active member's cable while a fast ping runs.
    let t_cut = std::thread::scope(|s| {
        let p = s.spawn(|| {
            ns_bond
                .exec_timeout(
                    "ping",
                    &[
                        "-n",
                        "-q",
                        "-c",
                        "150",
                        "-i",
                        "0.01",
                        "-W",
                        "1",
                        "198.18.21.2",
                    ],
                    Duration::from_secs(30),
                )
                .unwrap()
        });
        std::thread::sleep(Duration::from_millis(500));
        let t = epoch();
        ns_sw.set_up(cut, false).unwrap();
        let out = p.join().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        println!("{text}");
        let received = netlab::ping_received(&text);
        assert!(
            received >= 145,
            "{received}/150 pings across the failover:\n{text}"
        );
        t
    });
    let waited = wait_for(
        "the backup to become active",
        Duration::from_secs(5),
        || bond.active_member().as_deref() == Some(other.as_str()),
    );
    println!("active member {active} -> {other} (seen after {waited:?})");
    let st = bond.status();
    assert!(
        st.contains(&format!("Currently Active Slave: {other}")),
        "{st}"
    );
    assert!(st.contains("Link Failure Count: 1"), "{st}");
    assert_eq!(
        ping(&ns_bond, "198.18.21.2", 5),
        5,
        "ping after the failover"
    );

    // The far host saw the gratuitous ARP for the bond's address, after the cut.
    let bond_mac = bond.status_json().unwrap()["mac"]
        .as_str()
        .unwrap()
        .to_string();
    cap_far.stop();
    let garps = tshark(
        &cap_far.file,
        &[
            "-Y",
            &format!(
                "arp.isgratuitous && arp.src.proto_ipv4 == 198.18.21.1 && arp.src.hw_mac == {bond_mac}"
            ),
            "-T",
            "fields",
            "-e",
            "frame.time_epoch",
        ],
    );
    let after: Vec<f64> = garps
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|t| *t >= t_cut)
        .collect();
    assert!(
        !after.is_empty(),
        "no gratuitous ARP for 198.18.21.1 from {bond_mac} after the cut at {t_cut}; all: {garps}"
    );
    println!(
        "gratuitous ARPs after the cut: {:?}",
        after.iter().map(|t| t - t_cut).collect::<Vec<_>>()
    );
    // ... and an unsolicited neighbour advertisement for the bond's IPv6 link-local address.
    let na = tshark(
        &cap_far.file,
        &[
            "-Y",
            &format!("icmpv6.type == 136 && eth.src == {bond_mac} && frame.time_epoch >= {t_cut}"),
        ],
    );
    assert!(
        !na.trim().is_empty(),
        "no unsolicited NA from {bond_mac} after the cut"
    );

    // Restore: the member comes back as a backup (no primary: no failback).
    ns_sw.set_up(cut, true).unwrap();
    wait_for(
        "the restored member up again",
        Duration::from_secs(5),
        || {
            bond.status_json().is_some_and(|v| {
                v["members"]
                    .as_array()
                    .is_some_and(|a| a.iter().all(|m| m["mii_status"] == "up"))
            })
        },
    );
    assert_eq!(bond.active_member().as_deref(), Some(other.as_str()));
    assert_eq!(ping(&ns_bond, "198.18.21.2", 3), 3);

    bond.stop();
    // The backup that took the bond's MAC has its own back.
    assert_eq!(ns_bond.mac(&a1).unwrap(), orig_mac1);
    for cap in [&mut cap_far, &mut cap0, &mut cap1] {
        cap.stop();
        assert!(it_common::frame_count(&cap.file) > 0);
        let problems = tshark_problems(&cap.file, None);
        assert!(problems.is_empty(), "tshark flags frames:\n{problems}");
    }
}
