//! Speed, duplex and queue counts through the `SIOCETHTOOL` ioctl.
//!
//! Speed and duplex come from `ETHTOOL_GLINKSETTINGS` (with the kernel's two-step handshake
//! for the link-mode mask size), falling back to the older `ETHTOOL_GSET`. The queue count
//! comes from `ETHTOOL_GCHANNELS`, falling back to the `queues/rx-N` entries in sysfs.

use std::io;
use std::os::fd::AsRawFd;

use super::{Error, sys};

const SIOCETHTOOL: libc::c_ulong = 0x8946;
const ETHTOOL_GSET: u32 = 0x1;
const ETHTOOL_GLINK: u32 = 0xa;
const ETHTOOL_GCHANNELS: u32 = 0x3c;
const ETHTOOL_GLINKSETTINGS: u32 = 0x4c;
const SPEED_UNKNOWN: u32 = u32::MAX;

/// `struct ifreq` with the `ifr_data` member of the union.
#[repr(C)]
struct IfreqData {
    name: [libc::c_char; sys::IFNAMSIZ],
    data: *mut libc::c_void,
    _pad: [u8; 16],
}

/// Duplex as ethtool reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplex {
    /// Half duplex.
    Half,
    /// Full duplex.
    Full,
    /// Not known (no link, or a virtual device that does not say).
    Unknown,
}

/// Speed and duplex of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkSpeed {
    /// Mb/s, `None` when unknown (e.g. no carrier).
    pub speed_mbps: Option<u32>,
    /// Duplex.
    pub duplex: Duplex,
}

fn ethtool<T>(ifname: &str, cmd: &mut T) -> io::Result<()> {
    let sock = sys::socket(libc::AF_INET, libc::SOCK_DGRAM, 0)?;
    let name = sys::ifname_bytes(ifname).map_err(|e| e.into_io())?;
    let mut ifr = IfreqData {
        name,
        data: (cmd as *mut T).cast(),
        _pad: [0; 16],
    };
    sys::ioctl_ptr(sock.as_raw_fd(), SIOCETHTOOL, &mut ifr)
}

#[repr(C)]
struct LinkSettings {
    cmd: u32,
    speed: u32,
    duplex: u8,
    port: u8,
    phy_address: u8,
    autoneg: u8,
    mdio_support: u8,
    eth_tp_mdix: u8,
    eth_tp_mdix_ctrl: u8,
    link_mode_masks_nwords: i8,
    transceiver: u8,
    master_slave_cfg: u8,
    master_slave_state: u8,
    rate_matching: u8,
    reserved: [u32; 7],
    /// supported, advertising, lp_advertising: 3 * nwords (nwords <= 127).
    masks: [u32; 3 * 127],
}

impl LinkSettings {
    fn new(nwords: i8) -> Self {
        Self {
            cmd: ETHTOOL_GLINKSETTINGS,
            speed: 0,
            duplex: 0,
            port: 0,
            phy_address: 0,
            autoneg: 0,
            mdio_support: 0,
            eth_tp_mdix: 0,
            eth_tp_mdix_ctrl: 0,
            link_mode_masks_nwords: nwords,
            transceiver: 0,
            master_slave_cfg: 0,
            master_slave_state: 0,
            rate_matching: 0,
            reserved: [0; 7],
            masks: [0; 3 * 127],
        }
    }
}

#[repr(C)]
#[derive(Default)]
struct EthtoolCmd {
    cmd: u32,
    supported: u32,
    advertising: u32,
    speed: u16,
    duplex: u8,
    port: u8,
    phy_address: u8,
    transceiver: u8,
    autoneg: u8,
    mdio_support: u8,
    maxtxpkt: u32,
    maxrxpkt: u32,
    speed_hi: u16,
    eth_tp_mdix: u8,
    eth_tp_mdix_ctrl: u8,
    lp_advertising: u32,
    reserved: [u32; 2],
}

fn decode(speed: u32, duplex: u8) -> LinkSpeed {
    LinkSpeed {
        speed_mbps: (speed != SPEED_UNKNOWN && speed != 0 && speed != 0xffff).then_some(speed),
        duplex: match duplex {
            0 => Duplex::Half,
            1 => Duplex::Full,
            _ => Duplex::Unknown,
        },
    }
}

/// Speed and duplex of `ifname` (veth reports 10000 Mb/s full duplex).
pub fn link_speed(ifname: &str) -> Result<LinkSpeed, Error> {
    // Handshake: nwords = 0 makes the kernel answer with -(the number it wants).
    let mut ls = LinkSettings::new(0);
    let glink = ethtool(ifname, &mut ls).and_then(|()| {
        if ls.link_mode_masks_nwords >= 0 {
            return Err(io::Error::from_raw_os_error(libc::EPROTO));
        }
        let want = -ls.link_mode_masks_nwords;
        let mut ls2 = LinkSettings::new(want);
        ethtool(ifname, &mut ls2)?;
        Ok(decode(ls2.speed, ls2.duplex))
    });
    match glink {
        Ok(s) => Ok(s),
        Err(first) => {
            let mut cmd = EthtoolCmd {
                cmd: ETHTOOL_GSET,
                ..EthtoolCmd::default()
            };
            ethtool(ifname, &mut cmd).map_err(|e| {
                Error::new(
                    format!(
                        "ethtool ETHTOOL_GSET on {ifname} (after ETHTOOL_GLINKSETTINGS: {first})"
                    ),
                    e,
                )
            })?;
            let speed = u32::from(cmd.speed) | (u32::from(cmd.speed_hi) << 16);
            Ok(decode(speed, cmd.duplex))
        }
    }
}

#[repr(C)]
#[derive(Default)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// The carrier as the driver reports it now (`ETHTOOL_GLINK`, what `miimon` reads through
/// `netif_carrier_ok`): one ioctl, no netlink round trip.
///
/// Why poll this when rtnetlink sends events: the kernel's linkwatch sends a link event at
/// once only when it deems it urgent; otherwise it sends at most one batch per second, so a
/// carrier loss within a second of an earlier link change (a flap, or a member just set up)
/// reaches a netlink listener up to one second late. A monitor that must fail over within a
/// millisecond polls this as well, at the `miimon` rate.
pub fn link_detected(ifname: &str) -> Result<bool, Error> {
    let mut v = EthtoolValue {
        cmd: ETHTOOL_GLINK,
        data: 0,
    };
    ethtool(ifname, &mut v)
        .map_err(|e| Error::new(format!("ethtool ETHTOOL_GLINK on {ifname}"), e))?;
    Ok(v.data != 0)
}

#[repr(C)]
#[derive(Default)]
struct Channels {
    cmd: u32,
    max_rx: u32,
    max_tx: u32,
    max_other: u32,
    max_combined: u32,
    rx_count: u32,
    tx_count: u32,
    other_count: u32,
    combined_count: u32,
}

/// The number of receive queues of `ifname`, i.e. the AF_XDP sockets it needs so that no
/// queue is left to the kernel stack: `max(rx, combined)` from `ETHTOOL_GCHANNELS`, else the
/// number of `/sys/class/net/IF/queues/rx-*` entries, else 1.
pub fn rx_queue_count(ifname: &str) -> u32 {
    let mut ch = Channels {
        cmd: ETHTOOL_GCHANNELS,
        ..Channels::default()
    };
    if ethtool(ifname, &mut ch).is_ok() {
        let n = ch.rx_count.max(ch.combined_count);
        if n > 0 {
            return n;
        }
    }
    std::fs::read_dir(format!("/sys/class/net/{ifname}/queues"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
                .count() as u32
        })
        .unwrap_or(0)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_sizes_match_the_kernel() {
        assert_eq!(size_of::<EthtoolCmd>(), 44);
        assert_eq!(size_of::<LinkSettings>(), 48 + 4 * 3 * 127);
        assert_eq!(size_of::<Channels>(), 36);
        assert_eq!(size_of::<IfreqData>(), size_of::<libc::ifreq>());
    }

    #[test]
    fn decode_unknowns() {
        assert_eq!(
            decode(u32::MAX, 0xff),
            LinkSpeed {
                speed_mbps: None,
                duplex: Duplex::Unknown
            }
        );
        assert_eq!(
            decode(10000, 1),
            LinkSpeed {
                speed_mbps: Some(10000),
                duplex: Duplex::Full
            }
        );
    }
}
