//! `lacp_wire`: LACPDU and Marker PDU parse -> emit -> parse.
//!
//! - Any bytes as a whole frame: if they parse, the frame built from the parsed PDU parses to
//!   the same source and PDU, and its bytes are the input's first 124 bytes with every
//!   reserved octet zeroed (the crate claims emit writes every octet, reserved ones as zero,
//!   and a later-version LACPDU in the version-1 layout): byte for byte whenever the input's
//!   reserved octets are zero.
//! - The same bytes as a bare PDU through the checked views; the views and the frame parser
//!   agree, and a rejected PDU is counted under exactly the malformed reasons.
//! - An `arbitrary` PDU (the crate's `arbitrary` feature) emitted and parsed back.

use arbitrary::{Arbitrary, Unstructured};
use lacp::wire::{
    self, ETHERNET_HEADER_LEN, Error, FRAME_LEN, Frame, LacpduPacket, MalformedCounters,
    MarkerPacket, PDU_LEN, Pdu, SLOW_PROTOCOLS_ETHERTYPE, SLOW_PROTOCOLS_MAC,
};

/// What emit must produce for a PDU that parsed from `pdu` (110 bytes): the input with the
/// reserved octets zeroed.
fn canonical(pdu: &[u8]) -> [u8; PDU_LEN] {
    let mut c = [0u8; PDU_LEN];
    c.copy_from_slice(&pdu[..PDU_LEN]);
    match pdu[0] {
        1 => {
            // Actor TLV reserved (19..22), partner TLV reserved (39..42), collector reserved
            // (46..58), terminator and the 50 reserved octets (58..110).
            c[19..22].fill(0);
            c[39..42].fill(0);
            c[46..58].fill(0);
            c[58..].fill(0);
        }
        _ => {
            // Marker: pad (16..18); the terminator (18..20) is zero once valid; reserved
            // (20..110).
            c[16..18].fill(0);
            c[20..].fill(0);
        }
    }
    c
}

fn is_malformed(e: Error) -> bool {
    let mut m = MalformedCounters::default();
    let counted = m.record(e);
    assert_eq!(m.total(), u64::from(counted));
    counted
}

/// Runs one input.
pub fn run(data: &[u8]) {
    // As a whole frame.
    match Pdu::parse_frame(data) {
        Ok((src, pdu)) => {
            assert!(
                data.len() >= FRAME_LEN,
                "parsed a {}-byte frame",
                data.len()
            );
            assert_eq!(&data[..6], &SLOW_PROTOCOLS_MAC.0);
            assert_eq!(
                u16::from_be_bytes([data[12], data[13]]),
                SLOW_PROTOCOLS_ETHERTYPE
            );
            let frame = Frame::new(src, &pdu);
            let bytes = frame.as_bytes();
            assert_eq!(bytes.len(), FRAME_LEN);
            assert_eq!(Pdu::parse_frame(bytes), Ok((src, pdu)), "re-parse");
            assert_eq!(&bytes[..ETHERNET_HEADER_LEN], &data[..ETHERNET_HEADER_LEN]);
            let want = canonical(&data[ETHERNET_HEADER_LEN..]);
            assert_eq!(&bytes[ETHERNET_HEADER_LEN..], &want[..], "emit vs input");
            // Emit into a dirty buffer writes every byte.
            let mut buf = [0xa5u8; PDU_LEN];
            pdu.emit(&mut buf);
            assert_eq!(buf, want);
            let _ = alloc::format!("{frame:?}");
        }
        Err(e) => {
            let _ = alloc::format!("{e}");
            let _ = is_malformed(e);
            if let Ok(f) = wire::SlowProtocolsFrame::new_checked(data) {
                // The frame parser's error is the PDU parser's.
                assert_eq!(Pdu::parse(&f), Err(e));
            }
        }
    }

    // As a bare PDU (from the subtype octet).
    let lacp = LacpduPacket::new_checked(data);
    let marker = MarkerPacket::new_checked(data);
    if let Ok(p) = &lacp {
        assert!(data.len() >= PDU_LEN);
        let parsed = wire::Lacpdu::parse(p);
        assert_eq!(parsed.version, p.version());
        assert_ne!(parsed.version, 0);
        let mut buf = [0xa5u8; PDU_LEN];
        parsed.emit(&mut buf);
        assert_eq!(buf, canonical(data));
        let again = LacpduPacket::new_checked(&buf[..]).expect("emitted LACPDU parses");
        assert_eq!(wire::Lacpdu::parse(&again), parsed);
    }
    if let Ok(p) = &marker {
        let parsed = wire::MarkerPdu::parse(p);
        let mut buf = [0xa5u8; PDU_LEN];
        parsed.emit(&mut buf);
        assert_eq!(buf, canonical(data));
        let again = MarkerPacket::new_checked(&buf[..]).expect("emitted Marker parses");
        assert_eq!(wire::MarkerPdu::parse(&again), parsed);
        let resp = parsed.response();
        assert_eq!(resp.kind, wire::MarkerKind::Response);
        assert_eq!(
            (resp.requester_port, resp.transaction_id),
            (parsed.requester_port, parsed.transaction_id)
        );
    }
    assert!(lacp.is_err() || marker.is_err(), "one subtype octet");
    for e in [lacp.err(), marker.err()].into_iter().flatten() {
        let _ = is_malformed(e);
        if data.len() < PDU_LEN {
            assert_eq!(e, Error::Truncated);
        }
    }

    // Construct: an arbitrary PDU emitted and parsed back.
    if let Ok((src, pdu)) = <(wire::MacAddr, Pdu)>::arbitrary(&mut Unstructured::new(data)) {
        let frame = Frame::new(src, &pdu);
        let version = match pdu {
            Pdu::Lacpdu(p) => p.version,
            Pdu::Marker(p) => p.version,
        };
        match Pdu::parse_frame(frame.as_bytes()) {
            Ok(back) => assert_eq!(back, (src, pdu)),
            Err(e) => assert_eq!((e, version), (Error::BadVersion, 0), "{pdu:?}"),
        }
    }
}
