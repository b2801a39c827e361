//! The status text against golden texts written from `bond_procfs.c`'s format strings (no
//! Linux bond exists on this machine: it has no bonding module), one per mode, and the JSON
//! status.

mod sim;

use afxdp_bond::engine::VERSION_LINE;
use lacp::LacpRate;
use sim::{Net, ms};

fn golden(body: &str) -> String {
    format!("{VERSION_LINE}\n\n{body}")
}

/// `bond_info_show_slave()` for a member of the harness (not 802.3ad).
fn slave(i: usize, up: bool, failures: u32) -> String {
    let (status, speed, duplex) = if up {
        ("up", "10000 Mbps", "full")
    } else {
        ("down", "Unknown", "Unknown")
    };
    format!(
        "\nSlave Interface: eth{i}\nMII Status: {status}\nSpeed: {speed}\nDuplex: {duplex}\n\
         Link Failure Count: {failures}\nPermanent HW addr: 02:00:00:00:01:{i:02x}\n\
         Slave queue ID: 0\n"
    )
}

#[test]
fn balance_rr() {
    let mut net = Net::new("mode=balance-rr miimon=100", 2, 0);
    net.open();
    net.run_until(ms(150));
    net.cut(1);
    let want = golden(&format!(
        "Bonding Mode: load balancing (round-robin)\nMII Status: up\n\
         MII Polling Interval (ms): 100\nUp Delay (ms): 0\nDown Delay (ms): 0\n\
         Peer Notification Delay (ms): 0\n{}{}",
        slave(0, true, 0),
        slave(1, false, 1)
    ));
    assert_eq!(net.bond.status(), want);
}

#[test]
fn active_backup() {
    let mut net = Net::new(
        "mode=active-backup miimon=100 updelay=200 downdelay=100 primary=eth1",
        2,
        0,
    );
    net.bond
        .set_option(net.now, "peer_notif_delay", "100")
        .unwrap();
    net.bond.set_option(net.now, "queue_id", "eth0:3").unwrap();
    net.open();
    net.run_until(ms(500));
    let want = golden(&format!(
        "Bonding Mode: fault-tolerance (active-backup)\n\
         Primary Slave: eth1 (primary_reselect always)\nCurrently Active Slave: eth1\n\
         MII Status: up\nMII Polling Interval (ms): 100\nUp Delay (ms): 200\n\
         Down Delay (ms): 100\nPeer Notification Delay (ms): 100\n{}{}",
        slave(0, true, 0).replace("Slave queue ID: 0", "Slave queue ID: 3"),
        slave(1, true, 0)
    ));
    assert_eq!(net.bond.status(), want);

    // No member at all: carrier down, no active member.
    let mut net = Net::new("mode=1 fail_over_mac=active", 0, 0);
    net.open();
    let want = golden(
        "Bonding Mode: fault-tolerance (active-backup) (fail_over_mac active)\n\
         Primary Slave: None\nCurrently Active Slave: None\nMII Status: down\n\
         MII Polling Interval (ms): 0\nUp Delay (ms): 0\nDown Delay (ms): 0\n\
         Peer Notification Delay (ms): 0\n",
    );
    assert_eq!(net.bond.status(), want);
}

#[test]
fn active_backup_with_the_arp_monitor() {
    let mut net = Net::new(
        "mode=active-backup arp_interval=250 arp_ip_target=198.18.1.1,198.18.1.2",
        2,
        0,
    );
    net.bond
        .set_option(net.now, "ns_ip6_target", "2001:db8::1,2001:db8::2")
        .unwrap();
    net.bond.set_option(net.now, "arp_missed_max", "3").unwrap();
    let want_head = "Bonding Mode: fault-tolerance (active-backup)\nPrimary Slave: None\n";
    let text = net.bond.status();
    assert!(text.contains(want_head));
    assert!(
        text.contains(
            "MII Polling Interval (ms): 0\nUp Delay (ms): 0\nDown Delay (ms): 0\n\
         Peer Notification Delay (ms): 0\nARP Polling Interval (ms): 250\nARP Missed Max: 3\n\
         ARP IP target/s (n.n.n.n form): 198.18.1.1, 198.18.1.2\n\
         NS IPv6 target/s (xx::xx form): 2001:db8::1, 2001:db8::2\n\nSlave Interface: eth0\n"
        ),
        "{text}"
    );
}

#[test]
fn balance_xor_and_broadcast() {
    let mut net = Net::new("mode=balance-xor miimon=50 xmit_hash_policy=encap3+4", 1, 0);
    net.open();
    net.run_until(ms(100));
    let want = golden(&format!(
        "Bonding Mode: load balancing (xor)\nTransmit Hash Policy: encap3+4 (4)\n\
         MII Status: up\nMII Polling Interval (ms): 50\nUp Delay (ms): 0\nDown Delay (ms): 0\n\
         Peer Notification Delay (ms): 0\n{}",
        slave(0, true, 0)
    ));
    assert_eq!(net.bond.status(), want);

    let mut net = Net::new("mode=broadcast", 1, 0);
    net.open();
    let want = golden(&format!(
        "Bonding Mode: fault-tolerance (broadcast)\nMII Status: up\n\
         MII Polling Interval (ms): 0\nUp Delay (ms): 0\nDown Delay (ms): 0\n\
         Peer Notification Delay (ms): 0\n{}",
        slave(0, true, 0)
    ));
    assert_eq!(net.bond.status(), want);
}

/// The 802.3ad per-port block of a port of the harness, aggregated with the switch.
fn port(i: usize) -> String {
    format!(
        "\nSlave Interface: eth{i}\nMII Status: up\nSpeed: 10000 Mbps\nDuplex: full\n\
         Link Failure Count: 0\nPermanent HW addr: 02:00:00:00:01:{i:02x}\nSlave queue ID: 0\n\
         Aggregator ID: 1\nActor Churn State: none\nPartner Churn State: none\n\
         Actor Churned Count: 0\nPartner Churned Count: 0\ndetails actor lacp pdu:\n\
         \x20   system priority: 65535\n    system mac address: 02:00:00:00:01:00\n\
         \x20   port key: 15\n    port priority: 255\n    port number: {n}\n\
         \x20   port state: 63\ndetails partner lacp pdu:\n    system priority: 65535\n\
         \x20   system mac address: 02:00:00:00:0f:01\n    oper key: 15\n\
         \x20   port priority: 255\n    port number: {n}\n    port state: 63\n",
        n = i + 1
    )
}

#[test]
fn ieee8023ad_with_a_partner() {
    let mut net = Net::new(
        "mode=802.3ad lacp_rate=fast miimon=100 xmit_hash_policy=layer3+4 min_links=1",
        2,
        0,
    );
    net.lacp_lag(LacpRate::Fast);
    net.open();
    net.run_until(ms(5000));
    let want = golden(&format!(
        "Bonding Mode: IEEE 802.3ad Dynamic link aggregation\n\
         Transmit Hash Policy: layer3+4 (1)\nMII Status: up\nMII Polling Interval (ms): 100\n\
         Up Delay (ms): 0\nDown Delay (ms): 0\nPeer Notification Delay (ms): 0\n\n\
         802.3ad info\nLACP active: on\nLACP rate: fast\nMin links: 1\n\
         Aggregator selection policy (ad_select): stable\nSystem priority: 65535\n\
         System MAC address: 02:00:00:00:01:00\nActive Aggregator Info:\n\
         \tAggregator ID: 1\n\tNumber of ports: 2\n\tActor Key: 15\n\tPartner Key: 15\n\
         \tPartner Mac Address: 02:00:00:00:0f:01\n{}{}",
        port(0),
        port(1)
    ));
    assert_eq!(net.bond.status(), want);
}

#[test]
fn ieee8023ad_without_members() {
    let mut net = Net::new("mode=802.3ad", 0, 0);
    net.open();
    let want = golden(
        "Bonding Mode: IEEE 802.3ad Dynamic link aggregation\n\
         Transmit Hash Policy: layer2 (0)\nMII Status: down\nMII Polling Interval (ms): 100\n\
         Up Delay (ms): 0\nDown Delay (ms): 0\nPeer Notification Delay (ms): 0\n\n\
         802.3ad info\nLACP active: on\nLACP rate: slow\nMin links: 0\n\
         Aggregator selection policy (ad_select): stable\nSystem priority: 65535\n\
         System MAC address: 00:00:00:00:00:00\nbond bond0 has no active aggregator\n",
    );
    assert_eq!(net.bond.status(), want);
}

#[test]
fn balance_tlb_and_alb() {
    let mut net = Net::new(
        "mode=balance-alb primary=eth1 primary_reselect=failure",
        2,
        0,
    );
    net.open();
    let want = golden(&format!(
        "Bonding Mode: adaptive load balancing\n\
         Primary Slave: eth1 (primary_reselect failure)\nCurrently Active Slave: eth1\n\
         MII Status: up\nMII Polling Interval (ms): 100\nUp Delay (ms): 0\n\
         Down Delay (ms): 0\nPeer Notification Delay (ms): 0\n{}{}",
        slave(0, true, 0),
        slave(1, true, 0)
    ));
    assert_eq!(net.bond.status(), want);
    let mut net = Net::new("mode=balance-tlb tlb_dynamic_lb=0", 1, 0);
    net.open();
    assert!(net.bond.status().contains(
        "Bonding Mode: transmit load balancing\nTransmit Hash Policy: layer2 (0)\n\
         Primary Slave: None\nCurrently Active Slave: eth0\n"
    ));
}

#[test]
fn json_status() {
    let mut net = Net::new("mode=802.3ad lacp_rate=fast miimon=100", 2, 1);
    net.lacp_lag(LacpRate::Fast);
    net.open();
    net.run_until(ms(5000));
    net.resolve_all();
    let v = net.bond.status_json();
    assert_eq!(v["mode"], "802.3ad");
    assert_eq!(v["mode_number"], 4);
    assert_eq!(v["carrier"], true);
    assert_eq!(v["members"].as_array().unwrap().len(), 2);
    let m0 = &v["members"][0];
    assert_eq!(m0["name"], "eth0");
    assert_eq!(m0["mii_status"], "up");
    assert_eq!(m0["lacp"]["distributing"], true);
    assert!(m0["lacp"]["counters"]["lacpdu_rx"].as_u64().unwrap() > 3);
    assert!(v["control_tx"]["lacpdu"].as_u64().unwrap() > 6);
    assert!(v["drops"]["rx"]["inactive_member"].is_u64());
    assert_eq!(v["lacp"]["aggregators"][0]["active"], true);
    assert_eq!(v["options"]["lacp_rate"], "fast");
    let total_rx: u64 = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["rx_frames"].as_u64().unwrap())
        .sum();
    assert!(total_rx > 0);
    // Valid JSON text.
    let text = serde_json::to_string_pretty(&v).unwrap();
    assert!(text.contains("\"partner_system\": \"02:00:00:00:0f:01\""));
}
