//! ARP wire format against real frames captured from Linux 6.1 balance-alb
//! (testdata/linux-6.1-balance-alb-arp.pcap).

mod common;

use arp_alb::MacAddr;
use arp_alb::wire::{
    ARP_LEN, ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetRepr, WireError, ethertype,
};
use common::{read_pcap, testdata};
use std::net::Ipv4Addr;

fn capture() -> Vec<Vec<u8>> {
    read_pcap(&testdata("linux-6.1-balance-alb-arp.pcap"))
}

/// Frame 7: the bond's reply to client 02:00:00:00:01:00, from member 52:54:00:00:00:01.
fn reply_frame() -> Vec<u8> {
    capture()[6].clone()
}

fn reply_repr() -> (EthernetRepr, ArpRepr) {
    (
        EthernetRepr {
            dst: MacAddr([2, 0, 0, 0, 1, 0]),
            src: MacAddr([0x52, 0x54, 0, 0, 0, 1]),
            vlan: None,
            ethertype: ethertype::ARP,
        },
        ArpRepr {
            operation: ArpOperation::Reply,
            source_hardware_addr: MacAddr([0x52, 0x54, 0, 0, 0, 1]),
            source_protocol_addr: Ipv4Addr::new(198, 18, 0, 3),
            target_hardware_addr: MacAddr([2, 0, 0, 0, 1, 0]),
            target_protocol_addr: Ipv4Addr::new(198, 18, 0, 10),
        },
    )
}

#[test]
fn capture_has_the_expected_frames() {
    let c = capture();
    assert_eq!(c.len(), 24);
    assert!(c.iter().all(|f| f.len() == 42));
}

#[test]
fn deconstruct() {
    let f = reply_frame();
    let eth = EthernetFrame::new_checked(&f[..]).unwrap();
    assert_eq!(eth.dst(), MacAddr([2, 0, 0, 0, 1, 0]));
    assert_eq!(eth.src(), MacAddr([0x52, 0x54, 0, 0, 0, 1]));
    assert_eq!(eth.vlan(), None);
    assert_eq!(eth.ethertype(), 0x0806);
    assert_eq!(eth.header_len(), 14);
    let arp = ArpPacket::new_checked(eth.payload()).unwrap();
    assert_eq!(arp.hardware_type(), 1);
    assert_eq!(arp.protocol_type(), 0x0800);
    assert_eq!(arp.hardware_len(), 6);
    assert_eq!(arp.protocol_len(), 4);
    assert_eq!(arp.operation(), ArpOperation::Reply);
    assert_eq!(
        arp.source_hardware_addr(),
        MacAddr([0x52, 0x54, 0, 0, 0, 1])
    );
    assert_eq!(arp.source_protocol_addr(), Ipv4Addr::new(198, 18, 0, 3));
    assert_eq!(arp.target_hardware_addr(), MacAddr([2, 0, 0, 0, 1, 0]));
    assert_eq!(arp.target_protocol_addr(), Ipv4Addr::new(198, 18, 0, 10));
}

#[test]
fn construct() {
    let want = reply_frame();
    let mut f = vec![0xa5u8; 42];
    f[12] = 0x08;
    f[13] = 0x06;
    let mut eth = EthernetFrame::new_checked(&mut f[..]).unwrap();
    eth.set_dst(MacAddr([2, 0, 0, 0, 1, 0]));
    eth.set_src(MacAddr([0x52, 0x54, 0, 0, 0, 1]));
    let mut arp = ArpPacket::new_checked(eth.payload_mut()).unwrap();
    arp.set_hardware_type(1);
    arp.set_protocol_type(0x0800);
    arp.set_hardware_len(6);
    arp.set_protocol_len(4);
    arp.set_operation(ArpOperation::Reply);
    arp.set_source_hardware_addr(MacAddr([0x52, 0x54, 0, 0, 0, 1]));
    arp.set_source_protocol_addr(Ipv4Addr::new(198, 18, 0, 3));
    arp.set_target_hardware_addr(MacAddr([2, 0, 0, 0, 1, 0]));
    arp.set_target_protocol_addr(Ipv4Addr::new(198, 18, 0, 10));
    assert_eq!(f, want);
}

#[test]
fn parse() {
    let f = reply_frame();
    let eth = EthernetFrame::new_checked(&f[..]).unwrap();
    let arp = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap()).unwrap();
    assert_eq!((EthernetRepr::parse(&eth), arp), reply_repr());
}

#[test]
fn emit() {
    let (e, a) = reply_repr();
    let mut buf = vec![0xa5u8; e.buffer_len() + a.buffer_len()];
    let off = e.emit(&mut buf).unwrap();
    a.emit(&mut ArpPacket::new_checked(&mut buf[off..]).unwrap());
    assert_eq!(buf, reply_frame());
}

#[test]
fn every_captured_frame_round_trips() {
    for (i, f) in capture().iter().enumerate() {
        let eth = EthernetFrame::new_checked(&f[..]).unwrap();
        let e = EthernetRepr::parse(&eth);
        let a = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap())
            .unwrap_or_else(|err| panic!("frame {}: {err}", i + 1));
        let mut buf = vec![0xa5u8; 42];
        let off = e.emit(&mut buf).unwrap();
        a.emit(&mut ArpPacket::new_checked(&mut buf[off..]).unwrap());
        assert_eq!(&buf, f, "frame {}", i + 1);
        let expect_op = if i < 6 {
            ArpOperation::Request
        } else {
            ArpOperation::Reply
        };
        assert_eq!(a.operation, expect_op, "frame {}", i + 1);
    }
}

fn arp_payload() -> Vec<u8> {
    reply_frame()[14..].to_vec()
}

#[test]
fn truncated_at_every_length() {
    let p = arp_payload();
    for len in 0..ARP_LEN {
        assert_eq!(
            ArpPacket::new_checked(&p[..len]).err(),
            Some(WireError::Truncated),
            "{len}"
        );
    }
    assert!(ArpPacket::new_checked(&p[..ARP_LEN]).is_ok());
}

fn parse_err(mutate: impl FnOnce(&mut [u8])) -> Option<WireError> {
    let mut p = arp_payload();
    mutate(&mut p);
    ArpRepr::parse(&ArpPacket::new_checked(&p[..]).unwrap()).err()
}

#[test]
fn malformed_hardware_type() {
    assert_eq!(
        parse_err(|p| p[1] = 6),
        Some(WireError::UnsupportedHardwareType)
    );
}

#[test]
fn malformed_protocol_type() {
    assert_eq!(
        parse_err(|p| p[2] = 0x86),
        Some(WireError::UnsupportedProtocolType)
    );
}

#[test]
fn malformed_hardware_len() {
    assert_eq!(parse_err(|p| p[4] = 8), Some(WireError::BadHardwareLength));
}

#[test]
fn malformed_protocol_len() {
    assert_eq!(parse_err(|p| p[5] = 16), Some(WireError::BadProtocolLength));
}

#[test]
fn unknown_operation_round_trips() {
    let mut p = arp_payload();
    p[7] = 3;
    let a = ArpRepr::parse(&ArpPacket::new_checked(&p[..]).unwrap()).unwrap();
    assert_eq!(a.operation, ArpOperation::Unknown(3));
    let mut out = vec![0xa5; 28];
    a.emit(&mut ArpPacket::new_checked(&mut out[..]).unwrap());
    assert_eq!(out, p);
}

#[test]
fn tagged_frame_parses_through_the_tag() {
    let f = reply_frame();
    let mut t = f[..12].to_vec();
    t.extend_from_slice(&[0x81, 0x00, 0x20, 0x0a]);
    t.extend_from_slice(&f[12..]);
    let eth = EthernetFrame::new_checked(&t[..]).unwrap();
    let tag = eth.vlan().unwrap();
    assert_eq!((tag.tpid, tag.vid(), tag.tci >> 13), (0x8100, 10, 1));
    assert_eq!(eth.ethertype(), ethertype::ARP);
    let r = EthernetRepr::parse(&eth);
    let mut out = vec![0xa5u8; t.len()];
    let off = r.emit(&mut out).unwrap();
    assert_eq!(off, 18);
    out[off..].copy_from_slice(eth.payload());
    assert_eq!(out, t);
}
