//! The fast path: an immutable plan the [`Bond`](super::Bond) publishes, read by any number
//! of datapath workers with no lock and no allocation.
//!
//! The kernel splits its bond the same way: the control plane (RTNL, the monitors, the LACP
//! machines) rebuilds the `usable_slaves` array and swaps it in under RCU, and the transmit
//! path reads whatever array is current. Here the [`Bond`](super::Bond) builds a [`Plan`]
//! whenever the usable members, the active member, the policy or a member's role changes,
//! bumps its [generation](Plan::generation), and reports
//! [`Event::PlanChanged`](super::Event::PlanChanged); the owner hands the new
//! `Arc<Plan>` to its workers, which keep using the old one until they pick up the new one
//! (as a CPU in an RCU read section keeps the old array).
//!
//! Each worker has its own [`Worker`]: the round-robin counter (Linux's per-CPU
//! `rr_tx_counter`), the random generator for `packets_per_slave=0`, and its counters,
//! which [`Bond::counters`](super::Bond::counters) sums over every worker.
//!
//! What the plan cannot decide alone it hands back as [`Tx::ViaBond`] / [`Rx::ViaBond`]:
//! the caller then asks the [`Bond`](super::Bond) under its own lock, as Linux takes
//! `mode_lock` for the TLB table. That is:
//!
//! - every frame of balance-tlb and balance-alb (the TLB table is updated per frame, and
//!   balance-alb rewrites the host's ARP);
//! - the host's IGMP/MLD membership reports in the modes that re-send them after a
//!   failover (`resend_igmp`: balance-rr, active-backup, balance-tlb, balance-alb), so the
//!   bond learns the host's groups;
//! - received LACPDUs and Marker PDUs in 802.3ad, and received ARP in balance-alb (receive
//!   load balancing learns from it);
//! - with the ARP/NS monitor (`arp_interval`), the frames it counts, as Linux's receive hook
//!   sees them: the ARP and IPv6 frames of a member it validates (or filters), and every
//!   frame of a member it neither validates nor filters (`arp_validate=none`, where any
//!   frame proves the member alive). Prefer `arp_validate=all` (or `filter`) on a busy
//!   multi-worker bond.
//!
//! With the MII monitor, balance-rr, active-backup, balance-xor, broadcast and 802.3ad data
//! frames never need the Bond.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use xmit_hash::Policy;

use super::MacAddr;
use super::frame;
use super::options::Mode;

/// The most members a bond can have (member indices are `0..MAX_MEMBERS`; sets of members
/// are 64-bit masks).
pub const MAX_MEMBERS: usize = 64;

/// A set of member indices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MemberMask(pub u64);

impl MemberMask {
    /// The empty set.
    pub const EMPTY: Self = Self(0);

    /// Whether `member` is in the set.
    #[inline(always)]
    pub const fn contains(self, member: usize) -> bool {
        member < MAX_MEMBERS && self.0 & (1 << member) != 0
    }

    /// This set plus `member`.
    #[must_use]
    pub const fn with(self, member: usize) -> Self {
        if member < MAX_MEMBERS {
            Self(self.0 | (1 << member))
        } else {
            self
        }
    }

    /// Number of members.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, lowest index first.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        let mut bits = self.0;
        core::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some(i)
        })
    }
}

/// Where a frame from the host goes.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tx {
    /// Send it on this member.
    Member(usize),
    /// Send a copy on each of these members (broadcast mode; neighbour frames with
    /// `broadcast_neighbor`).
    Members(MemberMask),
    /// The plan cannot decide this one: call [`Bond::select_tx`](super::Bond::select_tx)
    /// (under the caller's lock). Never returned by the `Bond` itself.
    ViaBond,
    /// Drop it; counted for this reason.
    Drop(TxDrop),
}

/// Why a frame from the host was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TxDrop {
    /// The bond is down.
    BondDown,
    /// The bond has no members.
    NoMembers,
    /// No active member (active-backup; balance-tlb/alb for what goes to the active one).
    NoActiveMember,
    /// No member can send (every member down, or no distributing port in 802.3ad).
    NoUsableMember,
    /// Shorter than an Ethernet header (balance-tlb/alb read it).
    Runt,
    /// balance-tlb/alb chose a member that cannot send.
    MemberCannotTx,
}

impl TxDrop {
    /// Number of reasons.
    pub const COUNT: usize = 6;
    /// Every reason, in counter order.
    pub const ALL: [Self; Self::COUNT] = [
        Self::BondDown,
        Self::NoMembers,
        Self::NoActiveMember,
        Self::NoUsableMember,
        Self::Runt,
        Self::MemberCannotTx,
    ];

    /// The counter name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::BondDown => "bond_down",
            Self::NoMembers => "no_members",
            Self::NoActiveMember => "no_active_member",
            Self::NoUsableMember => "no_usable_member",
            Self::Runt => "runt",
            Self::MemberCannotTx => "member_cannot_tx",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// What to do with a frame received on a member.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rx {
    /// Hand it to the host (the bond device).
    Deliver,
    /// A link-local frame (`01:80:c2:00:00:0X`: LLDP, STP, ...) on an inactive member: Linux
    /// leaves it on the member device itself (`RX_HANDLER_PASS`), where a listener such as
    /// an LLDP agent sees it, and does not pass it to the bond. Give it to such a listener
    /// (or to the host, noting the member).
    DeliverOnMember,
    /// The bond used it (an LACPDU or Marker PDU in 802.3ad); nothing else to do.
    Consume,
    /// Drop it; counted for this reason.
    Drop(RxDrop),
    /// The plan cannot decide this one: call [`Bond::handle_rx`](super::Bond::handle_rx)
    /// (under the caller's lock). Never returned by the `Bond` itself.
    ViaBond,
}

/// Why a received frame was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RxDrop {
    /// The bond is down.
    BondDown,
    /// Received on an index that is not a member.
    UnknownMember,
    /// Received on an inactive member (a backup in active-backup, a member that is not the
    /// active one in balance-tlb and, for broadcast/multicast, balance-alb, a port that is
    /// not collecting in 802.3ad): Linux delivers these only to listeners bound to that
    /// exact device (`RX_HANDLER_EXACT`), which a user-space bond does not have.
    InactiveMember,
    /// Shorter than an Ethernet header.
    Runt,
}

impl RxDrop {
    /// Number of reasons.
    pub const COUNT: usize = 4;
    /// Every reason, in counter order.
    pub const ALL: [Self; Self::COUNT] = [
        Self::BondDown,
        Self::UnknownMember,
        Self::InactiveMember,
        Self::Runt,
    ];

    /// The counter name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::BondDown => "bond_down",
            Self::UnknownMember => "unknown_member",
            Self::InactiveMember => "inactive_member",
            Self::Runt => "runt",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// One member's counters in one worker (together, so a frame touches one cache line).
#[derive(Debug, Default)]
pub struct MemberCounterCells {
    pub(crate) tx_frames: AtomicU64,
    pub(crate) tx_bytes: AtomicU64,
    pub(crate) rx_frames: AtomicU64,
    pub(crate) rx_bytes: AtomicU64,
}

/// One worker's counters. Only the owning worker writes them (a relaxed load and store, no
/// atomic read-modify-write on the per-frame path); anyone may read them.
#[derive(Debug)]
pub struct WorkerCounters {
    pub(crate) member: [MemberCounterCells; MAX_MEMBERS],
    pub(crate) tx_drop: [AtomicU64; TxDrop::COUNT],
    pub(crate) rx_drop: [AtomicU64; RxDrop::COUNT],
}

impl Default for WorkerCounters {
    fn default() -> Self {
        Self {
            member: core::array::from_fn(|_| MemberCounterCells::default()),
            tx_drop: core::array::from_fn(|_| AtomicU64::new(0)),
            rx_drop: core::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Adds to a counter that only this thread writes.
#[inline(always)]
fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// The per-worker state of the fast path (one per datapath thread).
#[derive(Debug)]
pub struct Worker {
    pub(crate) rr_tx_counter: u32,
    rng: u64,
    counters: Arc<WorkerCounters>,
}

impl Worker {
    pub(crate) fn new(seed: u64, counters: Arc<WorkerCounters>) -> Self {
        Self {
            rr_tx_counter: 0,
            rng: seed,
            counters,
        }
    }

    /// This worker's counters.
    pub fn counters(&self) -> &WorkerCounters {
        &self.counters
    }

    /// splitmix64: the stand-in for the kernel's `get_random_u32()`, from a seed.
    pub(crate) fn next_random(&mut self) -> u32 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as u32
    }

    #[inline(always)]
    pub(crate) fn count_tx(&self, tx: Tx, len: usize) {
        let c = &self.counters;
        match tx {
            Tx::Member(m) => {
                if let Some(mc) = c.member.get(m) {
                    bump(&mc.tx_frames, 1);
                    bump(&mc.tx_bytes, len as u64);
                }
            }
            Tx::Members(set) => {
                for m in set.iter() {
                    bump(&c.member[m].tx_frames, 1);
                    bump(&c.member[m].tx_bytes, len as u64);
                }
            }
            Tx::Drop(r) => bump(&c.tx_drop[r.index()], 1),
            Tx::ViaBond => {}
        }
    }

    #[inline(always)]
    pub(crate) fn count_rx(&self, member: usize, rx: Rx, len: usize) {
        let c = &self.counters;
        match rx {
            Rx::Deliver | Rx::DeliverOnMember | Rx::Consume => {
                if let Some(mc) = c.member.get(member) {
                    bump(&mc.rx_frames, 1);
                    bump(&mc.rx_bytes, len as u64);
                }
            }
            Rx::Drop(r) => bump(&c.rx_drop[r.index()], 1),
            Rx::ViaBond => {}
        }
    }
}

/// Linux's `struct reciprocal_value`: division by a constant as a multiply and two shifts
/// (`packets_per_slave` > 1 divides the round-robin counter by it this way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Reciprocal {
    m: u32,
    sh1: u8,
    sh2: u8,
}

impl Reciprocal {
    /// `reciprocal_value(d)`, `d > 0`.
    pub(crate) fn new(d: u32) -> Self {
        let d = d.max(1);
        let l = 32 - (d - 1).leading_zeros(); // fls(d - 1)
        let m = ((1u64 << 32) * ((1u64 << l) - u64::from(d))) / u64::from(d) + 1;
        Self {
            m: m as u32,
            sh1: l.min(1) as u8,
            sh2: l.saturating_sub(1) as u8,
        }
    }

    /// `reciprocal_divide(a, R)`.
    #[inline(always)]
    pub(crate) fn divide(self, a: u32) -> u32 {
        let t = ((u64::from(a) * u64::from(self.m)) >> 32) as u32;
        (t + ((a - t) >> self.sh1)) >> self.sh2
    }
}

/// The immutable transmit and receive plan of a bond at one generation. See the module
/// docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub(crate) generation: u64,
    pub(crate) mode: Mode,
    pub(crate) up: bool,
    pub(crate) policy: Policy,
    /// All members in the bond's list order (Linux's slave list).
    pub(crate) all: [u8; MAX_MEMBERS],
    pub(crate) all_len: u8,
    pub(crate) members: MemberMask,
    /// `bond_slave_can_tx()`: carrier, link up, active.
    pub(crate) can_tx: MemberMask,
    /// Carrier and link up (`bond_slave_is_up() && link == BOND_LINK_UP`).
    pub(crate) up_links: MemberMask,
    /// The usable array (`bond->usable_slaves`) of balance-xor and 802.3ad, in order.
    pub(crate) usable: [u8; MAX_MEMBERS],
    pub(crate) usable_len: u8,
    /// The reciprocal of `usable_len` for the modulo of the hash.
    pub(crate) usable_fastmod: u64,
    /// `curr_active_slave`.
    pub(crate) active: Option<u8>,
    pub(crate) packets_per_slave: u32,
    pub(crate) reciprocal: Reciprocal,
    /// `queue_id` of each member (by index).
    pub(crate) queue_id: [u16; MAX_MEMBERS],
    pub(crate) broadcast_neighbor: bool,
    /// Send the host's IGMP/MLD reports through the Bond (it learns them for
    /// `resend_igmp`).
    pub(crate) snoop_reports: bool,
    /// Inactive members (`slave->inactive`).
    pub(crate) inactive: MemberMask,
    /// 802.3ad: slow-protocols frames go to the Bond.
    pub(crate) rx_lacp: bool,
    /// ARP/NS monitor: every frame of these members goes to the Bond.
    pub(crate) rx_monitor_all: MemberMask,
    /// ARP/NS monitor: the ARP and IPv6 frames of these members go to the Bond.
    pub(crate) rx_monitor_arp: MemberMask,
    /// balance-alb: received ARP goes to the Bond.
    pub(crate) rx_alb_arp: bool,
    /// balance-alb: the bond's MAC, written as the destination of unicast frames a member
    /// receives for its own MAC (see [`Plan::classify_rx`]).
    pub(crate) bond_mac: MacAddr,
    /// Each member's current MAC (by index).
    pub(crate) member_mac: [MacAddr; MAX_MEMBERS],
}

impl Plan {
    pub(crate) fn empty(mode: Mode) -> Self {
        Self {
            generation: 0,
            mode,
            up: false,
            policy: Policy::Layer2,
            all: [0; MAX_MEMBERS],
            all_len: 0,
            members: MemberMask::EMPTY,
            can_tx: MemberMask::EMPTY,
            up_links: MemberMask::EMPTY,
            usable: [0; MAX_MEMBERS],
            usable_len: 0,
            usable_fastmod: 0,
            active: None,
            packets_per_slave: 1,
            reciprocal: Reciprocal::new(1),
            queue_id: [0; MAX_MEMBERS],
            broadcast_neighbor: false,
            snoop_reports: false,
            inactive: MemberMask::EMPTY,
            rx_lacp: false,
            rx_monitor_all: MemberMask::EMPTY,
            rx_monitor_arp: MemberMask::EMPTY,
            rx_alb_arp: false,
            bond_mac: MacAddr::ZERO,
            member_mac: [MacAddr::ZERO; MAX_MEMBERS],
        }
    }

    /// The generation: it grows by one every time the Bond publishes a new plan.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The bond's mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The usable members of balance-xor and 802.3ad, in the order the hash indexes them
    /// (Linux's `usable_slaves` array).
    pub fn usable_members(&self) -> &[u8] {
        &self.usable[..usize::from(self.usable_len)]
    }

    /// The active member (`curr_active_slave`), if any.
    pub fn active_member(&self) -> Option<usize> {
        self.active.map(usize::from)
    }

    /// Members that can send (`bond_slave_can_tx`).
    pub fn can_tx(&self) -> MemberMask {
        self.can_tx
    }

    /// Members that are inactive for receive.
    pub fn inactive_members(&self) -> MemberMask {
        self.inactive
    }

    /// Chooses the member(s) for a frame the host sent, as the kernel's
    /// `__bond_start_xmit()` does, or says it needs the Bond ([`Tx::ViaBond`]). No lock, no
    /// allocation; counts the outcome in the worker's counters.
    #[inline]
    pub fn select_tx(&self, w: &mut Worker, frame: &mut [u8]) -> Tx {
        let tx = self.select(w, frame, None, false);
        w.count_tx(tx, frame.len());
        tx
    }

    /// [`select_tx`](Self::select_tx) for a frame that carries a queue mapping (what Linux
    /// sets with `tc ... skbedit queue_mapping`): in balance-rr and active-backup a member
    /// whose `queue_id` is `queue` takes it if its link is up (`bond_slave_override()`).
    /// Queue 0 is no mapping (every member's default `queue_id`): the mode decides.
    #[inline]
    pub fn select_tx_on_queue(&self, w: &mut Worker, frame: &mut [u8], queue: u16) -> Tx {
        let tx = self.select(w, frame, Some(queue), false);
        w.count_tx(tx, frame.len());
        tx
    }

    /// The decision, without counting. `in_bond`: called by the Bond itself, so never
    /// [`Tx::ViaBond`] for report snooping (the Bond has seen the frame).
    #[inline(always)]
    pub(crate) fn select(
        &self,
        w: &mut Worker,
        frame: &mut [u8],
        queue: Option<u16>,
        in_bond: bool,
    ) -> Tx {
        if !self.up {
            return Tx::Drop(TxDrop::BondDown);
        }
        if self.all_len == 0 {
            return Tx::Drop(TxDrop::NoMembers);
        }
        if self.mode.is_lb() {
            return Tx::ViaBond;
        }
        if self.snoop_reports && !in_bond && frame::is_membership_report(frame) {
            return Tx::ViaBond;
        }
        if let Some(q) = queue {
            if let Some(m) = self.queue_override(q) {
                return Tx::Member(m);
            }
        }
        match self.mode {
            Mode::BalanceRr => self.roundrobin(w, frame),
            Mode::ActiveBackup => self.activebackup(),
            Mode::BalanceXor => self.xor(frame),
            Mode::Broadcast => self.broadcast(),
            Mode::Ieee8023ad => self.ieee8023ad(frame),
            Mode::BalanceTlb | Mode::BalanceAlb => Tx::ViaBond,
        }
    }

    /// `bond_slave_override()`: the first member (in list order) with this queue id takes
    /// the frame if its link is up; otherwise the mode decides. Queue 0 is no mapping
    /// (Linux returns at once when the frame has no queue recorded).
    fn queue_override(&self, queue: u16) -> Option<usize> {
        if queue == 0 || !matches!(self.mode, Mode::BalanceRr | Mode::ActiveBackup) {
            return None;
        }
        let m = self.all[..usize::from(self.all_len)]
            .iter()
            .map(|&m| usize::from(m))
            .find(|&m| self.queue_id[m] == queue)?;
        self.up_links.contains(m).then_some(m)
    }

    /// Decides a frame received on `member`, as `bond_handle_frame()` does after the
    /// bond's receive probe, or says the Bond must see it ([`Rx::ViaBond`]). Counts the
    /// outcome in the worker's counters.
    ///
    /// In balance-alb a unicast frame to one of the members' MACs (each client is given a
    /// member's MAC) gets the bond's MAC as its destination when it is delivered: Linux
    /// keeps the `PACKET_HOST` type the member gave it, while a host side reached through a
    /// TAP device would see a frame for another host and drop it. Unlike Linux this also
    /// covers a frame for a failed member's MAC that the active member receives while it
    /// listens promiscuously for that member's clients (Linux's stack drops those as
    /// `PACKET_OTHERHOST` until the client learns its new member).
    #[inline]
    pub fn classify_rx(&self, w: &mut Worker, member: usize, frame: &mut [u8]) -> Rx {
        let rx = self.classify(member, frame, false);
        w.count_rx(member, rx, frame.len());
        rx
    }

    #[inline(always)]
    pub(crate) fn classify(&self, member: usize, frame: &mut [u8], in_bond: bool) -> Rx {
        if !self.up {
            return Rx::Drop(RxDrop::BondDown);
        }
        if !self.members.contains(member) {
            return Rx::Drop(RxDrop::UnknownMember);
        }
        let Some(dst) = frame::dst(frame).filter(|_| frame.len() >= 14) else {
            return Rx::Drop(RxDrop::Runt);
        };
        if !in_bond && self.needs_bond(member, frame) {
            return Rx::ViaBond;
        }
        let rx = self.exact_match(member, dst);
        if rx == Rx::Deliver && self.mode == Mode::BalanceAlb {
            self.alb_rewrite_dst(member, frame, dst);
        }
        rx
    }

    /// See [`classify_rx`](Self::classify_rx).
    #[inline(always)]
    pub(crate) fn alb_rewrite_dst(&self, member: usize, frame: &mut [u8], dst: MacAddr) {
        if dst.is_multicast() || dst == self.bond_mac {
            return;
        }
        let ours = dst == self.member_mac[member]
            || self.members.iter().any(|m| self.member_mac[m] == dst);
        if ours {
            frame[..6].copy_from_slice(&self.bond_mac.0);
        }
    }

    /// Whether the Bond's receive probes must see this frame.
    #[inline(always)]
    fn needs_bond(&self, member: usize, frame: &[u8]) -> bool {
        if self.rx_lacp
            && frame.get(12..14) == Some(&frame::ETH_P_SLOW.to_be_bytes()[..])
            && frame.get(..6) == Some(&frame::SLOW_PROTOCOLS_MAC.0[..])
        {
            return true;
        }
        if self.rx_monitor_all.contains(member) {
            return true;
        }
        if self.rx_monitor_arp.contains(member) || self.rx_alb_arp {
            if let Some((et, _)) = frame::l3(frame) {
                if et == frame::ETH_P_ARP {
                    return true;
                }
                if et == frame::ETH_P_IPV6 && self.rx_monitor_arp.contains(member) {
                    return true;
                }
            }
        }
        false
    }

    /// `bond_should_deliver_exact_match()` and what `bond_handle_frame()` does with its
    /// answer.
    #[inline(always)]
    pub(crate) fn exact_match(&self, member: usize, dst: MacAddr) -> Rx {
        if self.inactive.contains(member) {
            if self.mode == Mode::BalanceAlb && !dst.is_multicast() {
                return Rx::Deliver;
            }
            if dst.is_link_local() {
                return Rx::DeliverOnMember;
            }
            return Rx::Drop(RxDrop::InactiveMember);
        }
        Rx::Deliver
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reciprocal_divides_exactly() {
        for d in [1u32, 2, 3, 5, 7, 10, 100, 1000, 65535] {
            let r = Reciprocal::new(d);
            for a in [
                0u32,
                1,
                2,
                3,
                99,
                100,
                101,
                65535,
                1 << 20,
                u32::MAX - 1,
                u32::MAX,
            ] {
                assert_eq!(r.divide(a), a / d, "{a}/{d}");
            }
        }
    }

    #[test]
    fn masks() {
        let m = MemberMask::EMPTY.with(0).with(5).with(63).with(64);
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![0, 5, 63]);
        assert_eq!(m.len(), 3);
        assert!(m.contains(5) && !m.contains(6) && !m.contains(64));
    }
}
