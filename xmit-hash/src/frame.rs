//! The hashed view of a frame: the outer VLAN tag taken out, as a tag-offloading NIC would.

use crate::wire::{EthernetHeader, VlanHeader, ethertype, header_at};
use zerocopy::FromBytes;

/// A frame as the kernel's hash sees it (see the crate docs, "VLAN tags").
///
/// The kernel hashes `skb->data` with the network header at offset 14 and
/// `l2_proto` = the protocol of the data after the Ethernet header. Here the data is split in
/// the Ethernet header (`eth`) and everything after it (`net`), so an offset into `net` is the
/// kernel's offset minus 14, and a read that fits in `net` is exactly a read that fits in the
/// kernel's `hlen`.
pub(crate) struct Frame<'a> {
    /// Destination and source MAC; `ethertype` below replaces the header's own field.
    pub(crate) eth: &'a EthernetHeader,
    /// The ethertype of the hashed data: the inner one when the outer tag was taken out.
    pub(crate) ethertype: u16,
    /// The hashed data from the network header on.
    pub(crate) net: &'a [u8],
    /// The full TCI of the outer tag that was taken out (`skb_vlan_tag_get`), if any.
    pub(crate) tci: Option<u16>,
}

impl<'a> Frame<'a> {
    /// The hashed view of `frame`, or `None` when the hashed data is shorter than an Ethernet
    /// header (the kernel's hash of such data is 0 for every policy).
    #[inline(always)]
    pub(crate) fn parse(frame: &'a [u8]) -> Option<Self> {
        let (eth, rest) = EthernetHeader::ref_from_prefix(frame).ok()?;
        let outer = eth.ethertype.get();
        if outer == ethertype::VLAN || outer == ethertype::QINQ {
            if let Some(tag) = header_at::<VlanHeader>(rest, 0) {
                // The whole tag is there: take it out. The data left is the 12 MAC bytes and
                // everything after the tag, so it holds an Ethernet header only if the inner
                // ethertype is there too.
                return Some(Self {
                    eth,
                    ethertype: tag.encapsulated_proto.get(),
                    net: &rest[4..],
                    tci: Some(tag.tci.get()),
                });
            }
            if rest.len() >= 2 {
                // 16 or 17 bytes: the tag is whole but what remains once it is out is 12 or
                // 13 bytes, less than an Ethernet header.
                return None;
            }
            // 14 or 15 bytes: no whole tag to take out; hash the bytes as they are.
        }
        Some(Self {
            eth,
            ethertype: outer,
            net: rest,
            tci: None,
        })
    }

    /// `bond_eth_hash`: the last bytes of both MACs and the ethertype, host order.
    #[inline(always)]
    pub(crate) fn eth_hash(&self) -> u32 {
        u32::from(self.eth.dst[5]) ^ u32::from(self.eth.src[5]) ^ u32::from(self.ethertype)
    }

    /// `bond_vlan_srcmac_hash`: the TCI (0 when untagged), the source MAC's first three bytes
    /// as one number and its last three bytes as another.
    #[inline(always)]
    pub(crate) fn vlan_srcmac_hash(&self) -> u32 {
        let s = self.eth.src;
        let vendor = u32::from_be_bytes([0, s[0], s[1], s[2]]);
        let device = u32::from_be_bytes([0, s[3], s[4], s[5]]);
        u32::from(self.tci.unwrap_or(0)) ^ vendor ^ device
    }
}
