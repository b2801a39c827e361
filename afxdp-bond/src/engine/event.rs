//! What the Bond reports ([`Event`]) and sends ([`Transmit`]).

use core::fmt;

use link_monitor::LinkState;

use super::MacAddr;
use super::frame::MAX_CONTROL_FRAME;

/// A request to the I/O layer or a state change, from [`Bond::poll_event`](super::Bond::poll_event).
///
/// Requests (the I/O layer must carry them out on the devices; Linux would call the driver
/// itself): [`SetBondMac`](Self::SetBondMac), [`SetMemberMac`](Self::SetMemberMac),
/// [`SetMemberMtu`](Self::SetMemberMtu), [`SetPromiscuous`](Self::SetPromiscuous),
/// [`JoinMulticast`](Self::JoinMulticast), [`LeaveMulticast`](Self::LeaveMulticast),
/// [`MemberReleased`](Self::MemberReleased). A member's permanent MAC and original MTU are
/// restored on release with `SetMemberMac`/`SetMemberMtu` before `MemberReleased`.
///
/// State changes: the rest.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Give the host side (the bond device) this MAC address: the first member's, or the
    /// new active member's with `fail_over_mac=active`.
    SetBondMac {
        /// The address.
        mac: MacAddr,
    },
    /// Program this MAC address on a member (its receive filter and source address).
    SetMemberMac {
        /// The member.
        member: usize,
        /// The address.
        mac: MacAddr,
    },
    /// Set a member's MTU (the bond's, when it joins; its original one, when it leaves).
    SetMemberMtu {
        /// The member.
        member: usize,
        /// The MTU.
        mtu: u32,
    },
    /// Turn promiscuous reception on or off on a member (balance-alb: the active member
    /// listens for a failed member's clients for 10 s).
    SetPromiscuous {
        /// The member.
        member: usize,
        /// On or off.
        enabled: bool,
    },
    /// Accept frames to this multicast address on a member (802.3ad: the slow-protocols
    /// address `01:80:c2:00:00:02`, as Linux adds to every port).
    JoinMulticast {
        /// The member.
        member: usize,
        /// The group address.
        mac: MacAddr,
    },
    /// Stop accepting frames to this multicast address on a member.
    LeaveMulticast {
        /// The member.
        member: usize,
        /// The group address.
        mac: MacAddr,
    },
    /// The member left the bond; its MAC and MTU restore requests came before this.
    MemberReleased {
        /// The member.
        member: usize,
        /// A last frame to send on it before letting it go (802.3ad: the LACPDU that tells
        /// the partner the port no longer aggregates, as Linux sends on release).
        last_frame: Option<Box<Transmit>>,
    },
    /// A member's link state (`MII Status`) changed.
    MemberLink {
        /// The member.
        member: usize,
        /// The new state.
        state: LinkState,
    },
    /// The active member changed (active-backup, balance-tlb/alb, the LACP fallback; also
    /// the `curr_active_slave` the other modes keep for IGMP and status).
    ActiveMember {
        /// The old one.
        previous: Option<usize>,
        /// The new one.
        current: Option<usize>,
    },
    /// The bond's carrier changed (any member up; in 802.3ad, the active aggregator and
    /// `min_links`).
    Carrier {
        /// The new carrier.
        up: bool,
    },
    /// 802.3ad: the active aggregator changed.
    ActiveAggregator {
        /// Its ID, `None` when there is none.
        id: Option<u16>,
    },
    /// 802.3ad with `lacp_fallback=active-backup`: the fallback started (no partner) or
    /// ended (a partner answers and ports distribute).
    LacpFallback {
        /// Whether the bond now runs as active-backup.
        engaged: bool,
    },
    /// A new [`Plan`](super::Plan) was published: hand [`Bond::plan`](super::Bond::plan)
    /// to the workers.
    PlanChanged {
        /// Its generation.
        generation: u64,
    },
}

/// What a control frame from [`Bond::poll_transmit`](super::Bond::poll_transmit) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransmitKind {
    /// An LACPDU.
    Lacpdu,
    /// A Marker Response.
    MarkerResponse,
    /// An ARP monitor probe.
    ArpProbe,
    /// An NS monitor probe.
    NsProbe,
    /// A balance-tlb/alb learning frame.
    LearningFrame,
    /// A balance-alb client update (ARP reply).
    RlbUpdate,
    /// A gratuitous ARP after a failover.
    GratuitousArp,
    /// An unsolicited neighbour advertisement after a failover.
    UnsolicitedNa,
    /// A host's IGMP or MLD report, sent again after a failover (`resend_igmp`).
    MembershipReport,
}

impl TransmitKind {
    /// Number of kinds.
    pub const COUNT: usize = 9;
    /// Every kind, in counter order.
    pub const ALL: [Self; Self::COUNT] = [
        Self::Lacpdu,
        Self::MarkerResponse,
        Self::ArpProbe,
        Self::NsProbe,
        Self::LearningFrame,
        Self::RlbUpdate,
        Self::GratuitousArp,
        Self::UnsolicitedNa,
        Self::MembershipReport,
    ];

    /// The counter name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Lacpdu => "lacpdu",
            Self::MarkerResponse => "marker_response",
            Self::ArpProbe => "arp_probe",
            Self::NsProbe => "ns_probe",
            Self::LearningFrame => "learning_frame",
            Self::RlbUpdate => "rlb_update",
            Self::GratuitousArp => "gratuitous_arp",
            Self::UnsolicitedNa => "unsolicited_na",
            Self::MembershipReport => "membership_report",
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

/// A control frame to send on a member, built complete from the Ethernet header in a
/// fixed buffer.
#[must_use]
#[derive(Clone)]
pub struct Transmit {
    /// The member to send it on.
    pub member: usize,
    /// What it is.
    pub kind: TransmitKind,
    len: usize,
    buf: [u8; MAX_CONTROL_FRAME],
}

impl Transmit {
    pub(crate) fn new(member: usize, kind: TransmitKind, frame: &[u8]) -> Self {
        let mut buf = [0u8; MAX_CONTROL_FRAME];
        let len = frame.len().min(MAX_CONTROL_FRAME);
        buf[..len].copy_from_slice(&frame[..len]);
        Self {
            member,
            kind,
            len,
            buf,
        }
    }

    /// The frame, from the Ethernet header (no FCS; not padded to 60 bytes, like the
    /// buffers Linux hands to a driver).
    pub fn frame(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl PartialEq for Transmit {
    fn eq(&self, other: &Self) -> bool {
        self.member == other.member && self.kind == other.kind && self.frame() == other.frame()
    }
}

impl Eq for Transmit {}

impl fmt::Debug for Transmit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transmit")
            .field("member", &self.member)
            .field("kind", &self.kind)
            .field("len", &self.len)
            .finish()
    }
}
