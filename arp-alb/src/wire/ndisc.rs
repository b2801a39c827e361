//! IPv6 neighbour solicitation and advertisement (RFC 4861), as much as the IPv6 receive
//! balancing extension needs: read the addresses and the link-layer address option,
//! rewrite that option in place with a correct checksum, and build the unsolicited
//! advertisement that moves a client to another member.

use super::{MacAddr, WireError};
use core::net::Ipv6Addr;
use zerocopy::byteorder::network_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Length of the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;
/// Length of a neighbour advertisement with one link-layer address option.
pub const ICMPV6_NA_LEN: usize = 32;

const NEXT_HEADER_ICMPV6: u8 = 58;
const TYPE_NS: u8 = 135;
const TYPE_NA: u8 = 136;
const OPT_SOURCE_LLA: u8 = 1;
const OPT_TARGET_LLA: u8 = 2;

/// Neighbour advertisement flag bits (the first byte after the checksum).
pub mod nd_flags {
    /// R: the sender is a router.
    pub const ROUTER: u8 = 0x80;
    /// S: sent in response to a solicitation.
    pub const SOLICITED: u8 = 0x40;
    /// O: override an existing cache entry.
    pub const OVERRIDE: u8 = 0x20;
}

/// Byte offsets in the IPv6 header and in the ND message after it.
mod field {
    use core::ops::Range;
    pub(super) const VERSION: usize = 0;
    pub(super) const PAYLOAD_LEN: Range<usize> = 4..6;
    pub(super) const NEXT_HEADER: usize = 6;
    pub(super) const HOP_LIMIT: usize = 7;
    pub(super) const SRC: Range<usize> = 8..24;
    pub(super) const DST: Range<usize> = 24..40;
    /// ICMPv6, relative to the end of the IPv6 header.
    pub(super) const ICMP_TYPE: usize = 0;
    pub(super) const ICMP_CODE: usize = 1;
    pub(super) const ICMP_CHECKSUM: Range<usize> = 2..4;
    pub(super) const ND_FLAGS: usize = 4;
    pub(super) const ND_TARGET: Range<usize> = 8..24;
    pub(super) const ND_OPTIONS: usize = 24;
}

/// The fixed IPv6 header.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Ipv6Header {
    /// Version (4 bits), traffic class (8), flow label (20).
    pub ver_tc_flow: U32,
    /// Payload length.
    pub payload_len: U16,
    /// Next header.
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// Source address.
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
}

/// The fixed part of a neighbour solicitation or advertisement.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Icmpv6NdHeader {
    /// 135 (NS) or 136 (NA).
    pub icmp_type: u8,
    /// 0.
    pub code: u8,
    /// ICMPv6 checksum.
    pub checksum: U16,
    /// NA flags in the top bits of the first byte; reserved in NS.
    pub flags_reserved: U32,
    /// Target address.
    pub target: [u8; 16],
}

/// Which neighbour discovery message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdKind {
    /// Neighbour solicitation (135).
    Solicitation,
    /// Neighbour advertisement (136).
    Advertisement,
}

/// A link-layer address option found in a message: its value and where the address sits,
/// as an offset from the start of the IPv6 header, so it can be rewritten in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdOption {
    /// The address carried.
    pub mac: MacAddr,
    /// Offset of the 6 address bytes from the start of the IPv6 header.
    pub offset: usize,
}

/// A neighbour solicitation or advertisement read from an IPv6 packet (starting at the
/// IPv6 header). Extension headers are not walked: a message behind one is
/// [`WireError::NotIcmpv6`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdMessage {
    /// NS or NA.
    pub kind: NdKind,
    /// IPv6 source.
    pub src: Ipv6Addr,
    /// IPv6 destination.
    pub dst: Ipv6Addr,
    /// Hop limit.
    pub hop_limit: u8,
    /// NA flags (R, S, O bits); 0 for NS.
    pub flags: u8,
    /// Target address.
    pub target: Ipv6Addr,
    /// Source link-layer address option (NS), or target link-layer address option (NA).
    pub lla: Option<NdOption>,
    /// Length of the IPv6 packet (header and payload), without Ethernet padding.
    pub packet_len: usize,
}

fn addr16(b: &[u8]) -> [u8; 16] {
    let mut a = [0u8; 16];
    let n = b.len().min(16);
    a[..n].copy_from_slice(&b[..n]);
    a
}

impl NdMessage {
    /// Reads a neighbour discovery message without checking the hop limit or checksum
    /// (the transmit path trusts the host's own stack; see [`NdMessage::parse_checked`]).
    pub fn parse(ip: &[u8]) -> Result<Self, WireError> {
        let hdr = ip.get(..IPV6_HEADER_LEN).ok_or(WireError::Truncated)?;
        if hdr[field::VERSION] >> 4 != 6 {
            return Err(WireError::BadIpVersion);
        }
        if hdr[field::NEXT_HEADER] != NEXT_HEADER_ICMPV6 {
            return Err(WireError::NotIcmpv6);
        }
        let plen = usize::from(u16::from_be_bytes([
            hdr[field::PAYLOAD_LEN.start],
            hdr[field::PAYLOAD_LEN.start + 1],
        ]));
        let packet_len = IPV6_HEADER_LEN + plen;
        let icmp = ip
            .get(IPV6_HEADER_LEN..packet_len)
            .ok_or(WireError::Truncated)?;
        let Some(&icmp_type) = icmp.get(field::ICMP_TYPE) else {
            return Err(WireError::Truncated);
        };
        let kind = match icmp_type {
            TYPE_NS => NdKind::Solicitation,
            TYPE_NA => NdKind::Advertisement,
            _ => return Err(WireError::NotNeighborDiscovery),
        };
        if icmp.len() < field::ND_OPTIONS {
            return Err(WireError::Truncated);
        }
        if icmp[field::ICMP_CODE] != 0 {
            return Err(WireError::BadIcmpv6Code);
        }
        let wanted = match kind {
            NdKind::Solicitation => OPT_SOURCE_LLA,
            NdKind::Advertisement => OPT_TARGET_LLA,
        };
        let mut lla = None;
        let mut off = field::ND_OPTIONS;
        while off < icmp.len() {
            let (Some(&t), Some(&l)) = (icmp.get(off), icmp.get(off + 1)) else {
                return Err(WireError::BadOptionLength);
            };
            let olen = usize::from(l) * 8;
            if olen == 0 || off + olen > icmp.len() {
                return Err(WireError::BadOptionLength);
            }
            if t == wanted && olen == 8 && lla.is_none() {
                let mut m = [0u8; 6];
                m.copy_from_slice(&icmp[off + 2..off + 8]);
                lla = Some(NdOption {
                    mac: MacAddr(m),
                    offset: IPV6_HEADER_LEN + off + 2,
                });
            }
            off += olen;
        }
        Ok(Self {
            kind,
            src: Ipv6Addr::from(addr16(&hdr[field::SRC])),
            dst: Ipv6Addr::from(addr16(&hdr[field::DST])),
            hop_limit: hdr[field::HOP_LIMIT],
            flags: match kind {
                NdKind::Solicitation => 0,
                NdKind::Advertisement => icmp[field::ND_FLAGS],
            },
            target: Ipv6Addr::from(addr16(&icmp[field::ND_TARGET])),
            lla,
            packet_len,
        })
    }

    /// As [`parse`](Self::parse), and also enforces what RFC 4861 7.1 requires of a received
    /// message: hop limit 255 and a correct checksum.
    pub fn parse_checked(ip: &[u8]) -> Result<Self, WireError> {
        let msg = Self::parse(ip)?;
        if msg.hop_limit != 255 {
            return Err(WireError::BadHopLimit);
        }
        let icmp = ip
            .get(IPV6_HEADER_LEN..msg.packet_len)
            .ok_or(WireError::Truncated)?;
        if icmpv6_checksum(&msg.src, &msg.dst, icmp) != 0 {
            return Err(WireError::BadChecksum);
        }
        Ok(msg)
    }

    /// Writes `mac` into the link-layer address option and recomputes the ICMPv6
    /// checksum. `ip` must be the buffer this message was parsed from. Returns false (and
    /// changes nothing) if the message has no such option or the buffer is not the one
    /// parsed.
    pub fn rewrite_lla(&self, ip: &mut [u8], mac: MacAddr) -> bool {
        let Some(opt) = self.lla else {
            return false;
        };
        if ip.len() < self.packet_len || opt.offset + 6 > self.packet_len {
            return false;
        }
        ip[opt.offset..opt.offset + 6].copy_from_slice(&mac.0);
        let icmp = &mut ip[IPV6_HEADER_LEN..self.packet_len];
        icmp[field::ICMP_CHECKSUM].fill(0);
        let sum = icmpv6_checksum(&self.src, &self.dst, icmp);
        icmp[field::ICMP_CHECKSUM].copy_from_slice(&sum.to_be_bytes());
        true
    }
}

/// The ICMPv6 checksum over the pseudo-header and `icmp` (RFC 8200 8.1). Computed over a
/// message whose checksum field is zero, it is the value to store; computed over a
/// received message, it is 0 when the message is intact.
pub fn icmpv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, icmp: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut add = |b: &[u8]| {
        let mut chunks = b.chunks_exact(2);
        for c in &mut chunks {
            sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            sum += u64::from(u16::from_be_bytes([*last, 0]));
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(icmp.len() as u32).to_be_bytes());
    add(&[0, 0, 0, NEXT_HEADER_ICMPV6]);
    add(icmp);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An owned neighbour advertisement with one target link-layer address option, and its
/// IPv6 header: what the extension sends to move a client to another member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborAdvertRepr {
    /// IPv6 source (the bond's address).
    pub src: Ipv6Addr,
    /// IPv6 destination (the client).
    pub dst: Ipv6Addr,
    /// R, S, O bits.
    pub flags: u8,
    /// Target address (the bond's address).
    pub target: Ipv6Addr,
    /// Target link-layer address option value.
    pub target_lla: MacAddr,
}

impl NeighborAdvertRepr {
    /// Reads an advertisement that carries a target link-layer address option.
    pub fn parse(ip: &[u8]) -> Result<Self, WireError> {
        let m = NdMessage::parse(ip)?;
        if m.kind != NdKind::Advertisement {
            return Err(WireError::NotNeighborDiscovery);
        }
        let Some(opt) = m.lla else {
            return Err(WireError::BadOptionLength);
        };
        Ok(Self {
            src: m.src,
            dst: m.dst,
            flags: m.flags,
            target: m.target,
            target_lla: opt.mac,
        })
    }

    /// Bytes taken from the IPv6 header on: 72.
    pub const fn buffer_len(&self) -> usize {
        IPV6_HEADER_LEN + ICMPV6_NA_LEN
    }

    /// Writes the IPv6 header (hop limit 255) and the advertisement with its checksum.
    /// Returns `None` (writing nothing) if `buf` is too short.
    pub fn emit(&self, buf: &mut [u8]) -> Option<usize> {
        let out = buf.get_mut(..self.buffer_len())?;
        let ip = Ipv6Header {
            ver_tc_flow: U32::new(6 << 28),
            payload_len: U16::new(ICMPV6_NA_LEN as u16),
            next_header: NEXT_HEADER_ICMPV6,
            hop_limit: 255,
            src: self.src.octets(),
            dst: self.dst.octets(),
        };
        out[..IPV6_HEADER_LEN].copy_from_slice(ip.as_bytes());
        let na = Icmpv6NdHeader {
            icmp_type: TYPE_NA,
            code: 0,
            checksum: U16::new(0),
            flags_reserved: U32::new(u32::from(self.flags) << 24),
            target: self.target.octets(),
        };
        let icmp = &mut out[IPV6_HEADER_LEN..];
        icmp[..24].copy_from_slice(na.as_bytes());
        icmp[24] = OPT_TARGET_LLA;
        icmp[25] = 1;
        icmp[26..32].copy_from_slice(&self.target_lla.0);
        let sum = icmpv6_checksum(&self.src, &self.dst, icmp);
        icmp[field::ICMP_CHECKSUM].copy_from_slice(&sum.to_be_bytes());
        Some(self.buffer_len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_offsets_match_structs() {
        use core::mem::offset_of;
        assert_eq!(
            offset_of!(Ipv6Header, payload_len),
            field::PAYLOAD_LEN.start
        );
        assert_eq!(offset_of!(Ipv6Header, next_header), field::NEXT_HEADER);
        assert_eq!(offset_of!(Ipv6Header, hop_limit), field::HOP_LIMIT);
        assert_eq!(offset_of!(Ipv6Header, src), field::SRC.start);
        assert_eq!(offset_of!(Ipv6Header, dst), field::DST.start);
        assert_eq!(size_of::<Ipv6Header>(), IPV6_HEADER_LEN);
        assert_eq!(offset_of!(Icmpv6NdHeader, code), field::ICMP_CODE);
        assert_eq!(
            offset_of!(Icmpv6NdHeader, checksum),
            field::ICMP_CHECKSUM.start
        );
        assert_eq!(offset_of!(Icmpv6NdHeader, flags_reserved), field::ND_FLAGS);
        assert_eq!(offset_of!(Icmpv6NdHeader, target), field::ND_TARGET.start);
        assert_eq!(size_of::<Icmpv6NdHeader>(), field::ND_OPTIONS);
    }

    fn sample() -> NeighborAdvertRepr {
        NeighborAdvertRepr {
            src: "2001:db8::1".parse().unwrap(),
            dst: "2001:db8::20".parse().unwrap(),
            flags: nd_flags::OVERRIDE,
            target: "2001:db8::1".parse().unwrap(),
            target_lla: MacAddr([0x52, 0x54, 0, 0, 0, 2]),
        }
    }

    #[test]
    fn na_round_trip_and_checksum() {
        let repr = sample();
        let mut buf = [0xa5u8; 80];
        assert_eq!(repr.emit(&mut buf), Some(72));
        assert_eq!(&buf[72..], &[0xa5; 8]);
        let m = NdMessage::parse_checked(&buf[..72]).unwrap();
        assert_eq!(m.kind, NdKind::Advertisement);
        assert_eq!(m.lla.unwrap().mac, repr.target_lla);
        assert_eq!(NeighborAdvertRepr::parse(&buf).unwrap(), repr);
    }

    #[test]
    fn rewrite_keeps_checksum_valid() {
        let mut buf = [0u8; 72];
        sample().emit(&mut buf).unwrap();
        let m = NdMessage::parse(&buf).unwrap();
        let new = MacAddr([2, 0, 0, 0, 0, 9]);
        assert!(m.rewrite_lla(&mut buf, new));
        let m2 = NdMessage::parse_checked(&buf).unwrap();
        assert_eq!(m2.lla.unwrap().mac, new);
    }

    #[test]
    fn malformed_cases() {
        let mut good = [0u8; 72];
        sample().emit(&mut good).unwrap();
        for len in 0..40 {
            assert_eq!(NdMessage::parse(&good[..len]), Err(WireError::Truncated));
        }
        assert_eq!(NdMessage::parse(&good[..71]), Err(WireError::Truncated));
        let mut b = good;
        b[0] = 0x40;
        assert_eq!(NdMessage::parse(&b), Err(WireError::BadIpVersion));
        let mut b = good;
        b[6] = 17;
        assert_eq!(NdMessage::parse(&b), Err(WireError::NotIcmpv6));
        let mut b = good;
        b[40] = 128;
        assert_eq!(NdMessage::parse(&b), Err(WireError::NotNeighborDiscovery));
        let mut b = good;
        b[41] = 1;
        assert_eq!(NdMessage::parse(&b), Err(WireError::BadIcmpv6Code));
        let mut b = good;
        b[65] = 0;
        assert_eq!(NdMessage::parse(&b), Err(WireError::BadOptionLength));
        let mut b = good;
        b[65] = 2;
        assert_eq!(NdMessage::parse(&b), Err(WireError::BadOptionLength));
        let mut b = good;
        b[7] = 64;
        assert_eq!(NdMessage::parse_checked(&b), Err(WireError::BadHopLimit));
        let mut b = good;
        b[70] ^= 1;
        assert_eq!(NdMessage::parse_checked(&b), Err(WireError::BadChecksum));
    }
}
