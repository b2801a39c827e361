//! The headers the kernel reads while hashing, as zerocopy views.
//!
//! Every struct here is `#[repr(C)]`, unaligned, and exactly as long as the part of the header
//! the kernel copies out (`sizeof` of the kernel struct it casts to), so the length check a
//! `ref_from_prefix` makes is the same check as the kernel's `pskb_may_pull` /
//! `__skb_header_pointer` for that header. Multi-byte fields the kernel only compares are
//! `network_endian` integers; fields the kernel folds into the hash as stored bytes (addresses,
//! ports) are byte arrays, so the fold can read them the way a little-endian host does.

use zerocopy::network_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// Ethertypes the hash looks at (`ETH_P_*`).
pub(crate) mod ethertype {
    pub(crate) const IPV4: u16 = 0x0800;
    pub(crate) const ARP: u16 = 0x0806;
    pub(crate) const VLAN: u16 = 0x8100;
    pub(crate) const QINQ: u16 = 0x88a8;
    pub(crate) const IPV6: u16 = 0x86dd;
    pub(crate) const RARP: u16 = 0x8035;
    pub(crate) const BATMAN: u16 = 0x4305;
    pub(crate) const TEB: u16 = 0x6558;
    pub(crate) const PPP_SES: u16 = 0x8864;
    pub(crate) const MPLS_UC: u16 = 0x8847;
    pub(crate) const MPLS_MC: u16 = 0x8848;
    pub(crate) const GRE_PPP: u16 = 0x880b;
    pub(crate) const PTP: u16 = 0x88f7;
    pub(crate) const PRP: u16 = 0x88fb;
    pub(crate) const TIPC: u16 = 0x88ca;
    pub(crate) const CFM: u16 = 0x8902;
    pub(crate) const FCOE: u16 = 0x8906;
    pub(crate) const HSR: u16 = 0x892f;
}

/// IP protocol numbers the hash looks at (`IPPROTO_*`, `NEXTHDR_*`).
pub(crate) mod ipproto {
    pub(crate) const HOPOPTS: u8 = 0;
    pub(crate) const ICMP: u8 = 1;
    pub(crate) const IPIP: u8 = 4;
    pub(crate) const TCP: u8 = 6;
    pub(crate) const UDP: u8 = 17;
    pub(crate) const DCCP: u8 = 33;
    pub(crate) const IPV6: u8 = 41;
    pub(crate) const ROUTING: u8 = 43;
    pub(crate) const FRAGMENT: u8 = 44;
    pub(crate) const GRE: u8 = 47;
    pub(crate) const ESP: u8 = 50;
    pub(crate) const AH: u8 = 51;
    pub(crate) const ICMPV6: u8 = 58;
    pub(crate) const DSTOPTS: u8 = 60;
    pub(crate) const SCTP: u8 = 132;
    pub(crate) const UDPLITE: u8 = 136;
    pub(crate) const MPLS: u8 = 137;
}

/// An Ethernet II header (`struct ethhdr`, 14 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct EthernetHeader {
    pub(crate) dst: [u8; 6],
    pub(crate) src: [u8; 6],
    pub(crate) ethertype: U16,
}

/// The four bytes after a VLAN TPID (`struct vlan_hdr`).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct VlanHeader {
    pub(crate) tci: U16,
    pub(crate) encapsulated_proto: U16,
}

/// An IPv4 header without options (`struct iphdr`, 20 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct Ipv4Header {
    pub(crate) version_ihl: u8,
    pub(crate) tos: u8,
    pub(crate) total_len: U16,
    pub(crate) id: U16,
    pub(crate) frag_off: U16,
    pub(crate) ttl: u8,
    pub(crate) protocol: u8,
    pub(crate) check: U16,
    pub(crate) src: [u8; 4],
    pub(crate) dst: [u8; 4],
}

impl Ipv4Header {
    /// `IP_MF`: more fragments follow.
    const MF: u16 = 0x2000;
    /// `IP_OFFSET`: the fragment offset bits.
    const OFFSET: u16 = 0x1fff;

    /// The header length field in 32-bit words (any value 0..=15: the kernel does not check it
    /// on the layer2+3 / layer3+4 path).
    pub(crate) fn ihl(&self) -> u8 {
        self.version_ihl & 0x0f
    }

    /// `ip_is_fragment`: MF set or a non-zero offset.
    pub(crate) fn is_fragment(&self) -> bool {
        self.frag_off.get() & (Self::MF | Self::OFFSET) != 0
    }
}

/// An IPv6 header (`struct ipv6hdr`, 40 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct Ipv6Header {
    pub(crate) version_class_label: [u8; 4],
    pub(crate) payload_len: U16,
    pub(crate) next_header: u8,
    pub(crate) hop_limit: u8,
    pub(crate) src: [u8; 16],
    pub(crate) dst: [u8; 16],
}

/// The first two bytes of a hop-by-hop, routing or destination options header.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct Ipv6OptHeader {
    pub(crate) next_header: u8,
    pub(crate) hdr_ext_len: u8,
}

/// An IPv6 fragment header (`struct frag_hdr`, 8 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct Ipv6FragHeader {
    pub(crate) next_header: u8,
    pub(crate) reserved: u8,
    pub(crate) frag_off: U16,
    pub(crate) identification: U32,
}

/// An ICMP or ICMPv6 header (`struct icmphdr`, 8 bytes: the kernel reads this size for both).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct IcmpHeader {
    pub(crate) icmp_type: u8,
    pub(crate) code: u8,
    pub(crate) checksum: U16,
    pub(crate) id: U16,
    pub(crate) sequence: U16,
}

/// A GRE header without its optional fields (`struct gre_base_hdr`, 4 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct GreBaseHeader {
    pub(crate) flags: U16,
    pub(crate) protocol: U16,
}

impl GreBaseHeader {
    pub(crate) const CSUM: u16 = 0x8000;
    pub(crate) const ROUTING: u16 = 0x4000;
    pub(crate) const KEY: u16 = 0x2000;
    pub(crate) const SEQ: u16 = 0x1000;
    pub(crate) const ACK: u16 = 0x0080;
    pub(crate) const VERSION: u16 = 0x0007;
}

/// A PPPoE session header with the PPP protocol field that follows it (8 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct PppoeSessionHeader {
    pub(crate) ver_type: u8,
    pub(crate) code: u8,
    pub(crate) session_id: U16,
    pub(crate) length: U16,
    pub(crate) ppp_proto: U16,
}

/// The TIPC basic header (`struct tipc_basic_hdr`: four 32-bit words).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct TipcBasicHeader {
    pub(crate) w0: U32,
    pub(crate) w1: U32,
    pub(crate) w2: U32,
    /// The source node identity, folded as stored bytes.
    pub(crate) w3: [u8; 4],
}

/// A batman-adv unicast header and the Ethernet header it carries (24 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct BatadvUnicastHeader {
    pub(crate) packet_type: u8,
    pub(crate) version: u8,
    pub(crate) ttl: u8,
    pub(crate) ttvn: u8,
    pub(crate) dest: [u8; 6],
    pub(crate) eth: EthernetHeader,
}

/// An HSR/PRP tag (`struct hsr_tag`, 6 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct HsrTag {
    pub(crate) path_and_lsdu_size: U16,
    pub(crate) sequence_nr: U16,
    pub(crate) encap_proto: U16,
}

/// `sizeof(struct ptp_header)`.
pub(crate) const PTP_HEADER_LEN: usize = 34;
/// `FCOE_HEADER_LEN`: the FCoE header and the Fibre Channel frame header.
pub(crate) const FCOE_HEADER_LEN: usize = 38;

/// The header `T` at `offset` in `data`, if all of it is there.
#[inline(always)]
pub(crate) fn header_at<T>(data: &[u8], offset: usize) -> Option<&T>
where
    T: FromBytes + KnownLayout + Immutable + Unaligned,
{
    let rest = data.get(offset..)?;
    T::ref_from_prefix(rest).ok().map(|(header, _)| header)
}

/// The `N` bytes at `offset` in `data`, if all of them are there.
#[inline(always)]
pub(crate) fn bytes_at<const N: usize>(data: &[u8], offset: usize) -> Option<[u8; N]> {
    let rest = data.get(offset..)?;
    rest.first_chunk::<N>().copied()
}
