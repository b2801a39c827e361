//! Wire-format tests on frames captured from Linux 6.1, Open vSwitch 3.1 and DPDK 22.11.

mod common;

use std::time::Duration;

use common::*;
use lacp::wire::{
    self, Error, EthernetHeader, FRAME_LEN, Frame, LacpduHeader, LacpduPacket, MarkerHeader,
    MarkerKind, MarkerPacket, MarkerPdu, PDU_LEN, Pdu, SlowProtocolsFrame,
};
use lacp::{Config, LacpRate, Link, MacAddr, PortInfo, PortState, Rx, System};
use proptest::prelude::*;
use zerocopy::{FromZeros, IntoBytes};

const CAPTURES: &[&str] = &[
    "linux-6.1-lacpdus.pcap",
    "linux-6.1-lacpdus-two-keys.pcap",
    "linux-6.1-marker-info-response.pcap",
    "dpdk-22.11-vs-ovs-3.1-lacpdus.pcap",
    "ovs-3.1-lacpdus.pcap",
];

fn linux_lacpdu() -> Vec<u8> {
    // Frame 5: Linux port 1 in the negotiated state (actor and partner 0x3f).
    read_pcap(testdata("linux-6.1-lacpdus.pcap")).swap_remove(4)
}

fn linux_marker_info() -> Vec<u8> {
    read_pcap(testdata("linux-6.1-marker-info-response.pcap")).swap_remove(0)
}

fn linux_marker_response() -> Vec<u8> {
    read_pcap(testdata("linux-6.1-marker-info-response.pcap")).swap_remove(1)
}

const LINUX_SYS: MacAddr = MacAddr([0x52, 0x54, 0, 0, 0, 1]);
const PARTNER_SYS: MacAddr = MacAddr([0x02, 0, 0, 0, 0xbe, 0xef]);
const NEGOTIATED: PortState = PortState::from_bits_retain(0x3f);

fn linux_repr() -> wire::Lacpdu {
    wire::Lacpdu {
        version: 1,
        actor: PortInfo {
            system_priority: 65535,
            system: LINUX_SYS,
            key: 9,
            port_priority: 255,
            port: 1,
            state: NEGOTIATED,
        },
        partner: PortInfo {
            system_priority: 32768,
            system: PARTNER_SYS,
            key: 4660,
            port_priority: 128,
            port: 1,
            state: NEGOTIATED,
        },
        collector_max_delay: 0,
    }
}

#[test]
fn every_captured_frame_parses_and_emits_byte_for_byte() {
    let mut n = 0;
    for name in CAPTURES {
        for (i, f) in read_pcap(testdata(name)).iter().enumerate() {
            assert_eq!(f.len(), FRAME_LEN, "{name} #{i}");
            let (src, pdu) = Pdu::parse_frame(f).unwrap_or_else(|e| panic!("{name} #{i}: {e}"));
            assert_eq!(Frame::new(src, &pdu).as_bytes(), &f[..], "{name} #{i}");
            n += 1;
        }
    }
    assert_eq!(n, 63);
}

#[test]
fn lacpdu_deconstruct() {
    let f = linux_lacpdu();
    let frame = SlowProtocolsFrame::new_checked(&f).unwrap();
    assert_eq!(frame.dst(), wire::SLOW_PROTOCOLS_MAC);
    assert_eq!(frame.src(), LINUX_SYS);
    assert_eq!(frame.subtype(), wire::Subtype::Lacp);
    let p = LacpduPacket::new_checked(frame.payload()).unwrap();
    assert_eq!(p.version(), 1);
    let h = p.header();
    assert_eq!((h.actor.tlv_type, h.actor.length), (1, 20));
    assert_eq!((h.partner.tlv_type, h.partner.length), (2, 20));
    assert_eq!((h.collector_type, h.collector_length), (3, 16));
    let a = p.actor();
    assert_eq!(a.system_priority, 65535);
    assert_eq!(a.system, LINUX_SYS);
    assert_eq!(a.key, 9);
    assert_eq!(a.port_priority, 255);
    assert_eq!(a.port, 1);
    assert_eq!(a.state, NEGOTIATED);
    let b = p.partner();
    assert_eq!(b.system_priority, 32768);
    assert_eq!(b.system, PARTNER_SYS);
    assert_eq!(b.key, 4660);
    assert_eq!(b.port_priority, 128);
    assert_eq!(b.port, 1);
    assert_eq!(b.state, NEGOTIATED);
    assert_eq!(p.collector_max_delay(), 0);
}

#[test]
fn lacpdu_construct() {
    let f = linux_lacpdu();
    let mut buf = [0xa5u8; FRAME_LEN];
    let eth = EthernetHeader {
        dst: wire::SLOW_PROTOCOLS_MAC.0,
        src: LINUX_SYS.0,
        ethertype: 0x8809.into(),
    };
    eth.write_to(&mut buf[..14]).unwrap();
    let mut h = LacpduHeader::new_zeroed();
    h.subtype = 1;
    h.version = 1;
    h.actor.tlv_type = 1;
    h.actor.length = 20;
    h.actor.system_priority.set(65535);
    h.actor.system = LINUX_SYS.0;
    h.actor.key.set(9);
    h.actor.port_priority.set(255);
    h.actor.port.set(1);
    h.actor.state = 0x3f;
    h.partner.tlv_type = 2;
    h.partner.length = 20;
    h.partner.system_priority.set(32768);
    h.partner.system = PARTNER_SYS.0;
    h.partner.key.set(4660);
    h.partner.port_priority.set(128);
    h.partner.port.set(1);
    h.partner.state = 0x3f;
    h.collector_type = 3;
    h.collector_length = 16;
    h.write_to(&mut buf[14..72]).unwrap();
    buf[72..].fill(0); // terminator and reserved
    assert_eq!(&buf[..], &f[..]);
}

#[test]
fn lacpdu_parse() {
    let f = linux_lacpdu();
    let (src, pdu) = Pdu::parse_frame(&f).unwrap();
    assert_eq!(src, LINUX_SYS);
    assert_eq!(pdu, Pdu::Lacpdu(linux_repr()));
}

#[test]
fn lacpdu_emit() {
    let f = linux_lacpdu();
    let repr = linux_repr();
    assert_eq!(repr.buffer_len(), PDU_LEN);
    let mut buf = [0xa5u8; PDU_LEN];
    repr.emit(&mut buf);
    assert_eq!(&buf[..], &f[14..]);
    assert_eq!(Frame::new(LINUX_SYS, &Pdu::Lacpdu(repr)).as_bytes(), &f[..]);
}

fn marker_info_repr() -> MarkerPdu {
    MarkerPdu {
        version: 1,
        kind: MarkerKind::Information,
        requester_port: 1,
        requester_system: PARTNER_SYS,
        transaction_id: 43981,
    }
}

#[test]
fn marker_deconstruct() {
    let f = linux_marker_info();
    let frame = SlowProtocolsFrame::new_checked(&f).unwrap();
    assert_eq!(frame.subtype(), wire::Subtype::Marker);
    let p = MarkerPacket::new_checked(frame.payload()).unwrap();
    assert_eq!(p.version(), 1);
    assert_eq!(p.kind(), MarkerKind::Information);
    assert_eq!(p.header().length, 16);
    assert_eq!(p.requester_port(), 1);
    assert_eq!(p.requester_system(), PARTNER_SYS);
    assert_eq!(p.transaction_id(), 43981);
    let r = linux_marker_response();
    let p = MarkerPacket::new_checked(&r[14..]).unwrap();
    assert_eq!(p.kind(), MarkerKind::Response);
}

#[test]
fn marker_construct() {
    let f = linux_marker_response();
    let mut buf = [0xa5u8; FRAME_LEN];
    EthernetHeader {
        dst: wire::SLOW_PROTOCOLS_MAC.0,
        src: LINUX_SYS.0,
        ethertype: 0x8809.into(),
    }
    .write_to(&mut buf[..14])
    .unwrap();
    let mut h = MarkerHeader::new_zeroed();
    h.subtype = 2;
    h.version = 1;
    h.tlv_type = 2;
    h.length = 16;
    h.requester_port.set(1);
    h.requester_system = PARTNER_SYS.0;
    h.transaction_id.set(43981);
    h.write_to(&mut buf[14..34]).unwrap();
    buf[34..].fill(0);
    assert_eq!(&buf[..], &f[..]);
}

#[test]
fn marker_parse() {
    let (_, pdu) = Pdu::parse_frame(&linux_marker_info()).unwrap();
    assert_eq!(pdu, Pdu::Marker(marker_info_repr()));
    let (src, pdu) = Pdu::parse_frame(&linux_marker_response()).unwrap();
    assert_eq!(src, LINUX_SYS);
    assert_eq!(pdu, Pdu::Marker(marker_info_repr().response()));
}

#[test]
fn marker_emit() {
    let mut buf = [0xa5u8; PDU_LEN];
    marker_info_repr().response().emit(&mut buf);
    assert_eq!(&buf[..], &linux_marker_response()[14..]);
    let mut buf = [0xa5u8; PDU_LEN];
    marker_info_repr().emit(&mut buf);
    assert_eq!(&buf[..], &linux_marker_info()[14..]);
}

/// Our responder answers Linux's captured Marker Information exactly as Linux did.
#[test]
fn marker_responder_matches_linux() {
    let mut s = System::new(Config {
        bond_mac: LINUX_SYS,
        ..Config::default()
    })
    .unwrap();
    s.add_port(Duration::ZERO, 0, LINUX_SYS).unwrap();
    // Link down: counted, not answered.
    let _ = s
        .handle_rx(Duration::ZERO, 0, &linux_marker_info())
        .unwrap();
    assert!(s.poll_transmit(Duration::ZERO).is_none());
    let now = Duration::from_secs(1);
    s.handle_link(now, 0, Link::up(1000)).unwrap();
    while s.poll_transmit(now).is_some() {}
    assert_eq!(
        s.handle_rx(now, 0, &linux_marker_info()).unwrap(),
        Rx::Marker
    );
    let t = s.poll_transmit(now).unwrap();
    assert_eq!(t.port, 0);
    assert_eq!(t.frame.as_bytes(), &linux_marker_response()[..]);
    assert_eq!(s.counters(0).unwrap().marker_rx, 2);
    assert_eq!(s.counters(0).unwrap().marker_resp_tx, 1);
}

/// Driven with the partner Linux saw, our LACPDUs are the bytes Linux sent.
#[test]
fn negotiated_lacpdus_match_linux_byte_for_byte() {
    let frames = read_pcap(testdata("linux-6.1-lacpdus.pcap"));
    let mut s = System::new(Config {
        bond_mac: LINUX_SYS,
        lacp_rate: LacpRate::Fast,
        ..Config::default()
    })
    .unwrap();
    let perm = [LINUX_SYS, MacAddr([0x52, 0x54, 0, 0, 0, 2])];
    let mut now = Duration::ZERO;
    for (i, m) in perm.iter().enumerate() {
        s.add_port(now, i, *m).unwrap();
        s.handle_link(now, i, Link::up(1000)).unwrap();
    }
    // The partner's LACPDUs, rebuilt from what Linux echoed of them.
    let partner_frame = |port: u16, ours: &PortInfo| {
        let pdu = wire::Lacpdu {
            version: 1,
            actor: PortInfo {
                system_priority: 32768,
                system: PARTNER_SYS,
                key: 4660,
                port_priority: 128,
                port,
                state: NEGOTIATED,
            },
            partner: *ours,
            collector_max_delay: 0,
        };
        Frame::new(MacAddr([0x02, 0, 0, 0, 0, port as u8]), &Pdu::Lacpdu(pdu))
    };
    let mut last = [None, None];
    for _ in 0..400 {
        now += Duration::from_millis(10);
        s.handle_timeout(now);
        for i in 0..2 {
            let ours = s.port(i).unwrap().actor;
            let _ = s
                .handle_rx(now, i, partner_frame(i as u16 + 1, &ours).as_bytes())
                .unwrap();
        }
        while let Some(t) = s.poll_transmit(now) {
            last[t.port] = Some(t.frame);
        }
    }
    assert!(s.is_distributing(0) && s.is_distributing(1));
    assert_eq!(last[0].unwrap().as_bytes(), &frames[4][..]);
    assert_eq!(last[1].unwrap().as_bytes(), &frames[5][..]);
}

fn malformed(mutate: impl FnOnce(&mut Vec<u8>)) -> Error {
    let mut f = linux_lacpdu();
    mutate(&mut f);
    Pdu::parse_frame(&f).unwrap_err()
}

fn malformed_marker(mutate: impl FnOnce(&mut Vec<u8>)) -> Error {
    let mut f = linux_marker_info();
    mutate(&mut f);
    Pdu::parse_frame(&f).unwrap_err()
}

#[test]
fn malformed_truncated() {
    assert_eq!(malformed(|f| f.truncate(FRAME_LEN - 1)), Error::Truncated);
    assert_eq!(malformed(|f| f.truncate(13)), Error::Truncated);
    assert_eq!(malformed(|f| f.truncate(14)), Error::Truncated);
    assert_eq!(
        malformed_marker(|f| f.truncate(FRAME_LEN - 1)),
        Error::Truncated
    );
}

#[test]
fn malformed_bad_version() {
    assert_eq!(malformed(|f| f[15] = 0), Error::BadVersion);
    assert_eq!(malformed_marker(|f| f[15] = 0), Error::BadVersion);
}

#[test]
fn malformed_actor_tlv_type() {
    assert_eq!(malformed(|f| f[16] = 2), Error::ActorTlvType);
}

#[test]
fn malformed_actor_tlv_length() {
    assert_eq!(malformed(|f| f[17] = 19), Error::ActorTlvLength);
}

#[test]
fn malformed_partner_tlv_type() {
    assert_eq!(malformed(|f| f[36] = 1), Error::PartnerTlvType);
}

#[test]
fn malformed_partner_tlv_length() {
    assert_eq!(malformed(|f| f[37] = 21), Error::PartnerTlvLength);
}

#[test]
fn malformed_collector_tlv_type() {
    assert_eq!(malformed(|f| f[56] = 4), Error::CollectorTlvType);
}

#[test]
fn malformed_collector_tlv_length() {
    assert_eq!(malformed(|f| f[57] = 0), Error::CollectorTlvLength);
}

#[test]
fn malformed_terminator() {
    assert_eq!(malformed(|f| f[72] = 5), Error::Terminator);
    assert_eq!(malformed(|f| f[73] = 2), Error::Terminator);
    assert_eq!(malformed_marker(|f| f[33] = 1), Error::Terminator);
}

#[test]
fn malformed_extension_tlv_overrun() {
    // Version 2 with a TLV that claims to run past the end of the frame.
    assert_eq!(
        malformed(|f| {
            f[15] = 2;
            f[72] = 0x10;
            f[73] = 60;
        }),
        Error::TlvOverrun
    );
    // A TLV length below its own header.
    assert_eq!(
        malformed(|f| {
            f[15] = 2;
            f[72] = 0x10;
            f[73] = 1;
        }),
        Error::TlvOverrun
    );
    // TLVs all the way to the end with no terminator.
    assert_eq!(
        malformed(|f| {
            f[15] = 2;
            let mut off = 72;
            while off + 2 <= f.len() {
                f[off] = 0x10;
                f[off + 1] = 2;
                off += 2;
            }
        }),
        Error::TlvOverrun
    );
}

#[test]
fn malformed_marker_tlv_length() {
    assert_eq!(malformed_marker(|f| f[17] = 15), Error::MarkerTlvLength);
}

#[test]
fn unknown_marker_tlv_and_subtype_and_foreign_frames() {
    assert_eq!(malformed_marker(|f| f[16] = 3), Error::UnknownMarkerTlv(3));
    assert_eq!(malformed(|f| f[14] = 3), Error::UnknownSubtype(3));
    assert_eq!(malformed(|f| f[12] = 0x08), Error::NotSlowProtocols);
    assert_eq!(malformed(|f| f[5] = 0x03), Error::WrongDestination);
}

#[test]
fn later_version_is_processed_as_version_1_ignoring_extra_tlvs() {
    let mut f = linux_lacpdu();
    f[15] = 3;
    // Two unknown TLVs after the collector, then the terminator.
    f[72..78].copy_from_slice(&[0x10, 6, 1, 2, 3, 4]);
    f[78..82].copy_from_slice(&[0x11, 4, 9, 9]);
    let (_, pdu) = Pdu::parse_frame(&f).unwrap();
    let Pdu::Lacpdu(p) = pdu else { panic!() };
    assert_eq!(p.version, 3);
    assert_eq!(p.actor, linux_repr().actor);
    assert_eq!(p.partner, linux_repr().partner);
    // Longer than 110 octets is fine too (version 2 PDUs can be).
    let mut long = f.clone();
    long.extend_from_slice(&[0u8; 40]);
    assert!(Pdu::parse_frame(&long).is_ok());
}

#[test]
fn trailing_octets_after_the_pdu_are_ignored() {
    let mut f = linux_lacpdu();
    f.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]); // an FCS left in place
    assert_eq!(Pdu::parse_frame(&f).unwrap().1, Pdu::Lacpdu(linux_repr()));
}

/// Every malformed case is dropped by the system and counted under its own reason.
#[test]
fn system_counts_each_malformed_reason() {
    let mut s = System::new(Config::default()).unwrap();
    s.add_port(Duration::ZERO, 3, MacAddr([2, 0, 0, 0, 0, 9]))
        .unwrap();
    let cases: Vec<(Vec<u8>, Error)> = vec![
        (
            {
                let mut f = linux_lacpdu();
                f.truncate(100);
                f
            },
            Error::Truncated,
        ),
        (
            {
                let mut f = linux_lacpdu();
                f[15] = 0;
                f
            },
            Error::BadVersion,
        ),
        (
            {
                let mut f = linux_lacpdu();
                f[16] = 9;
                f
            },
            Error::ActorTlvType,
        ),
        (
            {
                let mut f = linux_lacpdu();
                f[17] = 9;
                f
            },
            Error::ActorTlvLength,
        ),
        (
            {
                let mut f = linux_lacpdu();
                f[36] = 9;
                f
            },
            Error::PartnerTlvType,
        ),
        (
            {
                let mut f = linux_lacpdu();
                f[37] = 9;
                f
            },
            Error::PartnerTlvLength,
        ),
        (
            {
                let mut f = linux_lacpdu();
                f[56] = 9;
                f
            },
            Error::CollectorTlvType,
        ),
        (
            {
                let mut f = linux_lacpdu();
                f[57] = 9;
                f
            },
            Error::CollectorTlvLength,
        ),
        (
            {
                let mut f = linux_lacpdu();
                f[72] = 9;
                f
            },
            Error::Terminator,
        ),
        (
            {
                let mut f = linux_lacpdu();
                f[15] = 2;
                f[72] = 9;
                f[73] = 1;
                f
            },
            Error::TlvOverrun,
        ),
        (
            {
                let mut f = linux_marker_info();
                f[17] = 9;
                f
            },
            Error::MarkerTlvLength,
        ),
    ];
    for (i, (f, e)) in cases.iter().enumerate() {
        assert_eq!(s.handle_rx(Duration::ZERO, 3, f).unwrap(), Rx::Dropped(*e));
        let c = s.counters(3).unwrap();
        assert_eq!(c.lacpdu_illegal_rx, i as u64 + 1);
        assert_eq!(c.malformed.total(), i as u64 + 1);
    }
    let m = s.counters(3).unwrap().malformed;
    for v in [
        m.truncated,
        m.bad_version,
        m.actor_tlv_type,
        m.actor_tlv_length,
        m.partner_tlv_type,
        m.partner_tlv_length,
        m.collector_tlv_type,
        m.collector_tlv_length,
        m.terminator,
        m.tlv_overrun,
        m.marker_tlv_length,
    ] {
        assert_eq!(v, 1);
    }
    let mut f = linux_lacpdu();
    f[14] = 3;
    assert_eq!(
        s.handle_rx(Duration::ZERO, 3, &f).unwrap(),
        Rx::Dropped(Error::UnknownSubtype(3))
    );
    let mut f = linux_marker_info();
    f[16] = 7;
    assert_eq!(
        s.handle_rx(Duration::ZERO, 3, &f).unwrap(),
        Rx::Dropped(Error::UnknownMarkerTlv(7))
    );
    let c = s.counters(3).unwrap();
    assert_eq!((c.lacpdu_unknown_rx, c.marker_unknown_rx), (1, 1));
    let mut f = linux_lacpdu();
    f[12] = 0x08;
    f[13] = 0x00;
    assert_eq!(
        s.handle_rx(Duration::ZERO, 3, &f).unwrap(),
        Rx::NotSlowProtocols
    );
    assert!(s.handle_rx(Duration::ZERO, 4, &f).is_err());
    assert!(s.poll_transmit(Duration::ZERO).is_none());
}

proptest! {
    #[test]
    fn any_bytes_never_panic_and_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok((src, pdu)) = Pdu::parse_frame(&bytes) {
            let f = Frame::new(src, &pdu);
            let (src2, pdu2) = Pdu::parse_frame(f.as_bytes()).unwrap();
            prop_assert_eq!(src, src2);
            prop_assert_eq!(pdu, pdu2);
        }
    }

    #[test]
    fn any_valid_frame_round_trips_exactly(
        which in 0usize..3,
        flips in proptest::collection::vec((14usize..FRAME_LEN, any::<u8>()), 0..6),
    ) {
        let mut f = match which {
            0 => linux_lacpdu(),
            1 => linux_marker_info(),
            _ => linux_marker_response(),
        };
        for (i, v) in flips {
            f[i] = v;
        }
        if let Ok((src, pdu)) = Pdu::parse_frame(&f) {
            // Reserved octets are not kept: compare what the PDU means.
            let again = Frame::new(src, &pdu);
            prop_assert_eq!(Pdu::parse_frame(again.as_bytes()).unwrap(), (src, pdu));
        }
    }

    #[test]
    fn every_truncation_is_truncated(len in 0usize..FRAME_LEN, which in 0usize..2) {
        let f = if which == 0 { linux_lacpdu() } else { linux_marker_info() };
        prop_assert_eq!(Pdu::parse_frame(&f[..len]).unwrap_err(), Error::Truncated);
    }

    #[test]
    fn system_survives_arbitrary_input(
        ops in proptest::collection::vec((0u8..4, any::<u16>(), proptest::collection::vec(any::<u8>(), 0..130)), 1..60)
    ) {
        let mut s = System::new(Config { lacp_rate: LacpRate::Fast, ..Config::default() }).unwrap();
        let mut now = Duration::ZERO;
        for p in 0..2 {
            s.add_port(now, p, MacAddr([2, 0, 0, 0, 0, p as u8 + 1])).unwrap();
            s.handle_link(now, p, Link::up(10_000)).unwrap();
        }
        for (op, n, bytes) in ops {
            match op {
                0 => {
                    let mut f = linux_lacpdu();
                    for (i, b) in bytes.iter().enumerate() {
                        f[14 + (i * 7 + usize::from(n)) % PDU_LEN] ^= b;
                    }
                    let _ = s.handle_rx(now, usize::from(n % 2), &f).unwrap();
                }
                1 => { let _ = s.handle_rx(now, usize::from(n % 2), &bytes).unwrap(); }
                2 => {
                    let link = if n % 3 == 0 { Link::down() } else { Link::up(u32::from(n % 4) * 10_000) };
                    s.handle_link(now, usize::from(n % 2), link).unwrap();
                }
                _ => {
                    now += Duration::from_millis(u64::from(n) * 10);
                    s.handle_timeout(now);
                }
            }
            let mut sent = 0;
            while let Some(t) = s.poll_transmit(now) {
                prop_assert!(Pdu::parse_frame(t.frame.as_bytes()).is_ok());
                sent += 1;
                prop_assert!(sent < 20);
            }
            // Everything due has been done: the next deadline is in the future.
            if let Some(t) = s.poll_timeout() {
                prop_assert!(t > now, "deadline {:?} not after now {:?}", t, now);
            }
            while s.poll_event().is_some() {}
        }
    }
}
