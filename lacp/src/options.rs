//! The bond options that drive LACP, with the Linux names, value spellings, defaults and
//! validation rules of `drivers/net/bonding/bond_options.c`.
//!
//! A value is accepted by name or by number, exactly as the kernel's option tables accept
//! it (`lacp_rate=fast` or `lacp_rate=1`); an invalid value is an [`OptionError`] that
//! names the option, the value and what is allowed.

use core::fmt;
use core::str::FromStr;
use core::time::Duration;

use crate::wire::MacAddr;

/// An invalid option name or value: the caller's own mistake.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum OptionError {
    /// The value is not one the option accepts.
    #[error("invalid value for {option}: {value:?} (allowed: {allowed})")]
    InvalidValue {
        /// The option's Linux name.
        option: &'static str,
        /// A short copy of the rejected value (up to 32 bytes).
        value: ShortStr,
        /// What the option accepts.
        allowed: &'static str,
    },
    /// Not an LACP option this crate knows.
    #[error("unknown LACP option {0:?}")]
    UnknownOption(ShortStr),
}

/// A short copy of a string for error messages, without allocating (cut at 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ShortStr {
    buf: [u8; 32],
    len: u8,
}

impl ShortStr {
    /// Copies up to 32 bytes of `s` (cut at a character boundary).
    pub fn new(s: &str) -> Self {
        let mut end = s.len().min(32);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut buf = [0u8; 32];
        buf[..end].copy_from_slice(&s.as_bytes()[..end]);
        Self {
            buf,
            len: end as u8,
        }
    }

    /// The copied text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }
}

impl fmt::Debug for ShortStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ShortStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn invalid(option: &'static str, value: &str, allowed: &'static str) -> OptionError {
    OptionError::InvalidValue {
        option,
        value: ShortStr::new(value),
        allowed,
    }
}

/// The kernel parses a value that starts with a digit as a number, anything else as a
/// name from the option's table.
fn parse_number(s: &str) -> Option<u64> {
    let s = s.trim_end_matches('\n');
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $option:literal, $allowed:literal, default $default:ident,
        { $( $(#[$vmeta:meta])* $variant:ident = $num:literal, $text:literal; )* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// The Linux option name.
            pub const OPTION: &'static str = $option;

            /// The number the kernel stores for this value.
            pub fn number(self) -> u64 {
                match self { $( Self::$variant => $num, )* }
            }

            /// The kernel's name for this value.
            pub fn as_str(self) -> &'static str {
                match self { $( Self::$variant => $text, )* }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::$default
            }
        }

        impl FromStr for $name {
            type Err = OptionError;

            fn from_str(s: &str) -> Result<Self, OptionError> {
                let v = s.trim_end_matches('\n');
                if let Some(n) = parse_number(v) {
                    $( if n == $num { return Ok(Self::$variant); } )*
                } else {
                    $( if v == $text { return Ok(Self::$variant); } )*
                }
                Err(invalid($option, s, $allowed))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// `lacp_rate`: the rate at which the partner is asked to send LACPDUs, carried in our
    /// LACP_Timeout bit; it also sets our current_while timeout (3 s or 90 s).
    LacpRate, "lacp_rate", "slow or 0, fast or 1", default Slow, {
        /// `slow` (0): long timeout, the partner sends every 30 s.
        Slow = 0, "slow";
        /// `fast` (1): short timeout, the partner sends every second.
        Fast = 1, "fast";
    }
}

named_enum! {
    /// `lacp_active`: whether the ports send LACPDUs on their own (Active) or only answer
    /// an active partner (Passive).
    LacpActive, "lacp_active", "off or 0, on or 1", default On, {
        /// `off` (0): passive.
        Off = 0, "off";
        /// `on` (1): active (the default).
        On = 1, "on";
    }
}

named_enum! {
    /// `ad_select`: how the active aggregator is chosen among several.
    AdSelect, "ad_select", "stable or 0, bandwidth or 1, count or 2", default Stable, {
        /// `stable` (0): chosen by bandwidth, kept while it has an answering partner and a
        /// port up (the default).
        Stable = 0, "stable";
        /// `bandwidth` (1): the highest aggregate bandwidth, reselected on every change.
        Bandwidth = 1, "bandwidth";
        /// `count` (2): the most ports (then bandwidth), reselected on every change.
        Count = 2, "count";
    }
}

named_enum! {
    /// `coupled_control`: the coupled mux (COLLECTING_DISTRIBUTING) or the independent one
    /// (COLLECTING, then DISTRIBUTING once the partner collects).
    CoupledControl, "coupled_control", "on or 1, off or 0", default On, {
        /// `on` (1): coupled control (the default).
        On = 1, "on";
        /// `off` (0): independent control.
        Off = 0, "off";
    }
}

/// A number in `min..=max`, or one of the names of the option's kernel table.
fn parse_range(
    option: &'static str,
    s: &str,
    (min, max): (u64, u64),
    names: &[(&str, u64)],
    allowed: &'static str,
) -> Result<u64, OptionError> {
    let v = s.trim_end_matches('\n');
    let n = match parse_number(v) {
        Some(n) => Some(n),
        None => names.iter().find(|(name, _)| *name == v).map(|&(_, n)| n),
    };
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(invalid(option, s, allowed)),
    }
}

/// The configuration of one LACP system (one bond).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Config {
    /// `lacp_rate` (default `slow`).
    pub lacp_rate: LacpRate,
    /// `lacp_active` (default `on`).
    pub lacp_active: LacpActive,
    /// `ad_select` (default `stable`).
    pub ad_select: AdSelect,
    /// `ad_actor_sys_prio`, 1..=65535 (default 65535).
    pub ad_actor_sys_prio: u16,
    /// `ad_actor_system`: the System ID MAC; all zero (the default) means "use
    /// [`Config::bond_mac`]", as Linux uses the bond's own address.
    pub ad_actor_system: MacAddr,
    /// `ad_user_port_key`, 0..=1023 (default 0): the upper ten bits of every port key.
    pub ad_user_port_key: u16,
    /// `min_links`, 0..=2147483647 (default 0): ports of the active aggregator that must
    /// be up for the bond to have carrier.
    pub min_links: u32,
    /// `coupled_control` (default `on`).
    pub coupled_control: CoupledControl,
    /// The bond's MAC address, the System ID when `ad_actor_system` is unset.
    pub bond_mac: MacAddr,
    /// Not a Linux option: a hold after the first port is added during which no port goes
    /// collecting/distributing. Linux has a fixed 8 s (`AD_AGGREGATOR_SELECTION_TIMER`);
    /// the default here is zero (see the crate docs for why).
    pub initial_selection_wait: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            lacp_rate: LacpRate::default(),
            lacp_active: LacpActive::default(),
            ad_select: AdSelect::default(),
            ad_actor_sys_prio: 65535,
            ad_actor_system: MacAddr::ZERO,
            ad_user_port_key: 0,
            min_links: 0,
            coupled_control: CoupledControl::default(),
            bond_mac: MacAddr::ZERO,
            initial_selection_wait: Duration::ZERO,
        }
    }
}

impl Config {
    /// The LACP option names [`Config::set`] accepts.
    pub const OPTIONS: &'static [&'static str] = &[
        "lacp_rate",
        "lacp_active",
        "ad_select",
        "ad_actor_sys_prio",
        "ad_actor_system",
        "ad_user_port_key",
        "min_links",
        "coupled_control",
    ];

    /// Sets one option by its Linux name from its Linux spelling.
    pub fn set(&mut self, option: &str, value: &str) -> Result<(), OptionError> {
        match option {
            "lacp_rate" => self.lacp_rate = value.parse()?,
            "lacp_active" => self.lacp_active = value.parse()?,
            "ad_select" => self.ad_select = value.parse()?,
            "coupled_control" => self.coupled_control = value.parse()?,
            "ad_actor_sys_prio" => {
                self.ad_actor_sys_prio = parse_range(
                    "ad_actor_sys_prio",
                    value,
                    (1, 65535),
                    &[("minval", 1), ("maxval", 65535)],
                    "an integer from 1 to 65535",
                )? as u16;
            }
            "ad_user_port_key" => {
                self.ad_user_port_key = parse_range(
                    "ad_user_port_key",
                    value,
                    (0, 1023),
                    &[("minval", 0), ("maxval", 1023)],
                    "an integer from 0 to 1023",
                )? as u16;
            }
            "min_links" => {
                self.min_links = parse_range(
                    "min_links",
                    value,
                    (0, i32::MAX as u64),
                    &[("off", 0), ("maxval", i32::MAX as u64)],
                    "off or an integer from 0 to 2147483647",
                )? as u32;
            }
            "ad_actor_system" => self.ad_actor_system = parse_actor_system(value)?,
            _ => return Err(OptionError::UnknownOption(ShortStr::new(option))),
        }
        Ok(())
    }

    /// Checks every field against the Linux rules (for a `Config` built by hand).
    pub fn validate(&self) -> Result<(), OptionError> {
        let mut buf = [0u8; 20];
        if self.ad_actor_sys_prio == 0 {
            return Err(invalid(
                "ad_actor_sys_prio",
                "0",
                "an integer from 1 to 65535",
            ));
        }
        if self.ad_user_port_key > 1023 {
            return Err(invalid(
                "ad_user_port_key",
                fmt_u64(&mut buf, u64::from(self.ad_user_port_key)),
                "an integer from 0 to 1023",
            ));
        }
        if self.min_links > i32::MAX as u32 {
            return Err(invalid(
                "min_links",
                fmt_u64(&mut buf, u64::from(self.min_links)),
                "off or an integer from 0 to 2147483647",
            ));
        }
        if self.ad_actor_system.is_multicast() {
            return Err(invalid(
                "ad_actor_system",
                "(multicast address)",
                "a unicast MAC address xx:xx:xx:xx:xx:xx",
            ));
        }
        Ok(())
    }

    /// The System ID MAC in use: `ad_actor_system` if set, else the bond's MAC.
    pub fn system_mac(&self) -> MacAddr {
        if self.ad_actor_system.is_zero() {
            self.bond_mac
        } else {
            self.ad_actor_system
        }
    }
}

fn fmt_u64(buf: &mut [u8; 20], mut n: u64) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    core::str::from_utf8(&buf[i..]).unwrap_or("")
}

/// `ad_actor_system`: six hex octets; a multicast address is refused, as Linux does.
pub fn parse_actor_system(value: &str) -> Result<MacAddr, OptionError> {
    const ALLOWED: &str = "a unicast MAC address xx:xx:xx:xx:xx:xx";
    let mac: MacAddr = value
        .parse()
        .map_err(|_| invalid("ad_actor_system", value, ALLOWED))?;
    if mac.is_multicast() {
        return Err(invalid("ad_actor_system", value, ALLOWED));
    }
    Ok(mac)
}

/// `actor_port_prio` (per port, newest kernels): 0..=65535, default 255.
pub fn parse_actor_port_prio(value: &str) -> Result<u16, OptionError> {
    let v = value.trim_end_matches('\n');
    if v == "default" {
        return Ok(DEFAULT_ACTOR_PORT_PRIO);
    }
    parse_range(
        "actor_port_prio",
        value,
        (0, 65535),
        &[("minval", 0), ("maxval", 65535)],
        "an integer from 0 to 65535",
    )
    .map(|n| n as u16)
}

/// The port priority Linux uses where `actor_port_prio` is unset.
pub const DEFAULT_ACTOR_PORT_PRIO: u16 = 0xff;
