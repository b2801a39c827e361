//! The link monitor of one bond: the MII monitor or the ARP/NS monitor over every member.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};
use core::time::Duration;

use crate::options::{ArpAllTargets, MonitorOptions};
use crate::time::{Instant, ms};
use crate::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetRepr, MAX_PROBE_FRAME_LEN, NdMessage,
    NdPacket, NdiscRepr, VlanPath, WireError, ethertype, solicited_node,
};

/// How the bond uses its members, which decides how the ARP monitor works (Linux:
/// `bond_activebackup_arp_mon()` in active-backup, `bond_loadbalance_arp_mon()` otherwise) and
/// when the MII monitor skips `updelay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum MonitorStyle {
    /// `active-backup`: one active member. The ARP monitor probes only the active member and
    /// judges backups by what they receive; with no active member it probes the members in
    /// turn (`current_arp_slave`). `updelay` is skipped while there is no active member.
    ActiveBackup,
    /// Every other mode: every member with carrier is probed and judged on its own traffic.
    /// `updelay` is skipped while the engine reports no usable member
    /// ([`LinkMonitor::set_usable_members`]).
    LoadBalance,
}

/// A member's link state (Linux `BOND_LINK_*`, shown as `MII Status:` per member).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum LinkState {
    /// Usable (`BOND_LINK_UP`, "up").
    Up,
    /// Link lost, waiting out `downdelay` (`BOND_LINK_FAIL`, "going down"); still usable. The
    /// active-backup ARP monitor also uses it for a probed member that did not answer.
    Fail,
    /// Not usable (`BOND_LINK_DOWN`, "down").
    Down,
    /// Link back, waiting out `updelay` (`BOND_LINK_BACK`, "going back"); the active-backup
    /// ARP monitor also uses it for the member it is probing while no member is active.
    Back,
}

impl LinkState {
    /// The kernel's number (`BOND_LINK_UP` 0, `FAIL` 1, `DOWN` 2, `BACK` 3), as netlink's
    /// `IFLA_BOND_SLAVE_MII_STATUS` carries it.
    pub const fn value(self) -> u8 {
        match self {
            Self::Up => 0,
            Self::Fail => 1,
            Self::Down => 2,
            Self::Back => 3,
        }
    }

    /// The `/proc/net/bonding` text (`bond_slave_link_status()`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Fail => "going down",
            Self::Down => "down",
            Self::Back => "going back",
        }
    }
}

impl fmt::Display for LinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A member's role flag (Linux `slave->backup`: `BOND_STATE_ACTIVE` 0, `BOND_STATE_BACKUP` 1).
/// `arp_validate` validates by it; in active-backup the ARP monitor itself changes it
/// while it probes members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum SlaveState {
    /// Active.
    Active,
    /// Backup.
    Backup,
}

/// What the monitor reports through [`LinkMonitor::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// A member's link state changed (every committed change, with the time it was decided).
    Link {
        /// The member.
        member: usize,
        /// The state before.
        previous: LinkState,
        /// The new state.
        state: LinkState,
        /// When.
        at: Duration,
    },
    /// Linux would call `bond_select_active_slave()` here: the active member went down, or a
    /// member came up while there is no active member, or it is the primary, or it has a
    /// higher `prio` than the active member (the active-backup and MII rules; the
    /// load-balancing ARP monitor asks only when there is no active member or it went down).
    /// The engine runs its selection and calls [`LinkMonitor::set_active_member`] if the
    /// active member changes. In active-backup with the ARP monitor, the probe of this run
    /// waits for that answer: [`LinkMonitor::poll_timeout`] returns the same time again.
    SelectActive {
        /// When.
        at: Duration,
    },
    /// The active-backup ARP monitor picked a member to probe while no member is active
    /// (`current_arp_slave`), or stopped probing (`None`). The member is marked active
    /// ([`Event::SlaveState`]) so that the engine delivers what it receives.
    CurrentArpSlave {
        /// The member probed now, if any.
        member: Option<usize>,
        /// When.
        at: Duration,
    },
    /// A member's role flag changed: by the monitor itself (the active-backup probe and its
    /// commits, the load-balancing ARP monitor's up/down marking) or as a consequence of
    /// [`LinkMonitor::set_active_member`]/[`LinkMonitor::set_member_state`].
    SlaveState {
        /// The member.
        member: usize,
        /// The new role.
        state: SlaveState,
        /// When.
        at: Duration,
    },
}

/// Where a probe for one target goes, as Linux would find it from its routing table
/// (`ip_route_output()`/`ip6_route_output()` in `bond_arp_send_all()`/`bond_ns_send_all()`);
/// the caller supplies it because this crate has no routing table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProbeRoute<A> {
    /// No route to the target: Linux still sends the probe, from address 0 (`0.0.0.0`/`::`),
    /// untagged. The default until the caller says otherwise.
    #[default]
    NoRoute,
    /// The route leaves through the bond or a VLAN device on top of it: the probe goes with
    /// the bond's address on that device (`None`: it has none, so 0) and the VLAN tags of the
    /// devices in between.
    ViaBond {
        /// Source address (`bond_confirm_addr()`/`ipv6_dev_get_saddr()`).
        src: Option<A>,
        /// VLAN tags, outermost first.
        vlans: VlanPath,
    },
    /// The route leaves through a device that is not the bond: Linux sends nothing for this
    /// target (and so does not refresh the member's last transmit time).
    OtherDevice,
}

/// A probe the monitor wants sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Probe {
    /// An ARP request for `target` from `src` (`0.0.0.0` when the bond has no address on the
    /// route).
    Arp {
        /// The `arp_ip_target`.
        target: Ipv4Addr,
        /// Sender protocol address.
        src: Ipv4Addr,
    },
    /// A neighbour solicitation for `target` from `src` (`::` when the bond has none) to the
    /// target's solicited-node multicast address.
    Ns {
        /// The `ns_ip6_target`.
        target: Ipv6Addr,
        /// IPv6 source address.
        src: Ipv6Addr,
    },
}

/// A probe frame to send on a member, built complete from the Ethernet header.
#[derive(Clone)]
pub struct Transmit {
    /// The member to send it on.
    pub member: usize,
    /// What it is.
    pub probe: Probe,
    len: usize,
    buf: [u8; MAX_PROBE_FRAME_LEN],
}

impl Transmit {
    /// The frame, from the Ethernet header. Not padded to 60 bytes, like the buffer Linux
    /// hands to the driver (the NIC pads on the wire).
    pub fn frame(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

impl fmt::Debug for Transmit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transmit")
            .field("member", &self.member)
            .field("probe", &self.probe)
            .field("frame", &self.frame())
            .finish()
    }
}

/// What happened to received frames and probes, per reason. Bad frames are counted here and
/// otherwise ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames given to [`LinkMonitor::handle_rx`] while the ARP/NS monitor runs.
    pub rx_frames: u64,
    /// Frames counted as activity without validation (`arp_validate` does not validate on
    /// that member).
    pub rx_unvalidated: u64,
    /// Frames not counted because `arp_validate` filters and they are neither ARP nor IPv6.
    pub rx_filtered: u64,
    /// Frames on a validating member that are neither ARP nor IPv6.
    pub rx_not_arp_or_ipv6: u64,
    /// ARP/IPv6 frames to a unicast MAC that is not the member's (Linux `PACKET_OTHERHOST`).
    pub rx_other_host: u64,
    /// Frames shorter than an Ethernet header.
    pub eth_truncated: u64,
    /// Frames with a truncated VLAN tag.
    pub vlan_truncated: u64,
    /// Truncated ARP.
    pub arp_truncated: u64,
    /// ARP with a hardware type other than Ethernet.
    pub arp_bad_hardware_type: u64,
    /// ARP with a protocol type other than IPv4.
    pub arp_bad_protocol_type: u64,
    /// ARP with a hardware address length other than 6.
    pub arp_bad_hardware_len: u64,
    /// ARP with a protocol address length other than 4.
    pub arp_bad_protocol_len: u64,
    /// ARP validated: it proved a path to a target and refreshed the member.
    pub arp_validated: u64,
    /// ARP from a trusted member that was not about our address and a target.
    pub arp_not_validated: u64,
    /// ARP on a backup member that none of Linux's three trust rules let through.
    pub arp_untrusted: u64,
    /// IPv6 shorter than its header.
    pub ipv6_truncated: u64,
    /// IPv6 with a version other than 6.
    pub ipv6_bad_version: u64,
    /// IPv6 payload length past the end of the frame.
    pub ipv6_bad_payload_len: u64,
    /// IPv6 that is not ICMPv6, or ICMPv6 that is not NS/NA (ignored, not malformed).
    pub ipv6_not_nd: u64,
    /// NS/NA shorter than its fixed part.
    pub nd_truncated: u64,
    /// NS/NA with a wrong ICMPv6 checksum.
    pub nd_bad_checksum: u64,
    /// NS/NA with a code other than 0.
    pub nd_bad_code: u64,
    /// NS/NA with a hop limit other than 255.
    pub nd_bad_hop_limit: u64,
    /// NS/NA with a multicast target.
    pub nd_multicast_target: u64,
    /// NS/NA with a malformed option.
    pub nd_bad_option: u64,
    /// NS/NA validated.
    pub nd_validated: u64,
    /// NS/NA from a trusted member that was not about our address and a target.
    pub nd_not_validated: u64,
    /// NS/NA on a backup member that none of the trust rules let through.
    pub nd_untrusted: u64,
    /// ARP requests queued for sending.
    pub tx_arp: u64,
    /// Neighbour solicitations queued for sending.
    pub tx_ns: u64,
    /// Probes not sent because the target's route leaves by another device.
    pub tx_other_device: u64,
    /// Probes dropped because they were still queued when the next run came.
    pub tx_stale: u64,
    /// Members kept down because their speed/duplex was unknown where the mode needs it.
    pub speed_duplex_unknown: u64,
}

impl Counters {
    fn count_wire(&mut self, e: WireError) {
        let c = match e {
            WireError::EthernetTruncated => &mut self.eth_truncated,
            WireError::VlanTruncated => &mut self.vlan_truncated,
            WireError::ArpTruncated => &mut self.arp_truncated,
            WireError::ArpHardwareType => &mut self.arp_bad_hardware_type,
            WireError::ArpProtocolType => &mut self.arp_bad_protocol_type,
            WireError::ArpHardwareLength => &mut self.arp_bad_hardware_len,
            WireError::ArpProtocolLength => &mut self.arp_bad_protocol_len,
            WireError::Ipv6Truncated => &mut self.ipv6_truncated,
            WireError::Ipv6Version => &mut self.ipv6_bad_version,
            WireError::Ipv6PayloadLength => &mut self.ipv6_bad_payload_len,
            WireError::NotIcmpv6 | WireError::NotNeighborDiscovery => &mut self.ipv6_not_nd,
            WireError::NdTruncated => &mut self.nd_truncated,
            WireError::Icmpv6Checksum => &mut self.nd_bad_checksum,
            WireError::NdCode => &mut self.nd_bad_code,
            WireError::NdHopLimit => &mut self.nd_bad_hop_limit,
            WireError::NdMulticastTarget => &mut self.nd_multicast_target,
            WireError::NdOption => &mut self.nd_bad_option,
            // Not produced by parsing.
            WireError::BufferTooShort => return,
        };
        *c += 1;
    }
}

/// The caller's mistakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MonitorError {
    /// No member with this index.
    #[error("member {0} does not exist")]
    NoSuchMember(usize),
    /// A member with this index exists already.
    #[error("member {0} already exists")]
    MemberExists(usize),
    /// The address is not an `arp_ip_target`.
    #[error("{0} is not an arp_ip_target")]
    NoSuchArpTarget(Ipv4Addr),
    /// The address is not an `ns_ip6_target`.
    #[error("{0} is not an ns_ip6_target")]
    NoSuchNsTarget(Ipv6Addr),
}

/// How many per-target receive times a member keeps (`target_last_arp_rx[]`).
const TARGET_SLOTS: usize = 16;

#[derive(Debug, Clone)]
struct Member {
    mac: [u8; 6],
    carrier: bool,
    speed_duplex_known: bool,
    prio: i32,
    link: LinkState,
    /// Intervals left of `updelay`/`downdelay` (`slave->delay`).
    delay: i64,
    last_link_up: Instant,
    last_rx: Instant,
    last_tx: Instant,
    /// Shared by ARP and NS targets of the same index, as in Linux.
    target_last_rx: [Instant; TARGET_SLOTS],
    backup: bool,
    link_failure_count: u32,
}

#[derive(Debug, Clone, Copy)]
struct PendingProbe {
    member: usize,
    probe: Probe,
    vlans: VlanPath,
}

/// How far a received ARP/NA frame is trusted (`bond_arp_rcv()`'s three cases).
enum Trust {
    /// Validate as received: the member is active, or a reply to the probing member's
    /// request arrived within an interval.
    Direct,
    /// Validate with source and target swapped: a backup seeing our own request sent by an
    /// active member that has had a valid reply since it became active.
    Swapped,
    /// Not trusted.
    None,
}

/// The IPv6 all-nodes address.
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// The link monitor of one bond, sans-IO.
///
/// It runs the MII monitor when `miimon` is set, the ARP/NS monitor when `arp_interval` is set,
/// nothing otherwise (every member stays up, as in Linux).
///
/// # Use
///
/// - **Getters**: options, per-member link state, role, failure count, counters, the
///   `/proc/net/bonding` lines.
/// - **Inputs** (`handle_*`): carrier changes, received frames, timeouts.
/// - **Mutators**: members, the active member, addresses and routes, options.
/// - **Outputs** (`poll_*`): after any input, call [`poll_event`](Self::poll_event) until it
///   returns `None` (reacting to [`Event::SelectActive`] with
///   [`set_active_member`](Self::set_active_member)), then
///   [`poll_transmit`](Self::poll_transmit) until `None`, then
///   [`poll_timeout`](Self::poll_timeout), and call [`handle_timeout`](Self::handle_timeout)
///   at or after that time. `now` must never go backwards.
#[derive(Debug, Clone)]
pub struct LinkMonitor {
    options: MonitorOptions,
    style: MonitorStyle,
    members: Vec<Option<Member>>,
    curr_active: Option<usize>,
    primary: Option<usize>,
    current_arp_slave: Option<usize>,
    usable_members: Option<usize>,
    needs_speed_duplex: bool,
    /// A member skipped `updelay` since the engine last set the active/usable members.
    bypass_spent: bool,
    bond_ipv4: Vec<Ipv4Addr>,
    bond_ipv6: Vec<Ipv6Addr>,
    arp_routes: Vec<ProbeRoute<Ipv4Addr>>,
    ns_routes: Vec<ProbeRoute<Ipv6Addr>>,
    next_mii: Option<Instant>,
    next_arp: Option<Instant>,
    ab_probe_pending: Option<Instant>,
    events: VecDeque<Event>,
    probes: VecDeque<PendingProbe>,
    counters: Counters,
}

impl LinkMonitor {
    /// A monitor for a bond that comes up at `now` (Linux `bond_open()`): the configured
    /// monitor first runs at `now`, then every interval.
    pub fn new(now: Duration, options: MonitorOptions, style: MonitorStyle) -> Self {
        let now = Instant::from_duration(now);
        let (next_mii, next_arp) = if options.mii_monitoring() {
            (Some(now), None)
        } else if options.arp_monitoring() {
            (None, Some(now))
        } else {
            (None, None)
        };
        Self {
            arp_routes: alloc::vec![ProbeRoute::NoRoute; options.arp_ip_target().len()],
            ns_routes: alloc::vec![ProbeRoute::NoRoute; options.ns_ip6_target().len()],
            options,
            style,
            members: Vec::new(),
            curr_active: None,
            primary: None,
            current_arp_slave: None,
            usable_members: None,
            needs_speed_duplex: false,
            bypass_spent: false,
            bond_ipv4: Vec::new(),
            bond_ipv6: Vec::new(),
            next_mii,
            next_arp,
            ab_probe_pending: None,
            events: VecDeque::new(),
            probes: VecDeque::new(),
            counters: Counters::default(),
        }
    }

    // ------------------------------------------------------------------ getters

    /// The options in force.
    pub fn options(&self) -> &MonitorOptions {
        &self.options
    }

    /// The style given at creation.
    pub fn style(&self) -> MonitorStyle {
        self.style
    }

    /// Whether received frames must be given to [`handle_rx`](Self::handle_rx) (the ARP/NS
    /// monitor runs; Linux installs its receive hook `bond_rcv_validate()` then).
    pub fn wants_rx(&self) -> bool {
        self.options.arp_monitoring()
    }

    /// The member indices, in the order the monitor walks them (Linux's slave list order).
    pub fn members(&self) -> impl Iterator<Item = usize> + '_ {
        self.members
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.as_ref().map(|_| i))
    }

    /// A member's link state.
    pub fn link_state(&self, member: usize) -> Option<LinkState> {
        self.member(member).map(|m| m.link)
    }

    /// A member's `MII Status:` text.
    pub fn mii_status(&self, member: usize) -> Option<&'static str> {
        self.link_state(member).map(LinkState::as_str)
    }

    /// A member's role flag.
    pub fn slave_state(&self, member: usize) -> Option<SlaveState> {
        self.member(member).map(|m| {
            if m.backup {
                SlaveState::Backup
            } else {
                SlaveState::Active
            }
        })
    }

    /// A member's carrier as last reported.
    pub fn carrier(&self, member: usize) -> Option<bool> {
        self.member(member).map(|m| m.carrier)
    }

    /// The monitor runs left of the member's `updelay` or `downdelay` countdown
    /// (`slave->delay`), which Linux's active member selection compares between members
    /// going back (`bond_find_best_slave()` prefers the one closest to up).
    pub fn delay_intervals(&self, member: usize) -> Option<i64> {
        self.member(member).map(|m| m.delay)
    }

    /// How often the monitors took the member down (`Link Failure Count:`).
    pub fn link_failure_count(&self, member: usize) -> Option<u32> {
        self.member(member).map(|m| m.link_failure_count)
    }

    /// When the member last counted as receiving (`slave->last_rx`); `None` for no member or
    /// a time before the caller's origin.
    pub fn last_rx(&self, member: usize) -> Option<Duration> {
        self.member(member)
            .and_then(|m| (m.last_rx.nanos() >= 0).then(|| m.last_rx.to_duration()))
    }

    /// When a probe was last sent on the member (`slave->last_tx`).
    pub fn last_tx(&self, member: usize) -> Option<Duration> {
        self.member(member)
            .and_then(|m| (m.last_tx.nanos() >= 0).then(|| m.last_tx.to_duration()))
    }

    /// The active member as the engine last set it.
    pub fn active_member(&self) -> Option<usize> {
        self.curr_active
    }

    /// The member the active-backup ARP monitor is probing while no member is active
    /// (`current_arp_slave`).
    pub fn current_arp_slave(&self) -> Option<usize> {
        self.current_arp_slave
    }

    /// Per-reason counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Writes the MII lines of `/proc/net/bonding/bondX` (`MII Polling Interval (ms)`,
    /// `Up Delay (ms)`, `Down Delay (ms)`). Linux prints `Peer Notification Delay (ms)` next,
    /// which the engine owns.
    pub fn write_proc_mii(&self, out: &mut impl fmt::Write) -> fmt::Result {
        writeln!(out, "MII Polling Interval (ms): {}", self.options.miimon())?;
        writeln!(out, "Up Delay (ms): {}", self.options.updelay())?;
        writeln!(out, "Down Delay (ms): {}", self.options.downdelay())
    }

    /// Writes the ARP lines of `/proc/net/bonding/bondX`, present while `arp_interval` is set:
    /// interval, missed max, the ARP targets and the NS targets.
    pub fn write_proc_arp(&self, out: &mut impl fmt::Write) -> fmt::Result {
        if !self.options.arp_monitoring() {
            return Ok(());
        }
        writeln!(
            out,
            "ARP Polling Interval (ms): {}",
            self.options.arp_interval()
        )?;
        writeln!(out, "ARP Missed Max: {}", self.options.arp_missed_max())?;
        out.write_str("ARP IP target/s (n.n.n.n form):")?;
        for (i, t) in self.options.arp_ip_target().iter().enumerate() {
            write!(out, "{} {t}", if i == 0 { "" } else { "," })?;
        }
        out.write_str("\nNS IPv6 target/s (xx::xx form):")?;
        for (i, t) in self.options.ns_ip6_target().iter().enumerate() {
            write!(out, "{} {t}", if i == 0 { "" } else { "," })?;
        }
        out.write_str("\n")
    }

    // ------------------------------------------------------------------ mutators

    /// Adds a member (Linux `bond_enslave()`), with its current MAC address (the address its
    /// probes go out from and unicast frames must be sent to) and carrier. Its first state:
    /// with `miimon`, up (or going back if `updelay` is set) with carrier, down without; with
    /// `arp_interval`, up with carrier, down without; with no monitor, up. It is a backup in
    /// active-backup style, active otherwise. No event is queued for the first state.
    pub fn add_member(
        &mut self,
        now: Duration,
        member: usize,
        mac: [u8; 6],
        carrier: bool,
    ) -> Result<(), MonitorError> {
        if self.member(member).is_some() {
            return Err(MonitorError::MemberExists(member));
        }
        let now = Instant::from_duration(now);
        // Linux: jiffies - (msecs_to_jiffies(arp_interval) + 1); one nanosecond stands for the
        // jiffy here.
        let last_rx = now.plus_nanos(-ms(self.options.arp_interval()) - 1);
        let (link, delay) = if self.options.mii_monitoring() {
            match (carrier, self.options.updelay_intervals()) {
                (true, 0) => (LinkState::Up, 0),
                (true, d) => (LinkState::Back, i64::from(d)),
                (false, _) => (LinkState::Down, 0),
            }
        } else if self.options.arp_monitoring() {
            (
                if carrier {
                    LinkState::Up
                } else {
                    LinkState::Down
                },
                0,
            )
        } else {
            (LinkState::Up, 0)
        };
        let m = Member {
            mac,
            carrier,
            speed_duplex_known: true,
            prio: 0,
            link,
            delay,
            last_link_up: if link != LinkState::Down {
                now
            } else {
                Instant::NEVER
            },
            last_rx,
            last_tx: last_rx,
            target_last_rx: [last_rx; TARGET_SLOTS],
            backup: self.style == MonitorStyle::ActiveBackup,
            link_failure_count: 0,
        };
        if self.members.len() <= member {
            self.members.resize(member + 1, None);
        }
        self.members[member] = Some(m);
        Ok(())
    }

    /// Removes a member (Linux `__bond_release_one()`): like Linux, any member being probed
    /// (`current_arp_slave`) stops being probed; the member stops being active or primary.
    pub fn remove_member(&mut self, now: Duration, member: usize) -> Result<(), MonitorError> {
        self.check(member)?;
        let now = Instant::from_duration(now);
        self.members[member] = None;
        self.set_current_arp_slave(None, now);
        if self.curr_active == Some(member) {
            self.curr_active = None;
        }
        if self.primary == Some(member) {
            self.primary = None;
        }
        self.probes.retain(|p| p.member != member);
        Ok(())
    }

    /// Sets a member's current MAC address.
    pub fn set_member_mac(&mut self, member: usize, mac: [u8; 6]) -> Result<(), MonitorError> {
        self.member_mut(member)?.mac = mac;
        Ok(())
    }

    /// Sets a member's `prio` (used, with the primary, to decide whether a member coming up
    /// asks for a new selection).
    pub fn set_member_prio(&mut self, member: usize, prio: i32) -> Result<(), MonitorError> {
        self.member_mut(member)?.prio = prio;
        Ok(())
    }

    /// Sets the primary member, if any.
    pub fn set_primary(&mut self, member: Option<usize>) -> Result<(), MonitorError> {
        if let Some(m) = member {
            self.check(m)?;
        }
        self.primary = member;
        Ok(())
    }

    /// Records whether a member's speed and duplex are known (ethtool). Used with
    /// [`set_needs_speed_duplex`](Self::set_needs_speed_duplex).
    pub fn set_speed_duplex_known(
        &mut self,
        member: usize,
        known: bool,
    ) -> Result<(), MonitorError> {
        self.member_mut(member)?.speed_duplex_known = known;
        Ok(())
    }

    /// Whether the mode needs speed and duplex (802.3ad, balance-tlb, balance-alb): then the
    /// MII monitor keeps a member down while they are unknown, as Linux does.
    pub fn set_needs_speed_duplex(&mut self, needs: bool) {
        self.needs_speed_duplex = needs;
    }

    /// For load-balancing style: how many members the mode can use now (Linux's
    /// `usable_slaves` array, in balance-xor, 802.3ad, balance-tlb, balance-alb), `None` when
    /// the mode keeps no such array (balance-rr, broadcast). While it is `Some(0)` the MII
    /// monitor skips `updelay` for the first member to come back.
    pub fn set_usable_members(&mut self, count: Option<usize>) {
        self.usable_members = count;
        self.bypass_spent = false;
    }

    /// Sets the bond's addresses (on the bond and on VLAN devices above it): received ARP/NA
    /// must be about one of them to validate (`bond_has_this_ip()`/`bond_has_this_ip6()`).
    pub fn set_bond_addresses(&mut self, ipv4: &[Ipv4Addr], ipv6: &[Ipv6Addr]) {
        self.bond_ipv4.clear();
        self.bond_ipv4.extend_from_slice(ipv4);
        self.bond_ipv6.clear();
        self.bond_ipv6.extend_from_slice(ipv6);
    }

    /// Sets how probes for an `arp_ip_target` go out.
    pub fn set_arp_route(
        &mut self,
        target: Ipv4Addr,
        route: ProbeRoute<Ipv4Addr>,
    ) -> Result<(), MonitorError> {
        let i = self
            .options
            .arp_ip_target()
            .iter()
            .position(|t| *t == target)
            .ok_or(MonitorError::NoSuchArpTarget(target))?;
        if let Some(r) = self.arp_routes.get_mut(i) {
            *r = route;
        }
        Ok(())
    }

    /// Sets how probes for an `ns_ip6_target` go out.
    pub fn set_ns_route(
        &mut self,
        target: Ipv6Addr,
        route: ProbeRoute<Ipv6Addr>,
    ) -> Result<(), MonitorError> {
        let i = self
            .options
            .ns_ip6_target()
            .iter()
            .position(|t| *t == target)
            .ok_or(MonitorError::NoSuchNsTarget(target))?;
        if let Some(r) = self.ns_routes.get_mut(i) {
            *r = route;
        }
        Ok(())
    }

    /// Sets the active member (Linux `bond_change_active_slave()`, as far as the monitors are
    /// concerned): the new active member's "last up" time becomes `now`, and if it was going
    /// back it is up at once; in active-backup style the old active member becomes a backup
    /// and the new one active.
    pub fn set_active_member(
        &mut self,
        now: Duration,
        member: Option<usize>,
    ) -> Result<(), MonitorError> {
        if let Some(m) = member {
            self.check(m)?;
        }
        self.bypass_spent = false;
        let old = self.curr_active;
        if old == member {
            return Ok(());
        }
        let now = Instant::from_duration(now);
        if let Some(n) = member {
            let going_back = {
                let m = self.member_mut(n)?;
                m.last_link_up = now;
                m.link == LinkState::Back
            };
            if going_back {
                self.member_mut(n)?.delay = 0;
                self.set_link(n, LinkState::Up, now);
            }
        }
        if self.style == MonitorStyle::ActiveBackup {
            if let Some(o) = old.filter(|o| self.member(*o).is_some()) {
                self.set_backup(o, true, now);
            }
            if let Some(n) = member {
                self.set_backup(n, false, now);
            }
        }
        self.curr_active = member;
        Ok(())
    }

    /// Sets a member's role flag directly (the engine's own role changes, e.g. 802.3ad
    /// aggregator selection, or when the monitor changes kind).
    pub fn set_member_state(
        &mut self,
        now: Duration,
        member: usize,
        state: SlaveState,
    ) -> Result<(), MonitorError> {
        self.check(member)?;
        self.set_backup(
            member,
            state == SlaveState::Backup,
            Instant::from_duration(now),
        );
        Ok(())
    }

    /// Replaces the options. Member states are kept. A monitor that was not running starts
    /// at `now`; one that keeps running keeps its schedule (as Linux's `queue_delayed_work()`
    /// leaves a pending run alone). Routes and per-target receive times follow their target
    /// address; a target slot whose ARP or NS address changed starts at `now` (Linux stamps a
    /// target slot with the time it is added).
    pub fn set_options(&mut self, now: Duration, options: MonitorOptions) {
        let now = Instant::from_duration(now);
        let old = core::mem::replace(&mut self.options, options);
        let new = &self.options;
        self.arp_routes = new
            .arp_ip_target()
            .iter()
            .map(|t| {
                old.arp_ip_target()
                    .iter()
                    .position(|o| o == t)
                    .and_then(|i| self.arp_routes.get(i).copied())
                    .unwrap_or_default()
            })
            .collect();
        self.ns_routes = new
            .ns_ip6_target()
            .iter()
            .map(|t| {
                old.ns_ip6_target()
                    .iter()
                    .position(|o| o == t)
                    .and_then(|i| self.ns_routes.get(i).copied())
                    .unwrap_or_default()
            })
            .collect();
        let changed: Vec<bool> = (0..TARGET_SLOTS)
            .map(|i| {
                old.arp_ip_target().get(i) != new.arp_ip_target().get(i)
                    || old.ns_ip6_target().get(i) != new.ns_ip6_target().get(i)
            })
            .collect();
        for m in self.members.iter_mut().flatten() {
            for (slot, c) in m.target_last_rx.iter_mut().zip(&changed) {
                if *c {
                    *slot = now;
                }
            }
        }
        if new.mii_monitoring() {
            self.next_arp = None;
            self.ab_probe_pending = None;
            self.probes.clear();
            if self.next_mii.is_none() {
                self.next_mii = Some(now);
            }
        } else if new.arp_monitoring() {
            self.next_mii = None;
            if self.next_arp.is_none() {
                self.next_arp = Some(now);
            }
        } else {
            self.next_mii = None;
            self.next_arp = None;
            self.ab_probe_pending = None;
            self.probes.clear();
        }
    }

    // ------------------------------------------------------------------ inputs

    /// A carrier change on a member, acted upon at once (a netlink link event), not at the
    /// next `miimon` run as Linux does. With the MII monitor: an up member that loses carrier
    /// is going down (or down, without `downdelay`) now; a down member that gets it back is
    /// going back (or up, without `updelay` or while `updelay` is skipped) now; a member going
    /// down/back whose carrier returns/leaves is up/down now. The rest of a delay is counted
    /// at the monitor's runs exactly as Linux counts it, so the final up/down lands on the run
    /// where Linux would put it. The ARP monitor reads the carrier at its runs.
    pub fn handle_carrier(
        &mut self,
        now: Duration,
        member: usize,
        carrier: bool,
    ) -> Result<(), MonitorError> {
        self.member_mut(member)?.carrier = carrier;
        if self.options.mii_monitoring() {
            let now = Instant::from_duration(now);
            let mut ignore = self.updelay_bypass() && !self.bypass_spent;
            if let Some(new) = self.mii_inspect(member, now, false, &mut ignore)
                && self.mii_commit(member, new, now)
            {
                self.push_select_active(now);
            }
        }
        Ok(())
    }

    /// Records a member's carrier without acting on it: the MII monitor reads it at its next
    /// run, exactly as Linux polls `netif_carrier_ok()` every `miimon` ms.
    pub fn sample_carrier(&mut self, member: usize, carrier: bool) -> Result<(), MonitorError> {
        self.member_mut(member)?.carrier = carrier;
        Ok(())
    }

    /// A frame received on a member at `now`, from the Ethernet header: give every received
    /// frame while [`wants_rx`](Self::wants_rx) (Linux's receive hook sees them all). With
    /// `arp_validate` off for the member any frame counts as activity (with filtering, any
    /// ARP or IPv6 frame); with validation only ARP and NS/NA that prove a path to a target
    /// count. Nothing is allocated; bad frames are counted and ignored.
    pub fn handle_rx(
        &mut self,
        now: Duration,
        member: usize,
        frame: &[u8],
    ) -> Result<(), MonitorError> {
        self.check(member)?;
        if !self.options.arp_monitoring() {
            return Ok(());
        }
        let now = Instant::from_duration(now);
        self.counters.rx_frames += 1;
        let eth = match EthernetFrame::new_checked(frame) {
            Ok(f) => f,
            Err(e) => {
                self.counters.count_wire(e);
                return Ok(());
            }
        };
        let proto = eth.ethertype();
        let (is_arp, is_ipv6) = (proto == ethertype::ARP, proto == ethertype::IPV6);
        let validate = self.options.arp_validate();
        let m = self.members.get_mut(member).and_then(Option::as_mut);
        let Some(m) = m else {
            return Err(MonitorError::NoSuchMember(member));
        };
        if !validate.validates(m.backup) {
            if !validate.filters() || is_arp || is_ipv6 {
                m.last_rx = now;
                self.counters.rx_unvalidated += 1;
            } else {
                self.counters.rx_filtered += 1;
            }
            return Ok(());
        }
        if !is_arp && !is_ipv6 {
            self.counters.rx_not_arp_or_ipv6 += 1;
            return Ok(());
        }
        if !eth.is_group_dst() && eth.dst() != m.mac {
            self.counters.rx_other_host += 1;
            return Ok(());
        }
        if is_arp {
            self.arp_rcv(now, member, eth.payload());
        } else {
            self.na_rcv(now, member, eth.payload());
        }
        Ok(())
    }

    /// Runs what is due at `now`: the MII or ARP monitor run, or the active-backup probe that
    /// waited for the engine's answer to [`Event::SelectActive`]. A call before anything is
    /// due does nothing.
    pub fn handle_timeout(&mut self, now: Duration) {
        let now = Instant::from_duration(now);
        if self.ab_probe_pending.is_some_and(|p| now >= p) {
            self.ab_probe_pending = None;
            self.ab_probe(now);
        }
        if self.next_mii.is_some_and(|t| now >= t) {
            self.next_mii = Some(now.plus_nanos(ms(self.options.miimon())));
            self.mii_run(now);
        }
        if self.next_arp.is_some_and(|t| now >= t) {
            self.next_arp = Some(now.plus_nanos(ms(self.options.arp_interval())));
            self.arp_run(now);
        }
    }

    // ------------------------------------------------------------------ outputs

    /// The next state change to report.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next probe to send, built into a fixed buffer.
    #[must_use]
    pub fn poll_transmit(&mut self, _now: Duration) -> Option<Transmit> {
        while let Some(p) = self.probes.pop_front() {
            let Some(m) = self.member(p.member) else {
                continue;
            };
            if let Some(t) = build_probe(&p, m.mac) {
                return Some(t);
            }
        }
        None
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        [self.ab_probe_pending, self.next_mii, self.next_arp]
            .into_iter()
            .flatten()
            .min()
            .map(Instant::to_duration)
    }

    // ------------------------------------------------------------------ internals

    fn member(&self, member: usize) -> Option<&Member> {
        self.members.get(member).and_then(Option::as_ref)
    }

    fn member_mut(&mut self, member: usize) -> Result<&mut Member, MonitorError> {
        self.members
            .get_mut(member)
            .and_then(Option::as_mut)
            .ok_or(MonitorError::NoSuchMember(member))
    }

    fn check(&self, member: usize) -> Result<(), MonitorError> {
        self.member(member)
            .map(|_| ())
            .ok_or(MonitorError::NoSuchMember(member))
    }

    fn set_link(&mut self, member: usize, state: LinkState, now: Instant) {
        let Ok(m) = self.member_mut(member) else {
            return;
        };
        let previous = m.link;
        if previous == state {
            return;
        }
        m.link = state;
        self.events.push_back(Event::Link {
            member,
            previous,
            state,
            at: now.to_duration(),
        });
    }

    fn set_backup(&mut self, member: usize, backup: bool, now: Instant) {
        let Ok(m) = self.member_mut(member) else {
            return;
        };
        if m.backup == backup {
            return;
        }
        m.backup = backup;
        let state = if backup {
            SlaveState::Backup
        } else {
            SlaveState::Active
        };
        self.events.push_back(Event::SlaveState {
            member,
            state,
            at: now.to_duration(),
        });
    }

    fn set_current_arp_slave(&mut self, member: Option<usize>, now: Instant) {
        if self.current_arp_slave == member {
            return;
        }
        self.current_arp_slave = member;
        self.events.push_back(Event::CurrentArpSlave {
            member,
            at: now.to_duration(),
        });
    }

    fn push_select_active(&mut self, now: Instant) {
        self.events.push_back(Event::SelectActive {
            at: now.to_duration(),
        });
    }

    fn count_failure(&mut self, member: usize) {
        if let Ok(m) = self.member_mut(member) {
            m.link_failure_count = m.link_failure_count.saturating_add(1);
        }
    }

    /// Whether a member coming up asks for a selection: no active member, or it is the
    /// primary, or its prio beats the active member's.
    fn up_wants_selection(&self, member: usize) -> bool {
        match self.curr_active.and_then(|a| self.member(a)) {
            None => true,
            Some(active) => {
                self.primary == Some(member)
                    || self.member(member).is_some_and(|m| m.prio > active.prio)
            }
        }
    }

    /// Linux's `ignore_updelay` at the start of an inspection.
    fn updelay_bypass(&self) -> bool {
        match self.style {
            MonitorStyle::ActiveBackup => self.curr_active.is_none(),
            MonitorStyle::LoadBalance => self.usable_members == Some(0),
        }
    }

    // ---- MII monitor (bond_mii_monitor, bond_miimon_inspect, bond_miimon_commit)

    fn mii_run(&mut self, now: Instant) {
        self.bypass_spent = false;
        let mut ignore = self.updelay_bypass();
        let mut select = false;
        for i in 0..self.members.len() {
            if self.members[i].is_none() {
                continue;
            }
            if let Some(new) = self.mii_inspect(i, now, true, &mut ignore) {
                select |= self.mii_commit(i, new, now);
            }
        }
        if select {
            self.push_select_active(now);
        }
    }

    /// One member's inspection. `tick` is true at a monitor run, where a delay counts down;
    /// false for a carrier event, which only enters the intermediate state (the countdown
    /// starts at the next run, where Linux would have entered it).
    fn mii_inspect(
        &mut self,
        member: usize,
        now: Instant,
        tick: bool,
        ignore_updelay: &mut bool,
    ) -> Option<LinkState> {
        let (downdelay, updelay) = (
            i64::from(self.options.downdelay_intervals()),
            i64::from(self.options.updelay_intervals()),
        );
        let m = self.members.get_mut(member)?.as_mut()?;
        let carrier = m.carrier;
        match m.link {
            LinkState::Up => {
                if carrier {
                    return None;
                }
                m.delay = downdelay;
                if m.delay <= 0 {
                    return Some(LinkState::Down);
                }
                if tick {
                    m.delay -= 1;
                }
                Some(LinkState::Fail)
            }
            LinkState::Fail => {
                if carrier {
                    m.last_link_up = now;
                    return Some(LinkState::Up);
                }
                if m.delay <= 0 {
                    return Some(LinkState::Down);
                }
                if tick {
                    m.delay -= 1;
                }
                None
            }
            LinkState::Down => {
                if !carrier {
                    return None;
                }
                m.delay = updelay;
                let up = Self::back_countdown(m, tick, ignore_updelay);
                if up {
                    self.bypass_spent = true;
                    Some(LinkState::Up)
                } else {
                    Some(LinkState::Back)
                }
            }
            LinkState::Back => {
                if !carrier {
                    return Some(LinkState::Down);
                }
                if Self::back_countdown(m, tick, ignore_updelay) {
                    self.bypass_spent = true;
                    Some(LinkState::Up)
                } else {
                    None
                }
            }
        }
    }

    /// The `BOND_LINK_BACK` case with carrier: up when the delay is over (or skipped).
    fn back_countdown(m: &mut Member, tick: bool, ignore_updelay: &mut bool) -> bool {
        if *ignore_updelay {
            m.delay = 0;
        }
        if m.delay <= 0 {
            *ignore_updelay = false;
            return true;
        }
        if tick {
            m.delay -= 1;
        }
        false
    }

    /// Applies one proposal; returns whether it asks for a selection.
    fn mii_commit(&mut self, member: usize, new: LinkState, now: Instant) -> bool {
        match new {
            LinkState::Up => {
                let refused = self.needs_speed_duplex
                    && self.member(member).is_some_and(|m| !m.speed_duplex_known);
                if refused {
                    self.counters.speed_duplex_unknown += 1;
                    self.set_link(member, LinkState::Down, now);
                    return false;
                }
                self.set_link(member, LinkState::Up, now);
                if let Ok(m) = self.member_mut(member) {
                    m.last_link_up = now;
                }
                self.up_wants_selection(member)
            }
            LinkState::Down => {
                self.count_failure(member);
                self.set_link(member, LinkState::Down, now);
                self.curr_active == Some(member)
            }
            LinkState::Fail | LinkState::Back => {
                self.set_link(member, new, now);
                false
            }
        }
    }

    // ---- ARP/NS monitor

    /// `bond_time_in_interval()`: `last - d <= now <= last + intervals * d + d / 2`, with `d`
    /// the exact `arp_interval` (Linux: in jiffies, `d / 2` rounded down to a jiffy).
    fn in_interval(&self, now: Instant, last: Instant, intervals: i128) -> bool {
        let d = ms(self.options.arp_interval());
        let (n, l) = (now.nanos(), last.nanos());
        l - d <= n && n <= l + intervals * d + d / 2
    }

    /// `slave_last_rx()`: with `arp_all_targets=all`, the oldest receive time over the
    /// target slots (slot 0, then one per further ARP target, as Linux walks them).
    fn slave_last_rx(&self, m: &Member) -> Instant {
        match self.options.arp_all_targets() {
            ArpAllTargets::Any => m.last_rx,
            ArpAllTargets::All => {
                let n = self.options.arp_ip_target().len().clamp(1, TARGET_SLOTS);
                m.target_last_rx[..n]
                    .iter()
                    .copied()
                    .min()
                    .unwrap_or(m.last_rx)
            }
        }
    }

    fn arp_run(&mut self, now: Instant) {
        // A probe still queued from the last run is no use any more.
        self.counters.tx_stale += self.probes.len() as u64;
        self.probes.clear();
        match self.style {
            MonitorStyle::LoadBalance => self.loadbalance_arp_mon(now),
            MonitorStyle::ActiveBackup => self.activebackup_arp_mon(now),
        }
    }

    /// `bond_loadbalance_arp_mon()`.
    fn loadbalance_arp_mon(&mut self, now: Instant) {
        let oldcurrent = self.curr_active;
        let missed_max = i128::from(self.options.arp_missed_max());
        let (mut changed, mut select) = (false, false);
        for i in 0..self.members.len() {
            let Some(m) = self.member(i) else { continue };
            let (link, last_tx, last_rx, carrier) = (m.link, m.last_tx, m.last_rx, m.carrier);
            if link != LinkState::Up {
                if self.in_interval(now, last_tx, 1) && self.in_interval(now, last_rx, 1) {
                    self.set_link(i, LinkState::Up, now);
                    changed = true;
                    select |= oldcurrent.is_none();
                }
            } else if !self.in_interval(now, last_tx, missed_max)
                || !self.in_interval(now, last_rx, missed_max)
            {
                self.set_link(i, LinkState::Down, now);
                self.count_failure(i);
                changed = true;
                select |= oldcurrent == Some(i);
            }
            if carrier {
                self.send_validate(i, now);
            }
        }
        if changed {
            // bond_slave_state_change(): up members active, down members backup.
            for i in 0..self.members.len() {
                match self.link_state(i) {
                    Some(LinkState::Up) => self.set_backup(i, false, now),
                    Some(LinkState::Down) => self.set_backup(i, true, now),
                    _ => {}
                }
            }
        }
        if select {
            self.push_select_active(now);
        }
    }

    /// `bond_activebackup_arp_mon()`: inspect, commit, probe.
    fn activebackup_arp_mon(&mut self, now: Instant) {
        let missed_max = i128::from(self.options.arp_missed_max());
        // bond_ab_arp_inspect()
        let mut proposals: Vec<(usize, LinkState)> = Vec::new();
        for i in 0..self.members.len() {
            let Some(m) = self.member(i) else { continue };
            let last_rx = self.slave_last_rx(m);
            if m.link != LinkState::Up {
                if self.in_interval(now, last_rx, 1) {
                    proposals.push((i, LinkState::Up));
                } else if m.link == LinkState::Back {
                    proposals.push((i, LinkState::Fail));
                }
                continue;
            }
            // Two intervals of grace after coming up or being made active.
            if self.in_interval(now, m.last_link_up, 2) {
                continue;
            }
            let down_backup = m.backup
                && self.current_arp_slave.is_none()
                && !self.in_interval(now, last_rx, missed_max + 1);
            let down_active = !m.backup
                && (!self.in_interval(now, m.last_tx, missed_max)
                    || !self.in_interval(now, last_rx, missed_max));
            if down_backup || down_active {
                proposals.push((i, LinkState::Down));
            }
        }
        // bond_ab_arp_commit()
        let mut select = false;
        for (i, new) in proposals {
            match new {
                LinkState::Up => {
                    if self.curr_active != Some(i) {
                        self.set_link(i, LinkState::Up, now);
                        if let Some(c) = self.current_arp_slave {
                            self.set_backup(c, true, now);
                            self.set_current_arp_slave(None, now);
                        }
                        select |= self.up_wants_selection(i);
                    }
                }
                LinkState::Down => {
                    self.count_failure(i);
                    self.set_link(i, LinkState::Down, now);
                    self.set_backup(i, true, now);
                    if self.curr_active == Some(i) {
                        self.set_current_arp_slave(None, now);
                        select = true;
                    }
                }
                LinkState::Fail => {
                    self.set_link(i, LinkState::Fail, now);
                    self.set_backup(i, true, now);
                    if self.curr_active.is_some() {
                        self.set_current_arp_slave(None, now);
                    }
                }
                LinkState::Back => {}
            }
        }
        if select {
            // Linux selects the new active member here and probes it in the same run; the
            // probe waits until the engine has answered.
            self.push_select_active(now);
            self.ab_probe_pending = Some(now);
            return;
        }
        self.ab_probe(now);
    }

    /// `bond_ab_arp_probe()`.
    fn ab_probe(&mut self, now: Instant) {
        if let Some(a) = self.curr_active {
            if self.member(a).is_some() {
                self.send_validate(a, now);
            }
            return;
        }
        // No active member: probe the next member with carrier after the one probed last
        // (or after the first member), wrapping around.
        let Some(cas) = self.current_arp_slave.or_else(|| self.members().next()) else {
            return;
        };
        let (mut before, mut next, mut found) = (None, None, false);
        for i in 0..self.members.len() {
            let Some(m) = self.member(i) else { continue };
            let (up, link) = (m.carrier, m.link);
            if !found && before.is_none() && up {
                before = Some(i);
            }
            if found && next.is_none() && up {
                next = Some(i);
            }
            if !up && link == LinkState::Up {
                // Lost carrier while up and not active: down.
                self.set_link(i, LinkState::Down, now);
                self.count_failure(i);
                self.set_backup(i, true, now);
            }
            if i == cas {
                found = true;
            }
        }
        let Some(n) = next.or(before) else { return };
        self.set_link(n, LinkState::Back, now);
        self.set_backup(n, false, now);
        self.send_validate(n, now);
        if let Ok(m) = self.member_mut(n) {
            m.last_link_up = now;
        }
        self.set_current_arp_slave(Some(n), now);
    }

    /// `bond_send_validate()`: one ARP request per ARP target and one NS per NS target on
    /// the member, each refreshing its last transmit time.
    fn send_validate(&mut self, member: usize, now: Instant) {
        let mut sent = false;
        for (i, target) in self.options.arp_ip_target().iter().enumerate() {
            let (src, vlans) = match self.arp_routes.get(i).copied().unwrap_or_default() {
                ProbeRoute::NoRoute => (None, VlanPath::NONE),
                ProbeRoute::ViaBond { src, vlans } => (src, vlans),
                ProbeRoute::OtherDevice => {
                    self.counters.tx_other_device += 1;
                    continue;
                }
            };
            let probe = Probe::Arp {
                target: *target,
                src: src.unwrap_or(Ipv4Addr::UNSPECIFIED),
            };
            self.probes.push_back(PendingProbe {
                member,
                probe,
                vlans,
            });
            self.counters.tx_arp += 1;
            sent = true;
        }
        for (i, target) in self.options.ns_ip6_target().iter().enumerate() {
            let (src, vlans) = match self.ns_routes.get(i).copied().unwrap_or_default() {
                ProbeRoute::NoRoute => (None, VlanPath::NONE),
                ProbeRoute::ViaBond { src, vlans } => (src, vlans),
                ProbeRoute::OtherDevice => {
                    self.counters.tx_other_device += 1;
                    continue;
                }
            };
            let probe = Probe::Ns {
                target: *target,
                src: src.unwrap_or(Ipv6Addr::UNSPECIFIED),
            };
            self.probes.push_back(PendingProbe {
                member,
                probe,
                vlans,
            });
            self.counters.tx_ns += 1;
            sent = true;
        }
        if sent && let Ok(m) = self.member_mut(member) {
            m.last_tx = now;
        }
    }

    /// How far to trust an ARP/NA received on a member (`bond_arp_rcv()`, `bond_na_rcv()`).
    /// `reply` is whether it is an ARP reply (any NS/NA passes: Linux does not check the type
    /// there).
    fn trust(&self, now: Instant, member: usize, reply: bool) -> Trust {
        let Some(m) = self.member(member) else {
            return Trust::None;
        };
        if !m.backup {
            return Trust::Direct;
        }
        if let Some(a) = self.curr_active.and_then(|a| self.member(a))
            && self.slave_last_rx(a) > a.last_link_up
        {
            return Trust::Swapped;
        }
        if let Some(c) = self.current_arp_slave.and_then(|c| self.member(c))
            && reply
            && self.in_interval(now, c.last_tx, 1)
        {
            return Trust::Direct;
        }
        Trust::None
    }

    fn arp_rcv(&mut self, now: Instant, member: usize, payload: &[u8]) {
        let repr = match ArpPacket::new_checked(payload).and_then(|p| ArpRepr::parse(&p)) {
            Ok(r) => r,
            Err(e) => {
                self.counters.count_wire(e);
                return;
            }
        };
        let (sip, tip) = (repr.sender_protocol_addr, repr.target_protocol_addr);
        match self.trust(now, member, repr.operation == ArpOperation::Reply) {
            Trust::Direct => self.validate_arp(now, member, sip, tip),
            Trust::Swapped => self.validate_arp(now, member, tip, sip),
            Trust::None => self.counters.arp_untrusted += 1,
        }
    }

    /// `bond_validate_arp()`: `sip` must be a target, `tip` one of our addresses.
    fn validate_arp(&mut self, now: Instant, member: usize, sip: Ipv4Addr, tip: Ipv4Addr) {
        let slot = (!sip.is_unspecified() && self.bond_ipv4.contains(&tip))
            .then(|| self.options.arp_ip_target().iter().position(|t| *t == sip))
            .flatten();
        self.refresh(now, member, slot, true);
    }

    fn na_rcv(&mut self, now: Instant, member: usize, payload: &[u8]) {
        let repr = match NdPacket::new_checked(payload).and_then(|p| NdiscRepr::parse(&p)) {
            Ok(r) => r,
            Err(e) => {
                self.counters.count_wire(e);
                return;
            }
        };
        let (saddr, daddr) = (repr.src_addr, repr.dst_addr);
        match self.trust(now, member, true) {
            Trust::Direct => self.validate_na(now, member, saddr, daddr),
            Trust::Swapped => self.validate_na(now, member, daddr, saddr),
            Trust::None => self.counters.nd_untrusted += 1,
        }
    }

    /// `bond_validate_na()`: `saddr` must be a target (or a target's solicited-node address,
    /// which is what a swapped NS of ours carries), `daddr` all-nodes or one of our addresses.
    fn validate_na(&mut self, now: Instant, member: usize, saddr: Ipv6Addr, daddr: Ipv6Addr) {
        let ok = !saddr.is_unspecified() && (daddr == ALL_NODES || self.bond_ipv6.contains(&daddr));
        let slot = ok
            .then(|| {
                self.options
                    .ns_ip6_target()
                    .iter()
                    .position(|t| *t == saddr || solicited_node(t) == saddr)
            })
            .flatten();
        self.refresh(now, member, slot, false);
    }

    fn refresh(&mut self, now: Instant, member: usize, slot: Option<usize>, arp: bool) {
        match slot {
            Some(i) => {
                if let Ok(m) = self.member_mut(member) {
                    m.last_rx = now;
                    if let Some(s) = m.target_last_rx.get_mut(i) {
                        *s = now;
                    }
                }
                if arp {
                    self.counters.arp_validated += 1;
                } else {
                    self.counters.nd_validated += 1;
                }
            }
            None if arp => self.counters.arp_not_validated += 1,
            None => self.counters.nd_not_validated += 1,
        }
    }
}

/// Builds a probe frame the way Linux does: an ARP request from the member's MAC to the
/// broadcast address (`arp_create()`: target hardware address zero), or an NS from the
/// member's MAC to the target's solicited-node group (`ndisc_ns_create()`: hop limit 255, a
/// source link-layer address option unless the source is `::`).
fn build_probe(p: &PendingProbe, mac: [u8; 6]) -> Option<Transmit> {
    let mut buf = [0u8; MAX_PROBE_FRAME_LEN];
    let len = match p.probe {
        Probe::Arp { target, src } => {
            let eth = EthernetRepr {
                dst: [0xff; 6],
                src: mac,
                vlans: p.vlans,
                ethertype: ethertype::ARP,
            };
            let h = eth.emit(&mut buf).ok()?;
            let arp = ArpRepr {
                operation: ArpOperation::Request,
                sender_hardware_addr: mac,
                sender_protocol_addr: src,
                target_hardware_addr: [0; 6],
                target_protocol_addr: target,
            };
            h + arp.emit(buf.get_mut(h..)?).ok()?
        }
        Probe::Ns { target, src } => {
            let group = solicited_node(&target);
            let g = group.octets();
            let eth = EthernetRepr {
                dst: [0x33, 0x33, g[12], g[13], g[14], g[15]],
                src: mac,
                vlans: p.vlans,
                ethertype: ethertype::IPV6,
            };
            let h = eth.emit(&mut buf).ok()?;
            let ns = NdiscRepr {
                message: NdMessage::NeighborSolicit,
                src_addr: src,
                dst_addr: group,
                hop_limit: 255,
                target_addr: target,
                lladdr: (!src.is_unspecified()).then_some(mac),
            };
            h + ns.emit(buf.get_mut(h..)?).ok()?
        }
    };
    Some(Transmit {
        member: p.member,
        probe: p.probe,
        len,
        buf,
    })
}
