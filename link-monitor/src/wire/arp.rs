//! ARP (RFC 826), checked for Ethernet/IPv4 as the bonding ARP monitor requires.

use core::net::Ipv4Addr;

use zerocopy::byteorder::network_endian::U16;
use zerocopy::{
    ByteSlice, ByteSliceMut, FromBytes, Immutable, IntoBytes, KnownLayout, Ref, SplitByteSlice,
    SplitByteSliceMut, Unaligned,
};

use super::WireError;
use super::ethernet::ethertype;
use super::field;

/// ARP hardware type of Ethernet (`ARPHRD_ETHER`).
const HTYPE_ETHERNET: u16 = 1;

/// The fixed ARP header.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct ArpHeader {
    /// Hardware type.
    pub htype: U16,
    /// Protocol type.
    pub ptype: U16,
    /// Hardware address length.
    pub hlen: u8,
    /// Protocol address length.
    pub plen: u8,
    /// Operation.
    pub oper: U16,
}

/// The address part of an Ethernet/IPv4 ARP packet.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct ArpEthIpv4 {
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
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ArpOperation {
    /// 1.
    Request,
    /// 2.
    Reply,
    /// Any other value.
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

/// A view of an ARP packet of any hardware/protocol type: the fixed header and exactly the
/// `2 * (hlen + plen)` address bytes it announces.
pub struct ArpPacket<B> {
    header: Ref<B, ArpHeader>,
    addrs: B,
}

impl<B: ByteSlice> core::fmt::Debug for ArpPacket<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ArpPacket")
            .field("header", &*self.header)
            .field("addrs", &&self.addrs[..])
            .finish()
    }
}

impl<B: SplitByteSlice> ArpPacket<B> {
    /// Checks that the header and the addresses it announces fit in `bytes` (bytes after them,
    /// such as Ethernet padding, are ignored).
    pub fn new_checked(bytes: B) -> Result<Self, WireError> {
        let (header, rest) =
            Ref::<B, ArpHeader>::from_prefix(bytes).map_err(|_| WireError::ArpTruncated)?;
        let need = 2 * (usize::from(header.hlen) + usize::from(header.plen));
        let (addrs, _) = rest.split_at(need).map_err(|_| WireError::ArpTruncated)?;
        Ok(Self { header, addrs })
    }
}

impl<B: SplitByteSliceMut> ArpPacket<B> {
    /// Lays out an Ethernet/IPv4 packet (28 bytes) at the start of `bytes` to be filled in with
    /// the setters: writes the hardware/protocol types and lengths, nothing else.
    pub fn new_ethernet_ipv4(bytes: B) -> Result<Self, WireError> {
        let (mut header, rest) =
            Ref::<B, ArpHeader>::from_prefix(bytes).map_err(|_| WireError::BufferTooShort)?;
        header.htype = U16::new(HTYPE_ETHERNET);
        header.ptype = U16::new(ethertype::IPV4);
        header.hlen = 6;
        header.plen = 4;
        let (addrs, _) = rest
            .split_at(field::ARP_ETH_IPV4_LEN - field::ARP_HEADER_LEN)
            .map_err(|_| WireError::BufferTooShort)?;
        Ok(Self { header, addrs })
    }
}

impl<B: ByteSlice> ArpPacket<B> {
    fn hlen(&self) -> usize {
        usize::from(self.header.hlen)
    }

    fn plen(&self) -> usize {
        usize::from(self.header.plen)
    }

    /// Hardware type.
    pub fn hardware_type(&self) -> u16 {
        self.header.htype.get()
    }

    /// Protocol type.
    pub fn protocol_type(&self) -> u16 {
        self.header.ptype.get()
    }

    /// Hardware address length.
    pub fn hardware_len(&self) -> u8 {
        self.header.hlen
    }

    /// Protocol address length.
    pub fn protocol_len(&self) -> u8 {
        self.header.plen
    }

    /// Operation.
    pub fn operation(&self) -> ArpOperation {
        self.header.oper.get().into()
    }

    /// Sender hardware address (`hlen` bytes).
    pub fn sender_hardware_addr(&self) -> &[u8] {
        self.addrs.get(..self.hlen()).unwrap_or_default()
    }

    /// Sender protocol address (`plen` bytes).
    pub fn sender_protocol_addr(&self) -> &[u8] {
        let at = self.hlen();
        self.addrs.get(at..at + self.plen()).unwrap_or_default()
    }

    /// Target hardware address (`hlen` bytes).
    pub fn target_hardware_addr(&self) -> &[u8] {
        let at = self.hlen() + self.plen();
        self.addrs.get(at..at + self.hlen()).unwrap_or_default()
    }

    /// Target protocol address (`plen` bytes).
    pub fn target_protocol_addr(&self) -> &[u8] {
        let at = 2 * self.hlen() + self.plen();
        self.addrs.get(at..at + self.plen()).unwrap_or_default()
    }
}

impl<B: ByteSliceMut> ArpPacket<B> {
    /// Sets the operation.
    pub fn set_operation(&mut self, op: ArpOperation) {
        self.header.oper = U16::new(op.into());
    }

    fn write(&mut self, at: usize, len: usize, value: &[u8]) {
        if let Some(dst) = self.addrs.get_mut(at..at + len) {
            for (d, s) in dst.iter_mut().zip(value) {
                *d = *s;
            }
        }
    }

    /// Sets the sender hardware address (as many bytes as `hlen` holds).
    pub fn set_sender_hardware_addr(&mut self, addr: &[u8]) {
        let len = self.hlen();
        self.write(0, len, addr);
    }

    /// Sets the sender protocol address.
    pub fn set_sender_protocol_addr(&mut self, addr: &[u8]) {
        let (at, len) = (self.hlen(), self.plen());
        self.write(at, len, addr);
    }

    /// Sets the target hardware address.
    pub fn set_target_hardware_addr(&mut self, addr: &[u8]) {
        let (at, len) = (self.hlen() + self.plen(), self.hlen());
        self.write(at, len, addr);
    }

    /// Sets the target protocol address.
    pub fn set_target_protocol_addr(&mut self, addr: &[u8]) {
        let (at, len) = (2 * self.hlen() + self.plen(), self.plen());
        self.write(at, len, addr);
    }
}

/// A validated Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ArpRepr {
    /// Operation.
    pub operation: ArpOperation,
    /// Sender hardware address.
    pub sender_hardware_addr: [u8; 6],
    /// Sender protocol address.
    pub sender_protocol_addr: Ipv4Addr,
    /// Target hardware address.
    pub target_hardware_addr: [u8; 6],
    /// Target protocol address.
    pub target_protocol_addr: Ipv4Addr,
}

impl ArpRepr {
    /// Accepts only what the bonding ARP monitor accepts (`bond_arp_rcv()`): Ethernet hardware
    /// type, IPv4 protocol type, address lengths 6 and 4. The operation is not checked here.
    pub fn parse<B: ByteSlice>(packet: &ArpPacket<B>) -> Result<Self, WireError> {
        if packet.hardware_len() != 6 {
            return Err(WireError::ArpHardwareLength);
        }
        if packet.hardware_type() != HTYPE_ETHERNET {
            return Err(WireError::ArpHardwareType);
        }
        if packet.protocol_type() != ethertype::IPV4 {
            return Err(WireError::ArpProtocolType);
        }
        if packet.protocol_len() != 4 {
            return Err(WireError::ArpProtocolLength);
        }
        let body =
            ArpEthIpv4::read_from_bytes(&packet.addrs[..]).map_err(|_| WireError::ArpTruncated)?;
        Ok(Self {
            operation: packet.operation(),
            sender_hardware_addr: body.sha,
            sender_protocol_addr: Ipv4Addr::from(body.spa),
            target_hardware_addr: body.tha,
            target_protocol_addr: Ipv4Addr::from(body.tpa),
        })
    }

    /// 28 bytes.
    pub const fn buffer_len(&self) -> usize {
        field::ARP_ETH_IPV4_LEN
    }

    /// Writes the packet at the start of `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let out = buf
            .get_mut(..field::ARP_ETH_IPV4_LEN)
            .ok_or(WireError::BufferTooShort)?;
        let header = ArpHeader {
            htype: U16::new(HTYPE_ETHERNET),
            ptype: U16::new(ethertype::IPV4),
            hlen: 6,
            plen: 4,
            oper: U16::new(self.operation.into()),
        };
        let body = ArpEthIpv4 {
            sha: self.sender_hardware_addr,
            spa: self.sender_protocol_addr.octets(),
            tha: self.target_hardware_addr,
            tpa: self.target_protocol_addr.octets(),
        };
        let (h, b) = out.split_at_mut(field::ARP_HEADER_LEN);
        h.copy_from_slice(header.as_bytes());
        b.copy_from_slice(body.as_bytes());
        Ok(field::ARP_ETH_IPV4_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testdata::{ARP_REPLY, ARP_REQUEST};

    const ETH: usize = field::ETHERNET_HEADER_LEN;

    fn request_repr() -> ArpRepr {
        ArpRepr {
            operation: ArpOperation::Request,
            sender_hardware_addr: [2, 0, 0, 0, 0, 0x0a],
            sender_protocol_addr: Ipv4Addr::new(198, 18, 1, 1),
            target_hardware_addr: [0; 6],
            target_protocol_addr: Ipv4Addr::new(198, 18, 1, 2),
        }
    }

    #[test]
    fn deconstruct() {
        let p = ArpPacket::new_checked(&ARP_REQUEST[ETH..]).unwrap();
        assert_eq!(p.hardware_type(), 1);
        assert_eq!(p.protocol_type(), 0x0800);
        assert_eq!(p.hardware_len(), 6);
        assert_eq!(p.protocol_len(), 4);
        assert_eq!(p.operation(), ArpOperation::Request);
        assert_eq!(p.sender_hardware_addr(), &[2, 0, 0, 0, 0, 0x0a]);
        assert_eq!(p.sender_protocol_addr(), &[198, 18, 1, 1]);
        assert_eq!(p.target_hardware_addr(), &[0; 6]);
        assert_eq!(p.target_protocol_addr(), &[198, 18, 1, 2]);
    }

    #[test]
    fn construct() {
        let mut buf = [0xa5u8; 28];
        let mut p = ArpPacket::new_ethernet_ipv4(&mut buf[..]).unwrap();
        p.set_operation(ArpOperation::Request);
        p.set_sender_hardware_addr(&[2, 0, 0, 0, 0, 0x0a]);
        p.set_sender_protocol_addr(&[198, 18, 1, 1]);
        p.set_target_hardware_addr(&[0; 6]);
        p.set_target_protocol_addr(&[198, 18, 1, 2]);
        assert_eq!(&buf[..], &ARP_REQUEST[ETH..]);
    }

    #[test]
    fn parse() {
        let p = ArpPacket::new_checked(&ARP_REQUEST[ETH..]).unwrap();
        assert_eq!(ArpRepr::parse(&p), Ok(request_repr()));
        let p = ArpPacket::new_checked(&ARP_REPLY[ETH..]).unwrap();
        let reply = ArpRepr::parse(&p).unwrap();
        assert_eq!(reply.operation, ArpOperation::Reply);
        assert_eq!(reply.sender_protocol_addr, Ipv4Addr::new(198, 18, 1, 2));
        assert_eq!(reply.target_hardware_addr, [2, 0, 0, 0, 0, 0x0a]);
    }

    #[test]
    fn emit() {
        let repr = request_repr();
        let mut buf = [0xa5u8; 28];
        assert_eq!(repr.emit(&mut buf), Ok(28));
        assert_eq!(&buf[..], &ARP_REQUEST[ETH..]);
        assert_eq!(repr.emit(&mut buf[..27]), Err(WireError::BufferTooShort));
    }

    fn corrupt(offset: usize, value: u8) -> Result<ArpRepr, WireError> {
        let mut bytes = ARP_REQUEST;
        bytes[ETH + offset] = value;
        let p = ArpPacket::new_checked(&bytes[ETH..])?;
        ArpRepr::parse(&p)
    }

    #[test]
    fn malformed_reasons() {
        assert_eq!(corrupt(1, 6), Err(WireError::ArpHardwareType)); // IEEE 802
        assert_eq!(corrupt(2, 0x86), Err(WireError::ArpProtocolType));
        assert_eq!(corrupt(4, 5), Err(WireError::ArpHardwareLength));
        assert_eq!(corrupt(5, 16), Err(WireError::ArpTruncated)); // 2*(6+16) > 20
        assert_eq!(corrupt(5, 2), Err(WireError::ArpProtocolLength));
        for len in 0..28 {
            assert_eq!(
                ArpPacket::new_checked(&ARP_REQUEST[ETH..ETH + len]).unwrap_err(),
                WireError::ArpTruncated,
                "length {len}"
            );
        }
    }

    #[test]
    fn unknown_operation_round_trips() {
        let mut repr = request_repr();
        repr.operation = ArpOperation::Unknown(9);
        let mut buf = [0u8; 28];
        repr.emit(&mut buf).unwrap();
        let p = ArpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(ArpRepr::parse(&p), Ok(repr));
    }
}
