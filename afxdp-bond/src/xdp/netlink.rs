//! Link state from rtnetlink, link configuration through rtnetlink, promiscuity through a
//! packet-socket membership.
//!
//! [`LinkMonitor`] is a non-blocking `NETLINK_ROUTE` socket subscribed to `RTNLGRP_LINK`: the
//! kernel sends an `RTM_NEWLINK` for every carrier, operstate, flag, MAC or MTU change and an
//! `RTM_DELLINK` when a link goes away, so the control loop learns a carrier loss within
//! microseconds of the driver reporting it, with no sysfs polling. Its file descriptor is
//! pollable. Messages are encoded and decoded with `netlink-packet-route`.
//!
//! [`LinkGuard`] changes a member's MAC, MTU and administrative state with `RTM_SETLINK` and
//! puts back what it changed when dropped. [`PromiscGuard`] makes a link promiscuous through a
//! `PACKET_MR_PROMISC` membership of a packet socket: the kernel counts it, and closes it when
//! the process exits however it exits, so promiscuity never stays behind.

use std::collections::VecDeque;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoVlan, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, LinkXdp, State,
};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use super::{Error, sys};

/// `RTMGRP_LINK`: the legacy bitmask form of multicast group `RTNLGRP_LINK` (1).
const RTMGRP_LINK: u32 = 1;

/// RFC 2863 operational state, as the kernel reports it in `IFLA_OPERSTATE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperState {
    /// `IF_OPER_UNKNOWN` (drivers that do not track it, e.g. TAP without a reader).
    Unknown,
    /// `IF_OPER_NOTPRESENT`.
    NotPresent,
    /// `IF_OPER_DOWN`.
    Down,
    /// `IF_OPER_LOWERLAYERDOWN`.
    LowerLayerDown,
    /// `IF_OPER_TESTING`.
    Testing,
    /// `IF_OPER_DORMANT`.
    Dormant,
    /// `IF_OPER_UP`.
    Up,
}

impl From<&State> for OperState {
    fn from(s: &State) -> Self {
        match s {
            State::NotPresent => Self::NotPresent,
            State::Down => Self::Down,
            State::LowerLayerDown => Self::LowerLayerDown,
            State::Testing => Self::Testing,
            State::Dormant => Self::Dormant,
            State::Up => Self::Up,
            _ => Self::Unknown,
        }
    }
}

/// What one rtnetlink link message said about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    /// Interface index.
    pub ifindex: u32,
    /// Interface name.
    pub name: String,
    /// `IFF_UP`: administratively up.
    pub admin_up: bool,
    /// Carrier (`IFLA_CARRIER`, or `IFF_LOWER_UP` when the attribute is absent).
    pub carrier: bool,
    /// Operational state.
    pub operstate: OperState,
    /// Current MAC address (zero if the link has none).
    pub mac: [u8; 6],
    /// MTU.
    pub mtu: u32,
    /// Promiscuity count.
    pub promiscuity: u32,
    /// Number of carrier changes since the link was created.
    pub carrier_changes: u32,
    /// The link was deleted (`RTM_DELLINK`).
    pub removed: bool,
    /// The id of the XDP program attached to it, if any (`IFLA_XDP_PROG_ID`).
    pub xdp_prog_id: Option<u32>,
    /// The device it is enslaved to (`IFLA_MASTER`: a kernel bond, bridge or VRF), if any.
    pub master: Option<u32>,
    /// The device it sits on (`IFLA_LINK`), for a VLAN device, if any.
    pub lower: Option<u32>,
    /// The 802.1Q VLAN id, for a VLAN device.
    pub vlan_id: Option<u16>,
}

impl LinkState {
    fn from_message(msg: &LinkMessage, removed: bool) -> Self {
        let flags = msg.header.flags;
        let mut s = Self {
            ifindex: msg.header.index,
            name: String::new(),
            admin_up: flags.contains(LinkFlags::Up),
            carrier: flags.contains(LinkFlags::LowerUp),
            operstate: OperState::Unknown,
            mac: [0; 6],
            mtu: 0,
            promiscuity: 0,
            carrier_changes: 0,
            removed,
            xdp_prog_id: None,
            master: None,
            lower: None,
            vlan_id: None,
        };
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::Xdp(xdp) => {
                    for x in xdp {
                        if let LinkXdp::ProgId(id) = x {
                            s.xdp_prog_id = (*id != 0).then_some(*id);
                        }
                    }
                }
                LinkAttribute::Controller(m) => s.master = (*m != 0).then_some(*m),
                LinkAttribute::Link(l) => s.lower = (*l != 0).then_some(*l),
                LinkAttribute::LinkInfo(infos) => {
                    for info in infos {
                        if let LinkInfo::Data(InfoData::Vlan(v)) = info {
                            for a in v {
                                if let InfoVlan::Id(id) = a {
                                    s.vlan_id = Some(*id);
                                }
                            }
                        }
                    }
                }
                LinkAttribute::IfName(n) => s.name.clone_from(n),
                LinkAttribute::Carrier(c) => s.carrier = *c != 0,
                LinkAttribute::OperState(o) => s.operstate = o.into(),
                LinkAttribute::Address(a) if a.len() == 6 => s.mac.copy_from_slice(a),
                LinkAttribute::Mtu(m) => s.mtu = *m,
                LinkAttribute::Promiscuity(p) => s.promiscuity = *p,
                LinkAttribute::CarrierChanges(c) => s.carrier_changes = *c,
                _ => {}
            }
        }
        s
    }

    /// Carrier up, administratively up and operationally up (or unknown, for devices that
    /// do not report an operstate): the link can carry frames.
    pub fn is_usable(&self) -> bool {
        !self.removed
            && self.admin_up
            && self.carrier
            && matches!(self.operstate, OperState::Up | OperState::Unknown)
    }
}

fn nl_socket(groups: u32) -> Result<Socket, Error> {
    let mut sock =
        Socket::new(NETLINK_ROUTE).map_err(|e| Error::new("socket(NETLINK_ROUTE)", e))?;
    sock.bind(&SocketAddr::new(0, groups))
        .map_err(|e| Error::new("bind(NETLINK_ROUTE)", e))?;
    Ok(sock)
}

fn encode(msg: RouteNetlinkMessage, flags: u16, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut nl = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
    nl.finalize();
    let mut buf = vec![0; nl.buffer_len()];
    nl.serialize(&mut buf);
    buf
}

/// Walks the netlink messages of one datagram.
fn for_each_message(
    mut buf: &[u8],
    mut f: impl FnMut(NetlinkMessage<RouteNetlinkMessage>),
) -> Result<(), String> {
    while buf.len() >= 16 {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < 16 || len > buf.len() {
            return Err(format!(
                "netlink message length {len} in a {}-byte datagram",
                buf.len()
            ));
        }
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[..len]) {
            Ok(m) => f(m),
            // A message type this crate version does not know: skip it.
            Err(e) => log::debug!("netlink: undecodable message skipped: {e}"),
        }
        let aligned = (len + 3) & !3;
        buf = &buf[aligned.min(buf.len())..];
    }
    Ok(())
}

/// An address of an interface appeared (`RTM_NEWADDR`) or went away (`RTM_DELADDR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressChange {
    /// Interface index.
    pub ifindex: u32,
    /// The address (`IFA_LOCAL` for IPv4, `IFA_ADDRESS` for IPv6).
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// `RTM_DELADDR`.
    pub removed: bool,
}

impl AddressChange {
    fn from_message(msg: &AddressMessage, removed: bool) -> Option<Self> {
        let mut local = None;
        let mut address = None;
        for a in &msg.attributes {
            match a {
                AddressAttribute::Local(ip) => local = Some(*ip),
                AddressAttribute::Address(ip) => address = Some(*ip),
                _ => {}
            }
        }
        // IPv4: IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's on a
        // point-to-point link); IPv6 carries IFA_ADDRESS only.
        let addr = match msg.header.family {
            AddressFamily::Inet => local.or(address)?,
            AddressFamily::Inet6 => address.or(local)?,
            _ => return None,
        };
        Some(Self {
            ifindex: msg.header.index,
            addr,
            prefix_len: msg.header.prefix_len,
            removed,
        })
    }
}

/// What a [`LinkMonitor`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// A link appeared, changed or went away.
    Link(LinkState),
    /// An address appeared or went away (only after
    /// [`watch_addresses`](LinkMonitor::watch_addresses)).
    Address(AddressChange),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dump {
    Links,
    Addresses,
}

/// `RTNLGRP_IPV4_IFADDR` and `RTNLGRP_IPV6_IFADDR`.
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_IPV6_IFADDR: u32 = 9;

/// A non-blocking rtnetlink socket subscribed to link events (and, on request, address
/// events).
///
/// The kernel answers one dump request at a time per socket, so the dumps asked for (links
/// at creation, addresses when they are watched, both again after an overrun) are sent one
/// after the other, each when the previous one is done.
#[derive(Debug)]
pub struct LinkMonitor {
    sock: Socket,
    buf: Vec<u8>,
    seq: u32,
    /// Sequence number of the dump in progress, if any.
    dumping: Option<u32>,
    queued: VecDeque<Dump>,
    addresses: bool,
    /// Events lost to a full socket buffer (each one triggers a full re-dump).
    pub overruns: u64,
}

impl LinkMonitor {
    /// Opens the socket, subscribes to `RTNLGRP_LINK` and asks for a dump of every link, so
    /// the first [`poll`](Self::poll) reports the current state of each.
    pub fn new() -> Result<Self, Error> {
        let sock = nl_socket(RTMGRP_LINK)?;
        sock.set_non_blocking(true)
            .map_err(|e| Error::new("netlink: O_NONBLOCK", e))?;
        // Room for bursts of events (a flapping member, many links created at once).
        let _ = sock.set_rx_buf_sz(1 << 20);
        let mut m = Self {
            sock,
            buf: Vec::with_capacity(64 * 1024),
            seq: 1,
            dumping: None,
            queued: VecDeque::with_capacity(4),
            addresses: false,
            overruns: 0,
        };
        m.request_dump()?;
        Ok(m)
    }

    /// Also reports IPv4 and IPv6 address changes ([`NetEvent::Address`]), starting with a
    /// dump of every address.
    pub fn watch_addresses(&mut self) -> Result<(), Error> {
        if self.addresses {
            return Ok(());
        }
        for g in [RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR] {
            self.sock
                .add_membership(g)
                .map_err(|e| Error::new("netlink: NETLINK_ADD_MEMBERSHIP (addresses)", e))?;
        }
        self.addresses = true;
        self.queue_dump(Dump::Addresses)
    }

    /// Asks the kernel for the state of every link; the answers arrive through
    /// [`poll`](Self::poll) like events.
    pub fn request_dump(&mut self) -> Result<(), Error> {
        self.queue_dump(Dump::Links)
    }

    fn queue_dump(&mut self, d: Dump) -> Result<(), Error> {
        if !self.queued.contains(&d) {
            self.queued.push_back(d);
        }
        self.next_dump()
    }

    fn next_dump(&mut self) -> Result<(), Error> {
        if self.dumping.is_some() {
            return Ok(());
        }
        let Some(d) = self.queued.pop_front() else {
            return Ok(());
        };
        self.seq = self.seq.wrapping_add(1);
        let msg = match d {
            Dump::Links => RouteNetlinkMessage::GetLink(LinkMessage::default()),
            Dump::Addresses => RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        };
        let req = encode(msg, NLM_F_REQUEST | NLM_F_DUMP, self.seq);
        self.sock
            .send(&req, 0)
            .map_err(|e| Error::new(format!("netlink: {d:?} dump request"), e))?;
        self.dumping = Some(self.seq);
        Ok(())
    }

    /// Reads every pending message without blocking and calls `f` for each link state it
    /// carries. Returns the number of link states reported. (Address changes, if watched,
    /// are skipped: use [`poll_events`](Self::poll_events) for them.)
    pub fn poll(&mut self, mut f: impl FnMut(LinkState)) -> Result<usize, Error> {
        let mut n = 0;
        self.poll_events(|e| {
            if let NetEvent::Link(l) = e {
                n += 1;
                f(l);
            }
        })?;
        Ok(n)
    }

    /// Reads every pending message without blocking and calls `f` for each link and address
    /// event. Returns the number of events reported.
    pub fn poll_events(&mut self, mut f: impl FnMut(NetEvent)) -> Result<usize, Error> {
        let mut n = 0;
        // Bounded: a storm of events cannot keep the control loop here forever.
        for _ in 0..256 {
            self.buf.clear();
            match self.sock.recv(&mut self.buf, libc::MSG_DONTWAIT) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.overruns += 1;
                    log::warn!(
                        "netlink: link events lost (socket buffer full); re-reading all links"
                    );
                    // The dump in progress, if any, is lost with the rest.
                    self.dumping = None;
                    self.queue_dump(Dump::Links)?;
                    if self.addresses {
                        self.queue_dump(Dump::Addresses)?;
                    }
                    continue;
                }
                Err(e) => return Err(Error::new("netlink: recv", e)),
            }
            let dumping = self.dumping;
            let mut dump_done = false;
            let res = for_each_message(&self.buf, |m| {
                let seq = m.header.sequence_number;
                match m.payload {
                    NetlinkPayload::InnerMessage(inner) => match inner {
                        RouteNetlinkMessage::NewLink(l) => {
                            n += 1;
                            f(NetEvent::Link(LinkState::from_message(&l, false)));
                        }
                        RouteNetlinkMessage::DelLink(l) => {
                            n += 1;
                            f(NetEvent::Link(LinkState::from_message(&l, true)));
                        }
                        RouteNetlinkMessage::NewAddress(a) => {
                            if let Some(c) = AddressChange::from_message(&a, false) {
                                n += 1;
                                f(NetEvent::Address(c));
                            }
                        }
                        RouteNetlinkMessage::DelAddress(a) => {
                            if let Some(c) = AddressChange::from_message(&a, true) {
                                n += 1;
                                f(NetEvent::Address(c));
                            }
                        }
                        _ => {}
                    },
                    NetlinkPayload::Done(_) | NetlinkPayload::Error(_) if Some(seq) == dumping => {
                        dump_done = true;
                    }
                    _ => {}
                }
            });
            if let Err(e) = res {
                log::warn!("netlink: malformed datagram dropped: {e}");
            }
            if dump_done {
                self.dumping = None;
                self.next_dump()?;
            }
        }
        Ok(n)
    }
}

impl AsRawFd for LinkMonitor {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

/// Sends `msg` with `NLM_F_ACK` on a fresh socket and waits (at most 2 s) for the answer.
/// Replies other than the ACK (e.g. the link of an `RTM_GETLINK`) go to `on_reply`.
fn request(
    what: &str,
    msg: RouteNetlinkMessage,
    extra_flags: u16,
    mut on_reply: impl FnMut(RouteNetlinkMessage),
) -> Result<(), Error> {
    let sock = nl_socket(0)?;
    let seq = 0x5eed;
    let req = encode(msg, NLM_F_REQUEST | NLM_F_ACK | extra_flags, seq);
    sock.send(&req, 0)
        .map_err(|e| Error::new(format!("netlink: {what}"), e))?;
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::new(
                format!("netlink: {what}: no answer within 2 s"),
                io::Error::from(io::ErrorKind::TimedOut),
            ));
        }
        let mut pfd = [sys::pollfd(sock.as_raw_fd(), libc::POLLIN)];
        sys::ppoll(&mut pfd, Some(left)).map_err(|e| Error::new("poll(netlink)", e))?;
        if pfd[0].revents == 0 {
            continue;
        }
        buf.clear();
        sock.recv(&mut buf, 0)
            .map_err(|e| Error::new(format!("netlink: {what}: recv"), e))?;
        let mut done: Option<Result<(), io::Error>> = None;
        let _ = for_each_message(&buf, |m| {
            if m.header.sequence_number != seq {
                return;
            }
            match m.payload {
                NetlinkPayload::Error(e) => {
                    done = Some(match e.code {
                        None => Ok(()),
                        Some(_) => Err(e.to_io()),
                    });
                }
                NetlinkPayload::Done(_) => done = Some(Ok(())),
                NetlinkPayload::InnerMessage(inner) => on_reply(inner),
                _ => {}
            }
        });
        if let Some(r) = done {
            return r.map_err(|e| Error::new(format!("netlink: {what}"), e));
        }
    }
}

/// The current state of link `ifindex`, asked with `RTM_GETLINK`.
pub fn get_link(ifindex: u32) -> Result<LinkState, Error> {
    let mut msg = LinkMessage::default();
    msg.header.index = ifindex;
    let mut out = None;
    request(
        &format!("RTM_GETLINK ifindex {ifindex}"),
        RouteNetlinkMessage::GetLink(msg),
        0,
        |r| {
            if let RouteNetlinkMessage::NewLink(l) = r {
                out = Some(LinkState::from_message(&l, false));
            }
        },
    )?;
    out.ok_or_else(|| {
        Error::new(
            format!("netlink: RTM_GETLINK ifindex {ifindex}: no link in the answer"),
            io::Error::from_raw_os_error(libc::ENODEV),
        )
    })
}

/// Changes of one link, applied together with one `RTM_SETLINK`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkChange {
    /// New MAC address.
    pub mac: Option<[u8; 6]>,
    /// New MTU.
    pub mtu: Option<u32>,
    /// Administratively up (`true`) or down (`false`).
    pub up: Option<bool>,
}

/// Applies `change` to link `ifindex` (`RTM_SETLINK`).
pub fn set_link(ifindex: u32, change: &LinkChange) -> Result<(), Error> {
    let mut msg = LinkMessage::default();
    msg.header.index = ifindex;
    if let Some(up) = change.up {
        msg.header.change_mask = LinkFlags::Up;
        msg.header.flags = if up {
            LinkFlags::Up
        } else {
            LinkFlags::empty()
        };
    }
    if let Some(mac) = change.mac {
        msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
    }
    if let Some(mtu) = change.mtu {
        msg.attributes.push(LinkAttribute::Mtu(mtu));
    }
    request(
        &format!("RTM_SETLINK ifindex {ifindex} {change:?}"),
        RouteNetlinkMessage::SetLink(msg),
        0,
        |_| {},
    )
}

/// Changes a member's MAC, MTU and up/down state, remembering the original values, and puts
/// back whatever it changed when dropped (also on a panic unwinding through its owner).
///
/// A `SIGKILL`ed process cannot restore anything: the MAC and MTU then stay as set. The
/// promiscuous mode, which [`PromiscGuard`] holds through a socket, does not.
#[derive(Debug)]
pub struct LinkGuard {
    ifindex: u32,
    name: String,
    original: LinkState,
    changed: LinkChange,
}

impl LinkGuard {
    /// Records the current state of `ifname`.
    pub fn new(ifname: &str) -> Result<Self, Error> {
        let ifindex = sys::ifindex(ifname)?;
        let original = get_link(ifindex)?;
        Ok(Self {
            ifindex,
            name: ifname.to_string(),
            original,
            changed: LinkChange::default(),
        })
    }

    /// The state recorded when the guard was made.
    pub fn original(&self) -> &LinkState {
        &self.original
    }

    /// The interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Sets the MAC address (restored on drop).
    pub fn set_mac(&mut self, mac: [u8; 6]) -> Result<(), Error> {
        set_link(
            self.ifindex,
            &LinkChange {
                mac: Some(mac),
                ..LinkChange::default()
            },
        )?;
        self.changed.mac = Some(mac);
        Ok(())
    }

    /// Sets the MTU (restored on drop).
    pub fn set_mtu(&mut self, mtu: u32) -> Result<(), Error> {
        set_link(
            self.ifindex,
            &LinkChange {
                mtu: Some(mtu),
                ..LinkChange::default()
            },
        )?;
        self.changed.mtu = Some(mtu);
        Ok(())
    }

    /// Sets the link administratively up or down (restored on drop).
    pub fn set_up(&mut self, up: bool) -> Result<(), Error> {
        set_link(
            self.ifindex,
            &LinkChange {
                up: Some(up),
                ..LinkChange::default()
            },
        )?;
        self.changed.up = Some(up);
        Ok(())
    }

    /// Puts back every value this guard changed. Called by `Drop`; callable earlier to see
    /// the error.
    pub fn restore(&mut self) -> Result<(), Error> {
        let mut back = LinkChange::default();
        if self.changed.mac.is_some_and(|m| m != self.original.mac) {
            back.mac = Some(self.original.mac);
        }
        if self.changed.mtu.is_some_and(|m| m != self.original.mtu) {
            back.mtu = Some(self.original.mtu);
        }
        if self.changed.up.is_some_and(|u| u != self.original.admin_up) {
            back.up = Some(self.original.admin_up);
        }
        if back == LinkChange::default() {
            return Ok(());
        }
        // The MTU first in its own message, so a MAC the kernel refuses does not keep the MTU.
        if let Some(mtu) = back.mtu.take() {
            set_link(
                self.ifindex,
                &LinkChange {
                    mtu: Some(mtu),
                    ..LinkChange::default()
                },
            )?;
        }
        set_link(self.ifindex, &back)?;
        self.changed = LinkChange::default();
        Ok(())
    }
}

impl Drop for LinkGuard {
    fn drop(&mut self) {
        if let Err(e) = self.restore() {
            // The link may be gone (deleted by the operator): nothing to restore then.
            log::warn!(
                "{}: could not restore the original link settings: {e}",
                self.name
            );
        }
    }
}

/// A packet socket bound to no protocol (it receives nothing) holding one
/// `PACKET_ADD_MEMBERSHIP` on an interface; the kernel drops the membership when the socket
/// closes, also when the process dies.
fn packet_membership(
    ifname: &str,
    mr_type: libc::c_int,
    addr: Option<[u8; 6]>,
) -> Result<OwnedFd, Error> {
    let ifindex = sys::ifindex(ifname)?;
    // Protocol 0: the socket is not hooked into the receive path at all.
    let sock = sys::socket(libc::AF_PACKET, libc::SOCK_RAW, 0)
        .map_err(|e| Error::new("socket(AF_PACKET)", e))?;
    let mut mr_address = [0u8; 8];
    if let Some(a) = addr {
        mr_address[..6].copy_from_slice(&a);
    }
    let mreq = libc::packet_mreq {
        mr_ifindex: ifindex as i32,
        mr_type: mr_type as u16,
        mr_alen: if addr.is_some() { 6 } else { 0 },
        mr_address,
    };
    // SAFETY: `mreq` is a valid packet_mreq and the length passed is its size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_ADD_MEMBERSHIP,
            (&mreq as *const libc::packet_mreq).cast(),
            size_of::<libc::packet_mreq>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        let what = match mr_type {
            libc::PACKET_MR_PROMISC => "PACKET_MR_PROMISC",
            libc::PACKET_MR_ALLMULTI => "PACKET_MR_ALLMULTI",
            _ => "PACKET_MR_MULTICAST",
        };
        return Err(Error::last(format!("{ifname}: {what}")));
    }
    Ok(sock)
}

/// Holds `ifname` promiscuous for as long as it lives (and no longer than the process).
#[derive(Debug)]
pub struct PromiscGuard {
    _sock: OwnedFd,
}

impl PromiscGuard {
    /// Adds a `PACKET_MR_PROMISC` membership on a packet socket bound to no protocol (it
    /// receives nothing).
    pub fn new(ifname: &str) -> Result<Self, Error> {
        Ok(Self {
            _sock: packet_membership(ifname, libc::PACKET_MR_PROMISC, None)?,
        })
    }
}

/// Makes `ifname` accept frames sent to a multicast MAC address (its receive filter) for as
/// long as it lives, and no longer than the process: what the kernel bond does with
/// `dev_mc_add` for the slow-protocols address `01:80:c2:00:00:02` on every 802.3ad port. A
/// physical NIC filters unknown multicast in hardware before XDP sees it.
#[derive(Debug)]
pub struct MulticastGuard {
    _sock: OwnedFd,
}

impl MulticastGuard {
    /// Adds a `PACKET_MR_MULTICAST` membership for `mac` on `ifname`.
    pub fn new(ifname: &str, mac: [u8; 6]) -> Result<Self, Error> {
        Ok(Self {
            _sock: packet_membership(ifname, libc::PACKET_MR_MULTICAST, Some(mac))?,
        })
    }

    /// Makes `ifname` accept every multicast frame (`PACKET_MR_ALLMULTI`, the interface's
    /// `allmulti` count) for as long as the guard lives.
    pub fn all(ifname: &str) -> Result<Self, Error> {
        Ok(Self {
            _sock: packet_membership(ifname, libc::PACKET_MR_ALLMULTI, None)?,
        })
    }
}
