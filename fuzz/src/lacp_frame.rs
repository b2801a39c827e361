//! `lacp_frame`: whatever a member receives, through `System::handle_rx`, in every state a
//! port can be in.
//!
//! A set of systems is prepared once (fresh; converged with a fast or a slow partner;
//! independent control; partner silent and DEFAULTED; a looped bond; a port with LACP off),
//! and each input is handed, as one received frame, to a copy of each on every port. The
//! result and the counters must match the frame parser's verdict, the system's invariants
//! must hold ([`crate::lacp_check::check_system`]), every frame it sends must parse, and
//! time may then advance with the invariants still holding.

use crate::lacp_check::{Tracker, check_system, rx_checked};
use core::time::Duration;
use lacp::wire::MacAddr;
use lacp::{Config, CoupledControl, Duplex, LacpActive, LacpRate, Link, System};
use std::sync::OnceLock;

fn mac(side: u8, n: u8) -> MacAddr {
    MacAddr([0x02, 0, 0, side, 0, n])
}

/// Runs two systems joined port to port, delivering every frame, for `secs` seconds.
fn converge(mut a: System, mut b: System, secs: u64) -> (System, Duration) {
    let mut now = Duration::ZERO;
    let end = Duration::from_secs(secs);
    for _ in 0..100_000 {
        let mut moved = true;
        while moved {
            moved = false;
            while let Some(tx) = a.poll_transmit(now) {
                moved = true;
                let _ = b.handle_rx(now, tx.port, tx.frame.as_bytes());
            }
            while let Some(tx) = b.poll_transmit(now) {
                moved = true;
                let _ = a.handle_rx(now, tx.port, tx.frame.as_bytes());
            }
        }
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        let next = [a.poll_timeout(), b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(t) if t <= end => {
                now = t.max(now);
                a.handle_timeout(now);
                b.handle_timeout(now);
            }
            _ => break,
        }
    }
    (a, now)
}

fn system(side: u8, config: Config, links: &[Link]) -> System {
    let mut s = System::new(Config {
        bond_mac: mac(side, 0xaa),
        ..config
    })
    .expect("valid config");
    for (i, l) in links.iter().enumerate() {
        let _ = s.add_port(Duration::ZERO, i, mac(side, i as u8 + 1));
        let _ = s.handle_link(Duration::ZERO, i, *l);
    }
    while s.poll_transmit(Duration::ZERO).is_some() {}
    s
}

/// The prepared systems and the time each was left at.
fn prepared() -> &'static [(System, Duration)] {
    static PREPARED: OnceLock<Vec<(System, Duration)>> = OnceLock::new();
    PREPARED.get_or_init(|| {
        let up = Link::up(10_000);
        let fast = Config {
            lacp_rate: LacpRate::Fast,
            ..Config::default()
        };
        let three = [up, up, up];
        let half = Link {
            duplex: Duplex::Half,
            ..up
        };
        let mut out = vec![(system(1, fast, &three), Duration::ZERO)];
        out.push(converge(
            system(1, fast, &three),
            system(2, fast, &three),
            10,
        ));
        out.push(converge(
            system(1, Config::default(), &three),
            system(
                2,
                Config {
                    lacp_active: LacpActive::Off,
                    ..Config::default()
                },
                &three,
            ),
            40,
        ));
        out.push(converge(
            system(
                1,
                Config {
                    coupled_control: CoupledControl::Off,
                    ..fast
                },
                &three,
            ),
            system(2, fast, &three),
            10,
        ));
        // Partner silent: every port DEFAULTED, the no-partner fallback in force.
        out.push(converge(
            system(1, fast, &three),
            system(2, fast, &[Link::down(); 3]),
            10,
        ));
        // A port with LACP off (half duplex) next to two that run it.
        out.push(converge(
            system(1, fast, &[half, up, up]),
            system(2, fast, &three),
            10,
        ));
        out
    })
}

/// Runs one input.
pub fn run(data: &[u8]) {
    for (base, t0) in prepared() {
        for port in base.ports() {
            let mut sys = base.clone();
            let mut tracker = Tracker::default();
            let now = *t0;
            let _ = rx_checked(&mut sys, now, port, data);
            tracker.events(&mut sys);
            let sent = tracker.transmits(&mut sys, now, None);
            check_system(&sys, now);
            // A Marker Information is answered on the same port (unless rate limited).
            for tx in &sent {
                assert!(sys.port(tx.port).is_some());
            }
            // The same frame again, then time passes with the invariants still holding.
            let _ = rx_checked(&mut sys, now, port, data);
            tracker.events(&mut sys);
            let _ = tracker.transmits(&mut sys, now, None);
            check_system(&sys, now);
            let mut now = now;
            for _ in 0..3 {
                let Some(t) = sys.poll_timeout() else { break };
                now = t.max(now);
                sys.handle_timeout(now);
                tracker.events(&mut sys);
                let _ = tracker.transmits(&mut sys, now, None);
                check_system(&sys, now);
            }
        }
    }
}
