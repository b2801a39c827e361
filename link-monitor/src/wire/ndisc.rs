//! IPv6 neighbour solicitation and advertisement (RFC 4861 4.3, 4.4), with the IPv6 header
//! they travel in.

use core::net::Ipv6Addr;

use bitflags::bitflags;
use zerocopy::byteorder::network_endian::{U16, U32};
use zerocopy::{
    ByteSlice, ByteSliceMut, FromBytes, Immutable, IntoBytes, KnownLayout, Ref, SplitByteSlice,
    SplitByteSliceMut, Unaligned,
};

use super::WireError;
use super::field;

/// The IPv6 fixed header.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct Ipv6Header {
    /// Version (4 bits), traffic class (8), flow label (20).
    pub version_tc_flow: U32,
    /// Length of everything after this header.
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

/// The ICMPv6 header.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct Icmpv6Header {
    /// Message type.
    pub msg_type: u8,
    /// Code.
    pub code: u8,
    /// Checksum over the pseudo-header and the message.
    pub checksum: U16,
}

/// The fixed part of an NS or NA after the ICMPv6 header.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct NdBody {
    /// NA: router, solicited, override flags in the top bits; NS: reserved (0).
    pub flags: u8,
    /// Reserved.
    pub reserved: [u8; 3],
    /// Target address.
    pub target: [u8; 16],
}

/// The header of one neighbour discovery option.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct NdOptionHeader {
    /// Option type.
    pub opt_type: u8,
    /// Length in units of 8 bytes, header included.
    pub len: u8,
}

bitflags! {
    /// Neighbour advertisement flags.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct NaFlags: u8 {
        /// R: the sender is a router.
        const ROUTER = 0x80;
        /// S: sent in answer to a solicitation.
        const SOLICITED = 0x40;
        /// O: override an existing cache entry.
        const OVERRIDE = 0x20;
    }
}

/// One option as found in a message: its type and the bytes after the 2-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdOption<'a> {
    /// Option type.
    pub opt_type: u8,
    /// The option's bytes after its type and length.
    pub data: &'a [u8],
}

/// A view of an IPv6 packet carrying a neighbour solicitation or advertisement. Bytes after
/// the IPv6 payload length (Ethernet padding) are not part of it.
pub struct NdPacket<B> {
    ip: Ref<B, Ipv6Header>,
    icmp: Ref<B, Icmpv6Header>,
    body: Ref<B, NdBody>,
    options: B,
}

impl<B: ByteSlice> core::fmt::Debug for NdPacket<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NdPacket")
            .field("ip", &*self.ip)
            .field("icmp", &*self.icmp)
            .field("body", &*self.body)
            .field("options", &&self.options[..])
            .finish()
    }
}

impl<B: SplitByteSlice> NdPacket<B> {
    /// Checks that `bytes` (starting at the IPv6 header) hold an IPv6 packet whose payload is
    /// an ICMPv6 NS or NA with its fixed part complete. Non-ND traffic gives
    /// [`WireError::NotIcmpv6`] or [`WireError::NotNeighborDiscovery`].
    pub fn new_checked(bytes: B) -> Result<Self, WireError> {
        let (ip, rest) =
            Ref::<B, Ipv6Header>::from_prefix(bytes).map_err(|_| WireError::Ipv6Truncated)?;
        if ip.version_tc_flow.get() >> 28 != 6 {
            return Err(WireError::Ipv6Version);
        }
        if ip.next_header != field::IPPROTO_ICMPV6 {
            return Err(WireError::NotIcmpv6);
        }
        let (payload, _padding) = rest
            .split_at(usize::from(ip.payload_len.get()))
            .map_err(|_| WireError::Ipv6PayloadLength)?;
        let (icmp, rest) =
            Ref::<B, Icmpv6Header>::from_prefix(payload).map_err(|_| WireError::NdTruncated)?;
        if icmp.msg_type != field::ICMPV6_NS && icmp.msg_type != field::ICMPV6_NA {
            return Err(WireError::NotNeighborDiscovery);
        }
        let (body, options) =
            Ref::<B, NdBody>::from_prefix(rest).map_err(|_| WireError::NdTruncated)?;
        Ok(Self {
            ip,
            icmp,
            body,
            options,
        })
    }
}

impl<B: SplitByteSliceMut> NdPacket<B> {
    /// Lays out an NS/NA with `options_len` bytes of options at the start of `bytes`, to be
    /// filled in with the setters: writes the version, payload length and next header, nothing
    /// else.
    pub fn new_layout(bytes: B, options_len: usize) -> Result<Self, WireError> {
        let payload_len = field::ICMPV6_HEADER_LEN + field::ND_BODY_LEN + options_len;
        let (mut ip, rest) =
            Ref::<B, Ipv6Header>::from_prefix(bytes).map_err(|_| WireError::BufferTooShort)?;
        ip.version_tc_flow = U32::new(6 << 28);
        ip.payload_len =
            U16::new(u16::try_from(payload_len).map_err(|_| WireError::BufferTooShort)?);
        ip.next_header = field::IPPROTO_ICMPV6;
        let (payload, _) = rest
            .split_at(payload_len)
            .map_err(|_| WireError::BufferTooShort)?;
        let (icmp, rest) =
            Ref::<B, Icmpv6Header>::from_prefix(payload).map_err(|_| WireError::BufferTooShort)?;
        let (body, options) =
            Ref::<B, NdBody>::from_prefix(rest).map_err(|_| WireError::BufferTooShort)?;
        Ok(Self {
            ip,
            icmp,
            body,
            options,
        })
    }
}

impl<B: ByteSlice> NdPacket<B> {
    /// Source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.ip.src)
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.ip.dst)
    }

    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.ip.hop_limit
    }

    /// IPv6 payload length.
    pub fn payload_len(&self) -> u16 {
        self.ip.payload_len.get()
    }

    /// ICMPv6 type (135 or 136).
    pub fn msg_type(&self) -> u8 {
        self.icmp.msg_type
    }

    /// ICMPv6 code.
    pub fn code(&self) -> u8 {
        self.icmp.code
    }

    /// ICMPv6 checksum as received.
    pub fn checksum(&self) -> u16 {
        self.icmp.checksum.get()
    }

    /// Whether this is a neighbour solicitation (else an advertisement).
    pub fn is_solicitation(&self) -> bool {
        self.icmp.msg_type == field::ICMPV6_NS
    }

    /// NA flags (for an NS, the reserved bits read the same way).
    pub fn flags(&self) -> NaFlags {
        NaFlags::from_bits_retain(self.body.flags)
    }

    /// Target address.
    pub fn target_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.body.target)
    }

    /// The option bytes.
    pub fn options_bytes(&self) -> &[u8] {
        &self.options
    }

    /// The options, each checked to have a non-zero length that fits.
    pub fn options(&self) -> impl Iterator<Item = Result<NdOption<'_>, WireError>> {
        let mut rest: &[u8] = &self.options;
        core::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let Ok((hdr, _)) = NdOptionHeader::ref_from_prefix(rest) else {
                rest = &[];
                return Some(Err(WireError::NdOption));
            };
            let len = usize::from(hdr.len) * 8;
            let opt_type = hdr.opt_type;
            match rest.get(2..len) {
                Some(data) if len != 0 => {
                    rest = rest.get(len..).unwrap_or_default();
                    Some(Ok(NdOption { opt_type, data }))
                }
                _ => {
                    rest = &[];
                    Some(Err(WireError::NdOption))
                }
            }
        })
    }

    /// The checksum computed over the pseudo-header and the message, with the checksum field
    /// taken as 0.
    pub fn compute_checksum(&self) -> u16 {
        let icmp = Icmpv6Header {
            checksum: U16::ZERO,
            ..*self.icmp
        };
        icmpv6_checksum(
            &self.src_addr(),
            &self.dst_addr(),
            &[icmp.as_bytes(), self.body.as_bytes(), &self.options],
        )
    }

    /// Whether the received checksum is right: the one's complement sum over the
    /// pseudo-header and the whole message, checksum field included, is all ones (RFC 1071,
    /// as Linux's `icmpv6_rcv` checks it). So a field of 0xffff verifies where
    /// [`compute_checksum`](Self::compute_checksum) gives 0: both are one's complement zero.
    pub fn verify_checksum(&self) -> bool {
        icmpv6_checksum(
            &self.src_addr(),
            &self.dst_addr(),
            &[self.icmp.as_bytes(), self.body.as_bytes(), &self.options],
        ) == 0
    }
}

impl<B: ByteSliceMut> NdPacket<B> {
    /// Sets the traffic class and flow label (version stays 6).
    pub fn set_traffic_class_flow(&mut self, tc: u8, flow: u32) {
        self.ip.version_tc_flow = U32::new(6 << 28 | u32::from(tc) << 20 | (flow & 0xf_ffff));
    }

    /// Sets the hop limit.
    pub fn set_hop_limit(&mut self, v: u8) {
        self.ip.hop_limit = v;
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        self.ip.src = a.octets();
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        self.ip.dst = a.octets();
    }

    /// Sets the ICMPv6 type.
    pub fn set_msg_type(&mut self, v: u8) {
        self.icmp.msg_type = v;
    }

    /// Sets the ICMPv6 code.
    pub fn set_code(&mut self, v: u8) {
        self.icmp.code = v;
    }

    /// Sets the NA flags (and clears the reserved bytes).
    pub fn set_flags(&mut self, flags: NaFlags) {
        self.body.flags = flags.bits();
        self.body.reserved = [0; 3];
    }

    /// Sets the target address.
    pub fn set_target_addr(&mut self, a: Ipv6Addr) {
        self.body.target = a.octets();
    }

    /// The option bytes, to write options into.
    pub fn options_mut(&mut self) -> &mut [u8] {
        &mut self.options
    }

    /// Computes and writes the checksum; call after every other field is set.
    pub fn fill_checksum(&mut self) {
        let sum = self.compute_checksum();
        self.icmp.checksum = U16::new(sum);
    }
}

/// What an NS or NA says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdMessage {
    /// Neighbour solicitation (135).
    NeighborSolicit,
    /// Neighbour advertisement (136) with its flags.
    NeighborAdvert {
        /// R, S, O flags.
        flags: NaFlags,
    },
}

/// A validated neighbour solicitation or advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NdiscRepr {
    /// NS or NA.
    pub message: NdMessage,
    /// IPv6 source address.
    pub src_addr: Ipv6Addr,
    /// IPv6 destination address.
    pub dst_addr: Ipv6Addr,
    /// IPv6 hop limit (255 on parse).
    pub hop_limit: u8,
    /// The address solicited or advertised.
    pub target_addr: Ipv6Addr,
    /// The source link-layer address option of an NS or the target link-layer address option
    /// of an NA, if present.
    pub lladdr: Option<[u8; 6]>,
}

impl NdiscRepr {
    /// Validates what RFC 4861 7.1.1/7.1.2 asks of a receiver and Linux's bonding receive hook
    /// does not check (it reads only the next header and the ICMPv6 type): the ICMPv6
    /// checksum, code 0, hop limit 255, a unicast target, options of non-zero length that fit,
    /// a link-layer address option of one 8-byte unit.
    pub fn parse<B: ByteSlice>(packet: &NdPacket<B>) -> Result<Self, WireError> {
        if !packet.verify_checksum() {
            return Err(WireError::Icmpv6Checksum);
        }
        if packet.code() != 0 {
            return Err(WireError::NdCode);
        }
        if packet.hop_limit() != 255 {
            return Err(WireError::NdHopLimit);
        }
        if packet.target_addr().is_multicast() {
            return Err(WireError::NdMulticastTarget);
        }
        let (message, lladdr_type) = if packet.is_solicitation() {
            (NdMessage::NeighborSolicit, field::ND_OPT_SOURCE_LLADDR)
        } else {
            (
                NdMessage::NeighborAdvert {
                    flags: packet.flags()
                        & (NaFlags::ROUTER | NaFlags::SOLICITED | NaFlags::OVERRIDE),
                },
                field::ND_OPT_TARGET_LLADDR,
            )
        };
        let mut lladdr = None;
        for opt in packet.options() {
            let opt = opt?;
            if opt.opt_type == lladdr_type {
                let mac: [u8; 6] = opt.data.try_into().map_err(|_| WireError::NdOption)?;
                lladdr.get_or_insert(mac);
            }
        }
        Ok(Self {
            message,
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            hop_limit: packet.hop_limit(),
            target_addr: packet.target_addr(),
            lladdr,
        })
    }

    /// Bytes from the IPv6 header to the end of the options.
    pub fn buffer_len(&self) -> usize {
        field::IPV6_HEADER_LEN
            + field::ICMPV6_HEADER_LEN
            + field::ND_BODY_LEN
            + if self.lladdr.is_some() {
                field::ND_LLADDR_OPTION_LEN
            } else {
                0
            }
    }

    /// Writes the packet, checksum included, at the start of `buf`; returns its length.
    /// Traffic class and flow label are 0, as Linux's `ndisc_send_skb()` sends them.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.buffer_len();
        let out = buf.get_mut(..len).ok_or(WireError::BufferTooShort)?;
        let options_len =
            len - field::IPV6_HEADER_LEN - field::ICMPV6_HEADER_LEN - field::ND_BODY_LEN;
        let mut p = NdPacket::new_layout(out, options_len)?;
        p.set_traffic_class_flow(0, 0);
        p.set_hop_limit(self.hop_limit);
        p.set_src_addr(self.src_addr);
        p.set_dst_addr(self.dst_addr);
        p.set_code(0);
        match self.message {
            NdMessage::NeighborSolicit => {
                p.set_msg_type(field::ICMPV6_NS);
                p.set_flags(NaFlags::empty());
            }
            NdMessage::NeighborAdvert { flags } => {
                p.set_msg_type(field::ICMPV6_NA);
                p.set_flags(flags);
            }
        }
        p.set_target_addr(self.target_addr);
        if let Some(mac) = self.lladdr {
            let opt_type = match self.message {
                NdMessage::NeighborSolicit => field::ND_OPT_SOURCE_LLADDR,
                NdMessage::NeighborAdvert { .. } => field::ND_OPT_TARGET_LLADDR,
            };
            let o = p.options_mut();
            if let Some(head) = o.get_mut(..2) {
                head.copy_from_slice(&[opt_type, 1]);
            }
            if let Some(m) = o.get_mut(2..8) {
                m.copy_from_slice(&mac);
            }
        }
        p.fill_checksum();
        Ok(len)
    }
}

/// The solicited-node multicast address of `addr` (RFC 4291 2.7.1): `ff02::1:ffXX:XXXX` with
/// the low 24 bits of `addr`.
pub fn solicited_node(addr: &Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, o[13], o[14], o[15],
    ])
}

/// The ICMPv6 checksum (RFC 4443 2.3) of a message given in parts, over the pseudo-header
/// with `src`, `dst`, the total length and next header 58.
pub fn icmpv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, parts: &[&[u8]]) -> u16 {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut acc = Sum::default();
    acc.add(&src.octets());
    acc.add(&dst.octets());
    acc.add(&(len as u32).to_be_bytes());
    acc.add(&[0, 0, 0, field::IPPROTO_ICMPV6]);
    for p in parts {
        acc.add(p);
    }
    acc.finish()
}

/// A one's complement sum over a byte stream that may be fed in odd-length pieces.
#[derive(Default)]
struct Sum {
    sum: u64,
    odd: Option<u8>,
}

impl Sum {
    fn add(&mut self, mut bytes: &[u8]) {
        if let (Some(hi), Some((&lo, rest))) = (self.odd, bytes.split_first()) {
            self.sum += u64::from(u16::from_be_bytes([hi, lo]));
            self.odd = None;
            bytes = rest;
        }
        let mut chunks = bytes.chunks_exact(2);
        for c in &mut chunks {
            self.sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            self.odd = Some(*last);
        }
    }

    fn finish(mut self) -> u16 {
        if let Some(hi) = self.odd.take() {
            self.sum += u64::from(u16::from_be_bytes([hi, 0]));
        }
        while self.sum > 0xffff {
            self.sum = (self.sum & 0xffff) + (self.sum >> 16);
        }
        !(self.sum as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testdata::{DAD_NS, NA, NS};

    const ETH: usize = field::ETHERNET_HEADER_LEN;
    const A1: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);
    const A2: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2);

    fn ns_repr() -> NdiscRepr {
        NdiscRepr {
            message: NdMessage::NeighborSolicit,
            src_addr: A1,
            dst_addr: solicited_node(&A2),
            hop_limit: 255,
            target_addr: A2,
            lladdr: Some([2, 0, 0, 0, 0, 0x0a]),
        }
    }

    fn na_repr() -> NdiscRepr {
        NdiscRepr {
            message: NdMessage::NeighborAdvert {
                flags: NaFlags::SOLICITED | NaFlags::OVERRIDE,
            },
            src_addr: A2,
            dst_addr: A1,
            hop_limit: 255,
            target_addr: A2,
            lladdr: Some([2, 0, 0, 0, 0, 0x0b]),
        }
    }

    #[test]
    fn deconstruct() {
        let p = NdPacket::new_checked(&NS[ETH..]).unwrap();
        assert_eq!(p.src_addr(), A1);
        assert_eq!(p.dst_addr(), "ff02::1:ff00:2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.hop_limit(), 255);
        assert_eq!(p.payload_len(), 32);
        assert!(p.is_solicitation());
        assert_eq!(p.code(), 0);
        assert_eq!(p.checksum(), 0x378a);
        assert_eq!(p.target_addr(), A2);
        assert!(p.verify_checksum());
        let opts: std::vec::Vec<_> = p.options().collect();
        assert_eq!(
            opts,
            [Ok(NdOption {
                opt_type: 1,
                data: &[2, 0, 0, 0, 0, 0x0a]
            })]
        );

        let p = NdPacket::new_checked(&NA[ETH..]).unwrap();
        assert!(!p.is_solicitation());
        assert_eq!(p.flags(), NaFlags::SOLICITED | NaFlags::OVERRIDE);
        assert_eq!(p.checksum(), 0xb38a);
        assert!(p.verify_checksum());
    }

    #[test]
    fn construct() {
        let mut buf = [0xa5u8; 72];
        let mut p = NdPacket::new_layout(&mut buf[..], 8).unwrap();
        p.set_traffic_class_flow(0, 0);
        p.set_hop_limit(255);
        p.set_src_addr(A1);
        p.set_dst_addr(solicited_node(&A2));
        p.set_msg_type(135);
        p.set_code(0);
        p.set_flags(NaFlags::empty());
        p.set_target_addr(A2);
        p.options_mut()
            .copy_from_slice(&[1, 1, 2, 0, 0, 0, 0, 0x0a]);
        p.fill_checksum();
        assert_eq!(&buf[..], &NS[ETH..]);
    }

    #[test]
    fn parse() {
        let p = NdPacket::new_checked(&NS[ETH..]).unwrap();
        assert_eq!(NdiscRepr::parse(&p), Ok(ns_repr()));
        let p = NdPacket::new_checked(&NA[ETH..]).unwrap();
        assert_eq!(NdiscRepr::parse(&p), Ok(na_repr()));
        // Linux's duplicate address detection NS: source ::, a nonce option, no link-layer
        // address.
        let p = NdPacket::new_checked(&DAD_NS[ETH..]).unwrap();
        let dad = NdiscRepr::parse(&p).unwrap();
        assert!(dad.src_addr.is_unspecified());
        assert_eq!(dad.lladdr, None);
        assert_eq!(
            dad.target_addr,
            "fe80::5054:ff:fe00:1".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn emit() {
        let mut buf = [0xa5u8; 72];
        assert_eq!(ns_repr().emit(&mut buf), Ok(72));
        assert_eq!(&buf[..], &NS[ETH..]);
        assert_eq!(na_repr().emit(&mut buf), Ok(72));
        assert_eq!(&buf[..], &NA[ETH..]);
        assert_eq!(
            ns_repr().emit(&mut buf[..71]),
            Err(WireError::BufferTooShort)
        );
        let no_ll = NdiscRepr {
            lladdr: None,
            ..ns_repr()
        };
        assert_eq!(no_ll.buffer_len(), 64);
        let mut short = [0xa5u8; 64];
        assert_eq!(no_ll.emit(&mut short), Ok(64));
        let p = NdPacket::new_checked(&short[..]).unwrap();
        assert_eq!(NdiscRepr::parse(&p), Ok(no_ll));
    }

    fn corrupt(offset: usize, value: u8) -> Result<NdiscRepr, WireError> {
        let mut bytes = NS;
        bytes[ETH + offset] = value;
        let p = NdPacket::new_checked(&bytes[ETH..])?;
        NdiscRepr::parse(&p)
    }

    /// Corrupts a field and fixes the checksum so that only that field is wrong.
    fn corrupt_fixed(offset: usize, value: u8) -> Result<NdiscRepr, WireError> {
        let mut bytes = NS;
        bytes[ETH + offset] = value;
        if let Ok(mut p) = NdPacket::new_checked(&mut bytes[ETH..]) {
            p.fill_checksum();
        }
        let p = NdPacket::new_checked(&bytes[ETH..])?;
        NdiscRepr::parse(&p)
    }

    #[test]
    fn malformed_reasons() {
        assert_eq!(corrupt(0, 0x40), Err(WireError::Ipv6Version));
        assert_eq!(corrupt(6, 17), Err(WireError::NotIcmpv6));
        assert_eq!(corrupt(5, 33), Err(WireError::Ipv6PayloadLength));
        assert_eq!(corrupt(5, 3), Err(WireError::NdTruncated));
        assert_eq!(corrupt(5, 20), Err(WireError::NdTruncated));
        assert_eq!(corrupt(40, 128), Err(WireError::NotNeighborDiscovery));
        assert_eq!(corrupt(60, 0x03), Err(WireError::Icmpv6Checksum)); // target byte
        assert_eq!(corrupt(42, 0x00), Err(WireError::Icmpv6Checksum)); // checksum byte
        assert_eq!(corrupt_fixed(41, 1), Err(WireError::NdCode));
        assert_eq!(corrupt_fixed(7, 64), Err(WireError::NdHopLimit));
        assert_eq!(corrupt_fixed(48, 0xff), Err(WireError::NdMulticastTarget));
        assert_eq!(corrupt_fixed(65, 0), Err(WireError::NdOption)); // option length 0
        assert_eq!(corrupt_fixed(65, 2), Err(WireError::NdOption)); // runs past the end
        for len in 0..40 {
            assert_eq!(
                NdPacket::new_checked(&NS[ETH..ETH + len]).unwrap_err(),
                WireError::Ipv6Truncated
            );
        }
        for len in 40..72 {
            assert_eq!(
                NdPacket::new_checked(&NS[ETH..ETH + len]).unwrap_err(),
                WireError::Ipv6PayloadLength,
                "length {len}"
            );
        }
    }

    #[test]
    fn lladdr_option_of_two_units_is_refused() {
        // A source link-layer option of 16 bytes does not hold an Ethernet address.
        let mut buf = [0u8; 80];
        let mut p = NdPacket::new_layout(&mut buf[..], 16).unwrap();
        p.set_hop_limit(255);
        p.set_src_addr(A1);
        p.set_dst_addr(solicited_node(&A2));
        p.set_msg_type(135);
        p.set_target_addr(A2);
        p.options_mut()[..2].copy_from_slice(&[1, 2]);
        p.fill_checksum();
        let p = NdPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(NdiscRepr::parse(&p), Err(WireError::NdOption));
    }

    #[test]
    fn padding_after_payload_is_ignored() {
        let mut padded = [0u8; 80];
        padded[..72].copy_from_slice(&NS[ETH..]);
        let p = NdPacket::new_checked(&padded[..]).unwrap();
        assert_eq!(NdiscRepr::parse(&p), Ok(ns_repr()));
    }

    #[test]
    fn checksum_field_of_0xffff_is_zero_too() {
        // Found by the `ndisc_wire` fuzz target: an NS whose checksum computes to 0 was
        // refused when it carried the other one's complement zero, 0xffff, which Linux (and
        // arp-alb) accept. Find a target address that makes the checksum 0.
        let mut buf = [0u8; 72];
        let zero = (0..=u16::MAX)
            .find_map(|n| {
                let mut target = A2.octets();
                target[12..14].copy_from_slice(&n.to_be_bytes());
                let repr = NdiscRepr {
                    target_addr: Ipv6Addr::from(target),
                    ..ns_repr()
                };
                repr.emit(&mut buf).ok()?;
                (buf[42..44] == [0, 0]).then_some(repr)
            })
            .expect("some target gives a zero checksum");
        buf[42..44].copy_from_slice(&[0xff, 0xff]);
        let p = NdPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(p.compute_checksum(), 0);
        assert!(p.verify_checksum());
        assert_eq!(NdiscRepr::parse(&p), Ok(zero));
        // Any other wrong value is still refused.
        buf[42..44].copy_from_slice(&[0xff, 0xfe]);
        let p = NdPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(NdiscRepr::parse(&p), Err(WireError::Icmpv6Checksum));
    }

    #[test]
    fn checksum_of_odd_pieces() {
        let whole = icmpv6_checksum(&A1, &A2, &[&[1, 2, 3, 4, 5]]);
        let split = icmpv6_checksum(&A1, &A2, &[&[1], &[2, 3], &[4, 5]]);
        assert_eq!(whole, split);
    }

    #[test]
    fn solicited_node_address() {
        let a: Ipv6Addr = "2001:db8::abcd:1234:5678".parse().unwrap();
        assert_eq!(
            solicited_node(&a),
            "ff02::1:ff34:5678".parse::<Ipv6Addr>().unwrap()
        );
    }
}
