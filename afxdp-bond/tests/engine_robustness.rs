//! Hostile input in every mode: random frames (runts, truncated ARP/IPv6/LACP/IGMP,
//! garbage) received and sent, random link changes, members coming and going, time
//! jumping; nothing may panic and every decision must name members that exist.

use std::time::Duration;

use afxdp_bond::engine::{Bond, BondConfig, Duplex, LinkInfo, MacAddr, MemberConfig, Rx, Tx};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A frame that looks like something for a while, then is random or cut short.
fn frame(r: &mut Rng, bond_mac: MacAddr) -> Vec<u8> {
    let len = r.below(160) as usize;
    let mut f: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
    if len >= 14 {
        let et: [u8; 2] = match r.below(8) {
            0 => [0x08, 0x06],
            1 => [0x86, 0xdd],
            2 => [0x88, 0x09],
            3 => [0x08, 0x00],
            4 => [0x81, 0x00],
            _ => [f[12], f[13]],
        };
        f[12..14].copy_from_slice(&et);
        match r.below(5) {
            0 => f[..6].copy_from_slice(&[0x01, 0x80, 0xc2, 0, 0, 2]),
            1 => f[..6].copy_from_slice(&bond_mac.0),
            2 => f[..6].copy_from_slice(&[0xff; 6]),
            _ => {}
        }
        if et == [0x08, 0x00] && len > 24 {
            f[14] = 0x45;
            if r.below(2) == 0 {
                f[23] = 2; // IGMP
            }
        }
        if et == [0x88, 0x09] && len > 15 {
            f[14] = 1 + r.below(2) as u8;
            f[15] = 1;
        }
    }
    f
}

#[test]
fn nothing_panics_and_decisions_name_members() {
    let modes = [
        "mode=balance-rr miimon=100 packets_per_slave=0",
        "mode=active-backup miimon=100 updelay=200 num_grat_arp=3 resend_igmp=2",
        "mode=active-backup arp_interval=100 arp_ip_target=198.18.1.1 arp_validate=all",
        "mode=balance-xor xmit_hash_policy=encap3+4 miimon=100",
        "mode=broadcast",
        "mode=802.3ad lacp_rate=fast broadcast_neighbor=1 lacp_fallback=active-backup",
        "mode=balance-tlb",
        "mode=balance-alb",
    ];
    for (k, opts) in modes.iter().enumerate() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15 ^ k as u64);
        let mut t = Duration::ZERO;
        let mut b = Bond::from_modprobe(t, opts, BondConfig::default()).unwrap();
        b.set_host_addresses(
            t,
            &["198.18.0.1".parse().unwrap()],
            &["2001:db8::1".parse().unwrap()],
        );
        let mut present = [false; 4];
        for (i, p) in present.iter_mut().enumerate().take(3) {
            b.add_member(
                t,
                i,
                MemberConfig::new(format!("eth{i}"), MacAddr([2, 0, 0, 0, 1, i as u8])),
            )
            .unwrap();
            *p = true;
        }
        b.open(t);
        let mut last_generation = b.plan().generation();
        for step in 0..20_000 {
            t += Duration::from_micros(r.below(20_000));
            match r.below(100) {
                0..=39 => {
                    let m = r.below(5) as usize;
                    let mut f = frame(&mut r, b.mac());
                    let rx = b.handle_rx(t, m, &mut f);
                    if !present.get(m).copied().unwrap_or(false) {
                        assert!(matches!(rx, Rx::Drop(_)), "{opts} {step}");
                    }
                }
                40..=79 => {
                    let mut f = frame(&mut r, b.mac());
                    match b.select_tx(t, &mut f) {
                        Tx::Member(m) => assert!(present[m], "{opts} {step}: {m}"),
                        Tx::Members(set) => {
                            assert!(set.iter().all(|m| present[m]), "{opts} {step}");
                        }
                        Tx::Drop(_) => {}
                        Tx::ViaBond => panic!("the Bond never answers ViaBond"),
                    }
                }
                80..=89 => {
                    let m = r.below(4) as usize;
                    let link = LinkInfo {
                        carrier: r.below(3) != 0,
                        speed_mbps: [None, Some(1000), Some(10_000)][r.below(3) as usize],
                        duplex: [Duplex::Full, Duplex::Half, Duplex::Unknown][r.below(3) as usize],
                    };
                    let res = b.handle_link(t, m, link);
                    assert_eq!(res.is_ok(), present[m]);
                }
                90..=93 => {
                    let m = r.below(4) as usize;
                    if present[m] {
                        if b.member_indices().count() > 1 {
                            b.remove_member(t, m).unwrap();
                            present[m] = false;
                        }
                    } else if b
                        .add_member(
                            t,
                            m,
                            MemberConfig::new(format!("eth{m}"), MacAddr([2, 0, 0, 0, 1, m as u8])),
                        )
                        .is_ok()
                    {
                        present[m] = true;
                    }
                }
                _ => {
                    if let Some(d) = b.poll_timeout() {
                        t = t.max(d);
                    }
                    b.handle_timeout(t);
                }
            }
            while let Some(x) = b.poll_transmit(t) {
                assert!(
                    present[x.member],
                    "{opts} {step}: control frame for {}",
                    x.member
                );
                assert!(x.frame().len() >= 14);
            }
            while b.poll_event().is_some() {}
            let g = b.plan().generation();
            assert!(g >= last_generation);
            last_generation = g;
        }
        // The status renders in every state reached.
        let text = b.status();
        assert!(text.contains("Bonding Mode: "));
        let _ = b.status_json();
    }
}

#[test]
fn bond_and_plan_cross_threads() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<Bond>();
    send::<afxdp_bond::engine::Worker>();
    send::<std::sync::Arc<afxdp_bond::engine::Plan>>();
    sync::<afxdp_bond::engine::Plan>();
}

/// Found by the `engine` fuzz target: a bond closed and opened again returned the deadline
/// of a monitor run that fell due while it was down (in the past), instead of running what
/// was due at once, as Linux's `bond_open()` queues its works.
#[test]
fn reopening_never_returns_a_deadline_in_the_past() {
    for opts in [
        "mode=balance-rr miimon=100",
        "mode=active-backup arp_interval=100 arp_ip_target=198.18.1.1",
        "mode=802.3ad lacp_rate=fast",
        "mode=balance-alb",
    ] {
        let ms = Duration::from_millis;
        let mut b = Bond::from_modprobe(Duration::ZERO, opts, BondConfig::default()).unwrap();
        for i in 0..2 {
            b.add_member(
                Duration::ZERO,
                i,
                MemberConfig::new(format!("eth{i}"), MacAddr([2, 0, 0, 0, 1, i as u8])),
            )
            .unwrap();
        }
        b.open(Duration::ZERO);
        while let Some(d) = b.poll_timeout().filter(|&d| d <= ms(300)) {
            b.handle_timeout(d);
            while b.poll_transmit(d).is_some() {}
        }
        b.close(ms(300));
        assert_eq!(b.poll_timeout(), None, "{opts}");
        let reopen = ms(5000);
        b.open(reopen);
        let d = b.poll_timeout().expect("something scheduled");
        assert!(d >= reopen, "{opts}: deadline {d:?} before {reopen:?}");
        while b.poll_event().is_some() {}
        while b.poll_transmit(reopen).is_some() {}
    }
}
