//! Every Linux bonding option, with the Linux names, value spellings, defaults and
//! validation, and this project's own options (named so they cannot be mistaken for Linux
//! ones).
//!
//! Two ways in, as in Linux:
//!
//! - [`BondOptions::from_modprobe`]: a `modprobe`-style string (`"mode=802.3ad miimon=100
//!   lacp_rate=fast"`) read with the rules of `bond_check_params()`, the function that turns
//!   the `bonding` module parameters into a new bond's settings: defaults, values forced or
//!   reset with the same warnings (`miimon` forced to 100 in 802.3ad, balance-tlb and
//!   balance-alb; `xmit_hash_policy` ignored in the modes that do not hash; ...). Options that
//!   Linux does not take as module parameters (`lacp_active`, `ns_ip6_target`, ...) are then
//!   applied in the order given, as `ip link add ... type bond OPTION VALUE` would on the new
//!   bond.
//! - [`BondOptions::set`] and `Bond::set_option`: one option at a time with the rules of
//!   `__bond_opt_set()` (sysfs and netlink): the mode dependency (`unsuppmodes`), "no
//!   members" and "bond down" flags, then the value parsed by `bond_opt_parse()` (by name or
//!   number, `default`, ranges), then the option's side effects.
//!
//! Values reuse the protocol crates' types: [`xmit_hash::Policy`], [`lacp::LacpRate`],
//! [`lacp::LacpActive`], [`lacp::AdSelect`], [`lacp::CoupledControl`],
//! [`link_monitor::MonitorOptions`] (with [`link_monitor::ArpValidate`] and
//! [`link_monitor::ArpAllTargets`]), [`arp_alb::TlbDynamicLb`], [`arp_alb::LpInterval`].
//! The spelling of every value is parsed once, here, by the kernel's single table-driven
//! parser (`bond_opt_parse`, in [`parse`]), so that every option accepts exactly what
//! Linux accepts (leading blanks, trailing words, `default` where the table has a default
//! entry, numbers anywhere in a range): the crates' own `FromStr` implementations are
//! stricter or looser in places.
//!
//! # Per-member options
//!
//! `queue_id`, `prio` and `actor_port_prio` belong to a member; they are written
//! `MEMBER:VALUE` (`queue_id=eth1:2`, as the sysfs `queue_id` file takes it). Given to a bond
//! that does not have that member yet (a `modprobe` string, or [`BondOptions::set`]) they are
//! remembered by member name and applied when the member is added.
//!
//! # This project's options
//!
//! - `lacp_fallback` (`off` 0, `active-backup` 1; 802.3ad only): while no LACP partner
//!   answers on any member, run the bond as active-backup (see `engine` docs).

mod modprobe;
pub mod parse;
pub mod table;

use core::fmt;
use core::str::FromStr;

use arp_alb::{LpInterval, TlbDynamicLb};
use lacp::{AdSelect, CoupledControl, LacpActive, LacpRate};
use link_monitor::{ArpAllTargets, ArpValidate, MonitorOptions};
use xmit_hash::Policy;

pub use table::{OPTIONS, OptionDef, OptionId, Origin, def, lookup};

use super::MacAddr;

/// Longest interface name (`IFNAMSIZ - 1`).
pub const IFNAMSIZ_MAX: usize = 15;

/// The bonding mode (the option `mode`). The discriminants are the Linux numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Mode {
    /// `balance-rr` (0), the Linux default.
    #[default]
    BalanceRr = 0,
    /// `active-backup` (1).
    ActiveBackup = 1,
    /// `balance-xor` (2).
    BalanceXor = 2,
    /// `broadcast` (3).
    Broadcast = 3,
    /// `802.3ad` (4).
    Ieee8023ad = 4,
    /// `balance-tlb` (5).
    BalanceTlb = 5,
    /// `balance-alb` (6).
    BalanceAlb = 6,
}

impl Mode {
    /// Every mode, by number.
    pub const ALL: [Self; 7] = [
        Self::BalanceRr,
        Self::ActiveBackup,
        Self::BalanceXor,
        Self::Broadcast,
        Self::Ieee8023ad,
        Self::BalanceTlb,
        Self::BalanceAlb,
    ];

    /// The Linux number.
    pub const fn number(self) -> u8 {
        self as u8
    }

    /// The mode with Linux number `n`.
    pub const fn from_number(n: u64) -> Option<Self> {
        Some(match n {
            0 => Self::BalanceRr,
            1 => Self::ActiveBackup,
            2 => Self::BalanceXor,
            3 => Self::Broadcast,
            4 => Self::Ieee8023ad,
            5 => Self::BalanceTlb,
            6 => Self::BalanceAlb,
            _ => return None,
        })
    }

    /// The option value (`"802.3ad"`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::BalanceRr => "balance-rr",
            Self::ActiveBackup => "active-backup",
            Self::BalanceXor => "balance-xor",
            Self::Broadcast => "broadcast",
            Self::Ieee8023ad => "802.3ad",
            Self::BalanceTlb => "balance-tlb",
            Self::BalanceAlb => "balance-alb",
        }
    }

    /// The words of `/proc/net/bonding` (`bond_mode_name()`).
    pub const fn description(self) -> &'static str {
        match self {
            Self::BalanceRr => "load balancing (round-robin)",
            Self::ActiveBackup => "fault-tolerance (active-backup)",
            Self::BalanceXor => "load balancing (xor)",
            Self::Broadcast => "fault-tolerance (broadcast)",
            Self::Ieee8023ad => "IEEE 802.3ad Dynamic link aggregation",
            Self::BalanceTlb => "transmit load balancing",
            Self::BalanceAlb => "adaptive load balancing",
        }
    }

    /// `bond_mode_uses_arp()`: ARP/NS monitoring is possible (not 802.3ad, tlb, alb).
    pub const fn uses_arp(self) -> bool {
        !matches!(self, Self::Ieee8023ad | Self::BalanceTlb | Self::BalanceAlb)
    }

    /// `bond_mode_uses_primary()`: active-backup, balance-tlb, balance-alb.
    pub const fn uses_primary(self) -> bool {
        matches!(
            self,
            Self::ActiveBackup | Self::BalanceTlb | Self::BalanceAlb
        )
    }

    /// `bond_is_lb()`: balance-tlb or balance-alb.
    pub const fn is_lb(self) -> bool {
        matches!(self, Self::BalanceTlb | Self::BalanceAlb)
    }

    /// `bond_needs_speed_duplex()`: 802.3ad, balance-tlb, balance-alb.
    pub const fn needs_speed_duplex(self) -> bool {
        matches!(self, Self::Ieee8023ad | Self::BalanceTlb | Self::BalanceAlb)
    }

    /// `bond_mode_can_use_xmit_hash()`: the modes that keep a usable-members array.
    pub const fn can_use_xmit_hash(self) -> bool {
        matches!(
            self,
            Self::Ieee8023ad | Self::BalanceXor | Self::BalanceTlb | Self::BalanceAlb
        )
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = OptionError;
    fn from_str(s: &str) -> Result<Self, OptionError> {
        parse_table(def(OptionId::Mode), s).and_then(|n| {
            Self::from_number(n).ok_or_else(|| OptionError::invalid(def(OptionId::Mode), s))
        })
    }
}

macro_rules! small_enum {
    ($(#[$m:meta])* $name:ident, $id:ident, { $($(#[$vm:meta])* $v:ident = $n:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum $name { $($(#[$vm])* $v = $n,)* }

        impl $name {
            /// The Linux number.
            pub const fn number(self) -> u8 { self as u8 }
            /// The value with Linux number `n`.
            pub const fn from_number(n: u64) -> Option<Self> {
                match n { $($n => Some(Self::$v),)* _ => None }
            }
            /// The Linux spelling.
            pub fn name(self) -> &'static str {
                parse::value_name(def(OptionId::$id).values, u64::from(self.number()))
                    .unwrap_or("?")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $name {
            type Err = OptionError;
            fn from_str(s: &str) -> Result<Self, OptionError> {
                let d = def(OptionId::$id);
                parse_table(d, s)
                    .and_then(|n| Self::from_number(n).ok_or_else(|| OptionError::invalid(d, s)))
            }
        }
    };
}

small_enum! {
    /// `fail_over_mac`: how active-backup handles member MAC addresses.
    FailOverMac, FailOverMac, {
        /// `none` (0, default): every member takes the bond's MAC.
        #[default]
        None = 0,
        /// `active` (1): members keep their MACs; the bond takes the active member's.
        Active = 1,
        /// `follow` (2): the active member takes the bond's MAC; on failover the old and
        /// new active members swap.
        Follow = 2,
    }
}

small_enum! {
    /// `primary_reselect`: when the primary becomes the active member again.
    PrimaryReselect, PrimaryReselect, {
        /// `always` (0, default): as soon as it is up.
        #[default]
        Always = 0,
        /// `better` (1): if it is faster, or as fast with a better duplex.
        Better = 1,
        /// `failure` (2): only when the active member fails.
        Failure = 2,
    }
}

small_enum! {
    /// `lacp_fallback` (this project's option, not Linux's).
    LacpFallback, LacpFallback, {
        /// `off` (0, default): plain 802.3ad.
        #[default]
        Off = 0,
        /// `active-backup` (1): while no LACP partner answers, run as active-backup.
        ActiveBackup = 1,
    }
}

/// The caller's mistake in an option. Each message starts with `option NAME:` and names
/// the value and what is allowed, or gives Linux's reason for refusing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    /// No option of that name.
    #[error("unknown bonding option {name:?}")]
    Unknown {
        /// The name given.
        name: String,
    },
    /// The value does not parse or is out of range (Linux `-EINVAL`).
    #[error("option {option}: invalid value ({value}); allowed: {allowed}")]
    InvalidValue {
        /// The option.
        option: &'static str,
        /// The value given.
        value: String,
        /// What the option accepts.
        allowed: String,
    },
    /// The option is not supported in the bond's mode (Linux `-EACCES`).
    #[error(
        "option {option}: mode dependency failed, not supported in mode {}({})",
        mode.name(),
        mode.number()
    )]
    ModeDependency {
        /// The option.
        option: &'static str,
        /// The bond's mode.
        mode: Mode,
    },
    /// The option can only be set while the bond has no members (Linux `-ENOTEMPTY`).
    #[error("option {option}: unable to set because the bond device has slaves")]
    HasMembers {
        /// The option.
        option: &'static str,
    },
    /// The option can only be set while the bond is down (Linux `-EBUSY`).
    #[error("option {option}: unable to set because the bond device is up")]
    BondUp {
        /// The option.
        option: &'static str,
    },
    /// The option names a member the bond does not have (Linux `-ENODEV`).
    #[error("option {option}: interface {name} does not exist!")]
    NoSuchMember {
        /// The option.
        option: &'static str,
        /// The name given.
        name: String,
    },
    /// Linux refuses the value for a reason of its own; the message is Linux's.
    #[error("option {option}: {message}")]
    Refused {
        /// The option.
        option: &'static str,
        /// Linux's words.
        message: String,
    },
    /// A link-monitor option refused by the `link-monitor` crate.
    #[error(transparent)]
    Monitor(#[from] link_monitor::OptionError),
}

impl OptionError {
    pub(crate) fn invalid(d: &OptionDef, value: &str) -> Self {
        Self::InvalidValue {
            option: d.name,
            value: value.split('\n').next().unwrap_or("").to_string(),
            allowed: d.allowed(),
        }
    }

    /// The option the error is about, if any.
    pub fn option(&self) -> Option<&str> {
        match self {
            Self::Unknown { .. } => None,
            Self::InvalidValue { option, .. }
            | Self::ModeDependency { option, .. }
            | Self::HasMembers { option }
            | Self::BondUp { option }
            | Self::NoSuchMember { option, .. }
            | Self::Refused { option, .. } => Some(option),
            Self::Monitor(_) => None,
        }
    }
}

/// Something Linux warns or notes about while applying options (the text of its
/// `pr_warn`/`netdev_warn`/`netdev_dbg` line, without the `bonding:` prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionWarning {
    /// The text.
    pub message: String,
}

impl OptionWarning {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for OptionWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<link_monitor::OptionWarning> for OptionWarning {
    fn from(w: link_monitor::OptionWarning) -> Self {
        Self::new(w.to_string())
    }
}

/// `bond_opt_parse()` against an option's table, with the option's error.
pub(crate) fn parse_table(d: &OptionDef, s: &str) -> Result<u64, OptionError> {
    parse::bond_opt_parse(d.values, s).ok_or_else(|| OptionError::invalid(d, s))
}

/// A per-member setting given before the member exists, kept by member name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMemberOption {
    /// The member's name.
    pub member: String,
    /// Which option (`QueueId`, `Prio`, `ActorPortPrio`).
    pub option: OptionId,
    /// The value, already checked.
    pub value: i64,
}

/// The options of one bond, with Linux's defaults (`bond_check_params()` with no module
/// parameters, which is also what `ip link add ... type bond` starts from).
///
/// Fields are private so every change goes through Linux's validation; getters return what
/// `/proc/net/bonding` and `ip -d link` show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondOptions {
    pub(crate) mode: Mode,
    pub(crate) xmit_hash_policy: Policy,
    pub(crate) monitor: MonitorOptions,
    /// Multiplier of `miimon`, as Linux stores it.
    pub(crate) peer_notif_delay: u32,
    pub(crate) num_peer_notif: u8,
    pub(crate) use_carrier: bool,
    pub(crate) fail_over_mac: FailOverMac,
    pub(crate) primary: String,
    pub(crate) primary_reselect: PrimaryReselect,
    pub(crate) lacp_active: LacpActive,
    pub(crate) lacp_rate: LacpRate,
    pub(crate) ad_select: AdSelect,
    pub(crate) min_links: u32,
    pub(crate) ad_actor_sys_prio: u16,
    pub(crate) ad_actor_system: MacAddr,
    pub(crate) ad_user_port_key: u16,
    pub(crate) coupled_control: CoupledControl,
    pub(crate) broadcast_neighbor: bool,
    pub(crate) packets_per_slave: u32,
    pub(crate) all_slaves_active: bool,
    pub(crate) resend_igmp: u8,
    pub(crate) lp_interval: LpInterval,
    pub(crate) tlb_dynamic_lb: TlbDynamicLb,
    pub(crate) tx_queues: u16,
    pub(crate) lacp_fallback: LacpFallback,
    pub(crate) active_slave: Option<String>,
    pub(crate) pending: Vec<PendingMemberOption>,
}

impl Default for BondOptions {
    fn default() -> Self {
        Self {
            mode: Mode::BalanceRr,
            xmit_hash_policy: Policy::Layer2,
            monitor: MonitorOptions::default(),
            peer_notif_delay: 0,
            num_peer_notif: 1,
            use_carrier: true,
            fail_over_mac: FailOverMac::None,
            primary: String::new(),
            primary_reselect: PrimaryReselect::Always,
            lacp_active: LacpActive::On,
            lacp_rate: LacpRate::Slow,
            ad_select: AdSelect::Stable,
            min_links: 0,
            ad_actor_sys_prio: 65535,
            ad_actor_system: MacAddr::ZERO,
            ad_user_port_key: 0,
            coupled_control: CoupledControl::On,
            broadcast_neighbor: false,
            packets_per_slave: 1,
            all_slaves_active: false,
            resend_igmp: 1,
            lp_interval: LpInterval::DEFAULT,
            tlb_dynamic_lb: TlbDynamicLb::On,
            tx_queues: 16,
            lacp_fallback: LacpFallback::Off,
            active_slave: None,
            pending: Vec::new(),
        }
    }
}

/// The value of one option, as the setters take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// A table option's number.
    Number(u64),
    /// A raw option's text (newline cut off).
    Raw(&'a str),
}

impl BondOptions {
    /// Linux's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a `modprobe`-style string (see the module docs).
    pub fn from_modprobe(s: &str) -> Result<(Self, Vec<OptionWarning>), OptionError> {
        modprobe::parse(s)
    }

    // ------------------------------------------------------------------ getters

    /// `mode`.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// `xmit_hash_policy`.
    pub fn xmit_hash_policy(&self) -> Policy {
        self.xmit_hash_policy
    }
    /// The link-monitor options (`miimon`, `updelay`, `downdelay`, `arp_interval`,
    /// `arp_ip_target`, `ns_ip6_target`, `arp_validate`, `arp_all_targets`,
    /// `arp_missed_max`).
    pub fn monitor(&self) -> &MonitorOptions {
        &self.monitor
    }
    /// `miimon` in ms.
    pub fn miimon(&self) -> u32 {
        self.monitor.miimon()
    }
    /// `peer_notif_delay` in ms (a multiple of `miimon`).
    pub fn peer_notif_delay(&self) -> u32 {
        self.peer_notif_delay.saturating_mul(self.monitor.miimon())
    }
    /// `peer_notif_delay` as Linux stores it: a count of `miimon` intervals.
    pub fn peer_notif_delay_intervals(&self) -> u32 {
        self.peer_notif_delay
    }
    /// `num_grat_arp` / `num_unsol_na` (one setting).
    pub fn num_peer_notif(&self) -> u8 {
        self.num_peer_notif
    }
    /// `use_carrier`.
    pub fn use_carrier(&self) -> bool {
        self.use_carrier
    }
    /// `fail_over_mac`.
    pub fn fail_over_mac(&self) -> FailOverMac {
        self.fail_over_mac
    }
    /// `primary` (the name, empty for none).
    pub fn primary(&self) -> &str {
        &self.primary
    }
    /// `primary_reselect`.
    pub fn primary_reselect(&self) -> PrimaryReselect {
        self.primary_reselect
    }
    /// `lacp_active`.
    pub fn lacp_active(&self) -> LacpActive {
        self.lacp_active
    }
    /// `lacp_rate`.
    pub fn lacp_rate(&self) -> LacpRate {
        self.lacp_rate
    }
    /// `ad_select`.
    pub fn ad_select(&self) -> AdSelect {
        self.ad_select
    }
    /// `min_links`.
    pub fn min_links(&self) -> u32 {
        self.min_links
    }
    /// `ad_actor_sys_prio`.
    pub fn ad_actor_sys_prio(&self) -> u16 {
        self.ad_actor_sys_prio
    }
    /// `ad_actor_system` (zero: the bond's MAC is used).
    pub fn ad_actor_system(&self) -> MacAddr {
        self.ad_actor_system
    }
    /// `ad_user_port_key`.
    pub fn ad_user_port_key(&self) -> u16 {
        self.ad_user_port_key
    }
    /// `coupled_control`.
    pub fn coupled_control(&self) -> CoupledControl {
        self.coupled_control
    }
    /// `broadcast_neighbor`.
    pub fn broadcast_neighbor(&self) -> bool {
        self.broadcast_neighbor
    }
    /// `packets_per_slave`.
    pub fn packets_per_slave(&self) -> u32 {
        self.packets_per_slave
    }
    /// `all_slaves_active`.
    pub fn all_slaves_active(&self) -> bool {
        self.all_slaves_active
    }
    /// `resend_igmp`.
    pub fn resend_igmp(&self) -> u8 {
        self.resend_igmp
    }
    /// `lp_interval`.
    pub fn lp_interval(&self) -> LpInterval {
        self.lp_interval
    }
    /// `tlb_dynamic_lb`.
    pub fn tlb_dynamic_lb(&self) -> TlbDynamicLb {
        self.tlb_dynamic_lb
    }
    /// The `tx_queues` module parameter (the highest `queue_id`).
    pub fn tx_queues(&self) -> u16 {
        self.tx_queues
    }
    /// `lacp_fallback` (this project's option).
    pub fn lacp_fallback(&self) -> LacpFallback {
        self.lacp_fallback
    }
    /// Per-member settings waiting for their member.
    pub fn pending_member_options(&self) -> &[PendingMemberOption] {
        &self.pending
    }
    /// `active_slave` given before the bond was opened, if any.
    pub fn pending_active_slave(&self) -> Option<&str> {
        self.active_slave.as_deref()
    }

    // ------------------------------------------------------------------ setters

    /// Sets one option by name on a bond that is down and has no members (a bond being
    /// configured), with the rules of `__bond_opt_set()`. Per-member options and
    /// `active_slave` are remembered (see the module docs).
    pub fn set(&mut self, name: &str, value: &str) -> Result<Vec<OptionWarning>, OptionError> {
        let d = lookup(name).ok_or_else(|| OptionError::Unknown {
            name: name.to_string(),
        })?;
        check_deps(d, self.mode, false, false)?;
        let v = parse_value(d, value)?;
        match d.id {
            OptionId::Prio | OptionId::QueueId | OptionId::ActorPortPrio => {
                let Value::Raw(raw) = v else {
                    return Err(OptionError::invalid(d, value));
                };
                let (member, val) = parse_member_value(d, raw, self.tx_queues)?;
                self.pending
                    .retain(|p| !(p.member == member && p.option == d.id));
                if d.id == OptionId::QueueId
                    && val != 0
                    && self
                        .pending
                        .iter()
                        .any(|p| p.option == OptionId::QueueId && p.value == val)
                {
                    return Err(OptionError::invalid(d, value));
                }
                self.pending.push(PendingMemberOption {
                    member,
                    option: d.id,
                    value: val,
                });
                Ok(Vec::new())
            }
            OptionId::ActiveSlave => {
                let Value::Raw(raw) = v else {
                    return Err(OptionError::invalid(d, value));
                };
                let name = first_word(raw, IFNAMSIZ_MAX);
                self.active_slave = (!name.is_empty()).then(|| name.to_string());
                Ok(Vec::new())
            }
            _ => self.apply(d, v),
        }
    }

    /// Applies an option that needs no member (every option but `prio`, `queue_id`,
    /// `actor_port_prio`, `active_slave`), after its dependencies were checked.
    pub(crate) fn apply(
        &mut self,
        d: &OptionDef,
        v: Value<'_>,
    ) -> Result<Vec<OptionWarning>, OptionError> {
        let mut w = Vec::new();
        let n = match v {
            Value::Number(n) => n,
            Value::Raw(_) => 0,
        };
        let raw = match v {
            Value::Raw(r) => r,
            Value::Number(_) => "",
        };
        let as_u32 = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        match d.id {
            OptionId::Mode => {
                // bond_option_mode_set()
                let mode = Mode::from_number(n).ok_or_else(|| OptionError::invalid(d, raw))?;
                let miimon_was = self.monitor.miimon();
                let arp_was = self.monitor.arp_interval();
                let _ = self.monitor.apply_mode(mode.uses_arp());
                if !mode.uses_arp() {
                    if arp_was != 0 {
                        w.push(OptionWarning::new(format!(
                            "{} mode is incompatible with arp monitoring, start mii monitoring",
                            mode.name()
                        )));
                    }
                    if miimon_was == 0 {
                        w.push(OptionWarning::new(format!(
                            "Setting MII monitoring interval to {}",
                            link_monitor::options::BOND_DEFAULT_MIIMON
                        )));
                    }
                }
                if mode == Mode::BalanceAlb {
                    self.tlb_dynamic_lb = TlbDynamicLb::On;
                }
                self.broadcast_neighbor = false;
                self.mode = mode;
            }
            OptionId::PacketsPerSlave => self.packets_per_slave = as_u32(n),
            OptionId::XmitHashPolicy => {
                self.xmit_hash_policy =
                    Policy::from_value(n).ok_or_else(|| OptionError::invalid(d, raw))?;
            }
            OptionId::ArpValidate => {
                let a = arp_validate_from(n).ok_or_else(|| OptionError::invalid(d, raw))?;
                self.monitor.set_arp_validate(a);
            }
            OptionId::ArpAllTargets => {
                self.monitor.set_arp_all_targets(if n == 1 {
                    ArpAllTargets::All
                } else {
                    ArpAllTargets::Any
                });
            }
            OptionId::FailOverMac => {
                self.fail_over_mac =
                    FailOverMac::from_number(n).ok_or_else(|| OptionError::invalid(d, raw))?;
            }
            OptionId::ArpInterval => {
                w.extend(
                    self.monitor
                        .set_arp_interval(as_u32(n))?
                        .into_iter()
                        .map(Into::into),
                );
            }
            OptionId::ArpMissedMax => self.monitor.set_arp_missed_max(n as u8)?,
            OptionId::ArpIpTarget | OptionId::NsIp6Target => {
                w.extend(self.monitor.set(d.name, raw)?.into_iter().map(Into::into));
            }
            OptionId::Downdelay => {
                w.extend(
                    self.monitor
                        .set_downdelay(as_u32(n))?
                        .into_iter()
                        .map(Into::into),
                );
            }
            OptionId::Updelay => {
                w.extend(
                    self.monitor
                        .set_updelay(as_u32(n))?
                        .into_iter()
                        .map(Into::into),
                );
            }
            OptionId::LacpActive => {
                self.lacp_active = if n == 1 {
                    LacpActive::On
                } else {
                    LacpActive::Off
                };
            }
            OptionId::LacpRate => {
                self.lacp_rate = if n == 1 {
                    LacpRate::Fast
                } else {
                    LacpRate::Slow
                };
            }
            OptionId::MinLinks => self.min_links = as_u32(n),
            OptionId::AdSelect => {
                self.ad_select = match n {
                    1 => AdSelect::Bandwidth,
                    2 => AdSelect::Count,
                    _ => AdSelect::Stable,
                };
            }
            OptionId::NumUnsolNa | OptionId::NumGratArp => self.num_peer_notif = n as u8,
            OptionId::Miimon => {
                w.extend(
                    self.monitor
                        .set_miimon(as_u32(n))?
                        .into_iter()
                        .map(Into::into),
                );
                if self.peer_notif_delay != 0 {
                    w.push(OptionWarning::new(format!(
                        "Note: Updating peer_notif_delay (to {}) since it is a multiple of the \
                         miimon value",
                        self.peer_notif_delay()
                    )));
                }
            }
            OptionId::Primary => {
                // bond_option_primary_set() with no member of that name: the name is
                // recorded for when one is added.
                self.primary = first_line(raw).chars().take(IFNAMSIZ_MAX).collect();
            }
            OptionId::PrimaryReselect => {
                self.primary_reselect =
                    PrimaryReselect::from_number(n).ok_or_else(|| OptionError::invalid(d, raw))?;
            }
            OptionId::UseCarrier => self.use_carrier = n == 1,
            OptionId::AllSlavesActive => self.all_slaves_active = n == 1,
            OptionId::ResendIgmp => self.resend_igmp = n as u8,
            OptionId::LpInterval => {
                self.lp_interval =
                    LpInterval::new(as_u32(n)).map_err(|_| OptionError::invalid(d, raw))?;
            }
            OptionId::TlbDynamicLb => {
                self.tlb_dynamic_lb = if n == 1 {
                    TlbDynamicLb::On
                } else {
                    TlbDynamicLb::Off
                };
            }
            OptionId::AdActorSysPrio => self.ad_actor_sys_prio = n as u16,
            OptionId::AdActorSystem => {
                let mac = lacp::options::parse_actor_system(first_line(raw)).map_err(|_| {
                    OptionError::Refused {
                        option: d.name,
                        message: "Invalid ad_actor_system MAC address.".to_string(),
                    }
                })?;
                self.ad_actor_system = MacAddr(mac.0);
            }
            OptionId::AdUserPortKey => self.ad_user_port_key = n as u16,
            OptionId::PeerNotifDelay => {
                let (m, warning) = link_monitor::options::delay_multiplier(
                    "peer_notif_delay",
                    "peer notification delay",
                    as_u32(n),
                    self.monitor.miimon(),
                )?;
                w.extend(warning.map(Into::into));
                self.peer_notif_delay = m;
            }
            OptionId::CoupledControl => {
                self.coupled_control = if n == 1 {
                    CoupledControl::On
                } else {
                    CoupledControl::Off
                };
            }
            OptionId::BroadcastNeighbor => self.broadcast_neighbor = n == 1,
            OptionId::LacpFallback => {
                self.lacp_fallback =
                    LacpFallback::from_number(n).ok_or_else(|| OptionError::invalid(d, raw))?;
            }
            OptionId::Prio
            | OptionId::QueueId
            | OptionId::ActorPortPrio
            | OptionId::ActiveSlave => {
                return Err(OptionError::invalid(d, raw));
            }
        }
        Ok(w)
    }

    /// The `lacp` crate configuration these options describe, for a bond whose MAC is
    /// `bond_mac`.
    pub fn lacp_config(&self, bond_mac: MacAddr) -> lacp::Config {
        lacp::Config {
            lacp_rate: self.lacp_rate,
            lacp_active: self.lacp_active,
            ad_select: self.ad_select,
            ad_actor_sys_prio: self.ad_actor_sys_prio,
            ad_actor_system: lacp::MacAddr(self.ad_actor_system.0),
            ad_user_port_key: self.ad_user_port_key,
            min_links: self.min_links.min(i32::MAX as u32),
            coupled_control: self.coupled_control,
            bond_mac: lacp::MacAddr(bond_mac.0),
            initial_selection_wait: core::time::Duration::ZERO,
        }
    }
}

fn arp_validate_from(n: u64) -> Option<ArpValidate> {
    ArpValidate::from_value(n)
}

/// `bond_opt_check_deps()`: mode, then members, then up, in Linux's order (before the value
/// is even parsed).
pub(crate) fn check_deps(
    d: &OptionDef,
    mode: Mode,
    has_members: bool,
    up: bool,
) -> Result<(), OptionError> {
    if d.unsupported_in(mode) {
        return Err(OptionError::ModeDependency {
            option: d.name,
            mode,
        });
    }
    if d.no_members && has_members {
        return Err(OptionError::HasMembers { option: d.name });
    }
    if d.if_down && up {
        return Err(OptionError::BondUp { option: d.name });
    }
    Ok(())
}

/// Parses a value: through the table, or raw (newline cut off).
pub(crate) fn parse_value<'a>(d: &OptionDef, s: &'a str) -> Result<Value<'a>, OptionError> {
    if d.raw {
        Ok(Value::Raw(first_line(s)))
    } else {
        parse_table(d, s).map(Value::Number)
    }
}

/// The text up to the first newline.
pub(crate) fn first_line(s: &str) -> &str {
    s.split('\n').next().unwrap_or("")
}

/// The first white-space separated word, cut at `max` bytes (`sscanf("%15s")`).
pub(crate) fn first_word(s: &str, max: usize) -> &str {
    let w = s
        .trim_start_matches(parse::is_c_space)
        .split(parse::is_c_space)
        .next()
        .unwrap_or("");
    let mut end = w.len().min(max);
    while !w.is_char_boundary(end) {
        end -= 1;
    }
    &w[..end]
}

/// A per-member value `MEMBER:VALUE`: `queue_id` (as `bond_option_queue_id_set()` reads it,
/// `%hd` then checked against `tx_queues`), `prio` (a 32-bit signed number),
/// `actor_port_prio` (0 to 65535).
pub(crate) fn parse_member_value(
    d: &OptionDef,
    raw: &str,
    tx_queues: u16,
) -> Result<(String, i64), OptionError> {
    let bad = || OptionError::invalid(d, raw);
    let (name, value) = raw.split_once(':').ok_or_else(bad)?;
    if !dev_valid_name(name) {
        return Err(bad());
    }
    let value = value.trim_matches(parse::is_c_space);
    let v = match d.id {
        OptionId::QueueId => {
            // sscanf("%hd"): a short, stored in a u16.
            let q: i64 = value.parse().map_err(|_| bad())?;
            let q = i64::from(q as i16 as u16);
            if q > i64::from(tx_queues) {
                return Err(bad());
            }
            q
        }
        OptionId::Prio => i64::from(value.parse::<i32>().map_err(|_| bad())?),
        OptionId::ActorPortPrio => i64::from(value.parse::<u16>().map_err(|_| bad())?),
        _ => return Err(bad()),
    };
    Ok((name.to_string(), v))
}

/// `dev_valid_name()`: 1 to 15 bytes, not `.` or `..`, no `/`, `:` or white space.
pub(crate) fn dev_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= IFNAMSIZ_MAX
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || parse::is_c_space(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_defaults() {
        let o = BondOptions::default();
        assert_eq!(o.mode(), Mode::BalanceRr);
        assert_eq!(o.miimon(), 0);
        assert_eq!(o.num_peer_notif(), 1);
        assert_eq!(o.resend_igmp(), 1);
        assert_eq!(o.packets_per_slave(), 1);
        assert_eq!(o.ad_actor_sys_prio(), 65535);
        assert_eq!(o.lp_interval().seconds(), 1);
        assert_eq!(o.monitor().arp_missed_max(), 2);
        assert!(o.use_carrier());
        assert_eq!(o.tlb_dynamic_lb(), TlbDynamicLb::On);
        assert_eq!(o.coupled_control(), CoupledControl::On);
        assert_eq!(o.lacp_active(), LacpActive::On);
    }

    #[test]
    fn enum_spellings() {
        assert_eq!("802.3ad".parse::<Mode>(), Ok(Mode::Ieee8023ad));
        assert_eq!("4".parse::<Mode>(), Ok(Mode::Ieee8023ad));
        assert_eq!("default".parse::<Mode>(), Ok(Mode::BalanceRr));
        assert_eq!("follow".parse::<FailOverMac>(), Ok(FailOverMac::Follow));
        assert_eq!(PrimaryReselect::Better.to_string(), "better");
        assert_eq!(LacpFallback::ActiveBackup.to_string(), "active-backup");
        assert_eq!(
            "7".parse::<Mode>().unwrap_err().to_string(),
            "option mode: invalid value (7); allowed: balance-rr (0), active-backup (1), \
             balance-xor (2), broadcast (3), 802.3ad (4), balance-tlb (5), balance-alb (6), \
             default"
        );
    }

    #[test]
    fn member_values() {
        let q = def(OptionId::QueueId);
        assert_eq!(parse_member_value(q, "eth0:2", 16), Ok(("eth0".into(), 2)));
        assert_eq!(
            parse_member_value(q, "eth0:16", 16),
            Ok(("eth0".into(), 16))
        );
        assert!(parse_member_value(q, "eth0:17", 16).is_err());
        // %hd of -1 is 65535 once stored in the u16 queue_id: too large.
        assert!(parse_member_value(q, "eth0:-1", 16).is_err());
        assert!(parse_member_value(q, "eth0", 16).is_err());
        assert!(parse_member_value(q, "a/b:1", 16).is_err());
        let p = def(OptionId::Prio);
        assert_eq!(
            parse_member_value(p, "eth1:-5", 16),
            Ok(("eth1".into(), -5))
        );
    }
}
