//! Safety under arbitrary input: random operation sequences and hostile frames never
//! panic, never grow the client tables past 256, never put a client on (or send anything
//! through) a member that is down, and spoofed ARP replies cannot move a client.

mod common;

use arp_alb::wire::ArpOperation;
use arp_alb::{Alb, Config, MacAddr, MemberLink, Mode, TxDecision};
use common::{HOST_IP, arp_frame, mac};
use proptest::prelude::*;
use std::net::Ipv4Addr;
use std::time::Duration;

#[derive(Debug, Clone)]
enum Op {
    Add(u8),
    Remove(u8),
    Link(u8, bool),
    HostReply(u8, u8, bool),
    HostRequest(u8),
    RxReply(u8, u8, u8, u8),
    RxBytes(u8, Vec<u8>),
    TxBytes(Vec<u8>),
    Advance(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..5).prop_map(Op::Add),
        (0u8..5).prop_map(Op::Remove),
        (0u8..5, any::<bool>()).prop_map(|(m, u)| Op::Link(m, u)),
        (any::<u8>(), any::<u8>(), any::<bool>()).prop_map(|(a, b, t)| Op::HostReply(a, b, t)),
        any::<u8>().prop_map(Op::HostRequest),
        (0u8..5, any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(m, a, b, c)| Op::RxReply(m, a, b, c)),
        (0u8..5, proptest::collection::vec(any::<u8>(), 0..100))
            .prop_map(|(m, b)| Op::RxBytes(m, b)),
        proptest::collection::vec(any::<u8>(), 0..100).prop_map(Op::TxBytes),
        (0u16..5000).prop_map(Op::Advance),
    ]
}

struct Harness {
    alb: Alb,
    now: Duration,
    present: [bool; 5],
    up: [bool; 5],
}

impl Harness {
    fn new(ipv6: bool) -> Self {
        let mut cfg = Config::new(Mode::BalanceAlb, mac(1));
        cfg.rlb_ipv6 = ipv6;
        Self {
            alb: Alb::new(cfg).unwrap(),
            now: Duration::ZERO,
            present: [false; 5],
            up: [false; 5],
        }
    }

    /// The engine's active selection: keep an active member that is up, else the first
    /// member that is up.
    fn reselect(&mut self) {
        let cur = self.alb.active();
        if cur.is_some_and(|a| self.present[a] && self.up[a]) {
            return;
        }
        let next = (0..5).find(|&i| self.present[i] && self.up[i]);
        self.alb.set_active(self.now, next).unwrap();
    }

    fn usable(&self, m: usize) -> bool {
        self.present[m] && self.up[m]
    }

    fn check(&mut self) {
        assert!(self.alb.clients().count() <= 256);
        assert!(self.alb.clients6().count() <= 256);
        for c in self.alb.clients() {
            if let Some(m) = c.member {
                assert!(
                    self.usable(m),
                    "client {} on member {m} that is down",
                    c.client_ip
                );
            }
        }
        while self.alb.poll_event().is_some() {}
        while let Some(t) = self.alb.poll_transmit(self.now) {
            assert!(
                self.usable(t.member),
                "sent on member {} that is down ({:?})",
                t.member,
                t.kind
            );
            assert!(t.frame().len() <= arp_alb::FRAME_CAPACITY);
        }
    }

    fn apply(&mut self, op: Op) {
        let bond = self.alb.bond_mac();
        match op {
            Op::Add(m) => {
                let m = usize::from(m);
                let r = self
                    .alb
                    .add_member(self.now, m, mac(m as u8 + 1), 1000, MemberLink::Up);
                if r.is_ok() {
                    self.present[m] = true;
                    self.up[m] = true;
                }
                self.reselect();
            }
            Op::Remove(m) => {
                let m = usize::from(m);
                if self.alb.remove_member(self.now, m).is_ok() {
                    self.present[m] = false;
                }
                self.reselect();
            }
            Op::Link(m, up) => {
                let m = usize::from(m);
                let l = if up { MemberLink::Up } else { MemberLink::Down };
                if self.alb.set_link(self.now, m, l).is_ok() {
                    self.up[m] = up;
                }
                self.reselect();
            }
            Op::HostReply(a, b, tagged) => {
                let cm = MacAddr([2, 0, 0, 0, a, b]);
                let mut f = arp_frame(
                    ArpOperation::Reply,
                    cm,
                    bond,
                    bond,
                    HOST_IP,
                    cm,
                    Ipv4Addr::new(198, 18, a, b),
                );
                if tagged {
                    f.splice(12..12, [0x81, 0x00, 0x00, a & 0x0f]);
                }
                let d = self.alb.handle_host_arp(self.now, &mut f);
                if let TxDecision::Send { member, .. } = d {
                    assert!(self.usable(member));
                }
            }
            Op::HostRequest(a) => {
                let mut f = arp_frame(
                    ArpOperation::Request,
                    MacAddr::BROADCAST,
                    bond,
                    bond,
                    HOST_IP,
                    MacAddr::ZERO,
                    Ipv4Addr::new(198, 18, 9, a),
                );
                if let TxDecision::Send { member, .. } = self.alb.handle_host_arp(self.now, &mut f)
                {
                    assert!(self.usable(member));
                }
            }
            Op::RxReply(m, a, b, c) => {
                // Spoofed: claims any client address, from any MAC, to any address.
                let f = arp_frame(
                    ArpOperation::Reply,
                    bond,
                    MacAddr([2, 9, 9, a, b, c]),
                    MacAddr([2, 9, 9, a, b, c]),
                    Ipv4Addr::new(198, 18, a, b),
                    bond,
                    Ipv4Addr::new(198, 18, 0, c),
                );
                let _ = self.alb.handle_rx(self.now, usize::from(m), &f);
            }
            Op::RxBytes(m, b) => {
                let _ = self.alb.handle_rx(self.now, usize::from(m), &b);
                // Also as an ARP or IPv6 payload.
                for et in [[0x08, 0x06], [0x86, 0xdd]] {
                    let mut f = vec![0u8; 12];
                    f.extend_from_slice(&et);
                    f.extend_from_slice(&b);
                    let _ = self.alb.handle_rx(self.now, usize::from(m), &f);
                }
            }
            Op::TxBytes(mut b) => {
                for et in [
                    None,
                    Some([0x08, 0x06]),
                    Some([0x86, 0xdd]),
                    Some([0x08, 0x00]),
                ] {
                    if let (Some(et), true) = (et, b.len() >= 14) {
                        b[12..14].copy_from_slice(&et);
                    }
                    let mut f = b.clone();
                    if let TxDecision::Send { member, .. } =
                        self.alb.select_tx(self.now, &mut f, |x| x.len() as u32)
                    {
                        assert!(self.usable(member));
                    }
                    assert_eq!(f.len(), b.len());
                }
            }
            Op::Advance(ms) => {
                let to = self.now + Duration::from_millis(u64::from(ms));
                while let Some(d) = self.alb.poll_timeout() {
                    if d > to {
                        break;
                    }
                    self.now = self.now.max(d);
                    self.alb.handle_timeout(self.now);
                    self.check();
                }
                self.now = to;
                self.alb.handle_timeout(self.now);
            }
        }
        self.check();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_the_invariants(ops in proptest::collection::vec(op(), 1..200), ipv6 in any::<bool>()) {
        let mut h = Harness::new(ipv6);
        for o in ops {
            h.apply(o);
        }
    }

    #[test]
    fn select_tx_and_handle_rx_never_panic_on_any_bytes(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        for mode in [Mode::BalanceTlb, Mode::BalanceAlb] {
            let mut cfg = Config::new(mode, mac(1));
            cfg.rlb_ipv6 = true;
            let mut a = Alb::new(cfg).unwrap();
            a.add_member(Duration::ZERO, 0, mac(1), 1000, MemberLink::Up).unwrap();
            a.add_member(Duration::ZERO, 1, mac(2), 1000, MemberLink::Up).unwrap();
            a.set_active(Duration::ZERO, Some(0)).unwrap();
            let mut f = b.clone();
            let _ = a.select_tx(Duration::ZERO, &mut f, |_| 7);
            a.handle_rx(Duration::ZERO, 1, &b).unwrap();
        }
    }
}

#[test]
fn a_flood_of_spoofed_replies_cannot_move_clients() {
    let mut h = Harness::new(false);
    for m in 0..3 {
        h.apply(Op::Add(m));
    }
    for c in 0..200u8 {
        h.apply(Op::HostReply(1, c, false));
    }
    h.apply(Op::Link(2, false));
    h.apply(Op::Advance(100));
    let before: Vec<_> = h.alb.clients().map(|c| (c.client_ip, c.member)).collect();
    assert_eq!(before.len(), 200);
    // 100 000 replies claiming to be every client, from random MACs, on every member,
    // including the failed one.
    let mut x: u32 = 1;
    for _ in 0..100_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let [a, b, c, d] = x.to_be_bytes();
        let bond = h.alb.bond_mac();
        let f = arp_frame(
            ArpOperation::Reply,
            bond,
            MacAddr([2, a, b, c, d, 1]),
            MacAddr([2, a, b, c, d, 1]),
            Ipv4Addr::new(198, 18, 1, b),
            bond,
            HOST_IP,
        );
        h.alb.handle_rx(h.now, usize::from(a % 3), &f).unwrap();
    }
    let after: Vec<_> = h.alb.clients().map(|c| (c.client_ip, c.member)).collect();
    assert_eq!(before, after, "no client changed member");
    assert!(after.iter().all(|(_, m)| *m != Some(2)));
    // The replies did change client addresses (ARP is unauthenticated, as in Linux), and
    // the updates they trigger go only to members that are up.
    h.apply(Op::Advance(5000));
}
