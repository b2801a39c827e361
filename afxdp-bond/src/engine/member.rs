//! The member table: what the bond knows of each member (Linux `struct slave`).

use link_monitor::LinkState;

use super::MacAddr;

pub use lacp::Duplex;

/// A member's link as the I/O layer reads it (rtnetlink carrier, ethtool speed and duplex).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LinkInfo {
    /// Carrier (and the device is up: Linux `bond_slave_is_up()`).
    pub carrier: bool,
    /// Speed in Mb/s, `None` when unknown (`SPEED_UNKNOWN`).
    pub speed_mbps: Option<u32>,
    /// Duplex.
    pub duplex: Duplex,
}

impl LinkInfo {
    /// A link with carrier, full duplex, at `speed_mbps`.
    pub fn up(speed_mbps: u32) -> Self {
        Self {
            carrier: true,
            speed_mbps: Some(speed_mbps),
            duplex: Duplex::Full,
        }
    }

    /// No carrier, speed and duplex unknown.
    pub fn down() -> Self {
        Self::default()
    }

    /// Speed and duplex are both known (`bond_update_speed_duplex()` succeeds).
    pub fn speed_duplex_known(&self) -> bool {
        self.speed_mbps.is_some_and(|s| s != 0) && self.duplex != Duplex::Unknown
    }
}

/// A member to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberConfig {
    /// Interface name (`primary`, `active_slave`, `queue_id` and the status name it).
    pub name: String,
    /// Its MAC address when it joins. Linux saves this as the member's "permanent" address
    /// (`perm_hwaddr`), gives it back on release, and shows it as `Permanent HW addr`.
    pub mac: MacAddr,
    /// Its MTU when it joins (given back on release).
    pub mtu: u32,
    /// Its link.
    pub link: LinkInfo,
}

impl MemberConfig {
    /// A member with carrier at 10 Gb/s full duplex and MTU 1500.
    pub fn new(name: impl Into<String>, mac: MacAddr) -> Self {
        Self {
            name: name.into(),
            mac,
            mtu: 1500,
            link: LinkInfo::up(10_000),
        }
    }
}

/// One member, as the bond keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) perm_mac: MacAddr,
    /// The MAC the bond asked the member to use.
    pub(crate) mac: MacAddr,
    pub(crate) original_mtu: u32,
    pub(crate) link_info: LinkInfo,
    /// `slave->link` (kept equal to the link monitor's state).
    pub(crate) link: LinkState,
    /// `slave->backup`.
    pub(crate) backup: bool,
    /// `slave->inactive`.
    pub(crate) inactive: bool,
    pub(crate) queue_id: u16,
    pub(crate) prio: i32,
    /// 802.3ad: the port is enabled (it entered `BOND_LINK_UP` and has not gone down).
    pub(crate) lacp_port_enabled: bool,
    /// 802.3ad: the slow-protocols address was requested on it.
    pub(crate) slow_mcast: bool,
}

/// A member as the getters show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStatus {
    /// Its index.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// The MAC it had when it joined (`Permanent HW addr`).
    pub perm_mac: MacAddr,
    /// The MAC the bond gave it.
    pub mac: MacAddr,
    /// Its link inputs.
    pub link_info: LinkInfo,
    /// `MII Status`.
    pub link: LinkState,
    /// Active (`slave->backup == 0`).
    pub active: bool,
    /// Inactive for receive (`slave->inactive`).
    pub inactive: bool,
    /// `queue_id`.
    pub queue_id: u16,
    /// `prio`.
    pub prio: i32,
    /// `Link Failure Count`.
    pub link_failure_count: u32,
}
