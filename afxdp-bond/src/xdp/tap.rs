//! The host side: a TAP device the kernel stack uses as it would use a kernel bond.
//!
//! Created through `/dev/net/tun` with `IFF_TAP | IFF_NO_PI` (one whole Ethernet frame per
//! `read`/`write`, no extra header), non-blocking, optionally multi-queue (one file
//! descriptor per datapath worker). The device is not persistent: it disappears when the
//! last descriptor closes, so a killed bond leaves no `bond0` behind.
//!
//! Moving a frame between a TAP descriptor and a UMEM frame costs one copy in the kernel
//! (`read` copies the skb into the UMEM frame, `write` copies the UMEM frame into a new
//! skb); the TAP interface offers no way around it.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use super::netlink::{LinkChange, set_link};
use super::{Error, sys};

/// `_IOW('T', 202, int)`.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
/// `_IOW('T', 226, int)` (Linux 5.0 and later).
const TUNSETCARRIER: libc::c_ulong = 0x4004_54e2;
const IFF_TAP: i16 = 0x0002;
const IFF_NO_PI: i16 = 0x1000;
const IFF_MULTI_QUEUE: i16 = 0x0100;

#[repr(C)]
struct IfreqFlags {
    name: [libc::c_char; sys::IFNAMSIZ],
    flags: i16,
    _pad: [u8; 22],
}

/// A TAP device with one or more queues.
#[derive(Debug)]
pub struct Tap {
    name: String,
    ifindex: u32,
    queues: Vec<OwnedFd>,
}

impl Tap {
    /// Creates TAP device `name` with `queues` queues (`IFF_MULTI_QUEUE` when more than one).
    /// Fails with `EBUSY` if an interface of that name exists already.
    pub fn create(name: &str, queues: usize) -> Result<Self, Error> {
        if sys::ifindex(name).is_ok() {
            return Err(Error::new(
                format!("TAP device {name}: an interface of that name exists already"),
                io::Error::from_raw_os_error(libc::EEXIST),
            ));
        }
        let queues = queues.max(1);
        let mut fds = Vec::with_capacity(queues);
        for _ in 0..queues {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
                .open("/dev/net/tun")
                .map_err(|e| Error::new("open /dev/net/tun", e))?;
            let mut flags = IFF_TAP | IFF_NO_PI;
            if queues > 1 {
                flags |= IFF_MULTI_QUEUE;
            }
            let mut ifr = IfreqFlags {
                name: sys::ifname_bytes(name)?,
                flags,
                _pad: [0; 22],
            };
            sys::ioctl_ptr(file.as_raw_fd(), TUNSETIFF, &mut ifr)
                .map_err(|e| Error::new(format!("TUNSETIFF {name}"), e))?;
            fds.push(OwnedFd::from(file));
        }
        let ifindex = sys::ifindex(name)?;
        log::info!("host side: TAP device {name} created with {queues} queue(s)");
        Ok(Self {
            name: name.to_string(),
            ifindex,
            queues: fds,
        })
    }

    /// Sets MAC, MTU and brings the device up.
    pub fn configure(&self, mac: [u8; 6], mtu: u32) -> Result<(), Error> {
        set_link(
            self.ifindex,
            &LinkChange {
                mac: Some(mac),
                mtu: Some(mtu),
                up: None,
            },
        )?;
        set_link(
            self.ifindex,
            &LinkChange {
                up: Some(true),
                ..LinkChange::default()
            },
        )
    }

    /// The device name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Number of queues.
    pub fn queue_count(&self) -> usize {
        self.queues.len()
    }

    /// A handle that switches the device's carrier (`TUNSETCARRIER`), kept after the device
    /// is split into queues: the bond's carrier (no usable member, `min_links` not met)
    /// shows on the host side as `NO-CARRIER`, as on a kernel bond. It holds a duplicate of
    /// the first queue's descriptor, so the device lives until it is dropped too.
    pub fn carrier_control(&self) -> Result<TapCarrier, Error> {
        let fd = self.queues[0]
            .try_clone()
            .map_err(|e| Error::new(format!("dup TAP {} descriptor", self.name), e))?;
        Ok(TapCarrier { fd })
    }

    /// Splits the device into its queues (one per worker). The device lives until the last
    /// queue is dropped.
    pub fn into_queues(self) -> Vec<TapQueue> {
        self.queues
            .into_iter()
            .map(|fd| TapQueue {
                fd,
                ifindex: self.ifindex,
            })
            .collect()
    }
}

/// One queue (file descriptor) of a TAP device.
#[derive(Debug)]
pub struct TapQueue {
    fd: OwnedFd,
    ifindex: u32,
}

impl TapQueue {
    /// Reads one frame the kernel stack sent into `buf`; `Ok(None)` when there is none.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        sys::read_nb(self.fd.as_raw_fd(), buf)
    }

    /// Hands one frame to the kernel stack; `Ok(false)` if the queue is full.
    pub fn send(&self, frame: &[u8]) -> io::Result<bool> {
        sys::write_nb(self.fd.as_raw_fd(), frame)
    }

    /// The interface index of the device.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }
}

impl AsRawFd for TapQueue {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Switches a TAP device's carrier (see [`Tap::carrier_control`]).
#[derive(Debug)]
pub struct TapCarrier {
    fd: OwnedFd,
}

impl TapCarrier {
    /// Sets the carrier on or off.
    pub fn set(&self, on: bool) -> Result<(), Error> {
        let mut v: libc::c_int = on.into();
        sys::ioctl_ptr(self.fd.as_raw_fd(), TUNSETCARRIER, &mut v)
            .map_err(|e| Error::new("TUNSETCARRIER", e))
    }
}
