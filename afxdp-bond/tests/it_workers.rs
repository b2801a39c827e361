//! Two datapath workers per bond: two 802.3ad `afxdp-bond run --workers 2` bonds back to
//! back over 2-queue veths, inside namespaces this test creates. LACP negotiates (LACPDUs
//! arriving on a queue of worker 1 reach the control plane in worker 0), several TCP
//! connections cross at once, both workers carry frames, and both bonds stop cleanly.

mod it_common;

use std::net::SocketAddrV4;
use std::time::Duration;

use afxdp_bond::netlab::{self, Netns};
use it_common::{Bond, ping, tcp_transfer, wait_for};

#[test]
#[ignore = "needs root and network namespaces"]
fn two_workers_per_bond() {
    netlab::remove_stale();
    let ns_a = Netns::new().unwrap();
    let ns_b = Netns::new().unwrap();
    let (a0, b0) = ns_a.veth_to_queues(&ns_b, 2).unwrap();
    let (a1, b1) = ns_a.veth_to_queues(&ns_b, 2).unwrap();
    let opts = "mode=802.3ad lacp_rate=fast miimon=100 xmit_hash_policy=layer3+4";
    let extra = ["--workers", "2", "--ring-size", "512"];
    let a = Bond::start_args(&ns_a, opts, &[&a0, &a1], Some("198.18.23.1/24"), &extra);
    let b = Bond::start_args(&ns_b, opts, &[&b0, &b1], Some("198.18.23.2/24"), &extra);
    wait_for(
        "both bonds distributing on both ports",
        Duration::from_secs(20),
        || a.distributing() && b.distributing(),
    );
    let v = a.status_json().unwrap();
    assert_eq!(v["io"]["workers"].as_array().unwrap().len(), 2, "{v}");
    assert!(
        a.log().contains("2 worker(s), 2 queue(s) per member"),
        "{}",
        a.log()
    );
    assert_eq!(ping(&ns_a, "198.18.23.2", 5), 5);

    // Eight connections at once: their flows spread over queues, workers and members.
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..8u16)
            .map(|i| {
                let (na, nb) = (&ns_a, &ns_b);
                s.spawn(move || {
                    let addr = SocketAddrV4::new("198.18.23.2".parse().unwrap(), 6000 + i);
                    tcp_transfer(na, nb, addr, 2 << 20)
                })
            })
            .collect();
        for h in hs {
            assert_eq!(h.join().unwrap(), 2 << 20);
        }
    });
    // Give the workers a second to publish their counters.
    std::thread::sleep(Duration::from_millis(1200));
    for bond in [&a, &b] {
        let v = bond.status_json().unwrap();
        let per_worker: Vec<u64> = v["io"]["workers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                w["members"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["rx_frames"].as_u64().unwrap() + m["tx_frames"].as_u64().unwrap())
                    .sum()
            })
            .collect();
        println!("{}: frames per worker {per_worker:?}", bond.name);
        assert!(
            per_worker.iter().all(|n| *n > 100),
            "a worker carried (almost) nothing: {per_worker:?}"
        );
        assert!(bond.distributing(), "{}", bond.status());
    }
    a.stop();
    b.stop();
}
