//! The Linux I/O layer: AF_XDP sockets over one shared UMEM, the XDP redirect program,
//! rtnetlink link events, ethtool, and the TAP host side.
//!
//! This is the only part of the crate that makes system calls or uses `unsafe`; every unsafe
//! block states why it is sound in a `// SAFETY:` comment.
//!
//! # Pieces
//! - [`MemberPort`]: one member interface with its XSKMAP and redirect program attached
//!   through a BPF link ([`XdpLink`]); explicit [`XdpMode`] (native, generic, auto).
//! - [`Datapath`]: one worker: one UMEM shared (`XDP_SHARED_UMEM`) by an AF_XDP socket per
//!   (member, queue) it serves, an optional TAP queue for the host side, and (worker 0) the
//!   rtnetlink [`LinkMonitor`]. It runs a [`DatapathHook`] (the engine) with
//!   [`Datapath::run`]/[`Datapath::step`], or is driven directly with the burst API
//!   ([`Datapath::recv_burst`], [`Datapath::send`], [`Datapath::flush`]).
//! - [`open_workers`]: the sockets for every queue of every member, split over workers
//!   (worker `k` takes the queues `q` with `q % workers == k` on every member).
//! - [`Tap`]: the host-side device (`bond0`).
//! - [`LinkGuard`], [`PromiscGuard`]: member MAC/MTU/up changes undone on drop, promiscuity
//!   held by a socket.
//! - [`BondIo`]: all of the above for a bond, opened together and dropped in the right order.
//!
//! # Copy and zero-copy
//! Sockets sharing a UMEM inherit the bind mode of the first one (the kernel rejects
//! `XDP_COPY`/`XDP_ZEROCOPY`/`XDP_USE_NEED_WAKEUP` on a shared bind), so the mode is chosen
//! per worker: [`BindMode::Auto`] tries zero-copy for all of a worker's sockets and, if any
//! member refuses (veth answers `EOPNOTSUPP`), binds them all again in copy mode. The choice
//! is logged and reported by [`Datapath::bind_mode`].

mod bond_io;
mod bpf;
mod datapath;
pub mod ethtool;
mod hook;
pub mod netlink;
pub mod sys;
mod tap;
mod umem;

use std::fmt;
use std::io;

pub use bond_io::{BondIo, HostConfig};
pub use bpf::{AttachedMode, MemberXdp, RedirectProgram, XdpLink, XdpMode, XskMap};
pub use datapath::{
    BindMode, BoundMode, Datapath, DatapathStats, KernelXskStats, MemberCounters, MemberPort,
    RxFrame, Waker, XskConfig, open_workers,
};
pub use ethtool::{Duplex, LinkSpeed};
pub use hook::{
    ControlFrame, DatapathHook, MAX_MEMBERS, MemberLinkEvent, MemberSet, RxAction, TxAction,
};
pub use netlink::{
    AddressChange, LinkChange, LinkGuard, LinkMonitor, LinkState, MulticastGuard, NetEvent,
    OperState, PromiscGuard,
};
pub use tap::{Tap, TapCarrier, TapQueue};
pub use umem::Frame;

/// The broad class of an I/O error, for one-line messages to an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `EPERM`/`EACCES`: not root, or missing `CAP_NET_ADMIN`/`CAP_BPF`/`CAP_NET_RAW`.
    PermissionDenied,
    /// `ENODEV`/`ENXIO`: no such interface.
    NoSuchInterface,
    /// `EBUSY`/`EEXIST`: the interface or queue is in use (another XDP program or socket).
    Busy,
    /// `EOPNOTSUPP`: the driver or kernel does not support what was asked.
    Unsupported,
    /// Anything else.
    Other,
}

/// An I/O error: what was being done, the OS error, and the BPF verifier log if any.
#[derive(Debug)]
pub struct Error {
    context: String,
    source: io::Error,
    log: Option<String>,
}

impl Error {
    /// An error while doing `context`.
    pub fn new(context: impl Into<String>, source: io::Error) -> Self {
        Self {
            context: context.into(),
            source,
            log: None,
        }
    }

    /// An error from `errno` right after a failed call.
    pub(crate) fn last(context: impl Into<String>) -> Self {
        Self::new(context, io::Error::last_os_error())
    }

    pub(crate) fn with_log(mut self, log: String) -> Self {
        self.log = Some(log);
        self
    }

    pub(crate) fn into_io(self) -> io::Error {
        self.source
    }

    /// The class of the error.
    pub fn kind(&self) -> ErrorKind {
        match self.source.raw_os_error() {
            Some(libc::EPERM | libc::EACCES) => ErrorKind::PermissionDenied,
            Some(libc::ENODEV | libc::ENXIO) => ErrorKind::NoSuchInterface,
            Some(libc::EBUSY | libc::EEXIST) => ErrorKind::Busy,
            Some(libc::EOPNOTSUPP) => ErrorKind::Unsupported,
            _ => ErrorKind::Other,
        }
    }

    /// The OS error number.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.raw_os_error()
    }

    /// The BPF verifier log, when loading the XDP program failed.
    pub fn verifier_log(&self) -> Option<&str> {
        self.log.as_deref()
    }

    /// What was being done.
    pub fn context(&self) -> &str {
        &self.context
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.source)?;
        if let Some(log) = &self.log {
            write!(f, "\nBPF verifier log:\n{log}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
