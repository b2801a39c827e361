//! The link-monitor options, with the Linux names, value spellings, defaults and validation.
//!
//! The rules follow `drivers/net/bonding/bond_options.c` (what `ip link ... type bond` and
//! `/sys/class/net/bondX/bonding/*` go through):
//!
//! - `miimon`, `updelay`, `downdelay`, `arp_interval` accept a number `0..=2147483647` or the
//!   words `off` (0), `maxval` (2147483647), `default` (0).
//! - `updelay` and `downdelay` need `miimon` set, and are kept as a multiple of it: a value that
//!   is not a multiple is rounded down with a warning, as Linux does. Linux stores the
//!   multiplier, so a later `miimon` change scales them (with a note).
//! - MII and ARP/NS monitoring are exclusive: setting one non-zero turns the other off (with a
//!   note), as the sysfs path does; [`MonitorOptions::apply_netlink`] rejects both in the same
//!   request, as `bond_changelink()` does.
//! - `arp_ip_target`: up to 16 IPv4 addresses, not `0.x.x.x`, not `255.255.255.255`, no duplicate;
//!   `ns_ip6_target`: up to 16 IPv6 addresses, not `::`, not `::1`, not multicast, no duplicate.
//! - `arp_validate`: `none` 0, `active` 1, `backup` 2, `all` 3, `filter` 4, `filter_active` 5,
//!   `filter_backup` 6; `arp_all_targets`: `any` 0, `all` 1; `arp_missed_max`: `1..=255`
//!   (`minval`, `maxval`, `default` = 2).
//!
//! The mode-dependent rules (ARP monitoring refused in 802.3ad, balance-tlb and balance-alb,
//! `miimon` forced to 100 there) belong to the engine, which calls
//! [`MonitorOptions::apply_mode`] with what the mode allows.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};
use core::str::FromStr;

/// Most ARP targets a bond takes (`BOND_MAX_ARP_TARGETS`).
pub const MAX_ARP_TARGETS: usize = 16;
/// Most NS targets a bond takes (`BOND_MAX_NS_TARGETS`).
pub const MAX_NS_TARGETS: usize = 16;
/// The `miimon` Linux forces in modes that need the MII monitor (`BOND_DEFAULT_MIIMON`).
pub const BOND_DEFAULT_MIIMON: u32 = 100;
/// The default `arp_missed_max`.
pub const DEFAULT_ARP_MISSED_MAX: u8 = 2;
/// The largest value of the millisecond options (`INT_MAX`, `maxval`).
pub const MAX_MS: u32 = i32::MAX as u32;

/// `arp_validate`: which ARP/NS traffic counts as proof that a member works.
///
/// Validation (`active`, `backup`, `all` and the `filter_` forms) makes the monitor look inside
/// received ARP and NS/NA frames and count only those that prove a path to an
/// `arp_ip_target`/`ns_ip6_target`; filtering (`filter`, `filter_active`, `filter_backup`)
/// makes members that are not validated count only ARP and IPv6 frames instead of any frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ArpValidate {
    /// `none` (0): no validation or filtering; any received frame counts. The default.
    #[default]
    None,
    /// `active` (1): validate on the active member only.
    Active,
    /// `backup` (2): validate on backup members only.
    Backup,
    /// `all` (3): validate on every member.
    All,
    /// `filter` (4): no validation; only ARP and IPv6 frames count.
    Filter,
    /// `filter_active` (5): filtering, and validation on the active member.
    FilterActive,
    /// `filter_backup` (6): filtering, and validation on backup members.
    FilterBackup,
}

impl ArpValidate {
    /// Every value, in Linux's table order.
    pub const ALL: [Self; 7] = [
        Self::None,
        Self::Active,
        Self::Backup,
        Self::All,
        Self::Filter,
        Self::FilterActive,
        Self::FilterBackup,
    ];

    /// The number Linux uses (`BOND_ARP_VALIDATE_*`, `BOND_ARP_FILTER*`).
    pub const fn value(self) -> u32 {
        match self {
            Self::None => 0,
            Self::Active => 1,
            Self::Backup => 2,
            Self::All => 3,
            Self::Filter => 4,
            Self::FilterActive => 5,
            Self::FilterBackup => 6,
        }
    }

    /// The value for a Linux number, if there is one.
    pub const fn from_value(value: u64) -> Option<Self> {
        Some(match value {
            0 => Self::None,
            1 => Self::Active,
            2 => Self::Backup,
            3 => Self::All,
            4 => Self::Filter,
            5 => Self::FilterActive,
            6 => Self::FilterBackup,
            _ => return None,
        })
    }

    /// The Linux spelling.
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Active => "active",
            Self::Backup => "backup",
            Self::All => "all",
            Self::Filter => "filter",
            Self::FilterActive => "filter_active",
            Self::FilterBackup => "filter_backup",
        }
    }

    /// Whether frames received on a member in this state are validated
    /// (`slave_do_arp_validate()`: bit 1 for an active member, bit 2 for a backup).
    pub const fn validates(self, backup: bool) -> bool {
        let bit = if backup { 2 } else { 1 };
        self.value() & bit != 0
    }

    /// Whether members that are not validated count only ARP and IPv6 frames
    /// (`slave_do_arp_validate_only()`).
    pub const fn filters(self) -> bool {
        self.value() & 4 != 0
    }
}

impl fmt::Display for ArpValidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ArpValidate {
    type Err = OptionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || OptionError::invalid("arp_validate", s, Allowed::ArpValidate);
        match parse_value(s).ok_or_else(invalid)? {
            Parsed::Number(n) => Self::from_value(n).ok_or_else(invalid),
            Parsed::Word("default") => Ok(Self::None),
            Parsed::Word(w) => Self::ALL
                .into_iter()
                .find(|v| v.name() == w)
                .ok_or_else(invalid),
        }
    }
}

/// `arp_all_targets`: whether one target (`any`) or every target (`all`) must answer for an
/// active-backup member to count as up. Only the active-backup ARP monitor uses it, as in Linux.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ArpAllTargets {
    /// `any` (0): the default.
    #[default]
    Any,
    /// `all` (1).
    All,
}

impl ArpAllTargets {
    /// The number Linux uses (`BOND_ARP_TARGETS_ANY`, `BOND_ARP_TARGETS_ALL`).
    pub const fn value(self) -> u32 {
        match self {
            Self::Any => 0,
            Self::All => 1,
        }
    }

    /// The Linux spelling.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::All => "all",
        }
    }
}

impl fmt::Display for ArpAllTargets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ArpAllTargets {
    type Err = OptionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || OptionError::invalid("arp_all_targets", s, Allowed::ArpAllTargets);
        match parse_value(s).ok_or_else(invalid)? {
            Parsed::Number(0) | Parsed::Word("any" | "default") => Ok(Self::Any),
            Parsed::Number(1) | Parsed::Word("all") => Ok(Self::All),
            _ => Err(invalid()),
        }
    }
}

/// What an option accepts, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// A number of milliseconds `0 - 2147483647` (or `off`, `maxval`, `default`).
    Milliseconds,
    /// `arp_missed_max`: `1 - 255` (or `minval`, `maxval`, `default`).
    MissedMax,
    /// The `arp_validate` names and numbers.
    ArpValidate,
    /// The `arp_all_targets` names and numbers.
    ArpAllTargets,
    /// IPv4 addresses in n.n.n.n form.
    Ipv4Targets,
    /// IPv6 addresses in xx::xx form.
    Ipv6Targets,
}

impl fmt::Display for Allowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Milliseconds => "0 - 2147483647 (or off, maxval, default)",
            Self::MissedMax => "1 - 255 (or minval, maxval, default)",
            Self::ArpValidate => {
                "none (0), active (1), backup (2), all (3), filter (4), filter_active (5), \
                 filter_backup (6)"
            }
            Self::ArpAllTargets => "any (0), all (1)",
            Self::Ipv4Targets => {
                "up to 16 IPv4 addresses in n.n.n.n form, comma separated, or +n.n.n.n / -n.n.n.n"
            }
            Self::Ipv6Targets => {
                "up to 16 IPv6 addresses in xx::xx form, comma separated, or +xx::xx / -xx::xx"
            }
        })
    }
}

/// A caller's mistake in an option: the message names the option and the value, and says what
/// is allowed or why the value was refused (Linux's wording where Linux has one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    /// The option name is not one of the link-monitor options.
    #[error(
        "unknown option {name} (link-monitor options: miimon, updelay, downdelay, arp_interval, arp_ip_target, ns_ip6_target, arp_validate, arp_all_targets, arp_missed_max)"
    )]
    UnknownOption {
        /// The name given.
        name: String,
    },
    /// The value does not parse or is out of range.
    #[error("option {option}: invalid value ({value}); allowed values {allowed}")]
    InvalidValue {
        /// The option.
        option: &'static str,
        /// The value given.
        value: String,
        /// What the option accepts.
        allowed: Allowed,
    },
    /// `updelay`/`downdelay` while `miimon` is 0 (Linux: `-EPERM`).
    #[error("option {option}: unable to set {name} ({value}) as MII monitoring is disabled")]
    DelayWithoutMiimon {
        /// `updelay` or `downdelay`.
        option: &'static str,
        /// Linux's words for it (`up delay`, `down delay`).
        name: &'static str,
        /// The value given, in milliseconds.
        value: u32,
    },
    /// An `arp_ip_target` that Linux refuses (`0.x.x.x` or `255.255.255.255`).
    #[error("option arp_ip_target: invalid ARP target {target} specified for {action}")]
    InvalidArpTarget {
        /// The address.
        target: Ipv4Addr,
        /// `addition` or `removal`.
        action: &'static str,
    },
    /// An `arp_ip_target` given twice.
    #[error("option arp_ip_target: ARP target {target} is already present")]
    DuplicateArpTarget {
        /// The address.
        target: Ipv4Addr,
    },
    /// A 17th `arp_ip_target`.
    #[error(
        "option arp_ip_target: ARP target table is full! (at most 16 targets; {target} not added)"
    )]
    ArpTargetTableFull {
        /// The address that did not fit.
        target: Ipv4Addr,
    },
    /// Removing an `arp_ip_target` that is not configured.
    #[error("option arp_ip_target: unable to remove nonexistent ARP target {target}")]
    NoSuchArpTarget {
        /// The address.
        target: Ipv4Addr,
    },
    /// An `ns_ip6_target` that Linux refuses (`::`, `::1`, multicast).
    #[error("option ns_ip6_target: invalid NS target {target} specified for {action}")]
    InvalidNsTarget {
        /// The address.
        target: Ipv6Addr,
        /// `addition` or `removal`.
        action: &'static str,
    },
    /// An `ns_ip6_target` given twice.
    #[error("option ns_ip6_target: NS target {target} is already present")]
    DuplicateNsTarget {
        /// The address.
        target: Ipv6Addr,
    },
    /// A 17th `ns_ip6_target`.
    #[error(
        "option ns_ip6_target: NS target table is full! (at most 16 targets; {target} not added)"
    )]
    NsTargetTableFull {
        /// The address that did not fit.
        target: Ipv6Addr,
    },
    /// Removing an `ns_ip6_target` that is not configured.
    #[error("option ns_ip6_target: unable to remove nonexistent NS target {target}")]
    NoSuchNsTarget {
        /// The address.
        target: Ipv6Addr,
    },
    /// `arp_interval` and `miimon` both non-zero in one request (`bond_changelink()`).
    #[error(
        "option arp_interval: invalid value ({arp_interval}): ARP monitoring cannot be used with MII monitoring (miimon {miimon})"
    )]
    ArpWithMii {
        /// The `arp_interval` asked for.
        arp_interval: u32,
        /// The `miimon` asked for in the same request.
        miimon: u32,
    },
    /// `arp_validate` and `miimon` both non-zero in one request (`bond_changelink()`).
    #[error(
        "option arp_validate: invalid value ({arp_validate}): ARP validating cannot be used with MII monitoring (miimon {miimon})"
    )]
    ArpValidateWithMii {
        /// The `arp_validate` asked for.
        arp_validate: ArpValidate,
        /// The `miimon` asked for in the same request.
        miimon: u32,
    },
}

impl OptionError {
    fn invalid(option: &'static str, value: &str, allowed: Allowed) -> Self {
        Self::InvalidValue {
            option,
            value: value.to_string(),
            allowed,
        }
    }
}

/// Something Linux warns or notes about while applying an option, or an advisory about the
/// configuration as a whole ([`MonitorOptions::warnings`]). `Display` gives the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionWarning {
    /// `updelay`/`downdelay` not a multiple of `miimon`: rounded down (Linux: netdev_warn).
    DelayRounded {
        /// `updelay` or `downdelay`.
        option: &'static str,
        /// Linux's words for it (`up delay`, `down delay`).
        name: &'static str,
        /// The value given, in milliseconds.
        value: u32,
        /// The `miimon` it is rounded to.
        miimon: u32,
        /// The value kept, in milliseconds.
        rounded: u32,
    },
    /// A `miimon` change rescaled `updelay`/`downdelay`, kept as multiples of it (Linux note).
    DelayRescaled {
        /// `updelay` or `downdelay`.
        option: &'static str,
        /// The new value in milliseconds.
        value: u32,
    },
    /// Setting `miimon` turned ARP monitoring (and `arp_validate`) off.
    ArpDisabledByMiimon,
    /// Setting `arp_interval` turned MII monitoring off.
    MiimonDisabledByArp,
    /// `arp_interval` is set but no `arp_ip_target` is.
    ArpWithoutTargets,
    /// The last `arp_ip_target` was removed while `arp_interval` is set.
    RemovingLastArpTarget,
    /// The last `ns_ip6_target` was removed while `arp_interval` is set.
    RemovingLastNsTarget,
    /// The mode cannot use ARP monitoring: `arp_interval` was set to 0.
    ArpDisabledByMode,
    /// The mode needs the MII monitor and `miimon` was 0: it was set to 100.
    MiimonForced,
    /// Advisory: neither `miimon` nor `arp_interval` is set, so member failures go unnoticed
    /// (an active-backup bond never fails over).
    NoLinkMonitoring,
    /// Advisory: ARP/NS monitoring with `arp_validate=none` counts any received frame, so a
    /// member that only sees other hosts' broadcasts stays up without a path to the targets.
    ArpUnvalidated,
}

impl fmt::Display for OptionWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DelayRounded {
                name,
                value,
                miimon,
                rounded,
                ..
            } => write!(
                f,
                "{name} ({value}) is not a multiple of miimon ({miimon}), value rounded to {rounded} ms"
            ),
            Self::DelayRescaled { option, value } => write!(
                f,
                "Note: Updating {option} (to {value}) since it is a multiple of the miimon value"
            ),
            Self::ArpDisabledByMiimon => f.write_str(
                "MII monitoring cannot be used with ARP monitoring - disabling ARP monitoring...",
            ),
            Self::MiimonDisabledByArp => f.write_str(
                "ARP monitoring cannot be used with MII monitoring. Disabling MII monitoring",
            ),
            Self::ArpWithoutTargets => f.write_str(
                "ARP monitoring has been set up, but no ARP targets have been specified",
            ),
            Self::RemovingLastArpTarget => {
                f.write_str("Removing last arp target with arp_interval on")
            }
            Self::RemovingLastNsTarget => {
                f.write_str("Removing last ns target with arp_interval on")
            }
            Self::ArpDisabledByMode => {
                f.write_str("mode is incompatible with arp monitoring, start mii monitoring")
            }
            Self::MiimonForced => f.write_str("Setting MII monitoring interval to 100"),
            Self::NoLinkMonitoring => f.write_str(
                "either miimon or arp_interval and arp_ip_target module parameters must be \
                 specified, otherwise bonding will not detect link failures!",
            ),
            Self::ArpUnvalidated => f.write_str(
                "arp_validate is none: any frame received on a member keeps it up, even without \
                 a path to the ARP/NS targets; consider arp_validate=all",
            ),
        }
    }
}

/// A value as Linux's `bond_opt_parse()` sees it: all digits (and spaces) is a number,
/// anything else is compared as a word.
enum Parsed<'a> {
    Number(u64),
    Word(&'a str),
}

fn parse_value(s: &str) -> Option<Parsed<'_>> {
    let s = s.split('\n').next().unwrap_or("");
    if s.chars()
        .all(|c| c.is_ascii_digit() || c.is_ascii_whitespace())
    {
        // sscanf("%llu"): the first run of digits; an overflow saturates.
        let digits = s.split_ascii_whitespace().next()?;
        Some(Parsed::Number(digits.parse::<u64>().unwrap_or(u64::MAX)))
    } else {
        s.split_ascii_whitespace().next().map(Parsed::Word)
    }
}

/// A millisecond option (`bond_intmax_tbl`): `0..=INT_MAX`, `off`, `maxval`, `default`.
fn parse_ms(option: &'static str, s: &str) -> Result<u32, OptionError> {
    let invalid = || OptionError::invalid(option, s, Allowed::Milliseconds);
    match parse_value(s).ok_or_else(invalid)? {
        Parsed::Number(n) if n <= u64::from(MAX_MS) => Ok(n as u32),
        Parsed::Word("off" | "default") => Ok(0),
        Parsed::Word("maxval") => Ok(MAX_MS),
        _ => Err(invalid()),
    }
}

fn parse_missed_max(s: &str) -> Result<u8, OptionError> {
    let invalid = || OptionError::invalid("arp_missed_max", s, Allowed::MissedMax);
    match parse_value(s).ok_or_else(invalid)? {
        Parsed::Number(n @ 1..=255) => Ok(n as u8),
        Parsed::Word("minval") => Ok(1),
        Parsed::Word("maxval") => Ok(255),
        Parsed::Word("default") => Ok(DEFAULT_ARP_MISSED_MAX),
        _ => Err(invalid()),
    }
}

/// Linux's `bond_is_ip_target_ok()`.
fn arp_target_ok(ip: Ipv4Addr) -> bool {
    !ip.is_broadcast() && ip.octets()[0] != 0
}

/// Linux's `bond_is_ip6_target_ok()`.
fn ns_target_ok(ip: Ipv6Addr) -> bool {
    !ip.is_unspecified() && !ip.is_loopback() && !ip.is_multicast()
}

/// How a delay option turns into the multiplier Linux keeps (`_bond_option_delay_set()`):
/// refused while `miimon` is 0, rounded down to a multiple of `miimon` with a warning.
/// Returns the multiplier. The engine can use it for `peer_notif_delay`, which Linux treats
/// the same way.
pub fn delay_multiplier(
    option: &'static str,
    name: &'static str,
    value_ms: u32,
    miimon: u32,
) -> Result<(u32, Option<OptionWarning>), OptionError> {
    if miimon == 0 {
        return Err(OptionError::DelayWithoutMiimon {
            option,
            name,
            value: value_ms,
        });
    }
    let multiplier = value_ms / miimon;
    let warning = (value_ms % miimon != 0).then(|| OptionWarning::DelayRounded {
        option,
        name,
        value: value_ms,
        miimon,
        rounded: multiplier * miimon,
    });
    Ok((multiplier, warning))
}

/// The link-monitor options of one bond.
///
/// Fields are private so that every change goes through Linux's validation; the getters
/// return what `/proc/net/bonding/bondX` and `ip -d link` show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorOptions {
    miimon: u32,
    /// Multiplier of `miimon`, as Linux stores it.
    updelay: u32,
    /// Multiplier of `miimon`, as Linux stores it.
    downdelay: u32,
    arp_interval: u32,
    arp_ip_target: Vec<Ipv4Addr>,
    ns_ip6_target: Vec<Ipv6Addr>,
    arp_validate: ArpValidate,
    arp_all_targets: ArpAllTargets,
    arp_missed_max: u8,
}

impl Default for MonitorOptions {
    /// Linux's defaults (`bond_check_params()` with no module parameters): no monitoring at all
    /// (`miimon` 0: the engine forces 100 in 802.3ad, balance-tlb and balance-alb), no delays,
    /// no targets, `arp_validate=none`, `arp_all_targets=any`, `arp_missed_max=2`.
    fn default() -> Self {
        Self {
            miimon: 0,
            updelay: 0,
            downdelay: 0,
            arp_interval: 0,
            arp_ip_target: Vec::new(),
            ns_ip6_target: Vec::new(),
            arp_validate: ArpValidate::None,
            arp_all_targets: ArpAllTargets::Any,
            arp_missed_max: DEFAULT_ARP_MISSED_MAX,
        }
    }
}

/// The option names this module handles, in the order `bond_changelink()` applies them.
pub const OPTION_NAMES: [&str; 9] = [
    "miimon",
    "updelay",
    "downdelay",
    "arp_interval",
    "arp_ip_target",
    "ns_ip6_target",
    "arp_validate",
    "arp_all_targets",
    "arp_missed_max",
];

impl MonitorOptions {
    /// Linux's defaults; see [`Default`].
    pub fn new() -> Self {
        Self::default()
    }

    // ---- getters ----

    /// `miimon` in milliseconds (0: MII monitoring off).
    pub fn miimon(&self) -> u32 {
        self.miimon
    }

    /// `updelay` in milliseconds (`Up Delay (ms)`): the multiplier times `miimon`.
    pub fn updelay(&self) -> u32 {
        self.updelay.saturating_mul(self.miimon)
    }

    /// `downdelay` in milliseconds (`Down Delay (ms)`).
    pub fn downdelay(&self) -> u32 {
        self.downdelay.saturating_mul(self.miimon)
    }

    /// `updelay` as the number of `miimon` intervals Linux counts.
    pub fn updelay_intervals(&self) -> u32 {
        self.updelay
    }

    /// `downdelay` as the number of `miimon` intervals Linux counts.
    pub fn downdelay_intervals(&self) -> u32 {
        self.downdelay
    }

    /// `arp_interval` in milliseconds (0: ARP/NS monitoring off).
    pub fn arp_interval(&self) -> u32 {
        self.arp_interval
    }

    /// The `arp_ip_target` list, in the order Linux keeps it.
    pub fn arp_ip_target(&self) -> &[Ipv4Addr] {
        &self.arp_ip_target
    }

    /// The `ns_ip6_target` list, in the order Linux keeps it.
    pub fn ns_ip6_target(&self) -> &[Ipv6Addr] {
        &self.ns_ip6_target
    }

    /// `arp_validate`.
    pub fn arp_validate(&self) -> ArpValidate {
        self.arp_validate
    }

    /// `arp_all_targets`.
    pub fn arp_all_targets(&self) -> ArpAllTargets {
        self.arp_all_targets
    }

    /// `arp_missed_max`.
    pub fn arp_missed_max(&self) -> u8 {
        self.arp_missed_max
    }

    /// Whether the MII monitor runs (`miimon` > 0).
    pub fn mii_monitoring(&self) -> bool {
        self.miimon > 0
    }

    /// Whether the ARP/NS monitor runs (`arp_interval` > 0). The engine refuses this in
    /// 802.3ad, balance-tlb and balance-alb (see [`Self::apply_mode`]).
    pub fn arp_monitoring(&self) -> bool {
        self.arp_interval > 0
    }

    // ---- setters, one option at a time (the sysfs path) ----

    /// Sets `miimon`. A non-zero value turns ARP monitoring off (and `arp_validate` back to
    /// `none`); `updelay`/`downdelay` keep their multiplier and so scale with it.
    pub fn set_miimon(&mut self, ms: u32) -> Result<Vec<OptionWarning>, OptionError> {
        if ms > MAX_MS {
            return Err(OptionError::invalid(
                "miimon",
                &ms.to_string(),
                Allowed::Milliseconds,
            ));
        }
        let mut notes = Vec::new();
        self.miimon = ms;
        if self.updelay != 0 {
            notes.push(OptionWarning::DelayRescaled {
                option: "updelay",
                value: self.updelay(),
            });
        }
        if self.downdelay != 0 {
            notes.push(OptionWarning::DelayRescaled {
                option: "downdelay",
                value: self.downdelay(),
            });
        }
        if ms != 0 && self.arp_interval != 0 {
            self.arp_interval = 0;
            self.arp_validate = ArpValidate::None;
            notes.push(OptionWarning::ArpDisabledByMiimon);
        }
        Ok(notes)
    }

    /// Sets `updelay` in milliseconds: needs `miimon`; rounded down to a multiple of it.
    pub fn set_updelay(&mut self, ms: u32) -> Result<Vec<OptionWarning>, OptionError> {
        if ms > MAX_MS {
            return Err(OptionError::invalid(
                "updelay",
                &ms.to_string(),
                Allowed::Milliseconds,
            ));
        }
        let (m, w) = delay_multiplier("updelay", "up delay", ms, self.miimon)?;
        self.updelay = m;
        Ok(w.into_iter().collect())
    }

    /// Sets `downdelay` in milliseconds: needs `miimon`; rounded down to a multiple of it.
    pub fn set_downdelay(&mut self, ms: u32) -> Result<Vec<OptionWarning>, OptionError> {
        if ms > MAX_MS {
            return Err(OptionError::invalid(
                "downdelay",
                &ms.to_string(),
                Allowed::Milliseconds,
            ));
        }
        let (m, w) = delay_multiplier("downdelay", "down delay", ms, self.miimon)?;
        self.downdelay = m;
        Ok(w.into_iter().collect())
    }

    /// Sets `arp_interval`. A non-zero value turns MII monitoring off.
    pub fn set_arp_interval(&mut self, ms: u32) -> Result<Vec<OptionWarning>, OptionError> {
        if ms > MAX_MS {
            return Err(OptionError::invalid(
                "arp_interval",
                &ms.to_string(),
                Allowed::Milliseconds,
            ));
        }
        let mut notes = Vec::new();
        self.arp_interval = ms;
        if ms != 0 {
            if self.miimon != 0 {
                self.miimon = 0;
                notes.push(OptionWarning::MiimonDisabledByArp);
            }
            if self.arp_ip_target.is_empty() {
                notes.push(OptionWarning::ArpWithoutTargets);
            }
        }
        Ok(notes)
    }

    /// Adds an `arp_ip_target` (sysfs `+n.n.n.n`).
    pub fn add_arp_ip_target(&mut self, target: Ipv4Addr) -> Result<(), OptionError> {
        if !arp_target_ok(target) {
            return Err(OptionError::InvalidArpTarget {
                target,
                action: "addition",
            });
        }
        if self.arp_ip_target.contains(&target) {
            return Err(OptionError::DuplicateArpTarget { target });
        }
        if self.arp_ip_target.len() >= MAX_ARP_TARGETS {
            return Err(OptionError::ArpTargetTableFull { target });
        }
        self.arp_ip_target.push(target);
        Ok(())
    }

    /// Removes an `arp_ip_target` (sysfs `-n.n.n.n`); later targets move up one place.
    pub fn remove_arp_ip_target(
        &mut self,
        target: Ipv4Addr,
    ) -> Result<Vec<OptionWarning>, OptionError> {
        if !arp_target_ok(target) {
            return Err(OptionError::InvalidArpTarget {
                target,
                action: "removal",
            });
        }
        let i = self
            .arp_ip_target
            .iter()
            .position(|t| *t == target)
            .ok_or(OptionError::NoSuchArpTarget { target })?;
        self.arp_ip_target.remove(i);
        let mut notes = Vec::new();
        if self.arp_ip_target.is_empty() && self.arp_interval != 0 {
            notes.push(OptionWarning::RemovingLastArpTarget);
        }
        Ok(notes)
    }

    /// Replaces the whole `arp_ip_target` list (netlink `IFLA_BOND_ARP_IP_TARGET`). All or
    /// nothing: on error the list is unchanged (Linux would keep the targets added before the
    /// bad one).
    pub fn set_arp_ip_target(
        &mut self,
        targets: &[Ipv4Addr],
    ) -> Result<Vec<OptionWarning>, OptionError> {
        let mut next = self.clone();
        next.arp_ip_target.clear();
        for t in targets {
            next.add_arp_ip_target(*t)?;
        }
        let mut notes = Vec::new();
        if targets.is_empty() && self.arp_interval != 0 {
            notes.push(OptionWarning::RemovingLastArpTarget);
        }
        *self = next;
        Ok(notes)
    }

    /// Adds an `ns_ip6_target`.
    pub fn add_ns_ip6_target(&mut self, target: Ipv6Addr) -> Result<(), OptionError> {
        if !ns_target_ok(target) {
            return Err(OptionError::InvalidNsTarget {
                target,
                action: "addition",
            });
        }
        if self.ns_ip6_target.contains(&target) {
            return Err(OptionError::DuplicateNsTarget { target });
        }
        if self.ns_ip6_target.len() >= MAX_NS_TARGETS {
            return Err(OptionError::NsTargetTableFull { target });
        }
        self.ns_ip6_target.push(target);
        Ok(())
    }

    /// Removes an `ns_ip6_target` (Linux has no single-target removal for NS targets, only a
    /// whole new list; this is the same as setting the list without it).
    pub fn remove_ns_ip6_target(
        &mut self,
        target: Ipv6Addr,
    ) -> Result<Vec<OptionWarning>, OptionError> {
        if !ns_target_ok(target) {
            return Err(OptionError::InvalidNsTarget {
                target,
                action: "removal",
            });
        }
        let i = self
            .ns_ip6_target
            .iter()
            .position(|t| *t == target)
            .ok_or(OptionError::NoSuchNsTarget { target })?;
        self.ns_ip6_target.remove(i);
        let mut notes = Vec::new();
        if self.ns_ip6_target.is_empty() && self.arp_interval != 0 {
            notes.push(OptionWarning::RemovingLastNsTarget);
        }
        Ok(notes)
    }

    /// Replaces the whole `ns_ip6_target` list (netlink `IFLA_BOND_NS_IP6_TARGET`); all or
    /// nothing.
    pub fn set_ns_ip6_target(
        &mut self,
        targets: &[Ipv6Addr],
    ) -> Result<Vec<OptionWarning>, OptionError> {
        let mut next = self.clone();
        next.ns_ip6_target.clear();
        for t in targets {
            next.add_ns_ip6_target(*t)?;
        }
        let mut notes = Vec::new();
        if targets.is_empty() && self.arp_interval != 0 {
            notes.push(OptionWarning::RemovingLastNsTarget);
        }
        *self = next;
        Ok(notes)
    }

    /// Sets `arp_validate`.
    pub fn set_arp_validate(&mut self, value: ArpValidate) {
        self.arp_validate = value;
    }

    /// Sets `arp_all_targets`.
    pub fn set_arp_all_targets(&mut self, value: ArpAllTargets) {
        self.arp_all_targets = value;
    }

    /// Sets `arp_missed_max` (1 to 255).
    pub fn set_arp_missed_max(&mut self, value: u8) -> Result<(), OptionError> {
        if value == 0 {
            return Err(OptionError::invalid(
                "arp_missed_max",
                "0",
                Allowed::MissedMax,
            ));
        }
        self.arp_missed_max = value;
        Ok(())
    }

    /// Sets one option from its Linux name and value text, as writing
    /// `/sys/class/net/bondX/bonding/NAME` does: numbers or words for the numeric options
    /// (`miimon=off`, `arp_missed_max=default`), names or numbers for `arp_validate` and
    /// `arp_all_targets`, `+addr`/`-addr` to add or remove one target, or a comma separated
    /// list to replace all targets (as `ip link ... arp_ip_target a,b` does).
    pub fn set(&mut self, name: &str, value: &str) -> Result<Vec<OptionWarning>, OptionError> {
        match name {
            "miimon" => self.set_miimon(parse_ms("miimon", value)?),
            "updelay" => self.set_updelay(parse_ms("updelay", value)?),
            "downdelay" => self.set_downdelay(parse_ms("downdelay", value)?),
            "arp_interval" => self.set_arp_interval(parse_ms("arp_interval", value)?),
            "arp_ip_target" => self.set_arp_ip_target_text(value),
            "ns_ip6_target" => self.set_ns_ip6_target_text(value),
            "arp_validate" => {
                self.set_arp_validate(value.parse()?);
                Ok(Vec::new())
            }
            "arp_all_targets" => {
                self.set_arp_all_targets(value.parse()?);
                Ok(Vec::new())
            }
            "arp_missed_max" => {
                self.set_arp_missed_max(parse_missed_max(value)?)?;
                Ok(Vec::new())
            }
            _ => Err(OptionError::UnknownOption {
                name: name.to_string(),
            }),
        }
    }

    fn set_arp_ip_target_text(&mut self, value: &str) -> Result<Vec<OptionWarning>, OptionError> {
        let value = value.trim();
        let parse = |s: &str| {
            Ipv4Addr::from_str(s.trim())
                .map_err(|_| OptionError::invalid("arp_ip_target", value, Allowed::Ipv4Targets))
        };
        if let Some(rest) = value.strip_prefix('+') {
            self.add_arp_ip_target(parse(rest)?)?;
            Ok(Vec::new())
        } else if let Some(rest) = value.strip_prefix('-') {
            self.remove_arp_ip_target(parse(rest)?)
        } else {
            let list = split_list(value)
                .map(parse)
                .collect::<Result<Vec<_>, _>>()?;
            self.set_arp_ip_target(&list)
        }
    }

    fn set_ns_ip6_target_text(&mut self, value: &str) -> Result<Vec<OptionWarning>, OptionError> {
        let value = value.trim();
        let parse = |s: &str| {
            Ipv6Addr::from_str(s.trim())
                .map_err(|_| OptionError::invalid("ns_ip6_target", value, Allowed::Ipv6Targets))
        };
        if let Some(rest) = value.strip_prefix('+') {
            self.add_ns_ip6_target(parse(rest)?)?;
            Ok(Vec::new())
        } else if let Some(rest) = value.strip_prefix('-') {
            self.remove_ns_ip6_target(parse(rest)?)
        } else {
            let list = split_list(value)
                .map(parse)
                .collect::<Result<Vec<_>, _>>()?;
            self.set_ns_ip6_target(&list)
        }
    }

    /// Applies several options at once with the rules of `bond_changelink()` (what
    /// `ip link add/set ... type bond ...` does): the options are applied in Linux's fixed
    /// order ([`OPTION_NAMES`]: `miimon` before `updelay`, whatever the order given), the last
    /// occurrence of a name wins, and `arp_interval` or `arp_validate` non-zero together with a
    /// non-zero `miimon` in the same request is an error. All or nothing: on error `self` is
    /// unchanged.
    pub fn apply_netlink<'a>(
        &mut self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Vec<OptionWarning>, OptionError> {
        let mut given: [Option<&'a str>; OPTION_NAMES.len()] = [None; OPTION_NAMES.len()];
        for (name, value) in pairs {
            let i = OPTION_NAMES
                .iter()
                .position(|n| *n == name)
                .ok_or_else(|| OptionError::UnknownOption {
                    name: name.to_string(),
                })?;
            given[i] = Some(value);
        }
        let mut next = self.clone();
        let mut notes = Vec::new();
        let mut miimon = 0;
        for (name, value) in OPTION_NAMES.iter().zip(given) {
            let Some(value) = value else { continue };
            match *name {
                "miimon" => miimon = parse_ms("miimon", value)?,
                "arp_interval" => {
                    let arp_interval = parse_ms("arp_interval", value)?;
                    if arp_interval != 0 && miimon != 0 {
                        return Err(OptionError::ArpWithMii {
                            arp_interval,
                            miimon,
                        });
                    }
                }
                "arp_validate" => {
                    let arp_validate: ArpValidate = value.parse()?;
                    if arp_validate != ArpValidate::None && miimon != 0 {
                        return Err(OptionError::ArpValidateWithMii {
                            arp_validate,
                            miimon,
                        });
                    }
                }
                _ => {}
            }
            notes.extend(next.set(name, value)?);
        }
        *self = next;
        Ok(notes)
    }

    /// What Linux does to these options when the bond's mode changes
    /// (`bond_option_mode_set()`): `arp_validate` goes back to `none`; in a mode that cannot
    /// use ARP monitoring (802.3ad, balance-tlb, balance-alb: `mode_uses_arp == false`)
    /// `arp_interval` is set to 0 and a `miimon` of 0 becomes 100.
    pub fn apply_mode(&mut self, mode_uses_arp: bool) -> Vec<OptionWarning> {
        let mut notes = Vec::new();
        if !mode_uses_arp {
            if self.arp_interval != 0 {
                self.arp_interval = 0;
                notes.push(OptionWarning::ArpDisabledByMode);
            }
            if self.miimon == 0 {
                self.miimon = BOND_DEFAULT_MIIMON;
                notes.push(OptionWarning::MiimonForced);
            }
        }
        self.arp_validate = ArpValidate::None;
        notes
    }

    /// Advisories about the configuration as a whole: no link monitoring at all, ARP
    /// monitoring without any target, ARP monitoring that validates nothing.
    pub fn warnings(&self) -> Vec<OptionWarning> {
        let mut w = Vec::new();
        if self.miimon == 0 && self.arp_interval == 0 {
            w.push(OptionWarning::NoLinkMonitoring);
        }
        if self.arp_interval != 0 {
            if self.arp_ip_target.is_empty() && self.ns_ip6_target.is_empty() {
                w.push(OptionWarning::ArpWithoutTargets);
            }
            if self.arp_validate == ArpValidate::None {
                w.push(OptionWarning::ArpUnvalidated);
            }
        }
        w
    }
}

fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value.split([',', ' ']).filter(|s| !s.is_empty())
}
