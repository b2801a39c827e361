//! The [`Bond`]: state, inputs, outputs, and the loop that keeps the sub-machines and the
//! published [`Plan`] consistent.

use core::net::{Ipv4Addr, Ipv6Addr};
use core::time::Duration;
use std::collections::VecDeque;
use std::sync::Arc;

use arp_alb::Alb;
use link_monitor::{LinkMonitor, LinkState, MonitorStyle, ProbeRoute, VlanPath, VlanTag};

use super::MacAddr;
use super::event::{Event, Transmit, TransmitKind};
use super::frame;
use super::member::{LinkInfo, Member, MemberStatus};
use super::notify::Notify;
use super::options::{BondOptions, Mode, OptionError, OptionWarning};
use super::plan::{Plan, Reciprocal, Rx, RxDrop, Tx, TxDrop, Worker, WorkerCounters};

/// Settings of a bond that are not bonding options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondConfig {
    /// The bond's name (`bond0`), used in the status text.
    pub name: String,
    /// The bond's MAC address, if the user set one; otherwise the first member's MAC
    /// becomes the bond's (as Linux does with its random initial address).
    pub mac: Option<MacAddr>,
    /// The bond's MTU; members are given it when they join.
    pub mtu: u32,
    /// Seed of every random choice (`packets_per_slave=0`, the random MAC of
    /// `fail_over_mac=follow`), so runs are reproducible.
    pub seed: u64,
}

impl Default for BondConfig {
    fn default() -> Self {
        Self {
            name: "bond0".to_string(),
            mac: None,
            mtu: 1500,
            seed: 0,
        }
    }
}

/// The caller's mistakes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No member with this index.
    #[error("member {0} does not exist")]
    NoSuchMember(usize),
    /// A member with this index exists already.
    #[error("member {0} already exists")]
    MemberExists(usize),
    /// Member indices go from 0 to 63.
    #[error("member index {0} is too large (indices go from 0 to 63)")]
    MemberIndexTooLarge(usize),
    /// Another member has this name.
    #[error("a member named {0:?} already exists")]
    DuplicateName(String),
    /// Not an interface name Linux would accept.
    #[error("{0:?} is not a valid interface name")]
    InvalidName(String),
    /// Not a unicast MAC address.
    #[error("{0} is not a valid unicast MAC address")]
    InvalidMac(MacAddr),
    /// balance-tlb/alb: the member's MAC is already in use and no free one is left.
    #[error(
        "member {0} cannot join: its MAC address is in use in the bond and no other member \
         has a free one"
    )]
    NoFreeMac(usize),
    /// An invalid option.
    #[error(transparent)]
    Option(#[from] OptionError),
}

/// A member's frame counters, summed over every worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemberCounters {
    /// Frames sent from the host.
    pub tx_frames: u64,
    /// Their bytes.
    pub tx_bytes: u64,
    /// Frames received and delivered (or consumed).
    pub rx_frames: u64,
    /// Their bytes.
    pub rx_bytes: u64,
}

/// The bond's counters: per member, per drop reason, per control frame kind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BondCounters {
    /// Per member, in the bond's member order.
    pub members: Vec<(usize, MemberCounters)>,
    /// Host frames dropped, by [`TxDrop`] reason (index = `TxDrop::ALL` order).
    pub tx_drop: [u64; TxDrop::COUNT],
    /// Received frames dropped, by [`RxDrop`] reason.
    pub rx_drop: [u64; RxDrop::COUNT],
    /// Control frames sent, by [`TransmitKind`].
    pub control_tx: [u64; TransmitKind::COUNT],
    /// Host IGMP/MLD reports the bond learnt (for `resend_igmp`).
    pub membership_reports_seen: u64,
    /// Events dropped because nobody polled them.
    pub events_dropped: u64,
}

/// The host's addresses on the bond (and on VLAN devices above it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HostAddresses {
    pub(crate) v4: Vec<(Option<u16>, Ipv4Addr)>,
    pub(crate) v6: Vec<(Option<u16>, Ipv6Addr)>,
}

const EVENT_QUEUE_CAP: usize = 4096;

/// One bond, sans-IO. See the [module documentation](super) for the model, the poll order
/// and the differences from Linux.
///
/// Methods come in four groups: getters; inputs ([`handle_rx`](Self::handle_rx),
/// [`select_tx`](Self::select_tx), [`handle_link`](Self::handle_link),
/// [`handle_timeout`](Self::handle_timeout)); mutators (members, options, addresses,
/// [`open`](Self::open)/[`close`](Self::close)); outputs
/// ([`poll_event`](Self::poll_event), [`poll_transmit`](Self::poll_transmit),
/// [`poll_timeout`](Self::poll_timeout)).
#[derive(Debug)]
pub struct Bond {
    pub(crate) name: String,
    pub(crate) opts: BondOptions,
    pub(crate) up: bool,
    pub(crate) bond_mac: MacAddr,
    /// Linux `NET_ADDR_RANDOM`: no user address and no member gave one yet (or all left).
    pub(crate) bond_mac_random: bool,
    pub(crate) mtu: u32,
    pub(crate) members: Vec<Option<Member>>,
    /// Member indices in the order they joined (Linux's slave list).
    pub(crate) order: Vec<usize>,
    pub(crate) curr_active: Option<usize>,
    pub(crate) primary: Option<usize>,
    pub(crate) force_primary: bool,
    pub(crate) carrier: bool,
    pub(crate) monitor: LinkMonitor,
    pub(crate) lacp: Option<lacp::System>,
    pub(crate) alb: Option<Alb>,
    pub(crate) fallback: bool,
    pub(crate) notify: Notify,
    pub(crate) host: HostAddresses,
    pub(crate) events: VecDeque<Event>,
    pub(crate) transmits: VecDeque<Transmit>,
    pub(crate) plan: Arc<Plan>,
    pub(crate) worker: Worker,
    pub(crate) workers: Vec<Arc<WorkerCounters>>,
    pub(crate) seed: u64,
    pub(crate) rng: u64,
    pub(crate) counters: BondCounters,
    pub(crate) warnings: Vec<OptionWarning>,
    pub(crate) reported_aggregator: Option<u16>,
    pub(crate) routes_v4: Vec<(Ipv4Addr, ProbeRoute<Ipv4Addr>)>,
    pub(crate) routes_v6: Vec<(Ipv6Addr, ProbeRoute<Ipv6Addr>)>,
}

impl Bond {
    /// A bond with these options, down and without members (as `ip link add` leaves it).
    /// Add members, then [`open`](Self::open) it.
    pub fn new(now: Duration, options: BondOptions, config: BondConfig) -> Result<Self, Error> {
        if let Some(mac) = config.mac {
            if !mac.is_valid_unicast() {
                return Err(Error::InvalidMac(mac));
            }
        }
        let mode = options.mode();
        let monitor = LinkMonitor::new(now, options.monitor().clone(), monitor_style(mode));
        let counters = Arc::new(WorkerCounters::default());
        let mut bond = Self {
            name: config.name,
            up: false,
            bond_mac: config.mac.unwrap_or(MacAddr::ZERO),
            bond_mac_random: config.mac.is_none(),
            mtu: config.mtu,
            members: Vec::new(),
            order: Vec::new(),
            curr_active: None,
            primary: None,
            force_primary: false,
            carrier: false,
            monitor,
            lacp: None,
            alb: None,
            fallback: false,
            notify: Notify::default(),
            host: HostAddresses::default(),
            events: VecDeque::with_capacity(64),
            transmits: VecDeque::with_capacity(16),
            plan: Arc::new(Plan::empty(mode)),
            worker: Worker::new(config.seed ^ 0x5eed, counters.clone()),
            workers: vec![counters],
            seed: config.seed,
            rng: config.seed,
            counters: BondCounters::default(),
            warnings: Vec::new(),
            reported_aggregator: None,
            routes_v4: Vec::new(),
            routes_v6: Vec::new(),
            opts: options,
        };
        bond.monitor.set_needs_speed_duplex(false);
        bond.reset_mode_machines(now);
        bond.settle(now);
        Ok(bond)
    }

    /// A bond from a `modprobe`-style option string (see
    /// [`BondOptions::from_modprobe`]); the warnings are kept for
    /// [`take_warnings`](Self::take_warnings).
    pub fn from_modprobe(now: Duration, options: &str, config: BondConfig) -> Result<Self, Error> {
        let (o, w) = BondOptions::from_modprobe(options)?;
        let mut b = Self::new(now, o, config)?;
        b.warnings = w;
        Ok(b)
    }

    // ------------------------------------------------------------------ getters

    /// The bond's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The options in force.
    pub fn options(&self) -> &BondOptions {
        &self.opts
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.opts.mode()
    }

    /// Whether the bond is open (up).
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// The bond's MAC address (zero until a member joins, unless one was configured).
    pub fn mac(&self) -> MacAddr {
        self.bond_mac
    }

    /// The bond's MTU.
    pub fn mtu(&self) -> u32 {
        self.mtu
    }

    /// The bond's carrier (`MII Status` of the bond).
    pub fn carrier(&self) -> bool {
        self.carrier
    }

    /// The active member (`curr_active_slave`).
    pub fn active_member(&self) -> Option<usize> {
        self.curr_active
    }

    /// The primary member, if `primary` names a member.
    pub fn primary_member(&self) -> Option<usize> {
        self.primary
    }

    /// Whether the LACP fallback (`lacp_fallback=active-backup`) runs the bond as
    /// active-backup now.
    pub fn lacp_fallback_engaged(&self) -> bool {
        self.fallback
    }

    /// Member indices in the bond's order (the order they joined).
    pub fn member_indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.order.iter().copied()
    }

    /// The index of the member called `name`.
    pub fn member_by_name(&self, name: &str) -> Option<usize> {
        self.order
            .iter()
            .copied()
            .find(|&i| self.m(i).is_some_and(|m| m.name == name))
    }

    /// A member's state.
    pub fn member(&self, index: usize) -> Option<MemberStatus> {
        let m = self.m(index)?;
        Some(MemberStatus {
            index,
            name: m.name.clone(),
            perm_mac: m.perm_mac,
            mac: m.mac,
            link_info: m.link_info,
            link: m.link,
            active: !m.backup,
            inactive: m.inactive,
            queue_id: m.queue_id,
            prio: m.prio,
            link_failure_count: self.monitor.link_failure_count(index).unwrap_or(0),
        })
    }

    /// The current plan, for datapath workers.
    pub fn plan(&self) -> Arc<Plan> {
        self.plan.clone()
    }

    /// A new worker for the fast path; its counters are summed by
    /// [`counters`](Self::counters).
    pub fn new_worker(&mut self) -> Worker {
        let c = Arc::new(WorkerCounters::default());
        self.workers.push(c.clone());
        let seed = self
            .seed
            .wrapping_add((self.workers.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        Worker::new(seed, c)
    }

    /// The LACP system (802.3ad).
    pub fn lacp(&self) -> Option<&lacp::System> {
        self.lacp.as_ref()
    }

    /// The link monitor.
    pub fn monitor(&self) -> &LinkMonitor {
        &self.monitor
    }

    /// The TLB/RLB machine (balance-tlb, balance-alb).
    pub fn alb(&self) -> Option<&Alb> {
        self.alb.as_ref()
    }

    /// Warnings from the option strings given so far (cleared by the call).
    pub fn take_warnings(&mut self) -> Vec<OptionWarning> {
        core::mem::take(&mut self.warnings)
    }

    /// The counters, the workers' summed.
    pub fn counters(&self) -> BondCounters {
        let mut c = self.counters.clone();
        c.members = self
            .order
            .iter()
            .map(|&i| (i, MemberCounters::default()))
            .collect();
        for w in &self.workers {
            for (i, mc) in c.members.iter_mut() {
                let ld =
                    |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
                let cells = &w.member[*i];
                mc.tx_frames += ld(&cells.tx_frames);
                mc.tx_bytes += ld(&cells.tx_bytes);
                mc.rx_frames += ld(&cells.rx_frames);
                mc.rx_bytes += ld(&cells.rx_bytes);
            }
            for k in 0..TxDrop::COUNT {
                c.tx_drop[k] += w.tx_drop[k].load(std::sync::atomic::Ordering::Relaxed);
            }
            for k in 0..RxDrop::COUNT {
                c.rx_drop[k] += w.rx_drop[k].load(std::sync::atomic::Ordering::Relaxed);
            }
        }
        c
    }

    pub(crate) fn m(&self, i: usize) -> Option<&Member> {
        self.members.get(i)?.as_ref()
    }

    pub(crate) fn mm(&mut self, i: usize) -> Option<&mut Member> {
        self.members.get_mut(i)?.as_mut()
    }

    pub(crate) fn has_members(&self) -> bool {
        !self.order.is_empty()
    }

    /// Carrier and `BOND_LINK_UP`.
    pub(crate) fn link_up(&self, i: usize) -> bool {
        self.m(i)
            .is_some_and(|m| m.link_info.carrier && m.link == LinkState::Up)
    }

    /// `bond_slave_can_tx()`.
    pub(crate) fn can_tx(&self, i: usize) -> bool {
        self.m(i)
            .is_some_and(|m| m.link_info.carrier && m.link == LinkState::Up && !m.backup)
    }

    // ------------------------------------------------------------------ open / close

    /// Brings the bond up (`bond_open()`): monitors, LACP and ALB start; frames flow.
    pub fn open(&mut self, now: Duration) {
        if self.up {
            return;
        }
        self.up = true;
        // Frames queued while the bond was down (the other ports' LACPDUs taken out of the
        // LACP system with a released member's farewell) were decided for a state that has
        // passed and may name a port that cannot send now; they are dropped (the ports'
        // periodic LACPDUs follow as usual).
        self.transmits.clear();
        let mode = self.mode();
        for k in 0..self.order.len() {
            let i = self.order[k];
            if mode.uses_primary() && Some(i) != self.curr_active {
                self.set_slave_inactive_flags(now, i);
            } else if mode != Mode::Ieee8023ad {
                self.set_slave_active_flags(now, i);
            }
        }
        // The monitor runs from now (a run that was due while down runs at once).
        self.monitor.set_options(now, self.opts.monitor().clone());
        if mode == Mode::Ieee8023ad {
            for k in 0..self.order.len() {
                let i = self.order[k];
                self.join_slow_mcast(i);
            }
        }
        if let Some(name) = self.opts.active_slave.take() {
            match self.set_option(now, "active_slave", &name) {
                Ok(w) => self.warnings.extend(w),
                Err(e) => self.warnings.push(OptionWarning::new(e.to_string())),
            }
        }
        self.settle(now);
        // What fell due while the bond was down (the monitor's run, LACP and ALB timers)
        // runs now, as Linux queues each of its works with no delay in bond_open(): the
        // next deadline is never one that passed while the bond was down.
        self.handle_timeout(now);
    }

    /// Takes the bond down (`bond_close()`): nothing is sent or received; members stay.
    pub fn close(&mut self, now: Duration) {
        if !self.up {
            return;
        }
        self.up = false;
        self.notify.stop();
        for k in 0..self.order.len() {
            let i = self.order[k];
            self.leave_slow_mcast(i);
        }
        self.settle(now);
    }

    // ------------------------------------------------------------------ inputs

    /// A frame received on `member`, from the Ethernet header: deliver it to the host,
    /// leave it on the member (link-local on an inactive member), consume it (LACPDU,
    /// Marker), or drop it (counted by reason). The bond's receive probes (LACP, the ARP/NS
    /// monitor, balance-alb's RLB) see it first, as in Linux. Never [`Rx::ViaBond`].
    ///
    /// An index that is not a member is not an error here: the frame is dropped and
    /// counted (`unknown_member`), so a datapath can call this blindly.
    pub fn handle_rx(&mut self, now: Duration, member: usize, frame: &mut [u8]) -> Rx {
        let rx = match self.plan.classify(member, frame, false) {
            Rx::ViaBond => self.rx_probes(now, member, frame),
            rx => rx,
        };
        self.count_rx(member, rx, frame.len());
        rx
    }

    /// The receive probes, then the exact-match rule with the flags they left.
    fn rx_probes(&mut self, now: Duration, member: usize, frame: &mut [u8]) -> Rx {
        let mut consumed = false;
        if let Some(l) = self.lacp.as_mut() {
            if matches!(
                l.handle_rx(now, member, frame),
                Ok(lacp::Rx::Lacpdu | lacp::Rx::Loopback | lacp::Rx::Marker | lacp::Rx::Dropped(_))
            ) {
                consumed = true;
            }
        }
        if !consumed && self.monitor.wants_rx() {
            let _ = self.monitor.handle_rx(now, member, frame);
        }
        if !consumed {
            if let Some(a) = self.alb.as_mut() {
                let _ = a.handle_rx(now, member, frame);
            }
        }
        self.settle(now);
        if consumed {
            return Rx::Consume;
        }
        match frame::dst(frame) {
            Some(dst) => {
                let rx = self.plan.exact_match(member, dst);
                if rx == Rx::Deliver && self.mode() == Mode::BalanceAlb {
                    self.plan.alb_rewrite_dst(member, frame, dst);
                }
                rx
            }
            None => Rx::Drop(RxDrop::Runt),
        }
    }

    fn count_rx(&mut self, member: usize, rx: Rx, len: usize) {
        // The Bond counts through its own worker.
        self.worker.count_rx(member, rx, len);
    }

    /// Chooses the member(s) for a frame the host sent (the single-threaded equivalent of
    /// [`Plan::select_tx`] for every mode, balance-tlb/alb included); may rewrite the
    /// source MAC in place (balance-tlb/alb). Never [`Tx::ViaBond`].
    pub fn select_tx(&mut self, now: Duration, frame: &mut [u8]) -> Tx {
        self.select_tx_inner(now, frame, None)
    }

    /// [`select_tx`](Self::select_tx) for a frame with a queue mapping (see
    /// [`Plan::select_tx_on_queue`]).
    pub fn select_tx_on_queue(&mut self, now: Duration, frame: &mut [u8], queue: u16) -> Tx {
        self.select_tx_inner(now, frame, Some(queue))
    }

    fn select_tx_inner(&mut self, now: Duration, frame: &mut [u8], queue: Option<u16>) -> Tx {
        if self.plan.snoop_reports && self.up && frame::is_membership_report(frame) {
            self.counters.membership_reports_seen += 1;
            self.notify.learn_report(frame);
        }
        let tx = match self.plan.select(&mut self.worker, frame, queue, true) {
            Tx::ViaBond => self.alb_select_tx(now, frame),
            tx => tx,
        };
        self.count_tx(tx, frame.len());
        tx
    }

    fn count_tx(&mut self, tx: Tx, len: usize) {
        self.worker.count_tx(tx, len);
    }

    /// A member's link changed (carrier, speed, duplex), from a netlink event. Acted upon
    /// at once: with `miimon`, a member that loses carrier is going down (or down, without
    /// `downdelay`) now, not at the next `miimon` run as in Linux, so an active-backup
    /// bond fails over within this call. Use [`sample_link`](Self::sample_link) for
    /// Linux's polling behaviour.
    pub fn handle_link(
        &mut self,
        now: Duration,
        member: usize,
        link: LinkInfo,
    ) -> Result<(), Error> {
        self.update_link(now, member, link, true)
    }

    /// Records a member's link without acting on carrier until the next `miimon` run,
    /// exactly as Linux polls `netif_carrier_ok()` (speed and duplex changes still apply
    /// at once, as Linux's `NETDEV_CHANGE` handling does).
    pub fn sample_link(
        &mut self,
        now: Duration,
        member: usize,
        link: LinkInfo,
    ) -> Result<(), Error> {
        self.update_link(now, member, link, false)
    }

    fn update_link(
        &mut self,
        now: Duration,
        member: usize,
        link: LinkInfo,
        immediate: bool,
    ) -> Result<(), Error> {
        let needs = self.mode().needs_speed_duplex();
        let m = self.mm(member).ok_or(Error::NoSuchMember(member))?;
        let old = core::mem::replace(&mut m.link_info, link);
        let lacp_enabled = m.lacp_port_enabled;
        let carrier = effective_carrier(&link, needs);
        if immediate {
            let _ = self.monitor.handle_carrier(now, member, carrier);
        } else {
            let _ = self.monitor.sample_carrier(member, carrier);
        }
        if (old.speed_mbps, old.duplex) != (link.speed_mbps, link.duplex) {
            // bond_3ad_adapter_speed_duplex_changed(): new keys while the port is enabled.
            if lacp_enabled {
                if let Some(l) = self.lacp.as_mut() {
                    let _ = l.handle_link(now, member, lacp_link(&link, true));
                }
            }
            if let (Some(a), Some(s)) = (self.alb.as_mut(), link.speed_mbps) {
                let _ = a.set_speed(member, s);
            }
        }
        self.settle(now);
        Ok(())
    }

    /// Runs what is due at `now` (monitors, LACP timers, ALB, peer notifications, IGMP
    /// resends). A call before anything is due does nothing.
    pub fn handle_timeout(&mut self, now: Duration) {
        if !self.up {
            return;
        }
        self.monitor.handle_timeout(now);
        self.settle(now);
        if let Some(l) = self.lacp.as_mut() {
            l.handle_timeout(now);
        }
        self.settle(now);
        if let Some(a) = self.alb.as_mut() {
            a.handle_timeout(now);
        }
        self.settle(now);
        self.notify_timeout(now);
        self.settle(now);
    }

    // ------------------------------------------------------------------ addresses

    /// The host's addresses on the bond device. A user-space bond must learn them itself:
    /// they are the addresses of its gratuitous ARPs and unsolicited NAs after a failover,
    /// the addresses ARP/NS replies must be for, and the sources of the monitor's probes.
    pub fn set_host_addresses(&mut self, now: Duration, ipv4: &[Ipv4Addr], ipv6: &[Ipv6Addr]) {
        self.set_vlan_addresses(now, None, ipv4, ipv6);
    }

    /// The host's addresses on an 802.1Q VLAN device above the bond (`bond0.VID`): peer
    /// notifications for them go out tagged, and balance-tlb/alb learning frames are sent
    /// on the VLAN too. An empty list removes the VLAN.
    pub fn set_vlan_host_addresses(
        &mut self,
        now: Duration,
        vid: u16,
        ipv4: &[Ipv4Addr],
        ipv6: &[Ipv6Addr],
    ) {
        self.set_vlan_addresses(now, Some(vid & 0x0fff), ipv4, ipv6);
    }

    fn set_vlan_addresses(
        &mut self,
        now: Duration,
        vlan: Option<u16>,
        ipv4: &[Ipv4Addr],
        ipv6: &[Ipv6Addr],
    ) {
        self.host.v4.retain(|(v, _)| *v != vlan);
        self.host.v6.retain(|(v, _)| *v != vlan);
        self.host.v4.extend(ipv4.iter().map(|a| (vlan, *a)));
        self.host.v6.extend(ipv6.iter().map(|a| (vlan, *a)));
        self.sync_addresses();
        self.settle(now);
    }

    /// Overrides how the monitor's probes for one `arp_ip_target` leave (by default: via
    /// the bond, from the host address that shares the longest prefix with the target, on
    /// that address's VLAN).
    pub fn set_arp_probe_route(&mut self, target: Ipv4Addr, route: ProbeRoute<Ipv4Addr>) {
        self.routes_v4.retain(|(t, _)| *t != target);
        self.routes_v4.push((target, route));
        self.sync_addresses();
    }

    /// Overrides how the monitor's probes for one `ns_ip6_target` leave.
    pub fn set_ns_probe_route(&mut self, target: Ipv6Addr, route: ProbeRoute<Ipv6Addr>) {
        self.routes_v6.retain(|(t, _)| *t != target);
        self.routes_v6.push((target, route));
        self.sync_addresses();
    }

    /// Tells the monitor and the ALB machine about the host's addresses and VLANs.
    pub(crate) fn sync_addresses(&mut self) {
        let v4: Vec<Ipv4Addr> = self.host.v4.iter().map(|(_, a)| *a).collect();
        let v6: Vec<Ipv6Addr> = self.host.v6.iter().map(|(_, a)| *a).collect();
        self.monitor.set_bond_addresses(&v4, &v6);
        let targets: Vec<Ipv4Addr> = self.opts.monitor().arp_ip_target().to_vec();
        for t in targets {
            let route =
                self.routes_v4
                    .iter()
                    .find(|(x, _)| *x == t)
                    .map(|(_, r)| *r)
                    .unwrap_or_else(|| {
                        let best =
                            self.host.v4.iter().max_by_key(|(_, a)| {
                                (u32::from(*a) ^ u32::from(t)).leading_zeros()
                            });
                        ProbeRoute::ViaBond {
                            src: best.map(|(_, a)| *a),
                            vlans: vlan_path(best.and_then(|(v, _)| *v)),
                        }
                    });
            let _ = self.monitor.set_arp_route(t, route);
        }
        let targets: Vec<Ipv6Addr> = self.opts.monitor().ns_ip6_target().to_vec();
        for t in targets {
            let route =
                self.routes_v6
                    .iter()
                    .find(|(x, _)| *x == t)
                    .map(|(_, r)| *r)
                    .unwrap_or_else(|| {
                        let best =
                            self.host.v6.iter().max_by_key(|(_, a)| {
                                (u128::from(*a) ^ u128::from(t)).leading_zeros()
                            });
                        ProbeRoute::ViaBond {
                            src: best.map(|(_, a)| *a),
                            vlans: vlan_path(best.and_then(|(v, _)| *v)),
                        }
                    });
            let _ = self.monitor.set_ns_route(t, route);
        }
        if let Some(a) = self.alb.as_mut() {
            let mut vids: Vec<u16> = self
                .host
                .v4
                .iter()
                .filter_map(|(v, _)| *v)
                .chain(self.host.v6.iter().filter_map(|(v, _)| *v))
                .collect();
            vids.sort_unstable();
            vids.dedup();
            let vlans: Vec<arp_alb::Vlan> = vids
                .into_iter()
                .map(|vid| arp_alb::Vlan {
                    tpid: frame::ETH_P_8021Q,
                    vid,
                    mac: None,
                })
                .collect();
            let _ = a.set_vlans(&vlans);
        }
    }

    /// Sets the bond's MAC address (`bond_set_mac_address()`): every member of modes 0-4
    /// takes it (active-backup with `fail_over_mac`: nothing changes, as in Linux);
    /// balance-tlb/alb hand it to the active member.
    pub fn set_mac(&mut self, now: Duration, mac: MacAddr) -> Result<(), Error> {
        if !mac.is_valid_unicast() {
            return Err(Error::InvalidMac(mac));
        }
        let mode = self.mode();
        if mode == Mode::ActiveBackup && self.opts.fail_over_mac() != super::FailOverMac::None {
            return Ok(());
        }
        self.bond_mac = mac;
        self.bond_mac_random = false;
        self.push_event(Event::SetBondMac { mac });
        if mode.is_lb() {
            if let Some(a) = self.alb.as_mut() {
                let _ = a.set_bond_mac(now, mac.into());
            }
        } else {
            for k in 0..self.order.len() {
                let i = self.order[k];
                self.set_member_mac(i, mac);
            }
        }
        if let Some(l) = self.lacp.as_mut() {
            l.set_bond_mac(now, mac.into());
        }
        self.settle(now);
        Ok(())
    }

    /// Sets the bond's MTU: every member is given it (`bond_change_mtu()`).
    pub fn set_mtu(&mut self, now: Duration, mtu: u32) {
        self.mtu = mtu;
        for k in 0..self.order.len() {
            let member = self.order[k];
            self.push_event(Event::SetMemberMtu { member, mtu });
        }
        self.settle(now);
    }

    // ------------------------------------------------------------------ outputs

    /// The next event or request, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next control frame to send, if any: LACPDUs and Marker Responses, monitor
    /// probes, balance-tlb/alb learning frames and client updates, then the bond's own
    /// (gratuitous ARP, unsolicited NA, re-sent membership reports). Nothing while the bond
    /// is down.
    pub fn poll_transmit(&mut self, now: Duration) -> Option<Transmit> {
        if !self.up {
            return None;
        }
        let t = self.next_transmit(now)?;
        self.counters.control_tx[t.kind.index()] += 1;
        Some(t)
    }

    fn next_transmit(&mut self, now: Duration) -> Option<Transmit> {
        if let Some(l) = self.lacp.as_mut() {
            if let Some(t) = l.poll_transmit(now) {
                let kind = if t.frame.as_bytes().get(14) == Some(&1) {
                    TransmitKind::Lacpdu
                } else {
                    TransmitKind::MarkerResponse
                };
                return Some(Transmit::new(t.port, kind, t.frame.as_bytes()));
            }
        }
        if let Some(t) = self.monitor.poll_transmit(now) {
            let kind = match t.probe {
                link_monitor::Probe::Arp { .. } => TransmitKind::ArpProbe,
                link_monitor::Probe::Ns { .. } => TransmitKind::NsProbe,
            };
            return Some(Transmit::new(t.member, kind, t.frame()));
        }
        if let Some(a) = self.alb.as_mut() {
            if let Some(t) = a.poll_transmit(now) {
                let kind = match t.kind {
                    arp_alb::TransmitKind::LearningFrame => TransmitKind::LearningFrame,
                    _ => TransmitKind::RlbUpdate,
                };
                return Some(Transmit::new(t.member, kind, t.frame()));
            }
        }
        self.transmits.pop_front()
    }

    /// The next deadline: call [`handle_timeout`](Self::handle_timeout) at or after it.
    /// `None` while the bond is down or nothing is scheduled.
    pub fn poll_timeout(&self) -> Option<Duration> {
        if !self.up {
            return None;
        }
        [
            self.monitor.poll_timeout(),
            self.lacp.as_ref().and_then(lacp::System::poll_timeout),
            self.alb.as_ref().and_then(Alb::poll_timeout),
            self.notify.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ------------------------------------------------------------------ internals

    pub(crate) fn push_event(&mut self, e: Event) {
        if self.events.len() >= EVENT_QUEUE_CAP {
            self.events.pop_front();
            self.counters.events_dropped += 1;
        }
        self.events.push_back(e);
    }

    /// A random, locally administered unicast MAC (for `fail_over_mac=follow`).
    pub(crate) fn random_mac(&mut self) -> MacAddr {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let b = z.to_be_bytes();
        MacAddr([(b[0] & 0xfe) | 0x02, b[1], b[2], b[3], b[4], b[5]])
    }

    /// Records a member's new MAC and asks the I/O layer to program it.
    pub(crate) fn set_member_mac(&mut self, member: usize, mac: MacAddr) {
        let Some(m) = self.mm(member) else { return };
        if m.mac == mac {
            return;
        }
        m.mac = mac;
        let _ = self.monitor.set_member_mac(member, mac.0);
        self.push_event(Event::SetMemberMac { member, mac });
    }

    /// Creates the mode's machines (LACP, ALB) for the current options; called at creation
    /// and when the mode changes (which needs a bond without members).
    pub(crate) fn reset_mode_machines(&mut self, now: Duration) {
        let mode = self.mode();
        self.monitor = LinkMonitor::new(now, self.opts.monitor().clone(), monitor_style(mode));
        self.monitor.set_needs_speed_duplex(false);
        self.lacp = if mode == Mode::Ieee8023ad {
            lacp::System::new(self.opts.lacp_config(self.bond_mac)).ok()
        } else {
            None
        };
        self.alb = None;
        if self.fallback {
            // The LACP fallback ends with the mode; say so, as when a partner answers.
            self.fallback = false;
            self.push_event(Event::LacpFallback { engaged: false });
        }
        self.sync_addresses();
    }

    /// Processes what the sub-machines reported until nothing changes, then updates the
    /// bond's carrier and publishes a new plan if anything in it changed.
    pub(crate) fn settle(&mut self, now: Duration) {
        for _ in 0..32 {
            let mut changed = false;
            while let Some(e) = self.monitor.poll_event() {
                changed = true;
                self.on_monitor_event(now, e);
            }
            changed |= self.lacp_settle(now);
            changed |= self.alb_settle(now);
            if !changed {
                break;
            }
        }
        self.update_carrier(now);
        self.publish_plan();
    }

    fn on_monitor_event(&mut self, now: Duration, e: link_monitor::Event) {
        use link_monitor::{Event as M, SlaveState};
        match e {
            M::Link { member, state, .. } => self.commit_link(now, member, state),
            M::SelectActive { .. } => self.select_active_slave(now),
            M::CurrentArpSlave { .. } => {}
            M::SlaveState { member, state, .. } => {
                let backup = state == SlaveState::Backup;
                let asa = self.opts.all_slaves_active();
                let ab = self.mode() == Mode::ActiveBackup;
                if let Some(m) = self.mm(member) {
                    m.backup = backup;
                    if ab {
                        // The active-backup ARP monitor changes the active/inactive flags.
                        m.inactive = backup && !asa;
                    }
                }
            }
        }
    }

    /// What `bond_miimon_commit()` / `bond_ab_arp_commit()` do around a member's new link
    /// state.
    fn commit_link(&mut self, now: Duration, member: usize, state: LinkState) {
        let mode = self.mode();
        let Some(m) = self.mm(member) else { return };
        let old = m.link;
        m.link = state;
        if old == state {
            return;
        }
        self.push_event(Event::MemberLink { member, state });
        match state {
            LinkState::Up => {
                match mode {
                    // 802.3ad: keep it out of use until LACP says otherwise.
                    Mode::Ieee8023ad => {
                        if let Some(m) = self.mm(member) {
                            m.backup = true;
                        }
                    }
                    Mode::ActiveBackup => {}
                    _ => {
                        if let Some(m) = self.mm(member) {
                            m.backup = false;
                        }
                    }
                }
                self.lacp_link_change(now, member, true);
                self.alb_link_change(now, member, arp_alb::MemberLink::Up);
            }
            LinkState::Down => {
                if matches!(mode, Mode::ActiveBackup | Mode::Ieee8023ad) {
                    self.set_slave_inactive_flags(now, member);
                }
                self.lacp_link_change(now, member, false);
                self.alb_link_change(now, member, arp_alb::MemberLink::Down);
            }
            LinkState::Fail => self.alb_link_change(now, member, arp_alb::MemberLink::Fail),
            LinkState::Back => self.alb_link_change(now, member, arp_alb::MemberLink::Back),
        }
    }

    /// `bond_set_carrier()`.
    fn update_carrier(&mut self, _now: Duration) {
        let any_up = self
            .order
            .iter()
            .any(|&i| self.m(i).is_some_and(|m| m.link == LinkState::Up));
        let c = if !self.has_members() {
            false
        } else if self.mode() == Mode::Ieee8023ad && !self.fallback {
            self.lacp.as_ref().is_some_and(lacp::System::carrier)
        } else {
            any_up
        };
        if c != self.carrier {
            self.carrier = c;
            self.push_event(Event::Carrier { up: c });
        }
    }

    /// Builds the plan from the current state; publishes it if it differs.
    pub(crate) fn publish_plan(&mut self) {
        let mut p = self.build_plan();
        p.generation = self.plan.generation;
        if plan_eq(&p, &self.plan) {
            return;
        }
        p.generation = self.plan.generation + 1;
        let generation = p.generation;
        self.plan = Arc::new(p);
        let usable = self.plan.usable_len as usize;
        if self.mode().can_use_xmit_hash() {
            self.monitor.set_usable_members(Some(usable));
        } else {
            self.monitor.set_usable_members(None);
        }
        self.push_event(Event::PlanChanged { generation });
    }

    fn build_plan(&self) -> Plan {
        let mode = self.mode();
        let mut p = Plan::empty(mode);
        p.up = self.up;
        p.policy = self.opts.xmit_hash_policy();
        p.packets_per_slave = self.opts.packets_per_slave();
        p.reciprocal = Reciprocal::new(self.opts.packets_per_slave().max(1));
        p.active = self.curr_active.map(|a| a as u8);
        p.broadcast_neighbor = mode == Mode::Ieee8023ad && self.opts.broadcast_neighbor();
        p.snoop_reports =
            self.opts.resend_igmp() > 0 && (mode == Mode::BalanceRr || mode.uses_primary());
        p.rx_lacp = mode == Mode::Ieee8023ad;
        p.rx_alb_arp = mode == Mode::BalanceAlb;
        p.bond_mac = self.bond_mac;
        let validate = self.opts.monitor().arp_validate();
        let arp_rx = self.monitor.wants_rx();
        for &i in &self.order {
            let Some(m) = self.m(i) else { continue };
            p.all[usize::from(p.all_len)] = i as u8;
            p.all_len += 1;
            p.members = p.members.with(i);
            p.queue_id[i] = m.queue_id;
            p.member_mac[i] = m.mac;
            if self.link_up(i) {
                p.up_links = p.up_links.with(i);
            }
            if self.can_tx(i) {
                p.can_tx = p.can_tx.with(i);
            }
            if m.inactive {
                p.inactive = p.inactive.with(i);
            }
            if arp_rx {
                if validate.validates(m.backup) || validate.filters() {
                    p.rx_monitor_arp = p.rx_monitor_arp.with(i);
                } else {
                    p.rx_monitor_all = p.rx_monitor_all.with(i);
                }
            }
        }
        // The usable array (bond_update_slave_arr()).
        match mode {
            Mode::BalanceXor => {
                for &i in &self.order {
                    if self.can_tx(i) {
                        p.usable[usize::from(p.usable_len)] = i as u8;
                        p.usable_len += 1;
                    }
                }
            }
            Mode::Ieee8023ad => {
                for &i in &self.order {
                    if self.can_tx(i) && (self.fallback || self.lacp_distributing(i)) {
                        p.usable[usize::from(p.usable_len)] = i as u8;
                        p.usable_len += 1;
                    }
                }
            }
            Mode::BalanceTlb | Mode::BalanceAlb => {
                for &i in &self.order {
                    if self.can_tx(i) {
                        p.usable[usize::from(p.usable_len)] = i as u8;
                        p.usable_len += 1;
                    }
                }
            }
            _ => {}
        }
        p.usable_fastmod = super::modes::fastmod_m(u32::from(p.usable_len));
        p
    }
}

/// The MII monitor's idea of carrier: in 802.3ad, balance-tlb and balance-alb a member
/// whose speed or duplex is unknown counts as having none.
pub(crate) fn effective_carrier(link: &LinkInfo, needs_speed_duplex: bool) -> bool {
    link.carrier && (!needs_speed_duplex || link.speed_duplex_known())
}

/// The `lacp` crate's link inputs for a member whose port is enabled or not.
pub(crate) fn lacp_link(link: &LinkInfo, enabled: bool) -> lacp::Link {
    if enabled {
        lacp::Link {
            up: true,
            speed_mbps: link.speed_mbps,
            duplex: link.duplex,
        }
    } else {
        lacp::Link::down()
    }
}

fn monitor_style(mode: Mode) -> MonitorStyle {
    if mode == Mode::ActiveBackup {
        MonitorStyle::ActiveBackup
    } else {
        MonitorStyle::LoadBalance
    }
}

fn vlan_path(vid: Option<u16>) -> VlanPath {
    match vid {
        Some(v) => VlanPath::single(VlanTag::dot1q(v)),
        None => VlanPath::NONE,
    }
}

fn plan_eq(a: &Plan, b: &Plan) -> bool {
    a.generation == b.generation && a == b
}
