//! [`Encode`] for the protocol crates' own `Arbitrary` types used inside ops, in the field
//! order of their derives (the round-trip tests in `tests/corpus.rs` check it).

use crate::input::{Encode, encode_variant};
use lacp::wire::{Lacpdu, MacAddr, MarkerKind, MarkerPdu, Pdu, PortInfo};

impl Encode for MacAddr {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
}

impl Encode for PortInfo {
    fn encode(&self, out: &mut Vec<u8>) {
        self.system_priority.encode(out);
        self.system.encode(out);
        self.key.encode(out);
        self.port_priority.encode(out);
        self.port.encode(out);
        self.state.bits().encode(out);
    }
}

impl Encode for Lacpdu {
    fn encode(&self, out: &mut Vec<u8>) {
        self.version.encode(out);
        self.actor.encode(out);
        self.partner.encode(out);
        self.collector_max_delay.encode(out);
    }
}

impl Encode for MarkerPdu {
    fn encode(&self, out: &mut Vec<u8>) {
        self.version.encode(out);
        let kind = match self.kind {
            MarkerKind::Information => 0,
            MarkerKind::Response => 1,
        };
        encode_variant(out, kind, 2);
        self.requester_port.encode(out);
        self.requester_system.encode(out);
        self.transaction_id.encode(out);
    }
}

impl Encode for Pdu {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Lacpdu(p) => {
                encode_variant(out, 0, 2);
                p.encode(out);
            }
            Self::Marker(p) => {
                encode_variant(out, 1, 2);
                p.encode(out);
            }
        }
    }
}
