//! The balance-tlb / balance-alb state machine: [`Alb`].

use crate::members::{Member, MemberLink, Members};
use crate::options::{Config, LpInterval, Mode, TlbDynamicLb};
use crate::rlb::{ChooseArgs, Chosen, ClientTable, UpdateTarget};
use crate::tlb::{BOND_TLB_REBALANCE_INTERVAL, TLB_HASH_TABLE_SIZE, Tlb};
use crate::wire::{
    ARP_LEN, ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetRepr, MacAddr, NdKind,
    NdMessage, NeighborAdvertRepr, VlanTag, WireError, emit_learning_frame, ethertype, nd_flags,
    simple_hash,
};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, Ipv6Addr};
use core::time::Duration;

/// Linux `RLB_UPDATE_DELAY` (20 ticks of 100 ms): the wait before client updates after the
/// host broadcast an ARP request, and between update rounds.
pub const RLB_UPDATE_DELAY: Duration = Duration::from_secs(2);
/// Linux `RLB_UPDATE_RETRY`: update rounds repeated after a member failed, left or changed
/// its address (so 1 + 3 rounds in all).
pub const RLB_UPDATE_RETRY: u32 = 3;
/// Linux `RLB_PROMISC_TIMEOUT` (100 ticks): how long the active member stays promiscuous
/// after it was taught a failed member's address.
pub const RLB_PROMISC_TIMEOUT: Duration = Duration::from_secs(10);
/// Linux `RLB_ARP_BURST_SIZE`: frames sent per client update.
pub const RLB_ARP_BURST_SIZE: usize = 2;
/// Linux `BOND_TLB_REBALANCE_INTERVAL` (100 ticks) as a duration.
pub const TLB_REBALANCE_INTERVAL: Duration = Duration::from_secs(BOND_TLB_REBALANCE_INTERVAL);

/// Largest member index accepted (a bound on the member table, not a Linux limit).
pub const MAX_MEMBER_INDEX: usize = 1023;
/// Largest number of VLANs the bond may have (one per VLAN id).
pub const MAX_VLANS: usize = 4095;
/// Bound on queued control frames; beyond it new ones are dropped and counted.
pub const MAX_PENDING_TRANSMITS: usize = 8192;
/// Bound on queued events; beyond it the oldest is dropped and counted.
pub const MAX_PENDING_EVENTS: usize = 1024;
/// Capacity of a [`Transmit`] frame buffer: the largest frame the crate builds is a tagged
/// IPv6 neighbour advertisement (90 bytes).
pub const FRAME_CAPACITY: usize = 96;

/// A caller's mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No member has this index.
    #[error("no member with index {0}")]
    NoSuchMember(usize),
    /// A member already has this index.
    #[error("member index {0} is already in use")]
    MemberExists(usize),
    /// Member indices go up to [`MAX_MEMBER_INDEX`].
    #[error("member index {0} is larger than {MAX_MEMBER_INDEX}")]
    MemberIndexTooLarge(usize),
    /// The bond's address must be a valid unicast address (Linux `-EADDRNOTAVAIL`).
    #[error("bond MAC {0} is not a valid unicast address")]
    InvalidBondMac(MacAddr),
    /// The new member's address is the bond's and no other member has a free address to
    /// give it (Linux `alb_handle_addr_collision_on_attach` fails with `-EFAULT`).
    #[error("member {0}: its address is in use by the bond and no free address is left")]
    NoFreeMac(usize),
    /// A VLAN id above 4095 or a TPID other than 0x8100/0x88a8.
    #[error("invalid VLAN (tpid {tpid:#06x}, id {vid})")]
    InvalidVlan {
        /// The TPID given.
        tpid: u16,
        /// The id given.
        vid: u16,
    },
    /// More than [`MAX_VLANS`] VLANs.
    #[error("more than {MAX_VLANS} VLANs")]
    TooManyVlans,
}

/// A VLAN device directly on the bond (Linux walks the bond's upper devices): learning
/// frames are also sent tagged for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Vlan {
    /// 0x8100 (802.1Q) or 0x88a8 (802.1ad).
    pub tpid: u16,
    /// VLAN id.
    pub vid: u16,
    /// The VLAN device's own address, if it has one; `None` if it uses the bond's
    /// (Linux `NET_ADDR_STOLEN`), in which case each member's address is sent.
    pub mac: Option<MacAddr>,
}

/// What the caller must do to a member (Linux would call the driver; this crate never
/// does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Event {
    /// Program `mac` as the member's unicast (receive filter) address. In balance-alb it
    /// is also the member's source address (Linux `dev_set_mac_address`); in balance-tlb
    /// the members keep sending with their own addresses (see [`Alb::member`]) while the
    /// hardware carries the bond's, as Linux arranges it.
    SetMemberMac {
        /// Member index.
        member: usize,
        /// Address to program.
        mac: MacAddr,
    },
    /// Turn promiscuous reception on or off on a member (Linux `dev_set_promiscuity`).
    SetPromiscuous {
        /// Member index.
        member: usize,
        /// On or off.
        enabled: bool,
    },
}

/// What a control frame from [`Alb::poll_transmit`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransmitKind {
    /// A learning frame (Linux `alb_send_lp_vid`), so the switch learns an address on the
    /// member's port.
    LearningFrame,
    /// An ARP reply telling an IPv4 client which address to use for the bond (Linux
    /// `rlb_update_client`).
    ArpUpdate,
    /// An unsolicited neighbour advertisement telling an IPv6 client the same (extension).
    NeighborAdvertUpdate,
}

/// A control frame to send on a member.
#[derive(Clone)]
#[must_use]
pub struct Transmit {
    /// Member to send on.
    pub member: usize,
    /// What it is.
    pub kind: TransmitKind,
    buf: [u8; FRAME_CAPACITY],
    len: usize,
}

impl Transmit {
    /// The frame, from the Ethernet header on (no FCS; like Linux, ARP frames are not
    /// padded to 60 bytes, the NIC pads them).
    pub fn frame(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl core::fmt::Debug for Transmit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Transmit")
            .field("member", &self.member)
            .field("kind", &self.kind)
            .field("frame", &self.frame())
            .finish()
    }
}

/// Why an outgoing frame is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxDrop {
    /// Shorter than an Ethernet header.
    Runt,
    /// No member chosen and no active member.
    NoActiveMember,
    /// The chosen member cannot transmit (Linux then clears its TLB entries).
    MemberCannotTx,
}

/// The decision for one outgoing frame ([`Alb::select_tx`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum TxDecision {
    /// Send the (possibly rewritten) frame on `member`.
    Send {
        /// Member index.
        member: usize,
        /// The source address written into the Ethernet header, if it was rewritten (the
        /// member is not the active one; Linux `bond_do_alb_xmit`).
        src_mac: Option<MacAddr>,
    },
    /// Drop the frame.
    Drop(TxDrop),
}

/// Counters: the transmit decisions, every ignored or malformed frame by reason, and what
/// RLB did. Plain `u64`s the caller reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// Frames placed by the TLB table or the hash.
    pub tx_balanced: u64,
    /// Frames sent on the active member by rule (multicast, non-IP, ...).
    pub tx_to_active: u64,
    /// Frames placed by RLB (the host's ARP, or ND with the IPv6 extension).
    pub tx_rlb: u64,
    /// Dropped: shorter than an Ethernet header.
    pub tx_drop_runt: u64,
    /// Dropped: no member to send on.
    pub tx_drop_no_active: u64,
    /// Dropped: the chosen member cannot transmit.
    pub tx_drop_member_cannot_tx: u64,
    /// Host ARP sent unchanged on the active member: shorter than 28 bytes.
    pub host_arp_truncated: u64,
    /// Host ARP sent unchanged: not Ethernet/IPv4 (Linux would still read it as such).
    pub host_arp_unsupported: u64,
    /// Host ARP sent unchanged: its sender address is no member's (a bridged host's ARP;
    /// Linux `bond_slave_has_mac_rcu` check).
    pub host_arp_foreign_sender: u64,
    /// Host ARP sent unchanged: neither request nor reply.
    pub host_arp_other_opcode: u64,
    /// Host ARP replies placed on a client's member.
    pub host_arp_replies: u64,
    /// Host ARP requests (these schedule client updates).
    pub host_arp_requests: u64,
    /// Host ND sent on the active member unchanged (extension): malformed.
    pub host_nd_malformed: u64,
    /// Host ND sent unchanged: no link-layer address option.
    pub host_nd_no_lla: u64,
    /// Host ND sent unchanged: the link-layer address is no member's.
    pub host_nd_foreign_sender: u64,
    /// Host ND unchanged: sent to a multicast group (unsolicited NA) or from `::` (DAD).
    pub host_nd_multicast: u64,
    /// Host ND rewritten and placed on a client's member.
    pub host_nd_rewritten: u64,
    /// Received frames shorter than an Ethernet header (or tag).
    pub rx_runt: u64,
    /// Received ARP shorter than 28 bytes.
    pub rx_arp_truncated: u64,
    /// Received ARP with a hardware type other than Ethernet.
    pub rx_arp_bad_hardware_type: u64,
    /// Received ARP with a protocol type other than IPv4.
    pub rx_arp_bad_protocol_type: u64,
    /// Received ARP with a hardware address length other than 6.
    pub rx_arp_bad_hardware_len: u64,
    /// Received ARP with a protocol address length other than 4.
    pub rx_arp_bad_protocol_len: u64,
    /// Received ARP sent from one of the bond's own addresses (a reflection of our own
    /// frame; ignored, which Linux does not do).
    pub rx_arp_own_sender: u64,
    /// Received ARP requests read.
    pub rx_arp_requests: u64,
    /// Received ARP replies read.
    pub rx_arp_replies: u64,
    /// Received ARP with another operation (only the purge applies).
    pub rx_arp_other_opcode: u64,
    /// Received ND too short (extension).
    pub rx_nd_truncated: u64,
    /// Received ND with a bad checksum.
    pub rx_nd_bad_checksum: u64,
    /// Received ND with a hop limit other than 255.
    pub rx_nd_bad_hop_limit: u64,
    /// Received ND otherwise malformed (version, code, option length).
    pub rx_nd_malformed: u64,
    /// Received ND sent from one of the bond's own addresses.
    pub rx_nd_own_sender: u64,
    /// Received ND messages read.
    pub rx_nd: u64,
    /// Clients whose address a received reply (or NA) changed.
    pub rlb_client_mac_learnt: u64,
    /// Clients forgotten because another host now uses the server address
    /// (`rlb_purge_src_ip`).
    pub rlb_clients_purged: u64,
    /// Clients evicted by a new client with the same table index.
    pub rlb_clients_evicted: u64,
    /// Update rounds run.
    pub rlb_update_rounds: u64,
    /// Control frames not sent because their member left or cannot transmit by the time
    /// they were polled.
    pub tx_control_skipped: u64,
    /// Control frames dropped because the queue was full.
    pub tx_control_overflow: u64,
    /// Events dropped because the queue was full.
    pub event_overflow: u64,
}

/// A member as seen by [`Alb::member`] and [`Alb::members`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberStatus {
    /// Member index.
    pub index: usize,
    /// Permanent address.
    pub perm_mac: MacAddr,
    /// Current address (Linux `dev_addr`): the source address it sends with.
    pub mac: MacAddr,
    /// Speed in Mb/s.
    pub speed_mbps: u32,
    /// Link state.
    pub link: MemberLink,
    /// TLB load, bytes per second (Linux `SLAVE_TLB_INFO(slave).load`).
    pub tlb_load: u64,
    /// TLB table entries assigned to it.
    pub tlb_entries: usize,
    /// RLB clients (IPv4 and IPv6) assigned to it.
    pub rlb_clients: usize,
}

/// An RLB client entry ([`Alb::clients`], [`Alb::clients6`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientStatus<A> {
    /// Table index (the XOR of the client address's bytes).
    pub index: u8,
    /// The bond's address the client talks to (Linux `ip_src`).
    pub server_ip: A,
    /// The client's address (Linux `ip_dst`).
    pub client_ip: A,
    /// The client's MAC (broadcast or zero while unknown).
    pub client_mac: MacAddr,
    /// The member whose address the client is given.
    pub member: Option<usize>,
    /// An update is pending.
    pub ntt: bool,
    /// The VLAN the client was seen on.
    pub vlan: Option<VlanTag>,
}

/// A TLB table entry ([`Alb::tlb_entries`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlbEntryStatus {
    /// Table index (the key).
    pub index: u8,
    /// Assigned member.
    pub member: Option<usize>,
    /// Bytes sent since the last rebalance.
    pub tx_bytes: u64,
    /// Load of the previous interval, bytes per second plus one.
    pub load_history: u64,
}

/// A control frame waiting for [`Alb::poll_transmit`], built when polled.
#[derive(Debug, Clone, Copy)]
enum Pending {
    Learning {
        member: usize,
        mac: MacAddr,
        vlan: Option<VlanTag>,
    },
    Arp {
        member_mac: MacAddr,
        t: UpdateTarget<4>,
    },
    Na {
        member_mac: MacAddr,
        t: UpdateTarget<16>,
    },
}

#[derive(Debug, Clone)]
struct Rlb {
    v4: ClientTable<4>,
    v6: Option<ClientTable<16>>,
    /// Linux `rx_slave`: the last member given a client.
    rx_slave: Option<usize>,
    /// Linux `rx_ntt`; `update_due` is set exactly when it is, while the bond has a member.
    rx_ntt: bool,
    update_due: Option<Duration>,
    /// The part of `rlb_update_delay_counter` still to run when `rx_ntt` is next set (or
    /// when a member joins an empty bond with `rx_ntt` set): Linux counts it down only on
    /// ticks where `rx_ntt` is set and the bond has a slave.
    update_delay: Duration,
    /// Linux `rlb_update_retry_counter`.
    retry: u32,
    /// Linux `rlb_rebalance` flag, as the time it was raised.
    rebalance_due: Option<Duration>,
    /// Linux `primary_is_promisc`: the member made promiscuous and when that ends.
    promisc: Option<(usize, Duration)>,
    /// IPv6: R flag of the host's last neighbour advertisement.
    host_is_router: bool,
}

impl Rlb {
    fn new(ipv6: bool) -> Self {
        Self {
            v4: ClientTable::new(),
            v6: ipv6.then(ClientTable::new),
            rx_slave: None,
            rx_ntt: false,
            update_due: None,
            update_delay: Duration::ZERO,
            retry: 0,
            rebalance_due: None,
            promisc: None,
            host_is_router: false,
        }
    }

    fn set_rx_ntt(&mut self, now: Duration) {
        if !self.rx_ntt {
            self.rx_ntt = true;
            self.update_due = Some(now.saturating_add(self.update_delay));
        }
    }

    /// `rlb_update_delay_counter = RLB_UPDATE_DELAY`.
    fn set_update_delay(&mut self, now: Duration) {
        self.update_delay = RLB_UPDATE_DELAY;
        if self.rx_ntt {
            self.update_due = Some(now.saturating_add(RLB_UPDATE_DELAY));
        }
    }
}

/// Adaptive load balancing for one bond in balance-tlb or balance-alb, as Linux
/// `bond_alb.c` does it. See the crate documentation for the model and the deviations.
///
/// Methods come in four groups: getters; inputs (`select_tx`, `handle_host_arp`,
/// `handle_rx`, `handle_timeout`); mutators (members, links, the active member, the bond
/// address, VLANs, `lp_interval`); outputs (`poll_event`, `poll_transmit`,
/// `poll_timeout`). After any input or mutator, drain [`poll_event`](Self::poll_event)
/// (apply address and promiscuity changes first), then
/// [`poll_transmit`](Self::poll_transmit), then ask [`poll_timeout`](Self::poll_timeout)
/// for the next deadline. `now` must not go backwards.
#[derive(Debug, Clone)]
pub struct Alb {
    config: Config,
    members: Members,
    tlb: Tlb,
    rlb: Option<Rlb>,
    vlans: Vec<Vlan>,
    lp_due: Option<Duration>,
    rebalance_due: Option<Duration>,
    pending: VecDeque<Pending>,
    events: VecDeque<Event>,
    counters: Counters,
}

/// What a frame looks like to the transmit path.
struct Classified {
    dst: MacAddr,
    ethertype: u16,
    l3: usize,
    vlan: Option<VlanTag>,
}

impl Alb {
    /// A machine with no members. Errors if the bond address is not a valid unicast
    /// address.
    pub fn new(config: Config) -> Result<Self, Error> {
        if !config.bond_mac.is_valid_unicast() {
            return Err(Error::InvalidBondMac(config.bond_mac));
        }
        let rlb = (config.mode == Mode::BalanceAlb).then(|| Rlb::new(config.rlb_ipv6));
        Ok(Self {
            members: Members::new(config.bond_mac),
            tlb: Tlb::new(),
            rlb,
            vlans: Vec::new(),
            lp_due: None,
            rebalance_due: None,
            pending: VecDeque::with_capacity(64),
            events: VecDeque::with_capacity(16),
            counters: Counters::default(),
            config,
        })
    }

    // ----------------------------------------------------------------- getters

    /// The configuration (with the current `lp_interval` and bond address).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The bond's address.
    pub fn bond_mac(&self) -> MacAddr {
        self.members.bond_mac
    }

    /// The active member (Linux `curr_active_slave`).
    pub fn active(&self) -> Option<usize> {
        self.members.active
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The member made promiscuous after a failure, while it is.
    pub fn promiscuous_member(&self) -> Option<usize> {
        self.rlb.as_ref().and_then(|r| r.promisc.map(|(m, _)| m))
    }

    /// Bytes sent on the active member by default since the last rebalance (Linux
    /// `unbalanced_load`).
    pub fn unbalanced_load(&self) -> u64 {
        self.tlb.unbalanced_load
    }

    /// The VLANs learning frames are sent on.
    pub fn vlans(&self) -> &[Vlan] {
        &self.vlans
    }

    fn member_status(&self, i: usize, m: &Member) -> MemberStatus {
        let rlb_clients = self.rlb.as_ref().map_or(0, |r| {
            r.v4.used().filter(|(_, c)| c.member == Some(i)).count()
                + r.v6
                    .as_ref()
                    .map_or(0, |t| t.used().filter(|(_, c)| c.member == Some(i)).count())
        });
        MemberStatus {
            index: i,
            perm_mac: m.perm_mac,
            mac: m.mac,
            speed_mbps: m.speed,
            link: m.link,
            tlb_load: m.tlb_load,
            tlb_entries: self
                .tlb
                .entries
                .iter()
                .filter(|e| e.member == Some(i))
                .count(),
            rlb_clients,
        }
    }

    /// One member's status.
    pub fn member(&self, index: usize) -> Option<MemberStatus> {
        self.members
            .get(index)
            .map(|m| self.member_status(index, m))
    }

    /// Every member's status, in enslave order.
    pub fn members(&self) -> impl Iterator<Item = MemberStatus> + '_ {
        self.members.iter().map(|(i, m)| self.member_status(i, m))
    }

    /// The IPv4 RLB client table, most recent first (empty in balance-tlb).
    pub fn clients(&self) -> impl Iterator<Item = ClientStatus<Ipv4Addr>> + '_ {
        self.rlb.iter().flat_map(|r| {
            r.v4.used().map(|(i, c)| ClientStatus {
                index: i,
                server_ip: Ipv4Addr::from(c.server_ip),
                client_ip: Ipv4Addr::from(c.client_ip),
                client_mac: c.client_mac,
                member: c.member,
                ntt: c.ntt,
                vlan: c.vlan,
            })
        })
    }

    /// The IPv6 client table of the extension (empty unless enabled).
    pub fn clients6(&self) -> impl Iterator<Item = ClientStatus<Ipv6Addr>> + '_ {
        self.rlb.iter().flat_map(|r| {
            r.v6.iter().flat_map(|t| {
                t.used().map(|(i, c)| ClientStatus {
                    index: i,
                    server_ip: Ipv6Addr::from(c.server_ip),
                    client_ip: Ipv6Addr::from(c.client_ip),
                    client_mac: c.client_mac,
                    member: c.member,
                    ntt: c.ntt,
                    vlan: c.vlan,
                })
            })
        })
    }

    /// The 256 TLB entries.
    pub fn tlb_entries(&self) -> impl Iterator<Item = TlbEntryStatus> + '_ {
        self.tlb
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| TlbEntryStatus {
                index: i as u8,
                member: e.member,
                tx_bytes: e.tx_bytes,
                load_history: e.load_history,
            })
    }

    // --------------------------------------------------------------- helpers

    fn dynamic(&self) -> bool {
        self.config.tlb_dynamic_lb == TlbDynamicLb::On
    }

    /// Linux runs `bond_alb_monitor` in balance-alb, and in balance-tlb only with
    /// `tlb_dynamic_lb=1`.
    fn monitor_runs(&self) -> bool {
        self.config.mode == Mode::BalanceAlb || self.dynamic()
    }

    fn push_event(&mut self, e: Event) {
        if self.events.len() >= MAX_PENDING_EVENTS {
            self.events.pop_front();
            self.counters.event_overflow += 1;
        }
        self.events.push_back(e);
    }

    fn push_pending(&mut self, p: Pending) {
        if self.pending.len() >= MAX_PENDING_TRANSMITS {
            self.counters.tx_control_overflow += 1;
            return;
        }
        self.pending.push_back(p);
    }

    /// Linux `alb_send_learning_packets`: one untagged frame, and one per VLAN on the bond.
    fn send_learning(&mut self, member: usize, mac: MacAddr) {
        self.push_pending(Pending::Learning {
            member,
            mac,
            vlan: None,
        });
        for k in 0..self.vlans.len() {
            let Some(v) = self.vlans.get(k).copied() else {
                break;
            };
            self.push_pending(Pending::Learning {
                member,
                mac: v.mac.unwrap_or(mac),
                vlan: Some(VlanTag {
                    tpid: v.tpid,
                    tci: v.vid,
                }),
            });
        }
    }

    fn queue_arp_update(&mut self, t: UpdateTarget<4>) {
        let Some(member_mac) = self.members.mac(t.member) else {
            return;
        };
        for _ in 0..RLB_ARP_BURST_SIZE {
            self.push_pending(Pending::Arp { member_mac, t });
        }
    }

    fn queue_na_update(&mut self, t: UpdateTarget<16>) {
        let Some(member_mac) = self.members.mac(t.member) else {
            return;
        };
        for _ in 0..RLB_ARP_BURST_SIZE {
            self.push_pending(Pending::Na { member_mac, t });
        }
    }

    /// Linux `alb_set_slave_mac_addr`: in balance-alb the hardware address changes too; in
    /// balance-tlb only the address the member sends with.
    fn set_member_mac(&mut self, member: usize, mac: MacAddr) {
        let Some(m) = self.members.get_mut(member) else {
            return;
        };
        m.mac = mac;
        if self.config.mode == Mode::BalanceAlb {
            self.push_event(Event::SetMemberMac { member, mac });
        }
    }

    fn tlb_clear(&mut self, member: usize, save_load: bool) {
        self.tlb.clear_member(&mut self.members, member, save_load);
    }

    /// Linux `rlb_req_update_slave_clients`.
    fn rlb_req_update_member_clients(&mut self, now: Duration, member: usize) {
        let Some(r) = self.rlb.as_mut() else { return };
        let mut any = r.v4.req_update_member_clients(member);
        if let Some(t) = r.v6.as_mut() {
            any |= t.req_update_member_clients(member);
        }
        if any {
            r.rx_ntt_and_retry_at(now);
        }
    }

    /// Linux `rlb_teach_disabled_mac_on_primary`.
    fn rlb_teach_disabled_mac_on_primary(&mut self, now: Duration, mac: MacAddr) {
        let Some(active) = self.members.active else {
            return;
        };
        let Some(r) = self.rlb.as_mut() else { return };
        let ends = now.saturating_add(RLB_PROMISC_TIMEOUT);
        let newly = r.promisc.is_none();
        r.promisc = Some((r.promisc.map_or(active, |(m, _)| m), ends));
        if newly {
            self.push_event(Event::SetPromiscuous {
                member: active,
                enabled: true,
            });
        }
        self.send_learning(active, mac);
    }

    /// Linux `rlb_clear_slave` (the member is no longer a receive target).
    fn rlb_clear_member(&mut self, now: Duration, member: usize, member_mac: MacAddr) {
        let Some(r) = self.rlb.as_mut() else { return };
        let mut moved = r.v4.clear_member(&self.members, &mut r.rx_slave, member);
        if let Some(t) = r.v6.as_mut() {
            moved |= t.clear_member(&self.members, &mut r.rx_slave, member);
        }
        if moved {
            r.rx_ntt_and_retry_at(now);
        }
        if self.members.active != Some(member) {
            self.rlb_teach_disabled_mac_on_primary(now, member_mac);
        }
    }

    /// Linux `alb_fasten_mac_swap`.
    fn fasten_mac_swap(&mut self, now: Duration, s1: usize, s2: usize) {
        let rlb = self.rlb.is_some();
        let c1 = self.members.can_tx(s1);
        let c2 = self.members.can_tx(s2);
        let mut disabled = None;
        for (s, c) in [(s1, c1), (s2, c2)] {
            if c {
                if let Some(mac) = self.members.mac(s) {
                    self.send_learning(s, mac);
                }
                if rlb {
                    self.rlb_req_update_member_clients(now, s);
                }
            } else {
                disabled = Some(s);
            }
        }
        if rlb && c1 != c2 {
            if let Some(mac) = disabled.and_then(|d| self.members.mac(d)) {
                self.rlb_teach_disabled_mac_on_primary(now, mac);
            }
        }
    }

    /// Linux `alb_swap_mac_addr`.
    fn swap_mac(&mut self, s1: usize, s2: usize) {
        let (Some(m1), Some(m2)) = (self.members.mac(s1), self.members.mac(s2)) else {
            return;
        };
        if s1 == s2 {
            return;
        }
        self.set_member_mac(s1, m2);
        self.set_member_mac(s2, m1);
    }

    // ---------------------------------------------------------------- mutators

    /// Adds a member (Linux `bond_enslave` for these modes and `bond_alb_init_slave`): it
    /// gets its permanent address, or another free one if that is the bond's or another
    /// member's; a TLB and RLB rebalance is ordered at once. Emits the address to program
    /// ([`Event::SetMemberMac`]: the member's own in balance-alb, the bond's in
    /// balance-tlb). Call [`set_active`](Self::set_active) afterwards as the engine's
    /// active selection decides.
    pub fn add_member(
        &mut self,
        now: Duration,
        index: usize,
        perm_mac: MacAddr,
        speed_mbps: u32,
        link: MemberLink,
    ) -> Result<(), Error> {
        if index > MAX_MEMBER_INDEX {
            return Err(Error::MemberIndexTooLarge(index));
        }
        if self.members.contains(index) {
            return Err(Error::MemberExists(index));
        }
        let bond_mac = self.members.bond_mac;
        // alb_handle_addr_collision_on_attach, computed before anything is changed.
        let mut mac = perm_mac;
        if !self.members.is_empty() {
            let collides = if perm_mac != bond_mac {
                if self.members.has_mac(perm_mac).is_some() {
                    mac = bond_mac;
                    true
                } else {
                    false
                }
            } else {
                true
            };
            if collides {
                let mut has_bond_addr = self.members.active;
                let mut free = None;
                for (i, m) in self.members.iter() {
                    if self.members.has_mac(m.perm_mac).is_none() {
                        free = Some(m.perm_mac);
                        break;
                    }
                    if has_bond_addr.is_none() && m.mac == bond_mac {
                        has_bond_addr = Some(i);
                    }
                }
                if let Some(f) = free {
                    mac = f;
                } else if has_bond_addr.is_some() {
                    return Err(Error::NoFreeMac(index));
                }
            }
        }
        let first = self.members.is_empty();
        self.members.attach(
            index,
            Member {
                perm_mac,
                mac,
                speed: speed_mbps,
                link,
                tlb_load: 0,
            },
        );
        // bond_enslave gives every member the bond's address, then in balance-alb
        // alb_set_slave_mac_addr gives it its own; in balance-tlb only the sending
        // address changes and the hardware keeps the bond's.
        let hw = match self.config.mode {
            Mode::BalanceAlb => mac,
            Mode::BalanceTlb => bond_mac,
        };
        self.push_event(Event::SetMemberMac {
            member: index,
            mac: hw,
        });
        if self.monitor_runs() {
            if first {
                self.lp_due = Some(now.saturating_add(self.config.lp_interval.duration()));
            }
            // "order a rebalance ASAP"
            self.rebalance_due = Some(now);
        }
        if let Some(r) = self.rlb.as_mut() {
            r.rebalance_due = Some(now);
            if first && r.rx_ntt {
                // The update round left pending when the last member went resumes with the
                // delay it had left (Linux's monitor stops counting while there is no slave).
                r.update_due = Some(now.saturating_add(r.update_delay));
            }
        }
        Ok(())
    }

    /// Removes a member (Linux `__bond_release_one` for these modes: the active member is
    /// first unset, then `bond_alb_deinit_slave`), moving its flows and clients to other
    /// members and giving its permanent address back ([`Event::SetMemberMac`]). If it was
    /// the active member, call [`set_active`](Self::set_active) with the new one after.
    pub fn remove_member(&mut self, now: Duration, index: usize) -> Result<(), Error> {
        if !self.members.contains(index) {
            return Err(Error::NoSuchMember(index));
        }
        if self.members.active == Some(index) {
            self.set_active(now, None)?;
        }
        let Some(mut gone) = self.members.detach(index) else {
            return Err(Error::NoSuchMember(index));
        };
        // alb_change_hw_addr_on_detach
        if !self.members.is_empty()
            && gone.perm_mac != gone.mac
            && gone.perm_mac != self.members.bond_mac
        {
            if let Some(found) = self.members.has_mac(gone.perm_mac) {
                let gone_can_tx = gone.link.can_tx();
                self.set_member_mac(found, gone.mac);
                gone.mac = gone.perm_mac;
                // alb_fasten_mac_swap(gone, found): the departing member's own frames are
                // not sent (it is no longer in the table).
                let found_can_tx = self.members.can_tx(found);
                if gone_can_tx {
                    self.rlb_req_update_member_clients(now, index);
                }
                if found_can_tx {
                    if let Some(mac) = self.members.mac(found) {
                        self.send_learning(found, mac);
                    }
                    self.rlb_req_update_member_clients(now, found);
                }
                if self.rlb.is_some() && gone_can_tx != found_can_tx {
                    let disabled_mac = if gone_can_tx {
                        self.members.mac(found)
                    } else {
                        Some(gone.mac)
                    };
                    if let Some(mac) = disabled_mac {
                        self.rlb_teach_disabled_mac_on_primary(now, mac);
                    }
                }
            }
        }
        self.tlb.clear_member(&mut self.members, index, false);
        if let Some(r) = self.rlb.as_mut() {
            r.rx_slave = None;
        }
        self.rlb_clear_member(now, index, gone.mac);
        self.push_event(Event::SetMemberMac {
            member: index,
            mac: gone.perm_mac,
        });
        if self.members.is_empty() {
            self.lp_due = None;
            self.rebalance_due = None;
            if let Some(r) = self.rlb.as_mut() {
                // Nothing runs without a member: keep what is left of a pending update
                // round's delay for when one joins, instead of a deadline that would be in
                // the past by then.
                if let Some(due) = r.update_due.take() {
                    r.update_delay = due.saturating_sub(now);
                }
                if let Some((m, _)) = r.promisc.take() {
                    self.events.push_back(Event::SetPromiscuous {
                        member: m,
                        enabled: false,
                    });
                }
            }
        }
        Ok(())
    }

    /// A member's link state changed (Linux `bond_alb_handle_link_change` when it commits
    /// `BOND_LINK_DOWN` or `BOND_LINK_UP`). Entering `Down` moves its TLB entries and RLB
    /// clients away and teaches its address to the active member (promiscuous for 10 s);
    /// entering `Up` orders a TLB and RLB rebalance at once. When the active member goes
    /// `Down`, choose the new one right after ([`set_active`](Self::set_active)), as Linux
    /// does in the same link commit: until then the active member is still the fallback.
    pub fn set_link(&mut self, now: Duration, index: usize, link: MemberLink) -> Result<(), Error> {
        let Some(m) = self.members.get_mut(index) else {
            return Err(Error::NoSuchMember(index));
        };
        let old = m.link;
        m.link = link;
        let mac = m.mac;
        if old == link {
            return Ok(());
        }
        match link {
            MemberLink::Down => {
                self.tlb_clear(index, false);
                if self.rlb.is_some() {
                    self.rlb_clear_member(now, index, mac);
                }
            }
            MemberLink::Up => {
                if self.monitor_runs() {
                    self.rebalance_due = Some(now);
                }
                if let Some(r) = self.rlb.as_mut() {
                    r.rebalance_due = Some(now);
                }
            }
            MemberLink::Fail | MemberLink::Back => {}
        }
        Ok(())
    }

    /// A member's speed changed (Mb/s; ethtool). Used for new TLB assignments and the
    /// RLB choice of the fastest members.
    pub fn set_speed(&mut self, index: usize, speed_mbps: u32) -> Result<(), Error> {
        let m = self
            .members
            .get_mut(index)
            .ok_or(Error::NoSuchMember(index))?;
        m.speed = speed_mbps;
        Ok(())
    }

    /// The engine chose a new active member (Linux `bond_alb_handle_active_change`): the
    /// old one leaves promiscuous mode; the new one takes the bond's address by swapping
    /// addresses with the member that had it, and learning frames and client updates
    /// follow.
    pub fn set_active(&mut self, now: Duration, new: Option<usize>) -> Result<(), Error> {
        if let Some(n) = new {
            if !self.members.contains(n) {
                return Err(Error::NoSuchMember(n));
            }
        }
        let cur = self.members.active;
        if cur == new {
            return Ok(());
        }
        if cur.is_some() {
            if let Some(r) = self.rlb.as_mut() {
                if let Some((m, _)) = r.promisc.take() {
                    self.push_event(Event::SetPromiscuous {
                        member: m,
                        enabled: false,
                    });
                }
            }
        }
        self.members.active = new;
        let Some(new) = new else {
            return Ok(());
        };
        if self.members.is_empty() {
            return Ok(());
        }
        let bond_mac = self.members.bond_mac;
        let swap = cur.or_else(|| self.members.has_mac(bond_mac));
        if let Some(s) = swap {
            self.tlb_clear(s, true);
        }
        self.tlb_clear(new, true);
        if self.config.mode == Mode::BalanceTlb {
            // The new active member must receive the bond's address in hardware.
            self.push_event(Event::SetMemberMac {
                member: new,
                mac: bond_mac,
            });
        }
        match swap {
            Some(s) => {
                self.swap_mac(s, new);
                self.fasten_mac_swap(now, s, new);
            }
            None => {
                self.set_member_mac(new, bond_mac);
                self.send_learning(new, bond_mac);
            }
        }
        Ok(())
    }

    /// The bond's address changed (Linux `bond_alb_set_mac_address`).
    pub fn set_bond_mac(&mut self, now: Duration, mac: MacAddr) -> Result<(), Error> {
        if !mac.is_valid_unicast() {
            return Err(Error::InvalidBondMac(mac));
        }
        if self.config.mode == Mode::BalanceTlb {
            // alb_set_mac_address: every member's hardware takes the new address.
            let order: Vec<usize> = self.members.order().to_vec();
            for i in order {
                self.push_event(Event::SetMemberMac { member: i, mac });
            }
        }
        self.members.bond_mac = mac;
        self.config.bond_mac = mac;
        let Some(active) = self.members.active else {
            return Ok(());
        };
        match self.members.has_mac(mac) {
            Some(s) => {
                self.swap_mac(s, active);
                self.fasten_mac_swap(now, s, active);
            }
            None => {
                self.set_member_mac(active, mac);
                self.send_learning(active, mac);
                self.rlb_req_update_member_clients(now, active);
            }
        }
        Ok(())
    }

    /// Changes `lp_interval`; the next learning frames go one new interval after the
    /// last ones (at once if that is past).
    pub fn set_lp_interval(&mut self, now: Duration, lp_interval: LpInterval) {
        let old = self.config.lp_interval.duration();
        self.config.lp_interval = lp_interval;
        if let Some(due) = self.lp_due {
            let last = due.saturating_sub(old);
            self.lp_due = Some(last.saturating_add(lp_interval.duration()).max(now));
        }
    }

    /// Sets the VLANs on the bond. Clients on a VLAN that is removed are forgotten (Linux
    /// `bond_alb_clear_vlan`).
    pub fn set_vlans(&mut self, vlans: &[Vlan]) -> Result<(), Error> {
        if vlans.len() > MAX_VLANS {
            return Err(Error::TooManyVlans);
        }
        for v in vlans {
            if v.vid > 4095 || (v.tpid != ethertype::VLAN && v.tpid != ethertype::QINQ) {
                return Err(Error::InvalidVlan {
                    tpid: v.tpid,
                    vid: v.vid,
                });
            }
        }
        let removed: Vec<u16> = self
            .vlans
            .iter()
            .filter(|o| !vlans.iter().any(|n| n.vid == o.vid))
            .map(|o| o.vid)
            .collect();
        if let Some(r) = self.rlb.as_mut() {
            for vid in removed {
                r.v4.clear_vlan(vid);
                if let Some(t) = r.v6.as_mut() {
                    t.clear_vlan(vid);
                }
            }
        }
        self.vlans = vlans.to_vec();
        Ok(())
    }

    // ------------------------------------------------------------------ inputs

    /// Linux `tlb_choose_channel`: the member for TLB key `hash_index`, counting `len`
    /// bytes on the entry; `None` if no member can transmit. [`select_tx`](Self::select_tx)
    /// uses it; it is public for callers that compute keys themselves.
    pub fn tlb_choose_channel(&mut self, hash_index: u8, len: u64) -> Option<usize> {
        self.tlb.choose(&mut self.members, hash_index, len)
    }

    fn classify(frame: &[u8]) -> Option<Classified> {
        let eth = EthernetFrame::new_checked(frame).ok()?;
        Some(Classified {
            dst: eth.dst(),
            ethertype: eth.ethertype(),
            l3: eth.header_len(),
            vlan: eth.vlan(),
        })
    }

    /// Linux `alb_determine_nd`: true for an NS or NA, and for a packet too short to tell.
    fn determine_nd(l3: &[u8]) -> bool {
        if l3.len() < 40 {
            return true;
        }
        if l3[6] != 58 {
            return false;
        }
        match l3.get(40) {
            Some(&t) if l3.len() >= 48 => t == 135 || t == 136,
            _ => true,
        }
    }

    /// Chooses the member for a frame the host sends on the bond (Linux
    /// `bond_tlb_xmit`/`bond_alb_xmit`: `bond_xmit_{tlb,alb}_slave_get` then
    /// `bond_do_alb_xmit`), rewriting the frame in place where Linux does: the source
    /// address when the member is not the active one, and in balance-alb the host's ARP
    /// (see [`handle_host_arp`](Self::handle_host_arp)).
    ///
    /// `xmit_hash` computes the bond's `xmit_hash_policy` hash of the frame; it is called
    /// only when needed: in balance-tlb for IPv4/IPv6 unicast (its low 8 bits are the TLB
    /// key), and with `tlb_dynamic_lb=0` (hash modulo the usable members). One VLAN tag is
    /// looked through, as Linux sees frames whose tag was offloaded.
    pub fn select_tx(
        &mut self,
        now: Duration,
        frame: &mut [u8],
        xmit_hash: impl FnOnce(&[u8]) -> u32,
    ) -> TxDecision {
        let Some(c) = Self::classify(frame) else {
            self.counters.tx_drop_runt += 1;
            return TxDecision::Drop(TxDrop::Runt);
        };
        let len = frame.len() as u64;
        let (tx, how) = match self.config.mode {
            Mode::BalanceTlb => self.tlb_slave_get(&c, frame, len, xmit_hash),
            Mode::BalanceAlb => self.alb_slave_get(now, &c, frame, len, xmit_hash),
        };
        self.do_alb_xmit(frame, tx, len, how)
    }

    /// Linux `bond_xmit_tlb_slave_get`.
    fn tlb_slave_get(
        &mut self,
        c: &Classified,
        frame: &[u8],
        len: u64,
        xmit_hash: impl FnOnce(&[u8]) -> u32,
    ) -> (Option<usize>, Via) {
        if c.dst.is_multicast() {
            return (None, Via::Active);
        }
        let l3 = frame.get(c.l3..).unwrap_or(&[]);
        match c.ethertype {
            ethertype::IPV6 if Self::determine_nd(l3) => (None, Via::Active),
            ethertype::IPV4 | ethertype::IPV6 => {
                (self.hash_pick(frame, len, None, xmit_hash), Via::Balanced)
            }
            _ => (None, Via::Active),
        }
    }

    /// The balanced choice: the TLB table with `tlb_dynamic_lb=1` (key: `key` or the low 8
    /// bits of the hash), else `hash % usable members`.
    fn hash_pick(
        &mut self,
        frame: &[u8],
        len: u64,
        key: Option<u8>,
        xmit_hash: impl FnOnce(&[u8]) -> u32,
    ) -> Option<usize> {
        if self.dynamic() {
            let k = match key {
                Some(k) => k,
                None => (xmit_hash(frame) & 0xff) as u8,
            };
            self.tlb.choose(&mut self.members, k, len)
        } else {
            self.members.usable_by_hash(xmit_hash(frame))
        }
    }

    /// Linux `bond_xmit_alb_slave_get`.
    fn alb_slave_get(
        &mut self,
        now: Duration,
        c: &Classified,
        frame: &mut [u8],
        len: u64,
        xmit_hash: impl FnOnce(&[u8]) -> u32,
    ) -> (Option<usize>, Via) {
        let key = {
            let l3 = frame.get(c.l3..).unwrap_or(&[]);
            match c.ethertype {
                ethertype::IPV4 => {
                    if c.dst.is_broadcast() || l3.len() < 20 {
                        None
                    } else {
                        let daddr = &l3[16..20];
                        if daddr == [255; 4] || l3[9] == 2 {
                            None
                        } else {
                            Some(simple_hash(daddr))
                        }
                    }
                }
                ethertype::IPV6 => {
                    if c.dst.is_broadcast() || c.dst == MacAddr::IPV6_ALL_NODES {
                        None
                    } else if Self::determine_nd(l3) {
                        let handled = if self.rlb.as_ref().is_some_and(|r| r.v6.is_some()) {
                            self.handle_host_nd(now, c, frame)
                        } else {
                            None
                        };
                        if let Some(m) = handled {
                            return (m, Via::Rlb);
                        }
                        None
                    } else if l3[8..24].iter().all(|&b| b == 0) {
                        None
                    } else {
                        Some(simple_hash(&l3[24..40]))
                    }
                }
                ethertype::ARP => {
                    if self.rlb.is_some() {
                        let m = self.rlb_arp_xmit(now, c, frame);
                        return (m, Via::Rlb);
                    }
                    None
                }
                _ => None,
            }
        };
        match key {
            Some(k) => (
                self.hash_pick(frame, len, Some(k), xmit_hash),
                Via::Balanced,
            ),
            None => (None, Via::Active),
        }
    }

    /// Linux `bond_do_alb_xmit`.
    fn do_alb_xmit(
        &mut self,
        frame: &mut [u8],
        tx: Option<usize>,
        len: u64,
        how: Via,
    ) -> TxDecision {
        let (tx, how) = match tx {
            Some(m) => (Some(m), how),
            None => {
                if self.dynamic() {
                    self.tlb.unbalanced_load = self.tlb.unbalanced_load.saturating_add(len);
                }
                (self.members.active, Via::Active)
            }
        };
        let Some(m) = tx else {
            self.counters.tx_drop_no_active += 1;
            return TxDecision::Drop(TxDrop::NoActiveMember);
        };
        if !self.members.can_tx(m) {
            if self.dynamic() {
                self.tlb_clear(m, false);
            }
            self.counters.tx_drop_member_cannot_tx += 1;
            return TxDecision::Drop(TxDrop::MemberCannotTx);
        }
        match how {
            Via::Active => self.counters.tx_to_active += 1,
            Via::Balanced => self.counters.tx_balanced += 1,
            Via::Rlb => self.counters.tx_rlb += 1,
        }
        let mut src_mac = None;
        if Some(m) != self.members.active {
            if let (Some(mac), Some(src)) = (self.members.mac(m), frame.get_mut(6..12)) {
                src.copy_from_slice(&mac.0);
                src_mac = Some(mac);
            }
        }
        TxDecision::Send { member: m, src_mac }
    }

    /// An ARP frame the host sends on the bond, in balance-alb (Linux `rlb_arp_xmit` then
    /// `bond_do_alb_xmit`). A reply gets the sender address of the member assigned to the
    /// client and leaves on it; a request records the client (its reply will tell the
    /// client's address) and, since it told every host the bond's address, schedules
    /// updates to the other clients of that server address 2 s later. Other ARP frames
    /// go out unchanged on the active member. In balance-tlb every ARP goes out on the
    /// active member. Same as [`select_tx`](Self::select_tx) for an ARP frame.
    pub fn handle_host_arp(&mut self, now: Duration, frame: &mut [u8]) -> TxDecision {
        self.select_tx(now, frame, |_| 0)
    }

    /// Linux `rlb_arp_xmit`.
    fn rlb_arp_xmit(&mut self, now: Duration, c: &Classified, frame: &mut [u8]) -> Option<usize> {
        let buf = frame.get_mut(c.l3..)?;
        let Ok(mut pkt) = ArpPacket::new_checked(buf) else {
            self.counters.host_arp_truncated += 1;
            return None;
        };
        let Ok(arp) = ArpRepr::parse(&pkt) else {
            self.counters.host_arp_unsupported += 1;
            return None;
        };
        if self.members.has_mac(arp.source_hardware_addr).is_none() {
            self.counters.host_arp_foreign_sender += 1;
            return None;
        }
        let args = ChooseArgs {
            server_ip: arp.source_protocol_addr.octets(),
            client_ip: arp.target_protocol_addr.octets(),
            server_mac: arp.source_hardware_addr,
            client_mac: arp.target_hardware_addr,
            keep_known_client_mac: arp.target_hardware_addr.is_broadcast(),
            vlan: c.vlan,
            router: None,
            router_default: false,
        };
        match arp.operation {
            ArpOperation::Reply => {
                self.counters.host_arp_replies += 1;
                let m = self.rlb_choose_channel4(now, &args);
                if let Some(mac) = m.and_then(|m| self.members.mac(m)) {
                    pkt.set_source_hardware_addr(mac);
                }
                m
            }
            ArpOperation::Request => {
                self.counters.host_arp_requests += 1;
                let m = self.rlb_choose_channel4(now, &args);
                let r = self.rlb.as_mut()?;
                r.set_update_delay(now);
                if r.v4
                    .req_update_subnet_clients(&self.members, args.server_ip)
                {
                    r.set_rx_ntt(now);
                }
                m
            }
            ArpOperation::Unknown(_) => {
                self.counters.host_arp_other_opcode += 1;
                None
            }
        }
    }

    fn rlb_choose_channel4(&mut self, now: Duration, args: &ChooseArgs<4>) -> Option<usize> {
        let r = self.rlb.as_mut()?;
        let Chosen {
            member,
            evicted,
            ntt,
        } = r.v4.choose_channel(&self.members, &mut r.rx_slave, args);
        if ntt {
            r.set_rx_ntt(now);
        }
        if let Some(t) = evicted {
            self.counters.rlb_clients_evicted += 1;
            self.queue_arp_update(t);
        }
        member
    }

    fn rlb_choose_channel6(&mut self, now: Duration, args: &ChooseArgs<16>) -> Option<usize> {
        let r = self.rlb.as_mut()?;
        let t6 = r.v6.as_mut()?;
        let Chosen {
            member,
            evicted,
            ntt,
        } = t6.choose_channel(&self.members, &mut r.rx_slave, args);
        if ntt {
            r.set_rx_ntt(now);
        }
        if let Some(t) = evicted {
            self.counters.rlb_clients_evicted += 1;
            self.queue_na_update(t);
        }
        member
    }

    /// The IPv6 extension on the host's NS/NA. `None`: not handled, Linux's rule applies
    /// (out on the active member unchanged); `Some(m)`: RLB chose `m` (or the active
    /// member if `m` is `None`).
    fn handle_host_nd(
        &mut self,
        now: Duration,
        c: &Classified,
        frame: &mut [u8],
    ) -> Option<Option<usize>> {
        let ip = frame.get_mut(c.l3..)?;
        let msg = match NdMessage::parse(ip) {
            Ok(m) => m,
            Err(_) => {
                self.counters.host_nd_malformed += 1;
                return None;
            }
        };
        let Some(opt) = msg.lla else {
            self.counters.host_nd_no_lla += 1;
            return None;
        };
        if self.members.has_mac(opt.mac).is_none() {
            self.counters.host_nd_foreign_sender += 1;
            return None;
        }
        let args = match msg.kind {
            NdKind::Advertisement => {
                let router = msg.flags & nd_flags::ROUTER != 0;
                if let Some(r) = self.rlb.as_mut() {
                    r.host_is_router = router;
                }
                if msg.dst.is_multicast() {
                    // An unsolicited advertisement to a group tells every client the
                    // bond's address: schedule updates, as after an ARP request.
                    self.counters.host_nd_multicast += 1;
                    let r = self.rlb.as_mut()?;
                    r.set_update_delay(now);
                    if let Some(t) = r.v6.as_mut() {
                        if t.req_update_subnet_clients(&self.members, msg.target.octets()) {
                            r.set_rx_ntt(now);
                        }
                    }
                    return None;
                }
                ChooseArgs {
                    server_ip: msg.target.octets(),
                    client_ip: msg.dst.octets(),
                    server_mac: opt.mac,
                    client_mac: c.dst,
                    keep_known_client_mac: c.dst.is_multicast(),
                    vlan: c.vlan,
                    router: Some(router),
                    router_default: router,
                }
            }
            NdKind::Solicitation => {
                if msg.src.is_unspecified() {
                    self.counters.host_nd_multicast += 1;
                    return None;
                }
                let unicast = !c.dst.is_multicast();
                ChooseArgs {
                    server_ip: msg.src.octets(),
                    client_ip: msg.target.octets(),
                    server_mac: opt.mac,
                    client_mac: if unicast { c.dst } else { MacAddr::ZERO },
                    keep_known_client_mac: !unicast,
                    vlan: c.vlan,
                    router: None,
                    router_default: self.rlb.as_ref().is_some_and(|r| r.host_is_router),
                }
            }
        };
        let m = self.rlb_choose_channel6(now, &args);
        if let Some(mac) = m.and_then(|m| self.members.mac(m)) {
            if let Some(ip) = frame.get_mut(c.l3..) {
                if msg.rewrite_lla(ip, mac) {
                    self.counters.host_nd_rewritten += 1;
                }
            }
        }
        Some(m)
    }

    /// A frame received on member `member` (Linux `rlb_arp_recv`, the bond's receive
    /// probe in balance-alb; it sees every frame before any other rule). ARP: a sender
    /// that now uses one of the bond's server addresses with another MAC purges the
    /// clients recorded for that address; a reply updates its client's MAC (and schedules
    /// an update so the client learns its member's address). Never changes which member
    /// a client is on. With the IPv6 extension, neighbour advertisements and
    /// solicitations are read the same way. Other frames are not looked at. Does nothing
    /// in balance-tlb. Errors only for an unknown member index.
    pub fn handle_rx(&mut self, now: Duration, member: usize, frame: &[u8]) -> Result<(), Error> {
        if !self.members.contains(member) {
            return Err(Error::NoSuchMember(member));
        }
        if self.rlb.is_none() {
            return Ok(());
        }
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            self.counters.rx_runt += 1;
            return Ok(());
        };
        match eth.ethertype() {
            ethertype::ARP => self.rx_arp(now, eth.payload()),
            ethertype::IPV6 if self.rlb.as_ref().is_some_and(|r| r.v6.is_some()) => {
                self.rx_nd(now, eth.payload())
            }
            _ => {}
        }
        Ok(())
    }

    /// Same as [`handle_rx`](Self::handle_rx).
    pub fn handle_rx_arp(
        &mut self,
        now: Duration,
        member: usize,
        frame: &[u8],
    ) -> Result<(), Error> {
        self.handle_rx(now, member, frame)
    }

    fn is_own_mac(&self, mac: MacAddr) -> bool {
        mac == self.members.bond_mac || self.members.has_mac(mac).is_some()
    }

    fn rx_arp(&mut self, now: Duration, payload: &[u8]) {
        let pkt = match ArpPacket::new_checked(payload) {
            Ok(p) => p,
            Err(_) => {
                self.counters.rx_arp_truncated += 1;
                return;
            }
        };
        let arp = match ArpRepr::parse(&pkt) {
            Ok(a) => a,
            Err(e) => {
                match e {
                    WireError::UnsupportedHardwareType => {
                        self.counters.rx_arp_bad_hardware_type += 1
                    }
                    WireError::UnsupportedProtocolType => {
                        self.counters.rx_arp_bad_protocol_type += 1
                    }
                    WireError::BadHardwareLength => self.counters.rx_arp_bad_hardware_len += 1,
                    _ => self.counters.rx_arp_bad_protocol_len += 1,
                }
                return;
            }
        };
        if self.is_own_mac(arp.source_hardware_addr) {
            self.counters.rx_arp_own_sender += 1;
            return;
        }
        let Some(r) = self.rlb.as_mut() else { return };
        self.counters.rlb_clients_purged +=
            r.v4.purge_server_ip(arp.source_protocol_addr.octets(), arp.source_hardware_addr);
        match arp.operation {
            ArpOperation::Reply => {
                self.counters.rx_arp_replies += 1;
                if r.v4.update_from_reply(
                    arp.target_protocol_addr.octets(),
                    arp.source_protocol_addr.octets(),
                    arp.source_hardware_addr,
                    false,
                ) {
                    self.counters.rlb_client_mac_learnt += 1;
                    r.set_rx_ntt(now);
                }
            }
            ArpOperation::Request => self.counters.rx_arp_requests += 1,
            ArpOperation::Unknown(_) => self.counters.rx_arp_other_opcode += 1,
        }
    }

    fn rx_nd(&mut self, now: Duration, ip: &[u8]) {
        let msg = match NdMessage::parse_checked(ip) {
            Ok(m) => m,
            Err(WireError::NotIcmpv6 | WireError::NotNeighborDiscovery) => return,
            Err(WireError::Truncated) => {
                self.counters.rx_nd_truncated += 1;
                return;
            }
            Err(WireError::BadChecksum) => {
                self.counters.rx_nd_bad_checksum += 1;
                return;
            }
            Err(WireError::BadHopLimit) => {
                self.counters.rx_nd_bad_hop_limit += 1;
                return;
            }
            Err(_) => {
                self.counters.rx_nd_malformed += 1;
                return;
            }
        };
        let Some(opt) = msg.lla else {
            self.counters.rx_nd += 1;
            return;
        };
        if self.is_own_mac(opt.mac) {
            self.counters.rx_nd_own_sender += 1;
            return;
        }
        self.counters.rx_nd += 1;
        let Some(r) = self.rlb.as_mut() else { return };
        let Some(t) = r.v6.as_mut() else { return };
        match msg.kind {
            NdKind::Solicitation => {
                if !msg.src.is_unspecified() {
                    self.counters.rlb_clients_purged +=
                        t.purge_server_ip(msg.src.octets(), opt.mac);
                }
            }
            NdKind::Advertisement => {
                self.counters.rlb_clients_purged += t.purge_server_ip(msg.target.octets(), opt.mac);
                if t.update_from_reply(
                    msg.dst.octets(),
                    msg.target.octets(),
                    opt.mac,
                    msg.dst.is_multicast(),
                ) {
                    self.counters.rlb_client_mac_learnt += 1;
                    r.set_rx_ntt(now);
                }
            }
        }
    }

    /// Runs what is due (Linux `bond_alb_monitor`, in its order): learning frames every
    /// `lp_interval` on every member with carrier, each with its own address; the TLB
    /// rebalance every 10 s; the end of promiscuity; an ordered RLB rebalance; an RLB
    /// update round. Nothing happens while the bond has no member. A call before any
    /// deadline does nothing.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.members.is_empty() || !self.monitor_runs() {
            return;
        }
        if self.lp_due.is_some_and(|d| d <= now) {
            let order: Vec<usize> = self.members.order().to_vec();
            for i in order {
                let Some(m) = self.members.get(i) else {
                    continue;
                };
                if m.link.has_carrier() {
                    let mac = m.mac;
                    self.send_learning(i, mac);
                }
            }
            self.lp_due = Some(now.saturating_add(self.config.lp_interval.duration()));
        }
        if self.rebalance_due.is_some_and(|d| d <= now) {
            self.tlb.rebalance(&mut self.members);
            self.rebalance_due = Some(now.saturating_add(TLB_REBALANCE_INTERVAL));
        }
        let Some(r) = self.rlb.as_mut() else { return };
        if let Some((m, ends)) = r.promisc {
            if ends <= now {
                r.promisc = None;
                self.push_event(Event::SetPromiscuous {
                    member: m,
                    enabled: false,
                });
            }
        }
        let Some(r) = self.rlb.as_mut() else { return };
        if r.rebalance_due.is_some_and(|d| d <= now) {
            r.rebalance_due = None;
            let mut ntt = r.v4.rebalance(&self.members, &mut r.rx_slave);
            if let Some(t) = r.v6.as_mut() {
                ntt |= t.rebalance(&self.members, &mut r.rx_slave);
            }
            if ntt {
                r.set_rx_ntt(now);
            }
        }
        if r.rx_ntt && r.update_due.is_some_and(|d| d <= now) {
            self.rlb_update_round(now);
        }
    }

    /// Linux `rlb_update_rx_clients` and the retry bookkeeping of `bond_alb_monitor`.
    fn rlb_update_round(&mut self, now: Duration) {
        let Some(r) = self.rlb.as_mut() else { return };
        let clear = r.retry == 0;
        let mut v4: Vec<UpdateTarget<4>> = Vec::new();
        let mut v6: Vec<UpdateTarget<16>> = Vec::new();
        r.v4.update_round(clear, |t| v4.push(t));
        if let Some(t) = r.v6.as_mut() {
            t.update_round(clear, |t| v6.push(t));
        }
        r.update_delay = RLB_UPDATE_DELAY;
        if r.retry > 0 {
            r.retry -= 1;
            r.update_due = Some(now.saturating_add(RLB_UPDATE_DELAY));
        } else {
            r.rx_ntt = false;
            r.update_due = None;
        }
        self.counters.rlb_update_rounds += 1;
        for t in v4 {
            self.queue_arp_update(t);
        }
        for t in v6 {
            self.queue_na_update(t);
        }
    }

    // ----------------------------------------------------------------- outputs

    /// The next request to the caller, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next control frame to send. Frames for a member that left, or that can no
    /// longer transmit (learning frames: that lost its carrier), are skipped and counted.
    pub fn poll_transmit(&mut self, now: Duration) -> Option<Transmit> {
        let _ = now;
        while let Some(p) = self.pending.pop_front() {
            if let Some(t) = self.build(p) {
                return Some(t);
            }
            self.counters.tx_control_skipped += 1;
        }
        None
    }

    fn build(&self, p: Pending) -> Option<Transmit> {
        let mut buf = [0u8; FRAME_CAPACITY];
        match p {
            Pending::Learning { member, mac, vlan } => {
                let m = self.members.get(member)?;
                if !m.link.has_carrier() {
                    return None;
                }
                let len = emit_learning_frame(mac, vlan, &mut buf)?;
                Some(Transmit {
                    member,
                    kind: TransmitKind::LearningFrame,
                    buf,
                    len,
                })
            }
            Pending::Arp { member_mac, t } => {
                if !self.members.can_tx(t.member) {
                    return None;
                }
                // Linux arp_create(ARPOP_REPLY, ..., dest_ip = client, src_ip = server,
                // dest_hw = client, src_hw = member, target_hw = client).
                let eth = EthernetRepr {
                    dst: t.client_mac,
                    src: member_mac,
                    vlan: t.vlan,
                    ethertype: ethertype::ARP,
                };
                let off = eth.emit(&mut buf)?;
                let arp = ArpRepr {
                    operation: ArpOperation::Reply,
                    source_hardware_addr: member_mac,
                    source_protocol_addr: Ipv4Addr::from(t.server_ip),
                    target_hardware_addr: t.client_mac,
                    target_protocol_addr: Ipv4Addr::from(t.client_ip),
                };
                let mut pkt = ArpPacket::new_checked(buf.get_mut(off..)?).ok()?;
                arp.emit(&mut pkt);
                Some(Transmit {
                    member: t.member,
                    kind: TransmitKind::ArpUpdate,
                    buf,
                    len: off + ARP_LEN,
                })
            }
            Pending::Na { member_mac, t } => {
                if !self.members.can_tx(t.member) {
                    return None;
                }
                let eth = EthernetRepr {
                    dst: t.client_mac,
                    src: member_mac,
                    vlan: t.vlan,
                    ethertype: ethertype::IPV6,
                };
                let off = eth.emit(&mut buf)?;
                let na = NeighborAdvertRepr {
                    src: Ipv6Addr::from(t.server_ip),
                    dst: Ipv6Addr::from(t.client_ip),
                    flags: nd_flags::OVERRIDE | if t.router { nd_flags::ROUTER } else { 0 },
                    target: Ipv6Addr::from(t.server_ip),
                    target_lla: member_mac,
                };
                let n = na.emit(buf.get_mut(off..)?)?;
                Some(Transmit {
                    member: t.member,
                    kind: TransmitKind::NeighborAdvertUpdate,
                    buf,
                    len: off + n,
                })
            }
        }
    }

    /// The next deadline for [`handle_timeout`](Self::handle_timeout), if any. Control
    /// frames already queued are not deadlines: poll them with
    /// [`poll_transmit`](Self::poll_transmit).
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.members.is_empty() || !self.monitor_runs() {
            return None;
        }
        let mut next: Option<Duration> = None;
        let mut take = |d: Option<Duration>| {
            if let Some(d) = d {
                next = Some(next.map_or(d, |n| n.min(d)));
            }
        };
        take(self.lp_due);
        take(self.rebalance_due);
        if let Some(r) = &self.rlb {
            take(r.promisc.map(|(_, e)| e));
            take(r.rebalance_due);
            if r.rx_ntt {
                take(r.update_due);
            }
        }
        next
    }
}

/// How a member was chosen, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Active,
    Balanced,
    Rlb,
}

impl Rlb {
    /// `rx_ntt = 1; rlb_update_retry_counter = RLB_UPDATE_RETRY`.
    fn rx_ntt_and_retry_at(&mut self, now: Duration) {
        self.set_rx_ntt(now);
        self.retry = RLB_UPDATE_RETRY;
    }
}

const _: () = assert!(TLB_HASH_TABLE_SIZE == 256);
