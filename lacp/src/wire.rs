//! LACPDU and Marker PDU wire formats (IEEE 802.1AX clause 6.4.2 and 6.5.3), with the
//! slow-protocols Ethernet framing around them.
//!
//! Two layers, smoltcp/netstack3 style:
//! - views over the caller's bytes ([`SlowProtocolsFrame`], [`LacpduPacket`],
//!   [`MarkerPacket`]) whose checked constructors validate every length, type and
//!   version once, after which no accessor can panic; the headers are zerocopy
//!   `#[repr(C)]` structs with `network_endian` fields ([`EthernetHeader`],
//!   [`LacpduHeader`], [`InfoTlv`], [`MarkerHeader`]);
//! - owned, validated representations ([`Lacpdu`], [`MarkerPdu`]) with `parse`,
//!   `buffer_len` and `emit` into a fixed-size array, so emitting cannot panic.
//!
//! Both PDUs are 110 octets, so a frame is always [`FRAME_LEN`] (124) octets: longer than
//! the Ethernet minimum of [`ETHERNET_MIN_FRAME_LEN`] (60 octets without FCS), so no pad
//! is ever needed on transmit; on receive, trailing octets after the PDU (padding added by
//! a NIC, an FCS left in place) are ignored.
//!
//! Version handling follows 802.1AX: a LACPDU with a version above 1 is processed as
//! version 1, and TLVs that follow the version-1 TLVs (before the terminator) are walked
//! and ignored. Version 0 does not exist and is malformed.

use core::fmt;
use core::str::FromStr;

use bitflags::bitflags;
use zerocopy::network_endian::{U16, U32};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout, Ref, Unaligned};

/// Destination of every slow-protocols frame: the Slow_Protocols_Multicast address.
pub const SLOW_PROTOCOLS_MAC: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]);
/// EtherType of the slow protocols.
pub const SLOW_PROTOCOLS_ETHERTYPE: u16 = 0x8809;
/// Length of the Ethernet header (no VLAN tag: slow protocols are never tagged).
pub const ETHERNET_HEADER_LEN: usize = 14;
/// Length of a LACPDU or a Marker PDU, from the subtype to the last reserved octet.
pub const PDU_LEN: usize = 110;
/// Length of a whole slow-protocols frame carrying one PDU, without FCS.
pub const FRAME_LEN: usize = ETHERNET_HEADER_LEN + PDU_LEN;
/// The Ethernet minimum frame length without FCS; [`FRAME_LEN`] is above it.
pub const ETHERNET_MIN_FRAME_LEN: usize = 60;

const _: () = assert!(FRAME_LEN >= ETHERNET_MIN_FRAME_LEN);

/// Byte offsets inside a PDU (counted from the subtype octet), one place for all of them.
mod field {
    use core::ops::Range;

    pub(super) const SUBTYPE: usize = 0;
    /// Actor, partner and collector TLVs, fixed by version 1.
    pub(super) const LACP_FIXED: Range<usize> = 0..58;
    /// Where the terminator TLV of a version-1 LACPDU sits (and where the extension TLVs
    /// of a later version start).
    pub(super) const LACP_TERMINATOR: usize = 58;
    pub(super) const MARKER_FIXED: Range<usize> = 0..20;
    pub(super) const INFO_TLV_LEN: u8 = 20;
    pub(super) const COLLECTOR_TLV_LEN: u8 = 16;
    pub(super) const MARKER_TLV_LEN: u8 = 16;
}

/// An Ethernet (MAC) address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// 00:00:00:00:00:00.
    pub const ZERO: Self = Self([0; 6]);

    /// True for 00:00:00:00:00:00.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }

    /// True when the group bit (the low bit of the first octet) is set.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A MAC address string that is not six `:`-separated hex octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a MAC address (expected six hex octets separated by ':')")]
pub struct MacAddrParseError;

impl FromStr for MacAddr {
    type Err = MacAddrParseError;

    /// Parses `xx:xx:xx:xx:xx:xx` (one or two hex digits per octet, as the kernel's
    /// `%hhx` parsing accepts them).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.trim_end_matches('\n').split(':');
        for o in out.iter_mut() {
            let p = parts.next().ok_or(MacAddrParseError)?;
            if p.is_empty() || p.len() > 2 {
                return Err(MacAddrParseError);
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| MacAddrParseError)?;
        }
        if parts.next().is_some() {
            return Err(MacAddrParseError);
        }
        Ok(Self(out))
    }
}

bitflags! {
    /// The eight bits of an Actor_State or Partner_State octet (802.1AX 6.4.2.3).
    #[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
    pub struct PortState: u8 {
        /// LACP_Activity: 1 = Active LACP, 0 = Passive LACP.
        const LACP_ACTIVITY = 0x01;
        /// LACP_Timeout: 1 = Short Timeout (fast, 3 s), 0 = Long Timeout (slow, 90 s).
        const LACP_TIMEOUT = 0x02;
        /// Aggregation: 1 = the link may aggregate, 0 = an individual link.
        const AGGREGATION = 0x04;
        /// Synchronization: the link is allocated to the right aggregator (IN_SYNC).
        const SYNCHRONIZATION = 0x08;
        /// Collecting: collection of incoming frames is enabled.
        const COLLECTING = 0x10;
        /// Distributing: distribution of outgoing frames is enabled.
        const DISTRIBUTING = 0x20;
        /// Defaulted: the partner information in use comes from administrative defaults.
        const DEFAULTED = 0x40;
        /// Expired: the receive machine is in the EXPIRED state.
        const EXPIRED = 0x80;
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for PortState {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self::from_bits_retain(u8::arbitrary(u)?))
    }
}

/// The slow-protocols subtype octet (IEEE 802.3 Annex 57A).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Subtype {
    /// 1: LACP.
    Lacp,
    /// 2: the Marker protocol.
    Marker,
    /// Any other value (OAM is 3, OSSP is 10, ...).
    Unknown(u8),
}

impl From<u8> for Subtype {
    fn from(v: u8) -> Self {
        match v {
            1 => Self::Lacp,
            2 => Self::Marker,
            n => Self::Unknown(n),
        }
    }
}

impl From<Subtype> for u8 {
    fn from(v: Subtype) -> Self {
        match v {
            Subtype::Lacp => 1,
            Subtype::Marker => 2,
            Subtype::Unknown(n) => n,
        }
    }
}

/// Why a received frame was not accepted. Everything except the first three is a
/// malformed PDU and is counted per reason in [`MalformedCounters`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum Error {
    /// The EtherType is not 0x8809 (not a slow-protocols frame at all).
    #[error("not a slow-protocols frame")]
    NotSlowProtocols,
    /// The destination is not 01:80:c2:00:00:02.
    #[error("slow-protocols frame to a destination other than 01:80:c2:00:00:02")]
    WrongDestination,
    /// A slow-protocols subtype other than LACP or Marker.
    #[error("unknown slow-protocols subtype {0}")]
    UnknownSubtype(u8),
    /// A Marker PDU whose TLV type is neither Information (1) nor Response (2).
    #[error("unknown Marker TLV type {0}")]
    UnknownMarkerTlv(u8),
    /// Shorter than the 110-octet PDU its subtype announces (or than an Ethernet header).
    #[error("truncated PDU")]
    Truncated,
    /// Version number 0.
    #[error("version number 0")]
    BadVersion,
    /// Actor Information TLV type is not 1.
    #[error("actor TLV type is not 1")]
    ActorTlvType,
    /// Actor Information TLV length is not 20.
    #[error("actor TLV length is not 20")]
    ActorTlvLength,
    /// Partner Information TLV type is not 2.
    #[error("partner TLV type is not 2")]
    PartnerTlvType,
    /// Partner Information TLV length is not 20.
    #[error("partner TLV length is not 20")]
    PartnerTlvLength,
    /// Collector Information TLV type is not 3.
    #[error("collector TLV type is not 3")]
    CollectorTlvType,
    /// Collector Information TLV length is not 16.
    #[error("collector TLV length is not 16")]
    CollectorTlvLength,
    /// The terminator TLV (type 0, length 0) is missing or has a non-zero length.
    #[error("bad or missing terminator TLV")]
    Terminator,
    /// A TLV after the version-1 TLVs of a later-version LACPDU has a length below 2 or
    /// runs past the end of the frame.
    #[error("extension TLV overruns the PDU")]
    TlvOverrun,
    /// A Marker Information/Response TLV length is not 16.
    #[error("marker TLV length is not 16")]
    MarkerTlvLength,
}

/// Per-reason counters of malformed PDUs (one field per malformed [`Error`] variant).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct MalformedCounters {
    /// [`Error::Truncated`].
    pub truncated: u64,
    /// [`Error::BadVersion`].
    pub bad_version: u64,
    /// [`Error::ActorTlvType`].
    pub actor_tlv_type: u64,
    /// [`Error::ActorTlvLength`].
    pub actor_tlv_length: u64,
    /// [`Error::PartnerTlvType`].
    pub partner_tlv_type: u64,
    /// [`Error::PartnerTlvLength`].
    pub partner_tlv_length: u64,
    /// [`Error::CollectorTlvType`].
    pub collector_tlv_type: u64,
    /// [`Error::CollectorTlvLength`].
    pub collector_tlv_length: u64,
    /// [`Error::Terminator`].
    pub terminator: u64,
    /// [`Error::TlvOverrun`].
    pub tlv_overrun: u64,
    /// [`Error::MarkerTlvLength`].
    pub marker_tlv_length: u64,
}

impl core::ops::AddAssign<&Self> for MalformedCounters {
    /// Adds every counter of `n` (sums over ports).
    fn add_assign(&mut self, n: &Self) {
        self.truncated += n.truncated;
        self.bad_version += n.bad_version;
        self.actor_tlv_type += n.actor_tlv_type;
        self.actor_tlv_length += n.actor_tlv_length;
        self.partner_tlv_type += n.partner_tlv_type;
        self.partner_tlv_length += n.partner_tlv_length;
        self.collector_tlv_type += n.collector_tlv_type;
        self.collector_tlv_length += n.collector_tlv_length;
        self.terminator += n.terminator;
        self.tlv_overrun += n.tlv_overrun;
        self.marker_tlv_length += n.marker_tlv_length;
    }
}

impl MalformedCounters {
    /// Counts `e` if it is a malformed-PDU reason; returns whether it was one.
    pub fn record(&mut self, e: Error) -> bool {
        let c = match e {
            Error::Truncated => &mut self.truncated,
            Error::BadVersion => &mut self.bad_version,
            Error::ActorTlvType => &mut self.actor_tlv_type,
            Error::ActorTlvLength => &mut self.actor_tlv_length,
            Error::PartnerTlvType => &mut self.partner_tlv_type,
            Error::PartnerTlvLength => &mut self.partner_tlv_length,
            Error::CollectorTlvType => &mut self.collector_tlv_type,
            Error::CollectorTlvLength => &mut self.collector_tlv_length,
            Error::Terminator => &mut self.terminator,
            Error::TlvOverrun => &mut self.tlv_overrun,
            Error::MarkerTlvLength => &mut self.marker_tlv_length,
            Error::NotSlowProtocols
            | Error::WrongDestination
            | Error::UnknownSubtype(_)
            | Error::UnknownMarkerTlv(_) => return false,
        };
        *c += 1;
        true
    }

    /// The sum over all reasons.
    pub fn total(&self) -> u64 {
        self.truncated
            + self.bad_version
            + self.actor_tlv_type
            + self.actor_tlv_length
            + self.partner_tlv_type
            + self.partner_tlv_length
            + self.collector_tlv_type
            + self.collector_tlv_length
            + self.terminator
            + self.tlv_overrun
            + self.marker_tlv_length
    }
}

/// The Ethernet header of a slow-protocols frame.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct EthernetHeader {
    /// Destination address.
    pub dst: [u8; 6],
    /// Source address.
    pub src: [u8; 6],
    /// EtherType.
    pub ethertype: U16,
}

/// An Actor or Partner Information TLV (20 octets).
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct InfoTlv {
    /// TLV type: 1 for the actor, 2 for the partner.
    pub tlv_type: u8,
    /// TLV length, 20.
    pub length: u8,
    /// System priority.
    pub system_priority: U16,
    /// System MAC address.
    pub system: [u8; 6],
    /// Key.
    pub key: U16,
    /// Port priority.
    pub port_priority: U16,
    /// Port number.
    pub port: U16,
    /// State bits ([`PortState`]).
    pub state: u8,
    /// Reserved, sent as zero.
    pub reserved: [u8; 3],
}

impl InfoTlv {
    /// The TLV's contents in host order.
    pub fn info(&self) -> PortInfo {
        PortInfo {
            system_priority: self.system_priority.get(),
            system: MacAddr(self.system),
            key: self.key.get(),
            port_priority: self.port_priority.get(),
            port: self.port.get(),
            state: PortState::from_bits_retain(self.state),
        }
    }
}

/// The fixed part of a LACPDU: subtype, version, actor, partner and collector TLVs
/// (58 octets). The terminator and reserved octets follow.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct LacpduHeader {
    /// Subtype, 1.
    pub subtype: u8,
    /// Version number, 1.
    pub version: u8,
    /// Actor Information TLV.
    pub actor: InfoTlv,
    /// Partner Information TLV.
    pub partner: InfoTlv,
    /// Collector Information TLV type, 3.
    pub collector_type: u8,
    /// Collector Information TLV length, 16.
    pub collector_length: u8,
    /// CollectorMaxDelay in tens of microseconds.
    pub collector_max_delay: U16,
    /// Reserved, sent as zero.
    pub collector_reserved: [u8; 12],
}

/// The fixed part of a Marker PDU (20 octets): subtype, version, the Information or
/// Response TLV and the terminator TLV. 90 reserved octets follow.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct MarkerHeader {
    /// Subtype, 2.
    pub subtype: u8,
    /// Version number, 1.
    pub version: u8,
    /// TLV type: 1 Marker Information, 2 Marker Response.
    pub tlv_type: u8,
    /// TLV length, 16.
    pub length: u8,
    /// Requester_Port.
    pub requester_port: U16,
    /// Requester_System.
    pub requester_system: [u8; 6],
    /// Requester_Transaction_ID.
    pub transaction_id: U32,
    /// Pad, sent as zero.
    pub pad: [u8; 2],
    /// Terminator TLV type, 0.
    pub terminator_type: u8,
    /// Terminator TLV length, 0.
    pub terminator_length: u8,
}

const _: () = assert!(size_of::<LacpduHeader>() == field::LACP_FIXED.end);
const _: () = assert!(size_of::<MarkerHeader>() == field::MARKER_FIXED.end);
const _: () = assert!(size_of::<EthernetHeader>() == ETHERNET_HEADER_LEN);

/// A view of a received Ethernet frame that carries the slow protocols.
#[derive(Debug)]
pub struct SlowProtocolsFrame<'a> {
    header: Ref<&'a [u8], EthernetHeader>,
    payload: &'a [u8],
}

impl<'a> SlowProtocolsFrame<'a> {
    /// Checks the Ethernet header: long enough for a header and a subtype octet, EtherType
    /// 0x8809, destination 01:80:c2:00:00:02.
    pub fn new_checked(frame: &'a [u8]) -> Result<Self, Error> {
        let (header, payload) =
            Ref::<_, EthernetHeader>::from_prefix(frame).map_err(|_| Error::Truncated)?;
        if header.ethertype.get() != SLOW_PROTOCOLS_ETHERTYPE {
            return Err(Error::NotSlowProtocols);
        }
        if MacAddr(header.dst) != SLOW_PROTOCOLS_MAC {
            return Err(Error::WrongDestination);
        }
        if payload.is_empty() {
            return Err(Error::Truncated);
        }
        Ok(Self { header, payload })
    }

    /// Destination address.
    pub fn dst(&self) -> MacAddr {
        MacAddr(self.header.dst)
    }

    /// Source address.
    pub fn src(&self) -> MacAddr {
        MacAddr(self.header.src)
    }

    /// The subtype octet.
    pub fn subtype(&self) -> Subtype {
        Subtype::from(self.payload.get(field::SUBTYPE).copied().unwrap_or(0))
    }

    /// Everything after the Ethernet header (the PDU, then any trailing octets).
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// A validated view of a LACPDU (starting at the subtype octet).
#[derive(Debug)]
pub struct LacpduPacket<'a> {
    header: Ref<&'a [u8], LacpduHeader>,
}

impl<'a> LacpduPacket<'a> {
    /// Validates a LACPDU: at least 110 octets, subtype 1, version not 0, the actor,
    /// partner and collector TLV types and lengths, and the terminator. A version above 1
    /// may carry further TLVs before the terminator; they are walked and ignored.
    pub fn new_checked(pdu: &'a [u8]) -> Result<Self, Error> {
        if pdu.len() < PDU_LEN {
            return Err(Error::Truncated);
        }
        let (header, _) = Ref::<_, LacpduHeader>::from_prefix(pdu).map_err(|_| Error::Truncated)?;
        if header.subtype != 1 {
            return Err(Error::UnknownSubtype(header.subtype));
        }
        if header.version == 0 {
            return Err(Error::BadVersion);
        }
        if header.actor.tlv_type != 1 {
            return Err(Error::ActorTlvType);
        }
        if header.actor.length != field::INFO_TLV_LEN {
            return Err(Error::ActorTlvLength);
        }
        if header.partner.tlv_type != 2 {
            return Err(Error::PartnerTlvType);
        }
        if header.partner.length != field::INFO_TLV_LEN {
            return Err(Error::PartnerTlvLength);
        }
        if header.collector_type != 3 {
            return Err(Error::CollectorTlvType);
        }
        if header.collector_length != field::COLLECTOR_TLV_LEN {
            return Err(Error::CollectorTlvLength);
        }
        let tail = pdu.get(field::LACP_TERMINATOR..).unwrap_or(&[]);
        if header.version == 1 {
            match tail {
                [0, 0, ..] => {}
                _ => return Err(Error::Terminator),
            }
        } else {
            walk_extension_tlvs(tail)?;
        }
        Ok(Self { header })
    }

    /// The header (subtype, version, actor, partner, collector).
    pub fn header(&self) -> &LacpduHeader {
        &self.header
    }

    /// Version number.
    pub fn version(&self) -> u8 {
        self.header.version
    }

    /// The Actor Information TLV in host order.
    pub fn actor(&self) -> PortInfo {
        self.header.actor.info()
    }

    /// The Partner Information TLV in host order.
    pub fn partner(&self) -> PortInfo {
        self.header.partner.info()
    }

    /// CollectorMaxDelay.
    pub fn collector_max_delay(&self) -> u16 {
        self.header.collector_max_delay.get()
    }
}

/// Walks the TLVs of a later-version LACPDU that follow the version-1 TLVs, up to the
/// terminator. Each TLV length counts its own two header octets.
fn walk_extension_tlvs(mut tail: &[u8]) -> Result<(), Error> {
    loop {
        let (t, l) = match tail {
            [t, l, ..] => (*t, usize::from(*l)),
            _ => return Err(Error::TlvOverrun),
        };
        if t == 0 {
            return if l == 0 {
                Ok(())
            } else {
                Err(Error::Terminator)
            };
        }
        if l < 2 || l > tail.len() {
            return Err(Error::TlvOverrun);
        }
        tail = tail.get(l..).unwrap_or(&[]);
    }
}

/// A validated view of a Marker PDU (starting at the subtype octet).
#[derive(Debug)]
pub struct MarkerPacket<'a> {
    header: Ref<&'a [u8], MarkerHeader>,
}

impl<'a> MarkerPacket<'a> {
    /// Validates a Marker PDU: at least 110 octets, subtype 2, version not 0, TLV type 1
    /// or 2 with length 16, and the terminator.
    pub fn new_checked(pdu: &'a [u8]) -> Result<Self, Error> {
        if pdu.len() < PDU_LEN {
            return Err(Error::Truncated);
        }
        let (header, _) = Ref::<_, MarkerHeader>::from_prefix(pdu).map_err(|_| Error::Truncated)?;
        if header.subtype != 2 {
            return Err(Error::UnknownSubtype(header.subtype));
        }
        if header.version == 0 {
            return Err(Error::BadVersion);
        }
        if header.tlv_type != 1 && header.tlv_type != 2 {
            return Err(Error::UnknownMarkerTlv(header.tlv_type));
        }
        if header.length != field::MARKER_TLV_LEN {
            return Err(Error::MarkerTlvLength);
        }
        if header.terminator_type != 0 || header.terminator_length != 0 {
            return Err(Error::Terminator);
        }
        Ok(Self { header })
    }

    /// The header.
    pub fn header(&self) -> &MarkerHeader {
        &self.header
    }

    /// Version number.
    pub fn version(&self) -> u8 {
        self.header.version
    }

    /// Information or Response.
    pub fn kind(&self) -> MarkerKind {
        if self.header.tlv_type == 2 {
            MarkerKind::Response
        } else {
            MarkerKind::Information
        }
    }

    /// Requester_Port.
    pub fn requester_port(&self) -> u16 {
        self.header.requester_port.get()
    }

    /// Requester_System.
    pub fn requester_system(&self) -> MacAddr {
        MacAddr(self.header.requester_system)
    }

    /// Requester_Transaction_ID.
    pub fn transaction_id(&self) -> u32 {
        self.header.transaction_id.get()
    }
}

/// The LACP information about one end of a link: what an Actor or Partner TLV carries
/// (802.1AX 6.4.2.3), and what the kernel calls `struct port_params`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct PortInfo {
    /// System priority.
    pub system_priority: u16,
    /// System MAC address.
    pub system: MacAddr,
    /// Key.
    pub key: u16,
    /// Port priority.
    pub port_priority: u16,
    /// Port number.
    pub port: u16,
    /// State bits.
    pub state: PortState,
}

impl PortInfo {
    fn write(&self, tlv: &mut InfoTlv, tlv_type: u8) {
        tlv.tlv_type = tlv_type;
        tlv.length = field::INFO_TLV_LEN;
        tlv.system_priority.set(self.system_priority);
        tlv.system = self.system.0;
        tlv.key.set(self.key);
        tlv.port_priority.set(self.port_priority);
        tlv.port.set(self.port);
        tlv.state = self.state.bits();
        tlv.reserved = [0; 3];
    }
}

/// An owned LACPDU.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Lacpdu {
    /// Version number as received; emitted as is (this implementation sends 1).
    pub version: u8,
    /// Actor information.
    pub actor: PortInfo,
    /// Partner information.
    pub partner: PortInfo,
    /// CollectorMaxDelay (tens of microseconds); Linux and this crate send 0.
    pub collector_max_delay: u16,
}

impl Lacpdu {
    /// Takes the fields out of a validated view.
    pub fn parse(packet: &LacpduPacket<'_>) -> Self {
        Self {
            version: packet.version(),
            actor: packet.actor(),
            partner: packet.partner(),
            collector_max_delay: packet.collector_max_delay(),
        }
    }

    /// Octets [`Self::emit`] writes: always [`PDU_LEN`].
    pub const fn buffer_len(&self) -> usize {
        PDU_LEN
    }

    /// Writes the whole 110-octet PDU, reserved octets and terminator included. Extension
    /// TLVs of a later version are not kept, so a version above 1 is emitted with the
    /// version-1 layout.
    pub fn emit(&self, buf: &mut [u8; PDU_LEN]) {
        buf.fill(0);
        let mut header = LacpduHeader::new_zeroed();
        header.subtype = 1;
        header.version = self.version;
        self.actor.write(&mut header.actor, 1);
        self.partner.write(&mut header.partner, 2);
        header.collector_type = 3;
        header.collector_length = field::COLLECTOR_TLV_LEN;
        header.collector_max_delay.set(self.collector_max_delay);
        let _ = header.write_to_prefix(buf.as_mut_slice());
        // Terminator (type 0, length 0) and the 50 reserved octets are already zero.
    }
}

/// Marker Information or Marker Response.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum MarkerKind {
    /// TLV type 1, sent by a Marker generator.
    Information,
    /// TLV type 2, the responder's answer.
    Response,
}

/// An owned Marker PDU.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct MarkerPdu {
    /// Version number.
    pub version: u8,
    /// Information or Response.
    pub kind: MarkerKind,
    /// Requester_Port.
    pub requester_port: u16,
    /// Requester_System.
    pub requester_system: MacAddr,
    /// Requester_Transaction_ID.
    pub transaction_id: u32,
}

impl MarkerPdu {
    /// Takes the fields out of a validated view.
    pub fn parse(packet: &MarkerPacket<'_>) -> Self {
        Self {
            version: packet.version(),
            kind: packet.kind(),
            requester_port: packet.requester_port(),
            requester_system: packet.requester_system(),
            transaction_id: packet.transaction_id(),
        }
    }

    /// The Marker Response that answers this PDU: the same fields, TLV type 2.
    pub fn response(&self) -> Self {
        Self {
            kind: MarkerKind::Response,
            ..*self
        }
    }

    /// Octets [`Self::emit`] writes: always [`PDU_LEN`].
    pub const fn buffer_len(&self) -> usize {
        PDU_LEN
    }

    /// Writes the whole 110-octet PDU.
    pub fn emit(&self, buf: &mut [u8; PDU_LEN]) {
        buf.fill(0);
        let mut header = MarkerHeader::new_zeroed();
        header.subtype = 2;
        header.version = self.version;
        header.tlv_type = match self.kind {
            MarkerKind::Information => 1,
            MarkerKind::Response => 2,
        };
        header.length = field::MARKER_TLV_LEN;
        header.requester_port.set(self.requester_port);
        header.requester_system = self.requester_system.0;
        header.transaction_id.set(self.transaction_id);
        let _ = header.write_to_prefix(buf.as_mut_slice());
    }
}

/// Any PDU this crate understands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Pdu {
    /// A LACPDU.
    Lacpdu(Lacpdu),
    /// A Marker PDU.
    Marker(MarkerPdu),
}

impl Pdu {
    /// Parses the PDU of a checked slow-protocols frame.
    pub fn parse(frame: &SlowProtocolsFrame<'_>) -> Result<Self, Error> {
        match frame.subtype() {
            Subtype::Lacp => Ok(Self::Lacpdu(Lacpdu::parse(&LacpduPacket::new_checked(
                frame.payload(),
            )?))),
            Subtype::Marker => Ok(Self::Marker(MarkerPdu::parse(&MarkerPacket::new_checked(
                frame.payload(),
            )?))),
            Subtype::Unknown(n) => Err(Error::UnknownSubtype(n)),
        }
    }

    /// Parses a whole Ethernet frame.
    pub fn parse_frame(frame: &[u8]) -> Result<(MacAddr, Self), Error> {
        let f = SlowProtocolsFrame::new_checked(frame)?;
        Ok((f.src(), Self::parse(&f)?))
    }

    /// Writes the PDU (110 octets).
    pub fn emit(&self, buf: &mut [u8; PDU_LEN]) {
        match self {
            Self::Lacpdu(p) => p.emit(buf),
            Self::Marker(p) => p.emit(buf),
        }
    }
}

/// A whole slow-protocols frame ready to send: fixed size, no allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    bytes: [u8; FRAME_LEN],
}

impl Frame {
    /// Builds the frame: destination 01:80:c2:00:00:02, source `src` (the member's
    /// permanent MAC), EtherType 0x8809, then the PDU.
    pub fn new(src: MacAddr, pdu: &Pdu) -> Self {
        let mut bytes = [0u8; FRAME_LEN];
        let (head, rest) = bytes.split_at_mut(ETHERNET_HEADER_LEN);
        let header = EthernetHeader {
            dst: SLOW_PROTOCOLS_MAC.0,
            src: src.0,
            ethertype: U16::new(SLOW_PROTOCOLS_ETHERTYPE),
        };
        let _ = header.write_to(head);
        if let Ok(body) = <&mut [u8; PDU_LEN]>::try_from(rest) {
            pdu.emit(body);
        }
        Self { bytes }
    }

    /// The frame's octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Pdu::parse_frame(&self.bytes) {
            Ok((src, pdu)) => f
                .debug_struct("Frame")
                .field("src", &src)
                .field("pdu", &pdu)
                .finish(),
            Err(e) => f.debug_struct("Frame").field("invalid", &e).finish(),
        }
    }
}

/// Speed and duplex of a member link as the LACP key encodes them (Linux
/// `bond_3ad.c`): bit 0 full duplex, bits 1..=5 the speed class, bits 6..=15 the user key
/// (`ad_user_port_key`).
pub mod key {
    /// Duplex bit of the key.
    pub const DUPLEX_MASK: u16 = 0x0001;
    /// Speed bits of the key.
    pub const SPEED_MASK: u16 = 0x003e;
    /// User key bits.
    pub const USER_MASK: u16 = 0xffc0;

    /// The speed class Linux puts in key bits 1..=5 for a speed in Mb/s, 0 for an unknown
    /// or unlisted speed.
    pub fn speed_class(speed_mbps: Option<u32>) -> u16 {
        match speed_mbps {
            Some(10) => 2,
            Some(100) => 3,
            Some(1_000) => 4,
            Some(2_500) => 5,
            Some(5_000) => 6,
            Some(10_000) => 7,
            Some(14_000) => 8,
            Some(20_000) => 9,
            Some(25_000) => 10,
            Some(40_000) => 11,
            Some(50_000) => 12,
            Some(56_000) => 13,
            Some(100_000) => 14,
            Some(200_000) => 15,
            Some(400_000) => 16,
            Some(800_000) => 17,
            _ => 0,
        }
    }

    /// Mb/s of a speed class (what Linux multiplies by the port count for `ad_select=bandwidth`).
    pub fn class_mbps(class: u16) -> u32 {
        match class {
            1 => 1,
            2 => 10,
            3 => 100,
            4 => 1_000,
            5 => 2_500,
            6 => 5_000,
            7 => 10_000,
            8 => 14_000,
            9 => 20_000,
            10 => 25_000,
            11 => 40_000,
            12 => 50_000,
            13 => 56_000,
            14 => 100_000,
            15 => 200_000,
            16 => 400_000,
            17 => 800_000,
            _ => 0,
        }
    }

    /// The whole key: `user_key << 6 | speed_class << 1 | full_duplex`.
    pub fn encode(user_key: u16, speed_mbps: Option<u32>, full_duplex: bool) -> u16 {
        ((user_key << 6) & USER_MASK) | (speed_class(speed_mbps) << 1) | u16::from(full_duplex)
    }
}
