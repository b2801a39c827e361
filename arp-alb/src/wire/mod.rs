//! Wire formats: Ethernet II with one optional VLAN tag, ARP for Ethernet/IPv4, the ALB
//! learning frame, and the IPv6 neighbour discovery messages the IPv6 receive balancing
//! extension reads and rewrites.
//!
//! Each format has a view over the caller's buffer (a checked constructor after which no
//! accessor can panic) and, where the crate builds frames, an owned validated `Repr` with
//! `parse`, `buffer_len` and `emit`. Fixed headers are zerocopy `#[repr(C)]` structs with
//! network-endian fields.

mod arp;
mod ethernet;
mod ndisc;

pub use arp::{ARP_LEN, ArpHeader, ArpOperation, ArpPacket, ArpRepr};
pub use ethernet::{
    ETHERNET_HEADER_LEN, EthernetFrame, EthernetHeader, EthernetRepr, LEARNING_FRAME_LEN,
    VLAN_TAG_LEN, VlanHeader, VlanTag, emit_learning_frame, ethertype,
};
pub use ndisc::{
    ICMPV6_NA_LEN, IPV6_HEADER_LEN, Icmpv6NdHeader, Ipv6Header, NdKind, NdMessage, NdOption,
    NeighborAdvertRepr, icmpv6_checksum, nd_flags,
};

use core::fmt;

/// Why a frame could not be read. One small `Copy` enum for the whole crate; the receive
/// and transmit paths turn each reason into its own counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum WireError {
    /// The buffer ends before the header or message does.
    #[error("truncated")]
    Truncated,
    /// ARP hardware type other than Ethernet (1).
    #[error("ARP hardware type is not Ethernet")]
    UnsupportedHardwareType,
    /// ARP protocol type other than IPv4 (0x0800).
    #[error("ARP protocol type is not IPv4")]
    UnsupportedProtocolType,
    /// ARP hardware address length other than 6.
    #[error("ARP hardware address length is not 6")]
    BadHardwareLength,
    /// ARP protocol address length other than 4.
    #[error("ARP protocol address length is not 4")]
    BadProtocolLength,
    /// IPv6 version field is not 6.
    #[error("IP version is not 6")]
    BadIpVersion,
    /// The IPv6 next header is not ICMPv6 (extension headers are not walked).
    #[error("IPv6 next header is not ICMPv6")]
    NotIcmpv6,
    /// The ICMPv6 message is not a neighbour solicitation or advertisement.
    #[error("ICMPv6 message is not neighbour discovery")]
    NotNeighborDiscovery,
    /// ICMPv6 code is not 0 (RFC 4861 7.1.1, 7.1.2).
    #[error("ICMPv6 code is not 0")]
    BadIcmpv6Code,
    /// IPv6 hop limit is not 255 (RFC 4861 7.1.1, 7.1.2).
    #[error("IPv6 hop limit is not 255")]
    BadHopLimit,
    /// A neighbour discovery option has length 0 or runs past the message.
    #[error("bad neighbour discovery option length")]
    BadOptionLength,
    /// The ICMPv6 checksum does not verify.
    #[error("bad ICMPv6 checksum")]
    BadChecksum,
}

/// An Ethernet MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: Self = Self([0xff; 6]);
    /// 00:00:00:00:00:00.
    pub const ZERO: Self = Self([0; 6]);
    /// 33:33:00:00:00:01, the IPv6 all-nodes multicast address (Linux `mac_v6_allmcast`).
    pub const IPV6_ALL_NODES: Self = Self([0x33, 0x33, 0, 0, 0, 1]);

    /// The group bit is set (multicast or broadcast), Linux `is_multicast_ether_addr`.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 1 != 0
    }

    /// All ones, Linux `is_broadcast_ether_addr`.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// All zeros, Linux `is_zero_ether_addr`.
    pub fn is_zero(&self) -> bool {
        *self == Self::ZERO
    }

    /// Neither multicast nor all zeros, Linux `is_valid_ether_addr`.
    pub fn is_valid_unicast(&self) -> bool {
        !self.is_multicast() && !self.is_zero()
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(b: [u8; 6]) -> Self {
        Self(b)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// XOR of all bytes, Linux `_simple_hash` in `bond_alb.c`: the TLB key in balance-alb (of
/// the destination address) and the RLB client table index (of the client address).
pub fn simple_hash(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |h, b| h ^ b)
}
