//! One LACP system (one bond): the per-port machines and the system-wide selection logic.
//!
//! See the crate documentation for the model (poll order, timers, where this follows
//! 802.1AX and where Linux).

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use crate::options::{
    AdSelect, Config, CoupledControl, DEFAULT_ACTOR_PORT_PRIO, LacpActive, LacpRate, OptionError,
};
use crate::wire::{
    self, Frame, Lacpdu, MacAddr, MalformedCounters, MarkerKind, MarkerPdu, Pdu, PortInfo,
    PortState, SlowProtocolsFrame, key,
};

/// Fast_Periodic_Time: 1 s.
pub const FAST_PERIODIC_TIME: Duration = Duration::from_secs(1);
/// Slow_Periodic_Time: 30 s.
pub const SLOW_PERIODIC_TIME: Duration = Duration::from_secs(30);
/// Short_Timeout_Time: 3 s.
pub const SHORT_TIMEOUT_TIME: Duration = Duration::from_secs(3);
/// Long_Timeout_Time: 90 s.
pub const LONG_TIMEOUT_TIME: Duration = Duration::from_secs(90);
/// Churn_Detection_Time: 60 s.
pub const CHURN_DETECTION_TIME: Duration = Duration::from_secs(60);
/// Aggregate_Wait_Time (the wait_while timer): 2 s.
pub const AGGREGATE_WAIT_TIME: Duration = Duration::from_secs(2);
/// At most this many LACPDUs in any Fast_Periodic_Time interval on one port (802.1AX).
pub const MAX_TX_PER_FAST_PERIODIC: usize = 3;
/// At most this many Marker Responses per second on one port (not in Linux; see crate docs).
pub const MARKER_RESPONSES_PER_SECOND: usize = 5;

const EVENT_QUEUE_CAP: usize = 1024;
const RUN_PASSES: usize = 32;

/// A caller's mistake.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum Error {
    /// No port with this index.
    #[error("no LACP port with index {0}")]
    NoSuchPort(usize),
    /// A port with this index already exists.
    #[error("LACP port index {0} is already in use")]
    PortExists(usize),
    /// An invalid option.
    #[error(transparent)]
    Option(#[from] OptionError),
}

/// Duplex of a member link.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Duplex {
    /// Full duplex: LACP runs.
    Full,
    /// Half duplex: LACP is disabled on the port, as Linux does.
    Half,
    /// Unknown: treated as half, as Linux does.
    #[default]
    Unknown,
}

/// The link inputs of a port: carrier, speed and duplex (from netlink/ethtool).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Link {
    /// Carrier (after any updelay/downdelay the caller applies).
    pub up: bool,
    /// Speed in Mb/s, `None` when unknown.
    pub speed_mbps: Option<u32>,
    /// Duplex.
    pub duplex: Duplex,
}

impl Link {
    /// An up, full-duplex link of `speed_mbps`.
    pub fn up(speed_mbps: u32) -> Self {
        Self {
            up: true,
            speed_mbps: Some(speed_mbps),
            duplex: Duplex::Full,
        }
    }

    /// A down link.
    pub fn down() -> Self {
        Self::default()
    }
}

/// Receive machine states (802.1AX 6.4.12).
#[allow(missing_docs)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RxState {
    Initialize,
    PortDisabled,
    Expired,
    LacpDisabled,
    Defaulted,
    Current,
}

/// Mux machine states (802.1AX 6.4.15): coupled control uses `CollectingDistributing`,
/// independent control `Collecting` then `Distributing`.
#[allow(missing_docs)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MuxState {
    Detached,
    Waiting,
    Attached,
    CollectingDistributing,
    Collecting,
    Distributing,
}

/// Periodic Transmission machine states (802.1AX 6.4.13); PERIODIC_TX is transient.
#[allow(missing_docs)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PeriodicState {
    NoPeriodic,
    FastPeriodic,
    SlowPeriodic,
}

/// Actor or Partner Churn Detection machine state (802.1AX 6.4.17). `Display` gives the
/// words `/proc/net/bonding` prints.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChurnState {
    /// CHURN_MONITOR: "monitoring".
    Monitoring,
    /// CHURN: "churned".
    Churned,
    /// NO_CHURN: "none".
    None,
}

impl fmt::Display for ChurnState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Monitoring => "monitoring",
            Self::Churned => "churned",
            Self::None => "none",
        })
    }
}

/// Per-port counters: the kernel's `bond_3ad_stats` (LACP/Marker xstats) plus this
/// crate's own reasons.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct PortCounters {
    /// Valid LACPDUs received (loopback ones included, as Linux counts them).
    pub lacpdu_rx: u64,
    /// LACPDUs sent.
    pub lacpdu_tx: u64,
    /// Slow-protocols frames of an unknown subtype.
    pub lacpdu_unknown_rx: u64,
    /// Malformed LACPDUs and Marker PDUs (the sum of `malformed`).
    pub lacpdu_illegal_rx: u64,
    /// Marker Information PDUs received.
    pub marker_rx: u64,
    /// Marker Information PDUs sent (this crate generates none, like Linux).
    pub marker_tx: u64,
    /// Marker Response PDUs received.
    pub marker_resp_rx: u64,
    /// Marker Response PDUs sent.
    pub marker_resp_tx: u64,
    /// Marker PDUs of an unknown TLV type.
    pub marker_unknown_rx: u64,
    /// Marker Information PDUs not answered because of the rate limit.
    pub marker_resp_rate_limited: u64,
    /// LACPDUs that carried our own System ID as actor (a loop), ignored.
    pub loopback_rx: u64,
    /// Malformed PDUs per reason.
    pub malformed: MalformedCounters,
}

impl core::ops::AddAssign<&Self> for PortCounters {
    /// Adds every counter of `o` (sums over ports).
    fn add_assign(&mut self, o: &Self) {
        self.lacpdu_rx += o.lacpdu_rx;
        self.lacpdu_tx += o.lacpdu_tx;
        self.lacpdu_unknown_rx += o.lacpdu_unknown_rx;
        self.lacpdu_illegal_rx += o.lacpdu_illegal_rx;
        self.marker_rx += o.marker_rx;
        self.marker_tx += o.marker_tx;
        self.marker_resp_rx += o.marker_resp_rx;
        self.marker_resp_tx += o.marker_resp_tx;
        self.marker_unknown_rx += o.marker_unknown_rx;
        self.marker_resp_rate_limited += o.marker_resp_rate_limited;
        self.loopback_rx += o.loopback_rx;
        self.malformed += &o.malformed;
    }
}

/// What [`System::handle_rx`] did with a frame.
#[must_use]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rx {
    /// A valid LACPDU, fed to the receive machine.
    Lacpdu,
    /// A LACPDU carrying our own System ID (a loop), counted and ignored.
    Loopback,
    /// A valid Marker PDU (answered, or counted as rate limited).
    Marker,
    /// A slow-protocols frame dropped and counted for this reason.
    Dropped(wire::Error),
    /// Not a slow-protocols frame to 01:80:c2:00:00:02: the caller's to handle.
    NotSlowProtocols,
}

/// A frame to send.
#[must_use]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Transmit {
    /// The port (caller index) to send it on.
    pub port: usize,
    /// The whole Ethernet frame.
    pub frame: Frame,
}

/// A state change the caller may care about.
#[must_use]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Event {
    /// [`System::is_collecting`] changed for a port.
    PortCollecting {
        /// Caller index.
        port: usize,
        /// New value.
        collecting: bool,
    },
    /// [`System::is_distributing`] changed for a port.
    PortDistributing {
        /// Caller index.
        port: usize,
        /// New value.
        distributing: bool,
    },
    /// A port joined another aggregator (or none).
    PortAggregator {
        /// Caller index.
        port: usize,
        /// Aggregator ID.
        aggregator: Option<u16>,
    },
    /// The active aggregator changed.
    ActiveAggregator {
        /// Aggregator ID, `None` when there is no active aggregator.
        aggregator: Option<u16>,
    },
    /// The bond's carrier changed (active aggregator and `min_links`).
    Carrier {
        /// New carrier.
        up: bool,
    },
    /// Actor churn detected: our side stayed out of sync for 60 s.
    ActorChurn {
        /// Caller index.
        port: usize,
    },
    /// Partner churn detected: the partner stayed out of sync for 60 s.
    PartnerChurn {
        /// Caller index.
        port: usize,
    },
    /// A LACPDU with our own System ID arrived (ports looped back to each other).
    Loopback {
        /// Caller index.
        port: usize,
    },
}

/// The state of one port, for status output and the engine.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PortStatus {
    /// Caller index.
    pub index: usize,
    /// LACP port number (from 1, in add order, as Linux numbers them).
    pub port_number: u16,
    /// Permanent MAC, the source of its LACPDUs.
    pub perm_mac: MacAddr,
    /// Link inputs.
    pub link: Link,
    /// LACP runs on the port (full duplex).
    pub lacp_enabled: bool,
    /// Aggregator ID, `None` when not attached to one.
    pub aggregator_id: Option<u16>,
    /// Selected (802.1AX `Selected = SELECTED`).
    pub selected: bool,
    /// An individual link (our or the partner's Aggregation bit false).
    pub individual: bool,
    /// [`System::is_collecting`].
    pub collecting: bool,
    /// [`System::is_distributing`].
    pub distributing: bool,
    /// The actor's operational information (system priority, system, oper key, port
    /// priority, port number, Actor_Oper_Port_State) as sent in our LACPDUs.
    pub actor: PortInfo,
    /// The partner's operational information.
    pub partner: PortInfo,
    /// Receive machine state.
    pub rx_state: RxState,
    /// Mux machine state.
    pub mux_state: MuxState,
    /// Periodic machine state.
    pub periodic_state: PeriodicState,
    /// Actor churn state.
    pub actor_churn_state: ChurnState,
    /// Partner churn state.
    pub partner_churn_state: ChurnState,
    /// Times actor churn was detected.
    pub actor_churn_count: u64,
    /// Times partner churn was detected.
    pub partner_churn_count: u64,
}

/// The state of one aggregator.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AggregatorStatus {
    /// Aggregator ID (from 1, one per port, as Linux numbers them).
    pub id: u16,
    /// Ports attached to it whose link is up (what Linux prints as "Number of ports").
    pub num_ports: usize,
    /// Ports attached to it, up or not.
    pub num_attached: usize,
    /// Actor (operational) key.
    pub actor_key: u16,
    /// Partner key.
    pub partner_key: u16,
    /// Partner system MAC (zero when no partner answered).
    pub partner_system: MacAddr,
    /// Partner system priority.
    pub partner_system_priority: u16,
    /// An aggregator of one individual link.
    pub is_individual: bool,
    /// The active aggregator of the bond.
    pub is_active: bool,
    /// Up ports times the speed of its first port, in Mb/s (what `ad_select=bandwidth`
    /// compares).
    pub bandwidth_mbps: u64,
}

#[derive(Clone, Debug)]
struct Aggregator {
    id: u16,
    is_individual: bool,
    actor_key: u16,
    partner_system: MacAddr,
    partner_system_priority: u16,
    partner_key: u16,
    is_active: bool,
    /// Caller indices, the last joined first (Linux's list order).
    lag_ports: Vec<usize>,
}

impl Aggregator {
    fn new(id: u16, cap: usize) -> Self {
        Self {
            id,
            is_individual: false,
            actor_key: 0,
            partner_system: MacAddr::ZERO,
            partner_system_priority: 0,
            partner_key: 0,
            is_active: false,
            lag_ports: Vec::with_capacity(cap),
        }
    }

    fn clear(&mut self) {
        self.is_individual = false;
        self.actor_key = 0;
        self.partner_system = MacAddr::ZERO;
        self.partner_system_priority = 0;
        self.partner_key = 0;
        self.is_active = false;
        self.lag_ports.clear();
    }

    fn has_partner(&self) -> bool {
        !self.partner_system.is_zero()
    }
}

/// A small ring of the last N instants something was done, for "at most N per interval".
#[derive(Clone, Copy, Debug)]
struct RateWindow<const N: usize> {
    times: [Option<Duration>; N],
    next: usize,
}

impl<const N: usize> RateWindow<N> {
    const fn new() -> Self {
        Self {
            times: [None; N],
            next: 0,
        }
    }

    /// When one more may be done: `None` if now is fine (never done N times yet).
    fn open_at(&self, interval: Duration) -> Option<Duration> {
        self.times[self.next].map(|t| t + interval)
    }

    fn allows(&self, now: Duration, interval: Duration) -> bool {
        self.open_at(interval).is_none_or(|t| t <= now)
    }

    fn record(&mut self, now: Duration) {
        self.times[self.next] = Some(now);
        self.next = (self.next + 1) % N;
    }
}

#[derive(Clone, Debug)]
struct Port {
    port_number: u16,
    perm_mac: MacAddr,
    actor_port_priority: u16,
    actor_oper_key: u16,
    actor_oper_state: PortState,
    partner_admin: PortInfo,
    partner_oper: PortInfo,
    link: Link,
    port_enabled: bool,
    lacp_enabled: bool,
    begin: bool,
    selected: bool,
    ready_n: bool,
    ntt: bool,
    /// Index of the owning slot of the aggregator it is attached to.
    aggregator: Option<usize>,
    rx_state: RxState,
    mux_state: MuxState,
    periodic_state: PeriodicState,
    actor_churn: ChurnState,
    partner_churn: ChurnState,
    actor_churn_count: u64,
    partner_churn_count: u64,
    current_while: Option<Duration>,
    periodic_timer: Option<Duration>,
    wait_while: Option<Duration>,
    actor_churn_timer: Option<Duration>,
    partner_churn_timer: Option<Duration>,
    tx_window: RateWindow<MAX_TX_PER_FAST_PERIODIC>,
    marker_window: RateWindow<MARKER_RESPONSES_PER_SECOND>,
    marker_queue: [Option<MarkerPdu>; MARKER_RESPONSES_PER_SECOND],
    counters: PortCounters,
    reported_collecting: bool,
    reported_distributing: bool,
    reported_aggregator: Option<u16>,
}

/// Linux's `ad_initialize_port` partner template: what a port assumes of a partner that
/// has not spoken.
const PARTNER_ADMIN: PortInfo = PortInfo {
    system_priority: 0xffff,
    system: MacAddr::ZERO,
    key: 1,
    port_priority: 0xff,
    port: 1,
    state: PortState::empty(),
};

impl Port {
    fn is_individual(&self) -> bool {
        !self.actor_oper_state.contains(PortState::AGGREGATION)
            || !self.partner_oper.state.contains(PortState::AGGREGATION)
    }

    fn record_default(&mut self) {
        self.partner_oper = self.partner_admin;
        self.actor_oper_state.insert(PortState::DEFAULTED);
    }

    fn has_marker_room(&self) -> bool {
        self.marker_queue.iter().any(Option::is_none)
    }
}

/// The partner administrative defaults: Linux's template, except that LACP_Timeout follows
/// our own `lacp_rate`, so a DEFAULTED port keeps probing at the fast rate when the bond is
/// fast (Linux probes every 30 s there, so a link repaired without a carrier event takes up
/// to 30 s to come back).
fn partner_admin(rate: LacpRate) -> PortInfo {
    let mut p = PARTNER_ADMIN;
    if rate == LacpRate::Fast {
        p.state = PortState::LACP_TIMEOUT;
    }
    p
}

fn earliest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn expired(t: Option<Duration>, now: Duration) -> bool {
    t.is_some_and(|t| t <= now)
}

/// One LACP system: the ports of one bond, their aggregators, and the selection logic.
///
/// Methods fall in four groups: getters; inputs (`handle_rx`, `handle_link`,
/// `handle_timeout`); mutators (`add_port`, `remove_port`, `set_*`); outputs
/// (`poll_transmit`, `poll_event`, `poll_timeout`). Time must not go backwards.
#[derive(Clone, Debug)]
pub struct System {
    config: Config,
    ports: Vec<Option<Port>>,
    aggs: Vec<Option<Aggregator>>,
    /// Caller indices in add order (the kernel's slave list order).
    order: Vec<usize>,
    next_aggregator_id: u16,
    initial_hold_until: Option<Duration>,
    ever_received: bool,
    events: VecDeque<Event>,
    events_dropped: u64,
    departing: VecDeque<Transmit>,
    reported_active: Option<u16>,
    reported_carrier: bool,
}

impl System {
    /// A system with no ports. Fails if `config` breaks a Linux validation rule.
    pub fn new(config: Config) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            config,
            ports: Vec::new(),
            aggs: Vec::new(),
            order: Vec::new(),
            next_aggregator_id: 0,
            initial_hold_until: None,
            ever_received: false,
            events: VecDeque::with_capacity(64),
            events_dropped: 0,
            departing: VecDeque::new(),
            reported_active: None,
            reported_carrier: false,
        })
    }

    // ------------------------------------------------------------------ getters

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// System priority (`ad_actor_sys_prio`).
    pub fn system_priority(&self) -> u16 {
        self.config.ad_actor_sys_prio
    }

    /// System MAC address in use.
    pub fn system_mac(&self) -> MacAddr {
        self.config.system_mac()
    }

    /// Caller indices of the ports, in add order.
    pub fn ports(&self) -> impl Iterator<Item = usize> + '_ {
        self.order.iter().copied()
    }

    /// Whether a valid LACPDU (not our own, looped back) was ever received on any port.
    pub fn lacpdu_ever_received(&self) -> bool {
        self.ever_received
    }

    /// Events dropped because nobody polled them (the queue holds 1024).
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// The bond's carrier as Linux computes it (`bond_3ad_set_carrier`): there is an
    /// active aggregator and at least `min_links` of its ports are up.
    pub fn carrier(&self) -> bool {
        match self.active_agg() {
            Some(a) => self.agg_active_ports(a) >= self.config.min_links as usize,
            None => false,
        }
    }

    /// The state of a port.
    pub fn port(&self, index: usize) -> Option<PortStatus> {
        let p = self.ports.get(index)?.as_ref()?;
        Some(PortStatus {
            index,
            port_number: p.port_number,
            perm_mac: p.perm_mac,
            link: p.link,
            lacp_enabled: p.lacp_enabled,
            aggregator_id: p.aggregator.and_then(|a| self.agg(a)).map(|a| a.id),
            selected: p.selected,
            individual: p.is_individual(),
            collecting: self.collecting_of(p),
            distributing: self.distributing_of(p),
            actor: self.actor_info(p),
            partner: p.partner_oper,
            rx_state: p.rx_state,
            mux_state: p.mux_state,
            periodic_state: p.periodic_state,
            actor_churn_state: p.actor_churn,
            partner_churn_state: p.partner_churn,
            actor_churn_count: p.actor_churn_count,
            partner_churn_count: p.partner_churn_count,
        })
    }

    /// The counters of a port.
    pub fn counters(&self, index: usize) -> Option<&PortCounters> {
        Some(&self.ports.get(index)?.as_ref()?.counters)
    }

    /// The counters summed over all ports (the kernel's per-bond stats).
    pub fn total_counters(&self) -> PortCounters {
        let mut t = PortCounters::default();
        for p in self.ports.iter().flatten() {
            t += &p.counters;
        }
        t
    }

    /// Whether the caller should accept frames received on this port: its mux collects in
    /// the active aggregator, or (as Linux does) the active aggregator has no partner at
    /// all and the port's partner has been silent long enough to be DEFAULTED.
    pub fn is_collecting(&self, index: usize) -> bool {
        self.p(index).is_some_and(|p| self.collecting_of(p))
    }

    /// Whether the caller may send frames on this port (see [`System::is_collecting`]).
    pub fn is_distributing(&self, index: usize) -> bool {
        self.p(index).is_some_and(|p| self.distributing_of(p))
    }

    /// The active aggregator.
    pub fn active_aggregator(&self) -> Option<AggregatorStatus> {
        self.active_agg().and_then(|a| self.aggregator_status(a))
    }

    /// An aggregator by ID.
    pub fn aggregator(&self, id: u16) -> Option<AggregatorStatus> {
        let slot = self.agg_slot_by_id(id)?;
        self.aggregator_status(slot)
    }

    /// Every aggregator that has ports attached, in port add order.
    pub fn aggregators(&self) -> impl Iterator<Item = AggregatorStatus> + '_ {
        self.order
            .iter()
            .filter(|&&s| self.agg(s).is_some_and(|a| !a.lag_ports.is_empty()))
            .filter_map(|&s| self.aggregator_status(s))
    }

    /// Caller indices of the ports attached to an aggregator (last joined first).
    pub fn aggregator_ports(&self, id: u16) -> impl Iterator<Item = usize> + '_ {
        self.agg_slot_by_id(id)
            .and_then(|s| self.agg(s))
            .map(|a| a.lag_ports.as_slice())
            .unwrap_or(&[])
            .iter()
            .copied()
    }

    // ------------------------------------------------------------------ mutators

    /// Adds a port with a caller index and its permanent MAC; returns its LACP port
    /// number. The port starts with its link down: report the link with
    /// [`System::handle_link`].
    pub fn add_port(
        &mut self,
        now: Duration,
        index: usize,
        perm_mac: MacAddr,
    ) -> Result<u16, Error> {
        if self.p(index).is_some() {
            return Err(Error::PortExists(index));
        }
        let port_number = match self.order.last().and_then(|&l| self.p(l)) {
            None => {
                // First port: Linux (re)initialises the system here.
                self.next_aggregator_id = 0;
                self.initial_hold_until = (!self.config.initial_selection_wait.is_zero())
                    .then(|| now + self.config.initial_selection_wait);
                1
            }
            Some(last) => match last.port_number.wrapping_add(1) {
                0 => 1,
                n => n,
            },
        };
        if self.ports.len() <= index {
            self.ports.resize_with(index + 1, || None);
            self.aggs.resize_with(index + 1, || None);
        }
        self.next_aggregator_id = self.next_aggregator_id.wrapping_add(1);
        let mut state = PortState::AGGREGATION;
        if self.config.lacp_active == LacpActive::On {
            state |= PortState::LACP_ACTIVITY;
        }
        if self.config.lacp_rate == LacpRate::Fast {
            state |= PortState::LACP_TIMEOUT;
        }
        let port = Port {
            port_number,
            perm_mac,
            actor_port_priority: DEFAULT_ACTOR_PORT_PRIO,
            actor_oper_key: key::encode(self.config.ad_user_port_key, None, false),
            actor_oper_state: state,
            partner_admin: partner_admin(self.config.lacp_rate),
            partner_oper: partner_admin(self.config.lacp_rate),
            link: Link::down(),
            port_enabled: false,
            lacp_enabled: false,
            begin: true,
            selected: false,
            ready_n: false,
            ntt: false,
            aggregator: None,
            rx_state: RxState::Initialize,
            mux_state: MuxState::Detached,
            periodic_state: PeriodicState::NoPeriodic,
            actor_churn: ChurnState::Monitoring,
            partner_churn: ChurnState::Monitoring,
            actor_churn_count: 0,
            partner_churn_count: 0,
            current_while: None,
            periodic_timer: None,
            wait_while: None,
            actor_churn_timer: None,
            partner_churn_timer: None,
            tx_window: RateWindow::new(),
            marker_window: RateWindow::new(),
            marker_queue: [None; MARKER_RESPONSES_PER_SECOND],
            counters: PortCounters::default(),
            reported_collecting: false,
            reported_distributing: false,
            reported_aggregator: None,
        };
        self.ports[index] = Some(port);
        let cap = self.order.len() + 1;
        self.aggs[index] = Some(Aggregator::new(self.next_aggregator_id, cap.max(4)));
        self.order.push(index);
        self.run(now);
        Ok(port_number)
    }

    /// Removes a port. As Linux does, a last LACPDU goes out on it telling the partner it
    /// is no longer aggregatable (poll it with [`System::poll_transmit`]), and the other
    /// ports of its aggregator move to a free aggregator without leaving their state.
    pub fn remove_port(&mut self, now: Duration, index: usize) -> Result<(), Error> {
        let Some(p) = self.p(index) else {
            return Err(Error::NoSuchPort(index));
        };
        // The farewell LACPDU.
        let mut actor = self.actor_info(p);
        actor.state.remove(
            PortState::SYNCHRONIZATION
                | PortState::COLLECTING
                | PortState::DISTRIBUTING
                | PortState::AGGREGATION,
        );
        let pdu = Lacpdu {
            version: 1,
            actor,
            partner: p.partner_oper,
            collector_max_delay: 0,
        };
        if p.port_enabled && p.lacp_enabled {
            self.departing.push_back(Transmit {
                port: index,
                frame: Frame::new(p.perm_mac, &Pdu::Lacpdu(pdu)),
            });
        }
        // Move the other ports of the aggregator this port owns to a free aggregator.
        let owned_has_others = self
            .agg(index)
            .is_some_and(|a| a.lag_ports.iter().any(|&q| q != index));
        if owned_has_others {
            let free = self.order.iter().copied().find(|&s| {
                s != index
                    && self.agg(s).is_some_and(|a| {
                        a.lag_ports.is_empty() || a.lag_ports.as_slice() == [index]
                    })
            });
            if let Some(free) = free {
                let mut moved = self.aggs[index].take();
                if let (Some(m), Some(Some(f))) = (moved.as_mut(), self.aggs.get_mut(free)) {
                    let id = f.id;
                    core::mem::swap(f, m);
                    f.id = id;
                    for &q in &f.lag_ports {
                        if let Some(Some(qp)) = self.ports.get_mut(q) {
                            qp.aggregator = Some(free);
                        }
                    }
                }
                self.aggs[index] = moved;
                if let Some(a) = self.aggs[index].as_mut() {
                    a.clear();
                }
            }
        }
        // Detach the port from wherever it is.
        self.detach_from_aggregator(index);
        self.ports[index] = None;
        self.aggs[index] = None;
        self.order.retain(|&q| q != index);
        self.run(now);
        Ok(())
    }

    /// Sets `actor_port_prio` of one port (default 255).
    pub fn set_actor_port_priority(
        &mut self,
        now: Duration,
        index: usize,
        prio: u16,
    ) -> Result<(), Error> {
        let p = self.pm(index).ok_or(Error::NoSuchPort(index))?;
        if p.actor_port_priority != prio {
            p.actor_port_priority = prio;
            p.ntt = true;
        }
        self.run(now);
        Ok(())
    }

    /// Sets one LACP option by its Linux name and spelling (see [`Config::set`]) and
    /// applies it to every port.
    pub fn set_option(&mut self, now: Duration, option: &str, value: &str) -> Result<(), Error> {
        let mut c = self.config;
        c.set(option, value)?;
        self.set_config(now, c)
    }

    /// Replaces the configuration and applies what changed to every port, as the
    /// kernel's `bond_3ad_update_*` functions do.
    pub fn set_config(&mut self, now: Duration, config: Config) -> Result<(), Error> {
        config.validate()?;
        let old = core::mem::replace(&mut self.config, config);
        let system_changed = old.system_mac() != config.system_mac()
            || old.ad_actor_sys_prio != config.ad_actor_sys_prio;
        for &i in &self.order {
            let Some(Some(p)) = self.ports.get_mut(i) else {
                continue;
            };
            let mut state = p.actor_oper_state;
            state.set(PortState::LACP_TIMEOUT, config.lacp_rate == LacpRate::Fast);
            state.set(
                PortState::LACP_ACTIVITY,
                config.lacp_active == LacpActive::On,
            );
            p.partner_admin = partner_admin(config.lacp_rate);
            if state != p.actor_oper_state || system_changed {
                p.actor_oper_state = state;
                p.ntt = true;
            }
            if old.ad_user_port_key != config.ad_user_port_key {
                let k = (p.actor_oper_key & !key::USER_MASK)
                    | ((config.ad_user_port_key << 6) & key::USER_MASK);
                if k != p.actor_oper_key {
                    p.actor_oper_key = k;
                    p.selected = false;
                    p.ntt = true;
                }
            }
        }
        self.run(now);
        Ok(())
    }

    /// Sets `lacp_rate`.
    pub fn set_lacp_rate(&mut self, now: Duration, rate: LacpRate) {
        let c = Config {
            lacp_rate: rate,
            ..self.config
        };
        let _ = self.set_config(now, c);
    }

    /// Sets `lacp_active`.
    pub fn set_lacp_active(&mut self, now: Duration, active: LacpActive) {
        let c = Config {
            lacp_active: active,
            ..self.config
        };
        let _ = self.set_config(now, c);
    }

    /// Sets `ad_select`.
    pub fn set_ad_select(&mut self, now: Duration, ad_select: AdSelect) {
        let c = Config {
            ad_select,
            ..self.config
        };
        let _ = self.set_config(now, c);
    }

    /// Sets `coupled_control`.
    pub fn set_coupled_control(&mut self, now: Duration, coupled: CoupledControl) {
        let c = Config {
            coupled_control: coupled,
            ..self.config
        };
        let _ = self.set_config(now, c);
    }

    /// Sets `min_links` (0..=2147483647).
    pub fn set_min_links(&mut self, now: Duration, min_links: u32) -> Result<(), Error> {
        let c = Config {
            min_links,
            ..self.config
        };
        self.set_config(now, c)
    }

    /// Sets the bond's MAC (the System ID when `ad_actor_system` is unset).
    pub fn set_bond_mac(&mut self, now: Duration, mac: MacAddr) {
        let c = Config {
            bond_mac: mac,
            ..self.config
        };
        let _ = self.set_config(now, c);
    }

    // ------------------------------------------------------------------ inputs

    /// A frame received on a port, starting at the Ethernet header. Bad frames are
    /// dropped and counted; `Err` only for an unknown port.
    pub fn handle_rx(&mut self, now: Duration, index: usize, frame: &[u8]) -> Result<Rx, Error> {
        let system_mac = self.system_mac();
        let p = self.pm(index).ok_or(Error::NoSuchPort(index))?;
        let f = match SlowProtocolsFrame::new_checked(frame) {
            Ok(f) => f,
            Err(wire::Error::NotSlowProtocols | wire::Error::WrongDestination) => {
                return Ok(Rx::NotSlowProtocols);
            }
            Err(e) => {
                p.counters.malformed.record(e);
                p.counters.lacpdu_illegal_rx += 1;
                return Ok(Rx::Dropped(e));
            }
        };
        match Pdu::parse(&f) {
            Err(e @ wire::Error::UnknownSubtype(_)) => {
                p.counters.lacpdu_unknown_rx += 1;
                Ok(Rx::Dropped(e))
            }
            Err(e @ wire::Error::UnknownMarkerTlv(_)) => {
                p.counters.marker_unknown_rx += 1;
                Ok(Rx::Dropped(e))
            }
            Err(e) => {
                p.counters.malformed.record(e);
                p.counters.lacpdu_illegal_rx += 1;
                Ok(Rx::Dropped(e))
            }
            Ok(Pdu::Marker(m)) => {
                match m.kind {
                    MarkerKind::Information => {
                        p.counters.marker_rx += 1;
                        // A port that is down cannot answer; otherwise at most five
                        // answers in any second.
                        if p.port_enabled
                            && p.marker_window.allows(now, Duration::from_secs(1))
                            && p.has_marker_room()
                        {
                            p.marker_window.record(now);
                            if let Some(slot) = p.marker_queue.iter_mut().find(|s| s.is_none()) {
                                *slot = Some(m.response());
                            }
                        } else {
                            p.counters.marker_resp_rate_limited += 1;
                        }
                    }
                    MarkerKind::Response => p.counters.marker_resp_rx += 1,
                }
                Ok(Rx::Marker)
            }
            Ok(Pdu::Lacpdu(pdu)) => {
                p.counters.lacpdu_rx += 1;
                if pdu.actor.system == system_mac {
                    p.counters.loopback_rx += 1;
                    self.push_event(Event::Loopback { port: index });
                    return Ok(Rx::Loopback);
                }
                self.ever_received = true;
                self.rx_lacpdu(now, index, &pdu);
                self.run(now);
                Ok(Rx::Lacpdu)
            }
        }
    }

    /// The link of a port changed (carrier, speed or duplex). As Linux does, the key is
    /// recomputed from speed and duplex; a link that is not full duplex disables LACP on
    /// the port, and a speed change on a full-duplex link restarts its machines.
    pub fn handle_link(&mut self, now: Duration, index: usize, link: Link) -> Result<(), Error> {
        let user_key = self.config.ad_user_port_key;
        let p = self.pm(index).ok_or(Error::NoSuchPort(index))?;
        p.link = link;
        p.port_enabled = link.up;
        let (speed, duplex) = if link.up {
            (link.speed_mbps, link.duplex == Duplex::Full)
        } else {
            (None, false)
        };
        let old_key = p.actor_oper_key;
        let new_key = key::encode(user_key, speed, duplex);
        p.lacp_enabled = duplex;
        if new_key != old_key {
            p.actor_oper_key = new_key;
            p.selected = false;
            p.ntt = true;
            let old_speed = (old_key & key::SPEED_MASK) >> 1;
            let new_speed = (new_key & key::SPEED_MASK) >> 1;
            if new_speed != 0 && duplex && old_speed != new_speed {
                p.begin = true;
            }
        }
        self.run(now);
        Ok(())
    }

    /// Time passed: runs the timers due at `now`. A call before any deadline does nothing.
    pub fn handle_timeout(&mut self, now: Duration) {
        self.run(now);
    }

    // ------------------------------------------------------------------ outputs

    /// The next frame to send, if any: Marker Responses, then LACPDUs (at most three per
    /// port in any second), then the farewell LACPDUs of removed ports. Call until `None`
    /// after every input.
    pub fn poll_transmit(&mut self, now: Duration) -> Option<Transmit> {
        for k in 0..self.order.len() {
            let i = self.order[k];
            let Some(Some(p)) = self.ports.get_mut(i) else {
                continue;
            };
            if let Some(m) = p.marker_queue.iter_mut().find_map(Option::take) {
                p.counters.marker_resp_tx += 1;
                return Some(Transmit {
                    port: i,
                    frame: Frame::new(p.perm_mac, &Pdu::Marker(m)),
                });
            }
        }
        for k in 0..self.order.len() {
            let i = self.order[k];
            let sendable = self.p(i).is_some_and(|p| {
                p.ntt && self.may_transmit(p) && p.tx_window.allows(now, FAST_PERIODIC_TIME)
            });
            if !sendable {
                continue;
            }
            let pdu = {
                let p = self.p(i)?;
                Lacpdu {
                    version: 1,
                    actor: self.actor_info(p),
                    partner: p.partner_oper,
                    collector_max_delay: 0,
                }
            };
            let p = self.pm(i)?;
            p.ntt = false;
            p.tx_window.record(now);
            p.counters.lacpdu_tx += 1;
            return Some(Transmit {
                port: i,
                frame: Frame::new(p.perm_mac, &Pdu::Lacpdu(pdu)),
            });
        }
        self.departing.pop_front()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next deadline: call [`System::handle_timeout`] at or after it.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let mut t = self.initial_hold_until;
        for p in self.ports.iter().flatten() {
            t = earliest(t, p.current_while);
            t = earliest(t, p.periodic_timer);
            t = earliest(t, p.wait_while);
            t = earliest(t, p.actor_churn_timer);
            t = earliest(t, p.partner_churn_timer);
            if p.ntt && self.may_transmit(p) {
                t = earliest(t, p.tx_window.open_at(FAST_PERIODIC_TIME));
            }
        }
        t
    }

    // ------------------------------------------------------------------ internals

    fn p(&self, i: usize) -> Option<&Port> {
        self.ports.get(i)?.as_ref()
    }

    fn pm(&mut self, i: usize) -> Option<&mut Port> {
        self.ports.get_mut(i)?.as_mut()
    }

    fn agg(&self, slot: usize) -> Option<&Aggregator> {
        self.aggs.get(slot)?.as_ref()
    }

    fn agg_slot_by_id(&self, id: u16) -> Option<usize> {
        self.order
            .iter()
            .copied()
            .find(|&s| self.agg(s).is_some_and(|a| a.id == id))
    }

    fn active_agg(&self) -> Option<usize> {
        self.order
            .iter()
            .copied()
            .find(|&s| self.agg(s).is_some_and(|a| a.is_active))
    }

    fn agg_active_ports(&self, slot: usize) -> usize {
        self.agg(slot).map_or(0, |a| {
            a.lag_ports
                .iter()
                .filter(|&&q| self.p(q).is_some_and(|p| p.port_enabled))
                .count()
        })
    }

    fn agg_bandwidth(&self, slot: usize) -> u64 {
        let n = self.agg_active_ports(slot) as u64;
        let head_speed = self
            .agg(slot)
            .and_then(|a| a.lag_ports.first())
            .and_then(|&q| self.p(q))
            .filter(|p| p.port_enabled)
            .map_or(0, |p| key::class_mbps(key::speed_class(p.link.speed_mbps)));
        n * u64::from(head_speed)
    }

    fn aggregator_status(&self, slot: usize) -> Option<AggregatorStatus> {
        let a = self.agg(slot)?;
        Some(AggregatorStatus {
            id: a.id,
            num_ports: self.agg_active_ports(slot),
            num_attached: a.lag_ports.len(),
            actor_key: a.actor_key,
            partner_key: a.partner_key,
            partner_system: a.partner_system,
            partner_system_priority: a.partner_system_priority,
            is_individual: a.is_individual,
            is_active: a.is_active,
            bandwidth_mbps: self.agg_bandwidth(slot),
        })
    }

    fn actor_info(&self, p: &Port) -> PortInfo {
        PortInfo {
            system_priority: self.config.ad_actor_sys_prio,
            system: self.config.system_mac(),
            key: p.actor_oper_key,
            port_priority: p.actor_port_priority,
            port: p.port_number,
            state: p.actor_oper_state,
        }
    }

    /// The Transmit machine may send (802.1AX: not while the Periodic machine is in
    /// NO_PERIODIC, which also covers LACP disabled and port disabled).
    fn may_transmit(&self, p: &Port) -> bool {
        p.lacp_enabled && p.port_enabled && p.periodic_state != PeriodicState::NoPeriodic
    }

    fn in_active_agg(&self, p: &Port) -> Option<&Aggregator> {
        p.aggregator
            .and_then(|a| self.agg(a))
            .filter(|a| a.is_active)
    }

    /// Linux enables the ports of an active aggregator that has no partner; here only once
    /// the port's partner has been silent long enough to be DEFAULTED (or LACP is off on it).
    fn no_partner_fallback(&self, p: &Port, a: &Aggregator) -> bool {
        !a.has_partner()
            && p.port_enabled
            && matches!(p.rx_state, RxState::Defaulted | RxState::LacpDisabled)
    }

    fn collecting_of(&self, p: &Port) -> bool {
        self.in_active_agg(p).is_some_and(|a| {
            p.actor_oper_state.contains(PortState::COLLECTING) || self.no_partner_fallback(p, a)
        })
    }

    fn distributing_of(&self, p: &Port) -> bool {
        self.in_active_agg(p).is_some_and(|a| {
            p.actor_oper_state.contains(PortState::DISTRIBUTING) || self.no_partner_fallback(p, a)
        })
    }

    fn push_event(&mut self, e: Event) {
        if self.events.len() >= EVENT_QUEUE_CAP {
            self.events.pop_front();
            self.events_dropped += 1;
        }
        self.events.push_back(e);
    }

    /// Receive machine, a LACPDU arrived (802.1AX 6.4.12, CURRENT entry).
    fn rx_lacpdu(&mut self, now: Duration, i: usize, pdu: &Lacpdu) {
        let actor = match self.p(i) {
            Some(p) => self.actor_info(p),
            None => return,
        };
        let Some(p) = self.pm(i) else { return };
        if !p.port_enabled
            || !matches!(
                p.rx_state,
                RxState::Expired | RxState::Defaulted | RxState::Current
            )
        {
            return;
        }
        p.rx_state = RxState::Current;
        // update_Selected: the partner's identity changed.
        let po = &p.partner_oper;
        let a = &pdu.actor;
        if a.port != po.port
            || a.port_priority != po.port_priority
            || a.system != po.system
            || a.system_priority != po.system_priority
            || a.key != po.key
            || a.state.contains(PortState::AGGREGATION) != po.state.contains(PortState::AGGREGATION)
        {
            p.selected = false;
        }
        // update_NTT: the partner's view of us is out of date.
        let pp = &pdu.partner;
        let bits = PortState::LACP_ACTIVITY
            | PortState::LACP_TIMEOUT
            | PortState::SYNCHRONIZATION
            | PortState::AGGREGATION;
        let view_matches = pp.port == actor.port
            && pp.port_priority == actor.port_priority
            && pp.system == actor.system
            && pp.system_priority == actor.system_priority
            && pp.key == actor.key;
        if !view_matches || (pp.state & bits) != (actor.state & bits) {
            p.ntt = true;
        }
        // recordPDU.
        let matched = (view_matches
            && pp.state.contains(PortState::AGGREGATION)
                == actor.state.contains(PortState::AGGREGATION))
            || !a.state.contains(PortState::AGGREGATION);
        let actively_maintained = a.state.contains(PortState::LACP_ACTIVITY)
            || (actor.state.contains(PortState::LACP_ACTIVITY)
                && pp.state.contains(PortState::LACP_ACTIVITY));
        p.partner_oper = pdu.actor;
        p.partner_oper.state.set(
            PortState::SYNCHRONIZATION,
            matched && actively_maintained && a.state.contains(PortState::SYNCHRONIZATION),
        );
        p.actor_oper_state
            .remove(PortState::DEFAULTED | PortState::EXPIRED);
        let timeout = if p.actor_oper_state.contains(PortState::LACP_TIMEOUT) {
            SHORT_TIMEOUT_TIME
        } else {
            LONG_TIMEOUT_TIME
        };
        p.current_while = Some(now + timeout);
    }

    /// Receive machine without a PDU: BEGIN, port and LACP enable changes, current_while.
    fn rx_step(&mut self, now: Duration, i: usize) -> bool {
        let Some(p) = self.pm(i) else { return false };
        let old = p.rx_state;
        let enter = |p: &mut Port, s: RxState| {
            p.rx_state = s;
            match s {
                RxState::Initialize | RxState::PortDisabled => {
                    if s == RxState::Initialize {
                        p.selected = false;
                        p.record_default();
                        p.actor_oper_state.remove(PortState::EXPIRED);
                        p.rx_state = RxState::PortDisabled;
                    }
                    p.partner_oper.state.remove(PortState::SYNCHRONIZATION);
                    p.current_while = None;
                }
                RxState::Expired => {
                    p.partner_oper.state.remove(PortState::SYNCHRONIZATION);
                    p.partner_oper.state.insert(PortState::LACP_TIMEOUT);
                    p.current_while = Some(now + SHORT_TIMEOUT_TIME);
                    p.actor_oper_state.insert(PortState::EXPIRED);
                }
                RxState::LacpDisabled => {
                    p.selected = false;
                    p.record_default();
                    p.partner_oper.state.remove(PortState::AGGREGATION);
                    p.actor_oper_state.remove(PortState::EXPIRED);
                    p.current_while = None;
                }
                RxState::Defaulted => {
                    // update_Default_Selected.
                    let (a, o) = (&p.partner_admin, &p.partner_oper);
                    if a.port != o.port
                        || a.port_priority != o.port_priority
                        || a.system != o.system
                        || a.system_priority != o.system_priority
                        || a.key != o.key
                        || a.state.contains(PortState::AGGREGATION)
                            != o.state.contains(PortState::AGGREGATION)
                    {
                        p.selected = false;
                    }
                    p.record_default();
                    p.actor_oper_state.remove(PortState::EXPIRED);
                    p.current_while = None;
                }
                RxState::Current => {}
            }
        };
        if p.begin {
            enter(p, RxState::Initialize);
            return true;
        }
        if !p.port_enabled {
            if p.rx_state != RxState::PortDisabled {
                enter(p, RxState::PortDisabled);
            }
        } else {
            match p.rx_state {
                RxState::Initialize | RxState::PortDisabled => {
                    if p.lacp_enabled {
                        enter(p, RxState::Expired);
                    } else {
                        enter(p, RxState::LacpDisabled);
                    }
                }
                RxState::LacpDisabled => {
                    if p.lacp_enabled {
                        enter(p, RxState::PortDisabled);
                    }
                }
                RxState::Expired | RxState::Current | RxState::Defaulted if !p.lacp_enabled => {
                    enter(p, RxState::PortDisabled);
                }
                RxState::Expired => {
                    if expired(p.current_while, now) {
                        enter(p, RxState::Defaulted);
                    }
                }
                RxState::Current => {
                    if expired(p.current_while, now) {
                        enter(p, RxState::Expired);
                    }
                }
                RxState::Defaulted => {}
            }
        }
        p.rx_state != old
    }

    /// Periodic Transmission machine.
    fn periodic_step(&mut self, now: Duration, i: usize) -> bool {
        let Some(p) = self.pm(i) else { return false };
        let (old_state, old_timer, old_ntt) = (p.periodic_state, p.periodic_timer, p.ntt);
        let no_periodic = p.begin
            || !p.lacp_enabled
            || !p.port_enabled
            || (!p.actor_oper_state.contains(PortState::LACP_ACTIVITY)
                && !p.partner_oper.state.contains(PortState::LACP_ACTIVITY));
        if no_periodic {
            p.periodic_state = PeriodicState::NoPeriodic;
            p.periodic_timer = None;
            p.ntt = false;
        } else {
            let fast = p.partner_oper.state.contains(PortState::LACP_TIMEOUT);
            match p.periodic_state {
                PeriodicState::NoPeriodic => {
                    p.periodic_state = PeriodicState::FastPeriodic;
                    p.periodic_timer = Some(now + FAST_PERIODIC_TIME);
                }
                PeriodicState::FastPeriodic if !fast => {
                    p.periodic_state = PeriodicState::SlowPeriodic;
                    p.periodic_timer = Some(now + SLOW_PERIODIC_TIME);
                }
                PeriodicState::SlowPeriodic if fast => {
                    // SLOW_PERIODIC -> PERIODIC_TX at once when the partner asks for fast.
                    p.ntt = true;
                    p.periodic_state = PeriodicState::FastPeriodic;
                    p.periodic_timer = Some(now + FAST_PERIODIC_TIME);
                }
                _ => {}
            }
            if let Some(t) = p.periodic_timer.filter(|&t| t <= now) {
                // PERIODIC_TX, then back to FAST or SLOW. The next deadline counts from the
                // one that fired, so a late caller does not make the period drift.
                p.ntt = true;
                let (state, period) = if fast {
                    (PeriodicState::FastPeriodic, FAST_PERIODIC_TIME)
                } else {
                    (PeriodicState::SlowPeriodic, SLOW_PERIODIC_TIME)
                };
                p.periodic_state = state;
                let mut next = t + period;
                if next <= now {
                    next = now + period;
                }
                p.periodic_timer = Some(next);
            }
        }
        (p.periodic_state, p.periodic_timer, p.ntt) != (old_state, old_timer, old_ntt)
    }

    fn detach_from_aggregator(&mut self, i: usize) {
        let Some(slot) = self.p(i).and_then(|p| p.aggregator) else {
            return;
        };
        if let Some(Some(a)) = self.aggs.get_mut(slot) {
            a.lag_ports.retain(|&q| q != i);
            if a.lag_ports.is_empty() {
                a.clear();
            }
        }
        if let Some(p) = self.pm(i) {
            p.aggregator = None;
        }
    }

    /// Selection Logic for one port (802.1AX 6.4.14; the aggregator search is Linux's
    /// `ad_port_selection_logic`). A port is (re)selected only once its mux has detached.
    fn selection_step(&mut self, i: usize) -> bool {
        let Some(p) = self.p(i) else { return false };
        if p.selected || p.mux_state != MuxState::Detached {
            return false;
        }
        self.detach_from_aggregator(i);
        let Some(p) = self.p(i) else { return false };
        let individual = p.is_individual();
        let (key, partner) = (p.actor_oper_key, p.partner_oper);
        let mut free = None;
        let mut found = None;
        for &s in &self.order {
            let Some(a) = self.agg(s) else { continue };
            if a.lag_ports.is_empty() {
                free.get_or_insert(s);
                continue;
            }
            if a.actor_key == key
                && a.partner_system == partner.system
                && a.partner_system_priority == partner.system_priority
                && a.partner_key == partner.key
                && a.has_partner()
                && !a.is_individual
                && !individual
            {
                found = Some(s);
                break;
            }
        }
        let slot = match (found, free) {
            (Some(s), _) => s,
            (None, Some(s)) => {
                if let Some(Some(a)) = self.aggs.get_mut(s) {
                    a.is_individual = individual;
                    a.actor_key = key;
                    a.partner_system = partner.system;
                    a.partner_system_priority = partner.system_priority;
                    a.partner_key = partner.key;
                }
                s
            }
            // Cannot happen (one aggregator per port), but never panic.
            (None, None) => return false,
        };
        if let Some(Some(a)) = self.aggs.get_mut(slot) {
            a.lag_ports.insert(0, i);
        }
        if let Some(p) = self.pm(i) {
            p.aggregator = Some(slot);
            p.selected = true;
        }
        true
    }

    /// Linux's `ad_agg_selection_test`: is `curr` a better active aggregator than `best`?
    fn better(&self, best: Option<usize>, curr: usize) -> usize {
        let Some(best) = best else { return curr };
        let (Some(b), Some(c)) = (self.agg(best), self.agg(curr)) else {
            return best;
        };
        if !c.is_individual && b.is_individual {
            return curr;
        }
        if c.is_individual && !b.is_individual {
            return best;
        }
        if c.has_partner() && !b.has_partner() {
            return curr;
        }
        if !c.has_partner() && b.has_partner() {
            return best;
        }
        if self.config.ad_select == AdSelect::Count {
            let (nc, nb) = (self.agg_active_ports(curr), self.agg_active_ports(best));
            if nc != nb {
                return if nc > nb { curr } else { best };
            }
        }
        if self.agg_bandwidth(curr) > self.agg_bandwidth(best) {
            curr
        } else {
            best
        }
    }

    /// Linux's `ad_agg_selection_logic`: chooses the active aggregator.
    fn agg_selection(&mut self) -> bool {
        let active = self.active_agg();
        let device_up = |s: usize| self.agg_active_ports(s) > 0;
        let mut best = active.filter(|&a| device_up(a));
        for &s in &self.order {
            if self.agg(s).is_some_and(|a| !a.lag_ports.is_empty()) && device_up(s) {
                best = Some(self.better(best, s));
            }
        }
        let mut new_active = best;
        if let (Some(b), Some(a)) = (best, active) {
            if self.config.ad_select == AdSelect::Stable {
                let (ag, bg) = (self.agg(a), self.agg(b));
                if let (Some(ag), Some(bg)) = (ag, bg) {
                    if !ag.lag_ports.is_empty()
                        && device_up(a)
                        && (ag.has_partner() || !bg.has_partner())
                        && !(ag.actor_key == 0 && bg.actor_key != 0)
                    {
                        new_active = Some(a);
                    }
                }
            }
        }
        if new_active == active {
            return false;
        }
        for k in 0..self.order.len() {
            let s = self.order[k];
            if let Some(Some(a)) = self.aggs.get_mut(s) {
                a.is_active = Some(s) == new_active;
            }
        }
        true
    }

    fn agg_ready(&self, slot: usize) -> bool {
        self.agg(slot).is_some_and(|a| {
            a.lag_ports
                .iter()
                .all(|&q| self.p(q).is_some_and(|p| p.ready_n))
        })
    }

    /// Mux machine (802.1AX 6.4.15), coupled or independent control.
    fn mux_step(&mut self, now: Duration, i: usize) -> bool {
        let coupled = self.config.coupled_control == CoupledControl::On;
        let hold = self.initial_hold_until.is_some_and(|t| now < t);
        let Some(p) = self.p(i) else { return false };
        let agg_active = p
            .aggregator
            .and_then(|a| self.agg(a))
            .is_some_and(|a| a.is_active);
        let ready = p.aggregator.is_some_and(|a| self.agg_ready(a));
        let Some(p) = self.pm(i) else { return false };
        let old = (p.mux_state, p.actor_oper_state, p.ready_n, p.wait_while);
        let partner_sync = p.partner_oper.state.contains(PortState::SYNCHRONIZATION);
        let partner_collecting = p.partner_oper.state.contains(PortState::COLLECTING);
        let sel = p.selected;
        let next = if p.begin {
            Some(MuxState::Detached)
        } else {
            match p.mux_state {
                MuxState::Detached if sel => Some(MuxState::Waiting),
                MuxState::Detached => None,
                MuxState::Waiting if !sel => Some(MuxState::Detached),
                MuxState::Waiting => {
                    if expired(p.wait_while, now) {
                        p.wait_while = None;
                        p.ready_n = true;
                    }
                    // Ready was computed before this port's own ready_n may have changed;
                    // the next pass sees it.
                    (p.ready_n && ready).then_some(MuxState::Attached)
                }
                MuxState::Attached if !sel => Some(MuxState::Detached),
                MuxState::Attached if partner_sync && agg_active && !hold => Some(if coupled {
                    MuxState::CollectingDistributing
                } else {
                    MuxState::Collecting
                }),
                MuxState::Attached => {
                    if p.actor_oper_state.contains(PortState::SYNCHRONIZATION) != agg_active {
                        p.actor_oper_state
                            .set(PortState::SYNCHRONIZATION, agg_active);
                        p.ntt = true;
                    }
                    None
                }
                MuxState::CollectingDistributing | MuxState::Collecting
                    if !sel || !partner_sync || !agg_active =>
                {
                    Some(MuxState::Attached)
                }
                MuxState::CollectingDistributing => None,
                MuxState::Collecting => partner_collecting.then_some(MuxState::Distributing),
                MuxState::Distributing
                    if !sel || !partner_sync || !agg_active || !partner_collecting =>
                {
                    Some(MuxState::Collecting)
                }
                MuxState::Distributing => None,
            }
        };
        if let Some(s) = next {
            p.mux_state = s;
            let st = &mut p.actor_oper_state;
            match s {
                MuxState::Detached => {
                    st.remove(
                        PortState::SYNCHRONIZATION
                            | PortState::COLLECTING
                            | PortState::DISTRIBUTING,
                    );
                    p.wait_while = None;
                    p.ready_n = false;
                }
                MuxState::Waiting => {
                    p.wait_while = Some(now + AGGREGATE_WAIT_TIME);
                    p.ready_n = false;
                }
                MuxState::Attached => {
                    st.set(PortState::SYNCHRONIZATION, agg_active);
                    st.remove(PortState::COLLECTING | PortState::DISTRIBUTING);
                }
                MuxState::CollectingDistributing => {
                    st.insert(
                        PortState::SYNCHRONIZATION
                            | PortState::COLLECTING
                            | PortState::DISTRIBUTING,
                    );
                }
                MuxState::Collecting => {
                    st.insert(PortState::SYNCHRONIZATION | PortState::COLLECTING);
                    st.remove(PortState::DISTRIBUTING);
                }
                MuxState::Distributing => {
                    st.insert(
                        PortState::SYNCHRONIZATION
                            | PortState::COLLECTING
                            | PortState::DISTRIBUTING,
                    );
                }
            }
            if s != MuxState::Waiting {
                p.ntt = true;
            }
        }
        (p.mux_state, p.actor_oper_state, p.ready_n, p.wait_while) != old
    }

    /// Actor and Partner Churn Detection machines (802.1AX 6.4.17).
    fn churn_step(&mut self, now: Duration, i: usize) -> bool {
        let Some(p) = self.pm(i) else { return false };
        let disabled = p.begin || !p.port_enabled;
        let actor_sync = p.actor_oper_state.contains(PortState::SYNCHRONIZATION);
        let partner_sync = p.partner_oper.state.contains(PortState::SYNCHRONIZATION);
        let (a, ac) = churn(
            &mut p.actor_churn,
            &mut p.actor_churn_timer,
            &mut p.actor_churn_count,
            disabled,
            actor_sync,
            now,
        );
        let (b, bc) = churn(
            &mut p.partner_churn,
            &mut p.partner_churn_timer,
            &mut p.partner_churn_count,
            disabled,
            partner_sync,
            now,
        );
        if ac {
            self.push_event(Event::ActorChurn { port: i });
        }
        if bc {
            self.push_event(Event::PartnerChurn { port: i });
        }
        a || b
    }

    /// Runs every machine until nothing changes, then reports what the caller sees.
    fn run(&mut self, now: Duration) {
        if self.initial_hold_until.is_some_and(|t| t <= now) {
            self.initial_hold_until = None;
        }
        for _ in 0..RUN_PASSES {
            let mut changed = false;
            for k in 0..self.order.len() {
                let i = self.order[k];
                changed |= self.rx_step(now, i);
                changed |= self.periodic_step(now, i);
                changed |= self.selection_step(i);
                changed |= self.mux_step(now, i);
                changed |= self.churn_step(now, i);
                if let Some(p) = self.pm(i) {
                    if p.begin {
                        p.begin = false;
                        changed = true;
                    }
                }
            }
            changed |= self.agg_selection();
            if !changed {
                break;
            }
        }
        self.report();
    }

    fn report(&mut self) {
        for k in 0..self.order.len() {
            let i = self.order[k];
            let Some(p) = self.p(i) else { continue };
            let (c, d) = (self.collecting_of(p), self.distributing_of(p));
            let agg = p.aggregator.and_then(|a| self.agg(a)).map(|a| a.id);
            let (rc, rd, ra) = (
                p.reported_collecting,
                p.reported_distributing,
                p.reported_aggregator,
            );
            if let Some(p) = self.pm(i) {
                p.reported_collecting = c;
                p.reported_distributing = d;
                p.reported_aggregator = agg;
            }
            if ra != agg {
                self.push_event(Event::PortAggregator {
                    port: i,
                    aggregator: agg,
                });
            }
            if rc != c {
                self.push_event(Event::PortCollecting {
                    port: i,
                    collecting: c,
                });
            }
            if rd != d {
                self.push_event(Event::PortDistributing {
                    port: i,
                    distributing: d,
                });
            }
        }
        let active = self.active_agg().and_then(|s| self.agg(s)).map(|a| a.id);
        if active != self.reported_active {
            self.reported_active = active;
            self.push_event(Event::ActiveAggregator { aggregator: active });
        }
        let carrier = self.carrier();
        if carrier != self.reported_carrier {
            self.reported_carrier = carrier;
            self.push_event(Event::Carrier { up: carrier });
        }
    }
}

/// One churn machine; returns (changed, churn detected now).
fn churn(
    state: &mut ChurnState,
    timer: &mut Option<Duration>,
    count: &mut u64,
    disabled: bool,
    in_sync: bool,
    now: Duration,
) -> (bool, bool) {
    let old = (*state, *timer);
    let mut detected = false;
    if disabled {
        // Held in CHURN_MONITOR; the timer starts once the port is enabled.
        *state = ChurnState::Monitoring;
        *timer = None;
    } else {
        match *state {
            ChurnState::Monitoring => {
                if in_sync {
                    *state = ChurnState::None;
                    *timer = None;
                } else if timer.is_none() {
                    *timer = Some(now + CHURN_DETECTION_TIME);
                } else if expired(*timer, now) {
                    *state = ChurnState::Churned;
                    *timer = None;
                    *count += 1;
                    detected = true;
                }
            }
            ChurnState::None => {
                if !in_sync {
                    *state = ChurnState::Monitoring;
                    *timer = Some(now + CHURN_DETECTION_TIME);
                }
            }
            ChurnState::Churned => {
                if in_sync {
                    *state = ChurnState::None;
                }
            }
        }
    }
    ((*state, *timer) != old, detected)
}
