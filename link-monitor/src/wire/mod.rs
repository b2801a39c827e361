//! Wire formats the monitors read and write: Ethernet (with one or two VLAN tags), ARP for
//! Ethernet/IPv4, and IPv6 neighbour solicitations/advertisements.
//!
//! Each format is a view over the caller's bytes (`*Packet<B>`, zerocopy `Ref`s into the buffer,
//! checked once by `new_checked`, after which no accessor can panic; setters when the buffer is
//! mutable) and an owned, validated `*Repr` with `parse`, `buffer_len` and `emit`. `emit` never
//! panics: a buffer shorter than `buffer_len()` is an error.

mod arp;
mod ethernet;
mod ndisc;
#[cfg(test)]
pub(crate) mod testdata;

pub use arp::{ArpEthIpv4, ArpHeader, ArpOperation, ArpPacket, ArpRepr};
pub use ethernet::{
    EthernetFrame, EthernetHeader, EthernetRepr, VlanHeader, VlanPath, VlanTag, ethertype,
};
pub use ndisc::{
    Icmpv6Header, Ipv6Header, NaFlags, NdBody, NdMessage, NdOption, NdOptionHeader, NdPacket,
    NdiscRepr, icmpv6_checksum, solicited_node,
};

/// Why bytes are not a valid frame of the expected kind. One reason per check, so that the
/// monitor can count drops per reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum WireError {
    /// Shorter than an Ethernet header.
    #[error("Ethernet frame shorter than 14 bytes")]
    EthernetTruncated,
    /// An 802.1Q/802.1ad ethertype with no room for the tag.
    #[error("VLAN tag truncated")]
    VlanTruncated,
    /// Shorter than the ARP header or than the addresses it announces.
    #[error("ARP packet truncated")]
    ArpTruncated,
    /// ARP hardware type is not Ethernet (1).
    #[error("ARP hardware type is not Ethernet")]
    ArpHardwareType,
    /// ARP protocol type is not IPv4 (0x0800).
    #[error("ARP protocol type is not IPv4")]
    ArpProtocolType,
    /// ARP hardware address length is not 6.
    #[error("ARP hardware address length is not 6")]
    ArpHardwareLength,
    /// ARP protocol address length is not 4.
    #[error("ARP protocol address length is not 4")]
    ArpProtocolLength,
    /// Shorter than an IPv6 header.
    #[error("IPv6 packet shorter than 40 bytes")]
    Ipv6Truncated,
    /// IPv6 version field is not 6.
    #[error("IPv6 version is not 6")]
    Ipv6Version,
    /// IPv6 payload length runs past the end of the frame.
    #[error("IPv6 payload length exceeds the frame")]
    Ipv6PayloadLength,
    /// IPv6 next header is not ICMPv6 (58): not neighbour discovery.
    #[error("IPv6 next header is not ICMPv6")]
    NotIcmpv6,
    /// ICMPv6 type is neither 135 nor 136: not a neighbour solicitation/advertisement.
    #[error("ICMPv6 message is not a neighbour solicitation or advertisement")]
    NotNeighborDiscovery,
    /// NS/NA shorter than its fixed 24 bytes.
    #[error("neighbour discovery message truncated")]
    NdTruncated,
    /// ICMPv6 checksum does not verify.
    #[error("ICMPv6 checksum mismatch")]
    Icmpv6Checksum,
    /// NS/NA with a code other than 0.
    #[error("neighbour discovery code is not 0")]
    NdCode,
    /// NS/NA with a hop limit other than 255 (RFC 4861: it did not come from the link).
    #[error("neighbour discovery hop limit is not 255")]
    NdHopLimit,
    /// NS/NA whose target is a multicast address.
    #[error("neighbour discovery target is multicast")]
    NdMulticastTarget,
    /// An option with length 0, running past the message, or a link-layer option of the
    /// wrong size.
    #[error("neighbour discovery option malformed")]
    NdOption,
    /// The output buffer is shorter than `buffer_len()`.
    #[error("output buffer too short")]
    BufferTooShort,
}

/// Byte counts of the formats, in one place.
pub(crate) mod field {
    /// Ethernet header: destination, source, ethertype.
    pub(crate) const ETHERNET_HEADER_LEN: usize = 14;
    /// One 802.1Q/802.1ad tag: TCI and the next ethertype.
    pub(crate) const VLAN_TAG_LEN: usize = 4;
    /// Most VLAN tags a probe carries (802.1ad outer + 802.1Q inner).
    pub(crate) const MAX_VLAN_TAGS: usize = 2;
    /// ARP fixed header: htype, ptype, hlen, plen, oper.
    pub(crate) const ARP_HEADER_LEN: usize = 8;
    /// ARP for Ethernet/IPv4: header plus sha, spa, tha, tpa.
    pub(crate) const ARP_ETH_IPV4_LEN: usize = 28;
    /// IPv6 fixed header.
    pub(crate) const IPV6_HEADER_LEN: usize = 40;
    /// ICMPv6 header: type, code, checksum.
    pub(crate) const ICMPV6_HEADER_LEN: usize = 4;
    /// NS/NA body after the ICMPv6 header: reserved/flags word and target address.
    pub(crate) const ND_BODY_LEN: usize = 20;
    /// A source/target link-layer address option for Ethernet (one 8-byte unit).
    pub(crate) const ND_LLADDR_OPTION_LEN: usize = 8;
    /// ND option type: source link-layer address.
    pub(crate) const ND_OPT_SOURCE_LLADDR: u8 = 1;
    /// ND option type: target link-layer address.
    pub(crate) const ND_OPT_TARGET_LLADDR: u8 = 2;
    /// ICMPv6 type of a neighbour solicitation.
    pub(crate) const ICMPV6_NS: u8 = 135;
    /// ICMPv6 type of a neighbour advertisement.
    pub(crate) const ICMPV6_NA: u8 = 136;
    /// IPv6 next header of ICMPv6.
    pub(crate) const IPPROTO_ICMPV6: u8 = 58;
}

/// The longest probe frame the monitor builds: Ethernet, two VLAN tags, IPv6, NS with a source
/// link-layer address option (14 + 8 + 40 + 24 + 8).
pub const MAX_PROBE_FRAME_LEN: usize = field::ETHERNET_HEADER_LEN
    + field::MAX_VLAN_TAGS * field::VLAN_TAG_LEN
    + field::IPV6_HEADER_LEN
    + field::ICMPV6_HEADER_LEN
    + field::ND_BODY_LEN
    + field::ND_LLADDR_OPTION_LEN;
