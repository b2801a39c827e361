//! Flow keys: what the kernel's bonding code extracts from a frame before it folds the hash.
//!
//! Two extractors, as in the kernel:
//! - [`dissect_l3`] is `bond_flow_dissect` for `layer2+3` and `layer3+4`: one IPv4 or IPv6
//!   header right after the Ethernet header, no extension-header walk, ports straight after
//!   the IP header, and the ICMP-error step that re-reads the embedded header;
//! - [`dissect_encap`] is `__skb_flow_dissect` with the bonding driver's key set
//!   (`flow_keys_bonding`) for `encap2+3` and `encap3+4`.

use crate::frame::Frame;
use crate::wire::{
    BatadvUnicastHeader, EthernetHeader, FCOE_HEADER_LEN, GreBaseHeader, HsrTag, IcmpHeader,
    Ipv4Header, Ipv6FragHeader, Ipv6Header, Ipv6OptHeader, PTP_HEADER_LEN, PppoeSessionHeader,
    TipcBasicHeader, VlanHeader, bytes_at, ethertype, header_at, ipproto,
};

/// The addresses a flow key holds (`flow_keys.addrs` with `control.addr_type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FlowAddrs {
    /// No address was extracted (`addr_type` 0): an ARP or MPLS frame under an `encap`
    /// policy, for instance. Both words are 0 in the hash.
    #[default]
    None,
    /// IPv4 source and destination, as on the wire.
    V4 {
        /// Source address.
        src: [u8; 4],
        /// Destination address.
        dst: [u8; 4],
    },
    /// IPv6 source and destination, as on the wire.
    V6 {
        /// Source address.
        src: [u8; 16],
        /// Destination address.
        dst: [u8; 16],
    },
    /// A TIPC key (the source node word of the TIPC header, as on the wire); `encap`
    /// policies only.
    Tipc {
        /// The key.
        key: [u8; 4],
    },
}

impl FlowAddrs {
    /// `flow_get_u32_src` on a little-endian host: the IPv4 address bytes read as a
    /// little-endian word, the four words of an IPv6 address XORed (`ipv6_addr_hash`), the
    /// TIPC key, or 0.
    #[must_use]
    #[inline(always)]
    pub fn src_u32(&self) -> u32 {
        match self {
            Self::None => 0,
            Self::V4 { src, .. } => u32::from_le_bytes(*src),
            Self::V6 { src, .. } => ipv6_addr_hash(src),
            Self::Tipc { key } => u32::from_le_bytes(*key),
        }
    }

    /// `flow_get_u32_dst` on a little-endian host (0 for a TIPC key, as in the kernel).
    #[must_use]
    #[inline(always)]
    pub fn dst_u32(&self) -> u32 {
        match self {
            Self::None | Self::Tipc { .. } => 0,
            Self::V4 { dst, .. } => u32::from_le_bytes(*dst),
            Self::V6 { dst, .. } => ipv6_addr_hash(dst),
        }
    }
}

/// `ipv6_addr_hash` on a little-endian host: the XOR of the address's four 32-bit words, each
/// read from its stored bytes (the 64-bit variant of the kernel function gives the same
/// value).
#[inline(always)]
fn ipv6_addr_hash(a: &[u8; 16]) -> u32 {
    let w = |i: usize| u32::from_le_bytes([a[i], a[i + 1], a[i + 2], a[i + 3]]);
    w(0) ^ w(4) ^ w(8) ^ w(12)
}

/// The ICMP key (`struct flow_dissector_key_icmp`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IcmpKey {
    /// The ICMP type.
    pub icmp_type: u8,
    /// The ICMP code.
    pub code: u8,
    /// The identifier in host order for the types that carry one (echo and timestamp
    /// requests and replies, IPv4 or IPv6 numbering alike), with a zero identifier stored as
    /// 1; 0 for every other type.
    pub id: u16,
}

impl IcmpKey {
    /// The key's memory image read as one little-endian word, as the kernel's `memcpy` of the
    /// struct into the hash does: type in bits 0-7, code in 8-15, id in 16-31.
    #[must_use]
    #[inline(always)]
    pub fn as_u32(&self) -> u32 {
        u32::from(self.icmp_type) | u32::from(self.code) << 8 | u32::from(self.id) << 16
    }
}

/// The flow keys the hash folds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlowKeys {
    /// The addresses of the header the extraction ended on.
    pub addrs: FlowAddrs,
    /// The four bytes at the transport's port offset, as on the wire: source and destination
    /// port for TCP, UDP, UDP-Lite, SCTP and DCCP, the SPI for ESP and AH; zero when the
    /// policy ignores ports, for fragments, other protocols and truncated headers.
    pub ports: [u8; 4],
    /// The ICMP key (all zero unless the frame is ICMP or ICMPv6).
    pub icmp: IcmpKey,
}

impl FlowKeys {
    /// The port bytes read as a little-endian word (the kernel's `memcpy` of `ports.ports`).
    #[must_use]
    #[inline(always)]
    pub fn ports_u32(&self) -> u32 {
        u32::from_le_bytes(self.ports)
    }
}

/// Where the extractors put what they find: [`FlowKeys`] for callers that want to see the
/// keys, [`Folded`] for the hash, which keeps only the words the hash folds (the same
/// extraction code serves both, monomorphised).
pub(crate) trait KeySink: Default {
    fn set_v4(&mut self, src: [u8; 4], dst: [u8; 4]);
    fn set_v6(&mut self, src: &[u8; 16], dst: &[u8; 16]);
    fn set_tipc(&mut self, key: [u8; 4]);
    fn set_ports(&mut self, ports: [u8; 4]);
    fn set_icmp(&mut self, icmp: IcmpKey);
    fn icmp_type(&self) -> u8;
}

impl KeySink for FlowKeys {
    #[inline(always)]
    fn set_v4(&mut self, src: [u8; 4], dst: [u8; 4]) {
        self.addrs = FlowAddrs::V4 { src, dst };
    }

    #[inline(always)]
    fn set_v6(&mut self, src: &[u8; 16], dst: &[u8; 16]) {
        self.addrs = FlowAddrs::V6 {
            src: *src,
            dst: *dst,
        };
    }

    #[inline(always)]
    fn set_tipc(&mut self, key: [u8; 4]) {
        self.addrs = FlowAddrs::Tipc { key };
    }

    #[inline(always)]
    fn set_ports(&mut self, ports: [u8; 4]) {
        self.ports = ports;
    }

    #[inline(always)]
    fn set_icmp(&mut self, icmp: IcmpKey) {
        self.icmp = icmp;
    }

    #[inline(always)]
    fn icmp_type(&self) -> u8 {
        self.icmp.icmp_type
    }
}

/// The flow keys reduced to what the hash folds: `src ^ dst` of the address words, the
/// ports word and the ICMP key.
#[derive(Clone, Copy, Default)]
pub(crate) struct Folded {
    pub(crate) addrs: u32,
    pub(crate) ports: u32,
    pub(crate) icmp: IcmpKey,
}

impl KeySink for Folded {
    #[inline(always)]
    fn set_v4(&mut self, src: [u8; 4], dst: [u8; 4]) {
        self.addrs = u32::from_le_bytes(src) ^ u32::from_le_bytes(dst);
    }

    #[inline(always)]
    fn set_v6(&mut self, src: &[u8; 16], dst: &[u8; 16]) {
        self.addrs = ipv6_addr_hash(src) ^ ipv6_addr_hash(dst);
    }

    #[inline(always)]
    fn set_tipc(&mut self, key: [u8; 4]) {
        self.addrs = u32::from_le_bytes(key);
    }

    #[inline(always)]
    fn set_ports(&mut self, ports: [u8; 4]) {
        self.ports = u32::from_le_bytes(ports);
    }

    #[inline(always)]
    fn set_icmp(&mut self, icmp: IcmpKey) {
        self.icmp = icmp;
    }

    #[inline(always)]
    fn icmp_type(&self) -> u8 {
        self.icmp.icmp_type
    }
}

/// `proto_ports_offset`: where the port-like word sits in the transport header.
#[inline(always)]
fn proto_ports_offset(ip_proto: u8) -> Option<usize> {
    match ip_proto {
        ipproto::TCP
        | ipproto::UDP
        | ipproto::DCCP
        | ipproto::ESP
        | ipproto::SCTP
        | ipproto::UDPLITE => Some(0),
        // The SPI, after next header, length and reserved.
        ipproto::AH => Some(4),
        _ => None,
    }
}

/// `skb_flow_get_ports`: the four bytes at the port offset of `ip_proto` from `thoff`, or zero
/// when the protocol has none or the bytes are not all there.
#[inline(always)]
fn flow_get_ports(net: &[u8], thoff: usize, ip_proto: u8) -> [u8; 4] {
    match proto_ports_offset(ip_proto) {
        Some(poff) => bytes_at::<4>(net, thoff + poff).unwrap_or([0; 4]),
        None => [0; 4],
    }
}

/// `icmp_has_id`: the kernel checks the type against both numberings whatever the protocol,
/// so an ICMPv4 type 128 and an ICMPv6 type 8 also count.
#[inline(always)]
fn icmp_has_id(icmp_type: u8) -> bool {
    matches!(icmp_type, 0 | 8 | 13 | 14 | 128 | 129)
}

/// `skb_flow_get_icmp_tci`: the key from a whole 8-byte ICMP header at `thoff`; `None` (the
/// caller's key is left as it was) when the header is cut short.
#[inline(always)]
fn icmp_tci(net: &[u8], thoff: usize) -> Option<IcmpKey> {
    let ih = header_at::<IcmpHeader>(net, thoff)?;
    let id = if icmp_has_id(ih.icmp_type) {
        // A zero identifier is stored as 1, so that 0 keeps meaning "no identifier".
        match ih.id.get() {
            0 => 1,
            id => id,
        }
    } else {
        0
    };
    Some(IcmpKey {
        icmp_type: ih.icmp_type,
        code: ih.code,
        id,
    })
}

/// `icmp_is_err`: destination unreachable, source quench, redirect, time exceeded, parameter
/// problem.
#[inline(always)]
fn icmp_is_err(icmp_type: u8) -> bool {
    matches!(icmp_type, 3 | 4 | 5 | 11 | 12)
}

/// `icmpv6_is_err`: destination unreachable, packet too big, time exceeded, parameter problem.
#[inline(always)]
fn icmpv6_is_err(icmp_type: u8) -> bool {
    matches!(icmp_type, 1..=4)
}

/// `bond_flow_ip`: the addresses of the IPv4 or IPv6 header at `nhoff` and, for `layer3+4`,
/// the ports after it. `false` when the frame is not IP or the fixed header is cut short.
#[inline(always)]
fn bond_flow_ip<K: KeySink>(
    f: &Frame<'_>,
    keys: &mut K,
    nhoff: &mut usize,
    ip_proto: &mut Option<u8>,
    l34: bool,
) -> bool {
    match f.ethertype {
        ethertype::IPV4 => {
            let Some(iph) = header_at::<Ipv4Header>(f.net, *nhoff) else {
                return false;
            };
            keys.set_v4(iph.src, iph.dst);
            // The header length is taken as it is, even below 5 words (the ports are then
            // read from inside the IP header), and options are skipped without being read.
            *nhoff += usize::from(iph.ihl()) << 2;
            // A fragment, first or not, leaves the protocol unknown: no ports, no ICMP step.
            if !iph.is_fragment() {
                *ip_proto = Some(iph.protocol);
            }
        }
        ethertype::IPV6 => {
            let Some(iph) = header_at::<Ipv6Header>(f.net, *nhoff) else {
                return false;
            };
            keys.set_v6(&iph.src, &iph.dst);
            *nhoff += size_of::<Ipv6Header>();
            // No extension-header walk: a hop-by-hop, routing, fragment or destination options
            // header is the "protocol", which has no ports.
            *ip_proto = Some(iph.next_header);
        }
        _ => return false,
    }
    if l34 {
        if let Some(p) = *ip_proto {
            keys.set_ports(flow_get_ports(f.net, *nhoff, p));
        }
    }
    true
}

/// `bond_flow_dissect` for `layer2+3` (`l34 == false`) and `layer3+4` (`l34 == true`).
///
/// `None` when the kernel falls back to the `layer2` hash: not IPv4/IPv6 after the (offloaded)
/// outer tag, the fixed IP header cut short, or an ICMP error whose embedded IP header is cut
/// short.
#[inline(always)]
pub(crate) fn dissect_l3<K: KeySink>(f: &Frame<'_>, l34: bool) -> Option<K> {
    let mut keys = K::default();
    let mut nhoff = 0;
    let mut ip_proto = None;
    if !bond_flow_ip(f, &mut keys, &mut nhoff, &mut ip_proto, l34) {
        return None;
    }
    // ICMP errors carry the start of the packet that caused them: hash them with that
    // packet's flow. Both protocol numbers are checked whatever the IP version.
    if let Some(p @ (ipproto::ICMP | ipproto::ICMPV6)) = ip_proto {
        if let Some(icmp) = icmp_tci(f.net, nhoff) {
            keys.set_icmp(icmp);
        }
        let is_err = if p == ipproto::ICMP {
            icmp_is_err(keys.icmp_type())
        } else {
            icmpv6_is_err(keys.icmp_type())
        };
        if !is_err {
            return Some(keys);
        }
        nhoff += size_of::<IcmpHeader>();
        // The embedded header is read as the same IP version as the outer one; its
        // addresses (and, for layer3+4, ports) replace the outer ones.
        if !bond_flow_ip(f, &mut keys, &mut nhoff, &mut ip_proto, l34) {
            return None;
        }
    }
    Some(keys)
}

/// What one step of the flow dissector decided (`enum flow_dissect_ret`)
/// (`FLOW_DISSECT_RET_OUT_BAD` is a `return None` where it happens.)
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ret {
    OutGood,
    ProtoAgain,
    IpProtoAgain,
    Continue,
}

/// `MAX_FLOW_DISSECT_HDRS`: the dissector gives up (keeping what it has) after this many
/// "again" steps.
const MAX_FLOW_DISSECT_HDRS: u32 = 15;

/// Which VLAN key the dissector fills next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum VlanLevel {
    None,
    Vlan,
    Cvlan,
}

/// `__skb_flow_dissect` with the bonding key set, for `encap2+3` and `encap3+4`.
///
/// `None` when the dissector fails (`FLOW_DISSECT_RET_OUT_BAD`) and the kernel falls back to
/// the `layer2` hash.
pub(crate) fn dissect_encap<K: KeySink>(f: &Frame<'_>) -> Option<K> {
    let net = f.net;
    let mut keys = K::default();
    let mut proto = f.ethertype;
    let mut nhoff = 0usize;
    let mut ip_proto = 0u8;
    let mut num_hdrs = 0u32;
    let mut vlan_level = VlanLevel::None;
    let mut is_fragment = false;

    // The two labels of the kernel function, as a state: true = `proto_again`,
    // false = `ip_proto_again`.
    let mut at_proto = true;
    loop {
        if at_proto {
            let ret = match proto {
                ethertype::IPV4 => {
                    let iph = header_at::<Ipv4Header>(net, nhoff)?;
                    if iph.ihl() < 5 {
                        return None;
                    }
                    nhoff += usize::from(iph.ihl()) << 2;
                    ip_proto = iph.protocol;
                    keys.set_v4(iph.src, iph.dst);
                    if iph.is_fragment() {
                        // Non-first fragments have no transport header, and the bonding code
                        // does not ask for the first fragment's (no
                        // FLOW_DISSECTOR_F_PARSE_1ST_FRAG): both stop here, so a fragment
                        // hashes on its addresses only.
                        is_fragment = true;
                        Ret::OutGood
                    } else {
                        Ret::Continue
                    }
                }
                ethertype::IPV6 => {
                    let iph = header_at::<Ipv6Header>(net, nhoff)?;
                    ip_proto = iph.next_header;
                    nhoff += size_of::<Ipv6Header>();
                    keys.set_v6(&iph.src, &iph.dst);
                    // The flow label is a bonding key but not part of the hash.
                    Ret::Continue
                }
                ethertype::VLAN | ethertype::QINQ => {
                    if vlan_level == VlanLevel::None && f.tci.is_some() {
                        // The first VLAN step takes the offloaded tag and continues with
                        // `skb->protocol`, here the ethertype of the hashed data, without
                        // moving in the data.
                        proto = f.ethertype;
                    } else {
                        let vlan = header_at::<VlanHeader>(net, nhoff)?;
                        proto = vlan.encapsulated_proto.get();
                        nhoff += size_of::<VlanHeader>();
                    }
                    // Two VLAN keys are filled; further tags are stepped over all the same.
                    vlan_level = match vlan_level {
                        VlanLevel::None => VlanLevel::Vlan,
                        VlanLevel::Vlan | VlanLevel::Cvlan => VlanLevel::Cvlan,
                    };
                    Ret::ProtoAgain
                }
                ethertype::PPP_SES => {
                    let hdr = header_at::<PppoeSessionHeader>(net, nhoff)?;
                    // Version 1, type 1, code 0 (session data).
                    if hdr.ver_type != 0x11 || hdr.code != 0 {
                        return None;
                    }
                    let mut ppp_proto = hdr.ppp_proto.get();
                    if ppp_proto & 0x0100 != 0 {
                        // A compressed (one-byte) protocol field.
                        ppp_proto >>= 8;
                        nhoff += size_of::<PppoeSessionHeader>() - 1;
                    } else {
                        nhoff += size_of::<PppoeSessionHeader>();
                    }
                    match ppp_proto {
                        0x0021 => {
                            proto = ethertype::IPV4;
                            Ret::ProtoAgain
                        }
                        0x0057 => {
                            proto = ethertype::IPV6;
                            Ret::ProtoAgain
                        }
                        0x0281 => {
                            proto = ethertype::MPLS_UC;
                            Ret::ProtoAgain
                        }
                        0x0283 => {
                            proto = ethertype::MPLS_MC;
                            Ret::ProtoAgain
                        }
                        // `ppp_proto_is_valid`: an odd low byte and an even high byte.
                        p if p & 0x0101 == 0x0001 => Ret::OutGood,
                        _ => return None,
                    }
                }
                ethertype::TIPC => {
                    let hdr = header_at::<TipcBasicHeader>(net, nhoff)?;
                    // `tipc_hdr_rps_key`. For link keepalive messages the kernel returns
                    // random bytes instead, which no one can reproduce; this keeps the source
                    // node word for them too (see the crate docs).
                    let _keepalive = hdr.w0.get() & 0x0e08_0000 == 0x0e08_0000;
                    keys.set_tipc(hdr.w3);
                    Ret::OutGood
                }
                // The bonding key set has no MPLS keys: the label is not read, the dissector
                // stops with what it has.
                ethertype::MPLS_UC | ethertype::MPLS_MC => {
                    nhoff += 4;
                    Ret::OutGood
                }
                ethertype::FCOE => {
                    // `hlen - nhoff < FCOE_HEADER_LEN`, on signed numbers in the kernel.
                    if nhoff > net.len() || net.len() - nhoff < FCOE_HEADER_LEN {
                        return None;
                    }
                    nhoff += FCOE_HEADER_LEN;
                    Ret::OutGood
                }
                // No ARP or CFM keys in the bonding set: stop, nothing read.
                ethertype::ARP | ethertype::RARP | ethertype::CFM => Ret::OutGood,
                ethertype::BATMAN => {
                    let hdr = header_at::<BatadvUnicastHeader>(net, nhoff)?;
                    // Compatibility version 15, unicast packets only.
                    if hdr.version != 15 || hdr.packet_type != 0x40 {
                        return None;
                    }
                    proto = hdr.eth.ethertype.get();
                    nhoff += size_of::<BatadvUnicastHeader>();
                    Ret::ProtoAgain
                }
                ethertype::PTP => {
                    if net.len() < nhoff.saturating_add(PTP_HEADER_LEN) {
                        return None;
                    }
                    nhoff += PTP_HEADER_LEN;
                    Ret::OutGood
                }
                ethertype::PRP | ethertype::HSR => {
                    let tag = header_at::<HsrTag>(net, nhoff)?;
                    proto = tag.encap_proto.get();
                    nhoff += size_of::<HsrTag>();
                    Ret::ProtoAgain
                }
                _ => return None,
            };
            match ret {
                Ret::OutGood => return Some(keys),
                Ret::ProtoAgain => {
                    num_hdrs += 1;
                    if num_hdrs > MAX_FLOW_DISSECT_HDRS {
                        return Some(keys);
                    }
                    continue;
                }
                Ret::Continue | Ret::IpProtoAgain => {}
            }
        }

        // `ip_proto_again`
        let ret = match ip_proto {
            ipproto::GRE => dissect_gre(net, &mut proto, &mut nhoff)?,
            ipproto::HOPOPTS | ipproto::ROUTING | ipproto::DSTOPTS => {
                if proto != ethertype::IPV6 {
                    Ret::Continue
                } else {
                    let opt = header_at::<Ipv6OptHeader>(net, nhoff)?;
                    ip_proto = opt.next_header;
                    nhoff += (usize::from(opt.hdr_ext_len) + 1) << 3;
                    Ret::IpProtoAgain
                }
            }
            ipproto::FRAGMENT => {
                if proto != ethertype::IPV6 {
                    Ret::Continue
                } else {
                    let fh = header_at::<Ipv6FragHeader>(net, nhoff)?;
                    is_fragment = true;
                    nhoff += size_of::<Ipv6FragHeader>();
                    ip_proto = fh.next_header;
                    // First fragment or not, stop on the addresses (as for IPv4).
                    Ret::OutGood
                }
            }
            ipproto::IPIP => {
                proto = ethertype::IPV4;
                Ret::ProtoAgain
            }
            ipproto::IPV6 => {
                proto = ethertype::IPV6;
                Ret::ProtoAgain
            }
            ipproto::MPLS => {
                proto = ethertype::MPLS_UC;
                Ret::ProtoAgain
            }
            ipproto::ICMP | ipproto::ICMPV6 => {
                // The encap policies take the ICMP key but never look inside ICMP errors.
                if let Some(icmp) = icmp_tci(net, nhoff) {
                    keys.set_icmp(icmp);
                }
                Ret::Continue
            }
            // TCP flags, L2TPv3 session ids and IPsec SPIs are not bonding keys.
            _ => Ret::Continue,
        };
        // Every pass through here (re)sets the ports, from the current protocol, unless a
        // fragment was seen.
        if !is_fragment {
            keys.set_ports(flow_get_ports(net, nhoff, ip_proto));
        }
        match ret {
            Ret::ProtoAgain | Ret::IpProtoAgain => {
                num_hdrs += 1;
                if num_hdrs > MAX_FLOW_DISSECT_HDRS {
                    return Some(keys);
                }
                at_proto = ret == Ret::ProtoAgain;
            }
            Ret::OutGood | Ret::Continue => return Some(keys),
        }
    }
}

/// `__skb_flow_dissect_gre`: `None` for `FLOW_DISSECT_RET_OUT_BAD`.
fn dissect_gre(net: &[u8], proto: &mut u16, nhoff: &mut usize) -> Option<Ret> {
    let hdr = header_at::<GreBaseHeader>(net, *nhoff)?;
    let flags = hdr.flags.get();
    // Only GRE without routing, version 0 or 1.
    if flags & GreBaseHeader::ROUTING != 0 {
        return Some(Ret::OutGood);
    }
    let version = flags & GreBaseHeader::VERSION;
    if version > 1 {
        return Some(Ret::OutGood);
    }
    *proto = hdr.protocol.get();
    if version == 1 && !(*proto == ethertype::GRE_PPP && flags & GreBaseHeader::KEY != 0) {
        // Version 1 must be PPTP (PPP with a key).
        return Some(Ret::OutGood);
    }
    let mut offset = size_of::<GreBaseHeader>();
    if flags & GreBaseHeader::CSUM != 0 {
        offset += 4;
    }
    if flags & GreBaseHeader::KEY != 0 {
        // The key is read (a bonding key, not part of the hash), so it must be there.
        bytes_at::<4>(net, *nhoff + offset)?;
        offset += 4;
    }
    if flags & GreBaseHeader::SEQ != 0 {
        offset += 4;
    }
    if version == 0 {
        if *proto == ethertype::TEB {
            // Transparent Ethernet bridging: an inner Ethernet header, whose ethertype is
            // dissected next (its MACs are never hashed).
            let inner = header_at::<EthernetHeader>(net, *nhoff + offset)?;
            *proto = inner.ethertype.get();
            offset += size_of::<EthernetHeader>();
        }
    } else {
        // PPTP: an optional acknowledgement number, then a 4-byte PPP header whose last two
        // bytes are the PPP protocol.
        if flags & GreBaseHeader::ACK != 0 {
            offset += 4;
        }
        let ppp = bytes_at::<4>(net, *nhoff + offset)?;
        match u16::from_be_bytes([ppp[2], ppp[3]]) {
            0x0021 => *proto = ethertype::IPV4,
            0x0057 => *proto = ethertype::IPV6,
            // Anything else stays `GRE_PPP`, which the next step does not know (a fallback
            // to the layer2 hash).
            _ => {}
        }
        offset += 4;
    }
    *nhoff += offset;
    Some(Ret::ProtoAgain)
}
