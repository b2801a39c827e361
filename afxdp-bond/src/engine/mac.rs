//! The MAC address type of the engine.

use core::fmt;
use core::str::FromStr;

/// An Ethernet MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// 00:00:00:00:00:00.
    pub const ZERO: Self = Self([0; 6]);
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: Self = Self([0xff; 6]);

    /// All zeros.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }

    /// The group bit is set (multicast or broadcast).
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 1 != 0
    }

    /// Neither multicast nor zero (Linux `is_valid_ether_addr`).
    pub fn is_valid_unicast(&self) -> bool {
        !self.is_multicast() && !self.is_zero()
    }

    /// `01:80:c2:00:00:0X` (Linux `is_link_local_ether_addr`): frames bridges do not
    /// forward (STP, LACP, LLDP, 802.1X, ...).
    pub fn is_link_local(&self) -> bool {
        self.0[..5] == [0x01, 0x80, 0xc2, 0x00, 0x00] && self.0[5] & 0xf0 == 0
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(b: [u8; 6]) -> Self {
        Self(b)
    }
}

impl From<MacAddr> for [u8; 6] {
    fn from(m: MacAddr) -> Self {
        m.0
    }
}

impl From<lacp::MacAddr> for MacAddr {
    fn from(m: lacp::MacAddr) -> Self {
        Self(m.0)
    }
}

impl From<MacAddr> for lacp::MacAddr {
    fn from(m: MacAddr) -> Self {
        Self(m.0)
    }
}

impl From<arp_alb::MacAddr> for MacAddr {
    fn from(m: arp_alb::MacAddr) -> Self {
        Self(m.0)
    }
}

impl From<MacAddr> for arp_alb::MacAddr {
    fn from(m: MacAddr) -> Self {
        Self(m.0)
    }
}

impl fmt::Display for MacAddr {
    /// Lowercase, colon separated, as `%pM` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for MacAddr {
    type Err = lacp::wire::MacAddrParseError;

    /// `xx:xx:xx:xx:xx:xx`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        lacp::MacAddr::from_str(s).map(Self::from)
    }
}
