//! The `xmit_hash_policy` option: its values, spellings and parsing.

use alloc::string::String;
use core::fmt;
use core::str::FromStr;

/// A transmit hash policy (the bonding option `xmit_hash_policy`).
///
/// The discriminants are the Linux numbers (`BOND_XMIT_POLICY_*`), and [`Display`] prints the
/// Linux name, so a value round-trips through `/sys/class/net/bondX/bonding/xmit_hash_policy`
/// spellings. The default is `layer2`, the value the kernel's table flags as its default.
///
/// [`Display`]: fmt::Display
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[repr(u8)]
pub enum Policy {
    /// `layer2` (0): destination and source MAC (last byte) and ethertype.
    #[default]
    Layer2 = 0,
    /// `layer3+4` (1): IP addresses and transport ports (or the ICMP identifier).
    Layer34 = 1,
    /// `layer2+3` (2): the `layer2` value and the IP addresses.
    Layer23 = 2,
    /// `encap2+3` (3): like `layer2+3`, with the addresses of the innermost header the kernel
    /// flow dissector reaches.
    Encap23 = 3,
    /// `encap3+4` (4): like `layer3+4`, with the innermost addresses and ports the kernel flow
    /// dissector reaches.
    Encap34 = 4,
    /// `vlan+srcmac` (5): the VLAN TCI and the source MAC.
    VlanSrcMac = 5,
}

impl Policy {
    /// Every policy, in the order of the kernel's option table.
    pub const ALL: [Self; 6] = [
        Self::Layer2,
        Self::Layer34,
        Self::Layer23,
        Self::Encap23,
        Self::Encap34,
        Self::VlanSrcMac,
    ];

    /// The Linux name (`"layer3+4"`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Layer2 => "layer2",
            Self::Layer34 => "layer3+4",
            Self::Layer23 => "layer2+3",
            Self::Encap23 => "encap2+3",
            Self::Encap34 => "encap3+4",
            Self::VlanSrcMac => "vlan+srcmac",
        }
    }

    /// The Linux number (`1` for `layer3+4`).
    #[must_use]
    pub const fn value(self) -> u8 {
        self as u8
    }

    /// The policy with the Linux number `value`, if there is one.
    #[must_use]
    pub const fn from_value(value: u64) -> Option<Self> {
        match value {
            0 => Some(Self::Layer2),
            1 => Some(Self::Layer34),
            2 => Some(Self::Layer23),
            3 => Some(Self::Encap23),
            4 => Some(Self::Encap34),
            5 => Some(Self::VlanSrcMac),
            _ => None,
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a string that is not an `xmit_hash_policy` value.
///
/// Its message names the option, the value given and the accepted values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid value {value:?} for option xmit_hash_policy: accepted values are layer2 (0), \
     layer3+4 (1), layer2+3 (2), encap2+3 (3), encap3+4 (4), vlan+srcmac (5)"
)]
pub struct ParsePolicyError {
    value: String,
}

impl ParsePolicyError {
    /// The string that was given.
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// The longest name token the kernel compares (`sscanf(..., "%32s", ...)`).
const MAX_NAME_LEN: usize = 32;

/// C `isspace` in the "C" locale.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

impl FromStr for Policy {
    type Err = ParsePolicyError;

    /// Parses a value the way the kernel's `bond_opt_parse` does for this option:
    ///
    /// - the string ends at its first newline;
    /// - if it holds only digits and white space, it is a number (leading white space skipped,
    ///   the digits read up to the first non-digit) matched against 0..=5;
    /// - otherwise its first white-space-separated word (at most 32 bytes) must be one of the
    ///   names exactly (case matters), or `default`, which means `layer2`.
    ///
    /// Like the kernel, this accepts `" layer3+4 "`, `"01"` and `"layer3+4 anything"`, and
    /// rejects `""`, `"Layer2"`, `"+1"` and `"0x1"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParsePolicyError {
            value: String::from(s),
        };
        let line = s.split('\n').next().unwrap_or("");
        if line.chars().all(|c| c.is_ascii_digit() || is_c_space(c)) {
            // `sscanf("%llu")`: skip white space, then read digits. An all-space string reads
            // nothing and matches nothing.
            let digits = line.trim_start_matches(is_c_space);
            let end = digits
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(digits.len());
            let digits = &digits[..end];
            if digits.is_empty() {
                return Err(err());
            }
            // An overflowing number saturates (strtoull), which matches no table entry.
            let value = digits.bytes().fold(0u64, |acc, d| {
                acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
            });
            return Self::from_value(value).ok_or_else(err);
        }
        let word = line
            .trim_start_matches(is_c_space)
            .split(is_c_space)
            .next()
            .unwrap_or("");
        // `%32s` stops after 32 bytes; no accepted name is that long, so a longer word simply
        // never matches.
        if word.len() > MAX_NAME_LEN {
            return Err(err());
        }
        if word == "default" {
            return Ok(Self::default());
        }
        Self::ALL
            .into_iter()
            .find(|p| p.name() == word)
            .ok_or_else(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn names_and_numbers_match_the_kernel_table() {
        let table = [
            ("layer2", 0),
            ("layer3+4", 1),
            ("layer2+3", 2),
            ("encap2+3", 3),
            ("encap3+4", 4),
            ("vlan+srcmac", 5),
        ];
        for (policy, (name, value)) in Policy::ALL.into_iter().zip(table) {
            assert_eq!(policy.name(), name);
            assert_eq!(policy.to_string(), name);
            assert_eq!(policy.value(), value);
            assert_eq!(name.parse::<Policy>(), Ok(policy));
            assert_eq!(value.to_string().parse::<Policy>(), Ok(policy));
            assert_eq!(Policy::from_value(u64::from(value)), Some(policy));
        }
        assert_eq!(Policy::from_value(6), None);
        assert_eq!(Policy::default(), Policy::Layer2);
    }

    #[test]
    fn parses_like_bond_opt_parse() {
        let ok = [
            ("default", Policy::Layer2),
            ("  layer3+4", Policy::Layer34),
            ("layer3+4\n", Policy::Layer34),
            ("layer3+4 trailing words", Policy::Layer34),
            ("encap3+4\tx", Policy::Encap34),
            ("vlan+srcmac\nlayer2", Policy::VlanSrcMac),
            ("01", Policy::Layer34),
            (" 4 ", Policy::Encap34),
            ("5\n", Policy::VlanSrcMac),
            ("2 7", Policy::Layer23),
        ];
        for (s, policy) in ok {
            assert_eq!(s.parse::<Policy>(), Ok(policy), "{s:?}");
        }
        let bad = [
            "",
            "   ",
            "\n",
            "Layer2",
            "LAYER3+4",
            "layer3",
            "layer34",
            "layer3+4,",
            "6",
            "+1",
            "-1",
            "0x1",
            "1a",
            "99999999999999999999999",
            "layer2+3+",
        ];
        for s in bad {
            let e = s.parse::<Policy>().unwrap_err();
            assert_eq!(e.value(), s);
        }
    }

    #[test]
    fn error_names_option_value_and_accepted_values() {
        let e = "fast".parse::<Policy>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value \"fast\" for option xmit_hash_policy: accepted values are \
             layer2 (0), layer3+4 (1), layer2+3 (2), encap2+3 (3), encap3+4 (4), vlan+srcmac (5)"
        );
    }
}
