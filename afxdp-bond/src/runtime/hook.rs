//! The engine inside a datapath worker: [`BondHook`].

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::engine::{self, LinkInfo, Plan, Rx, Transmit, Tx, Worker};
use crate::xdp::{
    self, AddressChange, ControlFrame, DatapathHook, LinkState, MemberLinkEvent, MemberSet,
    RxAction, TxAction, ethtool,
};

use super::shared::{Shared, lock};

/// What worker 0 keeps of one member's link.
#[derive(Debug, Clone)]
struct MemberLink {
    name: String,
    /// Administratively up (from rtnetlink).
    admin_up: bool,
    /// What the `Bond` was last told.
    info: LinkInfo,
}

/// The host side's addresses, per device (the TAP itself, or a VLAN device above it).
#[derive(Debug, Clone, Default)]
struct HostAddrs {
    v4: Vec<Ipv4Addr>,
    v6: Vec<Ipv6Addr>,
}

impl HostAddrs {
    fn apply(&mut self, c: &AddressChange) -> bool {
        match c.addr {
            IpAddr::V4(a) => edit(&mut self.v4, a, c.removed),
            IpAddr::V6(a) => edit(&mut self.v6, a, c.removed),
        }
    }
}

fn edit<T: PartialEq>(v: &mut Vec<T>, a: T, removed: bool) -> bool {
    let pos = v.iter().position(|x| *x == a);
    match (pos, removed) {
        (Some(i), true) => {
            v.remove(i);
            true
        }
        (None, false) => {
            v.push(a);
            true
        }
        _ => false,
    }
}

/// The control plane's state in worker 0.
#[derive(Debug)]
struct ControlState {
    /// Control frames the `Bond` produced, waiting for a UMEM frame.
    queue: VecDeque<Transmit>,
    bond_deadline: Option<Duration>,
    /// The ethtool carrier check: interval and next time.
    poll_interval: Duration,
    next_poll: Duration,
    links: Vec<MemberLink>,
    host_ifindex: Option<u32>,
    host: HostAddrs,
    /// VLAN devices above the host side: (ifindex, VLAN id, addresses).
    vlans: Vec<(u32, u16, HostAddrs)>,
    /// Look at the `Bond` at the next chance (an input of this worker changed it).
    dirty: bool,
}

/// Converts the I/O layer's link view into the engine's.
pub(crate) fn link_info(carrier: bool, speed: Option<xdp::LinkSpeed>) -> LinkInfo {
    match speed {
        Some(s) if carrier => LinkInfo {
            carrier,
            speed_mbps: s.speed_mbps,
            duplex: match s.duplex {
                xdp::Duplex::Full => engine::Duplex::Full,
                xdp::Duplex::Half => engine::Duplex::Half,
                xdp::Duplex::Unknown => engine::Duplex::Unknown,
            },
        },
        _ => LinkInfo {
            carrier,
            ..LinkInfo::down()
        },
    }
}

/// The bond in a datapath worker.
///
/// Every worker's hook decides data frames with the published [`Plan`] and its own
/// [`Worker`] (no lock, no allocation); the frames the plan hands back
/// ([`Tx::ViaBond`]/[`Rx::ViaBond`]: LACPDUs, balance-tlb/alb, monitor replies) go to the
/// `Bond` under the control-plane lock. Worker 0's hook is also the control plane: the
/// `Bond`'s deadlines, its control frames and requests, link and address events, and the
/// ethtool carrier check.
#[derive(Debug)]
pub struct BondHook {
    shared: Arc<Shared>,
    plan: Arc<Plan>,
    generation: u64,
    worker: Worker,
    members: usize,
    ctl: Option<ControlState>,
}

impl BondHook {
    pub(crate) fn new(
        shared: Arc<Shared>,
        worker: Worker,
        members: usize,
        control: Option<(Duration, Vec<LinkInfo>, Option<u32>)>,
    ) -> Self {
        let plan = shared.plan.load();
        let ctl = control.map(|(poll_interval, infos, host_ifindex)| ControlState {
            queue: VecDeque::with_capacity(256),
            bond_deadline: Some(Duration::ZERO),
            poll_interval,
            next_poll: poll_interval,
            links: shared
                .member_names
                .iter()
                .zip(infos)
                .map(|(n, info)| MemberLink {
                    name: n.clone(),
                    admin_up: true,
                    info,
                })
                .collect(),
            host_ifindex,
            host: HostAddrs::default(),
            vlans: Vec::new(),
            dirty: true,
        });
        Self {
            generation: plan.generation(),
            plan,
            shared,
            worker,
            members,
            ctl,
        }
    }

    /// Picks up a newer plan, if one was published (one atomic load).
    #[inline(always)]
    fn refresh(&mut self) {
        if self.shared.plan.generation() != self.generation {
            self.plan = self.shared.plan.load();
            self.generation = self.plan.generation();
        }
    }

    /// After this worker gave the `Bond` an input: worker 0 drains it at its next step,
    /// another worker wakes worker 0.
    fn bond_touched(&mut self) {
        match self.ctl.as_mut() {
            Some(c) => c.dirty = true,
            None => self.shared.poke(),
        }
    }

    /// Decides a frame received on a bond member: the plan, or the `Bond` under the lock.
    #[inline]
    pub(crate) fn classify(&mut self, now: Duration, member: usize, frame: &mut [u8]) -> Rx {
        self.refresh();
        match self.plan.classify_rx(&mut self.worker, member, frame) {
            Rx::ViaBond => {
                let rx = lock(&self.shared.control)
                    .bond
                    .handle_rx(now, member, frame);
                self.bond_touched();
                rx
            }
            rx => rx,
        }
    }

    /// Chooses the member(s) for a frame sent into the bond. `now` is read only when the
    /// `Bond` decides (balance-tlb/alb, membership reports): the plan needs no clock.
    #[inline]
    pub(crate) fn select(&mut self, now: impl FnOnce() -> Duration, frame: &mut [u8]) -> Tx {
        self.refresh();
        match self.plan.select_tx(&mut self.worker, frame) {
            Tx::ViaBond => {
                let now = now();
                let tx = lock(&self.shared.control).bond.select_tx(now, frame);
                self.bond_touched();
                tx
            }
            tx => tx,
        }
    }

    /// Runs `f` on the `Bond` under the lock, then drains it (worker 0).
    fn with_bond(&mut self, now: Duration, f: impl FnOnce(&mut engine::Bond)) {
        let shared = self.shared.clone();
        let mut c = lock(&shared.control);
        f(&mut c.bond);
        if let Some(ctl) = self.ctl.as_mut() {
            ctl.bond_deadline = c.drain(now, &shared.plan, &mut ctl.queue);
            ctl.dirty = false;
        }
    }

    /// Worker 0, at shutdown: releases every member from the `Bond` (as Linux does when a
    /// bond is deleted), queueing the farewell frames (802.3ad: an LACPDU telling the
    /// partner the port no longer aggregates). Returns whether frames are queued.
    pub(crate) fn release_members(&mut self, now: Duration) -> bool {
        if self.ctl.is_none() {
            return false;
        }
        self.with_bond(now, |b| {
            let members: Vec<usize> = b.member_indices().collect();
            for i in members.into_iter().rev() {
                if let Err(e) = b.remove_member(now, i) {
                    log::warn!("releasing member {i}: {e}");
                }
            }
        });
        self.ctl.as_ref().is_some_and(|c| !c.queue.is_empty())
    }

    /// Whether worker 0 has control frames waiting.
    pub(crate) fn frames_queued(&self) -> bool {
        self.ctl.as_ref().is_some_and(|c| !c.queue.is_empty())
    }

    /// Gives the `Bond` a member's new link, if it changed.
    fn link_changed(&mut self, now: Duration, member: usize, info: LinkInfo, source: &str) {
        let Some(ctl) = self.ctl.as_mut() else { return };
        let Some(l) = ctl.links.get_mut(member) else {
            return;
        };
        if l.info == info {
            return;
        }
        if l.info.carrier != info.carrier {
            log::info!(
                "{}: carrier {} ({source})",
                l.name,
                if info.carrier { "up" } else { "down" }
            );
        } else {
            log::info!(
                "{}: speed {} Mb/s, duplex {:?} ({source})",
                l.name,
                info.speed_mbps.map_or("unknown".into(), |s| s.to_string()),
                info.duplex
            );
        }
        l.info = info;
        self.with_bond(now, |b| {
            if let Err(e) = b.handle_link(now, member, info) {
                log::warn!("link change of member {member}: {e}");
            }
        });
    }

    /// The ethtool carrier check (`ETHTOOL_GLINK`, what a kernel bond's `miimon` reads).
    fn poll_carriers(&mut self, now: Duration) {
        let Some(ctl) = self.ctl.as_mut() else { return };
        ctl.next_poll = now + ctl.poll_interval;
        for m in 0..ctl.links.len() {
            let Some(ctl) = self.ctl.as_ref() else { return };
            let l = &ctl.links[m];
            let Ok(detected) = ethtool::link_detected(&l.name) else {
                continue;
            };
            let carrier = detected && l.admin_up;
            if carrier == l.info.carrier {
                continue;
            }
            let speed = if carrier {
                ethtool::link_speed(&l.name).ok()
            } else {
                None
            };
            self.link_changed(now, m, link_info(carrier, speed), "ethtool");
        }
    }

    fn addresses_changed(&mut self, now: Duration, vlan: Option<u16>) {
        let Some(ctl) = self.ctl.as_ref() else { return };
        let addrs = match vlan {
            None => ctl.host.clone(),
            Some(vid) => ctl
                .vlans
                .iter()
                .find(|(_, v, _)| *v == vid)
                .map(|(_, _, a)| a.clone())
                .unwrap_or_default(),
        };
        log::info!(
            "host addresses{}: {:?} {:?}",
            vlan.map_or(String::new(), |v| format!(" on VLAN {v}")),
            addrs.v4,
            addrs.v6
        );
        self.with_bond(now, |b| match vlan {
            None => b.set_host_addresses(now, &addrs.v4, &addrs.v6),
            Some(vid) => b.set_vlan_host_addresses(now, vid, &addrs.v4, &addrs.v6),
        });
    }
}

impl DatapathHook for BondHook {
    #[inline]
    fn on_member_rx(&mut self, now: Duration, member: usize, frame: &mut [u8]) -> RxAction {
        if member >= self.members {
            return RxAction::Drop;
        }
        match self.classify(now, member, frame) {
            // A link-local frame on an inactive member: Linux leaves it on the member device;
            // a member under AF_XDP has no kernel listener, so the host side gets it.
            Rx::Deliver | Rx::DeliverOnMember => RxAction::DeliverToHost,
            Rx::Consume => RxAction::Consume,
            Rx::Drop(_) | Rx::ViaBond => RxAction::Drop,
        }
    }

    #[inline]
    fn on_host_tx(&mut self, now: Duration, frame: &mut [u8]) -> TxAction {
        match self.select(|| now, frame) {
            Tx::Member(m) => TxAction::Send(m),
            Tx::Members(set) => TxAction::SendMany(MemberSet::from_bits(set.0)),
            Tx::Drop(_) | Tx::ViaBond => TxAction::Drop,
        }
    }

    fn poll_control_frame(&mut self, now: Duration, buf: &mut [u8]) -> Option<ControlFrame> {
        let ctl = self.ctl.as_mut()?;
        if ctl.queue.is_empty() {
            let poked = self.shared.pending.swap(false, Ordering::AcqRel);
            if !(poked || ctl.dirty) {
                return None;
            }
            self.with_bond(now, |_| {});
        }
        let ctl = self.ctl.as_mut()?;
        let t = ctl.queue.pop_front()?;
        let f = t.frame();
        if f.len() > buf.len() {
            return None;
        }
        buf[..f.len()].copy_from_slice(f);
        Some(ControlFrame {
            member: t.member,
            len: f.len(),
        })
    }

    fn next_deadline(&mut self) -> Option<Duration> {
        let ctl = self.ctl.as_ref()?;
        Some(match ctl.bond_deadline {
            Some(d) => d.min(ctl.next_poll),
            None => ctl.next_poll,
        })
    }

    fn on_deadline(&mut self, now: Duration) {
        let Some(ctl) = self.ctl.as_ref() else { return };
        if ctl.bond_deadline.is_some_and(|d| now >= d) {
            self.with_bond(now, |b| b.handle_timeout(now));
        }
        if self.ctl.as_ref().is_some_and(|c| now >= c.next_poll) {
            self.poll_carriers(now);
        }
    }

    fn on_link_event(&mut self, now: Duration, member: usize, event: &MemberLinkEvent) {
        let Some(ctl) = self.ctl.as_mut() else { return };
        let Some(l) = ctl.links.get_mut(member) else {
            return;
        };
        let s = &event.state;
        if s.removed {
            log::warn!("{}: the interface was deleted", l.name);
        }
        l.admin_up = s.admin_up && !s.removed;
        let carrier = s.admin_up && s.carrier && !s.removed;
        self.link_changed(now, member, link_info(carrier, event.speed), "rtnetlink");
    }

    fn on_other_link_event(&mut self, now: Duration, state: &LinkState) {
        let Some(ctl) = self.ctl.as_mut() else { return };
        let Some(host) = ctl.host_ifindex else { return };
        if state.ifindex == host && !state.removed {
            // The operator changed bond0's MAC or MTU: as on a kernel bond, the members follow.
            let mac = engine::MacAddr(state.mac);
            let mtu = state.mtu;
            let (cur_mac, cur_mtu) = {
                let c = lock(&self.shared.control);
                (c.bond.mac(), c.bond.mtu())
            };
            if mac != cur_mac && mac.is_valid_unicast() {
                log::info!("host side MAC changed to {mac}: the bond follows");
                self.with_bond(now, |b| {
                    if let Err(e) = b.set_mac(now, mac) {
                        log::warn!("bond MAC {mac}: {e}");
                    }
                });
            }
            if mtu != cur_mtu && mtu > 0 {
                log::info!("host side MTU changed to {mtu}: the members follow");
                self.with_bond(now, |b| b.set_mtu(now, mtu));
            }
            return;
        }
        if state.lower == Some(host) {
            if let Some(vid) = state.vlan_id {
                let known = ctl.vlans.iter().position(|(i, _, _)| *i == state.ifindex);
                match (known, state.removed) {
                    (None, false) => {
                        log::info!("VLAN {vid} ({}) above the bond", state.name);
                        ctl.vlans.push((state.ifindex, vid, HostAddrs::default()));
                    }
                    (Some(i), true) => {
                        ctl.vlans.remove(i);
                        self.with_bond(now, |b| b.set_vlan_host_addresses(now, vid, &[], &[]));
                    }
                    _ => {}
                }
            }
        }
    }

    fn on_address_event(&mut self, now: Duration, change: &AddressChange) {
        let Some(ctl) = self.ctl.as_mut() else { return };
        if Some(change.ifindex) == ctl.host_ifindex {
            if ctl.host.apply(change) {
                self.addresses_changed(now, None);
            }
        } else if let Some((_, vid, addrs)) =
            ctl.vlans.iter_mut().find(|(i, _, _)| *i == change.ifindex)
        {
            let vid = *vid;
            if addrs.apply(change) {
                self.addresses_changed(now, Some(vid));
            }
        }
    }
}
