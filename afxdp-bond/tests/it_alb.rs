//! `afxdp-bond run` in balance-alb through a Linux bridge to four client namespaces,
//! everything inside namespaces this test creates: the bond's receive load balancing (RLB)
//! answers the clients' ARP with different members' MACs, so the clients' ARP caches and
//! the bridge's MAC table show more than one member, and the clients' traffic arrives on
//! more than one member. Every frame the bond sent decodes cleanly in tshark.

mod it_common;

use std::collections::BTreeSet;
use std::time::Duration;

use afxdp_bond::netlab::{self, Netns};
use it_common::{Bond, Capture, ping, tshark_problems, tx_csum_off, wait_for};

const CLIENTS: usize = 4;

fn neigh_mac(ns: &Netns, ip: &str) -> Option<String> {
    let out = ns.ip(&["neigh", "show", ip]).ok()?;
    out.split_whitespace()
        .skip_while(|w| *w != "lladdr")
        .nth(1)
        .map(str::to_string)
}

#[test]
#[ignore = "needs root and network namespaces"]
fn balance_alb_spreads_clients_over_members() {
    netlab::remove_stale();
    let ns_bond = Netns::new().unwrap();
    let ns_sw = Netns::new().unwrap();
    let (a0, b0) = ns_bond.veth_to(&ns_sw).unwrap();
    let (a1, b1) = ns_bond.veth_to(&ns_sw).unwrap();
    let mut clients = Vec::new();
    let mut ports = vec![b0.clone(), b1.clone()];
    for i in 0..CLIENTS {
        let ns = Netns::new().unwrap();
        let (s, c) = ns_sw.veth_to(&ns).unwrap();
        ns.add_addr(&c, &format!("198.18.22.{}/24", 11 + i))
            .unwrap();
        tx_csum_off(&ns, &c);
        ports.push(s);
        clients.push(ns);
    }
    let port_refs: Vec<&str> = ports.iter().map(String::as_str).collect();
    let br = ns_sw.add_bridge(&port_refs).unwrap();
    let mut cap0 = Capture::start(&ns_sw, &b0, None);
    let mut cap1 = Capture::start(&ns_sw, &b1, None);

    let bond = Bond::start(
        &ns_bond,
        "mode=balance-alb miimon=100",
        &[&a0, &a1],
        Some("198.18.22.1/24"),
    );
    wait_for("an active member", Duration::from_secs(10), || {
        bond.active_member().is_some()
    });
    wait_for(
        "the bond to learn its address",
        Duration::from_secs(5),
        || bond.log().contains("198.18.22.1]"),
    );
    let v = bond.status_json().unwrap();
    let member_macs: Vec<String> = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mac"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(member_macs.len(), 2);
    assert_ne!(
        member_macs[0], member_macs[1],
        "balance-alb members keep distinct MACs"
    );

    // Each client talks to the bond; RLB answers each client's ARP with a member's MAC.
    for (i, c) in clients.iter().enumerate() {
        assert_eq!(ping(c, "198.18.22.1", 3), 3, "client {i}");
    }
    // RLB may update clients after its first answer: give it a moment, ping again.
    std::thread::sleep(Duration::from_millis(500));
    for c in &clients {
        assert_eq!(ping(c, "198.18.22.1", 3), 3);
    }
    let seen: Vec<String> = clients
        .iter()
        .map(|c| neigh_mac(c, "198.18.22.1").expect("an ARP entry for the bond"))
        .collect();
    println!("clients' ARP entries for 198.18.22.1: {seen:?}; members: {member_macs:?}");
    for m in &seen {
        assert!(
            member_macs.contains(m),
            "client resolved the bond to {m}, not a member MAC"
        );
    }
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert!(
        distinct.len() >= 2,
        "every client resolved the bond to the same member: {seen:?}"
    );

    // The bridge learnt each member MAC on its own port.
    let fdb = ns_sw.run("bridge", &["fdb", "show", "br", &br]).unwrap();
    for (mac, port) in member_macs.iter().zip([&b0, &b1]) {
        assert!(
            fdb.lines()
                .any(|l| l.starts_with(mac.as_str()) && l.contains(&format!("dev {port} "))),
            "the bridge did not learn {mac} on {port}:\n{fdb}"
        );
    }
    // The clients' traffic arrived on both members.
    let v = bond.status_json().unwrap();
    let rx: Vec<u64> = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["rx_frames"].as_u64().unwrap_or(0))
        .collect();
    println!("frames received per member: {rx:?}");
    assert!(
        rx.iter().all(|n| *n >= 3),
        "traffic arrived on one member only: {rx:?}"
    );

    bond.stop();
    for cap in [&mut cap0, &mut cap1] {
        cap.stop();
        // balance-alb answers ARP for one address with several MACs (that is RLB);
        // Wireshark notes it as a "duplicate use of IP address". Only that note is allowed.
        let problems = tshark_problems(
            &cap.file,
            Some("arp.duplicate-address-detected || arp.duplicate-address-frame"),
        );
        assert!(problems.is_empty(), "tshark flags frames:\n{problems}");
    }
}
