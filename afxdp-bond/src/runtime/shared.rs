//! What the workers share: the control plane (the engine's `Bond` and the devices it acts
//! on, under one lock, as Linux holds RTNL) and the published transmit plan (read without a
//! lock).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::engine::{Bond, Event, MacAddr, Plan, Transmit};
use crate::xdp::{BondIo, DatapathStats, MulticastGuard, PromiscGuard, TapCarrier, Waker, netlink};

/// The plan the `Bond` published last, with its generation readable without a lock: a
/// worker compares the generation (one atomic load per frame) and takes the lock only to
/// pick up a new plan, as a CPU leaving an RCU read section sees the new array.
#[derive(Debug)]
pub(crate) struct PlanCell {
    generation: AtomicU64,
    plan: Mutex<Arc<Plan>>,
}

impl PlanCell {
    pub(crate) fn new(plan: Arc<Plan>) -> Self {
        Self {
            generation: AtomicU64::new(plan.generation()),
            plan: Mutex::new(plan),
        }
    }

    pub(crate) fn publish(&self, plan: Arc<Plan>) {
        let g = plan.generation();
        *lock(&self.plan) = plan;
        self.generation.store(g, Ordering::Release);
    }

    #[inline(always)]
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn load(&self) -> Arc<Plan> {
        lock(&self.plan).clone()
    }
}

/// Locks a mutex, going on with the data if another thread panicked while holding it (the
/// state stays usable: every update is a plain field write).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// I/O counters of one worker, as last published by it.
#[derive(Debug, Clone, Default)]
pub(crate) struct WorkerIo {
    pub(crate) stats: DatapathStats,
    pub(crate) bind_mode: String,
}

/// Everything the workers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) control: Mutex<Control>,
    pub(crate) plan: PlanCell,
    /// Another worker gave the `Bond` a frame: worker 0 must look for events and control
    /// frames.
    pub(crate) pending: AtomicBool,
    /// Wakes worker 0.
    pub(crate) waker0: OnceLock<Waker>,
    /// The clock origin of the `Bond` and every worker.
    pub(crate) origin: Instant,
    /// Per worker I/O counters.
    pub(crate) io: Mutex<Vec<WorkerIo>>,
    /// Member names, by index.
    pub(crate) member_names: Vec<String>,
}

impl Shared {
    /// Tells worker 0 that the `Bond` has something for it.
    pub(crate) fn poke(&self) {
        // One wake-up (an eventfd write) per batch of pokes: worker 0 clears the flag when it
        // looks, so balance-tlb/alb, where every frame goes through the `Bond`, do not pay
        // a system call per frame.
        if !self.pending.swap(true, Ordering::AcqRel) {
            if let Some(w) = self.waker0.get() {
                w.wake();
            }
        }
    }

    pub(crate) fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// The devices the control plane changes on the engine's requests; each change is undone
/// when this is dropped (the guards of [`BondIo`]).
#[derive(Debug)]
pub(crate) struct Devices {
    /// Promiscuity held per member on the engine's request.
    pub(crate) promisc: Vec<Option<PromiscGuard>>,
    /// Multicast addresses joined per member.
    pub(crate) mcast: Vec<Vec<([u8; 6], MulticastGuard)>>,
    /// Every member in all-multicast mode (see `Runtime::open`); held for its drop.
    pub(crate) _allmulti: Vec<MulticastGuard>,
    /// The host side's carrier switch.
    pub(crate) carrier: Option<TapCarrier>,
    /// The host side's interface index.
    pub(crate) host_ifindex: Option<u32>,
    /// Members, XDP programs, TAP, settings guards (dropped last).
    pub(crate) io: BondIo,
}

/// The control plane: the `Bond` and the devices.
#[derive(Debug)]
pub(crate) struct Control {
    pub(crate) bond: Bond,
    pub(crate) devices: Option<Devices>,
    pub(crate) names: Vec<String>,
    /// 802.3ad: the (collecting, distributing) state of each port last logged.
    pub(crate) lacp_logged: Vec<(bool, bool)>,
}

fn mac_str(m: MacAddr) -> String {
    m.to_string()
}

impl Control {
    fn name(&self, member: usize) -> &str {
        self.names.get(member).map_or("?", String::as_str)
    }

    /// Carries out the `Bond`'s requests, logs its state changes, publishes new plans,
    /// queues its control frames in `out`; returns its next deadline. The engine's poll
    /// order: events first (they may change addresses the control frames use), then
    /// transmits.
    pub(crate) fn drain(
        &mut self,
        now: Duration,
        plan: &PlanCell,
        out: &mut VecDeque<Transmit>,
    ) -> Option<Duration> {
        for _ in 0..64 {
            let mut any = false;
            while let Some(e) = self.bond.poll_event() {
                any = true;
                if let Event::MemberReleased {
                    last_frame: Some(t),
                    ..
                } = &e
                {
                    // The farewell LACPDU: the partner stops aggregating the port now
                    // rather than three LACP timeouts later.
                    out.push_back((**t).clone());
                }
                self.apply(plan, e);
            }
            while let Some(t) = self.bond.poll_transmit(now) {
                any = true;
                if out.len() >= 4096 {
                    log::warn!("control frames: queue full, dropping a {:?}", t.kind);
                    continue;
                }
                out.push_back(t);
            }
            if !any {
                break;
            }
        }
        self.log_lacp();
        self.bond.poll_timeout()
    }

    /// Logs the 802.3ad ports that started or stopped collecting or distributing (the
    /// engine reports aggregator changes, not port states).
    fn log_lacp(&mut self) {
        let Some(l) = self.bond.lacp() else { return };
        for (i, seen) in self.lacp_logged.iter_mut().enumerate() {
            let now = (l.is_collecting(i), l.is_distributing(i));
            if now != *seen {
                *seen = now;
                let what = match now {
                    (true, true) => "collecting and distributing",
                    (true, false) => "collecting, not distributing",
                    (false, true) => "distributing, not collecting",
                    (false, false) => "neither collecting nor distributing",
                };
                let name = self.names.get(i).map_or("?", String::as_str);
                log::info!("{name}: LACP port {what}");
            }
        }
    }

    fn apply(&mut self, plan: &PlanCell, e: Event) {
        match e {
            Event::PlanChanged { .. } => plan.publish(self.bond.plan()),
            Event::SetBondMac { mac } => {
                log::info!("bond MAC address {}", mac_str(mac));
                if let Some(d) = &self.devices {
                    if let Some(ifindex) = d.host_ifindex {
                        let change = netlink::LinkChange {
                            mac: Some(mac.0),
                            ..netlink::LinkChange::default()
                        };
                        if let Err(e) = netlink::set_link(ifindex, &change) {
                            log::warn!("host side: could not set MAC {}: {e}", mac_str(mac));
                        }
                    }
                }
            }
            Event::SetMemberMac { member, mac } => {
                let name = self.name(member).to_string();
                if let Some(g) = self
                    .devices
                    .as_mut()
                    .and_then(|d| d.io.member_guard(member))
                {
                    match g.set_mac(mac.0) {
                        Ok(()) => log::info!("{name}: MAC address set to {}", mac_str(mac)),
                        Err(e) => {
                            log::warn!("{name}: could not set MAC address {}: {e}", mac_str(mac))
                        }
                    }
                }
            }
            Event::SetMemberMtu { member, mtu } => {
                let name = self.name(member).to_string();
                if let Some(g) = self
                    .devices
                    .as_mut()
                    .and_then(|d| d.io.member_guard(member))
                {
                    match g.set_mtu(mtu) {
                        Ok(()) => log::info!("{name}: MTU set to {mtu}"),
                        Err(e) => log::warn!("{name}: could not set MTU {mtu}: {e}"),
                    }
                }
            }
            Event::SetPromiscuous { member, enabled } => {
                let name = self.name(member).to_string();
                if let Some(d) = self.devices.as_mut() {
                    if let Some(slot) = d.promisc.get_mut(member) {
                        if enabled && slot.is_none() {
                            match PromiscGuard::new(&name) {
                                Ok(g) => {
                                    *slot = Some(g);
                                    log::info!("{name}: promiscuous mode on");
                                }
                                Err(e) => log::warn!("{name}: promiscuous mode: {e}"),
                            }
                        } else if !enabled && slot.take().is_some() {
                            log::info!("{name}: promiscuous mode off");
                        }
                    }
                }
            }
            Event::JoinMulticast { member, mac } => {
                let name = self.name(member).to_string();
                if let Some(list) = self.devices.as_mut().and_then(|d| d.mcast.get_mut(member)) {
                    if !list.iter().any(|(m, _)| *m == mac.0) {
                        match MulticastGuard::new(&name, mac.0) {
                            Ok(g) => {
                                list.push((mac.0, g));
                                log::debug!("{name}: joined multicast {}", mac_str(mac));
                            }
                            Err(e) => log::warn!("{name}: multicast {}: {e}", mac_str(mac)),
                        }
                    }
                }
            }
            Event::LeaveMulticast { member, mac } => {
                if let Some(list) = self.devices.as_mut().and_then(|d| d.mcast.get_mut(member)) {
                    list.retain(|(m, _)| *m != mac.0);
                }
            }
            Event::MemberReleased { member, .. } => {
                log::info!("{}: released from the bond", self.name(member));
            }
            Event::MemberLink { member, state } => {
                log::info!("{}: MII status {}", self.name(member), state.as_str());
            }
            Event::ActiveMember { previous, current } => {
                let n = |m: Option<usize>| m.map_or("none".to_string(), |m| self.name(m).into());
                log::info!("active member: {} -> {}", n(previous), n(current));
            }
            Event::Carrier { up } => {
                log::info!("bond carrier {}", if up { "up" } else { "down" });
                if let Some(c) = self.devices.as_ref().and_then(|d| d.carrier.as_ref()) {
                    if let Err(e) = c.set(up) {
                        log::warn!("host side: {e}");
                    }
                }
            }
            Event::ActiveAggregator { id } => match id {
                Some(id) => log::info!("802.3ad: active aggregator {id}"),
                None => log::info!("802.3ad: no active aggregator"),
            },
            Event::LacpFallback { engaged } => {
                if engaged {
                    log::info!("802.3ad: no LACP partner, falling back to active-backup");
                } else {
                    log::info!("802.3ad: LACP partner found, fallback ended");
                }
            }
        }
    }
}
