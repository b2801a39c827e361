//! ARP for Ethernet and IPv4 (RFC 826): requests, replies and gratuitous ARP.

use super::{MacAddr, WireError};
use core::net::Ipv4Addr;
use zerocopy::byteorder::network_endian::U16;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Length of an Ethernet/IPv4 ARP message.
pub const ARP_LEN: usize = 28;

const HTYPE_ETHERNET: u16 = 1;
const PTYPE_IPV4: u16 = 0x0800;

/// Byte offsets of the Ethernet/IPv4 ARP message (the layout of [`ArpHeader`]).
mod field {
    use core::ops::Range;
    pub(super) const HTYPE: Range<usize> = 0..2;
    pub(super) const PTYPE: Range<usize> = 2..4;
    pub(super) const HLEN: usize = 4;
    pub(super) const PLEN: usize = 5;
    pub(super) const OPER: Range<usize> = 6..8;
    pub(super) const SHA: Range<usize> = 8..14;
    pub(super) const SPA: Range<usize> = 14..18;
    pub(super) const THA: Range<usize> = 18..24;
    pub(super) const TPA: Range<usize> = 24..28;
}

/// The Ethernet/IPv4 ARP message, as Linux `bond_alb.c` lays out its `struct arp_pkt`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct ArpHeader {
    /// Hardware type (1 = Ethernet).
    pub htype: U16,
    /// Protocol type (0x0800 = IPv4).
    pub ptype: U16,
    /// Hardware address length.
    pub hlen: u8,
    /// Protocol address length.
    pub plen: u8,
    /// Operation.
    pub oper: U16,
    /// Sender hardware address.
    pub sha: [u8; 6],
    /// Sender protocol address.
    pub spa: [u8; 4],
    /// Target hardware address.
    pub tha: [u8; 6],
    /// Target protocol address.
    pub tpa: [u8; 4],
}

/// ARP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpOperation {
    /// 1.
    Request,
    /// 2.
    Reply,
    /// Any other value (RARP and friends), kept so it round-trips.
    Unknown(u16),
}

impl From<u16> for ArpOperation {
    fn from(v: u16) -> Self {
        match v {
            1 => Self::Request,
            2 => Self::Reply,
            n => Self::Unknown(n),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(op: ArpOperation) -> Self {
        match op {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Unknown(n) => n,
        }
    }
}

/// A view of an ARP message in a buffer (starting at the ARP header, after the Ethernet
/// header and tag).
#[derive(Debug, Clone, Copy)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Checks that the buffer holds the 28-byte Ethernet/IPv4 message (Linux
    /// `skb_header_pointer(skb, 0, sizeof(struct arp_pkt))`). The field values are checked
    /// by [`ArpRepr::parse`]. After this no accessor can panic.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        if buffer.as_ref().len() < ARP_LEN {
            return Err(WireError::Truncated);
        }
        Ok(Self { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u16_at(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn mac_at(&self, r: core::ops::Range<usize>) -> MacAddr {
        let mut m = [0; 6];
        m.copy_from_slice(&self.buffer.as_ref()[r]);
        MacAddr(m)
    }

    fn ip_at(&self, r: core::ops::Range<usize>) -> Ipv4Addr {
        let mut a = [0; 4];
        a.copy_from_slice(&self.buffer.as_ref()[r]);
        Ipv4Addr::from(a)
    }

    /// Hardware type.
    pub fn hardware_type(&self) -> u16 {
        self.u16_at(field::HTYPE)
    }
    /// Protocol type.
    pub fn protocol_type(&self) -> u16 {
        self.u16_at(field::PTYPE)
    }
    /// Hardware address length.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }
    /// Protocol address length.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }
    /// Operation.
    pub fn operation(&self) -> ArpOperation {
        self.u16_at(field::OPER).into()
    }
    /// Sender hardware address.
    pub fn source_hardware_addr(&self) -> MacAddr {
        self.mac_at(field::SHA)
    }
    /// Sender protocol address.
    pub fn source_protocol_addr(&self) -> Ipv4Addr {
        self.ip_at(field::SPA)
    }
    /// Target hardware address.
    pub fn target_hardware_addr(&self) -> MacAddr {
        self.mac_at(field::THA)
    }
    /// Target protocol address.
    pub fn target_protocol_addr(&self) -> Ipv4Addr {
        self.ip_at(field::TPA)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    fn set_u16(&mut self, r: core::ops::Range<usize>, v: u16) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_be_bytes());
    }
    /// Sets the hardware type.
    pub fn set_hardware_type(&mut self, v: u16) {
        self.set_u16(field::HTYPE, v);
    }
    /// Sets the protocol type.
    pub fn set_protocol_type(&mut self, v: u16) {
        self.set_u16(field::PTYPE, v);
    }
    /// Sets the hardware address length.
    pub fn set_hardware_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::HLEN] = v;
    }
    /// Sets the protocol address length.
    pub fn set_protocol_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::PLEN] = v;
    }
    /// Sets the operation.
    pub fn set_operation(&mut self, op: ArpOperation) {
        self.set_u16(field::OPER, op.into());
    }
    /// Sets the sender hardware address (what RLB rewrites in the host's replies).
    pub fn set_source_hardware_addr(&mut self, mac: MacAddr) {
        self.buffer.as_mut()[field::SHA].copy_from_slice(&mac.0);
    }
    /// Sets the sender protocol address.
    pub fn set_source_protocol_addr(&mut self, ip: Ipv4Addr) {
        self.buffer.as_mut()[field::SPA].copy_from_slice(&ip.octets());
    }
    /// Sets the target hardware address.
    pub fn set_target_hardware_addr(&mut self, mac: MacAddr) {
        self.buffer.as_mut()[field::THA].copy_from_slice(&mac.0);
    }
    /// Sets the target protocol address.
    pub fn set_target_protocol_addr(&mut self, ip: Ipv4Addr) {
        self.buffer.as_mut()[field::TPA].copy_from_slice(&ip.octets());
    }
}

/// An owned, validated Ethernet/IPv4 ARP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRepr {
    /// Operation.
    pub operation: ArpOperation,
    /// Sender hardware address.
    pub source_hardware_addr: MacAddr,
    /// Sender protocol address.
    pub source_protocol_addr: Ipv4Addr,
    /// Target hardware address.
    pub target_hardware_addr: MacAddr,
    /// Target protocol address.
    pub target_protocol_addr: Ipv4Addr,
}

impl ArpRepr {
    /// Validates the hardware and protocol types and lengths (Ethernet, IPv4, 6, 4).
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<Self, WireError> {
        if packet.hardware_type() != HTYPE_ETHERNET {
            return Err(WireError::UnsupportedHardwareType);
        }
        if packet.protocol_type() != PTYPE_IPV4 {
            return Err(WireError::UnsupportedProtocolType);
        }
        if packet.hardware_len() != 6 {
            return Err(WireError::BadHardwareLength);
        }
        if packet.protocol_len() != 4 {
            return Err(WireError::BadProtocolLength);
        }
        Ok(Self {
            operation: packet.operation(),
            source_hardware_addr: packet.source_hardware_addr(),
            source_protocol_addr: packet.source_protocol_addr(),
            target_hardware_addr: packet.target_hardware_addr(),
            target_protocol_addr: packet.target_protocol_addr(),
        })
    }

    /// Bytes the message takes: 28.
    pub const fn buffer_len(&self) -> usize {
        ARP_LEN
    }

    /// Writes the message into a checked view.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) {
        let hdr = ArpHeader {
            htype: U16::new(HTYPE_ETHERNET),
            ptype: U16::new(PTYPE_IPV4),
            hlen: 6,
            plen: 4,
            oper: U16::new(self.operation.into()),
            sha: self.source_hardware_addr.0,
            spa: self.source_protocol_addr.octets(),
            tha: self.target_hardware_addr.0,
            tpa: self.target_protocol_addr.octets(),
        };
        packet.buffer.as_mut()[..ARP_LEN].copy_from_slice(hdr.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_offsets_match_struct() {
        use core::mem::offset_of;
        assert_eq!(offset_of!(ArpHeader, htype), field::HTYPE.start);
        assert_eq!(offset_of!(ArpHeader, ptype), field::PTYPE.start);
        assert_eq!(offset_of!(ArpHeader, hlen), field::HLEN);
        assert_eq!(offset_of!(ArpHeader, plen), field::PLEN);
        assert_eq!(offset_of!(ArpHeader, oper), field::OPER.start);
        assert_eq!(offset_of!(ArpHeader, sha), field::SHA.start);
        assert_eq!(offset_of!(ArpHeader, spa), field::SPA.start);
        assert_eq!(offset_of!(ArpHeader, tha), field::THA.start);
        assert_eq!(offset_of!(ArpHeader, tpa), field::TPA.start);
        assert_eq!(size_of::<ArpHeader>(), ARP_LEN);
    }

    #[test]
    fn operation_round_trips() {
        for v in [0u16, 1, 2, 3, 4, 0xffff] {
            assert_eq!(u16::from(ArpOperation::from(v)), v);
        }
    }
}
