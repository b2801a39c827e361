//! Everything a bond's I/O needs, opened together and closed in the right order.

use std::io;

use super::datapath::{Datapath, MemberPort, XskConfig, open_workers};
use super::netlink::{LinkGuard, PromiscGuard, get_link};
use super::tap::{Tap, TapCarrier};
use super::{Error, sys};

/// The host side to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// TAP device name (`bond0`).
    pub name: String,
    /// Its MAC; `None`: the first member's current MAC (what Linux gives a bond whose MAC
    /// was not set: the first enslaved interface's).
    pub mac: Option<[u8; 6]>,
    /// Its MTU; `None`: the smallest member MTU. (Linux instead pushes the bond's MTU onto
    /// every member; here the members keep theirs unless the owner changes them through
    /// [`BondIo::member_guard`].)
    pub mtu: Option<u32>,
}

impl HostConfig {
    /// `name` with the default MAC and MTU.
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_string(),
            mac: None,
            mtu: None,
        }
    }
}

/// Members with their XDP programs, their settings guards, the TAP host side and the
/// datapath workers.
///
/// Drop order: workers (sockets) first, then the XDP programs, then the TAP, then the
/// guards put back the members' original MAC, MTU, state and promiscuity.
#[derive(Debug)]
pub struct BondIo {
    workers: Vec<Datapath>,
    ports: Vec<MemberPort>,
    host: Option<(String, u32)>,
    carrier: Option<TapCarrier>,
    promisc: Vec<PromiscGuard>,
    guards: Vec<LinkGuard>,
}

impl BondIo {
    /// Opens `members` (in this order: member index = position), optionally a TAP, and the
    /// workers. With `promiscuous`, every member is made promiscuous for as long as this
    /// lives (needed on physical NICs when the bond's MAC is not the member's own).
    pub fn open(
        members: &[&str],
        host: Option<&HostConfig>,
        cfg: &XskConfig,
        promiscuous: bool,
    ) -> Result<Self, Error> {
        if members.is_empty() {
            return Err(Error::new(
                "a bond needs at least one member",
                io::Error::from_raw_os_error(libc::EINVAL),
            ));
        }
        for (i, m) in members.iter().enumerate() {
            if members[..i].contains(m) {
                return Err(Error::new(
                    format!("member {m} given twice"),
                    io::Error::from_raw_os_error(libc::EINVAL),
                ));
            }
        }
        let mut guards = Vec::with_capacity(members.len());
        for m in members {
            guards.push(LinkGuard::new(m)?);
        }
        let mut promisc = Vec::new();
        if promiscuous {
            for m in members {
                promisc.push(PromiscGuard::new(m)?);
            }
        }
        let mut ports = Vec::with_capacity(members.len());
        for m in members {
            ports.push(MemberPort::open(m, cfg)?);
        }
        let min_queues = ports.iter().map(MemberPort::queues).min().unwrap_or(1) as usize;
        let workers_n = cfg.workers.clamp(1, min_queues);
        let mut carrier = None;
        let (tap, host_id) = match host {
            Some(h) => {
                let first = guards[0].original();
                let mac = h.mac.unwrap_or(first.mac);
                let largest = cfg.frame_size.saturating_sub(14 + 4 + 256);
                let mtu = h
                    .mtu
                    .unwrap_or_else(|| {
                        guards
                            .iter()
                            .map(|g| g.original().mtu)
                            .min()
                            .unwrap_or(1500)
                    })
                    .min(largest);
                let tap = Tap::create(&h.name, workers_n)?;
                tap.configure(mac, mtu)?;
                carrier = Some(tap.carrier_control()?);
                let id = (h.name.clone(), tap.ifindex());
                (Some(tap), Some(id))
            }
            None => (None, None),
        };
        let workers = open_workers(&ports, cfg, tap)?;
        Ok(Self {
            workers,
            ports,
            host: host_id,
            carrier,
            promisc,
            guards,
        })
    }

    /// Takes the workers out, to run each on its own thread (the XDP programs, TAP and
    /// guards stay with `self`).
    pub fn take_workers(&mut self) -> Vec<Datapath> {
        std::mem::take(&mut self.workers)
    }

    /// The host side's carrier switch (once; an error without a host side or the second
    /// time).
    pub fn host_carrier(&mut self) -> Result<TapCarrier, Error> {
        self.carrier.take().ok_or_else(|| {
            Error::new(
                "no host side carrier switch (no TAP, or taken already)",
                io::Error::from_raw_os_error(libc::ENODEV),
            )
        })
    }

    /// The members.
    pub fn ports(&self) -> &[MemberPort] {
        &self.ports
    }

    /// The settings guard of member `i`: change its MAC (ALB, `fail_over_mac`), MTU or
    /// state through it, and it is put back on drop.
    pub fn member_guard(&mut self, i: usize) -> Option<&mut LinkGuard> {
        self.guards.get_mut(i)
    }

    /// Whether the members were made promiscuous.
    pub fn promiscuous(&self) -> bool {
        !self.promisc.is_empty()
    }

    /// The host side's name and interface index.
    pub fn host(&self) -> Option<(&str, u32)> {
        self.host.as_ref().map(|(n, i)| (n.as_str(), *i))
    }

    /// Current MAC of the host side (the bond's MAC).
    pub fn host_mac(&self) -> Result<Option<[u8; 6]>, Error> {
        match &self.host {
            Some((_, ifindex)) => Ok(Some(get_link(*ifindex)?.mac)),
            None => Ok(None),
        }
    }

    /// Index of the member called `name`.
    pub fn member_index(&self, name: &str) -> Option<usize> {
        self.ports.iter().position(|p| p.name() == name)
    }

    /// Interface index of member `i`, checked against the name (it may have been
    /// re-created under the same name).
    pub fn member_ifindex(&self, i: usize) -> Option<u32> {
        let p = self.ports.get(i)?;
        (sys::ifindex(p.name()).ok() == Some(p.ifindex())).then_some(p.ifindex())
    }
}
