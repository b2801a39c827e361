//! Options, with the Linux names, spellings, defaults and validation of `bond_options.c`.

use crate::wire::MacAddr;
use alloc::string::{String, ToString};
use core::fmt;
use core::str::FromStr;
use core::time::Duration;

/// An option value the caller gave is not allowed. The message names the option, the value
/// and what is allowed, as Linux's `bond_opt_error_interpret` does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("option {option}: invalid value ({value}); allowed: {allowed}")]
pub struct OptionError {
    /// The Linux option name.
    pub option: &'static str,
    /// The value given.
    pub value: String,
    /// What the option accepts.
    pub allowed: &'static str,
}

/// How Linux `bond_opt_parse` reads a value: a string made only of digits and white space
/// is a number (`%llu`, leading white space skipped, reading stops at the first non-digit);
/// anything else is a word (`%32s`: the first white-space separated word). A trailing
/// newline is dropped first.
enum Parsed<'a> {
    Number(u64),
    Word(&'a str),
    Invalid,
}

fn linux_parse(s: &str) -> Parsed<'_> {
    let s = s.split('\n').next().unwrap_or("");
    if s.chars()
        .all(|c| c.is_ascii_digit() || c.is_ascii_whitespace())
    {
        let t = s.trim_start();
        let digits = t.split(|c: char| !c.is_ascii_digit()).next().unwrap_or("");
        match digits.parse::<u64>() {
            Ok(n) => Parsed::Number(n),
            Err(_) => Parsed::Invalid,
        }
    } else {
        match s.split_ascii_whitespace().next() {
            Some(w) => Parsed::Word(w),
            None => Parsed::Invalid,
        }
    }
}

/// Bonding mode, restricted to the two this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Mode {
    /// `balance-tlb` (5): adaptive transmit load balancing; receive on the active member.
    #[default]
    BalanceTlb,
    /// `balance-alb` (6): `balance-tlb` plus receive load balancing (RLB) by ARP.
    BalanceAlb,
}

impl Mode {
    /// The Linux mode number.
    pub const fn number(self) -> u8 {
        match self {
            Self::BalanceTlb => 5,
            Self::BalanceAlb => 6,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BalanceTlb => "balance-tlb",
            Self::BalanceAlb => "balance-alb",
        })
    }
}

impl FromStr for Mode {
    type Err = OptionError;
    /// `balance-tlb`/`5` or `balance-alb`/`6`. (The other Linux modes are not this
    /// crate's; the engine parses the full `mode` option.)
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || OptionError {
            option: "mode",
            value: s.to_string(),
            allowed: "balance-tlb (5), balance-alb (6)",
        };
        match linux_parse(s) {
            Parsed::Number(5) | Parsed::Word("balance-tlb") => Ok(Self::BalanceTlb),
            Parsed::Number(6) | Parsed::Word("balance-alb") => Ok(Self::BalanceAlb),
            _ => Err(err()),
        }
    }
}

/// `tlb_dynamic_lb`: whether balance-tlb/alb shuffle flows by load (`on`, 1, the default)
/// or place them by the transmit hash alone (`off`, 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum TlbDynamicLb {
    /// `off` or 0: `hash % usable members`; no learning frames or rebalancing in
    /// balance-tlb (Linux does not start the ALB monitor then).
    Off,
    /// `on` or 1 (default): the 256-entry table filled by load.
    #[default]
    On,
}

impl fmt::Display for TlbDynamicLb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Off => "off",
            Self::On => "on",
        })
    }
}

impl FromStr for TlbDynamicLb {
    type Err = OptionError;
    /// `off`/`0`, `on`/`1`, or `default` (on), as `bond_tlb_dynamic_lb_tbl`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match linux_parse(s) {
            Parsed::Number(0) | Parsed::Word("off") => Ok(Self::Off),
            Parsed::Number(1) | Parsed::Word("on") | Parsed::Word("default") => Ok(Self::On),
            _ => Err(OptionError {
                option: "tlb_dynamic_lb",
                value: s.to_string(),
                allowed: "off (0), on (1)",
            }),
        }
    }
}

/// `lp_interval`: seconds between learning frames, 1 to 2147483647 (`INT_MAX`); default 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LpInterval(u32);

impl LpInterval {
    /// 1, Linux `BOND_ALB_DEFAULT_LP_INTERVAL`.
    pub const DEFAULT: Self = Self(1);
    /// `minval`.
    pub const MIN: u32 = 1;
    /// `maxval` (`INT_MAX`).
    pub const MAX: u32 = i32::MAX as u32;

    /// The interval in seconds, if in range.
    pub fn new(seconds: u32) -> Result<Self, OptionError> {
        if (Self::MIN..=Self::MAX).contains(&seconds) {
            Ok(Self(seconds))
        } else {
            Err(Self::error(&seconds.to_string()))
        }
    }

    fn error(value: &str) -> OptionError {
        OptionError {
            option: "lp_interval",
            value: value.to_string(),
            allowed: "1 - 2147483647",
        }
    }

    /// Seconds.
    pub const fn seconds(self) -> u32 {
        self.0
    }

    /// As a duration.
    pub const fn duration(self) -> Duration {
        Duration::from_secs(self.0 as u64)
    }
}

impl Default for LpInterval {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for LpInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for LpInterval {
    type Err = OptionError;
    /// A number from 1 to 2147483647, or `minval`/`default` (1), `maxval` (2147483647), as
    /// `bond_lp_interval_tbl`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match linux_parse(s) {
            Parsed::Number(n) => u32::try_from(n)
                .ok()
                .and_then(|n| Self::new(n).ok())
                .ok_or_else(|| Self::error(s)),
            Parsed::Word("minval") | Parsed::Word("default") => Ok(Self(Self::MIN)),
            Parsed::Word("maxval") => Ok(Self(Self::MAX)),
            _ => Err(Self::error(s)),
        }
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for LpInterval {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self(u.int_in_range(Self::MIN..=Self::MAX)?))
    }
}

/// Configuration of one [`Alb`](crate::Alb).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Config {
    /// balance-tlb or balance-alb.
    pub mode: Mode,
    /// The bond's MAC address (Linux `bond->dev->dev_addr`): a valid unicast address. The
    /// active member carries it.
    pub bond_mac: MacAddr,
    /// `tlb_dynamic_lb` (Linux allows changing it only while the bond is down, so it is
    /// fixed here for the life of the machine).
    pub tlb_dynamic_lb: TlbDynamicLb,
    /// `lp_interval`; can also be changed at run time.
    pub lp_interval: LpInterval,
    /// Extension, not in Linux (whose RLB is IPv4 only): receive balancing for IPv6 clients
    /// by rewriting the link-layer address option of the host's neighbour solicitations and
    /// advertisements. Off by default. Only in balance-alb.
    pub rlb_ipv6: bool,
}

impl Config {
    /// The Linux defaults for `mode` with the bond MAC `bond_mac`.
    pub fn new(mode: Mode, bond_mac: MacAddr) -> Self {
        Self {
            mode,
            bond_mac,
            tlb_dynamic_lb: TlbDynamicLb::default(),
            lp_interval: LpInterval::default(),
            rlb_ipv6: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn tlb_dynamic_lb_spellings() {
        for (s, v) in [
            ("off", TlbDynamicLb::Off),
            ("0", TlbDynamicLb::Off),
            ("on", TlbDynamicLb::On),
            ("1", TlbDynamicLb::On),
            ("default", TlbDynamicLb::On),
            ("on\n", TlbDynamicLb::On),
            (" 1 ", TlbDynamicLb::On),
            ("  off", TlbDynamicLb::Off),
        ] {
            assert_eq!(s.parse::<TlbDynamicLb>(), Ok(v), "{s:?}");
        }
        for s in ["2", "yes", "", " ", "-1", "+1", "On"] {
            let e = s.parse::<TlbDynamicLb>().unwrap_err();
            assert_eq!(e.option, "tlb_dynamic_lb");
            let msg = format!("{e}");
            assert!(msg.contains("tlb_dynamic_lb") && msg.contains("off (0), on (1)"));
        }
        assert_eq!(TlbDynamicLb::default(), TlbDynamicLb::On);
        assert_eq!(TlbDynamicLb::Off.to_string(), "off");
    }

    #[test]
    fn lp_interval_rules() {
        assert_eq!(LpInterval::default().seconds(), 1);
        assert_eq!("5".parse::<LpInterval>().unwrap().seconds(), 5);
        assert_eq!("minval".parse::<LpInterval>().unwrap().seconds(), 1);
        assert_eq!("default".parse::<LpInterval>().unwrap().seconds(), 1);
        assert_eq!(
            "maxval".parse::<LpInterval>().unwrap().seconds(),
            2147483647
        );
        assert_eq!(
            "2147483647".parse::<LpInterval>().unwrap().seconds(),
            2147483647
        );
        for s in ["0", "2147483648", "99999999999999999999999", "x", "", "1.5"] {
            let e = s.parse::<LpInterval>().unwrap_err();
            assert_eq!(e.option, "lp_interval");
            assert_eq!(e.value, s);
            assert!(format!("{e}").contains("1 - 2147483647"));
        }
        assert!(LpInterval::new(0).is_err());
    }

    #[test]
    fn mode_spellings() {
        assert_eq!("balance-alb".parse::<Mode>(), Ok(Mode::BalanceAlb));
        assert_eq!("6".parse::<Mode>(), Ok(Mode::BalanceAlb));
        assert_eq!("5".parse::<Mode>(), Ok(Mode::BalanceTlb));
        assert_eq!(Mode::BalanceTlb.to_string(), "balance-tlb");
        assert!("802.3ad".parse::<Mode>().is_err());
    }
}
