//! The lab helpers themselves: namespaces, veths, addresses, bridges, tc redirects, a
//! private Open vSwitch, clean-up on drop, on panic and of stale leftovers.

use std::path::Path;
use std::time::Duration;

use afxdp_bond::netlab::{self, Netns, Ovs};

fn ns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

fn ping(ns: &Netns, dst: &str) -> bool {
    ns.exec_timeout(
        "ping",
        &["-c", "3", "-i", "0.1", "-W", "2", dst],
        Duration::from_secs(15),
    )
    .is_ok_and(|o| o.status.success())
}

#[test]
#[ignore = "needs root and network namespaces"]
fn netlab_namespaces_veths_addresses_and_enter() {
    netlab::remove_stale();
    let (a_name, b_name);
    {
        let a = Netns::new().unwrap();
        let b = Netns::new().unwrap();
        a_name = a.name().to_string();
        b_name = b.name().to_string();
        let (va, vb) = a.veth_to(&b).unwrap();
        assert!(va.len() <= 15 && vb.len() <= 15);
        // Neither end exists in the test's own namespace.
        assert!(afxdp_bond::xdp::sys::ifindex(&va).is_err());
        assert!(afxdp_bond::xdp::sys::ifindex(&vb).is_err());
        a.add_addr(&va, "198.18.9.1/24").unwrap();
        b.add_addr(&vb, "198.18.9.2/24").unwrap();
        assert!(ping(&a, "198.18.9.2"));
        // Link down: no more ping.
        b.set_up(&vb, false).unwrap();
        assert!(
            !a.exec_timeout(
                "ping",
                &["-c", "1", "-W", "1", "198.18.9.2"],
                Duration::from_secs(5)
            )
            .unwrap()
            .status
            .success()
        );
        // A closure inside the namespace sees its interfaces.
        let idx = a.enter(|| afxdp_bond::xdp::sys::ifindex(&va)).unwrap();
        assert!(idx.is_ok());
        let brief = a.run("ip", &["-br", "link", "show", &va]).unwrap();
        assert_eq!(brief.split(['@', ' ']).next(), Some(va.as_str()), "{brief}");
    }
    assert!(
        !ns_exists(&a_name) && !ns_exists(&b_name),
        "namespaces left behind"
    );
}

#[test]
#[ignore = "needs root and network namespaces"]
fn netlab_namespace_removed_when_test_panics() {
    let mut name = String::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let ns = Netns::new().unwrap();
        name = ns.name().to_string();
        let _sleeper = ns.spawn("sleep", &["30"]).unwrap();
        panic!("test failure");
    }));
    assert!(r.is_err());
    assert!(
        !name.is_empty() && !ns_exists(&name),
        "{name} left behind after a panic"
    );
}

#[test]
#[ignore = "needs root and network namespaces"]
fn netlab_removes_stale_leftovers() {
    // A namespace named as if by a process that no longer runs.
    let dead = (0x3f_fff0u32..0x3f_ffffu32)
        .find(|p| !Path::new(&format!("/proc/{p}")).exists())
        .unwrap();
    let name = format!("{}{dead:x}n0", netlab::PREFIX);
    netlab::run_ok("ip", &["netns", "add", &name]).unwrap();
    assert!(ns_exists(&name));
    netlab::remove_stale();
    assert!(!ns_exists(&name), "stale namespace {name} not removed");
}

#[test]
#[ignore = "needs root and network namespaces"]
fn netlab_bridge_and_mirred() {
    netlab::remove_stale();
    // Two hosts through a Linux bridge.
    let sw = Netns::new().unwrap();
    let h1 = Netns::new().unwrap();
    let h2 = Netns::new().unwrap();
    let (s1, e1) = sw.veth_to(&h1).unwrap();
    let (s2, e2) = sw.veth_to(&h2).unwrap();
    let br = sw.add_bridge(&[&s1, &s2]).unwrap();
    assert!(sw.link_details(&br).unwrap().contains("bridge"));
    h1.add_addr(&e1, "198.18.10.1/24").unwrap();
    h2.add_addr(&e2, "198.18.10.2/24").unwrap();
    assert!(ping(&h1, "198.18.10.2"), "no ping through the bridge");

    // Two hosts through tc mirred redirects (a wire that passes link-local frames too).
    let wire = Netns::new().unwrap();
    let h3 = Netns::new().unwrap();
    let h4 = Netns::new().unwrap();
    let (w3, e3) = wire.veth_to(&h3).unwrap();
    let (w4, e4) = wire.veth_to(&h4).unwrap();
    wire.mirred_redirect(&w3, &w4).unwrap();
    wire.mirred_redirect(&w4, &w3).unwrap();
    h3.add_addr(&e3, "198.18.11.1/24").unwrap();
    h4.add_addr(&e4, "198.18.11.2/24").unwrap();
    assert!(ping(&h3, "198.18.11.2"), "no ping through the mirred wire");
}

#[test]
#[ignore = "needs root and network namespaces"]
fn netlab_private_open_vswitch() {
    netlab::remove_stale();
    let sw = Netns::new().unwrap();
    let h1 = Netns::new().unwrap();
    let h2 = Netns::new().unwrap();
    let (s1, e1) = sw.veth_to(&h1).unwrap();
    let (s2, e2) = sw.veth_to(&h2).unwrap();
    h1.add_addr(&e1, "198.18.12.1/24").unwrap();
    h2.add_addr(&e2, "198.18.12.2/24").unwrap();
    let dir;
    let pids: Vec<i32>;
    {
        let ovs = Ovs::start(&sw).unwrap();
        dir = ovs.dir().to_path_buf();
        ovs.vsctl(&[
            "add-br",
            "br0",
            "--",
            "set",
            "bridge",
            "br0",
            "datapath_type=netdev",
            "--",
            "add-port",
            "br0",
            &s1,
            "--",
            "add-port",
            "br0",
            &s2,
        ])
        .unwrap();
        let show = ovs.vsctl(&["show"]).unwrap();
        assert!(show.contains(&s1) && show.contains(&s2), "{show}");
        assert!(ping(&h1, "198.18.12.2"), "no ping through Open vSwitch");
        let fdb = ovs.appctl(&["fdb/show", "br0"]).unwrap();
        assert!(fdb.lines().count() >= 3, "{fdb}");
        pids = ["ovsdb-server.pid", "ovs-vswitchd.pid"]
            .iter()
            .map(|f| {
                std::fs::read_to_string(dir.join(f))
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap()
            })
            .collect();
        for p in &pids {
            assert!(Path::new(&format!("/proc/{p}")).exists());
        }
    }
    // Daemons killed, state removed.
    std::thread::sleep(Duration::from_millis(200));
    for p in &pids {
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z"),
            "OVS pid {p} still running"
        );
    }
    assert!(!dir.exists(), "{} left behind", dir.display());
}
