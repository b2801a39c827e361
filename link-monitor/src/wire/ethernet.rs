//! Ethernet II header with an optional VLAN tag (received frames) or up to two tags (probes).

use zerocopy::byteorder::network_endian::U16;
use zerocopy::{
    ByteSlice, FromBytes, Immutable, IntoBytes, KnownLayout, Ref, SplitByteSlice, Unaligned,
};

use super::WireError;
use super::field;

/// Ethertypes the monitors care about.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// 802.1Q customer VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service VLAN tag (QinQ outer tag).
    pub const QINQ: u16 = 0x88a8;

    /// Whether this ethertype announces a VLAN tag (Linux's `eth_type_vlan()`).
    pub const fn is_vlan(ethertype: u16) -> bool {
        ethertype == VLAN || ethertype == QINQ
    }
}

/// The Ethernet II header, as on the wire.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct EthernetHeader {
    /// Destination MAC address.
    pub dst: [u8; 6],
    /// Source MAC address.
    pub src: [u8; 6],
    /// Ethertype (or TPID of a VLAN tag).
    pub ethertype: U16,
}

/// A VLAN tag after the TPID: tag control information and the next ethertype.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct VlanHeader {
    /// Priority (3 bits), drop eligible (1 bit), VLAN id (12 bits).
    pub tci: U16,
    /// The ethertype that follows the tag.
    pub ethertype: U16,
}

/// A received Ethernet frame: the header, at most one VLAN tag (the one Linux strips before
/// the bonding receive hook sees the frame) and the payload after it.
pub struct EthernetFrame<B> {
    header: Ref<B, EthernetHeader>,
    vlan: Option<Ref<B, VlanHeader>>,
    payload: B,
}

impl<B: ByteSlice> core::fmt::Debug for EthernetFrame<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EthernetFrame")
            .field("header", &*self.header)
            .field("vlan", &self.vlan.as_ref().map(|v| **v))
            .field("payload", &&self.payload[..])
            .finish()
    }
}

impl<B: SplitByteSlice> EthernetFrame<B> {
    /// Checks the lengths of the header and of a VLAN tag if the ethertype announces one.
    pub fn new_checked(bytes: B) -> Result<Self, WireError> {
        let (header, rest) = Ref::<B, EthernetHeader>::from_prefix(bytes)
            .map_err(|_| WireError::EthernetTruncated)?;
        if ethertype::is_vlan(header.ethertype.get()) {
            let (vlan, payload) =
                Ref::<B, VlanHeader>::from_prefix(rest).map_err(|_| WireError::VlanTruncated)?;
            Ok(Self {
                header,
                vlan: Some(vlan),
                payload,
            })
        } else {
            Ok(Self {
                header,
                vlan: None,
                payload: rest,
            })
        }
    }
}

impl<B: ByteSlice> EthernetFrame<B> {
    /// Destination MAC address.
    pub fn dst(&self) -> [u8; 6] {
        self.header.dst
    }

    /// Source MAC address.
    pub fn src(&self) -> [u8; 6] {
        self.header.src
    }

    /// Whether the destination is a group (multicast or broadcast) address.
    pub fn is_group_dst(&self) -> bool {
        self.header.dst[0] & 1 != 0
    }

    /// The VLAN id of the first tag, if the frame is tagged.
    pub fn vlan_id(&self) -> Option<u16> {
        self.vlan.as_ref().map(|v| v.tci.get() & 0x0fff)
    }

    /// The protocol of the payload: the ethertype after the first VLAN tag, as Linux's
    /// `skb->protocol` after it strips one tag.
    pub fn ethertype(&self) -> u16 {
        match &self.vlan {
            Some(v) => v.ethertype.get(),
            None => self.header.ethertype.get(),
        }
    }

    /// The bytes after the header and the first tag.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
}

/// One VLAN tag on a probe: the TPID (802.1Q `0x8100` or 802.1ad `0x88a8`) and the VLAN id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct VlanTag {
    /// Tag protocol identifier.
    pub tpid: u16,
    /// VLAN id (12 bits; 0 means "no tag", as Linux skips tags with id 0).
    pub vid: u16,
}

impl VlanTag {
    /// An 802.1Q tag.
    pub const fn dot1q(vid: u16) -> Self {
        Self {
            tpid: ethertype::VLAN,
            vid,
        }
    }

    /// An 802.1ad (QinQ service) tag.
    pub const fn dot1ad(vid: u16) -> Self {
        Self {
            tpid: ethertype::QINQ,
            vid,
        }
    }
}

/// The VLAN devices between the bond and the device a probe's route leaves by, outermost first
/// (Linux's `bond_verify_device_path()` tag list): none, one (`bond0.100`), or two
/// (`bond0.100.200`, QinQ). Tags with VLAN id 0 are left out, as Linux does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct VlanPath {
    outer: Option<VlanTag>,
    inner: Option<VlanTag>,
}

impl VlanPath {
    /// Untagged.
    pub const NONE: Self = Self {
        outer: None,
        inner: None,
    };

    /// One tag.
    pub const fn single(tag: VlanTag) -> Self {
        Self {
            outer: Some(tag),
            inner: None,
        }
    }

    /// Two tags, outermost first.
    pub const fn double(outer: VlanTag, inner: VlanTag) -> Self {
        Self {
            outer: Some(outer),
            inner: Some(inner),
        }
    }

    /// The tags that go on the wire, outermost first (id 0 skipped).
    pub fn tags(&self) -> impl Iterator<Item = VlanTag> + '_ {
        self.outer
            .into_iter()
            .chain(self.inner)
            .filter(|t| t.vid & 0x0fff != 0)
    }

    /// How many tags go on the wire.
    pub fn len(&self) -> usize {
        self.tags().count()
    }

    /// Whether no tag goes on the wire.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An Ethernet header to write: addresses, VLAN tags, the payload's ethertype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetRepr {
    /// Destination MAC address.
    pub dst: [u8; 6],
    /// Source MAC address.
    pub src: [u8; 6],
    /// VLAN tags, outermost first.
    pub vlans: VlanPath,
    /// The payload's ethertype.
    pub ethertype: u16,
}

impl EthernetRepr {
    /// Bytes of header and tags.
    pub fn buffer_len(&self) -> usize {
        field::ETHERNET_HEADER_LEN + self.vlans.len() * field::VLAN_TAG_LEN
    }

    /// Writes the header and tags at the start of `buf`; returns their length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.buffer_len();
        let out = buf.get_mut(..len).ok_or(WireError::BufferTooShort)?;
        // The TPID of the first tag takes the place of the ethertype; each tag is followed by
        // the next tag's TPID or, for the last one, the payload's ethertype.
        let mut types = self
            .vlans
            .tags()
            .map(|t| t.tpid)
            .chain(core::iter::once(self.ethertype));
        let first = types.next().unwrap_or(self.ethertype);
        let header = EthernetHeader {
            dst: self.dst,
            src: self.src,
            ethertype: U16::new(first),
        };
        let (head, mut rest) = out.split_at_mut(field::ETHERNET_HEADER_LEN);
        head.copy_from_slice(header.as_bytes());
        for tag in self.vlans.tags() {
            let next = types.next().unwrap_or(self.ethertype);
            let vlan = VlanHeader {
                tci: U16::new(tag.vid & 0x0fff),
                ethertype: U16::new(next),
            };
            let (this, more) = rest.split_at_mut(field::VLAN_TAG_LEN);
            this.copy_from_slice(vlan.as_bytes());
            rest = more;
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untagged_header() {
        let frame = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0x0a, 0x08, 0x06, 0xaa,
        ];
        let f = EthernetFrame::new_checked(&frame[..]).unwrap();
        assert!(f.is_group_dst());
        assert_eq!(f.src(), [2, 0, 0, 0, 0, 0x0a]);
        assert_eq!(f.ethertype(), ethertype::ARP);
        assert_eq!(f.vlan_id(), None);
        assert_eq!(f.payload(), &[0xaa]);
    }

    #[test]
    fn tagged_header_strips_one_tag() {
        let frame = [
            2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8,
            0x08, 0x06,
        ];
        let f = EthernetFrame::new_checked(&frame[..]).unwrap();
        assert!(!f.is_group_dst());
        assert_eq!(f.vlan_id(), Some(100));
        // Only the outer tag is stripped, as in Linux: the protocol is the inner TPID.
        assert_eq!(f.ethertype(), ethertype::VLAN);
    }

    #[test]
    fn truncations() {
        let frame = [0u8; 13];
        assert_eq!(
            EthernetFrame::new_checked(&frame[..]).unwrap_err(),
            WireError::EthernetTruncated
        );
        let mut tagged = [0u8; 17];
        tagged[12] = 0x81;
        assert_eq!(
            EthernetFrame::new_checked(&tagged[..]).unwrap_err(),
            WireError::VlanTruncated
        );
    }

    #[test]
    fn emit_with_two_tags() {
        let repr = EthernetRepr {
            dst: [0xff; 6],
            src: [2, 0, 0, 0, 0, 1],
            vlans: VlanPath::double(VlanTag::dot1ad(100), VlanTag::dot1q(200)),
            ethertype: ethertype::ARP,
        };
        let mut buf = [0xa5u8; 23];
        assert_eq!(repr.emit(&mut buf), Ok(22));
        assert_eq!(
            buf,
            [
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xa8, 0x00, 100, 0x81,
                0x00, 0x00, 200, 0x08, 0x06, 0xa5
            ]
        );
        assert_eq!(repr.emit(&mut buf[..21]), Err(WireError::BufferTooShort));
    }

    #[test]
    fn vlan_id_zero_is_skipped() {
        let path = VlanPath::double(VlanTag::dot1q(0), VlanTag::dot1q(7));
        assert_eq!(path.len(), 1);
        assert_eq!(path.tags().next(), Some(VlanTag::dot1q(7)));
        assert!(VlanPath::NONE.is_empty());
    }
}
