//! Ethernet II header with at most one VLAN tag, and the ALB learning frame.

use super::{MacAddr, WireError};
use zerocopy::byteorder::network_endian::U16;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// EtherType values this crate reads or writes.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// IEEE 802.1Q customer VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// IEEE 802.1ad service VLAN tag.
    pub const QINQ: u16 = 0x88a8;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// Linux `ETH_P_LOOPBACK` (0x9000, the Ethernet configuration testing protocol), the type
    /// of the ALB learning frame.
    pub const LOOPBACK: u16 = 0x9000;
}

/// Length of an untagged Ethernet II header.
pub const ETHERNET_HEADER_LEN: usize = 14;
/// Length of one VLAN tag (TPID + TCI).
pub const VLAN_TAG_LEN: usize = 4;
/// Length of an untagged learning frame: Linux pads it to `ETH_ZLEN` (60).
pub const LEARNING_FRAME_LEN: usize = 60;

/// Byte offsets of the Ethernet header and of the tag that may follow it.
mod field {
    use core::ops::Range;
    pub(super) const DST: Range<usize> = 0..6;
    pub(super) const SRC: Range<usize> = 6..12;
    pub(super) const ETHERTYPE: Range<usize> = 12..14;
    /// Inside the 4 bytes after a VLAN TPID.
    pub(super) const VLAN_TCI: Range<usize> = 0..2;
    pub(super) const VLAN_ETHERTYPE: Range<usize> = 2..4;
}

/// The untagged Ethernet II header.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct EthernetHeader {
    /// Destination address.
    pub dst: [u8; 6],
    /// Source address.
    pub src: [u8; 6],
    /// EtherType, or a VLAN TPID.
    pub ethertype: U16,
}

/// What follows a VLAN TPID: the tag control information and the inner EtherType.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct VlanHeader {
    /// PCP (3 bits), DEI (1 bit), VLAN id (12 bits).
    pub tci: U16,
    /// The inner EtherType.
    pub ethertype: U16,
}

/// One VLAN tag: its TPID (0x8100 or 0x88a8) and its TCI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct VlanTag {
    /// Tag protocol identifier, `ethertype::VLAN` or `ethertype::QINQ`.
    pub tpid: u16,
    /// Tag control information (priority, DEI, VLAN id).
    pub tci: u16,
}

impl VlanTag {
    /// An 802.1Q tag with priority 0 for `vid`.
    pub const fn dot1q(vid: u16) -> Self {
        Self {
            tpid: ethertype::VLAN,
            tci: vid & 0x0fff,
        }
    }

    /// The 12-bit VLAN id.
    pub const fn vid(&self) -> u16 {
        self.tci & 0x0fff
    }
}

/// A view of an Ethernet frame: the header, one optional VLAN tag (802.1Q or 802.1ad; a
/// second tag is left in the payload), and the payload.
#[derive(Debug, Clone, Copy)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
    tagged: bool,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Checks that the buffer holds the header and, if the EtherType is a VLAN TPID, the
    /// whole tag. After this no accessor can panic.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let b = buffer.as_ref();
        let Some(et) = b.get(field::ETHERTYPE) else {
            return Err(WireError::Truncated);
        };
        let outer = u16::from_be_bytes([et[0], et[1]]);
        let tagged = outer == ethertype::VLAN || outer == ethertype::QINQ;
        if tagged && b.len() < ETHERNET_HEADER_LEN + VLAN_TAG_LEN {
            return Err(WireError::Truncated);
        }
        Ok(Self { buffer, tagged })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination address.
    pub fn dst(&self) -> MacAddr {
        let mut m = [0; 6];
        m.copy_from_slice(&self.buffer.as_ref()[field::DST]);
        MacAddr(m)
    }

    /// Source address.
    pub fn src(&self) -> MacAddr {
        let mut m = [0; 6];
        m.copy_from_slice(&self.buffer.as_ref()[field::SRC]);
        MacAddr(m)
    }

    /// The VLAN tag, if the frame carries one.
    pub fn vlan(&self) -> Option<VlanTag> {
        if !self.tagged {
            return None;
        }
        let b = self.buffer.as_ref();
        let tpid = u16::from_be_bytes([b[12], b[13]]);
        let tci = &b[ETHERNET_HEADER_LEN..][field::VLAN_TCI];
        Some(VlanTag {
            tpid,
            tci: u16::from_be_bytes([tci[0], tci[1]]),
        })
    }

    /// The EtherType of the payload (after the tag, if any). This is what Linux sees as
    /// `skb->protocol` when the tag was offloaded.
    pub fn ethertype(&self) -> u16 {
        let b = self.buffer.as_ref();
        let r = if self.tagged {
            let t = &b[ETHERNET_HEADER_LEN..][field::VLAN_ETHERTYPE];
            [t[0], t[1]]
        } else {
            let t = &b[field::ETHERTYPE];
            [t[0], t[1]]
        };
        u16::from_be_bytes(r)
    }

    /// Length of the header including the tag: the payload's offset in the frame.
    pub fn header_len(&self) -> usize {
        if self.tagged {
            ETHERNET_HEADER_LEN + VLAN_TAG_LEN
        } else {
            ETHERNET_HEADER_LEN
        }
    }

    /// The payload.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination address.
    pub fn set_dst(&mut self, mac: MacAddr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&mac.0);
    }

    /// Sets the source address.
    pub fn set_src(&mut self, mac: MacAddr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&mac.0);
    }

    /// The payload, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let off = self.header_len();
        &mut self.buffer.as_mut()[off..]
    }
}

/// An owned Ethernet header, with an optional tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetRepr {
    /// Destination address.
    pub dst: MacAddr,
    /// Source address.
    pub src: MacAddr,
    /// One VLAN tag, if any.
    pub vlan: Option<VlanTag>,
    /// Payload EtherType.
    pub ethertype: u16,
}

impl EthernetRepr {
    /// Reads the header of a checked frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Self {
        Self {
            dst: frame.dst(),
            src: frame.src(),
            vlan: frame.vlan(),
            ethertype: frame.ethertype(),
        }
    }

    /// Bytes the header takes on the wire.
    pub const fn buffer_len(&self) -> usize {
        if self.vlan.is_some() {
            ETHERNET_HEADER_LEN + VLAN_TAG_LEN
        } else {
            ETHERNET_HEADER_LEN
        }
    }

    /// Writes the header at the start of `buf`, returning the payload offset, or `None`
    /// (writing nothing) if `buf` is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit(&self, buf: &mut [u8]) -> Option<usize> {
        let len = self.buffer_len();
        let out = buf.get_mut(..len)?;
        let (outer, inner) = match self.vlan {
            Some(tag) => (tag.tpid, Some(tag.tci)),
            None => (self.ethertype, None),
        };
        let hdr = EthernetHeader {
            dst: self.dst.0,
            src: self.src.0,
            ethertype: U16::new(outer),
        };
        out[..ETHERNET_HEADER_LEN].copy_from_slice(hdr.as_bytes());
        if let Some(tci) = inner {
            let tag = VlanHeader {
                tci: U16::new(tci),
                ethertype: U16::new(self.ethertype),
            };
            out[ETHERNET_HEADER_LEN..].copy_from_slice(tag.as_bytes());
        }
        Some(len)
    }
}

/// Writes the learning frame Linux `alb_send_lp_vid` sends: destination and source both
/// `mac`, EtherType 0x9000, zero padding to 60 bytes (64 with a tag). Returns the frame
/// length, or `None` if `buf` is too short.
pub fn emit_learning_frame(mac: MacAddr, vlan: Option<VlanTag>, buf: &mut [u8]) -> Option<usize> {
    let total = LEARNING_FRAME_LEN + if vlan.is_some() { VLAN_TAG_LEN } else { 0 };
    let out = buf.get_mut(..total)?;
    let repr = EthernetRepr {
        dst: mac,
        src: mac,
        vlan,
        ethertype: ethertype::LOOPBACK,
    };
    let off = repr.emit(out)?;
    out[off..].fill(0);
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_offsets_match_structs() {
        assert_eq!(core::mem::offset_of!(EthernetHeader, dst), field::DST.start);
        assert_eq!(core::mem::offset_of!(EthernetHeader, src), field::SRC.start);
        assert_eq!(
            core::mem::offset_of!(EthernetHeader, ethertype),
            field::ETHERTYPE.start
        );
        assert_eq!(size_of::<EthernetHeader>(), ETHERNET_HEADER_LEN);
        assert_eq!(
            core::mem::offset_of!(VlanHeader, tci),
            field::VLAN_TCI.start
        );
        assert_eq!(
            core::mem::offset_of!(VlanHeader, ethertype),
            field::VLAN_ETHERTYPE.start
        );
    }

    #[test]
    fn truncated_header() {
        for len in 0..ETHERNET_HEADER_LEN {
            let b = [0u8; 14];
            assert_eq!(
                EthernetFrame::new_checked(&b[..len]).err(),
                Some(WireError::Truncated)
            );
        }
    }

    #[test]
    fn truncated_tag() {
        let mut b = [0u8; 17];
        b[12] = 0x81;
        assert_eq!(
            EthernetFrame::new_checked(&b[..]).err(),
            Some(WireError::Truncated)
        );
        let mut b = [0u8; 18];
        b[12] = 0x81;
        b[14] = 0x00;
        b[15] = 0x0a;
        b[16] = 0x08;
        b[17] = 0x06;
        let f = EthernetFrame::new_checked(&b[..]).unwrap();
        assert_eq!(f.vlan(), Some(VlanTag::dot1q(10)));
        assert_eq!(f.ethertype(), ethertype::ARP);
        assert!(f.payload().is_empty());
    }

    #[test]
    fn learning_frame_layout() {
        let mac = MacAddr([0x52, 0x54, 0, 0, 0, 2]);
        let mut buf = [0xa5u8; 64];
        assert_eq!(emit_learning_frame(mac, None, &mut buf), Some(60));
        assert_eq!(&buf[0..6], &mac.0);
        assert_eq!(&buf[6..12], &mac.0);
        assert_eq!(&buf[12..14], &[0x90, 0x00]);
        assert!(buf[14..60].iter().all(|&b| b == 0));
        assert_eq!(&buf[60..], &[0xa5; 4]);
        let mut buf = [0xa5u8; 64];
        assert_eq!(
            emit_learning_frame(mac, Some(VlanTag::dot1q(100)), &mut buf),
            Some(64)
        );
        assert_eq!(&buf[12..18], &[0x81, 0x00, 0x00, 100, 0x90, 0x00]);
        assert!(buf[18..].iter().all(|&b| b == 0));
        assert_eq!(emit_learning_frame(mac, None, &mut [0u8; 59]), None);
    }
}
